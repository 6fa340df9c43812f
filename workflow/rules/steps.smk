# The per-sample Python steps' light entry point, `python -m oncopanel.steps` (oncopanel/steps.py, issue 21). A step
# runs as  f"{STEP} qc_summary --log {{log:q}} {{params.job:q}}"  (shell, with params job=step_job(...)) in place of
# script, whose preamble (importing snakemake, unpickling the job) cost as much CPU as the step. Included by the
# Snakefile and by tests/data/calling/Snakefile (the calling rules' harness).
import json
import os
import shlex
import sys

from snakemake.settings.types import DeploymentMethod as _DeploymentMethod

_IN_ENVIRONMENT = bool(
    {_DeploymentMethod.CONDA, _DeploymentMethod.APPTAINER} & set(workflow.deployment_settings.deployment_method)
)
STEP = ("python" if _IN_ENVIRONMENT else shlex.quote(sys.executable)) + " -m oncopanel.steps"


def step_job(rule, **params):
    """The job= parameter of a step run by STEP (named after its rule), a function of the job: its named inputs
    and outputs, wildcards, threads and the given parameters (values, or functions of the wildcards) as one JSON
    argument, read by oncopanel.steps.Job."""

    def named(files):
        return {"*": list(files), **dict(files.items())}

    def job(wildcards, input, output, threads):
        values = {k: v(wildcards) if callable(v) else v for k, v in params.items()}
        doc = {"rule": rule, "input": named(input), "output": named(output), "wildcards": dict(wildcards.items()),
               "threads": threads, "params": values}  # fmt: skip
        return json.dumps(doc, separators=(",", ":"), default=path_text)

    return job


def path_text(value):
    """JSON of a step's parameter that is a path (UMI_YAML); anything else not JSON is a mistake, said at once."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"a step's parameter is not JSON: {value!r}")
