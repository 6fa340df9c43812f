"""The typed result model: one sample's result document as dataclasses (workflow/schemas/result.schema.json).

``SampleResult.from_dict(doc)`` reads a result of any supported schema version; ``to_dict()`` gives the JSON back
exactly (keys this model does not name are kept in ``extra``), so checksums taken over a loaded result equal those
of the file. Results of schema "1.0" carry no reporting decisions (``reporting`` is None everywhere);
``oncopanel.report.decisions.decided`` fills them in with the policy of the time for rendering, without changing
the document.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from oncopanel.model import GERMLINE_SPECIMENS, HotspotResult

SCHEMA_VERSION = "1.2"
# 1.0: before the reporting decisions; 1.1: before the whole-sample therapy matching's fields
SCHEMA_VERSIONS = ("1.0", "1.1", "1.2")


class Record:
    """JSON object ↔ dataclass, field by field. ``_OPTIONAL`` fields are left out of the JSON when None (keys that
    older results do not have); ``_JSON_NAMES`` maps an attribute to its JSON key where Python cannot use it."""

    _OPTIONAL: ClassVar[tuple[str, ...]] = ()
    _JSON_NAMES: ClassVar[dict[str, str]] = {}
    _NESTED: ClassVar[dict[str, type[Record]]] = {}  # attribute → record type (a list of them for list values)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Any:
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}  # type: ignore[arg-type]
        by_key = {cls._JSON_NAMES.get(n, n): n for n in names}
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in doc.items():
            name = by_key.get(key)
            if name is None:
                extra[key] = copy.deepcopy(value)
                continue
            nested = cls._NESTED.get(name)
            if nested is None or value is None:
                kwargs[name] = copy.deepcopy(value)
            elif isinstance(value, list):
                kwargs[name] = [nested.from_dict(v) for v in value]
            else:
                kwargs[name] = nested.from_dict(value)
        return cls(**kwargs, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = copy.deepcopy(self.extra)  # type: ignore[attr-defined]
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is None and f.name in self._OPTIONAL:
                continue
            out[self._JSON_NAMES.get(f.name, f.name)] = _plain(value)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return copy.deepcopy(value)


@dataclass(frozen=True, kw_only=True)
class Decision(Record):
    """What the report does with one item: shown in its section, named in the result summary, and why (a code,
    see decisions.REASONS)."""

    shown: bool
    in_summary: bool
    reason: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TherapyDecision(Decision):
    """A therapy's summary place is per finding (at most ``summary_max`` options per finding)."""

    summary_for: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Sample(Record):
    sample_id: str
    patient: str
    batch: str
    site: str
    specimen_type: str
    tumour_content: float | None
    oncotree_code: str
    tumour_type: str
    panels: list[str]
    received_date: str
    germline_consent: str
    language: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def germline_specimen(self) -> bool:
        return self.specimen_type in GERMLINE_SPECIMENS


@dataclass(frozen=True, kw_only=True)
class Assay(Record):
    stated_lod: float | None
    genes_tested: list[str]
    reference: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Gate(Record):
    _JSON_NAMES: ClassVar[dict[str, str]] = {"passed": "pass"}

    metric: str
    op: str
    threshold: float
    value: float | None
    passed: bool
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class QC(Record):
    _NESTED: ClassVar[dict[str, type[Record]]] = {"gates": Gate}

    status: str
    failure_stage: str
    reasons: list[str]
    metrics: dict[str, float | None]
    gates: list[Gate]
    genes: dict[str, dict[str, float]]  # gene → mean_depth, fraction_ge_<N>x, ...
    coverage_threshold: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Failure(Record):
    _OPTIONAL: ClassVar[tuple[str, ...]] = ("kind", "next_report_date")
    _NESTED: ClassVar[dict[str, type[Record]]] = {"gates_failed": Gate}

    stage: str
    reasons: list[str]
    gates_failed: list[Gate]
    kind: str | None = None  # absent in results written before failure kinds
    next_report_date: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Locus(Record):
    chrom: str
    pos: int
    ref: str
    alt: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.chrom}:{self.pos}:{self.ref}>{self.alt}"


@dataclass(frozen=True, kw_only=True)
class CalledVariant(Record):
    _OPTIONAL: ClassVar[tuple[str, ...]] = ("hgvs_g", "protein_change", "exon", "intron", "genotype", "reporting")
    _NESTED: ClassVar[dict[str, type[Record]]] = {"variant": Locus, "reporting": Decision}

    id: str
    gene: str
    transcript: str
    hgvs_c: str
    hgvs_p: str
    consequence: list[str]
    variant: Locus | None
    vaf: float | None
    depth: int | None
    alt_depth: int | None
    filters: list[str]
    hgvs_g: str | None = None
    protein_change: str | None = None
    exon: str | None = None
    intron: str | None = None
    genotype: str | None = None
    reporting: Decision | None = None  # None in a schema-1.0 result
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return " ".join(x for x in (self.gene, self.hgvs_c, self.hgvs_p) if x)


@dataclass(frozen=True, kw_only=True)
class SomaticFinding(CalledVariant):
    tier: str
    reported: bool  # the call passed the artefact filters and is not Tier IV


@dataclass(frozen=True, kw_only=True)
class GermlineFinding(CalledVariant):
    _OPTIONAL: ClassVar[tuple[str, ...]] = (*CalledVariant._OPTIONAL, "citation")

    classification: str
    source: str
    classification_date: str
    criteria: list[str]
    origin_confirmed: bool
    citation: str | None = None


@dataclass(frozen=True, kw_only=True)
class Germline(Record):
    _NESTED: ClassVar[dict[str, type[Record]]] = {"findings": GermlineFinding}

    consent: str
    reported: bool
    origin_confirmed: bool
    findings: list[GermlineFinding]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Hotspot(HotspotResult, Record):
    """The hotspot engine's result (oncopanel.model.HotspotResult: its fields, declared once) as the result
    document carries it, with the report's decision; ``reason`` says why the status (e.g. the depth)."""

    _OPTIONAL: ClassVar[tuple[str, ...]] = ("reporting", "cause")
    _NESTED: ClassVar[dict[str, type[Record]]] = {"reporting": Decision}

    reporting: Decision | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Approval(Record):
    status: str  # approved_here | off_label | not_approved
    agencies: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class NegativeBiomarker(Record):
    """A wild-type result (schema 1.2), only where every position was assessed (oncopanel.knowledge.negative)."""

    biomarker: str
    status: str  # wild_type | not_determined | detected
    assessed: list[str]
    not_assessed: list[str]
    not_tested: list[str]
    reason: str
    citation: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class CnvEvent(Record):
    """A called exon copy-number change (oncopanel.cnv.records.CnvCall) as the result carries it (schema 1.2)."""

    _OPTIONAL: ClassVar[tuple[str, ...]] = ("reporting",)
    _NESTED: ClassVar[dict[str, type[Record]]] = {"reporting": Decision}

    id: str
    gene: str
    kind: str  # het_deletion | hom_deletion | duplication
    copy_number: int
    first_exon: int  # MANE Select exon numbers
    last_exon: int
    legacy_first_exon: int
    legacy_last_exon: int
    chrom: str
    start: int
    end: int
    ratio: float
    quality: float
    name: str  # HGVS-style on MANE Select
    description: str  # the exons in words
    classification: str
    confirmation: str
    reporting: Decision | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class UnassessedExons(Record):
    """Exons of one gene that could not be assessed, for one reason (never read as "no deletion")."""

    gene: str
    exons: list[int]  # MANE Select numbers
    legacy_exons: list[int]
    reason: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ExonsOfGene(Record):
    """Exons of one gene (MANE Select numbers and legacy ones), e.g. the normal exons whose count does not exclude a
    duplication."""

    gene: str
    exons: list[int]
    legacy_exons: list[int]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class GeneAmplification(Record):
    """A tumour's amplification result (oncopanel.cnv.amplification.Amplification)."""

    _OPTIONAL: ClassVar[tuple[str, ...]] = ("reporting",)
    _NESTED: ClassVar[dict[str, type[Record]]] = {"reporting": Decision}

    id: str
    gene: str
    status: str  # amplified | not_amplified | not_assessable
    ratio: float | None
    copy_number: float | None  # None without the tumour content
    tumour_content: float | None  # fraction
    extent: str  # focal | chromosome gain | cannot be told | ""
    references: int
    text: str
    reporting: Decision | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class CopyNumber(Record):
    """Copy number (schema 1.2, optional): BRCA1/BRCA2 exon copy number and, for tumours, gene amplification."""

    _OPTIONAL: ClassVar[tuple[str, ...]] = ("amplification", "reporting", "duplication_not_excluded")
    _NESTED: ClassVar[dict[str, type[Record]]] = {
        "events": CnvEvent, "not_assessable": UnassessedExons, "amplification": GeneAmplification,
        "reporting": Decision, "duplication_not_excluded": ExonsOfGene,
    }  # fmt: skip

    status: str  # assessed | not_assessable | not_tested | withheld
    reason: str
    genes: list[str]
    reference_version: str  # "this batch" or the store's <version>@sha256:<12 hex>
    references: int
    exons_assessed: int
    events: list[CnvEvent]
    not_assessable: list[UnassessedExons]
    amplification: GeneAmplification | None = None
    reporting: Decision | None = None
    # assessed exons reported normal (a deletion excluded) whose count does not exclude a duplication; absent in
    # results from before it was carried (then no exon's duplication status was stated)
    duplication_not_excluded: list[ExonsOfGene] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def unassessed(self, gene: str) -> list[UnassessedExons]:
        return [u for u in self.not_assessable if u.gene == gene]


@dataclass(frozen=True, kw_only=True)
class Therapy(Record):
    _OPTIONAL: ClassVar[tuple[str, ...]] = (
        "reporting", "status", "reason", "setting", "settings", "guideline", "evidence_tumour", "conflicts",
        "reasons",
    )  # fmt: skip
    _NESTED: ClassVar[dict[str, type[Record]]] = {"approval": Approval, "reporting": TherapyDecision}

    regimen: str
    drugs: list[str]
    gene: str
    biomarker: str
    significance: str
    level: str
    on_label: bool
    resistance: bool
    approval: Approval
    formulary: dict[str, str]
    evidence: list[dict[str, str]]
    rank: int
    finding_ids: list[str]
    reporting: TherapyDecision | None = None
    # schema 1.2 (None in older results): the whole-sample matching's decision, see oncopanel.model.Therapy
    status: str | None = None
    reason: str | None = None
    setting: str | None = None
    settings: list[str] | None = None
    guideline: str | None = None
    evidence_tumour: str | None = None
    conflicts: list[dict[str, Any]] | None = None
    reasons: list[dict[str, str]] | None = None  # the demotion reasons, structured (oncopanel.model.Therapy)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def recommended(self) -> bool:
        """An option the report recommends (results before 1.2: any sensitivity row)."""
        return self.status == "option" if self.status is not None else not self.resistance


@dataclass(frozen=True, kw_only=True)
class Provenance(Record):
    _OPTIONAL: ClassVar[tuple[str, ...]] = (
        "code_revision", "config_checksums", "effective_config_sha256", "tools_by_rule", "batch_inputs",
        "report_version", "audit_head_sha256", "audit_entry_index",
    )  # fmt: skip

    pipeline_version: str
    reference: dict[str, str]
    knowledge_base: dict[str, str]
    annotation: dict[str, str]
    tools: dict[str, str]
    inputs: dict[str, str]
    code_revision: dict[str, Any] | None = None
    config_checksums: dict[str, str] | None = None
    effective_config_sha256: str | None = None
    tools_by_rule: dict[str, dict[str, str]] | None = None
    batch_inputs: dict[str, str] | None = None
    report_version: int | None = None
    audit_head_sha256: str | None = None
    audit_entry_index: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Amendment(Record):
    _OPTIONAL: ClassVar[tuple[str, ...]] = ("reason", "previous_kb_version")

    supersedes: str
    reason: str | None = None
    previous_kb_version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Policy(Record):
    """The reporting policy a result was decided with (decisions.ReportingPolicy, as recorded)."""

    shown_levels: list[str]
    summary_resistance_levels: list[str]
    summary_max: int
    low_coverage_fraction: float
    actionable_tiers: list[str]
    reported_germline: list[str]
    germline_genes: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Reporting(Record):
    """Result-level decisions: the policy used, the germline section's state and the genes flagged low."""

    _NESTED: ClassVar[dict[str, type[Record]]] = {"policy": Policy}

    policy: Policy
    germline_section: str  # reported | withheld | not_tested | not_reported (a failed sample)
    low_coverage_genes: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SampleResult(Record):
    _OPTIONAL: ClassVar[tuple[str, ...]] = ("reporting", "negative_biomarkers", "copy_number", "plasma")
    _NESTED: ClassVar[dict[str, type[Record]]] = {
        "sample": Sample, "assay": Assay, "qc": QC, "failure": Failure, "somatic": SomaticFinding,
        "germline": Germline, "hotspots": Hotspot, "therapies": Therapy, "provenance": Provenance,
        "amendment": Amendment, "reporting": Reporting, "negative_biomarkers": NegativeBiomarker,
        "copy_number": CopyNumber,
    }  # fmt: skip

    schema_version: str
    report_id: str
    status: str  # reported | failed
    reported_date: str
    sample: Sample
    assay: Assay
    qc: QC
    failure: Failure | None
    somatic: list[SomaticFinding]
    germline: Germline
    hotspots: list[Hotspot]
    therapies: list[Therapy]
    provenance: Provenance
    amendment: Amendment | None
    reporting: Reporting | None = None  # None in a schema-1.0 result
    negative_biomarkers: list[NegativeBiomarker] | None = None  # None before schema 1.2
    copy_number: CopyNumber | None = None  # 1.2, optional: absent in results without a copy-number step
    # 1.2, optional: plasma cfDNA only (oncopanel.report.plasma): molecules, cfDNA input, ctDNA detected, CH flags
    plasma: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def held(self) -> bool:
        """Held for the run controls or identity: not released, and not a specimen or QC failure."""
        return self.status == "held" or (self.failure is not None and self.failure.stage == "held")

    @property
    def failure_kind(self) -> str:
        return (self.failure.kind or "") if self.failed and self.failure else ""

    @property
    def decided(self) -> bool:
        return self.reporting is not None

    def summary_findings(self) -> list[SomaticFinding | GermlineFinding]:
        """The findings the result summary lists, in its order: somatic, then germline."""
        self._require_decisions()
        return [v for v in self.somatic if v.reporting and v.reporting.in_summary] + [
            g for g in self.germline.findings if g.reporting and g.reporting.in_summary
        ]

    def therapies_for(self, finding_id: str) -> list[Therapy]:
        return [t for t in self.therapies if finding_id in t.finding_ids]

    def summary_therapies(self, finding_id: str) -> list[Therapy]:
        self._require_decisions()
        return [t for t in self.therapies if t.reporting and finding_id in t.reporting.summary_for]

    def _require_decisions(self) -> None:
        if self.reporting is None:
            raise ValueError(f"{self.report_id}: no reporting decisions (use oncopanel.report.decisions.decided)")


def as_result(result: SampleResult | Mapping[str, Any]) -> SampleResult:
    """The typed model of a result given either way (a dict straight from build_result or a JSON file)."""
    return result if isinstance(result, SampleResult) else SampleResult.from_dict(result)
