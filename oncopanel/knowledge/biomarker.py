"""Biomarker names normalised from CIViC variant names and the approvals table, and matched to annotated variants.

A biomarker is one of:
    exact protein change   "L858R", "R1443*", "E746_A750del", "D770_N771insSVD", "A767_V769dup"
    codon                  "G12" (any amino-acid change at Gly12), alternatives "G12/G13"
    exon class             "Exon 19 Deletion", "Exon 20 Insertion", "Exon 2 Mutation"
    gene class             "Mutation" (any protein-altering change), "Loss-of-function" (null variants, or a
                           pathogenic / likely pathogenic germline classification), "Truncating",
                           "Pathogenic Variant" (same rule as Loss-of-function), "Non-V600". A variant with a benign,
                           likely benign or uncertain germline classification matches no class; for BRCA1/2,
                           gene-level "Mutation" means a deleterious variant (the Loss-of-function rule).
    frameshift at a codon  "P968fs"
    wild type              "RAS Wild Type", "KRAS Wild Type", "BRAF V600 Wild Type": a negative result, matched
                           only when the sample's hotspot table shows every position of its definition
                           (annotation/knowledge/negative_biomarkers.tsv) assessed; see oncopanel.knowledge.negative
Anything else (fusions, amplification, expression, compound genotypes) is kept in the knowledge base as
not matchable by a small-variant panel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from oncopanel.model import Annotation

PROTEIN_ALTERING = frozenset({
    "missense_variant", "stop_gained", "stop_lost", "start_lost", "frameshift_variant", "inframe_deletion",
    "inframe_insertion", "protein_altering_variant", "splice_acceptor_variant", "splice_donor_variant",
})
NULL_CONSEQUENCES = frozenset({
    "stop_gained", "frameshift_variant", "splice_acceptor_variant", "splice_donor_variant", "start_lost",
})
TRUNCATING = frozenset({"stop_gained", "frameshift_variant"})
PATHOGENIC_CLASSES = frozenset({"pathogenic", "likely_pathogenic"})
NOT_PATHOGENIC_CLASSES = frozenset({"benign", "likely_benign", "uncertain_significance"})
# Genes whose gene-level "Mutation" evidence (PARP-inhibitor trials) means a deleterious variant, not any missense.
MUTATION_MEANS_LOSS = frozenset({"BRCA1", "BRCA2"})

_MISSENSE = re.compile(r"^([A-Z*])(\d+)([A-Z*])$")
_CODON = re.compile(r"^([A-Z])(\d+)$")
_FIRST_POS = re.compile(r"^[A-Z*](\d+)")
_INDEL = re.compile(r"^[A-Z]\d+(_[A-Z]\d+)?(del|ins|dup|delins)[A-Z]*$")
_FRAMESHIFT = re.compile(r"^([A-Z])(\d+)FS$")
_EXON_CLASS = re.compile(r"^EXON (\d+) (DELETION|INSERTION|MUTATION)$")
_CIVIC_DELINS = re.compile(r"^([A-Z]\d+_[A-Z]\d+)>([A-Z]+)$")
_WILD_TYPE = re.compile(r"^([A-Z0-9]+(?: [A-Z]\d+)?) WILD TYPE$")

_GENE_CLASSES = {
    "MUTATION": "Mutation",
    "LOSS-OF-FUNCTION": "Loss-of-function",
    "TRUNCATING MUTATION": "Truncating",
    "DELETERIOUS MUTATION": "Loss-of-function",
    "PATHOGENIC VARIANT": "Pathogenic Variant",
    "NON-V600": "Non-V600",
}


@dataclass(frozen=True)
class Biomarker:
    """A normalised biomarker: ``kind`` says how it matches, ``name`` is what reports show."""

    kind: str  # exact, codon, exon_deletion, exon_insertion, exon_mutation, class, frameshift, wild_type, unmatchable
    name: str
    value: str = ""  # protein change, codon ("G12"), exon number, class name or frameshift codon

    @property
    def matchable(self) -> bool:
        return self.kind != "unmatchable"


def normalise_protein_change(text: str) -> str:
    """One-letter form with '*' for stop: 'W1815X' -> 'W1815*', 'p.(Gly12Cys)' handled upstream."""
    text = text.strip()
    if _MISSENSE.match(text.replace("X", "*")):
        return text.replace("X", "*")
    match = _CIVIC_DELINS.match(text)
    if match:
        return f"{match.group(1)}delins{match.group(2)}"
    dup = re.match(r"^([A-Z]\d+(?:_[A-Z]\d+)?dup)[A-Z]*$", text)
    if dup:
        return dup.group(1)
    return text


def parse_one(text: str) -> Biomarker:
    raw = text.strip()
    upper = raw.upper()
    if upper in _GENE_CLASSES:
        return Biomarker("class", _GENE_CLASSES[upper], _GENE_CLASSES[upper])
    exon = _EXON_CLASS.match(upper)
    if exon:
        number, what = exon.groups()
        return Biomarker(f"exon_{what.lower()}", f"Exon {number} {what.title()}", number)
    wild_type = _WILD_TYPE.match(upper)
    if wild_type:  # "RAS Wild Type": its definition says which positions must have been assessed
        subject = raw[: len(wild_type.group(1))].strip()
        return Biomarker("wild_type", f"{subject} Wild Type", subject)
    frameshift = _FRAMESHIFT.match(upper)
    if frameshift:
        return Biomarker("frameshift", f"{frameshift.group(1)}{frameshift.group(2)}fs", frameshift.group(2))
    change = normalise_protein_change(raw)
    if _MISSENSE.match(change) or _INDEL.match(change):
        return Biomarker("exact", change, change)
    codon = _CODON.match(change)
    if codon:
        return Biomarker("codon", change, change)
    return Biomarker("unmatchable", raw, raw)


def parse_biomarker(text: str) -> list[Biomarker]:
    """'G12/G13' -> two codon biomarkers; 'V600E/V600K' -> two exact; anything unmatchable -> one unmatchable."""
    parts = [p for p in text.split("/") if p.strip()] if "/" in text else [text]
    parsed = [parse_one(p) for p in parts]
    if len(parsed) > 1 and not all(b.matchable and b.kind in ("exact", "codon") for b in parsed):
        return [Biomarker("unmatchable", text.strip(), text.strip())]
    return parsed


def normalised_name(text: str) -> str:
    return "/".join(b.name for b in parse_biomarker(text))


@dataclass(frozen=True)
class VariantFeatures:
    """What matching needs to know about one annotated variant."""

    gene: str
    protein_change: str
    consequences: frozenset[str]
    exon: int | None
    codon: str  # "G12" for a missense at Gly12; "" otherwise
    position: int | None  # first protein position
    pathogenic: bool | None  # germline classification: True P/LP, False B/LB/VUS, None unclassified


def exon_number(exon: str) -> int | None:
    match = re.match(r"^(\d+)", exon or "")
    return int(match.group(1)) if match else None


def variant_features(annotation: Annotation, germline_class: str | None = None) -> VariantFeatures:
    change = normalise_protein_change(annotation.protein_change.removeprefix("p.").strip("()"))
    missense = _MISSENSE.match(change)
    first = _FIRST_POS.match(change)
    pathogenic = None
    if germline_class in PATHOGENIC_CLASSES:
        pathogenic = True
    elif germline_class in NOT_PATHOGENIC_CLASSES:
        pathogenic = False
    return VariantFeatures(
        gene=annotation.gene,
        protein_change=change,
        consequences=frozenset(annotation.consequence),
        exon=exon_number(annotation.exon),
        codon=f"{missense.group(1)}{missense.group(2)}" if missense and missense.group(3) != "*" else "",
        position=int(first.group(1)) if first else None,
        pathogenic=pathogenic,
    )


def is_loss_of_function(features: VariantFeatures) -> bool:
    """A germline classification decides when there is one (BRCA2 p.Lys3326Ter is benign); else the consequence."""
    if features.pathogenic is not None:
        return features.pathogenic
    return bool(features.consequences & NULL_CONSEQUENCES)


def matches(biomarker: Biomarker, features: VariantFeatures) -> bool:
    """Does this annotated variant carry this biomarker? (The gene is compared by the caller.)"""
    altering = bool(features.consequences & PROTEIN_ALTERING)
    frameshift = "frameshift_variant" in features.consequences
    kind = biomarker.kind
    if kind == "wild_type":  # a negative result is not a variant: matched from the hotspot table, not here
        return False
    if kind == "exact":
        return features.protein_change == biomarker.value
    if kind == "codon":
        return features.codon == biomarker.value
    if kind == "frameshift":
        return frameshift and features.position == int(biomarker.value)
    if kind in ("exon_deletion", "exon_insertion", "exon_mutation"):
        if features.exon != int(biomarker.value) or not altering:
            return False
        if kind == "exon_mutation":
            return True
        if frameshift:
            return False
        change = features.protein_change
        if kind == "exon_deletion":
            return "inframe_deletion" in features.consequences or ("del" in change and "dup" not in change)
        return "inframe_insertion" in features.consequences or "ins" in change or "dup" in change
    if kind == "class":
        if features.pathogenic is False:  # classified benign / likely benign / VUS: no class-level match
            return False
        if biomarker.value == "Mutation":
            if features.gene in MUTATION_MEANS_LOSS:
                return is_loss_of_function(features)
            return altering or features.pathogenic is True
        if biomarker.value in ("Loss-of-function", "Pathogenic Variant"):
            return is_loss_of_function(features)
        if biomarker.value == "Truncating":
            return bool(features.consequences & TRUNCATING) and features.pathogenic is not False
        if biomarker.value == "Non-V600":
            return altering and features.position is not None and features.position != 600
    return False
