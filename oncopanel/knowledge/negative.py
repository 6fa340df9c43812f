"""Negative biomarkers, only where the data show them: "RAS wild type" needs every position of its definition
(annotation/knowledge/negative_biomarkers.tsv) assessed in this sample -- the hotspot table says "not detected"
with an LoD at or below the specimen's stated LoD. Anything less is "not determined", naming the positions not
assessed and the genes not on the ordered panels. Never from plasma; never for what the panel cannot test (a
definition lists hotspots, so fusions can never be declared absent).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from oncopanel.knowledge.rules import NegativeDefinition
from oncopanel.model import HotspotResult

WILD_TYPE, NOT_DETERMINED, DETECTED = "wild_type", "not_determined", "detected"


@dataclass(frozen=True)
class NegativeResult:
    biomarker: str  # "RAS Wild Type"
    status: str  # wild_type | not_determined | detected
    assessed: tuple[str, ...]  # "KRAS G12X", ... each not detected at or below the stated LoD
    not_assessed: tuple[str, ...]  # positions tested but not assessable at the stated LoD
    not_tested: tuple[str, ...]  # hotspot ids not on the ordered panels
    reason: str
    citation: str

    @property
    def is_wild_type(self) -> bool:
        return self.status == WILD_TYPE


def _name(hotspot: HotspotResult) -> str:
    return f"{hotspot.gene} {hotspot.label}"


def _genes(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i.split("_")[0] for i in ids))


def assess(definition: NegativeDefinition, hotspots: Iterable[HotspotResult], specimen_type: str,
           stated_lod: float | None) -> NegativeResult:
    by_id = {h.hotspot_id: h for h in hotspots}
    present = [by_id[i] for i in definition.hotspot_ids if i in by_id]
    not_tested = tuple(i for i in definition.hotspot_ids if i not in by_id)
    detected = [h for h in present if h.status == "detected"]
    assessed = [h for h in present if h.status == "not_detected" and h.lod is not None and stated_lod is not None
                and h.lod <= stated_lod]
    not_assessed = tuple(_name(h) for h in present if h not in assessed and h not in detected)

    def result(status: str, reason: str) -> NegativeResult:
        return NegativeResult(definition.biomarker, status, tuple(_name(h) for h in assessed), not_assessed,
                              not_tested, reason, definition.citation)

    if detected:
        return result(DETECTED, "detected: " + ", ".join(_name(h) for h in detected))
    if specimen_type == "plasma_cfdna":
        return result(NOT_DETERMINED, "not determined from plasma (a negative cfDNA result may reflect low tumour "
                                      "shedding)")
    gaps = []
    if not_assessed:
        gaps.append(f"not assessable at the stated LoD: {', '.join(not_assessed)}")
    if not_tested:
        gaps.append(f"not on the ordered panels: {', '.join(_genes(not_tested))} ({', '.join(not_tested)})")
    if stated_lod is None:
        gaps.append("no stated LoD for the specimen")
    if gaps:
        return result(NOT_DETERMINED, "; ".join(gaps))
    return result(WILD_TYPE, "assessed and not detected: " + ", ".join(_name(h) for h in assessed))


def assess_all(definitions: Iterable[NegativeDefinition], hotspots: Iterable[HotspotResult], specimen_type: str,
               stated_lod: float | None) -> list[NegativeResult]:
    """Each definition whose genes the sample's hotspot table touches at all (else it was not ordered)."""
    hotspots = list(hotspots)
    genes = {h.gene for h in hotspots}
    return [assess(d, hotspots, specimen_type, stated_lod) for d in definitions
            if genes & set(_genes(d.hotspot_ids))]
