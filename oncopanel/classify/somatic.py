"""Somatic variant tiers following the AMP/ASCO/CAP 2017 joint consensus.

Li MM et al. Standards and Guidelines for the Interpretation and Reporting of Sequence Variants in Cancer.
J Mol Diagn 2017;19:4-23 (PMID 27993330).

Tiering takes the knowledge-base evidence already matched to the variant (one interface: a list of Evidence)
and the sample's OncoTree code. Therapeutic, diagnostic and prognostic evidence all count, sensitivity and
resistance alike; rows whose direction is "Does Not Support" never lift a tier. Tier I needs level A/B evidence
in this tumour type for the variant itself (a gene-level "Mutation" row does not reach Tier I), and resistance lifts
to Tier I only when it is resistance to a therapy that is standard for this tumour type (``standard_drugs``, from
the guideline and resistance tables: KRAS in colorectal cancer for anti-EGFR antibodies, yes; KRAS in lung cancer
for selumetinib + docetaxel, no).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from oncopanel.model import Annotation, Evidence

AMP_2017_CITATION = "AMP/ASCO/CAP 2017: Li et al., J Mol Diagn 2017;19:4-23 (PMID 27993330)"

TIERS = ("I-A", "I-B", "II-C", "II-D", "III", "IV")


@dataclass(frozen=True)
class TierRule:
    """Evidence of these levels, in this tumour type or another, gives this tier (and AMP level)."""

    tier: str
    amp_level: str
    levels: frozenset[str]
    tumour_type: str  # "this", "other" or "any"
    reason: str


# The mapping, strongest first: the first rule any supporting evidence row meets decides the tier.
# Levels: "approved" = a regulatory label (FDA/EMA/NMPA); A-E = CIViC evidence levels (A validated/guideline,
# B clinical, C case study, D preclinical, E inferential). CIViC E rows do not lift a tier.
TIER_RULES: tuple[TierRule, ...] = (
    TierRule(
        "I-A",
        "A",
        frozenset({"approved", "A"}),
        "this",
        "approved therapy or professional guideline (level A) in this tumour type",
    ),
    TierRule(
        "I-B",
        "B",
        frozenset({"B"}),
        "this",
        "well-powered studies with consensus (level B) in this tumour type",
    ),
    TierRule(
        "II-C",
        "C",
        frozenset({"approved", "A", "B"}),
        "other",
        "approved therapy or level A/B evidence in another tumour type (level C)",
    ),
    TierRule("II-C", "C", frozenset({"C"}), "any", "clinical trial or case-study evidence (level C)"),
    TierRule("II-D", "D", frozenset({"D"}), "any", "preclinical evidence (level D)"),
)

# Consequences that leave the protein unchanged: with no evidence such a variant is tier IV (benign/likely
# benign by consequence), unless a splice consequence is also present.
NOT_PROTEIN_ALTERING = frozenset(
    {
        "synonymous_variant",
        "intron_variant",
        "5_prime_UTR_variant",
        "3_prime_UTR_variant",
        "upstream_gene_variant",
        "downstream_gene_variant",
        "intergenic_variant",
        "non_coding_transcript_exon_variant",
        "stop_retained_variant",
        "start_retained_variant",
        "off_panel",
    }
)
SPLICE_CONSEQUENCES = frozenset(
    {
        "splice_donor_variant",
        "splice_acceptor_variant",
        "splice_region_variant",
        "splice_donor_5th_base_variant",
        "splice_donor_region_variant",
        "splice_polypyrimidine_tract_variant",
    }
)
NOT_SUPPORTING = "does not support"
RESISTANCE = ("Resistance", "Reduced Sensitivity")


@dataclass(frozen=True)
class TierResult:
    tier: str  # one of TIERS
    reason: str  # one line for the report
    evidence: tuple[Evidence, ...] = ()  # the rows that decided the tier
    amp_level: str = ""  # A-D for tiers I-II
    oncotree_code: str = ""
    citation: str = AMP_2017_CITATION


def _level(evidence: Evidence) -> str:
    level = evidence.level.strip()
    return "approved" if level.lower() == "approved" else level.upper()


# How the knowledge base's matcher relates a row to the sample's tumour type (KBEvidence.tumour_match): only
# these count as "this tumour type"; "other", "excluded" (the label excludes it) and "unplaced" do not.
ON_LABEL_MATCHES = frozenset({"same", "parent"})


def _in_tumour_type(evidence: Evidence, lineage: Collection[str]) -> bool:
    match = getattr(evidence, "tumour_match", "")  # set on matched knowledge-base rows; trusted when present
    if match:
        return match in ON_LABEL_MATCHES
    return evidence.oncotree_code.strip().upper() in lineage


def lifts_to_tier_one(evidence: Evidence, standard_drugs: Collection[str] | None) -> bool:
    if getattr(evidence, "variant_match", "") == "gene":
        return False
    if standard_drugs is not None and evidence.significance in RESISTANCE:
        return bool({d.lower() for d in evidence.drugs} & set(standard_drugs))
    return True


def rule_matches(rule: TierRule, evidence: Evidence, lineage: Collection[str],
                 standard_drugs: Collection[str] | None = None) -> bool:
    capped = not lifts_to_tier_one(evidence, standard_drugs)
    if capped and rule.tier == "II-C" and rule.tumour_type == "any":  # strong but not Tier I: counts as level C
        return _level(evidence) in ("approved", "A", "B", "C")
    if _level(evidence) not in rule.levels:
        return False
    if rule.tier.startswith("I-") and capped:
        return False
    if rule.tumour_type == "any":
        return True
    return _in_tumour_type(evidence, lineage) == (rule.tumour_type == "this")


def supporting_evidence(annotation: Annotation, evidence: Iterable[Evidence]) -> list[Evidence]:
    """Rows that may lift a tier: same gene, and not 'Does Not Support'."""
    gene = annotation.gene.upper()
    return [
        e for e in evidence if e.direction.strip().lower() != NOT_SUPPORTING and (not e.gene or e.gene.upper() == gene)
    ]


def _without_evidence(annotation: Annotation, known_benign: bool, cancer_genes: Collection[str] | None) -> TierResult:
    consequences = set(annotation.consequence)
    if known_benign:
        return TierResult("IV", "benign or likely benign (e.g. common polymorphism); no cancer evidence")
    if not annotation.gene or (cancer_genes is not None and annotation.gene not in cancer_genes):
        return TierResult("IV", "outside the panel's cancer genes; no cancer evidence")
    if consequences and consequences <= NOT_PROTEIN_ALTERING and not consequences & SPLICE_CONSEQUENCES:
        shown = ", ".join(sorted(consequences))
        return TierResult("IV", f"does not alter the protein ({shown}); no cancer evidence")
    gene = annotation.gene
    return TierResult("III", f"variant of unknown significance in cancer gene {gene}; no matching evidence")


def somatic_tier(
    annotation: Annotation,
    evidence: Sequence[Evidence],
    oncotree_code: str,
    *,
    tumour_lineage: Collection[str] = (),
    known_benign: bool = False,
    cancer_genes: Collection[str] | None = None,
    standard_drugs: Collection[str] | None = None,
) -> TierResult:
    """AMP/ASCO/CAP 2017 tier of one somatic variant in a tumour of type ``oncotree_code``.

    ``tumour_lineage`` adds the OncoTree ancestors that count as "this tumour type" (evidence for NSCLC
    applies to a LUAD sample); the knowledge base supplies them. ``known_benign`` marks population
    polymorphisms or germline benign classifications. ``cancer_genes`` limits tier III to those genes
    (default: every annotated panel gene). ``standard_drugs``: the drugs standard for this tumour type
    (``oncopanel.knowledge.matching.standard_drugs``); when given, resistance to other drugs does not make Tier I.
    """
    lineage = {code.strip().upper() for code in (oncotree_code, *tumour_lineage) if code}
    usable = supporting_evidence(annotation, evidence)
    for rule in TIER_RULES:
        decided = tuple(e for e in usable if rule_matches(rule, e, lineage, standard_drugs))
        if decided:
            reason = rule.reason
            if all(getattr(e, "variant_match", "") == "gene" for e in decided):
                reason += "; gene-level biomarker match only"  # e.g. "KRAS Mutation", not this variant
            return TierResult(rule.tier, reason, decided, rule.amp_level, oncotree_code)
    result = _without_evidence(annotation, known_benign, cancer_genes)
    ignored = len(evidence) - len(usable)
    if ignored:
        result = TierResult(result.tier, f"{result.reason} ({ignored} 'Does Not Support' row(s) ignored)")
    return TierResult(result.tier, result.reason, (), "", oncotree_code)
