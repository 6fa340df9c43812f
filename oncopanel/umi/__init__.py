"""Unique molecular identifiers (UMIs) for plasma cfDNA: the declared UMI layout, grouping of reads into
molecule families (directional, one-mismatch), and a consensus read per family (single-strand; duplex where the
layout pairs the strands). Thresholds are data: config/umi.yaml (oncopanel.umi.settings)."""

from oncopanel.umi.consensus import FamilyConsensus, duplex_consensus, strand_consensus
from oncopanel.umi.grouping import directional_groups
from oncopanel.umi.layout import UmiLayout, parse_layout
from oncopanel.umi.settings import UmiSettings, load_settings

__all__ = [
    "FamilyConsensus",
    "UmiLayout",
    "UmiSettings",
    "directional_groups",
    "duplex_consensus",
    "load_settings",
    "parse_layout",
    "strand_consensus",
]
