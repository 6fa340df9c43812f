"""Run planning: due dates met, cheaper than per-site sequencing, near a computed lower bound; bad input refused."""

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from oncopanel.batch import plan as plan_module
from oncopanel.batch.lab import lab_config_from_dict, load_lab_config
from oncopanel.batch.manifest import PendingSample, read_manifest
from oncopanel.batch.plan import compare_strategies, lower_bound, plan_runs
from oncopanel.errors import ValidationError

DATA = Path(__file__).parent / "data" / "batch"


@pytest.fixture(scope="module")
def lab():
    return load_lab_config(DATA / "lab.yaml")


@pytest.fixture(scope="module")
def samples(lab):
    return read_manifest(DATA / "manifest.tsv", lab)


@pytest.fixture(scope="module")
def plan(samples, lab):
    return plan_runs(samples, lab)


def test_plan_meets_every_due_date(plan, samples, lab):
    run_of = plan.run_of()
    assert sorted(run_of) == sorted(s.sample_id for s in samples)  # every sample on exactly one run
    assert sum(len(r.sample_ids) for r in plan.runs) == len(samples)
    for s in samples:
        run = run_of[s.sample_id]
        assert run.start >= s.received + dt.timedelta(days=lab.library_prep_days)
        assert run.reported <= s.due, s.sample_id
    assert plan.late_samples() == []


def test_runs_respect_capacity_and_index_slots(plan, lab):
    for run in plan.runs:
        assert run.read_pairs <= run.run_type.read_pairs
        assert len(run.sample_ids) <= lab.max_samples_per_run
        assert run.reported == run.start + dt.timedelta(days=run.run_type.run_days + lab.analysis_days)


def test_pooled_plan_costs_no_more_than_each_site_alone(plan, samples, lab):
    per_site = plan_runs(samples, lab, "per_site")
    assert per_site.late_samples() == []
    assert plan.cost_per_sample <= per_site.cost_per_sample
    # On this manifest pooling saves a lot: the sites' runs are a third full.
    assert plan.run_cost < 0.6 * per_site.run_cost


def test_plan_within_ten_percent_of_lower_bound(plan, samples, lab):
    bound = lower_bound(samples, lab)
    assert bound <= plan.total_cost + 1e-6
    assert plan.total_cost <= 1.10 * bound
    # The run costs alone (the part planning controls) are within 10% of their bound too.
    run_bound = bound - len(samples) * lab.per_sample_cost
    assert plan.run_cost <= 1.10 * run_bound


def test_lower_bound_never_above_any_feasible_plan(samples, lab):
    bound = lower_bound(samples, lab)
    for strategy in ("pooled", "per_site"):
        assert bound <= plan_runs(samples, lab, strategy).total_cost + 1e-6


def _sample(sid, received, due, panels=("EGFR_KRAS",), lab=None):
    return PendingSample(sid, "S1", received, panels, due, lab.read_pairs_for(panels))


def test_lower_bound_hand_checked(lab):
    day = dt.date(2026, 3, 2)
    # Three small samples that can share one run: one small run.
    same_week = [_sample(f"A{i}", day, day + dt.timedelta(days=7), lab=lab) for i in range(3)]
    assert lower_bound(same_week, lab) == pytest.approx(9000 + 3 * lab.per_sample_cost)
    assert plan_runs(same_week, lab).total_cost == pytest.approx(lower_bound(same_week, lab))
    # Two samples whose start windows cannot overlap need two runs.
    apart = [_sample("B1", day, day + dt.timedelta(days=3), lab=lab),
             _sample("B2", day + dt.timedelta(days=10), day + dt.timedelta(days=13), lab=lab)]  # fmt: skip
    assert lower_bound(apart, lab) == pytest.approx(2 * 9000 + 2 * lab.per_sample_cost)
    assert len(plan_runs(apart, lab).runs) == 2


def test_urgent_sample_waits_for_nobody(lab):
    day = dt.date(2026, 3, 2)
    urgent = _sample("U1", day, day + dt.timedelta(days=3), lab=lab)
    plan = plan_runs([urgent], lab)
    assert [r.start for r in plan.runs] == [day + dt.timedelta(days=1)]
    assert plan.turnaround_days() == {"U1": 3}


def test_full_run_starts_without_waiting_for_due_dates(lab):
    day = dt.date(2026, 3, 2)
    many = [_sample(f"F{i:03d}", day, day + dt.timedelta(days=7), lab=lab) for i in range(96)]
    plan = plan_runs(many, lab)
    assert len(plan.runs) == 1
    assert plan.runs[0].start == day + dt.timedelta(days=1)  # 96 x 0.6 M pairs fill a medium run's index slots
    assert plan.runs[0].run_type.name == "medium"


def test_tradeoff_table_lists_strategies(samples, lab):
    rows = {r["strategy"]: r for r in compare_strategies(samples, lab, batch_sizes=(24, 96))}
    assert set(rows) == {"pooled", "per_site", "fixed_batch_24", "fixed_batch_96", "lower_bound"}
    assert rows["pooled"]["late_samples"] == 0
    # Big fixed batches are cheap but miss due dates: the trade-off the table shows.
    assert rows["fixed_batch_96"]["cost_per_sample"] < rows["pooled"]["cost_per_sample"]
    assert rows["fixed_batch_96"]["late_samples"] > 0


def test_bad_manifest_refused_with_every_problem(lab):
    with pytest.raises(ValidationError) as err:
        read_manifest(DATA / "manifest_bad.tsv", lab)
    problems = err.value.problems
    assert len(problems) == 4
    text = "\n".join(problems)
    assert "row 4 (sample P000001): column sample_id: duplicate sample id 'P000001' (first at row 2)" in text
    assert "row 3 (sample P000002): column panels: unknown panel 'LUNG9'" in text
    assert (
        "row 5 (sample P000004): column due_date: due 2026-01-07 is impossible: received 2026-01-06, the earliest "
        "run starts 2026-01-07 (Wed) after library prep, and the fastest run (1 d) + analysis (1 d) end 2026-01-09"
    ) in text
    assert "row 6 (sample P000005): column priority: unknown priority 'stat'" in text
    assert all(p.startswith(str(DATA / "manifest_bad.tsv")) for p in problems)


def test_manifest_missing_columns_refused(tmp_path, lab):
    path = tmp_path / "m.tsv"
    path.write_text("sample_id\tpanels\nX1\tBRCA\n")
    with pytest.raises(ValidationError, match="missing required column\\(s\\): site, received_date"):
        read_manifest(path, lab)


def test_bad_lab_config_lists_every_problem():
    with pytest.raises(ValidationError) as err:
        lab_config_from_dict({
            "run_types": [{"name": "x", "read_pairs": 0, "cost": "cheap", "run_days": 1}],
            "max_samples_per_run": 96, "panel_read_pairs": {"BRCA": -1},
            "library_prep": {"cost_per_sample": 1, "days": 1}, "compute": {"cost_per_cpu_hour": 1,
            "cpu_seconds_per_sample": 1, "days": 1}, "turnaround_days": {"urgent": 3}, "chemistry": "one_colour",
        })  # fmt: skip
    assert err.value.problems == [
        "lab config: chemistry: 'one_colour' is not allowed (closest known value: two_colour)",
        "lab config: panel_read_pairs.BRCA: must be >= 1 (got -1)",
        "lab config: run_types[0].cost: must be a number (got 'cheap')",
        "lab config: run_types[0].read_pairs: must be >= 1 (got 0)",
        "lab config: turnaround_days.routine: missing",
    ]


def test_runs_start_only_on_run_days_and_weekend_urgent_refused(lab, samples, tmp_path):
    plan = plan_runs(samples, lab)
    assert all(run.start.weekday() != 6 for run in plan.runs)  # lab.yaml: no runs start on Sunday
    weekdays_only = dataclasses.replace(lab, run_weekdays=(0, 1, 2, 3, 4))
    with pytest.raises(ValidationError, match=r"due 2026-01-12 cannot be met \(received 2026-01-09"):
        plan_runs(samples, weekdays_only)  # this manifest has urgent samples received on Fridays
    samples = [s for s in samples if weekdays_only.can_meet(s.received, s.due)]
    plan = plan_runs(samples, weekdays_only)
    assert all(run.start.weekday() < 5 for run in plan.runs) and plan.late_samples() == []
    assert lower_bound(samples, weekdays_only) >= lower_bound(samples, lab) - 1e-6
    # Urgent (3 days) received on a Friday: library ready Saturday, no run until Monday, report Wednesday.
    manifest = tmp_path / "friday.tsv"
    manifest.write_text("sample_id\tsite\treceived_date\tpanels\tpriority\nU1\tS1\t2026-01-09\tBRCA\turgent\n")
    with pytest.raises(ValidationError, match="column priority: due 2026-01-12 is impossible"):
        read_manifest(manifest, weekdays_only)
    assert [s.sample_id for s in read_manifest(manifest, lab)] == ["U1"]  # Saturday runs make it


def test_many_samples_forced_on_one_day_all_placed(lab, monkeypatch):
    day = dt.date(2026, 3, 2)
    rush = [_sample(f"R{i:03d}", day, day + dt.timedelta(days=3), ("BRCA",), lab=lab) for i in range(300)]
    plan = plan_runs(rush, lab)
    assert plan.late_samples() == [] and len(plan.run_of()) == 300
    monkeypatch.setattr(plan_module, "_MAX_RUNS_PER_TYPE", 1)  # too few to enumerate: the greedy fallback
    fallback = plan_runs(rush, lab)
    assert fallback.late_samples() == [] and len(fallback.run_of()) == 300
    assert all(r.read_pairs <= r.run_type.read_pairs for r in fallback.runs)
