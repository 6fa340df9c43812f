"""Per-sample input checks: each bad input fails with one line naming the sample, the file and the problem."""

from __future__ import annotations

import gzip
from pathlib import Path

from fixtures import drop_last_records, grch37_bam, reads_from_region, truncated_copy

from oncopanel.inputs import check_bam, check_fastq_pair
from oncopanel.reference import identify_build, read_chromosome_lengths

FAI = Path(__file__).resolve().parent / "data" / "grch38_panel_masked.fa.gz.fai"


def test_good_pair_counts_reads_and_hashes(tmp_path):
    r1, r2 = reads_from_region(tmp_path / "ok", "chr12", 25245000, 25245700, n_pairs=50)
    problems, checks = check_fastq_pair("S1", r1, r2)
    assert problems == []
    assert [c.reads for c in checks] == [50, 50]
    import hashlib

    assert checks[0].sha256 == hashlib.sha256(r1.read_bytes()).hexdigest()


def test_truncated_gzip(tmp_path):
    r1, r2 = reads_from_region(tmp_path / "t", "chr12", 25245000, 25245700, n_pairs=2000)
    bad = truncated_copy(r1, tmp_path / "trunc_R1.fastq.gz")
    problems, _ = check_fastq_pair("S9", bad, r2)
    assert problems == [f"sample S9: {bad}: truncated gzip (file ends mid-stream)"]


def test_corrupt_gzip(tmp_path):
    r1, r2 = reads_from_region(tmp_path / "c", "chr12", 25245000, 25245700, n_pairs=200)
    data = bytearray(r1.read_bytes())
    data[40:60] = b"\x00" * 20
    bad = tmp_path / "corrupt_R1.fastq.gz"
    bad.write_bytes(bytes(data))
    problems, _ = check_fastq_pair("S9", bad, r2)
    assert len(problems) == 1 and problems[0].startswith(f"sample S9: {bad}: corrupt gzip")


def test_r1_r2_count_differs(tmp_path):
    r1, r2 = reads_from_region(tmp_path / "s", "chr12", 25245000, 25245700, n_pairs=30)
    short = drop_last_records(r2, tmp_path / "short_R2.fastq.gz", 3)
    problems, _ = check_fastq_pair("S2", r1, short)
    assert problems == [
        f"sample S2: {short}: R1/R2 out of sync: short_R2.fastq.gz ends after 27 reads while ok_R1.fastq.gz has more"
        .replace("ok_R1", "s_R1")
    ]


def test_sequence_quality_length_mismatch(tmp_path):
    r1, r2 = reads_from_region(tmp_path / "q", "chr12", 25245000, 25245700, n_pairs=5)
    with gzip.open(r1, "rt") as fh:
        lines = fh.read().splitlines()
    lines[7] = lines[7][:-3]  # quality of record 2 three bases short
    bad = tmp_path / "qual_R1.fastq.gz"
    bad.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    problems, _ = check_fastq_pair("S3", bad, r2)
    assert problems == [
        f"sample S3: {bad}: malformed FASTQ, record 2: sequence length 100 differs from quality length 97"
    ]


def test_empty_and_missing_fastq(tmp_path):
    empty1, empty2 = tmp_path / "e_R1.fastq.gz", tmp_path / "e_R2.fastq.gz"
    for p in (empty1, empty2):
        p.write_bytes(gzip.compress(b""))
    assert check_fastq_pair("S4", empty1, empty2)[0] == [f"sample S4: {empty1}: empty FASTQ (no reads)"]
    missing = tmp_path / "nope_R1.fastq.gz"
    assert check_fastq_pair("S5", missing, empty2)[0] == [f"sample S5: {missing}: file not found"]


def test_bam_of_another_build_refused(tmp_path):
    bam = grch37_bam(tmp_path / "old.bam")
    problems, _ = check_bam("S6", bam, FAI, realign=False)
    assert problems == [f"sample S6: {bam}: aligned to GRCh37, not GRCh38 (set realign: true to realign it)"]
    assert check_bam("S6", bam, FAI, realign=True)[0] == []


def test_identify_build_from_header_lengths():
    lengths = read_chromosome_lengths()
    assert identify_build({"chr12": lengths["GRCh38"]["chr12"]}) == "GRCh38"
    assert identify_build({"12": lengths["GRCh37"]["12"]}) == "GRCh37"
    assert identify_build({"chr12": lengths["GRCh37"]["12"]}) == "GRCh37"  # hg19 naming
    assert identify_build({"chr12": 1234}) == "unknown"


def test_truncated_bam(tmp_path):
    bam = grch37_bam(tmp_path / "whole.bam")
    cut = tmp_path / "cut.bam"
    cut.write_bytes(bam.read_bytes()[:-28])
    assert check_bam("S7", cut, FAI, realign=False)[0] == [f"sample S7: {cut}: truncated BAM (no end-of-file marker)"]
