"""Domain records shared by the stages.

Stages exchange these through files (VCF, Parquet, JSON); the dataclasses are the in-memory form.
Coordinates are GRCh38, 1-based, VCF-style (``pos`` is the first base of ``ref``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Origin = Literal["germline", "somatic", "hotspot"]
HotspotStatus = Literal["detected", "not_detected", "not_assessable"]
SpecimenType = Literal["tumour_ffpe", "tumour_fresh", "blood_germline", "plasma_cfdna", "saliva"]

TUMOUR_SPECIMENS = ("tumour_ffpe", "tumour_fresh", "plasma_cfdna")
GERMLINE_SPECIMENS = ("blood_germline", "saliva")


@dataclass(frozen=True, order=True)
class Variant:
    """A normalised (left-aligned, biallelic) VCF allele."""

    chrom: str
    pos: int
    ref: str
    alt: str

    @property
    def key(self) -> str:
        return f"{self.chrom}:{self.pos}:{self.ref}>{self.alt}"

    @property
    def is_snv(self) -> bool:
        return len(self.ref) == 1 and len(self.alt) == 1


@dataclass(frozen=True)
class Call:
    """A variant as seen in one sample, with the read evidence behind it."""

    variant: Variant
    sample_id: str
    origin: Origin
    depth: int
    alt_depth: int
    vaf: float
    genotype: str = "./."
    qual: float = 0.0
    gq: int | None = None
    filters: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.filters or self.filters == ("PASS",)


@dataclass(frozen=True)
class HotspotResult:
    """Status of one actionable hotspot in one sample; never 'not_detected' without the depth to show it."""

    hotspot_id: str
    gene: str
    label: str
    status: HotspotStatus
    depth: int
    alt_count: int
    vaf: float | None
    vaf_ci_low: float | None
    vaf_ci_high: float | None
    lod: float | None
    observed: str = ""  # the allele(s) seen, e.g. "c.2236_2250del" or a VCF key
    reason: str = ""
    # why a hotspot is not assessable, for the report's wording: "depth" (too shallow for the stated LoD),
    # "library_damage" (alt reads in one pair orientation only), "paralogue" (reads of a pseudogene); else None
    cause: str | None = None


@dataclass(frozen=True)
class Annotation:
    """A variant named on its MANE Select transcript."""

    variant: Variant
    gene: str
    transcript: str
    consequence: tuple[str, ...]
    hgvs_c: str
    hgvs_p: str = ""
    exon: str = ""  # "10/23" on the MANE transcript
    intron: str = ""
    hgvs_g: str = ""
    protein_change: str = ""  # one-letter short form for knowledge matching, e.g. "G12C", "E746_A750del"


@dataclass(frozen=True)
class GermlineClassification:
    classification: Literal[
        "pathogenic", "likely_pathogenic", "uncertain_significance", "likely_benign", "benign"
    ]
    source: str  # "ENIGMA" or the rule set id
    date: str = ""
    criteria: tuple[str, ...] = ()
    citation: str = ""


@dataclass(frozen=True)
class Evidence:
    """One cited knowledge-base row."""

    source: str  # CIViC, FDA, EMA, NMPA
    gene: str
    biomarker: str  # normalised: "L858R", "Exon 19 Deletion", "Mutation", "G12C"
    oncotree_code: str
    drugs: tuple[str, ...]
    level: str  # CIViC A-E, or "approved"
    direction: str  # Supports / Does Not Support
    significance: str  # Sensitivity/Response, Resistance, ...
    evidence_type: str = "Predictive"
    citation: str = ""
    setting: str = ""
    row_id: str = ""


# a therapy's settings, in the order options are grouped when the sample sheet names no line of therapy (the
# matching sets Therapy.setting, the PDF groups by it)
SETTING_ORDER = ("first_line", "any_line", "maintenance", "after_progression", "adjuvant")

@dataclass(frozen=True)
class Therapy:
    """A matched regimen for one biomarker in this tumour type, ranked."""

    regimen: str  # "dabrafenib + trametinib"
    drugs: tuple[str, ...]
    gene: str
    biomarker: str
    significance: str
    level: str
    on_label: bool
    resistance: bool
    evidence: tuple[Evidence, ...] = ()
    formulary: dict[str, str] = field(default_factory=dict)
    rank: int = 0
    # what the whole-sample matching decided (oncopanel.knowledge.matching): option (recommended), demoted (a
    # resistance biomarker in the sample defeats it: ``reason``), resistance (the verdict is "not expected to
    # benefit"), agnostic (approved for the tumour type regardless of the biomarker), other_evidence (off-label
    # or level C-E), not_option (surgery, chemotherapy with no biomarker basis), no_match
    status: str = "option"
    reason: str = ""
    setting: str = ""  # one of SETTING_ORDER
    settings: tuple[str, ...] = ()  # every setting its on-label evidence names
    guideline: str = ""  # the guideline row that orders it (citation), if any
    evidence_tumour: str = ""  # the tumour type the evidence comes from, when not this one
    finding_keys: tuple[str, ...] = ()  # Variant.key of the findings it follows from; "RAS Wild Type" for negatives
    conflicts: tuple[Evidence, ...] = ()  # evidence for another verdict on the same drugs (kept in the JSON)
    # why demoted, structured for the report's language (``reason`` is the English sentence): each
    # {"kind": "resistance", "rule", "finding", "text", "citation", "partner", "phase", "note", "note_text",
    # "note_citation"} (rule / note: resistance.tsv / phase.tsv ids) or {"kind": "progressed_on", "drug"}
    reasons: tuple[dict[str, str], ...] = ()
