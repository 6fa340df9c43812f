"""Lab configuration for planning and costing: run types, per-sample costs, reads per panel, turnaround limits.

Kept as data (config/lab.yaml) so a centre changes prices and instruments without touching code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import yaml

from oncopanel import paths
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
    currency: str = "CNY"
    index_kit: str = "annotation/index_kits/oncopanel_udi96.tsv"
    min_index_distance: int = 3
    chemistry: str = "two_colour"
    run_weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)  # days a run may start (0 = Monday)
    i5_read_orientation: str = "forward"  # how the instrument reads i5: forward or reverse_complement

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
        path = Path(self.index_kit)
        return path if path.is_absolute() else paths.ROOT / path


def _number(doc: dict, key: str, where: str, problems: list[str], minimum: float = 0) -> float:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{where}: {key}: must be a number (got {value!r})")
        return 0
    if value < minimum:
        problems.append(f"{where}: {key}: must be >= {minimum} (got {value})")
    return value


def lab_config_from_dict(doc: dict, source: str = "lab config") -> LabConfig:
    """Typed lab config from a parsed YAML mapping; every problem listed at once."""
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise ValidationError([f"{source}: top level must be a mapping"])
    run_types = []
    raw_runs = doc.get("run_types")
    if not isinstance(raw_runs, list) or not raw_runs:
        problems.append(f"{source}: run_types: give at least one run type")
        raw_runs = []
    names: set[str] = set()
    for i, raw in enumerate(raw_runs):
        where = f"{source}: run_types[{i}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        name = str(raw.get("name", ""))
        if not name:
            problems.append(f"{where}: name: missing")
        elif name in names:
            problems.append(f"{where}: name: duplicate run type '{name}'")
        names.add(name)
        run_types.append(
            RunType(
                name=name,
                read_pairs=int(_number(raw, "read_pairs", where, problems, 1)),
                cost=float(_number(raw, "cost", where, problems)),
                run_days=int(_number(raw, "run_days", where, problems)),
            )
        )
    prep = doc.get("library_prep") or {}
    compute = doc.get("compute") or {}
    panel_reads = doc.get("panel_read_pairs") or {}
    if not isinstance(panel_reads, dict) or not panel_reads:
        problems.append(f"{source}: panel_read_pairs: give read pairs per sample for each panel")
        panel_reads = {}
    for panel, value in panel_reads.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            problems.append(f"{source}: panel_read_pairs: {panel}: must be a positive whole number (got {value!r})")
    turnaround = doc.get("turnaround_days") or {}
    if not isinstance(turnaround, dict) or "routine" not in turnaround:
        problems.append(f"{source}: turnaround_days: must give at least 'routine'")
        turnaround = turnaround if isinstance(turnaround, dict) else {}
    for priority, value in turnaround.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            problems.append(f"{source}: turnaround_days: {priority}: must be a positive whole number of days")
    weekdays = doc.get("run_weekdays", list(WEEKDAYS))
    if not isinstance(weekdays, list) or not weekdays or any(d not in WEEKDAYS for d in weekdays):
        problems.append(f"{source}: run_weekdays: give a list of days from {', '.join(WEEKDAYS)} (got {weekdays!r})")
        weekdays = list(WEEKDAYS)
    i5_read = doc.get("i5_read_orientation", "forward")
    if i5_read not in ("forward", "reverse_complement"):
        problems.append(f"{source}: i5_read_orientation: must be forward or reverse_complement (got {i5_read!r})")
    chemistry = doc.get("chemistry", "two_colour")
    if chemistry not in ("two_colour", "four_colour"):
        problems.append(f"{source}: chemistry: must be two_colour or four_colour (got {chemistry!r})")
    config = LabConfig(
        run_types=tuple(run_types),
        max_samples_per_run=int(_number(doc, "max_samples_per_run", source, problems, 1)),
        library_prep_cost=float(_number(prep, "cost_per_sample", f"{source}: library_prep", problems)),
        library_prep_days=int(_number(prep, "days", f"{source}: library_prep", problems)),
        panel_read_pairs={str(k): v for k, v in panel_reads.items()},
        compute_cost_per_cpu_hour=float(_number(compute, "cost_per_cpu_hour", f"{source}: compute", problems)),
        cpu_seconds_per_sample=float(_number(compute, "cpu_seconds_per_sample", f"{source}: compute", problems)),
        analysis_days=int(_number(compute, "days", f"{source}: compute", problems)),
        turnaround_days={str(k): v for k, v in turnaround.items()},
        currency=str(doc.get("currency", "CNY")),
        index_kit=str(doc.get("index_kit", "annotation/index_kits/oncopanel_udi96.tsv")),
        min_index_distance=int(_number(doc, "min_index_distance", source, problems, 1))
        if "min_index_distance" in doc
        else 3,
        chemistry=chemistry,
        run_weekdays=tuple(sorted(WEEKDAYS.index(d) for d in set(weekdays))),
        i5_read_orientation=i5_read,
    )
    if problems:
        raise ValidationError(problems)
    return config


def load_lab_config(path: Path | str | None = None) -> LabConfig:
    path = Path(path) if path else paths.CONFIG / "lab.yaml"
    if not path.exists():
        raise ValidationError([f"{path}: lab config not found"])
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValidationError([f"{path}: not valid YAML: {exc}"]) from exc
    return lab_config_from_dict(doc, source=str(path))
