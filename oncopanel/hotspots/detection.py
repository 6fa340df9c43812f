"""The detection rule and what it can see: thresholds, background error rates, limit of detection (LoD).

A hotspot allele is detected when its fragments pass ``min_alt`` AND a one-sided binomial test against the
background error rate below ``alpha``; the LoD at a depth is the smallest VAF that rule detects with
probability ``power``. The rule's values are data: config/calling.yaml ``calling.hotspots``, read by
oncopanel.calling.settings (``CallingSettings.hotspots``); nothing here carries a default of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from oncopanel.sequence import complement
from oncopanel.stats import binom_sf

SUBSTITUTION_CLASSES = ("C>A", "C>G", "C>T", "T>A", "T>C", "T>G")  # pyrimidine-normalised
LOD_TOLERANCE = 1e-7  # the LoD bisection stops within this of the true VAF (it returns the upper end)


@lru_cache(maxsize=65536)
def min_alt_reads(depth: int, background: float, min_alt: int, alpha: float) -> int | None:
    """Fewest alternate reads the detection rule accepts at this depth (None: none can be enough)."""
    for k in range(max(1, min_alt), depth + 1):
        if binom_sf(k, depth, background) < alpha:
            return k
    return None


@lru_cache(maxsize=65536)
def limit_of_detection(depth: int, background: float, min_alt: int, alpha: float, power: float) -> float | None:
    """Smallest VAF detected with probability >= power at this depth under the rule (None: never)."""
    k = min_alt_reads(depth, background, min_alt, alpha)
    if k is None:
        return None
    lo, hi = 0.0, 1.0  # P(X >= k | f) rises with f: bisect, keeping P(lo) < power <= P(hi)
    for _ in range(60):
        mid = (lo + hi) / 2
        if binom_sf(k, depth, mid) >= power:
            hi = mid
        else:
            lo = mid
        if hi - lo < LOD_TOLERANCE:
            break
    return hi


@lru_cache(maxsize=1024)
def required_depth(
    stated_lod: float,
    background: float,
    *,
    min_alt: int,
    alpha: float,
    power: float,
    max_depth: int = 200_000,
) -> int | None:
    """Smallest depth from which the LoD stays at or below stated_lod (None if not reached by max_depth).

    The LoD is a saw-tooth in depth (each extra read the threshold demands makes it jump up a little), so the
    answer is the depth after the last crossing found within twice the first one, not just the first crossing.
    """

    def ok(n: int) -> bool:
        # limit_of_detection(n) <= stated_lod, mostly without its bisection (~25 tails a depth; this scans
        # hundreds of depths). The bisection returns hi with P(X >= k | hi) >= power and hi < true LoD + tolerance,
        # so power already reached at stated_lod - tolerance means yes, and not reached at stated_lod means no.
        k = min_alt_reads(n, background, min_alt, alpha)
        if k is None or binom_sf(k, n, stated_lod) < power:
            return False
        if binom_sf(k, n, stated_lod - LOD_TOLERANCE) >= power:
            return True
        lod = limit_of_detection(n, background, min_alt, alpha, power)
        return lod is not None and lod <= stated_lod

    lo, hi = 1, 1
    while not ok(hi):  # exponential search for a first depth that works, then scan down to the first one
        lo, hi = hi, hi * 2
        if hi > max_depth:
            return None
    first = next(n for n in range(lo, hi + 1) if ok(n))
    last_bad = max((n for n in range(first, 2 * first + 1) if not ok(n)), default=first - 1)
    return last_bad + 1


@dataclass(frozen=True)
class Thresholds:
    """The calling rule, kept together so the LoD is computed under exactly the rule that calls.

    Built by oncopanel.calling.settings ``HotspotRule.thresholds`` from calling.yaml; ``stated_lod`` is the
    panel's (annotation/panels/panels.yaml).
    """

    min_base_quality: int
    min_mapping_quality: int
    min_alt: int
    alpha: float  # one-sided binomial test against the background error rate
    power: float  # the LoD is the VAF detected with this probability
    # alt fragments with >= 2 other differences from the reference, in excess of the reference fragments' share,
    # above which the allele is taken for paralogue/pseudogene reads (e.g. PIK3CA exon 9-13 pseudogene on chr22)
    paralog_excess: float
    # library damage (FFPE deamination C>T, 8-oxoG G>T: pyrimidine-normalised classes) shows in one pair
    # orientation: an allele of these classes needs this many alt fragments in EACH orientation to be detected
    damage_classes: frozenset[str]
    min_reads_per_orientation: int
    stated_lod: float


@dataclass(frozen=True)
class BackgroundError:
    """Per-read error rates the alternate count is tested against.

    ``substitution`` is per pyrimidine-normalised class (raise C>T for FFPE deamination, C>A for
    oxidation G>T); ``mnv`` applies to codons changed at 2-3 bases; indel rates apply to the class hotspots
    (in-frame indels of 3+ bases are rare as sequencing errors). ``site`` holds rates estimated for one
    allele of one hotspot (key ``(hotspot_id, form)``; form ``"*"`` for a whole class), e.g. from the
    batch's other samples.
    """

    substitution: Mapping[str, float]
    mnv: float
    deletion: float
    insertion: float
    site: Mapping[tuple[str, str], float] = field(default_factory=dict)
    # rates learnt at single-base alleles (key chrom:pos:ref>alt) from the batch's normals and the background
    # store (oncopanel.calling.background): they replace the class rate of that allele, and a hotspot whose
    # every plausible single-base allele has one gets its LoD from them; ``source`` names the model's version
    learnt: Mapping[str, float] = field(default_factory=dict)
    source: str = ""

    def rate(self, hotspot_id: str, form: str, error_class: str, key: str | None = None) -> float:
        learnt = self.learnt.get(key) if key is not None else None
        if learnt is None:
            if error_class in ("mnv", "deletion", "insertion"):
                learnt = getattr(self, error_class)
            else:
                learnt = self.substitution.get(error_class, max(self.substitution.values()))
        if (hotspot_id, form) in self.site:  # raised by batch-mates: never below what the allele itself shows
            return max(self.site[(hotspot_id, form)], learnt)
        return learnt


def substitution_class(ref: str, alt: str) -> str:
    """Pyrimidine-normalised class of a plus-strand base change: G>A is C>T."""
    if ref in "GA":
        ref, alt = complement(ref), complement(alt)
    return f"{ref}>{alt}"
