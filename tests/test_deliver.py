"""A batch's results and PDFs come from one process, and one sample's error never stops the others."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from oncopanel.deliver import Settings, deliver_batch, deliver_missing, delivery_paths, plan_delivery, stage_paths
from oncopanel.samplesheet import Lane, Sample

ROOT = Path(__file__).resolve().parent.parent


def _sample(sid: str) -> Sample:
    return Sample(sid, f"P-{sid}", "B1", "Anxian County", "tumour_ffpe", 40.0, "LUAD", ("EGFR_KRAS",),
                  lanes=[Lane("L001", f"{sid}_R1.fq.gz", f"{sid}_R2.fq.gz")])  # fmt: skip


def _stage_files(results: Path, sid: str, check_ok: bool, vcf_text: str) -> None:
    for d in ("qc", "inputs", "calls", "hotspots"):
        (results / d).mkdir(parents=True, exist_ok=True)
    problems = [] if check_ok else [f"sample {sid}: {sid}_R1.fq.gz: truncated gzip stream"]
    check = {"sample_id": sid, "status": "ok" if check_ok else "failed", "problems": problems, "files": []}
    (results / "inputs" / f"{sid}.inputs.json").write_text(json.dumps(check))
    qc = {"status": "pass" if check_ok else "failed", "failure_stage": "" if check_ok else "input",
          "reasons": problems, "metrics": {}, "gates": [], "genes": {}}  # fmt: skip
    (results / "qc" / f"{sid}.qc.json").write_text(json.dumps(qc))
    (results / "calls" / f"{sid}.vcf.gz").write_text(vcf_text)


def _pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())


def test_one_broken_sample_gets_a_failed_report_and_the_batch_goes_on(tmp_path):
    results = tmp_path / "results"
    _stage_files(results, "S1", check_ok=False, vcf_text="")  # failed its input check
    _stage_files(results, "S2", check_ok=True, vcf_text="this is not a VCF\n")  # crashes the annotation
    batch_identity = results / "identity" / "B1.batch_identity.json"
    batch_identity.parent.mkdir(parents=True)
    batch_identity.write_text(json.dumps({"batch": "B1", "batch_held": False, "held_samples": [], "reasons": []}))
    provenance = results / "provenance.json"
    provenance.write_text(json.dumps({"pipeline_version": "0.1.0", "reference": {"name": "grch38"}}))
    identity = tmp_path / "identity.yaml"
    identity.write_text(
        "- {sample_id: S1, patient: P-S1, name: Li Hua, sex: F, birth_date: '1960-03-07',"
        " resident_id: '990101196003070312', hospital: Anxian, record_number: AX-1, ordering_clinician: Dr Zhao,"
        " collection_date: '2026-11-10', receipt_date: '2026-11-16', germline_consent: 'no'}\n"
    )
    settings = Settings(
        formulary=ROOT / "config/formulary.tsv", provenance=provenance, centre={"language": "en", "name": "Centre"},
        identity_manifest=identity, reported_date="2026-11-25",
    )  # fmt: skip
    deliveries = [plan_delivery(str(results), _sample(s), str(batch_identity)) for s in ("S1", "S2")]
    lines = deliver_batch(deliveries, settings)

    assert lines[0].startswith("S1: failed result") and lines[1].startswith("S2: failed (")
    for sid in ("S1", "S2"):
        for path in delivery_paths(str(results), sid).values():
            assert Path(path).exists(), path
    s1 = json.loads((results / "result/S1.result.json").read_text())
    assert s1["failure"]["stage"] == "input" and "truncated gzip stream" in s1["failure"]["reasons"][0]
    s2 = json.loads((results / "result/S2.result.json").read_text())
    assert s2["status"] == "failed" and s2["failure"]["stage"] == "pipeline"
    assert s2["failure"]["reasons"][0].startswith("sample S2: the result could not be produced")
    text = _pdf_text(results / "reports/S2.pdf")
    assert "TEST FAILED" in text and "could not be produced" in text
    # identity joins at rendering only: in S1's PDF, never in its result files
    assert "Li Hua" in _pdf_text(results / "reports/S1.pdf")
    for path in delivery_paths(str(results), "S1").values():
        if not path.endswith((".pdf", ".parquet")):
            assert "Li Hua" not in Path(path).read_text(), path


def test_batch_input_check_isolates_an_unexpected_error(tmp_path, monkeypatch):
    import oncopanel.inputs as inputs

    real = inputs.check_sample_inputs

    def flaky(sample, fai, realign, root=Path(".")):
        if sample.sample_id == "S2":
            raise PermissionError(13, "Permission denied", sample.lanes[0].fastq_1)
        return real(sample, fai, realign, root)

    monkeypatch.setattr(inputs, "check_sample_inputs", flaky)
    checks = inputs.check_batch_inputs([_sample("S1"), _sample("S2")], tmp_path / "ref.fa.fai", False, threads=2)
    assert list(checks) == ["S1", "S2"]
    assert not checks["S1"].ok and "S1_R1.fq.gz" in checks["S1"].problems[0]  # missing file: the usual reason
    assert checks["S2"].problems == [
        "sample S2: S2_R1.fq.gz, S2_R2.fq.gz: unreadable ([Errno 13] Permission denied: 'S2_R1.fq.gz')"
    ]


def test_samples_a_failed_run_left_without_a_result_get_a_failed_report_naming_the_step(tmp_path):
    results = tmp_path / "results"
    done = results / "result/S1.result.json"  # S1 was delivered before the run failed: left as it is
    done.parent.mkdir(parents=True)
    done.write_text('{"status": "reported"}')
    settings = Settings(
        formulary=ROOT / "config/formulary.tsv", provenance=results / "provenance.json", centre={"language": "en"},
        reported_date="2026-11-25",
    )  # fmt: skip
    failed = deliver_missing(str(results), [_sample("S1"), _sample("S2"), _sample("S3")],
                             {"S2": ["markdup"]}, settings, "results/logs")  # fmt: skip

    assert failed == ["S2", "S3"] and done.read_text() == '{"status": "reported"}'
    s2 = json.loads((results / "result/S2.result.json").read_text())
    assert s2["status"] == "failed" and s2["failure"]["reasons"] == [
        "sample S2: the analysis stopped at markdup; see results/logs/ for the step's log"
    ]
    assert s2["provenance"]["pipeline_version"]  # provenance.json was never written: the version at least
    s3 = json.loads((results / "result/S3.result.json").read_text())
    assert "stopped at an upstream step" in s3["failure"]["reasons"][0]
    text = _pdf_text(results / "reports/S2.pdf")
    assert "TEST FAILED" in text and "stopped at markdup" in text


@pytest.mark.parametrize("sid", ["S1"])
def test_delivery_paths_are_by_pseudonym(sid):
    paths = [*delivery_paths("results", sid).values(), *stage_paths("results", sid).values()]
    assert all(sid in p and "P-" not in p for p in paths)
