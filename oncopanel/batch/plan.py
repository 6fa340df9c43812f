"""Run planning: when to start sequencing runs and which pending samples go into each.

Every sample must be reported by its due date; within that, the fixed cost of runs is what pooling saves, so
the planner fills runs as far as the due dates allow. Time is in whole days. A sample received on day r has its
library ready on r + prep days; on a run of type k started on day t it is reported on t + run_days(k) +
analysis days, so it can go on a run of type k started any run day (the lab's run_weekdays) in
[ready, due - run_days(k) - analysis].

The planner is a day-by-day simulation (no MILP solver needed). A sample's waste-free cost is its share of
the most efficient run type at full use (reads or index slots, whichever binds); a run's waste is its cost
minus the waste-free cost of what it carries.
- Samples whose latest start is today must go today. The planner enumerates multisets of run types with room
  for all of them (cheapest first), packs them first-fit decreasing, tops the runs up earliest-due-first with
  samples that could wait, and keeps the multiset that wastes least. Deciding all of today's forced samples
  together avoids three small runs where one larger run would do.
- Then it works out the least-waste way to sequence the whole pool now and starts those of its runs that are
  already full (every index slot, or the reads at near waste-free cost): waiting would not make them cheaper,
  and starting now shortens turnaround.

`lower_bound` gives a cost no plan can beat: split the calendar into disjoint intervals; the samples whose whole
start window lies inside an interval need runs starting inside it, costing at least the LP relaxation of
covering their read pairs and index slots with run types (and at least one run); a DP over days picks the split
giving the highest total. Per-sample costs (library prep, compute) are added exactly.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from oncopanel.batch.lab import WEEKDAYS, LabConfig, RunType
from oncopanel.batch.manifest import PendingSample
from oncopanel.errors import ValidationError


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
    """A sample in planning units: days from day 0 (run days only) and read pairs."""

    sid: str
    ready: int  # first run day after its library is ready
    latest: dict[str, int]  # per run type: last run day that still meets its due date
    reads: int
    best_case: float  # its cost share at full utilisation of the most efficient run type

    def latest_start(self, run_type: RunType) -> int:
        return self.latest[run_type.name]


def _best_case(reads: int, lab: LabConfig) -> float:
    return min(rt.cost * max(reads / rt.read_pairs, 1 / lab.max_samples_per_run) for rt in lab.run_types)


def _items(samples: Sequence[PendingSample], lab: LabConfig, day0: dt.date) -> list[_Item]:
    def offset(date: dt.date) -> int:
        return (date - day0).days

    items = []
    for s in samples:
        ready = lab.first_run_day(s.received + dt.timedelta(days=lab.library_prep_days))
        latest = {
            rt.name: offset(lab.last_run_day(s.due - dt.timedelta(days=rt.run_days + lab.analysis_days)))
            for rt in lab.run_types
        }
        items.append(_Item(s.sample_id, offset(ready), latest, s.read_pairs, _best_case(s.read_pairs, lab)))
    return items


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


_MAX_RUNS_PER_TYPE = 8  # enumeration bound per run type for one day's decision; beyond it, _greedy_cover


def _combinations(forced: list[_Item], lab: LabConfig, usable: list[RunType]) -> list[tuple[RunType, ...]]:
    """Multisets of run types with room (reads and slots) for the forced samples, cheapest first."""
    reads = sum(i.reads for i in forced)
    limits = [
        min(_MAX_RUNS_PER_TYPE, math.ceil(max(reads / rt.read_pairs, len(forced) / lab.max_samples_per_run)) + 1)
        for rt in usable
    ]
    combos = []
    for counts in itertools.product(*(range(n + 1) for n in limits)):
        runs = tuple(rt for rt, n in zip(usable, counts, strict=True) for _ in range(n))
        if runs and sum(r.read_pairs for r in runs) >= reads and len(runs) * lab.max_samples_per_run >= len(forced):
            combos.append(runs)
    return sorted(combos, key=lambda c: sum(r.cost for r in c))


def _pack(runs: tuple[RunType, ...], forced: list[_Item], others: list[_Item], day: int, lab: LabConfig):
    """Forced samples first-fit decreasing, then others earliest-due-first; None if the forced do not fit."""
    bins: list[tuple[RunType, list[_Item], list[int]]] = [(rt, [], [0]) for rt in runs]

    def place(item: _Item) -> bool:
        for rt, loaded, used in bins:
            if (len(loaded) < lab.max_samples_per_run and used[0] + item.reads <= rt.read_pairs
                    and item.latest_start(rt) >= day):  # fmt: skip
                loaded.append(item)
                used[0] += item.reads
                return True
        return False

    if not all(place(i) for i in sorted(forced, key=lambda i: -i.reads)):
        return None
    for item in others:
        place(item)
    return [(rt, loaded) for rt, loaded, _used in bins if loaded]


def _due_date_aware(items: list[_Item], lab: LabConfig, builder: _Builder) -> None:
    latest = {id(i): max(i.latest.values()) for i in items}
    arrivals: dict[int, list[_Item]] = defaultdict(list)
    for item in items:
        arrivals[item.ready].append(item)
    pool: list[_Item] = []
    for day in range(min(arrivals), max(latest.values()) + 1):
        pool.extend(arrivals.get(day, []))
        pool.sort(key=lambda i: (latest[id(i)], i.ready, i.sid))
        forced = [i for i in pool if latest[id(i)] <= day]
        if forced:
            # Everything forced today goes today: choose the set of runs for all of it at once, filled up
            # with samples that could wait, and keep the set that wastes least.
            others = [i for i in pool if latest[id(i)] > day]
            best = _least_waste(forced, others, day, lab) or _greedy_cover(forced, others, day, lab)
            pool = _launch(builder, day, best, pool)
        if pool and lab.is_run_day(builder.day0 + dt.timedelta(days=day)):
            # Runs that are already full in the cheapest way to sequence the whole pool start now: waiting
            # cannot make them cheaper, and starting shortens turnaround.
            cover = _least_waste(pool, [], day, lab) or []
            full = [(rt, loaded) for rt, loaded in cover if _is_full(rt, loaded, lab)]
            pool = _launch(builder, day, full, pool)


def _is_full(run_type: RunType, loaded: list[_Item], lab: LabConfig) -> bool:
    """Every index slot used, or the reads used up at (near) best-case cost. A run full of reads but dearer than
    best case (a small run stuffed with samples a bigger run would carry more cheaply) waits instead."""
    if len(loaded) == lab.max_samples_per_run:
        return True
    reads = sum(i.reads for i in loaded)
    return reads >= 0.98 * run_type.read_pairs and _waste(run_type, loaded) <= 0.02 * run_type.cost


def _least_waste(must: list[_Item], may: list[_Item], day: int, lab: LabConfig):
    """Runs starting on `day` that take all of `must` and what fits of `may`, wasting least (None if none can)."""
    usable = [rt for rt in lab.run_types if any(i.latest_start(rt) >= day for i in must)]
    best, best_waste = None, math.inf
    ceiling = sum(i.best_case for i in must) + sum(i.best_case for i in may)
    for combo in _combinations(must, lab, usable):
        if sum(r.cost for r in combo) - ceiling >= best_waste:
            break  # cheapest first: no later combination can waste less
        packed = _pack(combo, must, may, day, lab)
        if packed is not None:
            waste = sum(_waste(rt, loaded) for rt, loaded in packed)
            if waste < best_waste:
                best, best_waste = packed, waste
    return best


def _greedy_cover(must: list[_Item], may: list[_Item], day: int, lab: LabConfig) -> list:
    """Fallback when too many samples are forced for the enumeration: largest usable runs, filled in turn."""
    runs = []
    while must:
        usable = [rt for rt in lab.run_types if must[0].latest_start(rt) >= day]
        rt = max(usable, key=lambda r: (r.read_pairs, -r.cost))
        in_time = [i for i in must if i.latest_start(rt) >= day], [i for i in may if i.latest_start(rt) >= day]
        loaded = _fill(rt, *in_time, lab)
        runs.append((rt, loaded))
        taken = {id(i) for i in loaded}
        must = [i for i in must if id(i) not in taken]
        may = [i for i in may if id(i) not in taken]
    return runs


def _launch(builder: _Builder, day: int, runs: list[tuple[RunType, list[_Item]]], pool: list[_Item]) -> list[_Item]:
    taken = set()
    for rt, loaded in runs:
        builder.start(rt, day, loaded)
        taken |= {id(i) for i in loaded}
    return [i for i in pool if id(i) not in taken]


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
            fitting = [r for r in lab.run_types if len(_fill(r, batch, [], lab)) == len(batch)]
            rt = min(fitting, key=lambda r: r.cost, default=None)
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
    impossible = [
        f"sample {s.sample_id}: due {s.due} cannot be met (received {s.received}, run days "
        f"{', '.join(WEEKDAYS[d] for d in lab.run_weekdays)})"
        for s in samples
        if not lab.can_meet(s.received, s.due)
    ]
    if impossible:
        raise ValidationError(impossible)
    day0 = min(s.received for s in samples)
    plan = Plan(strategy if strategy != "fixed_batch" else f"fixed_batch_{batch_size}", lab,
                {s.sample_id: s for s in samples})  # fmt: skip
    if strategy == "pooled":
        builder = _Builder(lab, day0, "R")
        _due_date_aware(_items(samples, lab, day0), lab, builder)
        plan.runs = builder.runs
    elif strategy == "per_site":
        for site in sorted({s.site for s in samples}):
            builder = _Builder(lab, day0, re.sub(r"[^A-Za-z0-9_.-]", "_", site) + "_R")
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
    windows = [(i.ready, max(i.latest.values()), i.reads) for i in _items(samples, lab, day0)]
    lo = min(w[0] for w in windows)
    hi = max(max(w[1] for w in windows), lo)
    span = hi - lo + 1
    # Per start window [e, l]: sample count, read pairs and smallest sample; then accumulated so that cell
    # [s, t] covers every window with e >= s and l <= t.
    count = np.zeros((span, span))
    reads = np.zeros((span, span))
    smallest = np.full((span, span), np.inf)
    for ready, latest, r in windows:
        first, last = ready - lo, min(max(latest, ready), hi) - lo
        count[first, last] += 1
        reads[first, last] += r
        smallest[first, last] = min(smallest[first, last], r)
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
    rows.append({"strategy": "lower_bound", "samples": len(samples), "cost_per_sample": round(bound, 2),
                 "run_cost_per_sample": round(bound - lab.per_sample_cost, 2)})  # fmt: skip
    return rows
