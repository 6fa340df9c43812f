"""The workflow runs from any working directory: the Snakefile named by absolute path, and as a Snakemake module
(what snakedeploy writes), from a project directory outside the repository. Its own data (settings files, the
knowledge base, schemas, scripts, envs) comes from the workflow and the package, never from the working directory."""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import LOCAL_RUN_ENV, ROOT, VENV_BIN, write_sheet

REF = ROOT / "resources" / "reference" / "grch38_panel_masked.fa.gz"
READS = ROOT / "demo" / "real_reads" / "NA12878_BRCA1"


@pytest.fixture
def project(tmp_path):
    """A project directory as a centre keeps it: a sample sheet and a config of its own, nothing of the repository
    (the reference is the prepared one, named by absolute path, so the dry run has no reference job to plan)."""
    proj = tmp_path / "project"
    (proj / "config").mkdir(parents=True)
    write_sheet(proj / "config" / "samples.tsv", [
        {"sample_id": "S1", "patient": "P1", "batch": "B1",
         "fastq_1": READS / "BRCA1_R1.fastq.gz", "fastq_2": READS / "BRCA1_R2.fastq.gz"},
    ])  # fmt: skip
    config = (ROOT / "config" / "config.yaml").read_text()
    config = config.replace("fasta: resources/reference/", f"fasta: {ROOT}/resources/reference/")
    config = config.replace("index_dir: resources/index", f"index_dir: {ROOT}/resources/index")
    (proj / "config" / "config.yaml").write_text(config)
    return proj


def _dry_run(cwd, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}", **LOCAL_RUN_ENV)
    cmd = [str(VENV_BIN / "snakemake"), "-n", *args, "--config", "results=results", "--cores", "1"]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)


def _planned_jobs(out: str) -> set[str]:
    """Job names of Snakemake's dry-run job table."""
    table = out.split("Job stats:", 1)[1].strip().split("\n\n", 1)[0].splitlines()[2:]  # under "job  count", "---"
    return {line.split()[0] for line in table if line.split()[0] != "total"}


@pytest.mark.skipif(not REF.exists(), reason="needs the prepared reference (make reference)")
def test_a_dry_run_from_a_directory_outside_the_repository(project):
    assert not project.is_relative_to(ROOT)
    out = _dry_run(project, "--snakefile", str(ROOT / "workflow" / "Snakefile"), "--configfile",
                   "config/config.yaml")  # fmt: skip
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    assert "MissingInputException" not in text
    # the input check (a checkpoint) and everything the batch needs up to it, nothing of the reference rebuilt
    assert _planned_jobs(out.stdout) == {
        "all", "check_inputs_B1", "qc_summary", "batch_identity", "results_B1", "multiqc", "batch_summary",
        "multiqc_oncopanel", "report_files",
    }  # fmt: skip
    # a shipped settings file comes from the workflow's data, wherever it runs from (batch_summary's input)
    assert f"{ROOT}/config/lab.yaml" in out.stdout
    assert not (project / "results").exists()


@pytest.mark.skipif(not REF.exists(), reason="needs the prepared reference (make reference)")
def test_the_workflow_as_a_module_of_a_deployed_project(project):
    """The Snakefile snakedeploy writes: the workflow used as a module with the project's config."""
    (project / "workflow").mkdir()
    (project / "workflow" / "Snakefile").write_text(
        'configfile: "config/config.yaml"\n\n\n'
        f'module oncopanel:\n    snakefile:\n        "{ROOT}/workflow/Snakefile"\n    config:\n        config\n\n\n'
        "use rule * from oncopanel\n"
    )
    out = _dry_run(project)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert {"check_inputs_B1", "results_B1", "batch_summary"} <= _planned_jobs(out.stdout)
