"""Thresholds of identity, contamination, cross-talk and run controls, read from config/controls.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from oncopanel import paths
from oncopanel.errors import InputError

CONTROLS_YAML = paths.CONFIG / "controls.yaml"


@dataclass(frozen=True)
class GenotypingSettings:
    min_mapping_quality: int = 20
    min_base_quality: int = 20
    min_depth: int = 20
    het_min_alt_fraction: float = 0.2
    het_max_alt_fraction: float = 0.8


@dataclass(frozen=True)
class ConcordanceCriteria:
    min_informative_sites: int = 4
    match_max_discordant_fraction: float = 0.1
    match_max_chance_probability: float = 0.05
    mismatch_min_discordant_sites: int = 2
    mismatch_min_discordant_fraction: float = 0.2
    cross_patient_max_expected_chance_matches: float = 0.05


@dataclass(frozen=True)
class ContaminationCriteria:
    min_hom_sites: int = 5
    min_depth: int = 50
    seq_error_rate: float = 0.002
    max_fraction: float = 0.05
    grid_step: float = 0.0025


@dataclass(frozen=True)
class CrossTalkCriteria:
    max_index_hopping_rate: float = 0.02
    max_foreign_fraction: float = 0.001


@dataclass(frozen=True)
class ExpectedVariant:
    label: str
    variant: str  # VCF key chrom:pos:ref>alt
    expected_vaf: float
    tolerance: float
    min_depth: int
    hotspot_id: str = ""  # hotspot table fallback when the VCF lacks the call: this hotspot, detected ...
    hotspot_form: str = ""  # ... with this allele among its observed forms (e.g. V600E)


@dataclass(frozen=True)
class ReferenceMaterial:
    name: str
    sample_id_pattern: str
    expected: tuple[ExpectedVariant, ...]


@dataclass(frozen=True)
class ControlCriteria:
    required: tuple[str, ...] = ("no_template_control", "positive_control")
    hold_on_cross_talk_failure: bool = True
    ntc_max_reads_fraction_of_median_sample: float = 0.01
    ntc_max_reads: int = 5000
    ntc_max_detected_hotspots: int = 0
    ntc_max_pass_calls: int = 0
    negative_max_detected_hotspots: int = 0
    materials: tuple[ReferenceMaterial, ...] = ()


@dataclass(frozen=True)
class Criteria:
    snps: Path = paths.ANNOTATION / "identity_snps.tsv"
    population: str = "af_eas"
    genotyping: GenotypingSettings = field(default_factory=GenotypingSettings)
    concordance: ConcordanceCriteria = field(default_factory=ConcordanceCriteria)
    contamination: ContaminationCriteria = field(default_factory=ContaminationCriteria)
    cross_talk: CrossTalkCriteria = field(default_factory=CrossTalkCriteria)
    controls: ControlCriteria = field(default_factory=ControlCriteria)


def _build(cls, values: dict | None, where: str):
    try:
        return cls(**(values or {}))
    except TypeError as exc:
        raise InputError(f"{where}: {exc}") from exc


def _expected(material: dict, path: Path) -> tuple[ExpectedVariant, ...]:
    where = f"{path}: positive_control material {material.get('name')}"
    return tuple(_build(ExpectedVariant, e, where) for e in material.get("expected", []))


def load_criteria(path: Path | str | None = None) -> Criteria:
    path = Path(path or CONTROLS_YAML)
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read controls criteria ({exc})") from exc
    identity = doc.get("identity", {})
    ctl = dict(doc.get("controls", {}))
    ntc = ctl.pop("no_template_control", {}) or {}
    neg = ctl.pop("negative_control", {}) or {}
    pos = ctl.pop("positive_control", {}) or {}
    materials = tuple(
        ReferenceMaterial(m["name"], m["sample_id_pattern"], _expected(m, path)) for m in pos.get("materials", [])
    )
    controls = _build(
        ControlCriteria,
        {
            **{k: tuple(v) if k == "required" else v for k, v in ctl.items()},
            **{f"ntc_{k}": v for k, v in ntc.items()},
            **{f"negative_{k}": v for k, v in neg.items()},
            "materials": materials,
        },
        f"{path}: controls",
    )
    root = paths.ROOT
    return Criteria(
        snps=root / identity.get("snps", "annotation/identity_snps.tsv"),
        population=identity.get("population", "af_eas"),
        genotyping=_build(GenotypingSettings, identity.get("genotyping"), f"{path}: identity.genotyping"),
        concordance=_build(ConcordanceCriteria, identity.get("concordance"), f"{path}: identity.concordance"),
        contamination=_build(ContaminationCriteria, doc.get("contamination"), f"{path}: contamination"),
        cross_talk=_build(CrossTalkCriteria, doc.get("cross_talk"), f"{path}: cross_talk"),
        controls=controls,
    )
