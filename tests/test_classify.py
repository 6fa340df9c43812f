"""Germline BRCA1/2 classification and somatic AMP/ASCO/CAP 2017 tiers, on hand-built annotations.

Coordinates and HGVS names were checked against the embedded GRCh38 slices and the MANE transcript models.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import pandas as pd
import pytest
import yaml

from oncopanel.classify import (
    GermlineFinding,
    classify_germline,
    exon_label,
    legacy_exon_label,
    reportable_germline,
    somatic_tier,
)
from oncopanel.classify.germline import (
    ENIGMA_TABLE,
    RULES_FILE,
    classify_by_rules,
    load_enigma,
    load_germline_rules,
    normalise_variant,
    parse_germline_rules,
)
from oncopanel.model import Annotation, Evidence, GermlineClassification, Variant
from oncopanel.reference import SliceSequence

BRCA1_TX = "NM_007294.4"
BRCA2_TX = "NM_000059.4"


def brca(gene, chrom, pos, ref, alt, consequence, hgvs_c, hgvs_p="", exon=""):
    transcript = BRCA1_TX if gene == "BRCA1" else BRCA2_TX
    return Annotation(Variant(chrom, pos, ref, alt), gene, transcript, (consequence,), hgvs_c, hgvs_p, exon)


@pytest.fixture(scope="module")
def sequence():
    return SliceSequence()


# ------------------------------------------------------------------ ENIGMA expert classifications


def test_brca1_c68_69del_is_pathogenic_from_enigma_with_its_date():
    ann = brca(
        "BRCA1", "chr17", 43124027, "ACT", "A", "frameshift_variant", "c.68_69del", "p.(Glu23ValfsTer17)", "2/23"
    )
    result = classify_germline(ann)
    assert result.classification == "pathogenic"
    assert result.source == "ENIGMA"
    assert result.date == "2016-04-22"
    assert "matched on GRCh38 allele chr17:43124027:ACT>A" in result.criteria
    assert "NM_007294.3:c.68_69delAG" in result.citation


def test_enigma_rows_are_normalised_before_matching(sequence):
    # The source gives this deletion right-shifted (chr17:43124029 TCT>T); both forms are the same allele.
    assert normalise_variant(Variant("17", 43124029, "TCT", "T"), sequence) == Variant("chr17", 43124027, "ACT", "A")
    ann = brca("BRCA1", "chr17", 43124029, "TCT", "T", "frameshift_variant", "c.68_69del")
    assert classify_germline(ann, sequence=sequence).classification == "pathogenic"


def test_brca2_c5946del_is_pathogenic_from_enigma():
    ann = brca(
        "BRCA2", "chr13", 32340300, "GT", "G", "frameshift_variant", "c.5946del", "p.(Ser1982ArgfsTer22)", "11/27"
    )
    result = classify_germline(ann)
    assert (result.classification, result.source, result.date) == ("pathogenic", "ENIGMA", "2016-04-22")


def test_brca2_c7397_reference_difference_is_benign_from_enigma():
    # GRCh38 carries T (Val2466) where NM_000059.3 carries C: samples show c.7397T>C p.(Val2466Ala).
    ann = brca("BRCA2", "chr13", 32355250, "T", "C", "missense_variant", "c.7397T>C", "p.(Val2466Ala)", "14/27")
    result = classify_germline(ann)
    assert (result.classification, result.source, result.date) == ("benign", "ENIGMA", "2015-01-12")
    assert "SCV000245109" in result.citation
    assert any("reference difference" in c for c in result.criteria)


def test_enigma_benign_nonsense_beats_the_rules():
    # BRCA2 c.9976A>T p.(Lys3326Ter) is a known benign truncation (ENIGMA 2015).
    ann = brca("BRCA2", "chr13", 32398489, "A", "T", "stop_gained", "c.9976A>T", "p.(Lys3326Ter)", "27/27")
    result = classify_germline(ann)
    assert (result.classification, result.date) == ("benign", "2015-08-10")
    assert "SCV000244498" in result.citation


def test_hgvs_fallback_when_the_row_has_no_position():
    # BRCA1 c.5278-2del has no GRCh38 position in the source: matched on the c. name alone.
    ann = brca("BRCA1", "chr17", 1, "N", "N", "splice_acceptor_variant", "c.5278-2del")
    result = classify_germline(ann)
    assert result.source == "ENIGMA" and result.classification == "pathogenic"
    assert any(c.startswith("matched on HGVS NM_007294.4:c.5278-2del") for c in result.criteria)


def test_a_variant_evaluated_twice_keeps_the_latest_evaluation():
    ann = brca("BRCA2", "chr13", 32326240, "A", "G", "splice_acceptor_variant", "c.476-2A>G")
    result = classify_germline(ann)
    assert (result.classification, result.date) == ("uncertain_significance", "2016-04-15")


# ------------------------------------------------------------------ PVS1 rules (variants not in ENIGMA)


def test_novel_brca2_exon11_nonsense_is_likely_pathogenic_by_pvs1():
    ann = brca("BRCA2", "chr13", 32337464, "C", "T", "stop_gained", "c.3109C>T", "p.(Gln1037Ter)", "11/27")
    result = classify_germline(ann)
    assert result.classification == "likely_pathogenic"
    assert result.source == "oncopanel-germline-brca-rules v1.0"
    assert result.criteria[0].startswith("PVS1 (8 points): premature stop at codon 1037")
    assert "Tavtigian" in result.citation and "GN097" in result.citation


def test_truncation_3prime_of_last_pathogenic_ptc_gets_no_pvs1():
    # BRCA2 p.(Lys3313Ter): last exon, 3' of p.Tyr3308Ter, the most 3' pathogenic truncation.
    ann = brca("BRCA2", "chr13", 32398450, "A", "T", "stop_gained", "c.9937A>T", "p.(Lys3313Ter)", "27/27")
    result = classify_germline(ann)
    assert result.classification == "uncertain_significance"
    assert result.criteria[0].startswith("PVS1 not applicable (0 points): NMD not predicted")


def test_truncation_in_brca1_exons_skipped_by_the_natural_isoform_gets_no_pvs1():
    # BRCA1 exon 9 (legacy exon 10) is absent from the in-frame delta9,10 isoform.
    ann = brca("BRCA1", "chr17", 43095915, "CT", "C", "frameshift_variant", "c.600del", "p.(Asp201IlefsTer33)", "9/23")
    result = classify_germline(ann)
    assert result.classification == "uncertain_significance"
    assert "exon 8-9 (legacy 9-10)" in result.criteria[0]


def test_nmd_escaping_truncation_before_the_last_pathogenic_one_is_pvs1_strong_only():
    # BRCA1 c.5559C>A p.(Tyr1853Ter): last exon, NMD not expected; PVS1_Strong (4 points) alone stays VUS.
    ann = brca("BRCA1", "chr17", 43045711, "G", "T", "stop_gained", "c.5559C>A", "p.(Tyr1853Ter)", "23/23")
    result = classify_germline(ann)
    assert result.classification == "uncertain_significance"
    assert result.criteria[0].startswith("PVS1_Strong (4 points)")


def test_missense_not_in_enigma_is_vus():
    ann = brca("BRCA1", "chr17", 43074507, "T", "G", "missense_variant", "c.4499A>C", "p.(Lys1500Thr)", "14/23")
    result = classify_germline(ann)
    assert result.classification == "uncertain_significance"
    assert result.criteria == ("no ENIGMA classification; not a null variant; no other evidence reaches this stage",)


def test_canonical_splice_donor_is_likely_pathogenic():
    ann = brca("BRCA2", "chr13", 32346897, "G", "A", "splice_donor_variant", "c.7007+1G>A", "p.?")
    result = classify_germline(ann)
    assert result.classification == "likely_pathogenic"
    assert result.criteria[0].startswith("PVS1 (8 points): canonical splice site c.7007+1")


def test_canonical_splice_of_a_rescued_exon_is_vus():
    ann = brca("BRCA1", "chr17", 43097243, "C", "T", "splice_donor_variant", "c.593+1G>A", "p.?")
    result = classify_germline(ann)
    assert result.classification == "uncertain_significance"
    assert "delta9,10" in result.criteria[0]


@pytest.mark.parametrize(
    ("gene", "hgvs_c", "expected"),
    [
        ("BRCA1", "c.4097-1G>A", "likely_pathogenic"),  # allele listed very strong by the VCEP
        ("BRCA1", "c.4097-1G>C", "uncertain_significance"),  # same site, in-frame exon skipping: supporting
        ("BRCA1", "c.-19-2A>G", "uncertain_significance"),  # 5' UTR intron
        ("BRCA1", "c.5193+2T>C", "uncertain_significance"),  # GT>GC donor
        ("BRCA2", "c.6937+1G>A", "uncertain_significance"),  # natural in-frame delta12 isoform
        ("BRCA2", "c.7976+2C>T", "uncertain_significance"),  # GC donor made GT
        ("BRCA2", "c.7976+1G>A", "likely_pathogenic"),  # same donor, lost
    ],
)
def test_splice_site_exceptions_are_read_from_the_rules(gene, hgvs_c, expected):
    consequence = "splice_donor_variant" if "+" in hgvs_c else "splice_acceptor_variant"
    ann = brca(gene, "chr1", 1, "N", "N", consequence, hgvs_c)
    assert classify_by_rules(ann, load_germline_rules()).classification == expected


def test_rules_are_data_changing_the_yaml_changes_the_call():
    raw = yaml.safe_load(RULES_FILE.read_text())
    stricter = copy.deepcopy(raw)
    stricter["genes"]["BRCA2"]["truncation_regions"].append(
        {"c_start": 1910, "c_end": 6841, "exons": "11", "strength": "strong", "why": "test"}
    )
    ann = brca("BRCA2", "chr13", 32337464, "C", "T", "stop_gained", "c.3109C>T", "p.(Gln1037Ter)")
    assert classify_by_rules(ann, parse_germline_rules(raw)).classification == "likely_pathogenic"
    assert classify_by_rules(ann, parse_germline_rules(stricter)).classification == "uncertain_significance"


def test_rules_agree_with_enigma_on_canonical_splice_snvs():
    """Rules v. experts on every ENIGMA canonical-splice SNV (the rules alone, ENIGMA not consulted)."""
    rules = load_germline_rules()
    table = pd.read_csv(ENIGMA_TABLE, sep="\t", dtype=str, keep_default_na=False)
    disagreements, agreements = [], 0
    for row in table.itertuples():
        site = re.fullmatch(r"c\.\d+([+-])[12][ACGT]>[ACGT]", row.hgvs_c)
        if site:
            consequence = "splice_donor_variant" if site[1] == "+" else "splice_acceptor_variant"
            ann = brca(row.gene, "chr1", 1, "N", "N", consequence, row.hgvs_c)
            call = classify_by_rules(ann, rules).classification
            if (row.clinical_significance, call) == ("Pathogenic", "likely_pathogenic"):
                agreements += 1
            else:
                disagreements.append((row.gene, row.hgvs_c, row.clinical_significance, call))
    assert agreements == 20
    # Leaky splice alleles that ENIGMA left uncertain in 2016 (full-length transcript made): ENIGMA, consulted
    # first, keeps them VUS; sequence-only rules cannot see the leak.
    assert sorted(disagreements) == [
        ("BRCA2", "c.476-2A>G", "Uncertain", "likely_pathogenic"),
        ("BRCA2", "c.8755-1G>A", "Uncertain", "likely_pathogenic"),
    ]


def test_rules_alone_leave_the_benign_brca2_k3326_truncation_vus():
    ann = brca("BRCA2", "chr13", 32398489, "A", "T", "stop_gained", "c.9976A>T", "p.(Lys3326Ter)", "27/27")
    assert classify_by_rules(ann, load_germline_rules()).classification == "uncertain_significance"


def test_start_loss_is_kept_at_reduced_strength():
    ann = brca("BRCA1", "chr17", 43124096, "T", "C", "start_lost", "c.1A>G", "p.(Met1?)", "2/23")
    result = classify_germline(ann)
    assert result.classification == "uncertain_significance"
    assert result.criteria[0].startswith("PVS1_Moderate (2 points): initiation codon lost")


def test_other_genes_are_not_classified_by_these_rules():
    ann = Annotation(Variant("chr17", 7674220, "C", "T"), "TP53", "NM_000546.6", ("missense_variant",), "c.742C>T")
    result = classify_germline(ann)
    assert result.classification == "uncertain_significance"
    assert result.criteria == ("no germline rules for TP53",)


def test_enigma_index_covers_every_positioned_row():
    index = load_enigma()
    assert len(index.by_variant) == 1243  # 1,244 positioned rows, one allele listed twice (c.476-2A>G)
    assert len(index.by_hgvs) == 1264


# ------------------------------------------------------------------ exon naming and report split


@pytest.mark.parametrize(
    ("gene", "mane", "legacy"),
    [("BRCA1", 3, "3"), ("BRCA1", 4, "5"), ("BRCA1", 10, "11"), ("BRCA1", 23, "24"), ("BRCA2", 11, "11")],
)
def test_legacy_exon_labels(gene, mane, legacy):
    assert legacy_exon_label(gene, mane) == legacy


def test_exon_label_says_mane_and_legacy():
    brca1 = brca("BRCA1", "chr17", 1, "N", "N", "stop_gained", "c.1000C>T", exon="10/23")
    brca2 = brca("BRCA2", "chr13", 1, "N", "N", "stop_gained", "c.3109C>T", exon="11/27")
    assert exon_label(brca1) == "exon 10 of NM_007294.4 (MANE Select; legacy exon 11)"
    assert exon_label(brca2) == "exon 11 of NM_000059.4 (MANE Select)"
    assert exon_label(brca("BRCA1", "chr17", 1, "N", "N", "intron_variant", "c.80+5G>A")) == ""


def test_intron_label_matches_the_legacy_ivs_name():
    # ENIGMA's BIC names: BRCA1 c.4097-1G>A = IVS11-1G>A; BRCA2 c.476-2A>G = IVS5-2A>G.
    brca1 = Annotation(
        Variant("chr17", 43091033, "C", "T"), "BRCA1", BRCA1_TX, ("splice_acceptor_variant",), "c.4097-1G>A",
        intron="10/22",
    )  # fmt: skip
    brca2 = Annotation(
        Variant("chr13", 32326240, "A", "G"), "BRCA2", BRCA2_TX, ("splice_acceptor_variant",), "c.476-2A>G",
        intron="5/26",
    )  # fmt: skip
    assert exon_label(brca1) == "intron 10 of NM_007294.4 (MANE Select; legacy intron 11)"
    assert exon_label(brca2) == "intron 5 of NM_000059.4 (MANE Select)"


def _finding(kind):
    ann = brca("BRCA2", "chr13", 1, "N", "N", "missense_variant", f"c.{len(kind)}A>G")
    return GermlineFinding(ann, GermlineClassification(kind, "ENIGMA", "2015-01-12"))


def test_reportable_germline_splits_main_vus_and_hides_benign_by_default():
    kinds = ["pathogenic", "likely_pathogenic", "uncertain_significance", "likely_benign", "benign"]
    findings = [_finding(k) for k in kinds]
    report = reportable_germline(findings)
    assert [f.classification.classification for f in report.main] == ["pathogenic", "likely_pathogenic"]
    assert [f.classification.classification for f in report.vus] == ["uncertain_significance"]
    assert report.benign == () and report.benign_not_reported == 2
    assert report.notes == ("ENIGMA classifications date from 2015-2016; the date of each travels with it",)
    shown = reportable_germline(findings, report_benign=True)
    assert [f.classification.classification for f in shown.benign] == ["likely_benign", "benign"]
    assert shown.benign_not_reported == 0


# ------------------------------------------------------------------ somatic tiers


def somatic(gene, hgvs_p, consequence="missense_variant", protein_change=""):
    return Annotation(
        Variant("chr1", 1, "A", "C"), gene, "NM_x", (consequence,), "c.1A>C", hgvs_p, protein_change=protein_change
    )


def ev(gene, biomarker, code, level, *, source="CIViC", direction="Supports", significance="Sensitivity/Response"):
    return Evidence(source, gene, biomarker, code, ("drug",), level, direction, significance, row_id=f"{code}-{level}")


KRAS_G12C = somatic("KRAS", "p.(Gly12Cys)", protein_change="G12C")
EGFR_L858R = somatic("EGFR", "p.(Leu858Arg)", protein_change="L858R")
TP53_NOVEL = somatic("TP53", "p.(Pro151Thr)")


def test_kras_g12c_nsclc_with_approved_therapy_is_tier_ia():
    approved = ev("KRAS", "G12C", "NSCLC", "approved", source="FDA")
    preclinical = ev("KRAS", "G12C", "NSCLC", "D")
    result = somatic_tier(KRAS_G12C, [preclinical, approved], "NSCLC")
    assert (result.tier, result.amp_level) == ("I-A", "A")
    assert result.evidence == (approved,)
    assert result.reason == "approved therapy or professional guideline (level A) in this tumour type"
    assert "Li et al., J Mol Diagn 2017;19:4-23" in result.citation


def test_evidence_for_an_ancestor_tumour_type_counts_as_this_tumour_type():
    approved = ev("KRAS", "G12C", "NSCLC", "approved", source="FDA")
    assert somatic_tier(KRAS_G12C, [approved], "LUAD").tier == "II-C"
    assert somatic_tier(KRAS_G12C, [approved], "LUAD", tumour_lineage=("NSCLC", "LUNG")).tier == "I-A"


def test_civic_level_b_in_this_tumour_type_is_tier_ib():
    result = somatic_tier(EGFR_L858R, [ev("EGFR", "L858R", "NSCLC", "B")], "NSCLC")
    assert result.tier == "I-B"


def test_egfr_l858r_with_evidence_only_in_another_tumour_type_is_tier_iic():
    rows = [ev("EGFR", "L858R", "NSCLC", "approved", source="FDA"), ev("EGFR", "L858R", "NSCLC", "B")]
    result = somatic_tier(EGFR_L858R, rows, "COADREAD")
    assert (result.tier, result.amp_level) == ("II-C", "C")
    assert result.evidence == tuple(rows)
    assert "another tumour type" in result.reason


@pytest.mark.parametrize(("level", "tier"), [("C", "II-C"), ("D", "II-D"), ("E", "III")])
def test_lower_levels(level, tier):
    assert somatic_tier(EGFR_L858R, [ev("EGFR", "L858R", "NSCLC", level)], "NSCLC").tier == tier


def test_resistance_evidence_counts():
    resistance = ev("KRAS", "G12D", "COADREAD", "A", significance="Resistance")
    result = somatic_tier(somatic("KRAS", "p.(Gly12Asp)"), [resistance], "COADREAD")
    assert result.tier == "I-A" and result.evidence == (resistance,)


def test_novel_tp53_missense_without_evidence_is_tier_iii():
    result = somatic_tier(TP53_NOVEL, [], "BRCA")
    assert result.tier == "III" and result.evidence == ()
    assert result.reason == "variant of unknown significance in cancer gene TP53; no matching evidence"


def test_synonymous_variant_is_tier_iv():
    result = somatic_tier(somatic("TP53", "p.(Leu257=)", "synonymous_variant"), [], "BRCA")
    assert result.tier == "IV"
    assert result.reason == "does not alter the protein (synonymous_variant); no cancer evidence"


def test_synonymous_at_a_splice_region_stays_tier_iii():
    ann = Annotation(
        Variant("chr17", 1, "A", "C"), "TP53", "NM_000546.6", ("splice_region_variant", "synonymous_variant"), "c.1A>C"
    )
    assert somatic_tier(ann, [], "BRCA").tier == "III"


def test_known_benign_polymorphism_is_tier_iv():
    assert somatic_tier(TP53_NOVEL, [], "BRCA", known_benign=True).tier == "IV"


def test_does_not_support_evidence_never_lifts_a_tier():
    against = ev("EGFR", "L858R", "NSCLC", "A", direction="Does Not Support")
    result = somatic_tier(EGFR_L858R, [against], "NSCLC")
    assert result.tier == "III" and result.evidence == ()
    assert result.reason.endswith("(1 'Does Not Support' row(s) ignored)")
    preclinical = ev("EGFR", "L858R", "NSCLC", "D")
    assert somatic_tier(EGFR_L858R, [against, preclinical], "NSCLC").evidence == (preclinical,)


def test_evidence_for_another_gene_is_ignored():
    assert somatic_tier(TP53_NOVEL, [ev("KRAS", "G12C", "BRCA", "A")], "BRCA").tier == "III"


@dataclass(frozen=True)
class MatchedEvidence(Evidence):
    """Evidence as the knowledge base's matcher returns it (tumour_match / variant_match set)."""

    tumour_match: str = ""
    variant_match: str = ""


def test_the_matchers_tumour_match_is_trusted_over_the_code():
    # A tumour-agnostic approval whose label excludes colorectal cancer is off-label there.
    excluded = MatchedEvidence(
        "FDA", "BRAF", "V600E", "SOLID", ("dabrafenib", "trametinib"), "approved", "Supports",
        "Sensitivity/Response", tumour_match="excluded", variant_match="exact",
    )  # fmt: skip
    braf = somatic("BRAF", "p.(Val600Glu)", protein_change="V600E")
    assert somatic_tier(braf, [excluded], "COADREAD", tumour_lineage=("SOLID",)).tier == "II-C"
    on_label = MatchedEvidence(**{**excluded.__dict__, "tumour_match": "parent"})
    assert somatic_tier(braf, [on_label], "THPA").tier == "I-A"


def test_a_gene_level_match_does_not_make_tier_one_and_is_named_in_the_reason():
    any_mutation = MatchedEvidence(
        "CIViC", "KRAS", "Mutation", "COADREAD", ("cetuximab",), "A", "Supports", "Resistance",
        tumour_match="same", variant_match="gene",
    )  # fmt: skip
    result = somatic_tier(somatic("KRAS", "p.(Ala146Val)"), [any_mutation], "COADREAD")
    assert result.tier == "II-C"  # Tier I needs evidence for the variant itself, not "KRAS Mutation"
    assert result.reason.endswith("; gene-level biomarker match only")


def test_resistance_makes_tier_one_only_for_a_standard_therapy():
    row = MatchedEvidence(
        "CIViC", "KRAS", "G13D", "NSCLC", ("selumetinib", "docetaxel"), "A", "Supports", "Resistance",
        tumour_match="parent", variant_match="exact",
    )  # fmt: skip
    g13d = somatic("KRAS", "p.(Gly13Asp)")
    assert somatic_tier(g13d, [row], "LUAD", standard_drugs={"osimertinib", "sotorasib"}).tier == "II-C"
    assert somatic_tier(g13d, [row], "LUAD", standard_drugs={"selumetinib"}).tier == "I-A"
