"""`python -m oncopanel.steps`: the per-sample steps' light entry point (no Snakemake preamble, issue 21)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from oncopanel.qc import Gate, summarise
from oncopanel.steps import Files, Job

GATES = [{"metric": "q30_rate", "op": ">=", "threshold": 0.75}, {"metric": "mapped_rate", "op": ">=", "threshold": 0.9}]


def _fastp(path: Path) -> Path:
    summary = {"before_filtering": {"total_reads": 100},
               "after_filtering": {"total_reads": 100, "total_bases": 10000, "q30_bases": 5000}}  # fmt: skip
    path.write_text(json.dumps({"summary": summary}))
    return path


def _qc_job(tmp_path: Path) -> dict:
    """A qc_summary job as workflow/rules/common.smk's step_job writes it: a FASTQ lane's fastp JSON only."""
    check = tmp_path / "G1.inputs.json"
    check.write_text(json.dumps({"status": "ok", "problems": []}))
    fastp = _fastp(tmp_path / "G1.L1.fastp.json")
    out = tmp_path / "G1.qc.json"
    return {
        "rule": "qc_summary",
        "input": {"*": [str(check), str(fastp)], "check": str(check), "fastp": [str(fastp)]},
        "output": {"*": [str(out)]},
        "wildcards": {"sample": "G1"},
        "threads": 1,
        "params": {"gates": GATES, "thresholds": [100]},
    }


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oncopanel.steps", *args], capture_output=True, text=True)


def test_qc_summary_step_writes_the_qc_json_summarise_makes(tmp_path):
    job = _qc_job(tmp_path)
    log = tmp_path / "G1.log"
    proc = _run("qc_summary", "--log", str(log), json.dumps(job))
    assert proc.returncode == 0, proc.stderr
    written = json.loads((tmp_path / "G1.qc.json").read_text())
    gates = [Gate(g["metric"], g["op"], float(g["threshold"])) for g in GATES]
    fastp = [Path(job["input"]["fastp"][0])]
    expected = summarise("G1", {"status": "ok", "problems": []}, gates, [100], fastp_jsons=fastp)
    assert written == expected
    assert written["status"] == "fail" and written["reasons"][0] == "q30_rate = 0.5 (required >= 0.75)"
    assert log.read_text().startswith("G1: QC fail\nq30_rate = 0.5 (required >= 0.75)")
    assert not (tmp_path / "G1.qc.json.tmp").exists()


def test_a_failing_step_fails_its_job_and_writes_no_output(tmp_path):
    job = _qc_job(tmp_path)
    Path(job["input"]["check"]).unlink()  # the sample's input check is gone
    proc = _run("qc_summary", "--log", str(tmp_path / "G1.log"), json.dumps(job))
    assert proc.returncode != 0
    assert "G1.inputs.json" in proc.stderr
    assert not (tmp_path / "G1.qc.json").exists()


def test_an_unknown_step_is_refused():
    proc = _run("no_such_step", "--log", "/dev/null", "{}")
    assert proc.returncode == 2 and "invalid choice: 'no_such_step'" in proc.stderr


def test_the_steps_run_without_snakemake_or_the_heavy_libraries(tmp_path):
    """The point of the entry point: a QC job imports neither snakemake (script:'s preamble) nor pandas, pyarrow,
    reportlab or sqlalchemy."""
    job = _qc_job(tmp_path)
    code = (
        "import sys, json; from oncopanel.steps import main; "
        f"main(['qc_summary', '--log', {str(tmp_path / 'G1.log')!r}, {json.dumps(job)!r}]); "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'snakemake', 'pandas', 'pyarrow', 'reportlab', 'sqlalchemy', 'numpy', 'pysam', 'jsonschema'})))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
    assert json.loads((tmp_path / "G1.qc.json").read_text())["sample_id"] == "G1"


HEAVY = ("snakemake", "pandas", "pyarrow", "reportlab", "sqlalchemy", "numpy", "jsonschema", "yaml")
CALLING_DATA = Path(__file__).parent / "data" / "calling"


def _heavy_after(code: str) -> list[str]:
    """The heavy libraries a fresh Python has imported after running ``code``."""
    code += f"; import sys, json; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.mark.skipif(shutil.which("samtools") is None, reason="needs samtools")
def test_bam_qc_runs_on_the_criteria_the_workflow_checked_without_numpy_or_the_schema_libraries(tmp_path):
    """bam_qc (coverage + identity genotypes + contamination) gets config/controls.yaml as the settings layer
    checked it when the DAG was built (rule params), so the job reads no YAML and checks no schema, and the
    contamination estimate needs no numpy (issue 21): the real step on a real BAM, then what it imported."""
    from oncopanel.sample_identity.criteria import load_doc

    out = {k: str(tmp_path / f"B1.{k}") for k in ("regions.bed.gz", "thresholds.bed.gz", "depth_distribution.tsv")}
    bam, targets = CALLING_DATA / "blood.bam", CALLING_DATA / "blood.targets.bed"
    job = {
        "rule": "bam_qc",
        "input": {"*": [str(bam), str(targets)], "bam": str(bam), "targets": str(targets)},
        "output": {"regions": out["regions.bed.gz"], "thresholds": out["thresholds.bed.gz"],
                   "distribution": out["depth_distribution.tsv"], "identity": str(tmp_path / "B1.identity.json")},
        "wildcards": {"sample": "B1"},
        "threads": 1,
        "params": {"mapq": 20, "thresholds": [100, 200], "specimen_type": "blood_germline", "criteria": load_doc()},
    }  # fmt: skip
    log = str(tmp_path / "B1.log")
    code = f"from oncopanel.steps import main; main(['bam_qc', '--log', {log!r}, {json.dumps(job)!r}])"
    assert _heavy_after(code) == []
    identity = json.loads((tmp_path / "B1.identity.json").read_text())
    assert identity["sample_id"] == "B1" and "contamination" in identity
    assert Path(out["regions.bed.gz"]).stat().st_size > 0


def test_finalize_builds_its_settings_from_the_checked_block_without_the_schema_libraries(tmp_path):
    """calling_finalize's settings: the calling block as the workflow checked it (config["calling"]) and the panels'
    stated LoDs as parameters; building them imports neither jsonschema nor PyYAML, nor the reporting policy."""
    from oncopanel.calling import settings as calling_settings

    block = tmp_path / "calling.json"
    block.write_text(json.dumps(calling_settings.load_block()))
    code = (
        "import json; from pathlib import Path; from oncopanel.calling import settings as s; "
        "import oncopanel.calling.run, oncopanel.calling.vcf, oncopanel.calling.pon, oncopanel.calling.background, "
        "oncopanel.hotspots; "
        f"c = s.from_checked(json.loads(Path({str(block)!r}).read_text())); "
        "assert c.sample_stated_lod('tumour_ffpe', [0.05]) > 0"
    )
    assert _heavy_after(code) == []


def test_job_files_have_snakemakes_named_access():
    files = Files({"*": ["a.bam", "a.bam.bai"], "bam": "a.bam", "targets": ["t.bed"]})
    assert list(files) == ["a.bam", "a.bam.bai"] and files[0] == "a.bam"
    assert files.bam == "a.bam" and list(files.targets) == ["t.bed"]
    assert hasattr(files, "bam") and not hasattr(files, "pon") and getattr(files, "fastp", []) == []
    with pytest.raises(AttributeError):
        files.pon  # noqa: B018
    job = Job({"rule": "r", "params": {"mode": "somatic"}, "wildcards": {"sample": "S1"}}, ["x.log"])
    assert (job.rule, job.params.mode, job.wildcards.sample) == ("r", "somatic", "S1")
    assert (job.log, job.threads) == (["x.log"], 1)


def test_the_batch_summary_and_report_files_jobs_import_no_pandas_or_numpy():
    """The batch-level report jobs (batch summary, the workflow report's files) render from result JSONs: they
    must not pay for pandas and numpy (~0.45 CPU-s a job, issue 21), which the knowledge base's tables need and
    the PDF once pulled in for one constant (the therapy settings' order, now in oncopanel.model)."""
    heavy = _heavy_after("import oncopanel.report, oncopanel.report.workflow_report")
    assert "pandas" not in heavy and "numpy" not in heavy
