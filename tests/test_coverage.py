"""The coverage step (oncopanel.coverage): per-target depth over a hand-built BAM whose every base's depth is known,
with the QC's filters (MAPQ, duplicates, secondary, QC-fail; overlapping mates once; deletions not counted); the
files QC, copy number and MultiQC read; the MultiQC coverage plot as MultiQC 1.14 reads it."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pysam
import pytest

from oncopanel.cnv.counts import mosdepth_counts
from oncopanel.coverage import (
    Target,
    fraction_at_or_above,
    in_reference_order,
    mean_depth,
    read_distribution,
    read_targets,
    write_coverage_files,
)
from oncopanel.errors import InputError
from oncopanel.multiqc import coverage_plot, write_custom_content
from oncopanel.qc import target_coverage

SAMTOOLS = shutil.which("samtools")
MULTIQC = shutil.which("multiqc")
pytestmark = pytest.mark.skipif(SAMTOOLS is None, reason="samtools (Debian samtools) not installed")


def _read(name, flag, pos0, cigar, mapq=60, mate_pos0=-1, tlen=0):
    length = sum(n for op, n in cigar if op in (0, 1))  # M and I consume the query
    r = pysam.AlignedSegment()
    r.query_name, r.flag, r.reference_id, r.reference_start = name, flag, 0, pos0
    r.mapping_quality, r.cigartuples = mapq, cigar
    r.query_sequence, r.query_qualities = "A" * length, pysam.qualitystring_to_array("I" * length)
    r.next_reference_id, r.next_reference_start, r.template_length = (0 if mate_pos0 >= 0 else -1), mate_pos0, tlen
    return r


@pytest.fixture
def bam(tmp_path) -> Path:
    """chr1 reads (0-based starts): every depth below is known by hand."""
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": 5000}]}
    reads = [
        # a proper pair overlapping on [120, 150): the fragment covers [100, 170) once
        _read("pair", 99, 100, [(0, 50)], mate_pos0=120, tlen=70),
        _read("pair", 147, 120, [(0, 50)], mate_pos0=100, tlen=-70),
        # excluded: a duplicate, a MAPQ 19 read, a secondary and a QC-fail alignment over [100, 150)
        _read("dup", 1024, 100, [(0, 50)]),
        _read("lowmapq", 0, 100, [(0, 50)], mapq=19),
        _read("secondary", 256, 100, [(0, 50)]),
        _read("qcfail", 512, 100, [(0, 50)]),
        # a read at MAPQ 20 exactly (counted) over [140, 160)
        _read("mapq20", 0, 140, [(0, 20)], mapq=20),
        # a deletion: [300, 310) and [315, 355) covered, the deleted [310, 315) not
        _read("del", 0, 300, [(0, 10), (2, 5), (0, 40)]),
        # a chimeric template (not a proper pair): read 1 over [2000, 2050), its mate's primary far off, a
        # supplementary part of read 2 over [1990, 2030) naming read 1's start as its mate's
        _read("chimera", 81, 2000, [(0, 50)], mate_pos0=1500, tlen=0),
        _read("chimera", 2209, 1990, [(5, 20), (0, 40)], mate_pos0=2000, tlen=0),
    ]
    path = tmp_path / "s.bam"
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for r in sorted(reads, key=lambda r: r.reference_start):
            out.write(r)
    pysam.index(str(path))
    return path


def _expected(bed_rows):
    depth = Counter()
    for p in range(100, 170):
        depth[p] += 1  # the pair, once
    for p in range(140, 160):
        depth[p] += 1
    for p in [*range(300, 310), *range(315, 355)]:
        depth[p] += 1
    return {name: [depth[p] for p in range(start, end)] for _, start, end, name in bed_rows}


BED_ROWS = [("chr1", 90, 200, "A_exon1"), ("chr1", 295, 360, "A_exon2"), ("chr1", 1000, 1010, "B_exon1")]


def _files(tmp_path, bam, thresholds=(1, 2)):
    bed = tmp_path / "targets.bed"
    bed.write_text("".join("\t".join(map(str, row)) + "\n" for row in BED_ROWS))
    prefix = str(tmp_path / "S1")
    coverage = write_coverage_files(prefix, bam, bed, 20, list(thresholds))
    return bed, prefix, coverage


def _lines(path: str) -> list[str]:
    with gzip.open(path, "rt") as fh:
        return fh.read().splitlines()


def test_depth_per_target_applies_the_qc_filters(tmp_path, bam):
    _, prefix, coverage = _files(tmp_path, bam)
    expected = _expected(BED_ROWS)
    regions = _lines(f"{prefix}.regions.bed.gz")
    assert regions == [f"chr1\t{s}\t{e}\t{n}\t{sum(expected[n]) / (e - s):.2f}" for _, s, e, n in BED_ROWS]
    assert regions[0] == "chr1\t90\t200\tA_exon1\t0.82"  # (70 + 20) / 110: the overlap once, the excluded reads not
    assert regions[1] == "chr1\t295\t360\tA_exon2\t0.77"  # 50 / 65: not the 5 deleted bases
    assert regions[2] == "chr1\t1000\t1010\tB_exon1\t0.00"  # no read: depth 0, not missing
    thresholds = _lines(f"{prefix}.thresholds.bed.gz")
    assert thresholds == ["#chrom\tstart\tend\tregion\t1X\t2X", "chr1\t90\t200\tA_exon1\t70\t20",
                          "chr1\t295\t360\tA_exon2\t50\t0", "chr1\t1000\t1010\tB_exon1\t0\t0"]  # fmt: skip
    dist = read_distribution(f"{prefix}.depth_distribution.tsv")
    assert dist == Counter({0: 110 - 70 + 65 - 50 + 10, 1: 50 + 50, 2: 20})
    assert [c.target.name for c in coverage] == ["A_exon1", "A_exon2", "B_exon1"]


def test_depth_equals_samtools_depth_base_by_base(tmp_path, bam):
    """The definition the QC promises: `samtools depth -s -Q 20` over the targets (its default flag filter)."""
    bed, _, coverage = _files(tmp_path, bam)
    out = subprocess.run([SAMTOOLS, "depth", "-a", "-s", "-Q", "20", "-b", str(bed), str(bam)], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    depth = {int(p): int(d) for _, p, d in (line.split("\t") for line in out.splitlines())}
    for c in coverage:
        values = [depth.get(p, 0) for p in range(c.target.start + 1, c.target.end + 1)]
        assert c.bases_at_depth == Counter(values) and c.mean_depth == pytest.approx(sum(values) / len(values))
    assert _expected(BED_ROWS)["A_exon1"] == [depth.get(p + 1, 0) for p in range(90, 200)]


def test_a_template_counts_once_where_its_alignments_overlap(tmp_path, bam):
    """`samtools depth -s` counts a template once, its supplementary part over its mate too (mosdepth corrected
    proper pairs only, and counted such bases twice: the one kind of target that moved, BENCHMARKS.md)."""
    bed = tmp_path / "chimera.bed"
    bed.write_text("chr1\t1990\t2060\tC_exon1\n")
    (c,) = write_coverage_files(str(tmp_path / "C"), bam, bed, 20, [1, 2])
    assert c.bases_at_depth == Counter({1: 60, 0: 10}) and c.bases_ge(2) == 0  # [2000, 2030) once


def test_qc_and_copy_number_read_the_files(tmp_path, bam):
    _, prefix, _ = _files(tmp_path, bam)
    rows = target_coverage(Path(f"{prefix}.regions.bed.gz"), Path(f"{prefix}.thresholds.bed.gz"))
    assert rows[0] == {"chrom": "chr1", "start": 90, "end": 200, "name": "A_exon1", "mean_depth": 0.82,
                       "bases_ge_1x": 70, "bases_ge_2x": 20}  # fmt: skip
    counts = mosdepth_counts(f"{prefix}.regions.bed.gz")
    assert counts["A_exon2"] == pytest.approx(0.77 * 65 / 300) and counts["B_exon1"] == 0.0


def test_mean_rounds_as_mosdepth_did_at_an_exact_tie():
    # 73273 / 200 = 366.365 exactly: mosdepth summed depth / length base by base and wrote 366.36 (a demo sample's
    # BRAF exon 8); the double nearest 366.365 is above it and would print 366.37
    values = [366] * 127 + [367] * 73
    assert f"{mean_depth(values):.2f}" == "366.36"
    assert f"{sum(values) / len(values):.2f}" == "366.37"
    assert mean_depth([]) == 0.0


def test_targets_come_in_reference_order_as_mosdepth_wrote_them():
    bed = [Target("chr12", 500, 600, "K2"), Target("chr7", 900, 950, "E2"), Target("chr12", 100, 200, "K1"),
           Target("chr7", 900, 920, "E3"), Target("chr7", 10, 20, "E1")]  # fmt: skip
    ordered = in_reference_order(bed, ["chr1", "chr7", "chr12"])
    assert [t.name for t in ordered] == ["E1", "E2", "E3", "K1", "K2"]  # same start: the BED's order
    # a contig the BAM's reference lacks: its targets are kept (depth 0, judged by the QC gates), after the others
    assert [t.name for t in in_reference_order(bed, ["chr7"])] == ["E1", "E2", "E3", "K1", "K2"]
    assert [t.name for t in in_reference_order(bed, ["chr12"])] == ["K1", "K2", "E1", "E2", "E3"]


def test_targets_bed_errors_name_the_line(tmp_path):
    bed = tmp_path / "bad.bed"
    bed.write_text("chr1\t10\t20\tA\nchr1\tten\t20\tB\n")
    with pytest.raises(InputError, match=r"bad\.bed:2: not a targets BED row"):
        read_targets(bed)


def test_cumulative_fractions():
    dist = Counter({0: 10, 5: 30, 100: 60})
    assert fraction_at_or_above(dist, [0, 1, 5, 6, 100, 101]) == {0: 1.0, 1: 0.9, 5: 0.9, 6: 0.6, 100: 0.6, 101: 0.0}
    assert fraction_at_or_above(Counter(), [0, 1]) == {0: 0.0, 1: 0.0}


def _dist_file(path: Path, dist: dict[int, int]) -> Path:
    path.write_text("#depth\tbases\n" + "".join(f"{d}\t{n}\n" for d, n in sorted(dist.items())))
    return path


def test_coverage_plot_is_a_multi_sample_line_graph(tmp_path):
    plot = coverage_plot({"T1": _dist_file(tmp_path / "T1.tsv", {0: 10, 400: 90}),
                          "T2": _dist_file(tmp_path / "T2.tsv", {0: 100})})  # fmt: skip
    lines = [ln for ln in plot.splitlines() if not ln.startswith("#")]
    header = lines[0].split("\t")
    assert header[0] == "" and header[1:4] == ["0", "2", "4"] and header[-1] == "402"  # step 2: <= 200 points
    rows = {ln.split("\t")[0]: dict(zip(header[1:], ln.split("\t")[1:], strict=True)) for ln in lines[1:]}
    assert rows["T1"]["0"] == "100.00" and rows["T1"]["400"] == "90.00" and rows["T1"]["402"] == "0.00"
    assert rows["T2"]["0"] == "100.00" and rows["T2"]["2"] == "0.00"
    assert "# plot_type: 'linegraph'" in plot
    assert coverage_plot({}) == ""


@pytest.mark.skipif(MULTIQC is None, reason="MultiQC (Debian multiqc) not installed")
def test_multiqc_renders_the_coverage_plot(tmp_path):
    dists = {"T1": _dist_file(tmp_path / "T1.tsv", {0: 10, 37: 90}), "T2": _dist_file(tmp_path / "T2.tsv", {12: 5})}
    written = write_custom_content(tmp_path / "out", qc_jsons=[], depth_distributions=dists)
    assert [p.name for p in written] == ["oncopanel_coverage_mqc.tsv"]
    done = subprocess.run([MULTIQC, "--force", "--cl-config", "no_version_check: true", "-o", str(tmp_path / "mqc"),
                           str(tmp_path / "out")], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = (tmp_path / "mqc" / "multiqc_report.html").read_text()
    assert "oncopanel target coverage" in report and "oncopanel_coverage_plot" in report
    # the plotted points, as multiqc_data.json keeps them: % of target bases at or above each depth
    plot = json.loads((tmp_path / "mqc" / "multiqc_data" / "multiqc_data.json").read_text())["report_plot_data"]
    lines = {line["name"]: dict(line["data"]) for line in plot["oncopanel_coverage_plot"]["datasets"][0]}
    assert (lines["T1"][0], lines["T1"][37], lines["T1"][38]) == (100.0, 90.0, 0.0)
    assert (lines["T2"][12], lines["T2"][13]) == (100.0, 0.0)
