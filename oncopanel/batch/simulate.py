"""Synthetic inputs for tests, the demo and benchmarks: a manifest of samples arriving from many sites."""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

# Panel mix of a regional centre (share of requests); tumour-only panels dominate.
PANEL_MIX = (("EGFR_KRAS", 0.40), ("BRCA", 0.30), ("EXTENDED", 0.15), ("EGFR_KRAS,EXTENDED", 0.15))
MANIFEST_COLUMNS = ("sample_id", "site", "received_date", "panels", "priority", "due_date")


def synthetic_manifest_rows(
    n_samples: int, days: int, sites: int, seed: int = 7, urgent_fraction: float = 0.1,
    start: dt.date = dt.date(2026, 1, 5),
) -> list[dict[str, str]]:  # fmt: skip
    """Samples from `sites` sites of unequal size (weights 1/rank) arriving on weekdays over `days` days."""
    rng = random.Random(seed)
    site_names = [f"S{i + 1:02d}" for i in range(sites)]
    weights = [1 / (i + 1) for i in range(sites)]
    workdays = [start + dt.timedelta(days=d) for d in range(days) if (start + dt.timedelta(days=d)).weekday() < 5]
    panels, panel_weights = zip(*PANEL_MIX, strict=True)
    rows = []
    for n in range(n_samples):
        rows.append({
            "sample_id": f"P{n + 1:06d}",
            "site": rng.choices(site_names, weights)[0],
            "received_date": rng.choice(workdays).isoformat(),
            "panels": rng.choices(panels, panel_weights)[0],
            "priority": "urgent" if rng.random() < urgent_fraction else "routine",
            "due_date": "",
        })  # fmt: skip
    rows.sort(key=lambda r: (r["received_date"], r["sample_id"]))
    return rows


def write_manifest(rows: list[dict[str, str]], path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(MANIFEST_COLUMNS) + [c for c in rows[0] if c not in MANIFEST_COLUMNS] if rows else []
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, delimiter="\t", lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path
