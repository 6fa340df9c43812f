"""Thresholds of identity, contamination, cross-talk and run controls, read from config/controls.yaml.

The file, checked by the settings layer (workflow/schemas/controls.schema.yaml), is the thresholds' one home: the
records below have no defaults of their own, so a section left out or misspelt is refused, never replaced.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from oncopanel import paths, settings

CONTROLS_YAML = paths.CONFIG / "controls.yaml"
SCHEMA = "controls.schema.yaml"


@dataclass(frozen=True)
class GenotypingSettings:
    min_mapping_quality: int
    min_base_quality: int
    min_depth: int
    het_min_alt_fraction: float
    het_max_alt_fraction: float


@dataclass(frozen=True)
class ConcordanceCriteria:
    min_informative_sites: int
    match_max_discordant_fraction: float
    match_max_chance_probability: float
    mismatch_min_discordant_sites: int
    mismatch_min_discordant_fraction: float
    cross_patient_max_expected_chance_matches: float


@dataclass(frozen=True)
class ContaminationCriteria:
    min_hom_sites: int
    min_depth: int
    seq_error_rate: float
    max_fraction: float
    grid_step: float


@dataclass(frozen=True)
class CrossTalkCriteria:
    max_index_hopping_rate: float
    max_foreign_fraction: float


@dataclass(frozen=True)
class ExpectedVariant:
    label: str
    variant: str  # VCF key chrom:pos:ref>alt
    expected_vaf: float
    tolerance: float
    min_depth: int
    hotspot_id: str  # hotspot table fallback when the VCF lacks the call: this hotspot, detected ...
    hotspot_form: str  # ... with this allele among its observed forms (e.g. V600E)


@dataclass(frozen=True)
class ReferenceMaterial:
    """A control's material, named by the sheet's reference_material column. With expected variants it can be
    a positive control; without, it is wild type at every hotspot and serves as a negative control."""

    name: str
    expected: tuple[ExpectedVariant, ...]
    description: str

    @property
    def is_positive(self) -> bool:
        return bool(self.expected)


@dataclass(frozen=True)
class ControlCriteria:
    required: tuple[str, ...]
    hold_on_cross_talk_failure: bool
    ntc_max_reads_fraction_of_median_sample: float
    ntc_max_reads: int
    ntc_max_detected_hotspots: int
    ntc_max_pass_calls: int
    negative_max_detected_hotspots: int
    materials: tuple[ReferenceMaterial, ...]

    def material(self, name: str) -> ReferenceMaterial | None:
        return next((m for m in self.materials if m.name == name), None)


@dataclass(frozen=True)
class Criteria:
    snps: Path
    population: str
    genotyping: GenotypingSettings
    concordance: ConcordanceCriteria
    contamination: ContaminationCriteria
    cross_talk: CrossTalkCriteria
    controls: ControlCriteria


def _control_criteria(ctl: dict) -> ControlCriteria:
    ntc, neg = ctl["no_template_control"], ctl["negative_control"]
    materials = tuple(
        ReferenceMaterial(name, tuple(ExpectedVariant(**e) for e in m["expected"]), m["description"].strip())
        for name, m in ctl["reference_materials"].items()
    )
    return ControlCriteria(
        required=tuple(ctl["required"]),
        hold_on_cross_talk_failure=ctl["hold_on_cross_talk_failure"],
        **{f"ntc_{k}": v for k, v in ntc.items()},
        **{f"negative_{k}": v for k, v in neg.items()},
        materials=materials,
    )


def reference_materials(path: Path | str | None = None) -> dict[str, ReferenceMaterial]:
    """The materials a control row may name, by name (what the sample-sheet check needs, nothing more)."""
    return {m.name: m for m in load_criteria(path).controls.materials}


def load_doc(path: Path | str | None = None) -> dict:
    """config/controls.yaml (or another file of its schema) checked, defaults filled; every problem at once."""
    return settings.load(path or CONTROLS_YAML, SCHEMA)


def load_criteria(path: Path | str | None = None) -> Criteria:
    """The criteria of config/controls.yaml (or another file of its schema); every problem at once."""
    return criteria_from_doc(load_doc(path))


def criteria_from_doc(doc: dict) -> Criteria:
    """The criteria of a document load_doc checked (a rule's params carry it: the job does not check it again)."""
    identity = doc["identity"]
    return Criteria(
        snps=paths.DATA / identity["snps"],  # a relative path names oncopanel's own SNP set (see lab.kit_path)
        population=identity["population"],
        genotyping=GenotypingSettings(**identity["genotyping"]),
        concordance=ConcordanceCriteria(**identity["concordance"]),
        contamination=ContaminationCriteria(**doc["contamination"]),
        cross_talk=CrossTalkCriteria(**doc["cross_talk"]),
        controls=_control_criteria(doc["controls"]),
    )


@functools.cache
def default_criteria() -> Criteria:
    """config/controls.yaml's criteria, read once: what a function given no criteria judges by."""
    return load_criteria()
