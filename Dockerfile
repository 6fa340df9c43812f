# oncopanel's tools and package in one image: Debian 12 with exactly the Debian packages of
# scripts/debian-packages.txt and the Python dependencies of requirements-workflow.lock (runtime and workflow extras,
# no test tools), both installed by scripts/setup.sh, the script `make setup` runs: the image, a laptop and a
# cluster node run the same versions.
#   docker build -t oncopanel:0.1.0 .
# The workflow's `container:` directive (config key `container`) names the image; with Apptainer on a cluster:
#   apptainer build oncopanel.sif docker-daemon://oncopanel:0.1.0   (or build workflow/oncopanel.def directly)
FROM debian:12

ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    PATH=/opt/oncopanel-venv/bin:$PATH

WORKDIR /opt/oncopanel
COPY . /opt/oncopanel
# EXTRAS=workflow: Snakemake inside the image, so `script:` jobs find it when Snakemake runs them in the container.
RUN VENV=/opt/oncopanel-venv EXTRAS=workflow LOCK=requirements-workflow.lock EDITABLE=0 bash scripts/setup.sh \
    && rm -rf /var/lib/apt/lists/* /root/.cache/pip

CMD ["oncopanel", "--help"]
