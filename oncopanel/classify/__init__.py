"""Classification of annotated variants: germline BRCA1/2 (ENIGMA, then PVS1 rules) and somatic AMP tiers."""

from oncopanel.classify.germline import (
    GermlineFinding,
    GermlineReport,
    classify_findings,
    classify_germline,
    exon_label,
    legacy_exon_label,
    reportable_germline,
)
from oncopanel.classify.somatic import TierResult, somatic_tier

__all__ = [
    "GermlineFinding",
    "GermlineReport",
    "TierResult",
    "classify_findings",
    "classify_germline",
    "exon_label",
    "legacy_exon_label",
    "reportable_germline",
    "somatic_tier",
]
