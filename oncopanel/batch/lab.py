"""Lab configuration for planning and costing: run types, per-sample costs, reads per panel, turnaround limits.

Kept as data (config/lab.yaml) so a centre changes prices and instruments without touching code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from oncopanel import paths, settings
from oncopanel.errors import ValidationError

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class RunType:
    name: str
    read_pairs: int
    cost: float
    run_days: int


@dataclass(frozen=True)
class LabConfig:
    run_types: tuple[RunType, ...]
    max_samples_per_run: int
    library_prep_cost: float
    library_prep_days: int
    panel_read_pairs: dict[str, int]
    compute_cost_per_cpu_hour: float
    cpu_seconds_per_sample: float
    analysis_days: int
    turnaround_days: dict[str, int]
    currency: str
    index_kit: str
    min_index_distance: int
    chemistry: str
    run_weekdays: tuple[int, ...]  # days a run may start (0 = Monday)
    i5_read_orientation: str  # how the instrument reads i5: forward or reverse_complement

    @property
    def compute_cost_per_sample(self) -> float:
        return self.cpu_seconds_per_sample / 3600 * self.compute_cost_per_cpu_hour

    @property
    def per_sample_cost(self) -> float:
        """Cost every sample carries whatever run it goes on."""
        return self.library_prep_cost + self.compute_cost_per_sample

    @property
    def shortest_turnaround(self) -> int:
        """Received -> reported on the fastest run type, starting as soon as the library is ready."""
        return self.library_prep_days + min(r.run_days for r in self.run_types) + self.analysis_days

    def is_run_day(self, date: dt.date) -> bool:
        return date.weekday() in self.run_weekdays

    def first_run_day(self, date: dt.date) -> dt.date:
        """The first day on or after `date` when a run may start."""
        while not self.is_run_day(date):
            date += dt.timedelta(days=1)
        return date

    def last_run_day(self, date: dt.date) -> dt.date:
        """The last day on or before `date` when a run may start."""
        while not self.is_run_day(date):
            date -= dt.timedelta(days=1)
        return date

    def can_meet(self, received: dt.date, due: dt.date) -> bool:
        """Whether a sample received on `received` can be reported by `due` on the fastest run type."""
        ready = self.first_run_day(received + dt.timedelta(days=self.library_prep_days))
        fastest = min(r.run_days for r in self.run_types)
        return ready + dt.timedelta(days=fastest + self.analysis_days) <= due

    def read_pairs_for(self, panels: tuple[str, ...]) -> int:
        return sum(self.panel_read_pairs[p] for p in panels)

    def kit_path(self) -> Path:
        """The index kit file. A relative path names a kit shipped with oncopanel (annotation/index_kits/), found
        where the package's data is (the checkout or the installed wheel), so a copied lab.yaml (snakedeploy) still
        finds it; a centre's own kit is given as an absolute path."""
        path = Path(self.index_kit)
        return path if path.is_absolute() else paths.DATA / path


SCHEMA = "lab.schema.yaml"


def lab_config_from_dict(doc: dict, source: str = "lab config") -> LabConfig:
    """Typed lab config from a parsed YAML mapping, checked by the settings layer; every problem listed at once."""
    doc = settings.check(doc, SCHEMA, source)
    names = [r["name"] for r in doc["run_types"]]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValidationError([f"{source}: run_types: duplicate run type name(s): {', '.join(repeated)}"])
    prep, compute = doc["library_prep"], doc["compute"]
    return LabConfig(
        run_types=tuple(RunType(**r) for r in doc["run_types"]),
        max_samples_per_run=doc["max_samples_per_run"],
        library_prep_cost=float(prep["cost_per_sample"]),
        library_prep_days=prep["days"],
        panel_read_pairs=dict(doc["panel_read_pairs"]),
        compute_cost_per_cpu_hour=float(compute["cost_per_cpu_hour"]),
        cpu_seconds_per_sample=float(compute["cpu_seconds_per_sample"]),
        analysis_days=compute["days"],
        turnaround_days=dict(doc["turnaround_days"]),
        currency=doc["currency"],
        index_kit=doc["index_kit"],
        min_index_distance=doc["min_index_distance"],
        chemistry=doc["chemistry"],
        run_weekdays=tuple(sorted(WEEKDAYS.index(d) for d in doc["run_weekdays"])),
        i5_read_orientation=doc["i5_read_orientation"],
    )


def load_lab_config(path: Path | str | None = None) -> LabConfig:
    path = Path(path) if path else paths.CONFIG / "lab.yaml"
    return lab_config_from_dict(settings.read_yaml(path), source=str(path))
