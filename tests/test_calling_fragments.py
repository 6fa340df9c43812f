"""The somatic balance tests count FRAGMENTS: a fragment whose two overlapping mates both cover the allele is one
vote (oncopanel.counting), not two reads, in the strand, pair-orientation and read-position tests.

Fixture: a small reference and BAM written here, and a freebayes-like raw VCF whose SAF/SAR/RPL/RPR are read
counts; oncopanel.calling.vcf.finalize must replace them by fragment votes and filter on those.
"""

from __future__ import annotations

import random
from pathlib import Path

import pysam
import pytest

from oncopanel.calling import settings as cs
from oncopanel.calling.vcf import SampleContext, finalize
from oncopanel.counting import CountRules, count_allele
from oncopanel.model import Variant
from oncopanel.reference import FastaSequence

S = cs.load()
CHROM = "chrT"
LENGTH = 800
READ = 100
# 1-based positions and alleles: A>G is no damage class; C>T is FFPE deamination's (calling.somatic.filters.damage)
BALANCED = (200, "A", "G")
DAMAGE = (500, "C", "T")
PAIRED, PROPER, REVERSE, MATE_REVERSE, READ1, READ2 = 0x1, 0x2, 0x10, 0x20, 0x40, 0x80


def reference_bases() -> str:
    rng = random.Random(18)
    bases = [rng.choice("ACGT") for _ in range(LENGTH)]
    for pos, ref, _ in (BALANCED, DAMAGE):
        bases[pos - 1] = ref
    return "".join(bases)


class Fixture:
    """Reads as fragments: (read 1 forward?, starts of the mates covering the site, carries the alt?)."""

    def __init__(self, ref: str, header: pysam.AlignmentHeader):
        self.ref, self.header = ref, header
        self.reads: list[pysam.AlignedSegment] = []
        self.n = 0

    def _read(self, name: str, start0: int, flag: int, site: tuple[int, str, str], alt: bool) -> None:
        bases = list(self.ref[start0 : start0 + READ])
        pos, _, alt_base = site
        if alt and start0 <= pos - 1 < start0 + READ:
            bases[pos - 1 - start0] = alt_base
        a = pysam.AlignedSegment(self.header)
        a.query_name, a.query_sequence, a.reference_id, a.reference_start = name, "".join(bases), 0, start0
        a.cigartuples, a.mapping_quality, a.flag = [(0, READ)], 60, flag
        a.next_reference_id = 0
        a.query_qualities = pysam.qualitystring_to_array("F" * READ)  # Q37
        self.reads.append(a)

    def fragment(self, site: tuple[int, str, str], f1r2: bool, overlapping: bool, alt: bool, shift: int) -> None:
        """A proper pair around ``site``; the forward mate covers it, the reverse mate too when ``overlapping``."""
        self.n += 1
        name = f"frag{self.n}"
        pos0 = site[0] - 1
        fwd_start = pos0 - 60 + shift
        rev_start = pos0 - 40 - shift if overlapping else pos0 + 30 + shift  # else: starts past the site
        fwd_flag, rev_flag = (READ1, READ2) if f1r2 else (READ2, READ1)
        base = PAIRED | PROPER
        for start, flag in ((fwd_start, fwd_flag | MATE_REVERSE), (rev_start, rev_flag | REVERSE)):
            self._read(name, start, base | flag, site, alt)
        self.reads[-2].next_reference_start, self.reads[-1].next_reference_start = rev_start, fwd_start

    def write(self, bam: Path) -> None:
        with pysam.AlignmentFile(str(bam), "wb", header=self.header) as out:
            for a in sorted(self.reads, key=lambda r: r.reference_start):
                out.write(a)
        pysam.index(str(bam))


RAW_HEADER = f"""##fileformat=VCFv4.2
##contig=<ID={CHROM},length={LENGTH}>
##INFO=<ID=DP,Number=1,Type=Integer,Description="reads">
##INFO=<ID=RO,Number=1,Type=Integer,Description="ref reads">
##INFO=<ID=AO,Number=A,Type=Integer,Description="alt reads">
##INFO=<ID=SRF,Number=1,Type=Integer,Description="ref reads forward">
##INFO=<ID=SRR,Number=1,Type=Integer,Description="ref reads reverse">
##INFO=<ID=SAF,Number=A,Type=Integer,Description="alt reads forward">
##INFO=<ID=SAR,Number=A,Type=Integer,Description="alt reads reverse">
##INFO=<ID=RPL,Number=A,Type=Float,Description="alt reads placed left">
##INFO=<ID=RPR,Number=A,Type=Float,Description="alt reads placed right">
##INFO=<ID=MQM,Number=A,Type=Float,Description="alt mean mapping quality">
##INFO=<ID=QA,Number=A,Type=Integer,Description="alt base quality sum">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="reads">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="reads per allele">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT1
"""


def raw_line(site: tuple[int, str, str], alt_fwd: int, alt_rev: int, ref_reads: int) -> str:
    """freebayes' view of the site: every read counted, overlapping mates twice."""
    pos, ref, alt = site
    ao = alt_fwd + alt_rev
    info = (f"DP={ao + ref_reads};RO={ref_reads};AO={ao};SRF={ref_reads // 2};SRR={ref_reads - ref_reads // 2};"
            f"SAF={alt_fwd};SAR={alt_rev};RPL={ao // 2};RPR={ao - ao // 2};MQM=60;QA={37 * ao}")  # fmt: skip
    return f"{CHROM}\t{pos}\t.\t{ref}\t{alt}\t500\t.\t{info}\tGT:DP:AD\t0/1:{ao + ref_reads}:{ref_reads},{ao}\n"


@pytest.fixture(scope="module")
def fixture(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("fragments")
    ref = reference_bases()
    fasta = work / "ref.fa"
    fasta.write_text(f">{CHROM}\n" + "\n".join(ref[i : i + 60] for i in range(0, LENGTH, 60)) + "\n")
    pysam.faidx(str(fasta))
    header = pysam.AlignmentHeader.from_dict({"SQ": [{"SN": CHROM, "LN": LENGTH}]})
    fx = Fixture(ref, header)
    for site in (BALANCED, DAMAGE):
        for i in range(80):  # reference fragments, both pair orientations, mates not overlapping at the site
            fx.fragment(site, f1r2=i % 2 == 0, overlapping=False, alt=False, shift=i % 20)
    # A>G: 9 F1R2 alt fragments whose mates overlap at the site (18 reads) and 1 F2R1 fragment read once.
    # Reads: 18 vs 1 (5%, p ~ 4e-5): "orientation_bias"; fragments: 9 vs 1 (10%): balanced.
    for i in range(9):
        fx.fragment(BALANCED, f1r2=True, overlapping=True, alt=True, shift=i)
    fx.fragment(BALANCED, f1r2=False, overlapping=False, alt=True, shift=3)
    # C>T: 10 F1R2 alt fragments, mates overlapping, none F2R1: FFPE-like damage, rejected however counted
    for i in range(10):
        fx.fragment(DAMAGE, f1r2=True, overlapping=True, alt=True, shift=i)
    bam = work / "tumour.bam"
    fx.write(bam)
    raw = work / "raw.vcf"
    # the reads freebayes counts: overlapping pairs give one forward and one reverse read each
    raw.write_text(RAW_HEADER + raw_line(BALANCED, 9 + 1, 9, 80) + raw_line(DAMAGE, 10, 10, 80))
    out = work / "out.vcf"
    finalize(raw, out, SampleContext("T1", "somatic", str(fasta), str(bam)), S)
    with pysam.VariantFile(str(out)) as vf:
        records = {(r.pos, r.ref, r.alts[0]): r for r in vf}
    return {"bam": bam, "fasta": fasta, "records": records}


def test_overlapping_mates_are_one_fragment_in_every_balance_input(fixture):
    fb = S.somatic_freebayes
    rules = CountRules(fb.min_mapping_quality, fb.min_base_quality)
    pos, ref, alt = BALANCED
    with pysam.AlignmentFile(str(fixture["bam"])) as bam:
        counts = count_allele(bam, Variant(CHROM, pos, ref, alt), FastaSequence(fixture["fasta"]), rules)
    assert (counts.alt, counts.ref, counts.depth) == (10, 80, 90)
    assert (counts.alt_f1r2, counts.alt_f2r1, counts.ref_f1r2, counts.ref_f2r1) == (9, 1, 40, 40)
    # each overlapping pair: half a vote forward, half reverse; the lone F2R1 fragment is read by its forward read 2
    assert (counts.alt_fwd, counts.alt_rev) == (5.5, 4.5)
    # read 1 sees the allele right of its centre (placed left), read 2 left of it: half a vote each
    assert counts.alt_left + counts.alt_right == 10
    assert counts.alt_end_distance is not None and counts.alt_end_distance >= 39  # the farther mate's distance


def test_balanced_fragments_pass_where_double_counted_reads_looked_single_orientation(fixture):
    rec = fixture["records"][BALANCED]
    assert list(rec.filter) == ["PASS"]
    assert rec.info["ORIENT"] == (9, 1)  # fragments; the reads were 18 and 1
    assert rec.samples[0]["AD"] == (80, 10)


def test_single_orientation_damage_stays_rejected_with_fragment_votes(fixture):
    rec = fixture["records"][DAMAGE]
    assert "orientation_bias" in rec.filter
    assert rec.info["ORIENT"] == (10, 0)
