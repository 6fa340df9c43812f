"""QC read metrics: fastp for FASTQ lanes, the input BAM's own base qualities for BAM lanes, and the no-reads case."""

from __future__ import annotations

import json
import subprocess
from array import array
from pathlib import Path

import pysam

from oncopanel.qc import Gate, bam_input_lane, fastp_lane, summarise

ROOT = Path(__file__).resolve().parent.parent
BAM = ROOT / "tests" / "data" / "bad" / "bam" / "grch38_noindex.bam"
GATES = [Gate("q30_rate", ">=", 0.75), Gate("mapped_rate", ">=", 0.9)]


def samtools_stats(bam: Path, out: Path) -> Path:
    out.write_text(subprocess.run(["samtools", "stats", "-F", "0x900", str(bam)], capture_output=True, text=True,
                                  check=True).stdout)  # fmt: skip
    return out


def fastp_json(path: Path, before: int, after: int, bases: int, q30: int) -> Path:
    summary = {"before_filtering": {"total_reads": before},
               "after_filtering": {"total_reads": after, "total_bases": bases, "q30_bases": q30}}  # fmt: skip
    path.write_text(json.dumps({"summary": summary}))
    return path


def low_quality_bam(path: Path) -> Path:
    """grch38_noindex.bam with every read's first 40 bases at Q20 (so 60 % of its bases are Q30 or better)."""
    with pysam.AlignmentFile(str(BAM)) as src, pysam.AlignmentFile(str(path), "wb", template=src) as out:
        for read in src:
            quals = read.query_qualities
            quals[:40] = array("B", [20] * 40)
            read.query_qualities = quals
            out.write(read)
    return path


def test_bam_lane_reads_and_q30_from_its_own_qualities(tmp_path):
    lane = bam_input_lane(samtools_stats(low_quality_bam(tmp_path / "lq.bam"), tmp_path / "lq.stats.txt"))
    assert (lane.raw_reads, lane.reads_after_trimming, lane.bases, lane.q30_bases) == (400, 400, 40000, 24000)


def test_bam_input_sample_passes_the_q30_gate(tmp_path):
    """It used to fail on 'q30_rate = missing': Q30 came from fastp only, and a BAM lane has no fastp run."""
    stats = samtools_stats(BAM, tmp_path / "bam.stats.txt")
    qc = summarise("B1", {"status": "ok", "problems": []}, GATES, [100], samtools_stats=stats, bam_input_stats=[stats])
    assert qc["metrics"]["q30_rate"] == 1.0 and qc["metrics"]["raw_reads"] == 400
    assert (qc["status"], qc["reasons"], qc["reason_codes"]) == ("pass", [], [])


def test_mixed_fastq_and_bam_lanes_are_summed(tmp_path):
    stats = samtools_stats(low_quality_bam(tmp_path / "lq.bam"), tmp_path / "lq.stats.txt")
    fastp = fastp_json(tmp_path / "l1.fastp.json", before=1000, after=900, bases=90000, q30=81000)
    assert fastp_lane(fastp).q30_bases == 81000
    qc = summarise("M1", {"status": "ok", "problems": []}, GATES, [100], fastp_jsons=[fastp], bam_input_stats=[stats])
    assert qc["metrics"]["raw_reads"] == 1400 and qc["metrics"]["reads_after_trimming"] == 1300
    assert qc["metrics"]["q30_rate"] == round((81000 + 24000) / (90000 + 40000), 4)


def test_no_reads_after_trimming_is_the_reason(tmp_path):
    fastp = fastp_json(tmp_path / "l1.fastp.json", before=400, after=0, bases=0, q30=0)
    qc = summarise("Z1", {"status": "ok", "problems": []}, GATES, [100], fastp_jsons=[fastp])
    assert qc["status"] == "fail" and qc["failure_stage"] == "qc"
    assert qc["reasons"] == [
        "no reads left after trimming: none of the 400 reads passed fastp's filters (read length, quality, N bases)"
    ]
    assert qc["reason_codes"] == ["no_reads_after_trimming"]
    assert qc["gates"] == [] and qc["metrics"]["raw_reads"] == 400  # nothing to judge; the counts stay


def test_gate_and_input_reason_codes(tmp_path):
    fastp = fastp_json(tmp_path / "l1.fastp.json", before=100, after=100, bases=10000, q30=5000)
    qc = summarise("G1", {"status": "ok", "problems": []}, GATES, [100], fastp_jsons=[fastp])
    assert qc["reasons"][0] == "q30_rate = 0.5 (required >= 0.75)"
    assert qc["reason_codes"] == ["gate:q30_rate", "gate:mapped_rate"]
    check = {"status": "failed", "problems": ["sample G1: x.gz: file not found"], "problem_codes": ["file_not_found"]}
    assert summarise("G1", check, GATES, [100])["reason_codes"] == ["file_not_found"]
