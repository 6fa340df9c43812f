"""Cost and turnaround ledger: run shares add up, compute comes from benchmark files, turnaround is counted."""

import datetime as dt
from pathlib import Path

import pytest

from oncopanel.batch.lab import load_lab_config
from oncopanel.batch.ledger import batch_ledger, cost_ledger, ledger_by_run, write_ledger
from oncopanel.batch.manifest import read_manifest
from oncopanel.batch.plan import plan_runs

DATA = Path(__file__).parent / "data" / "batch"
BENCHMARK_HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


@pytest.fixture(scope="module")
def plan():
    lab = load_lab_config(DATA / "lab.yaml")
    return plan_runs(read_manifest(DATA / "manifest.tsv", lab), lab)


def test_run_cost_shared_by_reads_and_totals_add_up(plan):
    rows = cost_ledger(plan)
    assert len(rows) == len(plan.samples)
    for run in plan.runs:
        members = [r for r in rows if r.run_id == run.run_id]
        assert sum(r.run_share for r in members) == pytest.approx(run.run_type.cost, abs=0.05)
        by_reads = {r.read_pairs: r.run_share / r.read_pairs for r in members}
        assert max(by_reads.values()) == pytest.approx(min(by_reads.values()), rel=1e-3)
    assert sum(r.total for r in rows) == pytest.approx(plan.total_cost, rel=1e-6)
    assert all(r.on_time for r in rows)
    row = rows[0]
    received, reported = dt.date.fromisoformat(row.received_date), dt.date.fromisoformat(row.reported_date)
    assert row.turnaround_days == (reported - received).days
    assert row.compute == pytest.approx(240 / 3600 * 1.5, abs=0.01)


def test_compute_from_snakemake_benchmark_files(tmp_path, plan):
    run = plan.runs[0]
    first, second = run.sample_ids[:2]
    (tmp_path / "align").mkdir()
    (tmp_path / "align" / f"{first}.tsv").write_text(BENCHMARK_HEADER + "12.0\t0:00:12\t1\t1\t1\t1\t0\t0\t90\t3600\n")
    (tmp_path / second).mkdir()
    (tmp_path / second / "call.tsv").write_text(BENCHMARK_HEADER + "8.0\t0:00:08\t1\t1\t1\t1\t0\t0\t90\t1800\n")
    shared = tmp_path / "batch_report.tsv"  # names no sample: split over the run's samples
    n = len(run.sample_ids)
    shared.write_text(BENCHMARK_HEADER + f"{n}\t0\t1\t1\t1\t1\t0\t0\t90\t{n * 36}\n")
    files = [tmp_path / "align" / f"{first}.tsv", tmp_path / second / "call.tsv", shared]
    rows = {r.sample_id: r for r in cost_ledger(plan, files, run_ids=[run.run_id])}
    assert set(rows) == set(run.sample_ids)
    assert rows[first].cpu_seconds == pytest.approx(3636)
    assert rows[second].cpu_seconds == pytest.approx(1836)
    assert rows[run.sample_ids[2]].cpu_seconds == pytest.approx(36)
    assert rows[first].compute == pytest.approx(3636 / 3600 * 1.5, abs=0.01)


def test_actual_report_dates_and_per_run_summary(tmp_path, plan):
    run = plan.runs[0]
    late_id = run.sample_ids[0]
    late = plan.samples[late_id].due + dt.timedelta(days=2)
    rows = cost_ledger(plan, compute=600, reported={late_id: late}, run_ids=[run.run_id])
    row = next(r for r in rows if r.sample_id == late_id)
    assert row.reported_date == late.isoformat() and not row.on_time
    assert row.cpu_seconds == 600
    summary = ledger_by_run(rows)
    assert summary[0]["run_id"] == run.run_id and summary[0]["late_samples"] == 1
    assert summary[0]["samples"] == len(run.sample_ids)
    path = write_ledger(rows, tmp_path / "ledger.tsv")
    header = path.read_text().splitlines()[0].split("\t")
    assert header[:3] == ["sample_id", "run_id", "run_type"] and "turnaround_days" in header


def test_run_controls_get_no_price_their_cost_is_spread_over_the_patients():
    lab = load_lab_config(DATA / "lab.yaml")
    members = [
        ("T1", "Anxian County", "2026-11-16", ("EGFR_KRAS",)),
        ("G1", "Beiling County", "2026-11-16", ("BRCA",)),
        ("NTC", "", "", ("EGFR_KRAS",)),
        ("PC1", "", "", ("EGFR_KRAS", "EXTENDED")),
    ]
    reported = {"T1": dt.date(2026, 11, 20), "G1": dt.date(2026, 11, 21)}
    plain = {r.sample_id: r for r in batch_ledger(members, "B1", lab, [], reported)}
    rows = {r.sample_id: r for r in batch_ledger(members, "B1", lab, [], reported, controls={"NTC", "PC1"})}
    assert set(rows) == {"T1", "G1"}  # no row, so no price, for a control
    overhead = plain["NTC"].total + plain["PC1"].total
    assert sum(r.control_overhead for r in rows.values()) == pytest.approx(overhead, abs=0.02)
    assert sum(r.total for r in rows.values()) == pytest.approx(sum(r.total for r in plain.values()), abs=0.02)
    # spread by read pairs, as the run itself is
    assert rows["G1"].control_overhead / rows["T1"].control_overhead == pytest.approx(
        rows["G1"].read_pairs / rows["T1"].read_pairs, rel=1e-3
    )
    assert rows["T1"].total == pytest.approx(plain["T1"].total + rows["T1"].control_overhead, abs=0.01)
    assert ledger_by_run(list(rows.values()))[0]["control_overhead"] == pytest.approx(overhead, abs=0.02)
