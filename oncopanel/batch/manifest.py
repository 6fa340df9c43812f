"""Manifest of pending samples for run planning, validated up front with every problem listed.

Columns (TSV): sample_id, site, received_date, panels (comma list), and optionally priority (a key of the lab's
turnaround_days, default routine) and due_date (YYYY-MM-DD; tightens the priority's turnaround). Columns the
workflow's sample sheet needs (patient, specimen_type, tumour_content, oncotree_code, control, language) pass
through to the samples.tsv written for each run.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from oncopanel.batch.lab import LabConfig
from oncopanel.errors import ValidationError
from oncopanel.panels import load_panels

REQUIRED = ("sample_id", "site", "received_date", "panels")
OPTIONAL = ("priority", "due_date", "patient", "specimen_type", "tumour_content", "oncotree_code", "control",
            "language")  # fmt: skip
SAMPLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class PendingSample:
    sample_id: str
    site: str
    received: dt.date
    panels: tuple[str, ...]
    due: dt.date
    read_pairs: int
    priority: str = "routine"
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _row_problems(where: str, row: dict[str, str], lab: LabConfig, known_panels: set[str]) -> list[str]:
    problems = []
    sid = row.get("sample_id", "")
    if not SAMPLE_ID.match(sid):
        problems.append(f"{where}: column sample_id: '{sid}' is not a pseudonymous id (letters, digits, - and _)")
    if not row.get("site"):
        problems.append(f"{where}: column site: empty")
    received = _date(row.get("received_date", ""))
    if received is None:
        problems.append(f"{where}: column received_date: '{row.get('received_date', '')}' is not YYYY-MM-DD")
    panels = [p.strip() for p in row.get("panels", "").split(",") if p.strip()]
    if not panels:
        problems.append(f"{where}: column panels: empty")
    for panel in panels:
        if panel not in known_panels:
            known = ", ".join(sorted(known_panels))
            problems.append(f"{where}: column panels: unknown panel '{panel}' (known: {known})")
        elif panel not in lab.panel_read_pairs:
            problems.append(f"{where}: column panels: lab config gives no read pairs for panel '{panel}'")
    priority = row.get("priority") or "routine"
    if priority not in lab.turnaround_days:
        problems.append(
            f"{where}: column priority: unknown priority '{priority}' (known: {', '.join(lab.turnaround_days)})"
        )
    due = None
    if row.get("due_date"):
        due = _date(row["due_date"])
        if due is None:
            problems.append(f"{where}: column due_date: '{row['due_date']}' is not YYYY-MM-DD")
    if received is not None and priority in lab.turnaround_days:
        limit = received + dt.timedelta(days=lab.turnaround_days[priority])
        due = min(due, limit) if due else limit
        if not lab.can_meet(received, due):
            column = "due_date" if row.get("due_date") and due < limit else "priority"
            ready = lab.first_run_day(received + dt.timedelta(days=lab.library_prep_days))
            problems.append(
                f"{where}: column {column}: due {due} is impossible: received {received}, the earliest run starts "
                f"{ready} ({ready:%a}) after library prep, and the fastest run "
                f"({min(r.run_days for r in lab.run_types)} d) + analysis ({lab.analysis_days} d) end "
                f"{ready + dt.timedelta(days=min(r.run_days for r in lab.run_types) + lab.analysis_days)}"
            )
    if panels and all(p in lab.panel_read_pairs for p in panels):
        need = lab.read_pairs_for(tuple(panels))
        biggest = max(r.read_pairs for r in lab.run_types)
        if need > biggest:
            problems.append(f"{where}: column panels: needs {need} read pairs, more than the largest run ({biggest})")
    return problems


def read_manifest(path: Path | str, lab: LabConfig) -> list[PendingSample]:
    """Parse and validate a manifest; raise ValidationError listing every problem (file, row, column)."""
    path = Path(path)
    if not path.exists():
        raise ValidationError([f"{path}: manifest not found"])
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        header = reader.fieldnames or []
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise ValidationError([f"{path}: header: missing required column(s): {', '.join(missing)}"])
        rows = [
            (lineno, {k: (v or "").strip() for k, v in row.items() if k})
            for lineno, row in enumerate(reader, start=2)
            if any((v or "").strip() for v in row.values() if isinstance(v, str))
        ]
    known_panels = set(load_panels())
    problems: list[str] = []
    first_row: dict[str, int] = {}
    for lineno, row in rows:
        where = f"{path}: row {lineno} (sample {row.get('sample_id') or '?'})"
        problems.extend(_row_problems(where, row, lab, known_panels))
        sid = row.get("sample_id", "")
        if sid in first_row:
            problems.append(f"{where}: column sample_id: duplicate sample id '{sid}' (first at row {first_row[sid]})")
        else:
            first_row[sid] = lineno
    if not rows:
        problems.append(f"{path}: no samples")
    if problems:
        raise ValidationError(problems)
    return [_pending(row, lab) for _lineno, row in rows]


def _pending(row: dict[str, str], lab: LabConfig) -> PendingSample:
    received = dt.date.fromisoformat(row["received_date"])
    priority = row.get("priority") or "routine"
    due = received + dt.timedelta(days=lab.turnaround_days[priority])
    if row.get("due_date"):
        due = min(due, dt.date.fromisoformat(row["due_date"]))
    panels = tuple(p.strip() for p in row["panels"].split(",") if p.strip())
    return PendingSample(
        sample_id=row["sample_id"], site=row["site"], received=received, panels=panels, due=due,
        read_pairs=lab.read_pairs_for(panels), priority=priority,
        extra={k: row[k] for k in OPTIONAL if k in row and k not in ("priority", "due_date")},
    )  # fmt: skip
