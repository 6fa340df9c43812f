"""Run planning: when to start sequencing runs and which pending samples go into each.

Every sample must be reported by its due date; within that, the fixed cost of runs is what pooling saves, so
the planner fills runs as far as the due dates allow. Time is in whole days. A sample received on day r has its
library ready on r + prep days; on a run of type k started on day t it is reported on t + run_days(k) +
analysis days, so it can go on a run of type k started any day in [ready, due - run_days(k) - analysis].

The planner is a day-by-day simulation (no MILP solver needed):
- a sample whose latest start is today forces a run today; the planner tries each run type that still meets
  the forced samples' due dates, fills it earliest-due-first from the pool, and keeps the run that wastes least:
  run cost minus the best-case cost of the samples it carries (each sample's share at full utilisation of the
  most efficient run type). Samples left out are assumed to travel later at that best case;
- a run that the pool can fill to its best-case cost is started at once: waiting would not make it cheaper,
  and starting now shortens turnaround.

`lower_bound` gives a cost no plan can beat: split the calendar into disjoint intervals; the samples whose whole
start window lies inside an interval need runs starting inside it, costing at least the LP relaxation of
covering their read pairs and index slots with run types (and at least one run); a DP over days picks the split
giving the highest total. Per-sample costs (library prep, compute) are added exactly.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from oncopanel.batch.lab import LabConfig, RunType
from oncopanel.batch.manifest import PendingSample


@dataclass(frozen=True)
class PlannedRun:
    run_id: str
    run_type: RunType
    start: dt.date
    reported: dt.date
    sample_ids: tuple[str, ...]
    read_pairs: int  # what its samples need, <= run_type.read_pairs

    @property
    def utilisation(self) -> float:
        return self.read_pairs / self.run_type.read_pairs


@dataclass
class Plan:
    strategy: str
    lab: LabConfig
    samples: dict[str, PendingSample]
    runs: list[PlannedRun] = field(default_factory=list)

    def run_of(self) -> dict[str, PlannedRun]:
        return {sid: run for run in self.runs for sid in run.sample_ids}

    @property
    def run_cost(self) -> float:
        return sum(r.run_type.cost for r in self.runs)

    @property
    def total_cost(self) -> float:
        return self.run_cost + len(self.samples) * self.lab.per_sample_cost

    @property
    def cost_per_sample(self) -> float:
        return self.total_cost / max(len(self.samples), 1)

    def turnaround_days(self) -> dict[str, int]:
        return {sid: (run.reported - self.samples[sid].received).days for sid, run in self.run_of().items()}

    def late_samples(self) -> list[str]:
        return sorted(sid for sid, run in self.run_of().items() if run.reported > self.samples[sid].due)

    def summary(self) -> dict[str, float | int | str]:
        tat = list(self.turnaround_days().values()) or [0]
        return {
            "strategy": self.strategy,
            "samples": len(self.samples),
            "runs": len(self.runs),
            "cost_per_sample": round(self.cost_per_sample, 2),
            "run_cost_per_sample": round(self.run_cost / max(len(self.samples), 1), 2),
            "mean_turnaround_days": round(float(np.mean(tat)), 2),
            "worst_turnaround_days": max(tat),
            "late_samples": len(self.late_samples()),
            "mean_read_utilisation": round(float(np.mean([r.utilisation for r in self.runs])), 3) if self.runs else 0,
        }


@dataclass
class _Item:
    """A sample in planning units: days from day 0 and read pairs."""

    sid: str
    ready: int
    due: int
    reads: int
    best_case: float  # its cost share at full utilisation of the most efficient run type

    def latest_start(self, run_type: RunType, analysis_days: int) -> int:
        return self.due - analysis_days - run_type.run_days


def _best_case(reads: int, lab: LabConfig) -> float:
    return min(rt.cost * max(reads / rt.read_pairs, 1 / lab.max_samples_per_run) for rt in lab.run_types)


def _items(samples: Sequence[PendingSample], lab: LabConfig, day0: dt.date) -> list[_Item]:
    return [
        _Item(s.sample_id, (s.received - day0).days + lab.library_prep_days, (s.due - day0).days, s.read_pairs,
              _best_case(s.read_pairs, lab))
        for s in samples
    ]  # fmt: skip


def _fill(run_type: RunType, first: list[_Item], rest: list[_Item], lab: LabConfig) -> list[_Item]:
    """Load `first` then `rest` (each already in priority order) while reads and index slots last."""
    loaded: list[_Item] = []
    reads = 0
    for item in [*first, *rest]:
        if len(loaded) >= lab.max_samples_per_run:
            break
        if reads + item.reads <= run_type.read_pairs:
            loaded.append(item)
            reads += item.reads
    return loaded


def _waste(run_type: RunType, loaded: list[_Item]) -> float:
    return run_type.cost - sum(i.best_case for i in loaded)


class _Builder:
    def __init__(self, lab: LabConfig, day0: dt.date, prefix: str):
        self.lab, self.day0, self.prefix = lab, day0, prefix
        self.runs: list[PlannedRun] = []

    def start(self, run_type: RunType, day: int, loaded: list[_Item]) -> None:
        start = self.day0 + dt.timedelta(days=day)
        reported = start + dt.timedelta(days=run_type.run_days + self.lab.analysis_days)
        run_id = f"{self.prefix}{start:%Y%m%d}_{sum(r.start == start for r in self.runs) + 1:02d}"
        self.runs.append(
            PlannedRun(run_id, run_type, start, reported, tuple(i.sid for i in loaded), sum(i.reads for i in loaded))
        )


def _due_date_aware(items: list[_Item], lab: LabConfig, builder: _Builder) -> None:
    analysis = lab.analysis_days
    fastest_latest = {id(i): max(i.latest_start(rt, analysis) for rt in lab.run_types) for i in items}
    arrivals: dict[int, list[_Item]] = defaultdict(list)
    for item in items:
        arrivals[item.ready].append(item)
    pool: list[_Item] = []
    last_day = max(fastest_latest.values())
    for day in range(min(arrivals), last_day + 1):
        pool.extend(arrivals.get(day, []))
        while pool:
            pool.sort(key=lambda i: (fastest_latest[id(i)], i.ready, i.sid))
            forced = [i for i in pool if fastest_latest[id(i)] <= day]
            best = None
            for rt in lab.run_types:
                eligible = [i for i in pool if i.latest_start(rt, analysis) >= day]
                if forced:
                    if any(i.latest_start(rt, analysis) < day for i in forced):
                        continue
                    loaded = _fill(rt, forced, [i for i in eligible if fastest_latest[id(i)] > day], lab)
                else:
                    loaded = _fill(rt, [], eligible, lab)
                    # Not forced: start only a run already as cheap as it can be.
                    if not loaded or _waste(rt, loaded) > 0.02 * rt.cost:
                        continue
                if loaded and (best is None or _waste(rt, loaded) < _waste(best[0], best[1])):
                    best = (rt, loaded)
            if best is None:
                break
            builder.start(best[0], day, best[1])
            taken = {id(i) for i in best[1]}
            pool = [i for i in pool if id(i) not in taken]


def _fixed_batch(items: list[_Item], lab: LabConfig, builder: _Builder, batch_size: int) -> None:
    """What many labs do: start a run whenever `batch_size` samples wait (and flush the rest at the end)."""
    items = sorted(items, key=lambda i: (i.ready, i.sid))
    pool: list[_Item] = []
    by_day: dict[int, list[_Item]] = defaultdict(list)
    for item in items:
        by_day[item.ready].append(item)
    days = sorted(by_day)
    for day in days:
        pool.extend(by_day[day])
        while len(pool) >= batch_size or (day == days[-1] and pool):
            batch = pool[:batch_size]
            rt = min((r for r in lab.run_types if _fill(r, batch, [], lab) == batch), key=lambda r: r.cost, default=None)
            if rt is None:  # the batch does not fit one run: take what the largest run holds
                rt = max(lab.run_types, key=lambda r: r.read_pairs)
                batch = _fill(rt, batch, [], lab)
            builder.start(rt, day, batch)
            pool = pool[len(batch) :]


def plan_runs(
    samples: Sequence[PendingSample], lab: LabConfig, strategy: str = "pooled", batch_size: int | None = None
) -> Plan:
    """Plan runs for `samples`.

    strategy: "pooled" (all sites together, due-date aware), "per_site" (the same planner run for each site on
    its own: what the sites would pay sequencing separately), or "fixed_batch" (start a run whenever
    `batch_size` samples wait, ignoring due dates: the usual rule of thumb).
    """
    if not samples:
        return Plan(strategy, lab, {})
    day0 = min(s.received for s in samples)
    plan = Plan(strategy if strategy != "fixed_batch" else f"fixed_batch_{batch_size}", lab,
                {s.sample_id: s for s in samples})  # fmt: skip
    if strategy == "pooled":
        builder = _Builder(lab, day0, "R")
        _due_date_aware(_items(samples, lab, day0), lab, builder)
        plan.runs = builder.runs
    elif strategy == "per_site":
        for site in sorted({s.site for s in samples}):
            builder = _Builder(lab, day0, f"{site}_R")
            _due_date_aware(_items([s for s in samples if s.site == site], lab, day0), lab, builder)
            plan.runs.extend(builder.runs)
    elif strategy == "fixed_batch":
        if not batch_size or batch_size < 1:
            raise ValueError("fixed_batch needs a batch_size >= 1")
        builder = _Builder(lab, day0, f"B{batch_size}_R")
        _fixed_batch(_items(samples, lab, day0), lab, builder, min(batch_size, lab.max_samples_per_run))
        plan.runs = builder.runs
    else:
        raise ValueError(f"unknown strategy {strategy!r}")
    plan.runs.sort(key=lambda r: (r.start, r.run_id))
    return plan


def _lp_run_cost(reads: float, count: int, smallest: int, lab: LabConfig) -> float:
    """Least cost of fractional runs covering `reads` read pairs and `count` samples (a 2-row LP, by vertices).

    A run of type k holds at most min(index slots, capacity / smallest sample) samples: without that, a small
    cheap run would be counted as offering all its index slots to samples it has no reads for.
    """
    if count == 0:
        return 0.0
    offers = [(rt.cost, rt.read_pairs, min(lab.max_samples_per_run, rt.read_pairs // smallest)) for rt in lab.run_types]
    best = math.inf
    for cost, cap, slots in offers:
        best = min(best, cost * max(reads / cap, count / slots))
    for cost_a, cap_a, slots_a in offers:  # both rows tight: solve the 2x2 system
        for cost_b, cap_b, slots_b in offers:
            det = cap_a * slots_b - cap_b * slots_a
            if det == 0:
                continue
            x = (reads * slots_b - cap_b * count) / det
            y = (cap_a * count - slots_a * reads) / det
            if x >= 0 and y >= 0:
                best = min(best, cost_a * x + cost_b * y)
    fewest_runs = math.ceil(max(reads / max(o[1] for o in offers), count / max(o[2] for o in offers)))
    return max(best, fewest_runs * min(o[0] for o in offers))


def lower_bound(samples: Sequence[PendingSample], lab: LabConfig) -> float:
    """Total cost (runs + per-sample costs) below which no plan meeting every due date can go."""
    if not samples:
        return 0.0
    day0 = min(s.received for s in samples)
    fastest = min(rt.run_days for rt in lab.run_types)
    windows = [(i.ready, i.due - lab.analysis_days - fastest, i.reads) for i in _items(samples, lab, day0)]
    lo = min(w[0] for w in windows)
    hi = max(max(w[1] for w in windows), lo)
    span = hi - lo + 1
    # Per start window [e, l]: sample count, read pairs and smallest sample; then accumulated so that cell
    # [s, t] covers every window with e >= s and l <= t.
    count = np.zeros((span, span))
    reads = np.zeros((span, span))
    smallest = np.full((span, span), np.inf)
    for ready, latest, r in windows:
        e, l = ready - lo, min(max(latest, ready), hi) - lo
        count[e, l] += 1
        reads[e, l] += r
        smallest[e, l] = min(smallest[e, l], r)
    count = count[::-1].cumsum(axis=0)[::-1].cumsum(axis=1)
    reads = reads[::-1].cumsum(axis=0)[::-1].cumsum(axis=1)
    smallest = np.minimum.accumulate(np.minimum.accumulate(smallest[::-1], axis=0)[::-1], axis=1)
    best = np.zeros(span + 1)  # best[t]: bound from disjoint intervals within days lo .. lo + t - 1
    for t in range(1, span + 1):
        best[t] = best[t - 1]
        for s in range(t):
            n = round(count[s, t - 1])
            if n > 0:
                run_cost = _lp_run_cost(reads[s, t - 1], n, int(smallest[s, t - 1]), lab)
                best[t] = max(best[t], best[s] + run_cost)
    return float(best[span]) + len(samples) * lab.per_sample_cost


def compare_strategies(
    samples: Sequence[PendingSample], lab: LabConfig, batch_sizes: Iterable[int] = (8, 24, 48, 96)
) -> list[dict[str, float | int | str]]:
    """The trade-off table: the pooled plan, each site on its own, fixed batch sizes, and the lower bound."""
    rows = [plan_runs(samples, lab, "pooled").summary(), plan_runs(samples, lab, "per_site").summary()]
    rows += [plan_runs(samples, lab, "fixed_batch", b).summary() for b in batch_sizes]
    bound = lower_bound(samples, lab) / max(len(samples), 1)
    rows.append({"strategy": "lower_bound", "samples": len(samples), "cost_per_sample": round(bound, 2)})
    return rows
