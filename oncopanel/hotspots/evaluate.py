"""Evaluating a hotspot from its counts: the allele tests, status, VAF with its Wilson 95% interval, the LoD.

*detected* when an allele passes the detection rule and its reads do not look paralogous; *not detected* only
when the depth reached a LoD at or below the panel's stated LoD ("not detected" means "could have been
seen"); *not assessable* otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from oncopanel.hotspots.counting import AlleleCount, HotspotCounts, codon_allele, count_hotspots
from oncopanel.hotspots.definitions import Hotspot
from oncopanel.hotspots.detection import (
    BackgroundError,
    Thresholds,
    limit_of_detection,
    required_depth,
    substitution_class,
)
from oncopanel.model import HotspotResult, Variant
from oncopanel.sequence import SequenceSource
from oncopanel.stats import binom_sf, wilson_interval


@dataclass(frozen=True)
class AlleleCall:
    """The test of one allele (codons) or of the whole class (class hotspots)."""

    hotspot_id: str
    form: str
    variant: Variant | None
    alt_count: int
    depth: int
    vaf: float
    p_value: float
    background: float
    passes_rule: bool  # min_alt and the binomial test
    paralog_like: int  # alt fragments with >= 2 other differences from the reference
    paralog_suspect: bool  # alt reads look like a paralogue/pseudogene forced onto the masked reference
    detected: bool  # passes_rule, not paralog_suspect, not damage_suspect
    tested: int = 0  # class hotspots: fragments with any in-frame event of the class (the test's count)
    # a damage-class substitution short of min_reads_per_orientation in one pair orientation (F1R2, F2R1)
    damage_suspect: bool = False
    orientation: tuple[int, int] | None = None  # alt fragments (F1R2, F2R1), when counted


@dataclass(frozen=True)
class HotspotEvaluation:
    result: HotspotResult
    # the tests behind the result; detected ones feed origin=hotspot VCF records
    alleles: tuple[AlleleCall, ...]


def candidate_error_classes(hotspot: Hotspot) -> set[str]:
    """Error classes of the single-read artefacts that could mimic this hotspot (for its LoD)."""
    if hotspot.kind == "deletion_class":
        return {"deletion"}
    if hotspot.kind == "insertion_class":
        return {"insertion"}
    ref_plus = hotspot.plus_ref
    out = set()
    for i, ref_base in enumerate(ref_plus):
        for base in "ACGT":
            if base != ref_base:
                alt = ref_plus[:i] + base + ref_plus[i + 1 :]
                if codon_allele(hotspot, alt) is not None:
                    out.add(substitution_class(ref_base, base))
    return out or {"mnv"}  # alleles reachable only through 2-3 changes


def single_base_alleles(hotspot: Hotspot) -> list[tuple[Variant, str]]:
    """(allele, substitution class) of every single-base change that makes a hotspot allele (codons, bases)."""
    if hotspot.is_class:
        return []
    ref_plus = hotspot.plus_ref
    out = []
    for i, ref_base in enumerate(ref_plus):
        for base in "ACGT":
            if base != ref_base and codon_allele(hotspot, ref_plus[:i] + base + ref_plus[i + 1 :]) is not None:
                variant = Variant(hotspot.chrom, hotspot.start + i, ref_base, base)
                out.append((variant, substitution_class(ref_base, base)))
    return out


def hotspot_background(hotspot: Hotspot, background: BackgroundError) -> float:
    """Highest background among this hotspot's plausible alleles: the LoD must hold for each of them.

    Rates learnt at the position (``background.learnt``) are used only when every plausible single-base
    allele has one; otherwise the class rates (a missing allele could be the noisy one)."""
    alleles = single_base_alleles(hotspot)
    if alleles and all(v.key in background.learnt for v, _ in alleles):
        rates = [background.learnt[v.key] for v, _ in alleles]
    else:
        rates = [background.rate(hotspot.hotspot_id, "", c) for c in candidate_error_classes(hotspot)]
    rates += [r for (hid, _form), r in background.site.items() if hid == hotspot.hotspot_id]
    return max(rates)


def _call(
    hotspot_id: str,
    form: str,
    variant: Variant | None,
    alt: int,
    depth: int,
    rate: float,
    th: Thresholds,
    *,
    paralog_like: int,
    ref_paralog_rate: float,
    error_class: str = "",
    orientation: tuple[int, int] | None = None,
) -> AlleleCall:
    p = binom_sf(alt, depth, rate)
    passes = alt >= th.min_alt and p < th.alpha
    # a real somatic allele sits on reads that otherwise look like reference reads
    paralog = paralog_like >= 2 and paralog_like / alt - ref_paralog_rate >= th.paralog_excess
    # ... and on fragments of both pair orientations; damage of the template shows in one
    damage = (
        error_class in th.damage_classes and orientation is not None and min(orientation) < th.min_reads_per_orientation
    )
    vaf = alt / depth if depth else 0.0
    return AlleleCall(
        hotspot_id, form, variant, alt, depth, vaf, p, rate, passes, paralog_like, paralog,
        passes and not paralog and not damage, damage_suspect=damage, orientation=orientation,
    )  # fmt: skip


def _describe(call: AlleleCall) -> str:
    text = f"{call.form} {call.alt_count}/{call.depth}"
    if call.tested > call.alt_count:
        text += f", {call.tested} with an in-frame event of the class"
    text += f" (p={call.p_value:.2g})"
    if call.paralog_suspect:
        text += f" set aside: {call.paralog_like} of its fragments look paralogous"
    if call.damage_suspect and call.orientation is not None:
        text += f" set aside: F1R2 {call.orientation[0]}, F2R1 {call.orientation[1]} fragments, as library damage shows"
    return text


def _allele_depth(allele: AlleleCount | None, counts: HotspotCounts) -> int:
    return allele.depth if allele is not None and allele.depth is not None else counts.depth


def assess_hotspot(counts: HotspotCounts, thresholds: Thresholds, background: BackgroundError) -> HotspotEvaluation:
    """Status, VAF with Wilson 95% CI, and LoD for one hotspot from its counts."""
    hs = counts.hotspot
    ref_paralog_rate = counts.ref_paralog_like / counts.ref_count if counts.ref_count else 0.0
    if hs.is_class:
        total = counts.class_alt_count
        rate = background.rate(hs.hotspot_id, "*", "deletion" if hs.kind == "deletion_class" else "insertion")
        top = counts.alleles[0] if counts.alleles else None
        forms = [a.form for a in counts.alleles if a.alt_count >= max(2, 0.1 * total)] or ([top.form] if top else [])
        paralog_like = sum(a.paralog_like for a in counts.alleles)
        variant = top.variant if top else None
        calls = ()
        if top is not None:
            # the class is tested on every in-frame event; the counts reported are the leading allele's own, as
            # its VCF record carries them (one VAF per variant)
            depth = _allele_depth(top, counts)
            test = _call(hs.hotspot_id, ";".join(forms), variant, total, depth, rate, thresholds,
                         paralog_like=paralog_like, ref_paralog_rate=ref_paralog_rate)  # fmt: skip
            vaf = top.alt_count / depth if depth else 0.0
            calls = (replace(test, alt_count=top.alt_count, vaf=vaf, tested=total),)
    else:
        calls = tuple(
            _call(
                hs.hotspot_id,
                a.form,
                a.variant,
                a.alt_count,
                _allele_depth(a, counts),
                background.rate(hs.hotspot_id, a.form, a.error_class, a.variant.key if a.variant else None),
                thresholds,
                paralog_like=a.paralog_like,
                ref_paralog_rate=ref_paralog_rate,
                error_class=a.error_class,
                orientation=(a.alt_f1r2, a.alt_f2r1) if a.alt_f1r2 is not None and a.alt_f2r1 is not None else None,
            )
            for a in counts.alleles
        )
    detected = [c for c in calls if c.detected]
    paralog = [c for c in calls if c.passes_rule and c.paralog_suspect]
    damage = [c for c in calls if c.passes_rule and c.damage_suspect and not c.paralog_suspect]
    lead = next(iter(detected or paralog or damage or calls), None)
    # one VAF per variant: a found allele's depth is the one its VCF record carries (oncopanel.counting)
    depth = lead.depth if lead else counts.depth
    lod = limit_of_detection(
        depth, hotspot_background(hs, background), thresholds.min_alt, thresholds.alpha, thresholds.power
    )
    alt = lead.alt_count if lead else 0
    ci = wilson_interval(alt, depth) if depth else (None, None)
    vaf = alt / depth if depth else None
    lod_text = f"{lod:.2%}" if lod is not None else "none"
    seen = ", ".join(_describe(c) for c in calls) or "no alternate reads"
    extra = f"; {counts.discordant} discordant overlapping fragments left out" if counts.discordant else ""
    cause = None
    if detected:
        status, observed = "detected", ";".join(dict.fromkeys(c.form for c in detected))
        reason = f"{seen}; LoD {lod_text} at {depth}x{extra}"
    elif paralog:
        status, observed, cause = "not_assessable", "", "paralogue"
        c = paralog[0]
        reason = (
            f"{c.form} {c.alt_count}/{depth}, but {c.paralog_like} of those fragments carry >= 2 other differences "
            f"from the reference ({counts.ref_paralog_like}/{counts.ref_count} reference fragments do): reads of a "
            f"paralogue or pseudogene, not evidence of {hs.label}; LoD {lod_text} at {depth}x{extra}"
        )
    elif damage:
        # never "detected" (damage is not a variant) nor "not detected" (a variant may be among those reads)
        status, observed, cause = "not_assessable", "", "library_damage"
        c = damage[0]
        f1r2, f2r1 = c.orientation or (0, 0)
        reason = (
            f"{c.form} {c.alt_count}/{depth}, but in one pair orientation (F1R2 {f1r2}, F2R1 {f2r1}; "
            f"{thresholds.min_reads_per_orientation} needed in each) as FFPE/8-oxoG library damage shows: a variant "
            f"cannot be told from damage; LoD {lod_text} at {depth}x{extra}"
        )
    elif lod is not None and lod <= thresholds.stated_lod:
        status, observed = "not_detected", ""
        reason = f"{seen}; LoD {lod_text} at {depth}x reached (stated {thresholds.stated_lod:.0%}){extra}"
    else:
        status, observed, cause = "not_assessable", "", "depth"
        need = required_depth(
            thresholds.stated_lod,
            hotspot_background(hs, background),
            min_alt=thresholds.min_alt,
            alpha=thresholds.alpha,
            power=thresholds.power,
        )
        why = counts.note or ("no reads" if depth == 0 else seen)
        reason = (
            f"depth {depth}x below the {need}x needed for the stated LoD {thresholds.stated_lod:.0%} "
            f"(LoD here {lod_text}); {why}{extra}"
        )
    result = HotspotResult(
        hotspot_id=hs.hotspot_id,
        gene=hs.gene,
        label=hs.label,
        status=status,
        depth=depth,
        alt_count=alt,
        vaf=vaf,
        vaf_ci_low=ci[0],
        vaf_ci_high=ci[1],
        lod=lod,
        observed=observed,
        reason=reason,
        cause=cause,
    )
    return HotspotEvaluation(result, calls)


def evaluate_hotspots(
    bam_path: Path | str,
    sample_id: str,
    hotspots: Sequence[Hotspot] | None = None,
    *,
    thresholds: Thresholds,
    background_error: BackgroundError,
    reference: SequenceSource | None = None,
) -> list[HotspotEvaluation]:
    """Results with the allele tests behind them (what the VCF writer needs for origin=hotspot records).

    ``thresholds`` and ``background_error``: the rule of config/calling.yaml (``CallingSettings.hotspots``)."""
    counts = count_hotspots(
        bam_path,
        sample_id,
        hotspots,
        reference=reference,
        min_base_quality=thresholds.min_base_quality,
        min_mapping_quality=thresholds.min_mapping_quality,
    )
    return [assess_hotspot(c, thresholds, background_error) for c in counts]


def genotype_hotspots(bam_path: Path | str, sample_id: str, *args: Any, **kwargs: Any) -> list[HotspotResult]:
    """Status of every hotspot in one sample's BAM: detected / not_detected (with LoD) / not_assessable; the
    arguments of :func:`evaluate_hotspots`, without the allele tests behind each status."""
    return [e.result for e in evaluate_hotspots(bam_path, sample_id, *args, **kwargs)]
