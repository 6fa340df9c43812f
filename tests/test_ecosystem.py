"""What a lab bioinformatician expects around the pipeline (issue 20): one Debian package list read by the set-up
script and both container recipes, the conda route installing the package from the workflow's own checkout (as
Snakemake and conda really create environments), and the workflow-catalog files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import LOCAL_RUN_ENV, ROOT, VENV_BIN

PACKAGE_LIST = ROOT / "scripts" / "debian-packages.txt"


def package_list() -> dict[str, str]:
    """scripts/debian-packages.txt as {package: probe file}."""
    entries = {}
    for line in PACKAGE_LIST.read_text().splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            assert len(fields) == 2, f"debian-packages.txt: '{line}' is not 'package probe-file'"
            entries[fields[0]] = fields[1]
    return entries


# ---- one package list -------------------------------------------------------------------------------------


def test_package_list_names_each_package_once_with_an_absolute_probe():
    lines = [ln.split()[0] for ln in PACKAGE_LIST.read_text().splitlines() if ln.split() and ln[0] != "#"]
    assert len(lines) == len(set(lines))
    entries = package_list()
    assert {"samtools", "bcftools", "freebayes", "mosdepth", "multiqc", "python3-venv"} <= set(entries)
    assert all(probe.startswith("/") for probe in entries.values())


def test_setup_script_reads_the_package_list():
    out = subprocess.run(["bash", "scripts/setup.sh", "--print-packages"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert out.split() == sorted(package_list())


def test_setup_script_reads_a_changed_list(tmp_path):
    # the script parses whatever the list says (no second copy of it inside the script)
    changed = tmp_path / "packages.txt"
    changed.write_text("# a comment\nhello /usr/bin/hello\n\nsamtools /usr/bin/samtools\n")
    out = subprocess.run(["bash", "scripts/setup.sh", "--print-packages"], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={**os.environ, "PACKAGE_LIST": str(changed)}).stdout  # fmt: skip
    assert out.split() == ["hello", "samtools"]
    assert "samtools" not in (ROOT / "scripts" / "setup.sh").read_text().split("PROBES=()")[0]


def test_the_setup_script_probes_every_installed_package():
    # on this machine (and CI's) `make setup` ran: every probe file of the list exists
    missing = {pkg: probe for pkg, probe in package_list().items() if not Path(probe).exists()}
    assert not missing


def test_dockerfile_is_debian_12_and_installs_through_the_setup_script():
    text = (ROOT / "Dockerfile").read_text()
    instructions = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert instructions[0].split()[:2] == ["FROM", "debian:12"]
    run = " ".join(ln for ln in instructions if ln.startswith(("RUN", "    ")))
    assert "bash scripts/setup.sh" in run and "EXTRAS=workflow LOCK=requirements-workflow.lock" in run
    # the build context carries the list, the lock and the script (.dockerignore keeps only local state out)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert not {"scripts", "scripts/debian-packages.txt", "requirements-workflow.lock", "workflow"} & set(ignored)
    assert "COPY . /opt/oncopanel" in text


def _apptainer_sections(text: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    header, sections, current = {}, {}, None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("%"):
            current = line[1:].strip()
            sections[current] = []
        elif current is None:
            key, _, value = line.partition(":")
            header[key.strip()] = value.strip()
        else:
            sections[current].append(line.strip())
    return header, sections


def test_apptainer_definition_bootstraps_bookworm_and_installs_through_the_setup_script():
    header, sections = _apptainer_sections((ROOT / "workflow" / "oncopanel.def").read_text())
    assert header["Bootstrap"] == "debootstrap" and header["OSVersion"] == "bookworm"
    copied = {line.split()[0] for line in sections["files"]}
    assert {"scripts", "requirements-workflow.lock", "pyproject.toml", "oncopanel", "workflow"} <= copied
    assert all((ROOT / src).exists() for src in copied), copied - {p for p in copied if (ROOT / p).exists()}
    assert any("bash scripts/setup.sh" in line and "EXTRAS=workflow LOCK=requirements-workflow.lock" in line
               for line in sections["post"])  # fmt: skip


def test_workflow_names_a_container_for_every_rule():
    snakefile = (ROOT / "workflow" / "Snakefile").read_text()
    container = snakefile.index('container: config.get("container"')
    assert container < snakefile.index("include:")  # a global directive applies to the rules defined after it
    assert yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["container"].endswith(".sif")


# ---- the conda route --------------------------------------------------------------------------------------

# A stand-in for `conda` that does what conda does with an env file's pip section (conda/env/installers/pip.py):
# write the pip lines to a requirements file in the env file's directory and run pip there. Here pip's own
# requirements-file parser reads it (expanding ${VAR}s, resolving paths from the working directory) and the fake
# reports where each requirement would be installed from, without building anything.
PIP_RESOLVE = """
import sys
from pip._internal.network.session import PipSession
from pip._internal.req.constructors import install_req_from_parsed_requirement
from pip._internal.req.req_file import parse_requirements
with open(sys.argv[2], "w") as out:
    for parsed in parse_requirements(sys.argv[1], session=PipSession()):
        out.write(install_req_from_parsed_requirement(parsed).link.url + "\\n")
"""
FAKE_CONDA = """\
#!{python}
import json, os, subprocess, sys, tempfile
import yaml
PIP_RESOLVE = {pip_resolve!r}
args = sys.argv[1:]
if args == ["--version"]:
    print("conda 24.7.1")
elif args[:2] == ["info", "--json"]:
    print(json.dumps({{"conda_prefix": os.environ["FAKE_CONDA_ROOT"], "platform": "linux-64"}}))
elif args[:1] == ["clean"]:
    pass
elif args[:2] == ["config", "--get"]:
    print(json.dumps({{"get": {{"channel_priority": "strict"}}}}))
elif args[:2] == ["env", "create"]:
    env_file = args[args.index("--file") + 1]
    prefix = args[args.index("--prefix") + 1]
    spec = yaml.safe_load(open(env_file))
    pip_lines = [line for dep in spec["dependencies"] if isinstance(dep, dict) for line in dep.get("pip", [])]
    workdir = os.path.dirname(os.path.abspath(env_file))
    with tempfile.NamedTemporaryFile("w", prefix="condaenv.", suffix=".requirements.txt", dir=workdir,
                                     delete=False) as req:
        req.write("\\n".join(pip_lines) + "\\n")
    report = os.path.join(os.environ["FAKE_CONDA_ROOT"], os.path.basename(prefix) + ".pip.txt")
    done = subprocess.run([sys.executable, "-c", PIP_RESOLVE, req.name, report], cwd=workdir)
    with open(os.path.join(os.environ["FAKE_CONDA_ROOT"], "created.jsonl"), "a") as log:
        log.write(json.dumps({{"env_file": env_file, "pip": pip_lines, "report": report,
                               "returncode": done.returncode}}) + "\\n")
    if done.returncode:
        sys.exit(done.returncode)
    os.makedirs(os.path.join(prefix, "bin"))
else:
    sys.exit("fake conda: unexpected " + " ".join(args))
"""


def _create_envs_with_snakemake(tmp_path: Path, env_files: list[Path]) -> list[dict]:
    """Snakemake itself creates the environments of a one-rule-per-env workflow that includes the real
    workflow/rules/conda.smk, from a working directory that is not the repository, with --conda-prefix elsewhere."""
    root = tmp_path / "fake_conda"
    (root / "bin").mkdir(parents=True)
    conda = root / "bin" / "conda"
    conda.write_text(FAKE_CONDA.format(python=sys.executable, pip_resolve=PIP_RESOLVE))
    conda.chmod(0o755)
    rules = "".join(
        textwrap.dedent(f"""
        rule env{i}:
            output:
                "env{i}.done",
            conda:
                "{env}"
            shell:
                "touch {{output}}"
        """)
        for i, env in enumerate(env_files)
    )
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(
        f'include: "{ROOT}/workflow/rules/conda.smk"\n\n\nrule all:\n    input:\n'
        + "".join(f'        "env{i}.done",\n' for i in range(len(env_files)))
        + rules
    )
    workdir = tmp_path / "elsewhere" / "run"
    workdir.mkdir(parents=True)
    env = {**os.environ, **LOCAL_RUN_ENV, "FAKE_CONDA_ROOT": str(root),
           "PATH": f"{root / 'bin'}:{VENV_BIN}:{os.environ['PATH']}"}  # fmt: skip
    env.pop("ONCOPANEL_SOURCE", None)
    done = subprocess.run(
        [str(VENV_BIN / "snakemake"), "--snakefile", str(snakefile), "--directory", str(workdir), "--cores", "1",
         "--software-deployment-method", "conda", "--conda-create-envs-only", "--conda-prefix",
         str(tmp_path / "prefix")],
        cwd=workdir, env=env, capture_output=True, text=True,
    )  # fmt: skip
    created_log = root / "created.jsonl"
    created = [json.loads(line) for line in created_log.read_text().splitlines()] if created_log.exists() else []
    return [dict(c, snakemake_returncode=done.returncode, snakemake_stderr=done.stderr) for c in created] or [
        {"snakemake_returncode": done.returncode, "snakemake_stderr": done.stderr}
    ]


def _installed_from(created: dict) -> str:
    (url,) = Path(created["report"]).read_text().split()
    return url


def test_conda_envs_install_the_package_from_the_workflow_checkout(tmp_path):
    env_files = [ROOT / "workflow" / "envs" / "oncopanel.yaml", ROOT / "workflow" / "envs" / "calling.yaml"]
    created = _create_envs_with_snakemake(tmp_path, env_files)
    assert created[0]["snakemake_returncode"] == 0, created[0]["snakemake_stderr"][-3000:]
    assert len(created) == 2
    for c in created:
        # Snakemake handed conda its copy under --conda-prefix, not the file in workflow/envs/
        assert Path(c["env_file"]).parent == tmp_path / "prefix"
        assert c["returncode"] == 0
        assert _installed_from(c) == ROOT.as_uri()
    assert 'name = "oncopanel"' in (ROOT / "pyproject.toml").read_text()


def test_a_relative_pip_path_breaks_in_snakemakes_copy(tmp_path):
    # the test can fail: the old `-e ../..` resolves from the copy's directory, not from workflow/envs/
    old = tmp_path / "envs" / "old.yaml"
    old.parent.mkdir()
    old.write_text("channels: [conda-forge]\ndependencies:\n  - python =3.11\n  - pip\n  - pip:\n      - -e ../..\n")
    (created,) = _create_envs_with_snakemake(tmp_path, [old])
    assert created["returncode"] == 0
    assert _installed_from(created) == tmp_path.parent.as_uri()  # <conda-prefix>/../.., nowhere near the checkout


def test_tool_envs_carry_tools_only_at_debians_versions():
    debian = {  # the versions of Debian 12's packages (scripts/debian-packages.txt) the tool envs must pin
        "bwa": "0.7.17", "minimap2": "2.24", "samtools": "1.16.1", "bcftools": "1.16", "htslib": "1.16",
        "freebayes": "1.3.6", "fastp": "0.23.2", "mosdepth": "0.3.3", "multiqc": "1.14",
    }  # fmt: skip
    for name in ("align", "qc", "coverage", "calling", "oncopanel"):
        spec = yaml.safe_load((ROOT / "workflow" / "envs" / f"{name}.yaml").read_text())
        deps = [d for d in spec["dependencies"] if isinstance(d, str)]
        pip = [line for d in spec["dependencies"] if isinstance(d, dict) for line in d["pip"]]
        for dep in deps:
            tool, _, version = dep.replace(" ", "").partition("=")
            if tool in debian:
                assert version == debian[tool], f"{name}.yaml pins {tool} {version}, Debian 12 ships {debian[tool]}"
        assert not any("snakemake" in d for d in deps + pip)
        if name in ("align", "qc"):
            assert not pip and "python" not in [d.split()[0] for d in deps]
        else:
            assert pip == ["-e ${ONCOPANEL_SOURCE}"]


def test_installed_debian_tools_match_the_env_pins():
    # the pins above are Debian's: read them from dpkg where the packages are installed
    tools = ["samtools", "bcftools", "freebayes", "mosdepth", "fastp", "multiqc", "minimap2"]
    got = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", *tools], capture_output=True,
                         text=True).stdout  # fmt: skip
    versions = {pkg: re.split(r"[+-]", version)[0] for pkg, version in (ln.split() for ln in got.splitlines())}
    if not versions:
        pytest.skip("dpkg not available")
    assert versions == {"samtools": "1.16.1", "bcftools": "1.16", "freebayes": "1.3.6", "mosdepth": "0.3.3",
                        "fastp": "0.23.2", "multiqc": "1.14", "minimap2": "2.24"}  # fmt: skip


def test_the_library_needs_no_snakemake():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("snakemake") for d in project["dependencies"])
    assert any(d.startswith("snakemake==") for d in project["optional-dependencies"]["workflow"])


# ---- workflow-catalog files -------------------------------------------------------------------------------


def test_catalog_files():
    import tomllib

    catalog = yaml.safe_load((ROOT / ".snakemake-workflow-catalog.yml").read_text())
    deployment = catalog["usage"]["software-stack-deployment"]
    assert deployment["conda"] is True and deployment["apptainer"] is True and deployment["report"] is True
    assert "--configfile config/config.yaml" in catalog["usage"]["mandatory-flags"]["flags"]
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License")
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == {"text": "MIT"}
    readme = (ROOT / "config" / "README.md").read_text()
    for name in sorted(p.name for p in (ROOT / "config").iterdir() if p.suffix in (".yaml", ".tsv")):
        assert f"`{name}`" in readme, f"config/README.md does not describe {name}"
    snakefile = (ROOT / "workflow" / "Snakefile").read_text()
    assert re.search(r'^min_version\("9\.\d+"\)', snakefile, re.M)
    assert 'report: "report/workflow.rst"' in snakefile


def test_the_two_locks_agree():
    def pins(name: str) -> dict[str, str]:
        lines = (ROOT / name).read_text().splitlines()
        return dict(line.split("==", 1) for line in lines if re.match(r"^[A-Za-z0-9_.-]+==", line))

    full, workflow = pins("requirements.lock"), pins("requirements-workflow.lock")
    assert {"snakemake", "pysam", "pytest", "samshee"} <= set(full)
    assert "snakemake" in workflow and not {"pytest", "ruff", "samshee"} & set(workflow)
    assert {k: full.get(k) for k in workflow} == workflow  # the image runs what the tests ran


# A stand-in for `apptainer` whose "image" is this machine: it records how Snakemake calls it and runs the job's
# command with the project's virtualenv first on PATH, as the image's %environment puts /opt/oncopanel-venv/bin.
FAKE_APPTAINER = """\
#!/bin/bash
if [ "$1" = "--version" ]; then echo "apptainer version 1.3.4"; exit 0; fi
printf '%s\\n' "$*" >> "$FAKE_APPTAINER_LOG"
shift  # exec
while [ $# -gt 0 ]; do
  case "$1" in
    --home|--bind|-B|--env) shift 2 ;;
    -*) shift ;;
    *) echo "image=$1" >> "$FAKE_APPTAINER_LOG"; shift; break ;;
  esac
done
PATH="{venv_bin}:$PATH" exec "$@"
"""


def test_with_apptainer_every_job_runs_in_the_configured_image(tmp_path):
    fake = tmp_path / "bin" / "apptainer"
    fake.parent.mkdir()
    fake.write_text(FAKE_APPTAINER.format(venv_bin=VENV_BIN))
    fake.chmod(0o755)
    calls, image, results = tmp_path / "calls.log", tmp_path / "images" / "oncopanel.sif", tmp_path / "results"
    env = {**os.environ, **LOCAL_RUN_ENV, "FAKE_APPTAINER_LOG": str(calls),
           "PATH": f"{fake.parent}:{os.environ['PATH']}"}  # fmt: skip
    done = subprocess.run(
        [str(VENV_BIN / "snakemake"), "--snakefile", "workflow/Snakefile", "--configfile", "config/config.yaml",
         "--config", f"results={results}", f"container={image}", "--software-deployment-method", "apptainer",
         "--cores", "1", f"{results}/targets/BRCA.bed"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    log = calls.read_text().splitlines()
    assert f"image={image}" in log  # the config's image, through the Snakefile's global container: directive
    assert any(line.startswith("exec ") and "oncopanel reference targets --panels BRCA" in line for line in log)
    assert (results / "targets" / "BRCA.bed").read_text().startswith("chr")
