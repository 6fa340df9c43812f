"""The one read-counting definition: how many fragments support an allele, and how many cover its position.

The unit is the **fragment** (read pair): overlapping mates count once, mates that disagree are left out.
Reads that are unmapped, secondary, supplementary, QC-failed, duplicates or below the MAPQ threshold are not
counted. A read's call is made on its own sequence over the allele's haplotype window, so an indel counts
however the aligner placed it (anywhere in its repeat, or soft-clipped past a read end):

- the window is the span the allele could occupy (trimmed, then shifted left and right through repeats);
- a read is read from an aligned anchor base just outside the window (left, else right) over M query bases,
  M = the longer haplotype plus a short flank, and compared with the reference and the alternate haplotype
  extended by reference flank to the same M bases. Using the same M for both alleles keeps deletions from
  being over-counted and insertions under-counted (a shorter haplotype fits in more reads);
- bases below the base-quality threshold match anything; a read that matches both haplotypes says nothing,
  one that matches neither counts toward depth only (another allele, or a sequencing error: tolerating errors
  would let reads of a nearby allele count for this one).

VAF = alt fragments / fragments covering the position (``AlleleDepth.vaf``). The VCF's FORMAT DP/AD/AF and the
hotspot table both come from this count (``count_allele``; the VCF writer counts ``read_supports`` of a record's
reads once and hands the same per-read calls to its read evidence), and so do the somatic filters' balance inputs
(strand, pair orientation, placement in the read, distance to the read end): one vote per fragment, so the two
overlapping mates of one fragment are not two pieces of evidence for or against an imbalance. UMI families
(molecules) would be a further grouping key in ``_by_fragment`` with the same ``AlleleDepth`` result.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from oncopanel.annotate.normalise import Window, shift, trim
from oncopanel.model import Variant
from oncopanel.sequence import SequenceSource, aligned_query_positions, usable
from oncopanel.stats import wilson_interval

Call = Literal["alt", "ref", "other"]
INDEL_FLANK = 3  # reference bases past an indel's window that a read must also show (confirms where it ends)
MIN_CLIPPED = 3  # bases a read clipped before the window must show (fewer match either allele by chance)
# bases around a hotspot or a record whose reads ReadWindows holds: room for its allele's window to shift through a
# repeat (a longer shift is fetched from the BAM as before)
WINDOW_MARGIN = 50


@dataclass(frozen=True)
class CountRules:
    """Read filters of the count; the values are calling.yaml's (a mode's freebayes quality floors)."""

    min_mapping_quality: int
    min_base_quality: int


@dataclass(frozen=True)
class AlleleDepth:
    """Fragments at one allele. ``depth`` = ref + alt + other (fragments covering the position)."""

    alt: int
    ref: int
    other: int = 0
    unit: str = "fragment"
    # alt fragments by pair orientation (F1R2: read 1 on the forward strand): library damage (FFPE C>T, 8-oxoG
    # G>T) sits on one strand of the template, so its fragments share one orientation
    alt_f1r2: int = field(default=0, compare=False)
    alt_f2r1: int = field(default=0, compare=False)
    ref_f1r2: int = field(default=0, compare=False)
    ref_f2r1: int = field(default=0, compare=False)
    # Strand and placement votes, one per fragment: a fragment read by both mates (opposite strands, the allele
    # usually on opposite sides of the two reads' centres) splits its vote between the sides its mates show
    alt_fwd: float = field(default=0.0, compare=False)
    alt_rev: float = field(default=0.0, compare=False)
    ref_fwd: float = field(default=0.0, compare=False)
    ref_rev: float = field(default=0.0, compare=False)
    alt_left: float = field(default=0.0, compare=False)  # more of the read left of the allele than right
    alt_right: float = field(default=0.0, compare=False)
    # median over alt fragments of the allele's distance to the nearer read end, the farther of the two mates
    # (an end artefact of one mate makes the mates disagree, and such a fragment is not counted at all)
    alt_end_distance: float | None = field(default=None, compare=False)
    # the same distance of the alt fragment farthest from its read ends (all of an end artefact's fragments sit
    # within a few bases of an end, which the median alone does not say at a handful of fragments)
    alt_end_max: int | None = field(default=None, compare=False)

    @property
    def depth(self) -> int:
        return self.alt + self.ref + self.other

    @property
    def vaf(self) -> float:
        return self.alt / self.depth if self.depth else 0.0

    def interval(self) -> tuple[float, float]:
        """Wilson 95% interval of the VAF."""
        return wilson_interval(self.alt, self.depth)


@dataclass(frozen=True)
class Haplotypes:
    """Reference and alternate sequence over the window [start0, end0) where the allele could lie."""

    chrom: str
    start0: int
    end0: int
    ref: str
    alt: str
    left: str  # reference bases before start0 (for reads anchored on the right)
    right: str  # reference bases from end0 (for reads anchored on the left)
    # what every read is compared with, made once per allele rather than once per read (issue 21):
    length: int = field(init=False, compare=False, repr=False)  # query bases compared: the longer haplotype + flank
    ref_right: str = field(init=False, compare=False, repr=False)  # a left-anchored read's expected bases
    alt_right: str = field(init=False, compare=False, repr=False)
    left_ref: str = field(init=False, compare=False, repr=False)  # a right-anchored read's, before its anchor
    left_alt: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        flank = INDEL_FLANK if len(self.ref) != len(self.alt) else 0
        m = max(len(self.ref), len(self.alt)) + flank
        for name, value in (("length", m), ("ref_right", (self.ref + self.right)[:m]),
                            ("alt_right", (self.alt + self.right)[:m]), ("left_ref", self.left + self.ref),
                            ("left_alt", self.left + self.alt)):  # fmt: skip
            object.__setattr__(self, name, value)


def haplotypes(variant: Variant, reference: SequenceSource, pad: int = 60) -> Haplotypes:
    """The allele's window, from the one normaliser: left- and right-most placements of a trimmed indel."""
    edit = trim(variant)
    window = Window(reference, edit.chrom, edit.start0)
    lo = shift(edit, window, to_right=False)
    hi = shift(edit, window, to_right=True)
    start0, end0 = lo.start0, hi.end0
    ref_span = reference.fetch(edit.chrom, start0, end0).upper()
    alt_span = ref_span[: edit.start0 - start0] + edit.alt + ref_span[edit.end0 - start0 :]
    left = reference.fetch(edit.chrom, max(0, start0 - pad), start0).upper()
    right = reference.fetch(edit.chrom, end0, end0 + pad).upper()
    return Haplotypes(edit.chrom, start0, end0, ref_span, alt_span, left, right)


def _differs(seen: str, quals: Any, q0: int, expected: str, min_bq: int) -> bool:
    """A difference at a base of base quality >= min_bq (lower ones match anything; ``quals[q0 + i]`` is the
    quality of ``seen[i]``). Whether, not how many: a read's call needs no more, and most reads equal one of the
    two haplotypes outright."""
    if seen == expected:
        return False
    if quals is None:
        return True
    return any(a != b and quals[q0 + i] >= min_bq for i, (a, b) in enumerate(zip(seen, expected, strict=True)))


def read_call(read: Any, hap: Haplotypes, min_bq: int) -> Call | None:
    """What one read says about the allele; None when it does not cover the window with M query bases."""
    return _read_call(read, read.cigartuples, hap, min_bq)[0]


def _read_call(read: Any, cigar: Any, hap: Haplotypes, min_bq: int) -> tuple[Call | None, int]:
    """``read_call`` and the query position the allele is read at (the window's first base for a read anchored on
    the left, its last for one anchored on the right). ``cigar``: the read's cigartuples (pysam builds the list
    anew at every access)."""
    left_q, right_q = aligned_query_positions(read, hap.start0 - 1, hap.end0, cigar=cigar)
    m = hap.length
    seq = read.query_sequence
    if seq is None:
        return None, 0
    if left_q is not None and left_q + 1 + m <= len(seq):
        q0, q1 = left_q + 1, left_q + 1 + m
        at = q0
        ref_exp, alt_exp = hap.ref_right, hap.alt_right
    elif right_q is not None and (right_q >= m or (cigar and cigar[0][0] == 4 and right_q >= min(m, MIN_CLIPPED))):
        # A read starting a few bases before an indel is soft-clipped there rather than gapped, so its left
        # anchor is missing: read what it has before the right anchor, as a reference read starting at the same
        # place is read from its (aligned) left anchor.
        m = min(m, right_q)
        q0, q1 = right_q - m, right_q
        at = right_q - 1
        ref_exp = hap.left_ref[-m:] if m else ""
        alt_exp = hap.left_alt[-m:] if m else ""
    else:
        return None, 0
    if m == 0 or len(ref_exp) < m or len(alt_exp) < m:
        return None, 0  # nothing to compare, or past the end of the available reference
    seen = seq[q0:q1].upper()
    quals = read.query_qualities
    off_ref, off_alt = _differs(seen, quals, q0, ref_exp, min_bq), _differs(seen, quals, q0, alt_exp, min_bq)
    if off_ref and off_alt:
        # another allele, or an error (no tolerance: a read of a nearby allele, such as another exon 19
        # deletion, must not count for this one)
        return "other", at
    if not off_ref and not off_alt:
        return None, at  # the bases that tell them apart are low quality
    if not off_alt and len(hap.ref) == len(hap.alt) > 1 and quals is not None:
        # a multi-base substitution is this read's allele only if it shows every changed base: a read of the
        # single-base variant beside it with a low-quality base at the other position is not evidence for both
        changed = [i for i, (r, a) in enumerate(zip(ref_exp, alt_exp, strict=True)) if r != a]
        if any(quals[q0 + i] < min_bq for i in changed):
            return None, at
    return ("ref" if off_alt else "alt"), at


def f1r2(read: Any) -> bool:
    """The fragment's pair orientation, the same from either mate: read 1 forward (or read 2 reverse)."""
    return read.is_read1 != read.is_reverse if read.is_paired else not read.is_reverse


@dataclass(slots=True)  # one per read: slots, not frozen, as frozen dataclasses are slow to build
class ReadSupport:
    """One read's call at the allele, with what the balance tests need from it."""

    fragment: str  # query name: the mates of one fragment share it
    call: Call
    f1r2: bool  # the fragment's pair orientation (the same from either mate)
    reverse: bool  # this read's strand
    left: float  # 1: more of the read lies left of the allele, 0: right, 0.5: centred
    end_distance: int  # allele to the nearer end of the read's aligned part


def read_support(read: Any, hap: Haplotypes, min_bq: int, cigar: Any = None) -> ReadSupport | None:
    """``read_call`` with the read's strand, orientation and the allele's place in it; None: no call."""
    call, at = _read_call(read, read.cigartuples if cigar is None else cigar, hap, min_bq)
    if call is None:
        return None
    to_left, to_right = at - read.query_alignment_start, read.query_alignment_end - 1 - at
    left = 1.0 if to_left > to_right else 0.0 if to_left < to_right else 0.5
    return ReadSupport(read.query_name, call, f1r2(read), read.is_reverse, left, max(0, min(to_left, to_right)))


def _by_fragment(calls: Iterable[ReadSupport]) -> AlleleDepth:
    """One call per fragment: mates that agree count once, a mate without a call defers to the other, mates
    that disagree are left out. Strand and placement votes of a fragment are its mates' mean (one vote)."""
    per: dict[str, list[ReadSupport]] = defaultdict(list)
    for support in calls:
        per[support.fragment].append(support)
    n = {"alt": 0, "ref": 0, "other": 0}
    f1r2s = {"alt": 0, "ref": 0}
    rev = {"alt": 0.0, "ref": 0.0}
    alt_left = 0.0
    end_distances: list[int] = []
    for mates in per.values():
        if len({m.call for m in mates}) != 1:
            continue
        call = mates[0].call
        n[call] += 1
        if call == "other":
            continue
        f1r2s[call] += mates[0].f1r2
        rev[call] += sum(m.reverse for m in mates) / len(mates)
        if call == "alt":
            alt_left += sum(m.left for m in mates) / len(mates)
            end_distances.append(max(m.end_distance for m in mates))
    return AlleleDepth(
        alt=n["alt"], ref=n["ref"], other=n["other"],
        alt_f1r2=f1r2s["alt"], alt_f2r1=n["alt"] - f1r2s["alt"],
        ref_f1r2=f1r2s["ref"], ref_f2r1=n["ref"] - f1r2s["ref"],
        alt_fwd=n["alt"] - rev["alt"], alt_rev=rev["alt"], ref_fwd=n["ref"] - rev["ref"], ref_rev=rev["ref"],
        alt_left=alt_left, alt_right=n["alt"] - alt_left,
        alt_end_distance=statistics.median(end_distances) if end_distances else None,
        alt_end_max=max(end_distances) if end_distances else None,
    )  # fmt: skip


def read_supports(reads: Iterable[Any], hap: Haplotypes, rules: CountRules) -> list[tuple[Any, ReadSupport]]:
    """Each usable read with its call at the allele, in the reads' order (reads without a call left out): what
    ``count_supports`` counts and the record's read evidence (oncopanel.calling.evidence) looks at."""
    out = []
    min_mq, min_bq = rules.min_mapping_quality, rules.min_base_quality
    for read in reads:
        if not usable(read, min_mq):
            continue
        cigar = read.cigartuples
        if cigar is None:
            continue
        support = read_support(read, hap, min_bq, cigar)
        if support is not None:
            out.append((read, support))
    return out


def count_supports(supports: Iterable[tuple[Any, ReadSupport]]) -> AlleleDepth:
    """Fragments supporting the allele, from ``read_supports``."""
    return _by_fragment(support for _, support in supports)


def count_reads(reads: Iterable[Any], hap: Haplotypes, rules: CountRules) -> AlleleDepth:
    """Fragments supporting the allele among reads (already fetched around the window)."""
    return count_supports(read_supports(reads, hap, rules))


class ReadWindows:
    """A BAM whose reads over a few windows are decoded once: ``fetch`` answers as pysam's does (the reads
    overlapping the region, in the file's order) from the window holding the region, else from the BAM itself.

    Hotspots, the alleles found at them and a sample's calls cluster in a few exons, and each of their fetches
    used to decompress and decode the same reads again (~1-2 us a read; issue 21). Windows within ``gap`` bases
    of each other are one, up to ``max_span`` bases (the reads held stay a few exons' worth at any depth); one
    window's reads are held at a time, so callers visit their regions in order."""

    def __init__(self, bam: Any, regions: Iterable[tuple[str, int, int]], gap: int = 150, max_span: int = 2000):
        self.bam = bam
        self.references = bam.references
        self._windows: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for chrom, start, end in sorted(regions):
            spans = self._windows[chrom]
            if spans and start <= spans[-1][1] + gap and max(spans[-1][1], end) - spans[-1][0] <= max_span:
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
            else:
                spans.append((max(0, start), end))
        self._held: tuple[str, int, int] | None = None
        self._reads: list[tuple[int, int, Any]] = []

    def fetch(self, chrom: str, start: int, end: int) -> Iterable[Any]:
        window = next(((chrom, s, e) for s, e in self._windows.get(chrom, ()) if s <= start and end <= e), None)
        if window is None:
            return self.bam.fetch(chrom, start, end)
        if window != self._held:
            self._held, self._reads = window, [(r.reference_start, _end_pos(r), r) for r in self.bam.fetch(*window)]
        return [r for s, e, r in self._reads if s < end and e > start]


def _end_pos(read: Any) -> int:
    """Where htslib's region query takes a read to end (bam_endpos, which pysam's reference_end is for a read with
    a CIGAR): one base past its start for a read without one."""
    end = read.reference_end
    return end if end is not None else read.reference_start + 1


def count_allele(bam: Any, variant: Variant, reference: SequenceSource, rules: CountRules) -> AlleleDepth:
    """Fragments supporting ``variant`` and covering its position in an open, indexed pysam BAM."""
    hap = haplotypes(variant, reference)
    if hap.chrom not in bam.references:
        return AlleleDepth(0, 0)
    reads = bam.fetch(hap.chrom, max(0, hap.start0 - 1), hap.end0 + 1)
    return count_reads(reads, hap, rules)
