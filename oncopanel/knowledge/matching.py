"""Annotated variants + tumour type -> ranked therapy options, annotated with the centre's formulary.

Ranking (lower first), after AMP/ASCO/CAP 2017 evidence levels:
    0 approved (FDA/EMA/NMPA) in this tumour type or a parent type
    1 CIViC level A in this tumour type        2 CIViC B in this tumour type
    3 approved in another tumour type (off-label)
    4 CIViC A/B in another tumour type, or CIViC C in this tumour type
    5 CIViC D/E in this tumour type            6 CIViC C/D/E in another tumour type
Within a rank, exact variant matches come before codon, exon, class and gene-level ("Mutation") matches; then
equal options are ordered by the formulary (available and reimbursed, available, not listed; then monthly cost).
Resistance is ranked on the same scale as sensitivity and so sits beside it; it is never dropped.
"Does Not Support" rows never make a therapy: they are attached to the therapy they contradict, if there is one.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from oncopanel.errors import InputError
from oncopanel.knowledge.kb import LEVEL_ORDER, SPECIFICITY, KBEvidence, KnowledgeBase
from oncopanel.model import Annotation, GermlineClassification, Therapy
from oncopanel.paths import CONFIG

NO_MATCHED_THERAPY = "no matched therapy"
FORMULARY_PATH = CONFIG / "formulary.tsv"
RESISTANCE = ("Resistance", "Reduced Sensitivity")
FORMULARY_COLUMNS = ("drug", "available", "reimbursed", "monthly_cost_cny", "note")


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
        "note": "; ".join(f"{e.drug}: {e.note}" for e in listed if e.note)
        + ("; " if unlisted and any(e.note for e in listed) else "")
        + (f"not in formulary: {', '.join(unlisted)}" if unlisted else ""),
    }


def formulary_order(status: dict[str, str]) -> tuple:
    access = 0 if status["reimbursed"] == "yes" else 1 if status["available"] == "yes" else 2
    cost = float(status["monthly_cost_cny"]) if status["monthly_cost_cny"] else float("inf")
    return (access, cost)


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


@dataclass
class _Group:
    gene: str
    biomarker: str
    regimen: str
    drugs: tuple[str, ...]
    resistance: bool
    support: list[KBEvidence]
    contrary: list[KBEvidence]


def _therapy(group: _Group, formulary: Formulary) -> tuple[tuple, Therapy]:
    on_label_rows = [e for e in group.support if e.on_label]
    best_pool = on_label_rows or group.support
    best = min(best_pool, key=lambda e: LEVEL_ORDER.get(e.level, 9))
    significances = {e.significance for e in group.support}
    significance = "Resistance" if "Resistance" in significances else sorted(significances)[0]
    ordered = sorted(group.support, key=lambda e: (not e.on_label, LEVEL_ORDER.get(e.level, 9), e.row_id))
    status = formulary_status(group.drugs, formulary)
    therapy = Therapy(
        regimen=group.regimen, drugs=group.drugs, gene=group.gene, biomarker=group.biomarker,
        significance=significance, level=best.level, on_label=bool(on_label_rows), resistance=group.resistance,
        evidence=tuple(ordered + sorted(group.contrary, key=lambda e: e.row_id)), formulary=status,
    )
    specificity = min(SPECIFICITY.get(e.variant_match, 9) for e in best_pool)
    key = (strength(best.level, bool(on_label_rows)), specificity, formulary_order(status), group.regimen, group.gene,
           group.biomarker, group.resistance)
    return key, therapy


def match_therapies(annotations: Iterable[Annotation], oncotree_code: str, kb: KnowledgeBase,
                    formulary: Formulary | None = None,
                    germline: Mapping[str, GermlineClassification | str] | None = None) -> list[Therapy]:
    """Ranked therapy options for one sample; never empty.

    germline: germline classification per Variant.key (a GermlineClassification or its classification string);
    pathogenic / likely pathogenic germline BRCA findings then match as Pathogenic Variant / Loss-of-function,
    like somatic null variants. Without any match the result is one Therapy whose regimen is NO_MATCHED_THERAPY
    (drugs empty, rank 0): the explicit "no matched therapy" result.
    """
    formulary = formulary or {}
    germline = germline or {}
    groups: dict[tuple, _Group] = {}
    contrary: list[tuple[Annotation, KBEvidence]] = []
    for annotation in annotations:
        if not annotation.gene:
            continue
        found = kb.evidence_for(annotation, oncotree_code, classification_of(germline.get(annotation.variant.key)))
        for evidence in found:
            if evidence.evidence_type != "Predictive" or not evidence.drugs:
                continue
            if evidence.direction != "Supports":
                contrary.append((annotation, evidence))
                continue
            for regimen, drugs in regimens(evidence):
                resistance = evidence.significance in RESISTANCE
                key = (annotation.gene, variant_label(annotation), frozenset(drugs), resistance)
                group = groups.setdefault(key, _Group(annotation.gene, variant_label(annotation), regimen, drugs,
                                                      resistance, [], []))
                if evidence.is_approval:  # the label's wording and drug order name the regimen
                    group.regimen, group.drugs = regimen, drugs
                group.support.append(evidence)
    for annotation, evidence in contrary:
        resistance = evidence.significance in RESISTANCE
        for _, drugs in regimens(evidence):
            group = groups.get((annotation.gene, variant_label(annotation), frozenset(drugs), resistance))
            if group is not None:
                group.contrary.append(evidence)
    if not groups:
        return [no_matched_therapy()]
    ranked = sorted((_therapy(g, formulary) for g in groups.values()), key=lambda item: item[0])
    return [replace(therapy, rank=rank) for rank, (_, therapy) in enumerate(ranked, start=1)]


def no_matched_therapy() -> Therapy:
    return Therapy(regimen=NO_MATCHED_THERAPY, drugs=(), gene="", biomarker="", significance="", level="",
                   on_label=False, resistance=False)


def is_no_match(therapies: list[Therapy]) -> bool:
    return len(therapies) == 1 and therapies[0].regimen == NO_MATCHED_THERAPY
