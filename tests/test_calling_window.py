"""freebayes on reads moved to windows of their contigs (oncopanel.calling.window): the same calls, cheaper."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pysam
import pytest
from conftest import CALLING_DATA, MASKED_REF, ROOT, needs_calling_tools

from oncopanel.calling import settings as cs
from oncopanel.calling import window
from oncopanel.calling.freebayes import freebayes_args
from oncopanel.calling.run import calling_regions, plain_fasta
from oncopanel.coverage import read_targets

DATA, REF = CALLING_DATA, str(MASKED_REF)
S = cs.load()


def body(vcf: Path, qual: bool = True) -> list[str]:
    """The records, QUAL left out on request (freebayes' somatic QUAL near 0 moves with its input paths)."""
    with gzip.open(vcf, "rt") as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh if not line.startswith("#")]
    return ["\t".join(r if qual else r[:5] + r[6:]) for r in rows]


@pytest.fixture(scope="module")
def regions(tmp_path_factory) -> dict[str, Path]:
    """Rule calling_regions for the fixtures' targets, in both modes: regions, their reference, the windows'."""
    fb_fasta = plain_fasta(REF, ROOT / S.plain_fasta)
    d = tmp_path_factory.mktemp("windows")
    out = {}
    for mode in ("somatic", "germline"):
        bed = d / f"targets.{mode}.bed"
        calling_regions(DATA / "tumour.targets.bed", mode, fb_fasta, REF, bed, bed.with_suffix(".fa"))
        out[mode] = bed
    return out


@needs_calling_tools
@pytest.mark.parametrize(("sample", "mode"), [("tumour", "somatic"), ("normal1", "somatic"), ("blood", "germline")])
def test_moved_reads_give_the_same_records(regions, tmp_path, monkeypatch, sample, mode):
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    bed = regions[mode]
    options = freebayes_args(S.freebayes(mode))
    out = {}
    for move in (True, False):
        out[move] = tmp_path / f"{sample}.{move}.vcf.gz"
        moved = window.call_freebayes(DATA / f"{sample}.bam", bed, options, bed.with_suffix(".fa"), REF, out[move],
                                      log=tmp_path / "log", move=move)  # fmt: skip
        assert moved is move
    assert body(out[True], qual=mode == "germline") == body(out[False], qual=mode == "germline")
    assert body(out[False]), "the fixture has calls to compare"
    with gzip.open(out[True], "rt") as fh:
        header = [line for line in fh if line.startswith("##oncopanel_freebayes_windows=")]
    named = {w.split(":")[0] for w in header[0].split("=", 1)[1].strip().split(",")}
    assert len(header) == 1 and named == {t.chrom for t in read_targets(bed)}
    assert not list((tmp_path / "tmp").iterdir()), "the moved reads are deleted with the job"


@needs_calling_tools
def test_moved_calls_are_the_same_at_every_run(regions, tmp_path, monkeypatch):
    """freebayes sees fixed file names in its work directory, wherever that is: the raw VCF, its command-line header
    and the somatic QUAL near 0 (which moves with the path strings freebayes is given) included, is the same."""
    bed, texts = regions["somatic"], []
    for run in ("a", "b-with-a-longer-name"):
        (tmp_path / run).mkdir()
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / run))
        out = tmp_path / f"{run}.vcf.gz"
        window.call_freebayes(DATA / "tumour.bam", bed, freebayes_args(S.somatic_freebayes), bed.with_suffix(".fa"),
                              REF, out, move=True)  # fmt: skip
        with gzip.open(out, "rt") as fh:
            texts.append([line for line in fh if not line.startswith("##bcftools_normCommand=")])
    assert texts[0] == texts[1] and any(line.startswith("##commandline=") for line in texts[0])


@needs_calling_tools
def test_window_reference_is_the_regions_reference_from_each_window_start(regions):
    bed = regions["somatic"]
    windows = window.read_windows(window.window_files(bed.with_suffix(".fa"))[1])
    lengths = window.fai_lengths(bed.with_suffix(".fa"))
    whole_fa, window_fa = (str(bed.with_suffix(suffix)) for suffix in (".fa", ".window.fa"))
    with pysam.FastaFile(whole_fa) as whole, pysam.FastaFile(window_fa) as w:
        for contig, (start, end) in windows.items():
            assert w.get_reference_length(contig) == end - start <= lengths[contig]
            assert w.fetch(contig) == whole.fetch(contig, start, end)
    for contig, start, end in ((t.chrom, t.start, t.end) for t in read_targets(bed)):
        assert windows[contig][0] <= start - window.REGION_MARGIN or windows[contig][0] == 0
        assert end + window.REGION_MARGIN <= windows[contig][1] or windows[contig][1] == lengths[contig]


def test_the_choice_weighs_reads_against_the_reference_spared():
    windows = {"chr7": (55_000_000, 55_300_000)}
    loaded = {"chr7": 55_305_637}  # an EGFR sample's copy of chr7: 55.0 Mb freebayes would not read, ~0.63 CPU-s
    assert window.worth_moving(40_000, loaded, windows)  # 20k read pairs: ~0.22 CPU-s to move
    assert not window.worth_moving(600_000, loaded, windows)  # 300k read pairs: ~3.3 CPU-s to move
    assert not window.worth_moving(0, {"chr7": 300_000}, windows)  # nothing spared


def test_a_read_that_cannot_be_placed_stops_the_move(tmp_path):
    header = pysam.AlignmentHeader.from_dict({"SQ": [{"SN": "chr1", "LN": 100_000}]})
    bam = tmp_path / "r.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        for name, start, cigar in (("long", 1_000, "50M20000D50M"), ("short", 21_500, "100M")):
            read = pysam.AlignedSegment(header)
            read.query_name, read.reference_id, read.reference_start = name, 0, start
            read.cigarstring, read.query_sequence, read.mapping_quality = cigar, "A" * 100, 60
            out.write(read)
    pysam.index(str(bam))
    # "long" spans 1,000-21,100; a window's regions begin REGION_MARGIN (10,000) after its start
    assert window.move_reads(bam, {"chr1": (11_000, 30_000)}, tmp_path / "moved.bam") is None  # reaches 21,000
    assert window.move_reads(bam, {"chr1": (12_000, 40_000)}, tmp_path / "moved.bam") == 1  # ends before 22,000
    assert window.move_reads(bam, {"chr1": (0, 12_000)}, tmp_path / "moved.bam") is None  # regions end 2,000, it 21,100
    assert window.move_reads(bam, {"chr1": (1_000, 30_000)}, tmp_path / "moved.bam") == 2
    with pysam.AlignmentFile(str(tmp_path / "moved.bam")) as moved:
        assert [(r.query_name, r.reference_start) for r in moved.fetch("chr1", 0, 100_000)] == [
            ("long", 0), ("short", 20_500)
        ]  # fmt: skip


def test_positions_are_shifted_back_and_the_windows_named():
    lines = ["##fileformat=VCFv4.2\n", "#CHROM\tPOS\tID\n", "chr7\t15\t.\tA\tG\n", "chr12\t3\t.\tC\tT\n"]
    out = list(window.shift_back(lines, {"chr7": (1000, 5000), "chr12": (0, 100)}))
    assert out == [
        "##fileformat=VCFv4.2\n", "##oncopanel_freebayes_windows=chr7:1001-5000,chr12:1-100\n", "#CHROM\tPOS\tID\n",
        "chr7\t1015\t.\tA\tG\n", "chr12\t3\t.\tC\tT\n",
    ]  # fmt: skip
