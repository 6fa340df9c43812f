"""Plan files on disk (runs.tsv, assignments.tsv, tradeoff.tsv) and the samples.tsv written for one run."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

from oncopanel.batch.indexes import IndexPair
from oncopanel.batch.lab import LabConfig
from oncopanel.batch.manifest import PendingSample
from oncopanel.batch.plan import Plan, PlannedRun
from oncopanel.errors import ValidationError

# The workflow's sample sheet (workflow/schemas/samples.schema.yaml), one row per lane.
SAMPLES_TSV_COLUMNS = (
    "sample_id", "patient", "batch", "site", "specimen_type", "tumour_content", "oncotree_code", "panels",
    "lane", "fastq_1", "fastq_2", "bam", "i7", "i5", "received_date", "control", "language",
)  # fmt: skip
_NEEDED_FOR_WORKFLOW = ("patient", "specimen_type", "oncotree_code")


def _write_tsv(path: Path, columns: Sequence[str], rows: Sequence[Mapping]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, list(columns), delimiter="\t", lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_plan(plan: Plan, out_dir: Path | str, tradeoff: Sequence[Mapping] = ()) -> list[Path]:
    """runs.tsv (one row per run), assignments.tsv (one row per sample) and, if given, tradeoff.tsv."""
    out = Path(out_dir)
    runs = [
        {"run_id": r.run_id, "run_type": r.run_type.name, "start": r.start.isoformat(),
         "reported": r.reported.isoformat(), "samples": len(r.sample_ids), "read_pairs": r.read_pairs,
         "capacity": r.run_type.read_pairs, "utilisation": f"{r.utilisation:.3f}", "run_cost": r.run_type.cost}
        for r in plan.runs
    ]  # fmt: skip
    run_of = plan.run_of()
    assignments = []
    for sid, s in plan.samples.items():
        run = run_of.get(sid)
        assignments.append({
            "sample_id": sid, "site": s.site, "priority": s.priority, "panels": ",".join(s.panels),
            "received_date": s.received.isoformat(), "due_date": s.due.isoformat(),
            "run_id": run.run_id if run else "", "run_type": run.run_type.name if run else "",
            "run_start": run.start.isoformat() if run else "",
            "expected_report": run.reported.isoformat() if run else "",
            "turnaround_days": (run.reported - s.received).days if run else "",
        })  # fmt: skip
    written = [
        _write_tsv(out / "runs.tsv", list(runs[0]) if runs else ["run_id"], runs),
        _write_tsv(out / "assignments.tsv", list(assignments[0]) if assignments else ["sample_id"], assignments),
    ]
    if tradeoff:
        columns = list(dict.fromkeys(k for row in tradeoff for k in row))
        written.append(_write_tsv(out / "tradeoff.tsv", columns, tradeoff))
    return written


def read_plan(plan_dir: Path | str, samples: Sequence[PendingSample], lab: LabConfig) -> Plan:
    """Rebuild a Plan from runs.tsv + assignments.tsv written by `write_plan`."""
    plan_dir = Path(plan_dir)
    missing = [f"{plan_dir / name}: not found (write it with `oncopanel plan`)"
               for name in ("runs.tsv", "assignments.tsv") if not (plan_dir / name).exists()]  # fmt: skip
    if missing:
        raise ValidationError(missing)
    types = {rt.name: rt for rt in lab.run_types}
    by_id = {s.sample_id: s for s in samples}
    problems = []
    members: dict[str, list[str]] = {}
    with (plan_dir / "assignments.tsv").open() as handle:
        for n, row in enumerate(csv.DictReader(handle, delimiter="\t"), start=2):
            if row["sample_id"] not in by_id:
                problems.append(f"{plan_dir / 'assignments.tsv'}: row {n}: sample {row['sample_id']} not in manifest")
            elif row.get("run_id"):
                members.setdefault(row["run_id"], []).append(row["sample_id"])
    runs = []
    with (plan_dir / "runs.tsv").open() as handle:
        for n, row in enumerate(csv.DictReader(handle, delimiter="\t"), start=2):
            if row["run_type"] not in types:
                problems.append(f"{plan_dir / 'runs.tsv'}: row {n}: run type '{row['run_type']}' not in lab config")
                continue
            ids = tuple(members.get(row["run_id"], []))
            runs.append(PlannedRun(
                row["run_id"], types[row["run_type"]], dt.date.fromisoformat(row["start"]),
                dt.date.fromisoformat(row["reported"]), ids, sum(by_id[i].read_pairs for i in ids if i in by_id),
            ))  # fmt: skip
    if problems:
        raise ValidationError(problems)
    return Plan("from_file", lab, {sid: by_id[sid] for r in runs for sid in r.sample_ids}, runs)


def write_samples_tsv(
    path: Path | str, run_id: str, samples: Sequence[PendingSample], assignments: Mapping[str, IndexPair],
    fastq_dir: str, lane: str = "1",
) -> Path:  # fmt: skip
    """The workflow's samples.tsv for one pooled run: batch = run id, FASTQ paths where `oncopanel demux` writes
    them, i7/i5 as the kit gives them (i5 forward strand). Refused, listing every sample, when the manifest lacks
    what the workflow needs (patient, specimen_type, oncotree_code)."""
    problems = [
        f"manifest: sample {s.sample_id}: column {column}: needed for the workflow's samples.tsv but empty"
        for s in samples
        for column in _NEEDED_FOR_WORKFLOW
        if not s.extra.get(column)
    ]
    if problems:
        raise ValidationError(problems)
    rows = [
        {"sample_id": s.sample_id, "patient": s.extra["patient"], "batch": run_id, "site": s.site,
         "specimen_type": s.extra["specimen_type"], "tumour_content": s.extra.get("tumour_content", ""),
         "oncotree_code": s.extra["oncotree_code"], "panels": ",".join(s.panels), "lane": lane,
         "fastq_1": f"{fastq_dir}/{s.sample_id}_R1.fastq.gz", "fastq_2": f"{fastq_dir}/{s.sample_id}_R2.fastq.gz",
         "bam": "", "i7": assignments[s.sample_id].i7, "i5": assignments[s.sample_id].i5,
         "received_date": s.received.isoformat(), "control": s.extra.get("control", ""),
         "language": s.extra.get("language", "")}
        for s in samples
    ]  # fmt: skip
    return _write_tsv(Path(path), SAMPLES_TSV_COLUMNS, rows)
