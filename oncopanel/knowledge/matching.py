"""A sample's findings, all at once + its tumour type -> therapy options an oncologist can act on.

Input: ``SampleFindings`` -- the annotated variants with their germline classes, the hotspot statuses (which
decide negative biomarkers such as "RAS Wild Type"), the phase of variant pairs read from the BAM, and copy number
(amplified genes; germline exon deletions, matched as germline variants). Clinical facts are data with citations
(``oncopanel.knowledge.rules``); this module only applies them.

What may match: a germline-classified variant or exon deletion only when pathogenic / likely pathogenic; a somatic
variant only when oncogenic by annotation/knowledge/oncogenic.tsv (panel hotspots, truncating variants in the listed
genes, EGFR exon 19 deletions / exon 20 insertions, or an exact variant with level approved/A/B evidence). A
negative biomarker only when every position of its definition was assessed (``oncopanel.knowledge.negative``). Rows
naming only non-drug "therapies" (annotation/knowledge/non_drug.tsv) are never options.

Precedence, applied in this order:
  1. a resistance rule of annotation/knowledge/resistance.tsv (label limitations, guideline-level resistance) for
     a biomarker in the sample moves every option with a defeated drug out of the recommended options
     ("demoted", with its reason), except the regimens approved for that biomarker itself; and a variant that is
     itself such a biomarker never receives gene-, exon- or class-level sensitivity rows for the defeated drugs;
     a compound biomarker whose options depend on phase (annotation/knowledge/phase.tsv: C797S in trans with T790M
     -> osimertinib + gefitinib at level C; in cis -> no EGFR TKI) applies only when the reads showed that phase;
  2. one drug (set) gets one verdict: among conflicting verdicts for the same drugs, a regulatory label or
     guideline row beats a CIViC row, then evidence in this tumour type beats another, then the more specific
     biomarker (exact > codon > exon > class > gene), then the higher level; the losing rows stay in the JSON
     (``Therapy.conflicts``);
  3. order: recommended options (approved / guideline / level A-B in this tumour type, for more than the gene
     alone) first, by setting (the sample's line of therapy first, else first line, any line, maintenance, after
     progression, adjuvant), then guideline preference and the guideline's listing order, then evidence
     strength and specificity; then the demoted options, biomarker-agnostic approvals, resistance verdicts,
     other evidence (off-label, levels C-E) and non-options.
     The formulary is shown beside each option and never reorders them.

Evidence strength (lower first), after AMP/ASCO/CAP 2017 evidence levels:
    0 approved (FDA/EMA/NMPA) in this tumour type or a parent type
    1 level A (CIViC or a professional guideline) in this tumour type        2 CIViC B in this tumour type
    3 approved in another tumour type (off-label)
    4 CIViC A/B in another tumour type, or CIViC C in this tumour type
    5 CIViC D/E in this tumour type            6 CIViC C/D/E in another tumour type
"Does Not Support" rows never make a therapy: they are attached to the therapy they contradict, if there is one.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from oncopanel.errors import InputError
from oncopanel.knowledge.biomarker import (
    NULL_CONSEQUENCES,
    PATHOGENIC_CLASSES,
    TRUNCATING,
    matches,
    variant_features,
)
from oncopanel.knowledge.kb import LEVEL_ORDER, SPECIFICITY, KBEvidence, KnowledgeBase, variant_match
from oncopanel.knowledge.negative import NegativeResult, assess_all
from oncopanel.knowledge.rules import GuidelineRow, PhaseRule, ResistanceRule, Rules, load_rules
from oncopanel.model import SETTING_ORDER, Annotation, GermlineClassification, HotspotResult, Therapy
from oncopanel.paths import CONFIG

NO_MATCHED_THERAPY = "no matched therapy"
FORMULARY_PATH = CONFIG / "formulary.tsv"
RESISTANCE = ("Resistance", "Reduced Sensitivity")
FORMULARY_COLUMNS = ("drug", "available", "reimbursed", "monthly_cost_cny", "note")
GUIDELINE = "Guideline"  # KBEvidence.source of a guideline row
PHASE = "Phase"  # KBEvidence.source of a phase.tsv regimen: an option in that phase only, at its own level
# the order options are grouped in (Therapy.status), and settings when the sample sheet names no line of therapy
STATUS_ORDER = ("option", "demoted", "agnostic", "resistance", "other_evidence", "not_option")
# label setting text -> setting, first keyword found wins
_SETTING_WORDS = (
    ("maintenance", "maintenance"), ("adjuvant", "adjuvant"), ("chemoradiation", "adjuvant"),
    ("first-line", "first_line"), ("after", "after_progression"), ("previously treated", "after_progression"),
    ("progress", "after_progression"), ("recurrent", "after_progression"), ("prior", "after_progression"),
    ("relapsed", "after_progression"), ("resistant", "after_progression"),
)


@dataclass(frozen=True)
class FormularyEntry:
    drug: str
    available: bool
    reimbursed: bool
    monthly_cost_cny: float | None
    note: str = ""


Formulary = Mapping[str, FormularyEntry]


def _yes(value: str, path: Path, line: int, column: str) -> bool:
    if value.strip().lower() not in ("yes", "no"):
        raise InputError(f"{path}: line {line}: {column} must be yes or no, not {value!r}")
    return value.strip().lower() == "yes"


def load_formulary(path: Path | str | None = None) -> dict[str, FormularyEntry]:
    """config/formulary.tsv: drug, available, reimbursed (yes/no), monthly_cost_cny (blank if unknown), note."""
    path = Path(path) if path else FORMULARY_PATH
    with open(path, newline="") as handle:
        all_lines = handle.readlines()
    lines = [line for line in all_lines if not line.startswith("#")]
    comments = len(all_lines) - len(lines)
    reader = csv.DictReader(lines, delimiter="\t")
    missing = [c for c in FORMULARY_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    entries = {}
    for line, row in enumerate(reader, start=2 + comments):
        cost = row["monthly_cost_cny"].strip()
        entries[row["drug"].strip().lower()] = FormularyEntry(
            drug=row["drug"].strip().lower(),
            available=_yes(row["available"], path, line, "available"),
            reimbursed=_yes(row["reimbursed"], path, line, "reimbursed"),
            monthly_cost_cny=float(cost) if cost else None,
            note=row["note"].strip(),
        )
    return entries


def formulary_status(drugs: tuple[str, ...], formulary: Formulary) -> dict[str, str]:
    """Summary for a regimen: every drug must be available / reimbursed for the regimen to be."""
    entries = [formulary.get(d) for d in drugs]
    listed = [e for e in entries if e is not None]
    costs = [e.monthly_cost_cny for e in listed if e.monthly_cost_cny is not None]
    unlisted = [d for d, e in zip(drugs, entries, strict=True) if e is None]
    return {
        "available": "yes" if listed and len(listed) == len(drugs) and all(e.available for e in listed)
        else "not listed" if not listed else "no",
        "reimbursed": "yes" if listed and len(listed) == len(drugs) and all(e.reimbursed for e in listed)
        else "not listed" if not listed else "no",
        "monthly_cost_cny": f"{sum(costs):.0f}" if costs and len(costs) == len(drugs) else "",
        "note": "; ".join(f"{e.drug}: {e.note}" for e in listed if e.note),  # the centre's own notes
        "not_listed": ", ".join(unlisted),  # drugs the formulary does not list (the report words it)
    }


def strength(level: str, on_label: bool) -> int:
    """The 0-6 rank of the module docstring."""
    order = LEVEL_ORDER.get(level, 9)
    if on_label:
        return {0: 0, 1: 1, 2: 2, 3: 4}.get(order, 5)
    return {0: 3, 1: 4, 2: 4}.get(order, 6)


def regimens(evidence: KBEvidence) -> list[tuple[str, tuple[str, ...]]]:
    """CIViC 'Substitutes' rows are evidence for each drug alone; everything else is one regimen."""
    if evidence.drug_interaction == "Substitutes":
        return [(drug, (drug,)) for drug in evidence.drugs]
    return [(evidence.regimen or " + ".join(evidence.drugs), evidence.drugs)]


def classification_of(value: GermlineClassification | str | None) -> str | None:
    if value is None:
        return None
    return value.classification if isinstance(value, GermlineClassification) else str(value)


def variant_label(annotation: Annotation) -> str:
    return annotation.protein_change or annotation.hgvs_p or annotation.hgvs_c or annotation.variant.key


def setting_of(text: str) -> str:
    """A label's setting text ("first-line, metastatic") as one of rules.SETTINGS."""
    lowered = text.lower()
    return next((setting for word, setting in _SETTING_WORDS if word in lowered), "any_line")


@dataclass(frozen=True)
class CopyNumberLoss:
    """A germline exon deletion the copy-number engine called (``oncopanel.cnv``) and its germline class: matched
    like a germline loss-of-function variant of the gene, under its HGVS-style name (the finding key)."""

    name: str  # e.g. NM_007294.4:c.4358-?_5467+?del
    annotation: Annotation  # as a deletion of the same exons from a VCF (oncopanel.cnv.naming.call_annotation)
    classification: str  # only pathogenic / likely_pathogenic reach the therapies

    @property
    def gene(self) -> str:
        return self.annotation.gene


@dataclass(frozen=True)
class SampleFindings:
    """Everything matching needs about one sample, at once.

    germline: germline classification per Variant.key; phases: "cis" / "trans" / "not determined" per pair of
    Variant.keys (sorted), from ``oncopanel.hotspots.phasing``; copy_number: the genes the sample's copy number calls
    amplified (``oncopanel.cnv``), matched as the "<gene> Amplification" biomarker; copy_number_losses: the germline
    exon deletions (germline samples with consent only, ``oncopanel.assemble.germline_losses``).
    """

    annotations: tuple[Annotation, ...] = ()
    germline: Mapping[str, GermlineClassification | str] = field(default_factory=dict)
    hotspots: tuple[HotspotResult, ...] = ()
    specimen_type: str = "tumour_ffpe"
    stated_lod: float | None = None
    phases: Mapping[tuple[str, str], str] = field(default_factory=dict)
    copy_number: tuple[str, ...] = ()
    copy_number_losses: tuple[CopyNumberLoss, ...] = ()

    def phase(self, a: Annotation, b: Annotation) -> str:
        return self.phases.get(tuple(sorted((a.variant.key, b.variant.key))), "not determined")  # type: ignore


def as_findings(findings: SampleFindings | Iterable[Annotation],
                germline: Mapping[str, GermlineClassification | str] | None = None) -> SampleFindings:
    if isinstance(findings, SampleFindings):
        return replace(findings, germline={**findings.germline, **(germline or {})})
    return SampleFindings(annotations=tuple(findings), germline=dict(germline or {}))


# ---- what may match ------------------------------------------------------------------------------------------

def _hotspot_match(annotation: Annotation, hotspots: Iterable) -> bool:
    features = variant_features(annotation)
    for h in hotspots:
        if h.gene != annotation.gene:
            continue
        if h.is_class:
            kind = "inframe_deletion" if h.kind == "deletion_class" else "inframe_insertion"
            if kind in annotation.consequence and features.position and h.aa_start <= features.position <= h.aa_end:
                return True
        elif features.codon and h.aa_start <= int(features.codon[1:]) <= h.aa_end:
            return True
    return False


@functools.cache
def _panel_hotspots() -> tuple:
    from oncopanel.hotspots import load_hotspots  # the one hotspot table

    return tuple(load_hotspots())


def is_oncogenic(annotation: Annotation, rules: Rules, evidence: Iterable[KBEvidence] = ()) -> str:
    """The oncogenic.tsv rule a somatic variant meets, or "" (then nothing matches it)."""
    features = variant_features(annotation)
    for rule in rules.oncogenic:
        if rule.gene and rule.gene != annotation.gene:
            continue
        if rule.kind == "panel_hotspot" and _hotspot_match(annotation, _panel_hotspots()):
            return rule.rule_id
        if rule.kind == "truncating" and set(annotation.consequence) & (TRUNCATING | NULL_CONSEQUENCES):
            return rule.rule_id
        if rule.kind == "exon_class" and rule.biomarker is not None and matches(rule.biomarker, features):
            return rule.rule_id
        if rule.kind == "exact_level_ab" and any(
            e.variant_match == "exact" and LEVEL_ORDER.get(e.level, 9) <= LEVEL_ORDER["B"] for e in evidence
        ):
            return rule.rule_id
    return ""


def own_resistance(annotation: Annotation, rules: Rules, lineage: tuple[str, ...]) -> list[ResistanceRule]:
    """The resistance rules this variant is itself the biomarker of, in this tumour type."""
    features = variant_features(annotation)
    return [r for r in rules.resistance if r.gene == annotation.gene and r.applies_in(lineage)
            and any(matches(b, features) for b in r.biomarkers)]


def evidence_for_finding(kb: KnowledgeBase, annotation: Annotation, oncotree_code: str,
                         germline_class: str | None = None, rules: Rules | None = None) -> list[KBEvidence]:
    """The knowledge-base rows that may reach this variant (matching and tiers read the same list): none for a
    germline-classified variant that is not P/LP or a somatic variant that is not oncogenic; a gene-, exon- or
    class-level sensitivity row never reaches a variant that is itself resistant to those drugs."""
    rules = rules or load_rules()
    if germline_class is not None and germline_class not in PATHOGENIC_CLASSES:
        return []
    found = kb.evidence_for(annotation, oncotree_code, germline_class)
    if germline_class is None and not is_oncogenic(annotation, rules, found):
        return []
    lineage = (oncotree_code, *kb.tree.ancestors(oncotree_code))
    defeated = own_resistance(annotation, rules, lineage)
    return [
        e for e in found
        if not (defeated and e.variant_match != "exact" and e.significance not in RESISTANCE
                and any(r.defeats(drugs) for r in defeated for _, drugs in regimens(e)))
    ]


def guideline_evidence(row: GuidelineRow, lineage: tuple[str, ...], gene: str, biomarker: str) -> KBEvidence:
    """A guideline row as level-A evidence in this tumour type (AMP/ASCO/CAP: professional guidelines)."""
    code = next(c for c in row.oncotree_codes if c in lineage)
    return KBEvidence(
        source=GUIDELINE, gene=gene, biomarker=biomarker, oncotree_code=code,
        drugs=tuple(d.strip() for d in row.regimen.split("+")),  # as the guideline writes them
        level="A", direction="Supports", significance="Sensitivity/Response", citation=row.citation,
        setting=row.setting, row_id=row.guideline_id, regimen=row.regimen,
        tumour_match="same" if code == lineage[0] else "parent", variant_match=variant_match(row.biomarkers[0]),
    )


def guideline_rows(rules: Rules, lineage: tuple[str, ...], gene: str, annotation: Annotation | None,
                   negative: str = "", germline_class: str | None = None) -> list[GuidelineRow]:
    """The guideline rows the variant (or negative biomarker) meets here; a germline class decides class-level
    biomarkers ("Pathogenic Variant") as in the knowledge base."""
    features = variant_features(annotation, germline_class) if annotation is not None else None
    out = []
    for row in rules.guidelines:
        if (row.gene != gene and not negative) or not set(row.oncotree_codes) & set(lineage):
            continue
        if negative:
            if any(b.kind == "wild_type" and b.name.lower() == negative.lower() for b in row.biomarkers):
                out.append(row)
        elif features is not None and any(matches(b, features) for b in row.biomarkers):
            out.append(row)
    return out


def phase_rules(rules: Rules, lineage: tuple[str, ...], annotation: Annotation,
                findings: SampleFindings) -> list[PhaseRule]:
    """The phase.tsv rows this variant meets in this sample: its partner is present and the reads showed the
    row's phase (cis / trans). None when the phase was not determined."""
    features = variant_features(annotation)
    out = []
    for row in rules.phase:
        if row.gene != annotation.gene or not row.applies_in(lineage) or not matches(row.biomarker, features):
            continue
        partners = [a for a in findings.annotations if a.gene == row.gene and variant_label(a) == row.partner]
        if partners and findings.phase(annotation, partners[0]) == row.phase:
            out.append(row)
    return out


def phase_evidence(row: PhaseRule, lineage: tuple[str, ...], label: str) -> KBEvidence:
    """A phase.tsv regimen as evidence at the row's level in this tumour type."""
    code = next((c for c in row.oncotree_codes if c in lineage), lineage[0])
    return KBEvidence(
        source=PHASE, gene=row.gene, biomarker=label, oncotree_code=code,
        drugs=tuple(d.strip() for d in row.regimen.split("+")), level=row.level, direction="Supports",
        significance="Sensitivity/Response", citation=row.citation, setting=row.setting.replace("_", " "),
        row_id=row.phase_id, regimen=row.regimen, tumour_match="same" if code == lineage[0] else "parent",
        variant_match="exact",
    )


# ---- grouping and verdicts -----------------------------------------------------------------------------------

@dataclass
class _Group:
    gene: str
    biomarker: str
    regimen: str
    drugs: tuple[str, ...]
    resistance: bool
    keys: list[str]
    support: list[KBEvidence]
    contrary: list[KBEvidence] = field(default_factory=list)
    guideline: GuidelineRow | None = None
    conflicts: list[KBEvidence] = field(default_factory=list)

    @property
    def drug_set(self) -> frozenset[str]:
        return frozenset(d.lower() for d in self.drugs)

    def best(self) -> KBEvidence:
        pool = [e for e in self.support if e.on_label] or self.support
        return min(pool, key=lambda e: (LEVEL_ORDER.get(e.level, 9), SPECIFICITY.get(e.variant_match, 9)))

    def precedence(self) -> tuple:
        """Lower wins: label or guideline over CIViC, this tumour type, specificity, level (module docstring)."""
        authority = 0 if any(e.is_approval or e.source == GUIDELINE for e in self.support) else 1
        on_label = 0 if any(e.on_label for e in self.support) else 1
        specificity = min(SPECIFICITY.get(e.variant_match, 9) for e in self.support)
        level = min(LEVEL_ORDER.get(e.level, 9) for e in self.support)
        return (authority, on_label, specificity, level)


def _biomarker_required(evidence: KBEvidence) -> bool:
    return bool(getattr(evidence, "biomarker_required", True))  # field of the approval rows (therapydata)


AGNOSTIC = "regardless of biomarker"  # the biomarker label of a biomarker-agnostic approval's own line


def _add(groups: dict, gene: str, label: str, key: str, evidence: KBEvidence, contrary: list) -> None:
    if evidence.evidence_type != "Predictive" or not evidence.drugs:
        return
    if evidence.is_approval and not _biomarker_required(evidence):  # its own line, never biomarker-matched
        if not evidence.on_label:
            return  # approved for another tumour type regardless of this gene: says nothing about this variant
        label = AGNOSTIC
    if evidence.direction != "Supports":
        contrary.append((gene, label, evidence))
        return
    for regimen, drugs in regimens(evidence):
        resistance = evidence.significance in RESISTANCE
        gkey = (gene, label, frozenset(d.lower() for d in drugs), resistance)
        group = groups.setdefault(gkey, _Group(gene, label, regimen, drugs, resistance, [key] if key else [], []))
        # the label's wording names the regimen (else the guideline's)
        if evidence.is_approval or (evidence.source == GUIDELINE and not any(e.is_approval for e in group.support)):
            group.regimen, group.drugs = regimen, drugs
        group.support.append(evidence)


def _one_verdict(groups: list[_Group]) -> list[_Group]:
    """One group per drug set: the winner of the precedence carries the losers' rows as conflicts (same verdict:
    supporting rows from another finding are merged in, their findings linked)."""
    by_drugs: dict[tuple, list[_Group]] = {}
    for g in groups:  # a biomarker-agnostic approval keeps its own line beside the biomarker-matched verdict
        by_drugs.setdefault((g.drug_set, g.biomarker == AGNOSTIC), []).append(g)
    out = []
    for same in by_drugs.values():
        same.sort(key=lambda g: (g.precedence(), g.resistance))
        winner = same[0]
        for other in same[1:]:
            if other.resistance == winner.resistance:
                winner.support += [e for e in other.support if e not in winner.support]
                winner.keys += [k for k in other.keys if k not in winner.keys]
            else:
                winner.conflicts += other.support
        out.append(winner)
    return out


def _status(group: _Group, demoted: str, non_drug: frozenset[str]) -> str:
    best = group.best()
    if group.drug_set <= non_drug:
        return "not_option"
    if group.resistance:
        return "resistance"
    if demoted:
        return "demoted"
    if group.biomarker == AGNOSTIC:
        return "agnostic"
    if any(e.source == PHASE for e in group.support):  # defined for exactly this phase (phase.tsv)
        return "option"
    specific = any(e.is_approval or e.source == GUIDELINE or e.variant_match != "gene" for e in group.support)
    if strength(best.level, best.on_label) <= 2 and specific:  # a "KRAS Mutation" trial row recommends nothing
        return "option"
    return "other_evidence"


def _settings(group: _Group) -> tuple[str, ...]:
    found = {group.guideline.setting} if group.guideline else set()
    found |= {setting_of(e.setting) for e in group.support
              if e.on_label and (e.is_approval or e.source in (GUIDELINE, PHASE))}
    return tuple(s for s in SETTING_ORDER if s in found)


def _line_setting(line_of_therapy: str) -> str:
    return "after_progression" if line_of_therapy.startswith("progressed_on:") else line_of_therapy


def _demotion(group: _Group, present: list[tuple[ResistanceRule, Annotation]], findings: SampleFindings,
              line_of_therapy: str, notes: Mapping[str, PhaseRule]) -> tuple[str, tuple[dict[str, str], ...]]:
    """Why the group is not recommended here: the English sentence (JSON ``reason``) and the same reasons
    structured (JSON ``reasons``), from which the report writes them in its language."""
    if group.resistance:
        return "", ()
    reasons: dict[str, dict[str, str]] = {}
    for rule, annotation in present:
        if rule.defeats(group.drugs):
            reason = f"{rule.gene} {variant_label(annotation)}: {rule.reason} ({rule.citation})"
            phase = _phase_of_partner(rule, annotation, findings)
            partner = _phase_text(variant_label(annotation), rule.phase_with, phase)
            note = notes.get(annotation.variant.key)
            text = reason + (f"; {partner}" if partner else "") + (f"; {note.note} ({note.citation})" if note else "")
            reasons.setdefault(text, {"kind": "resistance", "rule": rule.rule_id,
                                      "finding": f"{rule.gene} {variant_label(annotation)}", "text": rule.reason,
                                      "citation": rule.citation, "partner": rule.phase_with, "phase": phase,
                                      "note": note.phase_id if note else "", "note_text": note.note if note else "",
                                      "note_citation": note.citation if note else ""})
    progressed = line_of_therapy.removeprefix("progressed_on:") if line_of_therapy.startswith("progressed_on:") \
        else ""
    if progressed and progressed.lower() in group.drug_set:
        reasons[f"the disease progressed on {progressed} (sample sheet line_of_therapy)"] = {
            "kind": "progressed_on", "drug": progressed}
    return "; ".join(reasons), tuple(reasons.values())


def _phase_of_partner(rule: ResistanceRule, annotation: Annotation, findings: SampleFindings) -> str:
    """The phase with the rule's partner variant (C797S with T790M: cis or trans decides the options): cis,
    trans, "not determined", "absent" (no partner in the sample), or "" (the rule names no partner)."""
    if not rule.phase_with:
        return ""
    partners = [a for a in findings.annotations if a.gene == annotation.gene and variant_label(a) == rule.phase_with]
    if not partners:
        return "absent"
    phase = findings.phase(annotation, partners[0])
    return phase if phase in ("cis", "trans", "cis and trans") else "not determined"


def _phase_text(label: str, partner: str, phase: str) -> str:
    if not phase:
        return ""
    if phase == "absent":
        return f"without {partner}"
    if phase == "not determined":
        return (f"{label} phase not determined with {partner} (no read spans both positions): the options "
                f"differ between cis and trans, so neither is offered")
    return f"{label} in {phase} with {partner}"


def phase_pairs(annotations: Iterable[Annotation], oncotree_code: str, kb: KnowledgeBase,
                rules: Rules | None = None) -> list[tuple[Annotation, Annotation]]:
    """The variant pairs whose phase the report states (resistance.tsv phase_with), for reading from the BAM."""
    rules = rules or load_rules()
    annotations = list(annotations)
    lineage = (oncotree_code, *kb.tree.ancestors(oncotree_code))
    pairs = []
    for annotation in annotations:
        for rule in own_resistance(annotation, rules, lineage):
            pairs += [(annotation, a) for a in annotations if rule.phase_with and a.gene == annotation.gene
                      and variant_label(a) == rule.phase_with]
    return pairs


def _order_key(group: _Group, status: str, line_setting: str) -> tuple:
    best = group.best()
    settings = _settings(group)
    if line_setting and line_setting in settings:
        setting_rank = -1
    else:
        setting_rank = min((SETTING_ORDER.index(s) for s in settings), default=len(SETTING_ORDER))
    guideline = group.guideline.preference_rank if group.guideline else (9, 0)
    specificity = min(SPECIFICITY.get(e.variant_match, 9) for e in group.support)
    key = (STATUS_ORDER.index(status),)
    if status == "option":
        key += (setting_rank, guideline)
    return (*key, strength(best.level, best.on_label), specificity, group.regimen, group.gene, group.biomarker)


def _therapy(group: _Group, status: str, reason: str, line_setting: str, formulary: Formulary,
             kb: KnowledgeBase) -> Therapy:
    best = group.best()
    significances = {e.significance for e in group.support}
    significance = "Resistance" if "Resistance" in significances else sorted(significances)[0]
    ordered = sorted(group.support, key=lambda e: (not e.on_label, LEVEL_ORDER.get(e.level, 9), e.row_id))
    settings = _settings(group)
    setting = line_setting if line_setting in settings else (settings[0] if settings else "")
    on_label = any(e.on_label for e in group.support)
    tumour = "" if on_label else (best.disease or kb.tree.name(best.oncotree_code) or best.oncotree_code or
                                  "another tumour type")
    if status == "agnostic":
        genes = "/".join(sorted({e.gene for e in group.support}))
        reason = reason or f"approved for this tumour type regardless of {genes} status"
    return Therapy(
        regimen=group.regimen, drugs=group.drugs, gene=group.gene, biomarker=group.biomarker,
        significance=significance, level=best.level, on_label=on_label, resistance=group.resistance,
        evidence=tuple(ordered + sorted(group.contrary, key=lambda e: e.row_id)),
        formulary=formulary_status(group.drugs, formulary), status=status, reason=reason, setting=setting,
        settings=settings, guideline=group.guideline.citation if group.guideline else "", evidence_tumour=tumour,
        finding_keys=tuple(group.keys), conflicts=tuple(sorted(group.conflicts, key=lambda e: e.row_id)),
    )


def standard_drugs(oncotree_code: str, kb: KnowledgeBase, gene: str, rules: Rules | None = None) -> frozenset[str]:
    """The therapies whose resistance matters for a variant in this gene and tumour type: those a resistance rule
    of annotation/knowledge/resistance.tsv scopes there (anti-EGFR antibodies for KRAS in colorectal cancer; none
    for KRAS in lung cancer). Resistance to anything else does not make Tier I."""
    rules = rules or load_rules()
    lineage = (oncotree_code, *kb.tree.ancestors(oncotree_code))
    return frozenset(d for rule in rules.resistance if rule.gene == gene and rule.applies_in(lineage)
                     for d in rule.defeated)


def negative_results(findings: SampleFindings, rules: Rules | None = None, oncotree_code: str = "",
                     kb: KnowledgeBase | None = None) -> list[NegativeResult]:
    """The sample's negative biomarkers; given the tumour type, only those that matter there (a label or guideline
    row names the wild-type biomarker for it: RAS wild type in colorectal cancer, not in lung cancer)."""
    rules = rules or load_rules()
    results = assess_all(rules.negative, findings.hotspots, findings.specimen_type, findings.stated_lod)
    if not oncotree_code or kb is None:
        return results
    lineage = (oncotree_code, *kb.tree.ancestors(oncotree_code))
    return [r for r in results
            if any(e.on_label for e in kb.evidence_for_negative(r.biomarker, oncotree_code))
            or guideline_rows(rules, lineage, "", None, r.biomarker)]


def match_therapies(findings: SampleFindings | Iterable[Annotation], oncotree_code: str, kb: KnowledgeBase,
                    formulary: Formulary | None = None,
                    germline: Mapping[str, GermlineClassification | str] | None = None,
                    line_of_therapy: str = "", rules: Rules | None = None) -> list[Therapy]:
    """Ranked therapy options for one sample, from all its findings at once; never empty.

    findings: a SampleFindings (or just the annotated variants). germline: germline classification per
    Variant.key (merged into the findings'). line_of_therapy: the sample sheet's first_line / maintenance /
    progressed_on:<drug>; the options of that setting lead. Without any match the result is one Therapy whose
    regimen is NO_MATCHED_THERAPY (drugs empty, rank 0, status "no_match").
    """
    findings = as_findings(findings, germline)
    formulary = formulary or {}
    rules = rules or load_rules()
    code = oncotree_code
    lineage = (code, *kb.tree.ancestors(code))  # InputError naming the closest codes for an unknown one
    groups: dict[tuple, _Group] = {}
    contrary: list[tuple[str, str, KBEvidence]] = []
    present: list[tuple[ResistanceRule, Annotation]] = []
    guideline_of: dict[tuple, GuidelineRow] = {}
    phase_notes: dict[str, PhaseRule] = {}  # Variant.key -> the phase.tsv row of the phase its reads showed
    for annotation in dict.fromkeys(findings.annotations):
        if not annotation.gene:
            continue
        germline_class = classification_of(findings.germline.get(annotation.variant.key))
        label = variant_label(annotation)
        found = evidence_for_finding(kb, annotation, code, germline_class, rules)
        if not found and not is_oncogenic(annotation, rules) and germline_class not in PATHOGENIC_CLASSES:
            continue
        present += [(r, annotation) for r in own_resistance(annotation, rules, lineage)]
        for evidence in found:
            _add(groups, annotation.gene, label, annotation.variant.key, evidence, contrary)
        for row in guideline_rows(rules, lineage, annotation.gene, annotation):
            guideline_of.setdefault((annotation.gene, label, row.drugs), row)
            _add(groups, annotation.gene, label, annotation.variant.key,
                 guideline_evidence(row, lineage, annotation.gene, label), contrary)
        for row in phase_rules(rules, lineage, annotation, findings):
            phase_notes[annotation.variant.key] = row
            if row.regimen:
                _add(groups, annotation.gene, label, annotation.variant.key, phase_evidence(row, lineage, label),
                     contrary)
    for negative in negative_results(findings, rules, code, kb):
        if not negative.is_wild_type:
            continue
        found = kb.evidence_for_negative(negative.biomarker, code)
        gene = found[0].gene if found else negative.biomarker.split()[0]
        for evidence in found:
            _add(groups, evidence.gene, negative.biomarker, negative.biomarker, evidence, contrary)
        for row in guideline_rows(rules, lineage, gene, None, negative.biomarker):
            guideline_of.setdefault((row.gene, negative.biomarker, row.drugs), row)
            _add(groups, row.gene, negative.biomarker, negative.biomarker,
                 guideline_evidence(row, lineage, row.gene, negative.biomarker), contrary)
    for gene in findings.copy_number:
        label = f"{gene} Amplification"  # the finding key the result links the therapy to
        for evidence in kb.evidence_for_copy_number(gene, "Amplification", code):
            _add(groups, gene, label, label, evidence, contrary)
    for loss in findings.copy_number_losses:
        if loss.classification not in PATHOGENIC_CLASSES:
            continue  # a deletion PVS1 alone leaves uncertain (only the last exon) never matches
        annotation = loss.annotation
        for evidence in evidence_for_finding(kb, annotation, code, loss.classification, rules):
            _add(groups, loss.gene, loss.name, loss.name, evidence, contrary)
        for row in guideline_rows(rules, lineage, loss.gene, annotation, germline_class=loss.classification):
            guideline_of.setdefault((loss.gene, loss.name, row.drugs), row)
            _add(groups, loss.gene, loss.name, loss.name, guideline_evidence(row, lineage, loss.gene, loss.name),
                 contrary)
    for evidence in kb.approvals_regardless_of_biomarker(code):  # PARP maintenance in ovarian cancer
        _add(groups, evidence.gene, AGNOSTIC, "", evidence, contrary)
    for gene, label, evidence in contrary:
        resistance = evidence.significance in RESISTANCE
        for _, drugs in regimens(evidence):
            group = groups.get((gene, label, frozenset(d.lower() for d in drugs), resistance))
            if group is not None:
                group.contrary.append(evidence)
    for (gene, label, drugs, resistance), group in groups.items():
        if not resistance:
            group.guideline = guideline_of.get((gene, label, drugs))
    if not groups:
        return [no_matched_therapy()]
    line_setting = _line_setting(line_of_therapy)
    decided = []
    for group in _one_verdict(list(groups.values())):
        reason, reasons = _demotion(group, present, findings, line_of_therapy, phase_notes)
        status = _status(group, reason, rules.non_drug)
        decided.append((_order_key(group, status, line_setting), group, status, reason, reasons))
    decided.sort(key=lambda item: item[0])
    return [replace(_therapy(g, status, reason, line_setting, formulary, kb), rank=rank, reasons=reasons)
            for rank, (_, g, status, reason, reasons) in enumerate(decided, start=1)]


def no_matched_therapy() -> Therapy:
    return Therapy(regimen=NO_MATCHED_THERAPY, drugs=(), gene="", biomarker="", significance="", level="",
                   on_label=False, resistance=False, status="no_match")


def is_no_match(therapies: list[Therapy]) -> bool:
    return len(therapies) == 1 and therapies[0].regimen == NO_MATCHED_THERAPY


def recommended(therapies: list[Therapy], setting: str = "") -> list[Therapy]:
    """The recommended options (status "option"), of one setting when given."""
    return [t for t in therapies if t.status == "option" and (not setting or t.setting == setting
                                                               or setting in t.settings)]
