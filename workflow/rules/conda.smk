# The conda route (--software-deployment-method conda): the package's environments (workflow/envs/oncopanel.yaml,
# calling.yaml) install oncopanel from this workflow's own checkout. Snakemake copies an env file to
# <conda-prefix>/<hash>.yaml before `conda env create --file` reads it, and conda runs pip from that copy's
# directory, so a relative path in the pip section would point into .snakemake/conda/, not here. The env files
# name ${ONCOPANEL_SOURCE} instead, which pip expands from this process's environment when conda creates them.
import os
from pathlib import Path

# workflow/rules/ -> the checkout (a local clone: the conda route needs one, README "Running on a cluster")
_checkout = Path(workflow.current_basedir.get_path_or_uri(secret_free=True)).parent.parent.resolve()
os.environ.update(ONCOPANEL_SOURCE=str(_checkout))
