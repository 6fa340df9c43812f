"""Local runs schedule without Snakemake's job rate limiter (see oncopanel/scheduling.py)."""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import LOCAL_RUN_ENV, ROOT, VENV_BIN

SNAKEFILE = """
from oncopanel.scheduling import lift_local_rate_limit

onstart:
    dropped = lift_local_rate_limit(workflow) if config["lift"] else False
    Path("onstart.txt").write_text(f"{{dropped}} {{workflow.scheduler.job_rate_limiter is None}}")

onsuccess:
    Path("onsuccess.txt").write_text(str(workflow.scheduler.job_rate_limiter is None))

rule all:
    input: expand("{{i}}.txt", i=range(4))

rule one:
    output: "{{i}}.txt"
    shell: "echo {{wildcards.i}} > {{output}}"
"""


@pytest.mark.parametrize("lift", [True, False])
def test_a_local_run_drops_the_job_rate_limiter_for_the_whole_run(tmp_path, lift):
    (tmp_path / "Snakefile").write_text(SNAKEFILE.format())
    env = {**os.environ, **LOCAL_RUN_ENV, "PYTHONPATH": str(ROOT)}
    cmd = [str(VENV_BIN / "snakemake"), "--cores", "2", "--config", f"lift={lift}", "--quiet"]
    subprocess.run(cmd, cwd=tmp_path, env=env, check=True, capture_output=True, text=True)

    # without the hook Snakemake keeps its limiter (the control: this is what the hook changes)
    assert (tmp_path / "onstart.txt").read_text() == f"{lift} {lift}"
    assert (tmp_path / "onsuccess.txt").read_text() == str(lift)
    assert sorted(p.name for p in tmp_path.glob("?.txt")) == ["0.txt", "1.txt", "2.txt", "3.txt"]
