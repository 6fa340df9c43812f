"""The one counting rule (oncopanel.counting) on hand-made reads at EGFR exon 19, every count known exactly."""

from __future__ import annotations

import pysam
import pytest

from oncopanel.counting import AlleleDepth, CountRules, ReadWindows, count_reads, haplotypes
from oncopanel.model import Variant
from oncopanel.reference import SliceSequence

EX19DEL = Variant("chr7", 55174771, "AGGAATTAAGAGAAGC", "A")  # c.2235_2249del p.(Glu746_Ala750del)
RULES = CountRules(min_mapping_quality=20, min_base_quality=20)  # the calling.yaml floors (somatic freebayes)
HEADER = pysam.AlignmentHeader.from_dict({"SQ": [{"SN": "chr7", "LN": 159345973}]})


@pytest.fixture(scope="module")
def seq() -> SliceSequence:
    return SliceSequence()


def read(name: str, start0: int, bases: str, cigar: list[tuple[int, int]], *, reverse: bool = False,
         flag: int = 0, mapq: int = 60, low_q_at: int | None = None) -> pysam.AlignedSegment:  # fmt: skip
    a = pysam.AlignedSegment(HEADER)
    a.query_name, a.query_sequence, a.reference_id, a.reference_start = name, bases, 0, start0
    a.cigartuples, a.mapping_quality = cigar, mapq
    a.flag = flag | 0x1 | (0x10 if reverse else 0)
    quals = [37] * len(bases)
    if low_q_at is not None:
        quals[low_q_at] = 5
    a.query_qualities = pysam.qualitystring_to_array("".join(chr(q + 33) for q in quals))
    return a


def test_a_multi_base_substitution_needs_every_changed_base(seq):
    """A read of the single-base variant with a low-quality base at the MNV's other position is not an MNV read
    (a 50% NRAS-like SNV gave a 1.4% 'MNV' of such reads in the calling benchmark before this rule)."""
    start0 = 55191700
    ref = seq.fetch("chr7", start0, start0 + 150)
    at = 121  # 0-based offset of the MNV's first base in the read
    mnv = Variant(
        "chr7", start0 + at + 1, ref[at : at + 2], "".join("A" if b != "A" else "C" for b in ref[at : at + 2])
    )
    hap = haplotypes(mnv, seq)
    snv_bases = ref[: at + 1] + mnv.alt[1] + ref[at + 2 :]  # only the second base changed
    mnv_bases = ref[:at] + mnv.alt + ref[at + 2 :]
    reads = [
        read("mnv", start0, mnv_bases, [(0, 150)]),
        read("mnv_lowq_first", start0, mnv_bases, [(0, 150)], low_q_at=at),  # cannot show the first change
        read("snv_lowq_first", start0, snv_bases, [(0, 150)], low_q_at=at),  # the SNV's read: not the MNV
        read("ref", start0, ref, [(0, 150)]),
    ]
    assert count_reads(reads, hap, RULES) == AlleleDepth(alt=1, ref=1, other=0)


def test_fragments_supporting_an_exon19_deletion(seq):
    hap = haplotypes(EX19DEL, seq)
    assert (hap.start0, hap.end0, hap.alt) == (55174771, 55174786, "")  # no repeat: one placement
    start = hap.start0 - 60

    def ref_read(name: str, **kw) -> pysam.AlignedSegment:
        return read(name, start, seq.fetch("chr7", start, start + 150), [(0, 150)], **kw)

    def del_read(name: str, at0: int, **kw) -> pysam.AlignedSegment:
        bases = seq.fetch("chr7", start, at0) + seq.fetch("chr7", at0 + 15, start + 165)
        return read(name, start, bases, [(0, at0 - start), (2, 15), (0, start + 150 - at0)], **kw)

    def clipped_del_read(name: str) -> pysam.AlignedSegment:
        # an aligner that soft-clips the bases after the deletion instead of opening a gap near the read end
        aligned = hap.start0 - start
        bases = seq.fetch("chr7", start, hap.start0) + seq.fetch("chr7", hap.start0 + 15, hap.start0 + 40)
        return read(name, start, bases, [(0, aligned), (4, 25)])

    reads = [
        del_read("alt_left", hap.start0),
        del_read("overlap", hap.start0),
        del_read("overlap", hap.start0, reverse=True),  # its mate over the same bases: one fragment
        clipped_del_read("clipped"),
        ref_read("ref1"),
        ref_read("ref2"),
        ref_read("ref2", reverse=True),
        ref_read("discordant"),
        del_read("discordant", hap.start0, reverse=True),  # mates disagree: left out
        del_read("dup", hap.start0, flag=0x400),
        del_read("lowmapq", hap.start0, mapq=10),
        del_read("secondary", hap.start0, flag=0x100),
    ]
    counts = count_reads(reads, hap, RULES)
    assert counts == AlleleDepth(alt=3, ref=2, other=0)
    assert (counts.depth, counts.vaf) == (5, pytest.approx(3 / 5))


def test_an_indel_counts_wherever_the_aligner_put_it_in_a_repeat(seq):
    """BRCA1 c.68_69del (ACT>A, a CT repeat) and c.5266dup (a G run on the plus strand): the read's bases decide,
    not where the CIGAR put the gap."""
    deletion = Variant("chr17", 43124027, "ACT", "A")
    hap = haplotypes(deletion, seq)
    assert (hap.ref, hap.alt) == ("CTCT", "CT")
    start = hap.start0 - 60
    reads = []
    for at0 in (hap.start0, hap.start0 + 1, hap.start0 + 2):  # CT, TC or CT removed: the same allele
        bases = seq.fetch("chr17", start, at0) + seq.fetch("chr17", at0 + 2, start + 152)
        reads.append(read(f"a{at0}", start, bases, [(0, at0 - start), (2, 2), (0, start + 150 - at0)]))
    reads.append(read("r", start, seq.fetch("chr17", start, start + 150), [(0, 150)]))
    assert count_reads(reads, hap, RULES) == AlleleDepth(alt=3, ref=1)

    dup = Variant("chr17", 43057062, "T", "TG")
    hap = haplotypes(dup, seq)
    assert (hap.ref, hap.alt) == ("GGG", "GGGG")
    start = hap.start0 - 60
    reads = []
    for at0 in range(hap.start0, hap.end0 + 1):  # a G inserted before, inside or after the run
        bases = seq.fetch("chr17", start, at0) + "G" + seq.fetch("chr17", at0, start + 149)
        reads.append(read(f"i{at0}", start, bases, [(0, at0 - start), (1, 1), (0, start + 149 - at0)]))
    assert count_reads(reads, hap, RULES) == AlleleDepth(alt=4, ref=0)


def test_low_quality_base_is_no_evidence(seq):
    l858r = Variant("chr7", 55191822, "T", "G")
    hap = haplotypes(l858r, seq)
    start = hap.start0 - 60
    ref_bases = seq.fetch("chr7", start, start + 150)
    alt_bases = ref_bases[:60] + "G" + ref_bases[61:]
    reads = [
        read("alt", start, alt_bases, [(0, 150)]),
        read("alt_q5", start, alt_bases, [(0, 150)], low_q_at=60),
        read("ref_q5", start, ref_bases, [(0, 150)], low_q_at=60),
        read("ref_q5_elsewhere", start, ref_bases, [(0, 150)], low_q_at=61),
    ]
    assert count_reads(reads, hap, RULES) == AlleleDepth(alt=1, ref=1)


def test_another_allele_counts_toward_depth_only(seq):
    """A read of another exon 19 deletion, or with a high-quality difference in the window, is 'other' (depth,
    not support)."""
    hap = haplotypes(EX19DEL, seq)
    start = hap.start0 - 60
    bases = seq.fetch("chr7", start, start + 150)
    i = hap.start0 - start + 5
    error = bases[:i] + ("A" if bases[i] != "A" else "C") + bases[i + 1 :]
    other = seq.fetch("chr7", start, hap.start0 + 4) + seq.fetch("chr7", hap.start0 + 22, start + 168)  # 18-base del
    reads = [
        read("r", start, bases, [(0, 150)]),
        read("e", start, error, [(0, 150)]),
        read("o", start, other, [(0, 64), (2, 18), (0, 86)]),
    ]
    assert count_reads(reads, hap, RULES) == AlleleDepth(alt=0, ref=1, other=2)


def test_a_read_soft_clipped_before_the_deletion_still_counts(seq):
    """Reads starting a few bases before the junction are clipped there, not gapped: they count as alt, as reference
    reads starting at the same place count as ref."""
    hap = haplotypes(EX19DEL, seq)
    before = seq.fetch("chr7", hap.start0 - 6, hap.start0)
    alt = read("a", hap.end0, before + seq.fetch("chr7", hap.end0, hap.end0 + 144), [(4, 6), (0, 144)])
    ref = read("r", hap.start0 - 6, seq.fetch("chr7", hap.start0 - 6, hap.start0 + 144), [(0, 150)])
    assert count_reads([alt, ref], hap, RULES) == AlleleDepth(alt=1, ref=1)


def test_deletions_and_insertions_need_the_same_read_length(seq):
    """A read is only informative with M query bases past its anchor, M the same for both alleles: otherwise the
    shorter (deletion) haplotype would fit in more reads and be over-counted."""
    hap = haplotypes(EX19DEL, seq)
    assert hap.length == len(hap.ref) + 3
    end = hap.start0 + 10  # a read ending 10 bases into the window: too short for either allele
    start = end - 100
    ref_short = read("s", start, seq.fetch("chr7", start, end), [(0, 100)])
    assert count_reads([ref_short], hap, RULES) == AlleleDepth(alt=0, ref=0)


def test_read_windows_answer_every_fetch_as_the_bam_does(tmp_path):
    """ReadWindows (reads of nearby regions decoded once, issue 21) returns for any region exactly the reads
    pysam's fetch returns, in the same order: reads that end at the region's first base or start at its end are
    not in it; an unmapped read placed at its mate's position, a read that is all insertion and soft clip, a
    deletion or a skip spanning the region, and regions outside every window are all answered as htslib does."""
    import random

    rng = random.Random(7)
    unsorted = tmp_path / "u.bam"
    with pysam.AlignmentFile(str(unsorted), "wb", header=HEADER) as out:
        for i in range(600):
            start0 = 1000 + rng.randint(0, 1500)
            kind = rng.random()
            if kind < 0.05:  # unmapped, placed at its mate's position
                a = read(f"u{i}", start0, "A" * 50, [(0, 50)], flag=0x4)
                a.cigartuples = None
            elif kind < 0.1:
                a = read(f"s{i}", start0, "A" * 50, [(4, 20), (1, 30)])  # no reference bases
            elif kind < 0.2:
                a = read(f"d{i}", start0, "A" * 60, [(0, 30), (rng.choice([2, 3]), rng.randint(1, 400)), (0, 30)])
            else:
                a = read(f"m{i}", start0, "A" * 100, [(4, 10), (0, 90)])
            out.write(a)
    bam_path = tmp_path / "s.bam"
    pysam.sort("-o", str(bam_path), str(unsorted))
    pysam.index(str(bam_path))
    regions = [("chr7", s, s + rng.choice([1, 3, 20])) for s in (rng.randint(900, 2700) for _ in range(80))]
    with pysam.AlignmentFile(str(bam_path)) as bam:
        for max_span in (2000, 100):  # one window for all, and many (visited out of order too)
            windows = ReadWindows(bam, [(c, s - 40, e + 40) for c, s, e in regions[:60]], max_span=max_span)
            held = set()
            for c, s, e in sorted(regions) + regions + [("chr7", 0, 5000), ("chr7", 2600, 2601)]:
                expected = [(r.query_name, r.flag) for r in bam.fetch(c, s, e)]
                assert [(r.query_name, r.flag) for r in windows.fetch(c, s, e)] == expected, (max_span, s, e)
                held.add(windows._held)
            assert len(held - {None}) >= (1 if max_span == 2000 else 10)  # the windows were used
