"""Release gating: a held batch or sample gets a 'result held' report, never its findings."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from oncopanel.assemble import hold_reasons
from oncopanel.report import build_result, render_pdf

DATA = Path(__file__).resolve().parent / "data" / "report"


def test_hold_reasons_for_batch_and_sample():
    batch = {"batch_held": True, "held_samples": [], "reasons": ["no-template control DEMO-NTC: 12000 reads"]}
    assert hold_reasons(batch, "S1") == ["no-template control DEMO-NTC: 12000 reads"]
    sample = {"batch_held": False, "held_samples": ["S2"], "reasons": ["patient P1: S2 and S3 disagree at 5 sites"]}
    assert hold_reasons(sample, "S2") == ["patient P1: S2 and S3 disagree at 5 sites"]
    assert hold_reasons(sample, "S1") == []


def test_held_result_renders_as_held_not_negative(tmp_path):
    d = json.loads((DATA / "luad_inputs.json").read_text())
    reasons = ["positive control COLO829T: BRAF V600E not detected (expected VAF 0.68)"]
    result = build_result(
        d["sample"], d["qc"], d["somatic"], d["germline"], d["hotspots"], d["therapies"], d["provenance"],
        assay=d["assay"], failure={"stage": "held", "reasons": reasons},
    )  # fmt: skip
    assert result["status"] == "failed" and result["somatic"] == [] and result["therapies"] == []
    pdf = render_pdf(result, tmp_path / "held.pdf", language="en")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert result["failure"]["kind"] == "held" and result["failure"]["reasons"] == reasons  # the lab's detail
    text = " ".join(text.split())
    assert "RESULT HELD" in text and "No new specimen is needed unless the laboratory asks for one" in text
    # the clinician reads what happens next, not the run-control investigation
    assert "BRAF V600E not detected" not in text
    assert "TEST FAILED" not in text and "p.(Leu858Arg)" not in text


def test_a_sample_whose_analysis_crashed_gets_a_failed_result(tmp_path):
    from oncopanel.assemble import failed_result, failed_rules
    from oncopanel.samplesheet import Lane, Sample

    log = (
        "[Wed Nov 25 09:06:04 2026]\nError in rule calling_freebayes:\n    message: None\n    jobid: 32\n"
        "    wildcards: sample=S7\n    log: results/logs/calling/S7.log\n"
    )
    assert failed_rules(log) == {"S7": ["calling_freebayes"]}
    # Snakemake 9.27 as written: the error block has the job id only; the sample is in the block that started it
    log_9 = (
        "localrule fastp:\n    jobid: 5\n    wildcards: sample=S6, lane=L001\n"
        "localrule calling_freebayes:\n    log: results/logs/calling/freebayes/S7.log\n    jobid: 17\n"
        "    benchmark: results/benchmarks/calling/freebayes/S7.tsv\n    wildcards: sample=S7\n"
        "    resources: tmpdir=/tmp, runtime=60, mem_mb=2000\n"
        "[Wed Nov 25 16:43:07 2026]\nError in rule calling_freebayes:\n    message: None\n    jobid: 17\n"
        "    input: results/bam/S7.bam\n"
    )
    assert failed_rules(log_9) == {"S7": ["calling_freebayes"]}
    sample = Sample("S7", "P7", "B1", "Anxian County", "tumour_ffpe", 40.0, "LUAD", ("EGFR_KRAS",),
                    lanes=[Lane("L001", "a.fq.gz", "b.fq.gz")])  # fmt: skip
    result = failed_result(sample, ["the analysis did not complete"], reported_date="2026-11-27")
    assert result["status"] == "failed" and result["failure"]["stage"] == "pipeline"
    assert result["failure"]["kind"] == "analysis_incomplete"
    assert result["failure"]["next_report_date"] == "2026-12-01"  # two working days after a Friday
    pdf = render_pdf(result, tmp_path / "s7.pdf", language="en")
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split())
    assert "ANALYSIS INCOMPLETE — the laboratory will re-run the analysis" in text
    assert "No new specimen is needed." in text and "a new report is expected by 2026-12-01" in text
    assert "new specimen is needed" not in text.replace("No new specimen is needed", "")
    zh = render_pdf(result, tmp_path / "s7zh.pdf", language="zh")
    text = " ".join(subprocess.run(["pdftotext", str(zh), "-"], capture_output=True, text=True).stdout.split())
    assert "分析未完成——实验室将重新分析" in text and "无需重新送检" in text and "请重新送检" not in text


def test_a_sample_that_failed_qc_carries_no_therapy_rows_anywhere(tmp_path):
    """Issue 16: a failed sample's therapies JSON (and so the batch Parquet built from it) has no therapy row."""
    from oncopanel.assemble import SampleFiles, assemble, write_outputs
    from oncopanel.knowledge import KnowledgeBase
    from oncopanel.samplesheet import Sample

    d = json.loads((DATA / "luad_inputs.json").read_text())
    qc = tmp_path / "qc.json"
    qc.write_text(json.dumps({**d["qc"], "status": "fail", "reasons": ["mean depth 40x below 200x"]}))
    check = tmp_path / "check.json"
    check.write_text(json.dumps({"status": "ok", "files": []}))
    vcf = Path(__file__).resolve().parent / "data" / "annotate" / "calls.vcf"
    sample = Sample("S1", "P1", "B1", "Anxian County", "tumour_ffpe", 40.0, "LUAD", ("EGFR_KRAS", "BRCA"))
    done = assemble(sample, SampleFiles(qc, check, vcf), KnowledgeBase.load(), {}, d["provenance"])
    assert done.result["status"] == "failed" and done.result["therapies"] == []
    out = tmp_path / "out"
    write_outputs(done, "S1", out / "r.json", out / "t.tsv", out / "t.parquet", out / "therapies.json")
    assert json.loads((out / "therapies.json").read_text())["therapies"] == []


def test_without_germline_consent_no_germline_finding_reaches_the_therapies(tmp_path):
    """A blood sample's pathogenic BRCA1 variant: its therapies (result and therapies JSON) only with consent."""
    from oncopanel.assemble import SampleFiles, assemble
    from oncopanel.knowledge import KnowledgeBase
    from oncopanel.samplesheet import Sample

    d = json.loads((DATA / "luad_inputs.json").read_text())
    qc = tmp_path / "qc.json"
    qc.write_text(json.dumps(d["qc"]))
    check = tmp_path / "check.json"
    check.write_text(json.dumps({"status": "ok", "files": []}))
    vcf = Path(__file__).resolve().parent / "data" / "annotate" / "calls.vcf"
    sample = Sample("G1", "P1", "B1", "Anxian County", "blood_germline", None, "BRCA", ("BRCA",))
    kb = KnowledgeBase.load()
    files = SampleFiles(qc, check, vcf)
    withheld = assemble(sample, files, kb, {}, d["provenance"], consent="unknown")
    assert withheld.result["therapies"] == [] and withheld.therapy_document["therapies"] == []
    consented = assemble(sample, files, kb, {}, d["provenance"], consent="yes")
    assert "olaparib" in {t["regimen"] for t in consented.therapy_document["therapies"]}
