"""Shared fixtures: the repository root, a sample-sheet writer, and a runner for the workflow on small batches."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from oncopanel.samplesheet import SAMPLE_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def write_sheet(path: Path, rows: list[dict]) -> Path:
    lines = ["\t".join(SAMPLE_COLUMNS)]
    for row in rows:
        base = {
            "patient": "P0001", "batch": "B1", "site": "Anxian County", "specimen_type": "blood_germline",
            "tumour_content": "", "oncotree_code": "BREAST", "panels": "BRCA", "lane": "L001",
        }  # fmt: skip
        base.update(row)
        lines.append("\t".join(str(base.get(c, "")) for c in SAMPLE_COLUMNS))
    path.write_text("\n".join(lines) + "\n")
    return path


# Snakemake's SLURM executor plugin runs `scontrol show config` whenever Snakemake starts; where slurm-wlm is
# installed but its controller is stopped (after `make test-cluster`) that waits ~9 s. Local runs need no SLURM.
LOCAL_RUN_ENV = {"SLURM_CONF": "/dev/null"}


def run_workflow(
    samples: Path, results: Path, *targets: str, extra: tuple[str, ...] = (), config: dict | None = None,
    path_prefix: Path | None = None,
) -> subprocess.CompletedProcess:  # fmt: skip
    """Run Snakemake from the repository root on a batch; returns the completed process (not checked).

    ``config``: more key=value overrides (one --config flag carries them all: a second would replace the first).
    ``path_prefix``: a directory put first on PATH (a test's stand-in for a failing tool).
    """
    # test batches carry no run controls unless a test says otherwise
    config = {"controls": ROOT / "tests/data/controls_not_required.yaml", **(config or {})}
    overrides = [f"{k}={v}" for k, v in config.items()]
    env = dict(os.environ, PATH=f"{path_prefix or VENV_BIN}:{VENV_BIN}:{os.environ.get('PATH', '')}")
    if not any("profiles/slurm" in str(arg) for arg in extra):
        env.update(LOCAL_RUN_ENV)
    cmd = [
        str(VENV_BIN / "snakemake"), *targets,
        "--snakefile", "workflow/Snakefile", "--configfile", "config/config.yaml",
        "--config", f"samples={samples}", f"results={results}", *overrides, "--cores", "2", "--keep-going",
        "--rerun-incomplete", *extra,
    ]  # fmt: skip
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)


# the embedded masked GRCh38 (pytest_configure builds it before any test module is collected) and the calling
# fixtures (tests/data/calling, make_fixtures.py)
MASKED_REF = ROOT / "resources" / "reference" / "grch38_panel_masked.fa.gz"
CALLING_DATA = ROOT / "tests" / "data" / "calling"
needs_calling_tools = pytest.mark.skipif(
    not (shutil.which("freebayes") and shutil.which("bcftools")), reason="needs freebayes and bcftools"
)


def pytest_configure(config):
    """Build the embedded masked reference once (~12 s) before collection, so no test skips for want of it."""
    from oncopanel.reference import write_masked_reference

    if not MASKED_REF.exists() or not Path(f"{MASKED_REF}.fai").exists():
        write_masked_reference(MASKED_REF)


@pytest.fixture
def observe(request):
    """Record what a reliability test saw — case, expected behaviour, observed, message — into the file named by
    ONCOPANEL_RELIABILITY_LOG (benchmarks/reliability.py collects them into BENCHMARKS.md's table)."""
    import json

    def record(case: str, expected: str, observed: str, message: str = "") -> None:
        path = os.environ.get("ONCOPANEL_RELIABILITY_LOG")
        if path:
            row = {"test": request.node.nodeid, "case": case, "expected": expected, "observed": observed,
                   "message": message}  # fmt: skip
            with open(path, "a") as fh:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    return record


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
