"""Index-hopping cross-talk in a pooled run, from the demultiplexer's report (oncopanel.batch.demux).

The report gives `assigned` read pairs per sample and `hopped_pairs`: pairs whose i7 belongs to one sample and
i5 to another, keyed "I7+I5 (A i7, B i5)". Unique dual indexes catch a pair where one index hopped; a pair where
both indexes hopped to the same other sample is assigned to that sample and cannot be seen.

Model. Each index of a pair is replaced with probability h by an index drawn from the free-adapter pool, i.e. by
sample X's index with probability s_X (X's share of assigned pairs). A pair is seen as hopped when its two
indexes point at different samples, so hopped/total ~= 2h(1 - sum s^2) and h = hopped / (2 total (1 - sum s^2)).
Reads of other samples assigned to X: sum over Y != X of N_Y h^2 s_X^2 = (N - N_X) h^2 s_X^2. This is an
estimate for UDI runs; with combinatorial (shared) indexes hopping is invisible and cross-talk is not measured.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from oncopanel.errors import InputError
from oncopanel.sample_identity.criteria import CrossTalkCriteria, default_criteria

_HOP_KEY = re.compile(r"\((?P<i7>\S+) i7, (?P<i5>\S+) i5\)\s*$")


@dataclass(frozen=True)
class SampleCrossTalk:
    sample_id: str
    assigned_pairs: int
    hopped_pairs_involving: int  # seen hopped pairs carrying this sample's i7 or i5
    expected_foreign_pairs: float  # pairs assigned here that belong to another sample (double hops)
    expected_foreign_fraction: float
    acceptable: bool


@dataclass
class CrossTalkReport:
    assigned_pairs: int
    hopped_pairs: int
    index_hopping_rate: float  # hopped pairs / assigned pairs
    per_index_hop_probability: float
    samples: list[SampleCrossTalk] = field(default_factory=list)
    acceptable: bool = True
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {**{k: v for k, v in self.__dict__.items() if k != "samples"},
                "samples": [s.__dict__ for s in self.samples]}  # fmt: skip


def _hop_sources(hopped: Mapping[str, int]) -> dict[str, int]:
    involving: dict[str, int] = {}
    for key, count in hopped.items():
        m = _HOP_KEY.search(key)
        if not m:
            raise InputError(f"demux report: hopped_pairs key {key!r} does not name its samples")
        for sid in {m["i7"], m["i5"]}:
            involving[sid] = involving.get(sid, 0) + int(count)
    return involving


def index_hopping_rate(demux_report: Mapping, criteria: CrossTalkCriteria | None = None) -> CrossTalkReport:
    """Run-level hopping rate and per-sample cross-talk estimate from a demux_report.json dict."""
    c = criteria or default_criteria().cross_talk
    try:
        assigned = {str(k): int(v) for k, v in demux_report["assigned"].items()}
        hopped_keys = {str(k): int(v) for k, v in demux_report.get("hopped_pairs", {}).items()}
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        raise InputError(f"demux report: not a demultiplexing report ({exc})") from exc
    hopped = int(demux_report.get("hopped", sum(hopped_keys.values())))
    total_assigned = sum(assigned.values())
    rate = hopped / total_assigned if total_assigned else 0.0
    shares = {sid: n / total_assigned for sid, n in assigned.items()} if total_assigned else {}
    diversity = 1 - sum(s * s for s in shares.values())
    total = total_assigned + hopped
    h = hopped / (2 * total * diversity) if total and diversity > 0 else 0.0
    involving = _hop_sources(hopped_keys)
    report = CrossTalkReport(total_assigned, hopped, rate, h)
    for sid, n in assigned.items():
        foreign = (total_assigned - n) * h * h * shares.get(sid, 0.0) ** 2
        fraction = foreign / n if n else 0.0
        ok = fraction <= c.max_foreign_fraction
        report.samples.append(SampleCrossTalk(sid, n, involving.get(sid, 0), foreign, fraction, ok))
        if not ok:
            report.reasons.append(f"sample {sid}: an estimated {fraction:.2%} of its reads belong to other samples "
                                  f"(limit {c.max_foreign_fraction:.2%})")  # fmt: skip
    if rate > c.max_index_hopping_rate:
        report.reasons.insert(0, f"index hopping {rate:.2%} of assigned pairs (limit {c.max_index_hopping_rate:.0%})")
    report.acceptable = not report.reasons
    return report
