"""A delivered result is never destroyed or falsified: adding a sample, re-running on another day, and one
sample's failed step, each through the README's Snakemake command on a real (small) batch.

G1 is a simulated blood sample with BRCA1 c.68_69del that passes QC (a *final* reported result); NA1 is the real
NA12878 BRCA1 read set (its BRCA2 coverage fails: a provisional re-test result).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, run_workflow, write_sheet

from oncopanel.model import Variant
from oncopanel.panels import genes_for, target_bed_rows
from oncosim.reads import Spike, simulate_sample

BRCA1_68_69DEL = Variant("chr17", 43124027, "ACT", "A")
NA_R1 = ROOT / "demo/real_reads/NA12878_BRCA1/BRCA1_R1.fastq.gz"
NA_R2 = ROOT / "demo/real_reads/NA12878_BRCA1/BRCA1_R2.fastq.gz"
GERMLINE = {"specimen_type": "blood_germline", "oncotree_code": "BREAST", "panels": "BRCA", "language": "en",
            "germline_consent": "yes"}  # fmt: skip


def delivered(results: Path, sid: str) -> dict[str, str]:
    paths = [results / "result" / f"{sid}.result.json", results / "reports" / f"{sid}.pdf"]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())





@pytest.fixture(scope="module")
def reads(tmp_path_factory):
    d = tmp_path_factory.mktemp("integrity")
    g1 = simulate_sample(d / "G1", target_bed_rows(genes_for(["BRCA"]), 20), [Spike(BRCA1_68_69DEL, 0.5, "germline")],
                         250, 12)  # fmt: skip
    return {"dir": d, "G1": g1}


def g1_row(reads) -> dict:
    return {"sample_id": "G1", "patient": "P1", **GERMLINE, "fastq_1": reads["G1"][0], "fastq_2": reads["G1"][1]}


def na1_row() -> dict:
    return {"sample_id": "NA1", "patient": "P2", **GERMLINE, "fastq_1": NA_R1, "fastq_2": NA_R2}


def test_adding_a_sample_on_another_day_leaves_the_delivered_result_byte_identical(reads, tmp_path, observe):
    results = tmp_path / "results"
    first = run_workflow(write_sheet(tmp_path / "one.tsv", [g1_row(reads)]), results,
                         config={"report": "{date: '2026-11-25'}"})  # fmt: skip
    assert first.returncode == 0, first.stderr[-3000:]
    g1 = json.loads((results / "result/G1.result.json").read_text())
    assert g1["status"] == "reported" and g1["germline"]["findings"][0]["hgvs_c"] == "c.68_69del"
    before = delivered(results, "G1")

    sheet = write_sheet(tmp_path / "two.tsv", [g1_row(reads), na1_row()])
    second = run_workflow(sheet, results, config={"report": "{date: '2026-12-02'}"})
    line = next((x for x in second.stderr.splitlines() if x.startswith("oncopanel: NA1")), "")
    observe("sample added to a finished batch, run again a week later",
            "the input check re-runs; the delivered result stays byte-identical; the new sample gets its result",
            f"exit {second.returncode}; G1 result and PDF unchanged: {delivered(results, 'G1') == before}",
            line)  # fmt: skip
    assert second.returncode == 0, second.stderr[-3000:]
    assert delivered(results, "G1") == before
    assert json.loads((results / "release/G1/index.json").read_text())["versions"][0]["version"] == 1
    na1 = json.loads((results / "result/NA1.result.json").read_text())
    assert (na1["status"], na1["failure"]["kind"], na1["reported_date"]) == ("failed", "retest", "2026-12-02")
    assert "oncopanel: NA1 (B1): retest — re-test from the stored DNA or library" in second.stderr
    status = json.loads((results / "batch/status.json").read_text())
    assert {r["sample_id"]: r["state"] for r in status["samples"]} == {"G1": "reported", "NA1": "retest"}

    third = run_workflow(sheet, results, config={"report": "{date: '2026-12-03'}"})  # nothing new: nothing moves
    assert third.returncode == 0, third.stderr[-3000:]
    assert delivered(results, "G1") == before


def test_one_failed_step_fails_only_its_sample_and_a_rerun_completes_it(reads, tmp_path, observe):
    """fastp rejects NA1's file (as it does a gzip stream followed by padding): NA1's analysis is incomplete,
    G1 still gets its real result; the re-run completes NA1 as version 2 and leaves G1's bytes alone."""
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "fastp").write_text(
        "#!/bin/sh\ncase \"$*\" in *BRCA1_R1*) echo 'igzip: invalid gzip header found' >&2; exit 1;; esac\n"
        "exec /usr/bin/fastp \"$@\"\n"
    )
    (shim / "fastp").chmod(0o755)
    results = tmp_path / "results"
    sheet = write_sheet(tmp_path / "samples.tsv", [g1_row(reads), na1_row()])
    failed = run_workflow(sheet, results, path_prefix=shim)
    states = {sid: json.loads((results / f"result/{sid}.result.json").read_text()) for sid in ("G1", "NA1")}
    line = next((x for x in failed.stderr.splitlines() if x.startswith("oncopanel: NA1")), "")
    observe("one sample's tool fails (fastp: 'igzip: invalid gzip header found')",
            "that sample: analysis incomplete (no new specimen); the other sample: its real result",
            f"exit {failed.returncode}; G1 {states['G1']['status']}; NA1 {states['NA1']['failure']['kind']}",
            line)  # fmt: skip
    assert failed.returncode != 0
    g1 = json.loads((results / "result/G1.result.json").read_text())
    assert g1["status"] == "reported" and g1["germline"]["findings"][0]["hgvs_c"] == "c.68_69del"
    na1 = json.loads((results / "result/NA1.result.json").read_text())
    assert na1["failure"]["kind"] == "analysis_incomplete" and na1["failure"]["reasons"] == [
        "the analysis did not complete"
    ]
    text = pdf_text(results / "reports/NA1.pdf")
    assert "ANALYSIS INCOMPLETE — the laboratory will re-run the analysis" in text
    assert "No new specimen is needed" in text and "igzip" not in text and "stopped at" not in text
    assert "oncopanel: NA1 (B1): analysis_incomplete — the lab re-runs the analysis (no new specimen) " \
           "[the analysis stopped at align_lane;" in failed.stderr
    before = delivered(results, "G1")

    rerun = run_workflow(sheet, results)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert delivered(results, "G1") == before
    na1 = json.loads((results / "result/NA1.result.json").read_text())
    assert na1["failure"]["kind"] == "retest" and na1["provenance"]["report_version"] == 2
    assert na1["amendment"]["supersedes"] == "OP-B1-NA1 v1"
    assert (results / "release/NA1/v1/report.pdf").exists()
