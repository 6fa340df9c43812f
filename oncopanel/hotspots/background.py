"""Batch background: error rates per allele raised from the batch's other samples, and genotyping a batch."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from oncopanel.hotspots.counting import HotspotCounts, count_hotspots
from oncopanel.hotspots.definitions import Hotspot, load_hotspots
from oncopanel.hotspots.detection import BackgroundError, Thresholds
from oncopanel.hotspots.evaluate import HotspotEvaluation, assess_hotspot
from oncopanel.sequence import SequenceSource


def estimate_background(
    counts_by_sample: Mapping[str, Sequence[HotspotCounts]],
    exclude: str,
    base: BackgroundError,
    *,
    min_samples: int = 3,
    min_depth: int = 100,
    max_error_fraction: float = 0.05,
) -> BackgroundError:
    """Site rates from the batch's other samples, so an artefact recurring across the batch (FFPE C>T, a
    systematic error) is not called in one more sample.

    Per allele (per class for class hotspots): the median alt fraction over the other samples with depth >=
    min_depth, zeros included. Fractions >= max_error_fraction are taken for real variants and left out (a
    batch of EGFR-positive tumours must not teach that exon 19 deletions are noise), and the median ignores a
    minority of carriers below that. Rates are only raised above ``base``, never lowered, and need at least
    ``min_samples`` usable samples.
    """
    fractions: dict[tuple[str, str], list[float]] = defaultdict(list)
    error_classes: dict[tuple[str, str], str] = {}
    n_samples: Counter[str] = Counter()
    for sample, counts in counts_by_sample.items():
        if sample == exclude:
            continue
        for c in counts:
            if c.depth < min_depth:
                continue
            hid = c.hotspot.hotspot_id
            n_samples[hid] += 1
            if c.hotspot.is_class:
                key = (hid, "*")
                fractions[key].append(c.class_alt_count / c.depth)
                error_classes[key] = "deletion" if c.hotspot.kind == "deletion_class" else "insertion"
            else:
                for a in c.alleles:
                    fractions[(hid, a.form)].append(a.alt_count / (a.depth or c.depth))
                    error_classes[(hid, a.form)] = a.error_class
    site = dict(base.site)
    for key, values in fractions.items():
        # batch-mates without the allele saw 0 reads; likely carriers are not noise
        values = values + [0.0] * (n_samples[key[0]] - len(values))
        values = [v for v in values if v < max_error_fraction]
        if len(values) < min_samples:
            continue
        median = statistics.median(values)
        if median > base.rate(*key, error_classes[key]):
            site[key] = median
    return replace(base, site=site)


def genotype_batch(
    bam_paths: Mapping[str, Path | str],
    hotspots: Sequence[Hotspot] | None = None,
    *,
    thresholds: Thresholds,
    background_error: BackgroundError,
    estimate_from_batch: bool = True,
    reference: SequenceSource | None = None,
) -> dict[str, list[HotspotEvaluation]]:
    """Every sample of a batch; with estimate_from_batch, each sample is tested against error rates raised by
    what its batch-mates show at the same allele (recurrent artefacts)."""
    from oncopanel.reference import SliceSequence

    th = thresholds
    hotspots = load_hotspots() if hotspots is None else hotspots
    reference = reference or SliceSequence()
    counts = {
        s: count_hotspots(
            p,
            s,
            hotspots,
            reference=reference,
            min_base_quality=th.min_base_quality,
            min_mapping_quality=th.min_mapping_quality,
        )
        for s, p in bam_paths.items()
    }
    base = background_error
    out = {}
    for sample, sample_counts in counts.items():
        bg = estimate_background(counts, sample, base) if estimate_from_batch else base
        out[sample] = [assess_hotspot(c, th, bg) for c in sample_counts]
    return out
