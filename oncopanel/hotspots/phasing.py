"""Phase of two nearby SNVs from the reads that span both (EGFR C797S and T790M are 21 nt apart, so one read often
covers both): "cis" when the fragments carrying the first variant carry the second too, "trans" when they carry
the reference there, "cis and trans" when both are seen, "not determined" when no fragment spans both positions
with usable bases. The options differ (C797S in trans with T790M may respond to a first- plus third-generation
EGFR TKI combination; in cis to neither), so the report states which.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from oncopanel.model import Variant
from oncopanel.sequence import aligned_query_positions, usable

NOT_DETERMINED = "not determined"


@dataclass(frozen=True)
class Phase:
    status: str  # cis | trans | cis and trans | not determined
    cis: int  # fragments with both alternate alleles
    trans: int  # fragments with the first variant's alternate allele and the reference at the second
    spanning: int  # fragments with usable bases at both positions


def phase_of_calls(calls: dict[str, set[tuple[str, str]]]) -> Phase:
    """calls: per fragment, the (base at first, base at second) pairs its reads show, each "alt" / "ref" / "other".
    Mates that disagree say nothing."""
    cis = trans = spanning = 0
    for seen in calls.values():
        if len(seen) != 1:
            continue
        first, second = next(iter(seen))
        spanning += 1
        if first == "alt" and second == "alt":
            cis += 1
        elif first == "alt" and second == "ref":
            trans += 1
    status = ("cis and trans" if cis and trans else "cis" if cis else "trans" if trans else NOT_DETERMINED)
    return Phase(status, cis, trans, spanning)


def _base(read, qpos: int | None, variant: Variant, min_bq: int) -> str | None:
    if qpos is None or read.query_qualities is None or read.query_qualities[qpos] < min_bq:
        return None
    base = read.query_sequence[qpos]
    return "alt" if base == variant.alt else "ref" if base == variant.ref else "other"


def phase_snvs(bam: Path | str, first: Variant, second: Variant, min_bq: int = 20,
               min_mapping_quality: int = 20) -> Phase:
    """Phase of ``second`` relative to the fragments carrying ``first`` (both SNVs on one chromosome)."""
    import pysam

    if not (first.is_snv and second.is_snv) or first.chrom != second.chrom:
        return Phase(NOT_DETERMINED, 0, 0, 0)
    lo, hi = sorted((first.pos, second.pos))
    calls: dict[str, set[tuple[str, str]]] = defaultdict(set)
    with pysam.AlignmentFile(str(bam), "rb") as handle:
        for read in handle.fetch(first.chrom, lo - 1, hi):
            if not usable(read, min_mapping_quality):
                continue
            q1, q2 = aligned_query_positions(read, first.pos - 1, second.pos - 1)
            a, b = _base(read, q1, first, min_bq), _base(read, q2, second, min_bq)
            if a is not None and b is not None:
                calls[read.query_name].add((a, b))
    return phase_of_calls(calls)
