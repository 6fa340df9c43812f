"""The backbone end to end on a small batch: one good sample beside three broken ones."""

from __future__ import annotations

import json
import subprocess

import pysam
import pytest
from conftest import ROOT, run_workflow, write_sheet
from fixtures import drop_last_records, grch37_bam, reads_from_region, truncated_copy

KRAS_EXON2 = ("chr12", 25245274, 25245395)  # 1-based, MANE NM_004985.5 exon 2


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    d = tmp_path_factory.mktemp("backbone")
    # good: reads drawn from KRAS exon 2 ± 200 bp
    good1, good2 = reads_from_region(d / "good", "chr12", 25245074, 25245595, n_pairs=1500, seed=3)
    # broken: a truncated gzip, R1/R2 of different length, a GRCh37 BAM
    na1 = ROOT / "demo/real_reads/NA12878_BRCA1/BRCA1_R1.fastq.gz"
    na2 = ROOT / "demo/real_reads/NA12878_BRCA1/BRCA1_R2.fastq.gz"
    trunc = truncated_copy(na1, d / "trunc_R1.fastq.gz", 0.6)
    short = drop_last_records(na2, d / "short_R2.fastq.gz", 5)
    old = grch37_bam(d / "grch37.bam")
    tumour = {"specimen_type": "tumour_fresh", "tumour_content": "50", "oncotree_code": "LUAD", "panels": "EGFR_KRAS"}
    sheet = write_sheet(
        d / "samples.tsv",
        [
            {"sample_id": "GOOD1", **tumour, "fastq_1": good1, "fastq_2": good2},
            {"sample_id": "TRUNC1", "fastq_1": trunc, "fastq_2": na2},
            {"sample_id": "SYNC1", "fastq_1": na1, "fastq_2": short},
            {"sample_id": "OLDBAM1", **tumour, "bam": old},
        ],
    )
    results = d / "results"
    targets = [str(results / "qc" / f"{s}.qc.json") for s in ("GOOD1", "TRUNC1", "SYNC1", "OLDBAM1")]
    proc = run_workflow(sheet, results, *targets)
    return {"dir": d, "results": results, "proc": proc, "sheet": sheet, "trunc": trunc, "short": short, "old": old}


def qc(batch, sample):
    return json.loads((batch["results"] / "qc" / f"{sample}.qc.json").read_text())


def test_workflow_completes_despite_bad_samples(batch):
    assert batch["proc"].returncode == 0, batch["proc"].stderr[-3000:]


def test_good_sample_reads_land_on_kras_exon2(batch):
    bam = batch["results"] / "bam" / "GOOD1.bam"
    assert subprocess.run(["samtools", "quickcheck", str(bam)]).returncode == 0
    chrom, start, end = KRAS_EXON2
    with pysam.AlignmentFile(str(bam)) as fh:
        mapped = [r for r in fh if not r.is_unmapped]
        assert len(mapped) == 3000
        assert all(r.reference_name == chrom for r in mapped)
        assert all(r.reference_start >= 25245074 - 1 and r.reference_end <= 25245595 for r in mapped)
        assert fh.count(chrom, start - 1, end) > 2000
    gene = qc(batch, "GOOD1")["genes"]["KRAS"]
    exon2 = next(t for t in qc(batch, "GOOD1")["targets"] if t["name"] == "KRAS_exon2")
    # fixed-length fragments from ~300 start points: most pairs are duplicates, and excluded from depth
    assert 100 < exon2["mean_depth"] < 600 and gene["mean_depth"] > 0


def test_target_depth_matches_samtools_depth(batch):
    """The coverage step per target = samtools depth with MAPQ >= 20, duplicates excluded, overlapping mates once."""
    bam = batch["results"] / "bam" / "GOOD1.bam"
    bed = batch["results"] / "targets" / "EGFR_KRAS.bed"  # the BED of GOOD1's panels (rule panel_targets)
    cmd = ["samtools", "depth", "-a", "-s", "-Q", "20", "-b", str(bed), str(bam)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    depth = {(c, int(p)): int(d) for c, p, d in (line.split("\t") for line in out.splitlines())}
    targets = qc(batch, "GOOD1")["targets"]
    assert len(targets) == len(bed.read_text().splitlines())
    for t in targets:
        bases = range(t["start"] + 1, t["end"] + 1)
        expected = sum(depth.get((t["chrom"], p), 0) for p in bases) / len(bases)
        assert t["mean_depth"] == pytest.approx(expected, abs=0.006), t["name"]


def test_each_bad_sample_fails_with_one_line_naming_sample_and_file(batch):
    expect = {
        "TRUNC1": f"sample TRUNC1: {batch['trunc']}: truncated gzip (file ends mid-stream)",
        "SYNC1": f"sample SYNC1: {batch['short']}: R1/R2 out of sync",
        "OLDBAM1": f"sample OLDBAM1: {batch['old']}: aligned to GRCh37, not GRCh38",
    }
    for sample, message in expect.items():
        record = qc(batch, sample)
        assert record["status"] == "failed"
        assert record["failure_stage"] == "input"
        assert len(record["reasons"]) == 1 and record["reasons"][0].startswith(message)
        assert not (batch["results"] / "bam" / f"{sample}.bam").exists()


def test_qc_gates_judged_from_data(batch):
    record = qc(batch, "GOOD1")
    assert record["status"] in ("pass", "fail")
    gates = {g["metric"]: g for g in record["gates"]}
    assert gates["mapped_rate"]["value"] == pytest.approx(1.0)
    assert gates["mapped_rate"]["pass"] is True
    # the good sample covers only KRAS exon 2 of its panel, so the panel-wide breadth gate fails, and says so
    assert gates["fraction_target_bases_ge_100x"]["pass"] is False
    assert any(r.startswith("fraction_target_bases_ge_100x = ") for r in record["reasons"])


def test_nothing_half_written(batch):
    leftovers = [p for p in batch["results"].rglob("*") if ".tmp" in p.name or "sorttmp" in p.name]
    assert leftovers == []


def test_grch38_bam_input_is_resorted_and_remarked(batch):
    """A GRCh38 BAM goes in as it is: new read groups, duplicates re-marked, same reads out."""
    source = batch["results"] / "bam" / "GOOD1.bam"
    sheet = write_sheet(
        batch["dir"] / "bam_samples.tsv",
        [{"sample_id": "BAMIN1", "specimen_type": "tumour_fresh", "oncotree_code": "LUAD", "panels": "EGFR_KRAS",
          "bam": source}],
    )  # fmt: skip
    results = batch["dir"] / "bam_results"
    proc = run_workflow(sheet, results, str(results / "qc" / "BAMIN1.qc.json"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    with pysam.AlignmentFile(str(results / "bam" / "BAMIN1.bam")) as out, pysam.AlignmentFile(str(source)) as src:
        assert [rg["ID"] for rg in out.header.to_dict()["RG"]] == ["BAMIN1.L001"]
        out_reads = sorted((r.query_name, r.is_read1, r.reference_start, r.is_duplicate) for r in out)
        src_reads = sorted((r.query_name, r.is_read1, r.reference_start, r.is_duplicate) for r in src)
    assert out_reads == src_reads
    assert json.loads((results / "qc" / "BAMIN1.qc.json").read_text())["metrics"]["mapped_rate"] == pytest.approx(1.0)
