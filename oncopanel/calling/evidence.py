"""Evidence behind one biallelic record: freebayes INFO/FORMAT counts, and read-level counts from the BAM.

freebayes reports strand (SAF/SAR), placement (RPL/RPR), mapping quality (MQM) and base-quality sums (QA), in
READS: overlapping mates of one fragment count twice, doubling the apparent evidence of an imbalance. Where the
BAM is at hand the balance inputs (strand, placement, pair orientation F1R2/F2R1, distance to read ends) are
therefore replaced by oncopanel.counting's FRAGMENT votes, the same count as depth and VAF; pysam counts the
pseudogene signature per read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from oncopanel.counting import AlleleDepth, ReadSupport


@dataclass(frozen=True)
class RecordEvidence:
    """Counts for one alt allele as freebayes saw them (after multi-allelic splitting)."""

    chrom: str
    pos: int
    ref: str
    alt: str
    qual: float
    depth: int
    ref_reads: int
    alt_reads: int
    alt_fwd: float = 0  # strand and placement: freebayes' reads, or fragment votes after with_counts
    alt_rev: float = 0
    ref_fwd: float = 0
    ref_rev: float = 0
    alt_left: float = 0.0
    alt_right: float = 0.0
    alt_mapq: float = 60.0
    alt_qual_sum: float = 0.0
    alt_qual_reads: int = 0  # the reads QA sums over (freebayes AO); 0: alt_reads
    gq: float | None = None
    genotype: tuple[int | None, ...] = ()

    @property
    def vaf(self) -> float:
        """Alt over everything covering the locus (depth), not ref+alt only (multi-allelic sites)."""
        denom = max(self.depth, self.ref_reads + self.alt_reads)
        return self.alt_reads / denom if denom else 0.0

    @property
    def is_snv(self) -> bool:
        return len(self.ref) == 1 and len(self.alt) == 1

    @property
    def is_indel(self) -> bool:
        return len(self.ref) != len(self.alt)

    @property
    def mean_alt_base_quality(self) -> float:
        n = self.alt_qual_reads or self.alt_reads
        return self.alt_qual_sum / n if n else 0.0

    def with_counts(self, counts: AlleleDepth) -> RecordEvidence:
        """The same evidence with depth, allele counts and the strand / placement votes from oncopanel.counting
        (the one counting rule: fragments)."""
        return replace(
            self, depth=counts.depth, ref_reads=counts.ref, alt_reads=counts.alt,
            alt_qual_reads=self.alt_qual_reads or self.alt_reads,
            alt_fwd=counts.alt_fwd, alt_rev=counts.alt_rev, ref_fwd=counts.ref_fwd, ref_rev=counts.ref_rev,
            alt_left=counts.alt_left, alt_right=counts.alt_right,
        )  # fmt: skip


def _first(value: Any, default: Any = 0) -> Any:
    """INFO/FORMAT values of Number=A come as tuples; after splitting they hold one value."""
    if value is None:
        return default
    if isinstance(value, tuple):
        return value[0] if value and value[0] is not None else default
    return value


def from_freebayes(rec: Any) -> RecordEvidence:
    """Evidence from a split, normalised freebayes pysam record (one ALT)."""
    info = rec.info
    sample = rec.samples[0] if len(rec.samples) else {}
    fmt = dict(sample.items()) if sample else {}
    ad = fmt.get("AD") or (info.get("RO", 0), _first(info.get("AO")))
    ref_reads = int(ad[0] or 0) if len(ad) > 0 else 0
    alt_reads = int(ad[1] or 0) if len(ad) > 1 else 0
    depth = fmt.get("DP")
    depth = int(depth) if depth is not None else int(info.get("DP", ref_reads + alt_reads))
    return RecordEvidence(
        chrom=rec.chrom, pos=rec.pos, ref=rec.ref, alt=rec.alts[0], qual=float(rec.qual or 0.0),
        depth=depth, ref_reads=ref_reads, alt_reads=alt_reads,
        alt_fwd=int(_first(info.get("SAF"))), alt_rev=int(_first(info.get("SAR"))),
        ref_fwd=int(info.get("SRF", 0) or 0), ref_rev=int(info.get("SRR", 0) or 0),
        alt_left=float(_first(info.get("RPL"))), alt_right=float(_first(info.get("RPR"))),
        alt_mapq=float(_first(info.get("MQM"), 60.0)), alt_qual_sum=float(_first(info.get("QA"))),
        alt_qual_reads=int(_first(info.get("AO"), alt_reads) or 0),
        gq=float(fmt["GQ"]) if fmt.get("GQ") is not None else None,
        genotype=tuple(fmt.get("GT") or ()),
    )  # fmt: skip


@dataclass(frozen=True)
class ReadEvidence:
    """What the BAM says beyond freebayes' counts: pair orientation and end distance of the alt FRAGMENTS
    (oncopanel.counting), the pseudogene signature of READS."""

    alt_f1r2: int = 0
    alt_f2r1: int = 0
    ref_f1r2: int = 0
    ref_f2r1: int = 0
    alt_median_end_distance: float | None = None
    alt_max_end_distance: int | None = None
    # the reference fragments' distances of the allele to the nearer read end (the farther mate's when both read
    # it, as for the alt fragments), sorted: what a true allele's fragments show at this very position (target
    # edges and read lengths shape it), for the read-end test
    ref_end_distances: tuple[int, ...] = ()
    alt_paralogue_like: int = 0
    ref_paralogue_like: int = 0
    # reads the paralogue counts are out of; None: the orientation counts' totals
    alt_paralogue_reads: int | None = None
    ref_paralogue_reads: int | None = None

    @property
    def alt_reads(self) -> int:
        return self.alt_f1r2 + self.alt_f2r1

    @property
    def ref_reads(self) -> int:
        return self.ref_f1r2 + self.ref_f2r1

    def paralogue_excess(self) -> float:
        """Fraction of alt reads with the pseudogene signature minus the same fraction among ref reads."""
        alt_n = self.alt_reads if self.alt_paralogue_reads is None else self.alt_paralogue_reads
        ref_n = self.ref_reads if self.ref_paralogue_reads is None else self.ref_paralogue_reads
        if not alt_n:
            return 0.0
        ref_frac = self.ref_paralogue_like / ref_n if ref_n else 0.0
        return self.alt_paralogue_like / alt_n - ref_frac


def is_f1r2(read: Any) -> bool:
    """Read orientation relative to the fragment: read 1 forward or read 2 reverse."""
    if read.is_paired and read.is_read2:
        return read.is_reverse
    return not read.is_reverse


def _paralogue_like(read: Any, own_edit: int, min_clip: int, min_extra_mm: int) -> bool:
    """The signature of a read from a processed pseudogene forced onto the parent gene."""
    cig = read.cigartuples or ()
    clipped = any(op == 4 and n >= min_clip for op, n in (cig[:1] + cig[-1:]))
    misplaced = read.is_paired and (read.mate_is_unmapped or not read.is_proper_pair)
    nm = read.get_tag("NM") if read.has_tag("NM") else 0
    return clipped or misplaced or nm - own_edit >= min_extra_mm


def read_evidence(
    supports: Iterable[tuple[Any, ReadSupport]],
    counts: AlleleDepth,
    ref: str,
    alt: str,
    min_clip: int = 5,
    min_extra_mm: int = 2,
) -> ReadEvidence:
    """Orientation and end distance from ``counts`` (oncopanel.counting over the same reads: one vote per
    fragment); the pseudogene signature and the reference reads' end distances counted over the reads, which
    allele a read carries being oncopanel.counting's call (``supports``: ``read_supports`` of the record's reads,
    the calls ``counts`` was counted from)."""
    par = {"alt": 0, "ref": 0}
    seen = {"alt": 0, "ref": 0}
    ref_ends: dict[str, int] = {}
    own_edit = (
        max(len(ref), len(alt)) - 1 if len(ref) != len(alt) else sum(a != b for a, b in zip(ref, alt, strict=True))
    )
    for read, support in supports:
        side = support.call
        if side not in ("alt", "ref"):
            continue
        if side == "ref":
            ref_ends[read.query_name] = max(ref_ends.get(read.query_name, 0), support.end_distance)
        seen[side] += 1
        par[side] += _paralogue_like(read, own_edit if side == "alt" else 0, min_clip, min_extra_mm)
    return ReadEvidence(
        alt_f1r2=counts.alt_f1r2, alt_f2r1=counts.alt_f2r1, ref_f1r2=counts.ref_f1r2, ref_f2r1=counts.ref_f2r1,
        alt_median_end_distance=counts.alt_end_distance, alt_max_end_distance=counts.alt_end_max,
        ref_end_distances=tuple(sorted(ref_ends.values())),
        alt_paralogue_like=par["alt"], ref_paralogue_like=par["ref"],
        alt_paralogue_reads=seen["alt"], ref_paralogue_reads=seen["ref"],
    )  # fmt: skip


def homopolymer_run(seq: str, idx: int) -> int:
    """Length of the run of identical bases through ``seq[idx]`` (case-insensitive)."""
    if not 0 <= idx < len(seq):
        return 0
    s = seq.upper()
    base = s[idx]
    left = idx
    while left > 0 and s[left - 1] == base:
        left -= 1
    right = idx
    while right + 1 < len(s) and s[right + 1] == base:
        right += 1
    return right - left + 1
