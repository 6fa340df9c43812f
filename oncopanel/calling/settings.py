"""Typed view of the ``calling:`` config block (config/calling.yaml); thresholds stay data.

Every way in (``load``, ``from_dict``) is checked by the settings layer against workflow/schemas/calling.schema.yaml,
which holds the defaults; the germline genes are the reporting policy's (oncopanel.clinical).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oncopanel import clinical, paths, settings
from oncopanel.calling.background import ModelSettings
from oncopanel.hotspots.detection import SUBSTITUTION_CLASSES, BackgroundError, Thresholds, substitution_class

SCHEMA = "calling.schema.yaml"
DEFAULT_FILE = paths.CONFIG / "calling.yaml"


@dataclass(frozen=True)
class FreebayesSettings:
    min_alternate_fraction: float
    min_alternate_count: int
    min_mapping_quality: int
    min_base_quality: int
    limit_coverage: int
    use_best_n_alleles: int
    extra: str = ""


@dataclass(frozen=True)
class GermlineFilters:
    min_qual: float
    min_depth: int
    min_gq: int
    min_alt_reads: int


@dataclass(frozen=True)
class Balance:
    """A two-sided balance test: fails when the minor side is both small and improbable."""

    min_minor_fraction: float
    max_p: float


@dataclass(frozen=True)
class OrientationBalance(Balance):
    """The pair-orientation test, whose tail depends on what is known of the allele's errors.

    ``max_p`` is the tail wherever a one-orientation pattern may be an artefact the tumour cannot be checked
    against: damage-class substitutions, alleles without a learnt background, and alleles whose normals show an
    oriented error. ``clean_max_p`` applies to the rest: alleles the normals show erring in neither orientation
    more than the other (None: ``max_p`` everywhere)."""

    clean_max_p: float | None = None

    def rule(self, clean: bool) -> Balance:
        """The test for an allele whose learnt background is (``clean``) or is not known to be orientation-free."""
        if clean and self.clean_max_p is not None:
            return Balance(self.min_minor_fraction, self.clean_max_p)
        return Balance(self.min_minor_fraction, self.max_p)


@dataclass(frozen=True)
class Background:
    """Per-base rate of one specific wrong allele, and the binomial tail an allele must beat."""

    snv_error_rate: float
    indel_error_rate: float
    max_p: float


@dataclass(frozen=True)
class Damage:
    """Library-damage substitution classes and the alt reads each read orientation must carry."""

    substitutions: tuple[str, ...]
    min_reads_per_orientation: int


@dataclass(frozen=True)
class Homopolymer:
    min_run: int
    max_vaf: float


@dataclass(frozen=True)
class LikelyGermline:
    het_window: float
    hom_min_vaf: float


@dataclass(frozen=True)
class SomaticFilters:
    min_qual: float
    min_alt_reads: int
    min_vaf: float
    background: Background
    min_mean_alt_base_quality: float
    min_mapping_quality: float
    strand_bias: Balance
    orientation_bias: OrientationBalance
    damage: Damage
    read_position: Balance
    min_median_distance_to_read_end: int
    homopolymer: Homopolymer
    likely_germline: LikelyGermline
    read_end_max_p: float = 0.001  # the read-end test's tail (filters.ends_improbable)
    read_end_all_max_p: float = 1.0e-5  # its tail for "all alt fragments within the farthest one's distance"


@dataclass(frozen=True)
class PonSettings:
    min_normals: int
    min_normals_with_alt: int
    min_alt_reads: int


@dataclass(frozen=True)
class ParalogueRegion:
    gene: str
    paralogue: str
    chrom: str
    start0: int
    end: int

    def contains(self, chrom: str, pos: int) -> bool:
        return chrom == self.chrom and self.start0 < pos <= self.end


@dataclass(frozen=True)
class ParalogueRead:
    min_soft_clip: int
    min_extra_mismatches: int
    min_fraction: float


@dataclass(frozen=True)
class HotspotRule:
    """The hotspot detection rule (``calling.hotspots``): thresholds and background error rates. Reads are
    counted with the somatic freebayes block's quality floors, as the VCF's counts are (one VAF per variant)."""

    min_base_quality: int
    min_mapping_quality: int
    min_alt_reads: int
    max_p: float
    power: float
    background: BackgroundError
    # alt fragments with the paralogue signature beyond the reference fragments' share: the same limit as the
    # calling filter's (somatic.paralogue_read.min_fraction)
    paralogue_excess: float
    # library damage: the somatic filter's (somatic.filters.damage), as pyrimidine-normalised classes
    damage_classes: frozenset[str]
    min_reads_per_orientation: int

    def thresholds(self, stated_lod: float) -> Thresholds:
        """The rule at a panel's stated LoD (annotation/panels/panels.yaml)."""
        return Thresholds(
            min_base_quality=self.min_base_quality,
            min_mapping_quality=self.min_mapping_quality,
            min_alt=self.min_alt_reads,
            alpha=self.max_p,
            power=self.power,
            paralog_excess=self.paralogue_excess,
            damage_classes=self.damage_classes,
            min_reads_per_orientation=self.min_reads_per_orientation,
            stated_lod=stated_lod,
        )


def hotspot_rule(
    block: dict[str, Any], counting: FreebayesSettings, paralogue_excess: float, damage: Damage
) -> HotspotRule:
    """The checked ``calling.hotspots`` block as a rule; reads counted under ``counting``'s quality floors, the
    paralogue and library-damage limits the somatic filters'."""
    bg = block["background"]
    return HotspotRule(
        min_base_quality=counting.min_base_quality,
        min_mapping_quality=counting.min_mapping_quality,
        min_alt_reads=block["min_alt_reads"],
        max_p=block["max_p"],
        power=block["power"],
        background=BackgroundError(
            substitution=dict.fromkeys(SUBSTITUTION_CLASSES, bg["substitution_error_rate"]),
            mnv=bg["mnv_error_rate"],
            deletion=bg["deletion_error_rate"],
            insertion=bg["insertion_error_rate"],
        ),
        paralogue_excess=paralogue_excess,
        damage_classes=frozenset(substitution_class(*s.split(">")) for s in damage.substitutions),
        min_reads_per_orientation=damage.min_reads_per_orientation,
    )


@dataclass(frozen=True)
class CallingSettings:
    plain_fasta: str
    germline_freebayes: FreebayesSettings
    germline_filters: GermlineFilters
    somatic_freebayes: FreebayesSettings
    somatic_filters: SomaticFilters
    pon: PonSettings
    paralogues: tuple[ParalogueRegion, ...]
    paralogue_read: ParalogueRead
    hotspots: HotspotRule
    force_hotspots: bool
    background_model: ModelSettings
    lod: dict[str, float]  # specimen type -> stated LoD (calling.lod)

    @property
    def germline_genes(self) -> tuple[str, ...]:
        """The reporting policy's germline genes (oncopanel.clinical, their one home), read when first asked."""
        return clinical.GERMLINE_GENES

    def freebayes(self, mode: str) -> FreebayesSettings:
        """The freebayes settings of ``germline`` or ``somatic`` mode."""
        return {"germline": self.germline_freebayes, "somatic": self.somatic_freebayes}[mode]

    def stated_lod(self, specimen_type: str, panel_lod: float | None = None) -> float:
        """The LoD a specimen type's "not detected" must reach (calling.lod); a specimen type without an entry
        keeps its panels' stated LoD (annotation/panels/panels.yaml), and without either the lowest entry."""
        if specimen_type in self.lod:
            return self.lod[specimen_type]
        return panel_lod if panel_lod is not None else min(self.lod.values())

    def sample_stated_lod(self, specimen_type: str, panel_lods: Iterable[float]) -> float:
        """A sample's stated LoD: its specimen type's (calling.lod), else the lowest of its panels' stated LoDs.
        The one way to it: rule calling_finalize decides hotspot statuses against it and records it in
        calling.json; delivery reads that record, and computes it here only where calling did not run."""
        return self.stated_lod(specimen_type, min(panel_lods, default=None))


def check_block(block: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """The ``calling:`` block checked against its schema (every problem at once), defaults filled."""
    return settings.check(block, SCHEMA, source, prefix="calling")


def from_dict(block: dict[str, Any], source: str = "config") -> CallingSettings:
    """Build settings from the ``calling:`` block, checked first (a block a config file carries)."""
    return from_checked(check_block(block, source))


def from_checked(block: dict[str, Any]) -> CallingSettings:
    """Build settings from a ``calling:`` block check_block already checked and filled: the workflow's config (the
    settings layer checks it when the DAG is built) as a rule's params carry it to a job."""
    g, s = block["germline"], block["somatic"]
    sf = s["filters"]
    somatic_freebayes = FreebayesSettings(**s["freebayes"])
    damage = Damage(tuple(sf["damage"]["substitutions"]), sf["damage"]["min_reads_per_orientation"])
    return CallingSettings(
        plain_fasta=block["plain_fasta"],
        germline_freebayes=FreebayesSettings(**g["freebayes"]),
        germline_filters=GermlineFilters(**g["filters"]),
        somatic_freebayes=somatic_freebayes,
        somatic_filters=SomaticFilters(
            min_qual=sf["min_qual"],
            min_alt_reads=sf["min_alt_reads"],
            min_vaf=sf["min_vaf"],
            background=Background(**sf["background"]),
            min_mean_alt_base_quality=sf["min_mean_alt_base_quality"],
            min_mapping_quality=sf["min_mapping_quality"],
            strand_bias=Balance(**sf["strand_bias"]),
            orientation_bias=OrientationBalance(**sf["orientation_bias"]),
            damage=damage,
            read_position=Balance(**sf["read_position"]),
            min_median_distance_to_read_end=sf["min_median_distance_to_read_end"],
            read_end_max_p=sf["read_end_max_p"],
            read_end_all_max_p=sf["read_end_all_max_p"],
            homopolymer=Homopolymer(**sf["homopolymer"]),
            likely_germline=LikelyGermline(**sf["likely_germline"]),
        ),
        pon=PonSettings(**s["pon"]),
        paralogues=tuple(ParalogueRegion(**p) for p in s["paralogues"]),
        paralogue_read=ParalogueRead(**s["paralogue_read"]),
        hotspots=hotspot_rule(block["hotspots"], somatic_freebayes, s["paralogue_read"]["min_fraction"], damage),
        force_hotspots=block["force_hotspots"],
        background_model=ModelSettings(**s["background_model"]),
        lod=dict(block["lod"]),
    )


def freebayes_from_dict(block: dict[str, Any]) -> FreebayesSettings:
    """One mode's ``freebayes:`` block (``calling.<mode>.freebayes``, checked with the calling block when the
    workflow loaded it): what rule calling_freebayes gets as params."""
    return FreebayesSettings(**block)


def load_block(path: Path | str | None = None) -> dict[str, Any]:
    """The checked ``calling:`` block of config/calling.yaml (or another file with a top-level ``calling:`` key)."""
    return settings.load(path or DEFAULT_FILE, SCHEMA, key="calling")


def load(path: Path | str | None = None) -> CallingSettings:
    """Settings from config/calling.yaml (or another file with a top-level ``calling:`` key), checked."""
    path = path or DEFAULT_FILE
    return from_dict(load_block(path), str(path))
