"""The clinical constants the calling, the result, its checks and the PDF share, each with one home: the reporting
policy (reports/reporting.yaml), read once through the settings layer."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

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


# The constants, read from the policy file when first used (PEP 562): a job that never asks for them (a tumour's
# calling_finalize) does not read and check reports/reporting.yaml, nor import the settings layer's YAML and schema
# libraries for it (issue 21).
_CONSTANTS = {
    "GERMLINE_GENES": "germline_genes",
    "REPORTED_GERMLINE": "reported_germline_classes",
    "INFORMATIONAL_FILTERS": "informational_filters",
    "COVERAGE_THRESHOLD": "coverage_threshold",
    "LOW_COVERAGE_FRACTION": "low_coverage_fraction",
}


@functools.cache
def policy() -> ReportingPolicy:
    """reports/reporting.yaml's policy, read and checked once."""
    return load_policy()


def __getattr__(name: str) -> Any:
    if name == "POLICY":
        return policy()
    if name in _CONSTANTS:
        return getattr(policy(), _CONSTANTS[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
