"""Cost and turnaround ledger: per sample, its share of the run, library prep and compute, and received ->
reported time; per run (batch), the sums.

The run's fixed cost is shared in proportion to the read pairs each sample needs (reads are what a run sells),
so a BRCA sample needing 1.5 M pairs pays more of a run than an EGFR/KRAS sample needing 0.6 M. An under-filled
run's idle capacity is shared the same way: the ledger shows what pooling actually cost.

Compute comes from the workflow's Snakemake benchmark files (TSV with `s` and `cpu_time` columns): a file is
charged to the sample whose id is one of its path components or its file stem; files naming no sample
(batch-level steps) are split evenly over the ledger's samples (so give one run's files per call). Without
benchmark files, the lab config's CPU seconds per sample are used.

Run controls (NTC, positive and negative reference materials) are run overhead, not patients: they take reads of the
run, a library and compute like any sample, but get no ledger row and no price of their own. Their cost is spread
over the batch's patient samples in proportion to read pairs (column control_overhead, included in total).

Receipt → signature (the centre's promise to the county hospitals) comes from the signed result versions
(``with_signatures``; the dates from oncopanel.report.batch.signed_date): signed_date, signature_turnaround_days and
signed_on_time (against the row's due date) are filled only for a signed sample; one not signed yet says so in
signed_date and leaves the other two empty, never an estimate.
"""

from __future__ import annotations

import csv
import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from oncopanel.batch.lab import LabConfig
from oncopanel.batch.manifest import PendingSample
from oncopanel.batch.plan import Plan, PlannedRun
from oncopanel.errors import InputError

NOT_SIGNED = "not signed yet"


@dataclass(frozen=True)
class LedgerRow:
    sample_id: str
    run_id: str
    run_type: str
    site: str
    received_date: str
    reported_date: str
    turnaround_days: int
    due_date: str
    on_time: bool
    read_pairs: int
    run_share: float
    library_prep: float
    compute: float
    cpu_seconds: float
    total: float
    control_overhead: float = 0.0  # this sample's share of the batch's run controls (already in total)
    signed_date: str = NOT_SIGNED  # the date the report was signed (review application), or NOT_SIGNED
    signature_turnaround_days: int | None = None  # receipt -> signature; None until signed
    signed_on_time: bool | None = None  # signed on or before due_date; None until signed


def benchmark_cpu_seconds(path: Path | str) -> float:
    """Mean CPU seconds (cpu_time, else wall-clock s) over the rows of one Snakemake benchmark TSV."""
    path = Path(path)
    try:
        with path.open() as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        values = [float(r["cpu_time"]) if r.get("cpu_time") not in (None, "", "NA") else float(r["s"]) for r in rows]
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"{path}: not a Snakemake benchmark file ({exc})") from exc
    return sum(values) / len(values) if values else 0.0


def compute_seconds_by_sample(benchmark_tsvs: Sequence[Path | str], sample_ids: Sequence[str]) -> dict[str, float]:
    ids = set(sample_ids)
    seconds = dict.fromkeys(sample_ids, 0.0)
    shared = 0.0
    for path in map(Path, benchmark_tsvs):
        owners = ids & {*path.parts, path.stem, path.name.split(".")[0]}
        cpu = benchmark_cpu_seconds(path)
        if len(owners) == 1:
            seconds[owners.pop()] += cpu
        else:
            shared += cpu
    for sid in seconds:
        seconds[sid] += shared / max(len(seconds), 1)
    return seconds


def cost_ledger(
    plan: Plan, compute: Sequence[Path | str] | float | None = None,
    reported: Mapping[str, dt.date] | None = None, run_ids: Sequence[str] | None = None,
) -> list[LedgerRow]:  # fmt: skip
    """Per-sample rows for the plan's runs (or `run_ids` only).

    compute: benchmark TSV paths, or CPU seconds per sample, or None for the lab config's figure.
    reported: actual report dates; otherwise each run's planned report date.
    """
    lab = plan.lab
    runs = [r for r in plan.runs if run_ids is None or r.run_id in run_ids]
    sample_ids = [sid for r in runs for sid in r.sample_ids]
    if compute is None:
        cpu = dict.fromkeys(sample_ids, lab.cpu_seconds_per_sample)
    elif isinstance(compute, int | float):
        cpu = dict.fromkeys(sample_ids, float(compute))
    else:
        cpu = compute_seconds_by_sample(list(compute), sample_ids)
    rows = []
    for run in runs:
        needed = sum(plan.samples[sid].read_pairs for sid in run.sample_ids) or 1
        for sid in run.sample_ids:
            s = plan.samples[sid]
            done = (reported or {}).get(sid, run.reported)
            share = run.run_type.cost * s.read_pairs / needed
            compute_cost = cpu[sid] / 3600 * lab.compute_cost_per_cpu_hour
            rows.append(LedgerRow(
                sid, run.run_id, run.run_type.name, s.site, s.received.isoformat(), done.isoformat(),
                (done - s.received).days, s.due.isoformat(), done <= s.due, s.read_pairs, round(share, 2),
                lab.library_prep_cost, round(compute_cost, 2), round(cpu[sid], 1),
                round(share + lab.library_prep_cost + compute_cost, 2),
            ))  # fmt: skip
    return rows


def ledger_by_run(rows: Sequence[LedgerRow]) -> list[dict[str, object]]:
    """Per batch: samples, cost totals, mean cost per sample, worst turnaround, late samples."""
    groups: dict[str, list[LedgerRow]] = defaultdict(list)
    for row in rows:
        groups[row.run_id].append(row)
    out = []
    for run_id, members in groups.items():
        total = sum(r.total for r in members)
        out.append({
            "run_id": run_id, "run_type": members[0].run_type, "samples": len(members),
            "run_cost": round(sum(r.run_share for r in members), 2),
            "library_prep": round(sum(r.library_prep for r in members), 2),
            "compute": round(sum(r.compute for r in members), 2),
            "control_overhead": round(sum(r.control_overhead for r in members), 2), "total": round(total, 2),
            "cost_per_sample": round(total / len(members), 2),
            "worst_turnaround_days": max(r.turnaround_days for r in members),
            "late_samples": sum(not r.on_time for r in members),
            **signature_totals(members),
        })  # fmt: skip
    return out


def signature_totals(rows: Sequence[LedgerRow]) -> dict[str, object]:
    """Receipt -> signature over rows (a run, a site): how many signed, median and longest days, signed late;
    "—" for the days while none is signed (no number is made up)."""
    days = [r.signature_turnaround_days for r in rows if r.signature_turnaround_days is not None]
    return {
        "signed": len(days), "not_signed": sum(r.signed_date == NOT_SIGNED for r in rows),
        "median_signature_days": f"{statistics.median(days):g}" if days else "—",
        "worst_signature_days": max(days) if days else "—",
        "signed_late": sum(r.signed_on_time is False for r in rows),
    }  # fmt: skip


def ledger_by_site(rows: Sequence[LedgerRow]) -> list[dict[str, object]]:
    """Per site: samples and receipt -> signature (the promise is made to each county hospital)."""
    groups: dict[str, list[LedgerRow]] = defaultdict(list)
    for row in rows:
        groups[row.site].append(row)
    return [{"site": site, "samples": len(members), **signature_totals(members)}
            for site, members in sorted(groups.items())]  # fmt: skip


def with_signatures(rows: Sequence[LedgerRow], signed: Mapping[str, dt.date]) -> list[LedgerRow]:
    """The rows with receipt -> signature filled for the samples in `signed` (sample_id -> signature date); the
    others say NOT_SIGNED (a row signed before stays signed only if `signed` still names it)."""
    out = []
    for r in rows:
        when = signed.get(r.sample_id)
        if when is None:
            out.append(replace(r, signed_date=NOT_SIGNED, signature_turnaround_days=None, signed_on_time=None))
            continue
        days = (when - dt.date.fromisoformat(r.received_date)).days
        out.append(replace(r, signed_date=when.isoformat(), signature_turnaround_days=days,
                           signed_on_time=when <= dt.date.fromisoformat(r.due_date)))  # fmt: skip
    return out


def write_ledger(rows: Sequence[LedgerRow], path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(LedgerRow.__dataclass_fields__)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in asdict(r).items()} for r in rows)  # None: unsigned
    return path


def _field(kind: str, text: str) -> object:
    if text == "" and "None" in kind:
        return None
    if kind.startswith("int"):
        return int(text)
    if kind.startswith("float"):
        return float(text)
    if kind.startswith("bool"):
        return text == "True"
    return text


def read_ledger(path: Path | str) -> list[LedgerRow]:
    """The rows write_ledger wrote (a ledger from before the signature columns reads as not signed yet)."""
    kinds = {name: str(f.type) for name, f in LedgerRow.__dataclass_fields__.items()}
    try:
        with Path(path).open(newline="") as handle:
            return [LedgerRow(**{k: _field(kinds[k], v) for k, v in row.items() if k in kinds})
                    for row in csv.DictReader(handle, delimiter="\t")]  # fmt: skip
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: not a ledger written by oncopanel ({exc})") from exc


def spread_control_costs(rows: Sequence[LedgerRow], controls: Collection[str]) -> list[LedgerRow]:
    """The patients' rows, each carrying its read-pair share of the run controls' cost; the controls' rows go."""
    patients = [r for r in rows if r.sample_id not in controls]
    overhead = sum(r.total for r in rows if r.sample_id in controls)
    reads = sum(r.read_pairs for r in patients)
    if not overhead or not reads:
        return patients
    out = []
    for r in patients:
        share = round(overhead * r.read_pairs / reads, 2)
        out.append(replace(r, control_overhead=share, total=round(r.total + share, 2)))
    return out


def batch_ledger(
    samples: Sequence[tuple[str, str, str, tuple[str, ...]]], batch: str, lab: LabConfig,
    benchmark_tsvs: Sequence[Path | str], reported: Mapping[str, dt.date], run_type: str = "",
    controls: Collection[str] = (), signed: Mapping[str, dt.date] | None = None,
) -> list[LedgerRow]:  # fmt: skip
    """The ledger of one batch the workflow has run, as one sequencing run.

    samples: (sample_id, site, received ISO date, panels). The run type is the one named, else the cheapest
    that holds the batch's reads (the controls' reads too). Due dates follow the lab's routine turnaround.
    controls: the batch's run controls: no row of their own, their cost spread over the patients' rows.
    signed: signature dates of the samples signed so far (with_signatures).
    """
    pending = {}
    for sid, site, received, panels in samples:
        start = dt.date.fromisoformat(received) if received else min(reported.values(), default=dt.date.today())
        due = start + dt.timedelta(days=lab.turnaround_days.get("routine", 7))
        pending[sid] = PendingSample(sid, site, start, tuple(panels), due, lab.read_pairs_for(tuple(panels)))
    needed = sum(s.read_pairs for s in pending.values())
    types = sorted(lab.run_types, key=lambda t: t.cost)
    chosen = next((t for t in types if t.name == run_type), None) or next(
        (t for t in types if t.read_pairs >= needed), types[-1]
    )
    done = max(reported.values(), default=dt.date.today())
    run = PlannedRun(batch, chosen, min(s.received for s in pending.values()), done, tuple(pending), needed)
    plan = Plan("as_run", lab, pending, [run])
    rows = spread_control_costs(cost_ledger(plan, list(benchmark_tsvs) or None, reported=reported), set(controls))
    return with_signatures(rows, signed or {})
