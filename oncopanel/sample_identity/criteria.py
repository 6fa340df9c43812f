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
    """A control's material, named by the sheet's reference_material column. With expected variants it can be
    a positive control; without, it is wild type at every hotspot and serves as a negative control."""

    name: str
    expected: tuple[ExpectedVariant, ...] = ()
    description: str = ""

    @property
    def is_positive(self) -> bool:
        return bool(self.expected)


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

    def material(self, name: str) -> ReferenceMaterial | None:
        return next((m for m in self.materials if m.name == name), None)


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


def _materials(doc: dict, path: Path) -> tuple[ReferenceMaterial, ...]:
    """controls.reference_materials: a mapping name -> {description, expected: [...]}."""
    found = doc.get("reference_materials") or {}
    if not isinstance(found, dict):
        raise InputError(f"{path}: controls.reference_materials: a mapping of material name to its entry expected")
    out = []
    for name, entry in found.items():
        entry = entry or {}
        where = f"{path}: controls.reference_materials.{name}"
        expected = tuple(_build(ExpectedVariant, e, where) for e in entry.get("expected") or [])
        out.append(ReferenceMaterial(str(name), expected, str(entry.get("description", "")).strip()))
    return tuple(out)


def reference_materials(path: Path | str | None = None) -> dict[str, ReferenceMaterial]:
    """The materials a control row may name, by name (what the sample-sheet check needs, nothing more)."""
    path = Path(path or CONTROLS_YAML)
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read controls criteria ({exc})") from exc
    return {m.name: m for m in _materials(doc.get("controls") or {}, path)}


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
    ctl.pop("positive_control", None)  # its criteria live in each reference material's expected variants
    materials = _materials(ctl, path)
    ctl.pop("reference_materials", None)
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
