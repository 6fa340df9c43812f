"""The clinical constants the calling, the result, its checks and the PDF share, each with one home: the reporting
policy (reports/reporting.yaml), read once through the settings layer."""

from __future__ import annotations

from dataclasses import dataclass

from oncopanel import paths, settings

POLICY_FILE = paths.REPORTS / "reporting.yaml"


@dataclass(frozen=True)
class ReportingPolicy:
    germline_genes: tuple[str, ...]
    reported_germline_classes: tuple[str, ...]
    informational_filters: tuple[str, ...]
    coverage_threshold: int
    low_coverage_fraction: float


def load_policy(path=POLICY_FILE) -> ReportingPolicy:
    doc = settings.load(path, "reporting.schema.yaml")
    return ReportingPolicy(
        germline_genes=tuple(doc["germline_genes"]),
        reported_germline_classes=tuple(doc["reported_germline_classes"]),
        informational_filters=tuple(doc["informational_filters"]),
        coverage_threshold=doc["coverage_threshold"],
        low_coverage_fraction=doc["low_coverage_fraction"],
    )


POLICY = load_policy()
GERMLINE_GENES = POLICY.germline_genes
REPORTED_GERMLINE = POLICY.reported_germline_classes
INFORMATIONAL_FILTERS = POLICY.informational_filters
COVERAGE_THRESHOLD = POLICY.coverage_threshold
LOW_COVERAGE_FRACTION = POLICY.low_coverage_fraction
