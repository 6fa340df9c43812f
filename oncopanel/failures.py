"""Why a sample has no clinical result, as one of four kinds, decided once and carried in the result.

The kinds and the mapping of every reason to one of them are data (``reports/failure_kinds.yaml``); the wording a
clinician reads is in the text sets (``failure.kinds.<kind>``). A clinical document shows the kind's wording, the
failed QC gates and the next step, never exception text: the lab reads the technical detail in the logs and in
``batch/status.json``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from enum import StrEnum

from oncopanel import settings
from oncopanel.errors import ValidationError
from oncopanel.paths import REPORTS
from oncopanel.qc import is_metric_name, metric_names


class FailureKind(StrEnum):
    NEW_SPECIMEN = "new_specimen"
    RETEST = "retest"
    ANALYSIS_INCOMPLETE = "analysis_incomplete"
    HELD = "held"


# A result of these kinds waits for the lab: a later run replaces it (the old version is kept as superseded).
# A reported result or a request for a new specimen changes only by an explicit amendment.
PROVISIONAL = frozenset({FailureKind.RETEST, FailureKind.ANALYSIS_INCOMPLETE, FailureKind.HELD})
# Gravity when several reasons apply: the specimen's own inadequacy decides first.
_PRECEDENCE = (FailureKind.NEW_SPECIMEN, FailureKind.RETEST, FailureKind.ANALYSIS_INCOMPLETE, FailureKind.HELD)


POLICY_FILE = REPORTS / "failure_kinds.yaml"


@functools.cache
def policy() -> dict:
    """reports/failure_kinds.yaml checked by the settings layer; its gate metrics must be metrics QC computes."""
    data = settings.load(POLICY_FILE, "failure_kinds.schema.yaml")
    problems = [
        f"{POLICY_FILE}: gates.{metric}: unknown QC metric{settings.hint(metric, metric_names([100]), 'metric')}"
        for metric in data["gates"]
        if not is_metric_name(metric)
    ]
    if problems:
        raise ValidationError(problems)
    return data


def _default() -> FailureKind:
    return FailureKind(policy()["default"])


def kind_of_gates(metrics: Iterable[str]) -> FailureKind:
    """The kind of a set of failed QC gates: the gravest among them."""
    table = policy()["gates"]
    return gravest(FailureKind(table.get(m, _default())) for m in metrics)


def kind_of_qc_reasons(codes: Iterable[str]) -> FailureKind:
    """The kind of a QC JSON's reason codes: ``gate:<metric>``, an input problem code, or another QC reason."""
    data, kinds = policy(), []
    for code in codes:
        if code.startswith("gate:"):
            kinds.append(data["gates"].get(code.removeprefix("gate:"), data["default"]))
        else:
            kinds.append(data["qc_reasons"].get(code) or data["input_problems"].get(code) or data["default"])
    return gravest(FailureKind(k) for k in kinds)


def kind_of_input_problems(codes: Iterable[str]) -> FailureKind:
    table = policy()["input_problems"]
    return gravest(FailureKind(table.get(c, _default())) for c in codes)


def gravest(kinds: Iterable[FailureKind]) -> FailureKind:
    found = set(kinds)
    return next((k for k in _PRECEDENCE if k in found), _default())


def next_report_date(kind: FailureKind, reported_date: str) -> str:
    """When the lab promises the new report: reported date + the kind's working days ("" when none applies)."""
    days = policy()["next_report_days"].get(kind.value)
    if days is None or not reported_date:
        return ""
    day = date.fromisoformat(reported_date)
    while days:
        day += timedelta(days=1)
        days -= day.weekday() < 5
    return day.isoformat()


def is_provisional(result: Mapping) -> bool:
    failure = result.get("failure") or {}
    return result.get("status") == "failed" and failure.get("kind", "") in PROVISIONAL
