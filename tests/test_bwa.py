"""bwa mem end to end on a one-locus reference (chr12 masked to KRAS): `bwa index` of the full masked genome
takes tens of minutes here, so the clinical aligner is checked on one chromosome. Marked long."""

from __future__ import annotations

import json
import subprocess

import pysam
import pytest
from conftest import run_workflow, write_sheet
from fixtures import reads_from_region

from oncopanel import paths
from oncopanel.reference import masked_chromosomes, read_chromosome_lengths, read_fasta, read_slices

pytestmark = pytest.mark.long


@pytest.fixture(scope="module")
def chr12_reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("bwa_ref")
    seqs = read_fasta(paths.ANNOTATION / "reference" / "grch38_panel10_slices.fa")
    lengths = {"chr12": read_chromosome_lengths()["GRCh38"]["chr12"]}
    fasta = d / "chr12_kras.fa"
    with open(fasta, "w") as out:
        for chrom, slices, length in masked_chromosomes(read_slices(), lengths):
            pos = 0
            out.write(f">{chrom}\n")
            chunks = []
            for s in slices:
                chunks.append("N" * (s.start0 - pos) + seqs[s.contig])
                pos = s.end
            chunks.append("N" * (length - pos))
            whole = "".join(chunks)
            for i in range(0, len(whole), 60):
                out.write(whole[i : i + 60] + "\n")
    subprocess.run(["samtools", "faidx", str(fasta)], check=True)
    return fasta


def test_bwa_aligns_kras_reads_to_kras(chr12_reference, tmp_path):
    r1, r2 = reads_from_region(tmp_path / "kras", "chr12", 25245074, 25245595, n_pairs=600, seed=9)
    sheet = write_sheet(
        tmp_path / "samples.tsv",
        [{"sample_id": "BWA1", "specimen_type": "tumour_fresh", "oncotree_code": "LUAD", "panels": "EGFR_KRAS",
          "fastq_1": r1, "fastq_2": r2}],
    )  # fmt: skip
    results = tmp_path / "results"
    overlay = tmp_path / "bwa.yaml"
    overlay.write_text(
        f"aligner: bwa\nindex_dir: {tmp_path / 'index'}\n"
        f"reference: {{fasta: {chr12_reference}, build: GRCh38, masked: true}}\n"
    )
    proc = run_workflow(
        sheet, results, str(results / "qc" / "BWA1.qc.json"), extra=("--configfile", "config/config.yaml", overlay)
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with pysam.AlignmentFile(str(results / "bam" / "BWA1.bam")) as bam:
        assert "bwa" in {pg["ID"].split(".")[0] for pg in bam.header.to_dict()["PG"]}
        mapped = [r for r in bam if not r.is_unmapped]
    assert len(mapped) == 1200
    assert all(r.reference_name == "chr12" and 25245073 <= r.reference_start < 25245595 for r in mapped)
    assert json.loads((results / "qc" / "BWA1.qc.json").read_text())["metrics"]["mapped_rate"] == pytest.approx(1.0)
