"""config/cnv.yaml, checked against workflow/schemas/cnv.schema.yaml by the one settings loader."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from oncopanel import paths, settings

CNV_YAML = paths.CONFIG / "cnv.yaml"

# Copy number of each germline state (a diploid locus).
STATE_COPY_NUMBER = {"hom_deletion": 0, "het_deletion": 1, "normal": 2, "duplication": 3}


@dataclass(frozen=True)
class GermlineSettings:
    min_references: int
    max_references: int
    min_correlation: float
    mean_min_correlation: float
    spread_tolerance: float  # fewer references are used when their ratio spread is lower by more than this share
    ratios: dict[str, float]  # state -> expected test/reference ratio
    event_start_probability: float
    event_continue_probability: float
    max_ratio_sd: float
    min_quality: float
    min_normal_quality: float
    min_reference_count: float
    max_reference_sd: float
    pseudogene_exons: dict[str, dict[int, str]]  # gene -> {MANE exon: pseudogene}


@dataclass(frozen=True)
class AmplificationSettings:
    gene: str
    same_chromosome_genes: tuple[str, ...]
    min_ratio: float
    min_copy_number: float
    chromosome_gain_ratio: float
    min_references: int
    min_correlation: float  # of within-gene exon profiles: references of the same capture behaviour
    max_log_ratio_se: float
    min_exon_count: float


@dataclass(frozen=True)
class ClassificationSettings:
    deletion_pvs1: dict[str, dict[str, str]]
    not_critical_exons: dict[str, tuple[int, ...]]
    duplication_class: str
    confirmation: str
    loss_of_function: tuple[str, ...]  # call kinds that are loss-of-function for therapy matching


@dataclass(frozen=True)
class CnvSettings:
    germline: GermlineSettings
    amplification: AmplificationSettings
    classification: ClassificationSettings
    source: str


def load_settings(path: Path | str | None = None) -> CnvSettings:
    path = Path(path or CNV_YAML)
    doc = settings.load(path, "cnv.schema.yaml")
    g, a, c = doc["germline"], doc["amplification"], doc["classification"]
    ref, model = g["references"], g["model"]
    germline = GermlineSettings(
        min_references=ref["min_references"], max_references=ref["max_references"],
        min_correlation=ref["min_correlation"], mean_min_correlation=ref["mean_min_correlation"],
        spread_tolerance=ref["spread_tolerance"],
        ratios={k: float(v) for k, v in model["ratios"].items()},
        event_start_probability=model["event_start_probability"],
        event_continue_probability=model["event_continue_probability"],
        max_ratio_sd=model["max_ratio_sd"], min_quality=g["calls"]["min_quality"],
        min_normal_quality=g["calls"]["min_normal_quality"],
        min_reference_count=g["exons"]["min_reference_count"], max_reference_sd=g["exons"]["max_reference_sd"],
        pseudogene_exons={
            p["gene"]: {e: p["pseudogene"] for e in p["exons"]} for p in g["exons"]["pseudogene"]
        },
    )  # fmt: skip
    amp = AmplificationSettings(
        a["gene"], tuple(a["same_chromosome_genes"]), a["min_ratio"], a["min_copy_number"],
        a["chromosome_gain_ratio"], a["min_references"], a["min_correlation"], a["max_log_ratio_se"],
        a["min_exon_count"],
    )  # fmt: skip
    cls = ClassificationSettings(
        c["deletion_pvs1"], {k: tuple(v) for k, v in c["not_critical_exons"].items()}, c["duplication_class"],
        c["confirmation"], tuple(c["loss_of_function"]),
    )  # fmt: skip
    return CnvSettings(germline, amp, cls, str(path))
