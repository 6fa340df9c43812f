"""Filters as pure functions: evidence + thresholds (data) -> FILTER reasons, each declared in FILTERS."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from oncopanel.calling.background import AlleleBackground, ModelSettings, background_p
from oncopanel.calling.evidence import ReadEvidence, RecordEvidence
from oncopanel.calling.settings import Background, Balance, GermlineFilters, LikelyGermline, SomaticFilters
from oncopanel.stats import binom_cdf, binom_sf, wilson_interval

# FILTER id -> header description. The VCF declares every one of these, used or not.
FILTERS: dict[str, str] = {
    "low_qual": "QUAL below calling.*.filters.min_qual",
    "low_depth": "Depth below calling.germline.filters.min_depth",
    "low_gq": "Genotype quality below calling.germline.filters.min_gq",
    "not_called": "Germline genotype carries no alternate allele",
    "low_alt_reads": "Alt-supporting reads below calling.*.filters.min_alt_reads",
    "low_vaf": "Allele fraction below calling.somatic.filters.min_vaf",
    "below_background": (
        "Alt fragments not above the background error rate (binomial): the allele's rate learnt from normals "
        "(calling.somatic.background_model, INFO BG) or else the global calling.somatic.filters.background"
    ),
    "low_base_quality": ("Mean alt base quality (QA/AO) below calling.somatic.filters.min_mean_alt_base_quality"),
    "low_mapping_quality": "Mean alt mapping quality (MQM) below calling.somatic.filters.min_mapping_quality",
    "strand_bias": (
        "Alt fragments on one strand beyond what the reference fragments' strand ratio explains (one vote per "
        "fragment, split between the strands when both mates cover the allele)"
    ),
    "orientation_bias": (
        "Alt fragments in one pair orientation (F1R2/F2R1), or a damage-class substitution (C>T, G>A, G>T, C>A) "
        "without calling.somatic.filters.damage.min_reads_per_orientation fragments in each: FFPE / oxoG-like"
    ),
    "read_position": (
        "Alt fragments' reads placed on one side of the allele or at read ends (one vote per fragment; the end "
        "distance tested against the reference reads' at the position)"
    ),
    "homopolymer": "Low-fraction indel in a homopolymer run (calling.somatic.filters.homopolymer)",
    "pon": "Seen in the batch panel of normals (recurrent artefact or common germline variant)",
    "paralogue": "Alt reads carry a pseudogene signature (e.g. PTENP1 on PTEN): never a somatic call",
}


def imbalanced(a: float, b: float, expected_a: float, rule: Balance) -> bool:
    """True when the minor of (a, b) is both a small fraction and improbable under the expected split.

    a and b are fragment votes (oncopanel.counting): a fragment whose two mates both cover the allele gives half a
    vote to each side they show, so a half-vote minor is rounded up (the fragment was seen on that side)."""
    n = round(a + b)
    if n == 0:
        return False
    expected_a = min(0.95, max(0.05, expected_a))  # a lopsided reference pile must not excuse everything
    minor, p_minor = (a, expected_a) if a <= b else (b, 1.0 - expected_a)
    k = math.floor(minor + 0.5)
    return k / n < rule.min_minor_fraction and binom_cdf(k, n, p_minor) < rule.max_p


def _expected(fwd: int, rev: int) -> float:
    return fwd / (fwd + rev) if fwd + rev else 0.5


def germline_reasons(ev: RecordEvidence, f: GermlineFilters) -> list[str]:
    reasons = []
    if ev.genotype and not any(a not in (None, 0) for a in ev.genotype):
        reasons.append("not_called")
    if ev.qual < f.min_qual:
        reasons.append("low_qual")
    if ev.depth < f.min_depth:
        reasons.append("low_depth")
    if ev.gq is not None and ev.gq < f.min_gq:
        reasons.append("low_gq")
    if ev.alt_reads < f.min_alt_reads:
        reasons.append("low_alt_reads")
    return reasons


def somatic_reasons(
    ev: RecordEvidence,
    f: SomaticFilters,
    reads: ReadEvidence | None = None,
    homopolymer_len: int = 0,
    allele_bg: AlleleBackground | None = None,
    model: ModelSettings | None = None,
    orientation: tuple[int, int] | None = None,
) -> list[str]:
    """FILTER reasons for one tumour-only call (PoN and paralogue are sample-level: see vcf.finalize).

    ``allele_bg``: the allele's learnt background (oncopanel.calling.background) under ``model``'s settings; then
    the background test is against it and the VAF floor is the model's. ``orientation``: alt fragments (F1R2,
    F2R1) for the model's oriented-error test."""
    reasons = []
    modelled = allele_bg is not None and model is not None
    if ev.qual < f.min_qual:
        reasons.append("low_qual")
    if ev.alt_reads < f.min_alt_reads:
        reasons.append("low_alt_reads")
    if ev.vaf < (model.min_vaf if modelled else f.min_vaf):
        reasons.append("low_vaf")
    if modelled:
        depth = max(ev.depth, ev.ref_reads + ev.alt_reads)
        below = background_p(ev.alt_reads, depth, orientation, allele_bg, model.orientation_ratio) >= f.background.max_p
    else:
        below = not above_background(ev, f.background)
    if below:
        reasons.append("below_background")
    if ev.alt_reads and ev.mean_alt_base_quality < f.min_mean_alt_base_quality:
        reasons.append("low_base_quality")
    if ev.alt_reads and ev.alt_mapq < f.min_mapping_quality:
        reasons.append("low_mapping_quality")
    if imbalanced(ev.alt_fwd, ev.alt_rev, _expected(ev.ref_fwd, ev.ref_rev), f.strand_bias):
        reasons.append("strand_bias")
    damage_class = f"{ev.ref}>{ev.alt}" in f.damage.substitutions
    # the orientation test's tail: the looser clean_max_p only where the normals have shown this allele erring in
    # neither orientation more than the other and it is no damage class (orientation_clean)
    orientation_rule = f.orientation_bias.rule(orientation_clean(ev, f, allele_bg, model))
    if reads is not None and (
        imbalanced(reads.alt_f1r2, reads.alt_f2r1, _expected(reads.ref_f1r2, reads.ref_f2r1), orientation_rule)
        or (damage_class and min(reads.alt_f1r2, reads.alt_f2r1) < f.damage.min_reads_per_orientation)
    ):
        reasons.append("orientation_bias")
    near_end = reads is not None and reads.alt_median_end_distance is not None and (
        reads.alt_median_end_distance < f.min_median_distance_to_read_end
        or ends_improbable(reads.alt_median_end_distance, reads.alt_reads, reads.ref_end_distances, f.read_end_max_p,
                           reads.alt_max_end_distance, f.read_end_all_max_p)
    )  # fmt: skip
    if near_end or imbalanced(ev.alt_left, ev.alt_right, 0.5, f.read_position):
        reasons.append("read_position")
    if ev.is_indel and homopolymer_len >= f.homopolymer.min_run and ev.vaf < f.homopolymer.max_vaf:
        reasons.append("homopolymer")
    return reasons


def ends_improbable(
    alt_median: float,
    alt_fragments: int,
    ref_distances: Sequence[int],
    max_p: float,
    alt_max: int | None = None,
    all_max_p: float | None = None,
) -> bool:
    """The alt fragments sit nearer the read ends than the reference reads at the same position make likely.

    Half or more of the alt fragments lie within ``alt_median`` of a read end (that is what a median says); a
    true allele's fragments are placed in reads as the reference reads there are, so each lies that near with
    the reference fragments' share p (counted the same way: a fragment read by both mates takes the farther
    mate's distance). Fails when P(>= half of n | n, p) < max_p: an end-repair / adapter artefact within a few
    bases of read ends at 19 fragments (median 5, p ~ 0.07) gives ~1e-7, while the fixed floor
    min_median_distance_to_read_end needs the median below 5.

    With ``alt_max`` (the farthest alt fragment's distance), also when ALL n lie within it: P = F(alt_max)^n <
    ``all_max_p`` (default max_p), F the reference share within alt_max. At a handful of fragments the median
    says little (7 fragments at 0,5,5,5,6,7,7 against p ~ 0.09 within 5: P = 0.002, passed) while all seven
    within 7 (F ~ 0.11) is ~2e-7. A true allele is lost about max_p (all_max_p) of the time by each test."""
    if alt_fragments <= 0 or not ref_distances:
        return False
    p = bisect.bisect_right(ref_distances, alt_median) / len(ref_distances)
    if binom_sf(math.ceil(alt_fragments / 2), alt_fragments, p) < max_p:
        return True
    if alt_max is None:
        return False
    within = bisect.bisect_right(ref_distances, alt_max) / len(ref_distances)
    return within**alt_fragments < (max_p if all_max_p is None else all_max_p)


def orientation_clean(
    ev: RecordEvidence, f: SomaticFilters, allele_bg: AlleleBackground | None, model: ModelSettings | None
) -> bool:
    """True when a one-orientation pattern at this allele has no known artefact to come from: the allele's
    background is learnt (enough normal fragments, calling.somatic.background_model), those normals show no
    oriented error there (one orientation's rate < orientation_ratio x the other's) and the substitution is not
    a library-damage class (FFPE/oxoG damage is the tumour's own: its normals never show it)."""
    if allele_bg is None or model is None or f"{ev.ref}>{ev.alt}" in f.damage.substitutions:
        return False
    return not allele_bg.oriented(model.orientation_ratio)


def above_background(ev: RecordEvidence, bg: Background) -> bool:
    """P(X >= alt reads | depth, error rate) below max_p: the allele is not explained by sequencing error."""
    rate = bg.snv_error_rate if len(ev.ref) == len(ev.alt) else bg.indel_error_rate
    depth = max(ev.depth, ev.ref_reads + ev.alt_reads)
    if ev.alt_reads == 0:
        return False
    return 1.0 - binom_cdf(ev.alt_reads - 1, depth, rate) < bg.max_p


def likely_germline(alt_reads: int, depth: int, rule: LikelyGermline) -> bool:
    """Tumour-only: a fraction consistent with 0.5 (within het_window) or >= hom_min_vaf looks constitutional.

    Consistent = the 95% Wilson interval of alt/depth reaches the window, so 17/43 reads (0.40) at low depth is
    flagged like 200/400 is; at 500x a 0.30 fraction is not. Flag only, never a FILTER.
    """
    if depth <= 0 or alt_reads <= 0:
        return False
    low, high = wilson_interval(alt_reads, depth)
    return (low <= 0.5 + rule.het_window and high >= 0.5 - rule.het_window) or high >= rule.hom_min_vaf
