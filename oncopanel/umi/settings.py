"""config/umi.yaml, checked against workflow/schemas/umi.schema.yaml by the one settings loader."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oncopanel import paths, settings

UMI_YAML = paths.CONFIG / "umi.yaml"


@dataclass(frozen=True)
class GroupingSettings:
    max_umi_mismatches: int
    directional_ratio: float


@dataclass(frozen=True)
class ConsensusSettings:
    min_family_size: int
    min_input_base_quality: int
    max_input_base_quality: int
    pcr_error_rate: float
    min_consensus_quality: int
    max_consensus_quality: int
    max_duplex_quality: int
    min_duplex_strand_reads: int


@dataclass(frozen=True)
class UmiSettings:
    grouping: GroupingSettings
    consensus: ConsensusSettings
    hotspot_background: dict[str, float]  # calling.hotspots.background for consensus reads
    min_vaf: float  # calling.somatic.filters.min_vaf for consensus reads
    source: str


def from_dict(doc: dict[str, Any], source: str = "config/umi.yaml") -> UmiSettings:
    doc = settings.check(doc, "umi.schema.yaml", source)
    return UmiSettings(
        grouping=GroupingSettings(**doc["grouping"]),
        consensus=ConsensusSettings(**doc["consensus"]),
        hotspot_background=dict(doc["hotspots"]),
        min_vaf=doc["somatic"]["min_vaf"],
        source=source,
    )


def load_settings(path: Path | str | None = None) -> UmiSettings:
    path = Path(path or UMI_YAML)
    return from_dict(settings.read_yaml(path), str(path))


def consensus_calling_block(calling: dict[str, Any], umi: UmiSettings) -> dict[str, Any]:
    """The calling block for a sample called on consensus reads: the hotspot test against the consensus
    background error (config/umi.yaml ``hotspots``) instead of the raw-read one, the somatic background test at
    the same consensus rates, and the somatic reporting floor of consensus reads (``somatic.min_vaf``); everything
    else unchanged."""
    block = copy.deepcopy(calling)
    block["hotspots"]["background"] = dict(umi.hotspot_background)
    block["somatic"]["filters"]["min_vaf"] = umi.min_vaf
    # the VCF's background test too, so a hotspot the rule detects is not filtered as below a raw-read background
    bg = umi.hotspot_background
    block["somatic"]["filters"]["background"]["snv_error_rate"] = bg["substitution_error_rate"]
    block["somatic"]["filters"]["background"]["indel_error_rate"] = max(
        bg["deletion_error_rate"], bg["insertion_error_rate"]
    )
    return block
