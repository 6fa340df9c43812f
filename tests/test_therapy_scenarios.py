"""Clinical scenarios, as an oncologist would try them: for each, the first recommended option for its setting, the
variant's AMP tier, and what must not be recommended or shown (issue 16). Matching takes the whole sample at once."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from oncopanel.assemble import germline_losses
from oncopanel.classify import somatic_tier
from oncopanel.cnv.records import CnvCall, CnvTable
from oncopanel.knowledge import KnowledgeBase, ancestors
from oncopanel.knowledge.matching import (
    SampleFindings,
    evidence_for_finding,
    is_no_match,
    match_therapies,
    negative_results,
    recommended,
    standard_drugs,
)
from oncopanel.model import Annotation, HotspotResult, Variant

KEYS = iter(range(1, 10_000))


def variant(gene: str, change: str, exon: str, consequence: str = "missense_variant") -> Annotation:
    return Annotation(Variant("chr1", 1000 + next(KEYS), "A", "C"), gene, "NM_test", (consequence,), "c.test",
                      f"p.{change}", exon=exon, protein_change=change)


L858R = variant("EGFR", "L858R", "21/28")
EX19DEL = variant("EGFR", "E746_A750del", "19/28", "inframe_deletion")
T790M = variant("EGFR", "T790M", "20/28")
C797S = variant("EGFR", "C797S", "20/28")
G719S = variant("EGFR", "G719S", "18/28")
S768I = variant("EGFR", "S768I", "20/28")
L861Q = variant("EGFR", "L861Q", "21/28")
EX20INS = variant("EGFR", "D770_N771insSVD", "20/28", "inframe_insertion")
E709K = variant("EGFR", "E709K", "18/28")
KRAS_G12C = variant("KRAS", "G12C", "2/6")
KRAS_G12D = variant("KRAS", "G12D", "2/6")
KRAS_G13D = variant("KRAS", "G13D", "2/6")
KRAS_A146T = variant("KRAS", "A146T", "4/6")
BRAF_V600E = variant("BRAF", "V600E", "15/18")
BRCA1_FS = variant("BRCA1", "E1250fs", "10/23", "frameshift_variant")
BRCA2_STOP = variant("BRCA2", "R3052*", "24/27", "stop_gained")
BRCA2_VUS = variant("BRCA2", "R2336H", "14/27")
PIK3CA_H1047R = variant("PIK3CA", "H1047R", "21/21")

BRCA1_EX13_22_DEL = "NM_007294.4:c.4358-?_5467+?del"  # MANE exons 13-22 (legacy 14-23)


def cnv_call(kind: str, name: str, copy_number: int) -> CnvTable:
    """A germline sample's copy-number table with one BRCA1 call over MANE exons 13-22, as oncopanel.cnv writes it."""
    call = CnvCall("G0", "BRCA1", kind, copy_number, 13, 22, 14, 23, "chr17", 43045678, 43082575,
                   copy_number / 2, 250.0, name, f"BRCA1 exons 13–22 ({kind})", "", "MLPA", 9, "this batch")
    return CnvTable({}, [], [call])


def losses(table: CnvTable, specimen: str = "blood_germline", consent: str = "yes") -> tuple:
    return germline_losses(table, specimen, consent)


DELETION = cnv_call("het_deletion", BRCA1_EX13_22_DEL, 1)
DUPLICATION = cnv_call("duplication", "NM_007294.4:c.4358-?_5467+?dup", 3)
RAS_CODONS = ("G12", "G13", "A59", "Q61", "K117", "A146")


def hotspots(genes=("KRAS", "NRAS", "BRAF"), status: dict | None = None, lod: float = 0.02) -> tuple:
    """Hotspot table rows 'not detected' at this LoD; ``status`` overrides some (id -> status)."""
    ids = [f"{g}_{c}" for g in genes if g in ("KRAS", "NRAS") for c in RAS_CODONS]
    ids += ["BRAF_V600"] if "BRAF" in genes else []
    status = status or {}
    return tuple(
        HotspotResult(i, i.split("_")[0], f"{i.split('_')[1]}X", status.get(i, "not_detected"), 800, 0, None, None,
                      None, None if status.get(i) == "not_assessable" else lod)
        for i in ids
    )


@dataclass
class Scenario:
    name: str
    oncotree: str
    variants: tuple[Annotation, ...]
    first: str  # the first recommended option ("" = none may be recommended)
    setting: str = ""  # the setting the first option is for
    tier: str = ""  # AMP tier of the first variant
    not_recommended: tuple[str, ...] = ()  # no recommended option may contain one of these drugs
    not_shown: tuple[str, ...] = ()  # no therapy verdict (option, resistance or other) may be this regimen
    germline: dict = field(default_factory=dict)
    hotspots: tuple = ()
    phases: dict = field(default_factory=dict)
    line: str = ""
    specimen: str = "tumour_ffpe"
    reason: str = ""  # text the demotion reason of a not-recommended drug must carry
    losses: tuple = ()  # germline exon deletions from the copy-number engine (SampleFindings.copy_number_losses)


def phase(a: Annotation, b: Annotation, value: str) -> dict:
    return {tuple(sorted((a.variant.key, b.variant.key))): value}


FIRST_GEN = ("gefitinib", "erlotinib", "afatinib", "dacomitinib", "icotinib")
THIRD_GEN = ("osimertinib", "aumolertinib", "furmonertinib")
# C797S in trans with T790M: osimertinib + gefitinib is the option (phase.tsv); every other EGFR TKI is not
OTHER_TKIS = ("erlotinib", "afatinib", "dacomitinib", "icotinib", "aumolertinib", "furmonertinib", "lazertinib")
PATHOGENIC = "pathogenic"

SCENARIOS = [
    Scenario("EGFR L858R", "LUAD", (L858R,), "osimertinib", "first_line", "I-A"),
    Scenario("EGFR exon 19 deletion", "LUAD", (EX19DEL,), "osimertinib", "first_line", "I-A"),
    Scenario("EGFR T790M alone", "LUAD", (T790M,), "osimertinib", "after_progression", "I-A", FIRST_GEN),
    Scenario("EGFR L858R + T790M", "LUAD", (L858R, T790M), "osimertinib", "first_line", "I-A", FIRST_GEN,
             reason="T790M"),
    Scenario("EGFR L858R + T790M + C797S in cis", "LUAD", (L858R, T790M, C797S), "", "", "I-A",
             FIRST_GEN + THIRD_GEN, phases=phase(T790M, C797S, "cis"), reason="C797S in cis with T790M"),
    Scenario("EGFR L858R + T790M + C797S in trans", "LUAD", (L858R, T790M, C797S),
             "amivantamab + carboplatin + pemetrexed", "after_progression", "I-A", OTHER_TKIS,
             phases=phase(T790M, C797S, "trans"), reason="C797S in trans with T790M"),
    Scenario("EGFR L858R + T790M + C797S, phase unknown", "LUAD", (L858R, T790M, C797S), "", "", "I-A",
             FIRST_GEN + THIRD_GEN, reason="phase not determined"),
    Scenario("EGFR G719S", "LUAD", (G719S,), "afatinib", "first_line", "I-A"),
    Scenario("EGFR S768I", "LUAD", (S768I,), "afatinib", "first_line", "I-A"),
    Scenario("EGFR L861Q", "LUAD", (L861Q,), "afatinib", "first_line", "I-A"),
    Scenario("EGFR exon 20 insertion", "LUAD", (EX20INS,), "amivantamab + carboplatin + pemetrexed", "first_line",
             "I-A", FIRST_GEN),
    Scenario("EGFR E709K (gene-level evidence only)", "LUAD", (E709K,), "", "", "III",
             FIRST_GEN + THIRD_GEN),
    Scenario("KRAS G12C lung", "LUAD", (KRAS_G12C,), "sotorasib", "after_progression", "I-A"),
    Scenario("KRAS G12C colorectal", "COAD", (KRAS_G12C,), "adagrasib + cetuximab", "after_progression", "I-A"),
    Scenario("KRAS G12D colorectal", "COAD", (KRAS_G12D,), "", "", "I-A", ("cetuximab", "panitumumab")),
    Scenario("KRAS G13D colorectal (label beats CIViC)", "COAD", (KRAS_G13D,), "", "", "I-A",
             ("cetuximab", "panitumumab")),
    Scenario("KRAS G13D lung: resistance to a non-standard therapy", "LUAD", (KRAS_G13D,), "", "", "II-C",
             ("abemaciclib", "selumetinib")),
    Scenario("KRAS Q61H lung: gene-level trial rows recommend nothing", "LUAD", (variant("KRAS", "Q61H", "3/6"),),
             "", "", "II-C", ("abemaciclib", "atezolizumab", "nivolumab")),
    Scenario("KRAS A146T colorectal: no chemotherapy verdict", "COAD", (KRAS_A146T,), "", "", "I-A",
             ("cetuximab", "panitumumab"), ("bevacizumab + chemotherapy", "chemotherapy + bevacizumab")),
    Scenario("RAS wild type colorectal, every codon assessed", "COAD", (), "cetuximab + FOLFIRI", "first_line",
             hotspots=hotspots()),
    Scenario("RAS not determined: NRAS Q61 not assessable", "COAD", (), "", "", "",
             ("cetuximab", "panitumumab"), hotspots=hotspots(status={"NRAS_Q61": "not_assessable"})),
    Scenario("RAS not determined: NRAS not on the ordered panels", "COAD", (), "", "", "",
             ("cetuximab", "panitumumab"), hotspots=hotspots(genes=("KRAS",))),
    Scenario("RAS not determined: an LoD above the stated LoD", "COAD", (), "", "", "",
             ("cetuximab", "panitumumab"), hotspots=hotspots(lod=0.10)),
    Scenario("RAS wild type never from plasma", "COAD", (), "", "", "", ("cetuximab", "panitumumab"),
             hotspots=hotspots(), specimen="plasma_cfdna"),
    Scenario("BRAF V600E colorectal", "COAD", (BRAF_V600E,), "encorafenib + cetuximab + mFOLFOX6", "first_line",
             "I-A"),
    Scenario("BRAF V600E colorectal, after progression", "COAD", (BRAF_V600E,), "encorafenib + cetuximab",
             "after_progression", "I-A", line="progressed_on:oxaliplatin"),
    Scenario("BRAF V600E lung", "LUAD", (BRAF_V600E,), "dabrafenib + trametinib", "first_line", "I-A"),
    Scenario("BRCA1 germline breast", "IDC", (BRCA1_FS,), "olaparib", "first_line", "",
             germline={BRCA1_FS.variant.key: PATHOGENIC}),
    Scenario("BRCA2 germline prostate", "PRAD", (BRCA2_STOP,), "olaparib + abiraterone + prednisone",
             "first_line", "", germline={BRCA2_STOP.variant.key: PATHOGENIC}),
    Scenario("BRCA2 germline prostate after enzalutamide", "PRAD", (BRCA2_STOP,), "olaparib", "after_progression",
             "", ("enzalutamide",), germline={BRCA2_STOP.variant.key: PATHOGENIC},
             line="progressed_on:enzalutamide", reason="progressed on enzalutamide"),
    Scenario("BRCA1 somatic high-grade serous ovarian", "HGSOC", (BRCA1_FS,), "olaparib", "maintenance", "I-A"),
    Scenario("BRCA1 in a granulosa cell tumour", "GRCT", (BRCA1_FS,), "", "", "",
             ("olaparib", "niraparib", "rucaparib")),
    Scenario("BRCA2 VUS", "IDC", (BRCA2_VUS,), "", "", "III", ("olaparib", "rucaparib", "talazoparib"),
             germline={BRCA2_VUS.variant.key: "uncertain_significance"}),
    Scenario("BRCA1 germline exon 13-22 deletion breast", "IDC", (), "olaparib", "first_line",
             losses=losses(DELETION)),
    Scenario("BRCA1 germline exon 13-22 duplication (VUS) breast", "IDC", (), "", "",
             not_recommended=("olaparib", "talazoparib"), losses=losses(DUPLICATION)),
    Scenario("BRCA1 germline exon deletion without consent", "IDC", (), "", "",
             not_recommended=("olaparib", "talazoparib"), losses=losses(DELETION, consent="no")),
    Scenario("BRCA1 exon deletion in a tumour sample: not tested", "IDC", (), "", "",
             not_recommended=("olaparib", "talazoparib"), losses=losses(DELETION, specimen="tumour_ffpe")),
    Scenario("PIK3CA H1047R breast", "IDC", (PIK3CA_H1047R,), "inavolisib + palbociclib + fulvestrant",
             "first_line", "I-A"),
    Scenario("PIK3CA H1047R breast, progressed on endocrine therapy", "IDC", (PIK3CA_H1047R,),
             "alpelisib + fulvestrant", "after_progression", "I-A", line="progressed_on:letrozole"),
    Scenario("EGFR L858R after progression on osimertinib", "LUAD", (L858R,), "", "", "I-A", ("osimertinib",),
             line="progressed_on:osimertinib", reason="progressed on osimertinib"),
]


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def run(s: Scenario, kb: KnowledgeBase):
    findings = SampleFindings(annotations=s.variants, germline=s.germline, hotspots=s.hotspots,
                              specimen_type=s.specimen, stated_lod=0.05, phases=s.phases,
                              copy_number_losses=s.losses)
    return match_therapies(findings, s.oncotree, kb, line_of_therapy=s.line)


def tier(annotation: Annotation, s: Scenario, kb: KnowledgeBase) -> str:
    cls = s.germline.get(annotation.variant.key)
    evidence = evidence_for_finding(kb, annotation, s.oncotree, cls)
    return somatic_tier(annotation, evidence, s.oncotree, tumour_lineage=ancestors(s.oncotree),
                        standard_drugs=standard_drugs(s.oncotree, kb, annotation.gene)).tier


def test_at_least_thirty_scenarios():
    assert len(SCENARIOS) >= 30


@pytest.mark.parametrize("s", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(s: Scenario, kb: KnowledgeBase):
    therapies = run(s, kb)
    options = recommended(therapies, s.setting)
    if s.first:
        assert options, f"{s.name}: no recommended option"
        assert options[0].regimen == s.first, [t.regimen for t in options[:5]]
        assert s.setting in options[0].settings and options[0].on_label
    else:
        assert not [t for t in recommended(therapies) if set(t.drugs) & set(s.not_recommended)]
    for t in recommended(therapies):
        assert not set(t.drugs) & set(s.not_recommended), f"{t.regimen} recommended"
    shown = {t.regimen.lower() for t in therapies if t.status != "not_option"}  # non-options: JSON only
    assert not shown & {x.lower() for x in s.not_shown}
    if s.reason:
        demoted = [t for t in therapies if t.status == "demoted" and set(t.drugs) & set(s.not_recommended)]
        assert demoted and any(s.reason in t.reason for t in demoted), [t.reason for t in demoted]
    if s.tier and s.variants:
        assert tier(s.variants[0], s, kb) == s.tier
    # one drug, one verdict (a biomarker-agnostic approval has its own line beside it)
    drug_sets = [frozenset(t.drugs) for t in therapies if t.drugs and t.status != "agnostic"]
    assert len(drug_sets) == len(set(drug_sets))


def test_germline_exon_deletion_is_named_by_its_cnv_name_and_only_a_deletion_matches(kb):
    [deletion] = losses(DELETION)  # classified like the same deletion from a VCF: PVS1 very strong alone (8 points)
    assert deletion.classification == "likely_pathogenic" and deletion.annotation.exon == "13-22/23"
    s = next(x for x in SCENARIOS if x.name.startswith("BRCA1 germline exon 13-22 deletion"))
    first = recommended(run(s, kb))[0]
    assert first.biomarker == BRCA1_EX13_22_DEL and first.finding_keys == (BRCA1_EX13_22_DEL,)
    assert first.guideline.startswith("NCCN Guidelines: Breast Cancer")
    assert losses(DUPLICATION) == ()  # not loss-of-function (config/cnv.yaml): never reaches matching
    assert losses(DELETION, consent="no") == () and losses(DELETION, specimen="tumour_ffpe") == ()
    # a deletion of only the last exon (no NMD): PVS1 strong alone is uncertain significance, never matched
    last = replace(DELETION.calls[0], first_exon=23, last_exon=23, name="NM_007294.4:c.5468-?_*1382+?del")
    [only_last] = losses(CnvTable({}, [], [last]))
    assert only_last.classification == "uncertain_significance"
    assert is_no_match(match_therapies(SampleFindings(copy_number_losses=(only_last,)), "IDC", kb))


def test_ras_wild_type_names_the_codons_assessed():
    s = next(x for x in SCENARIOS if x.name.startswith("RAS wild type colorectal"))
    [ras] = [r for r in negative_results(SampleFindings(hotspots=s.hotspots, stated_lod=0.05))
             if r.biomarker == "RAS Wild Type"]
    assert ras.is_wild_type and len(ras.assessed) == 12 and "NRAS Q61X" in ras.assessed


def test_ras_not_determined_says_what_was_not_assessed():
    missing = negative_results(SampleFindings(hotspots=hotspots(genes=("KRAS", "BRAF")), stated_lod=0.05))
    ras = next(r for r in missing if r.biomarker == "RAS Wild Type")
    assert ras.status == "not_determined" and "not on the ordered panels: NRAS" in ras.reason
    gap = negative_results(SampleFindings(hotspots=hotspots(status={"NRAS_Q61": "not_assessable"}), stated_lod=0.05))
    ras = next(r for r in gap if r.biomarker == "RAS Wild Type")
    assert ras.status == "not_determined" and "NRAS Q61X" in ras.reason
    kras_mutant = negative_results(SampleFindings(hotspots=hotspots(status={"KRAS_G12": "detected"}),
                                                  stated_lod=0.05))
    assert next(r for r in kras_mutant if r.biomarker == "RAS Wild Type").status == "detected"


def test_a_drug_never_approved_is_never_an_option(kb):
    """Rociletinib (CIViC level B for T790M; no agency approved it, development stopped) stays evidence only."""
    therapies = run(Scenario("T790M", "LUAD", (T790M,), ""), kb)
    rociletinib = [t for t in therapies if "rociletinib" in t.drugs]
    assert rociletinib and all(t.status in ("not_option", "resistance") for t in rociletinib)


def test_t790m_is_never_a_gene_level_benefit(kb):
    therapies = run(Scenario("T790M", "LUAD", (T790M,), ""), kb)
    for t in therapies:
        if set(t.drugs) & set(FIRST_GEN) and not t.resistance:
            assert t.status != "option"
            assert all(getattr(e, "variant_match", "") == "exact" for e in t.evidence if e.direction == "Supports")


def test_exon20_insertion_gets_no_first_generation_benefit(kb):
    for t in run(Scenario("ex20", "LUAD", (EX20INS,), ""), kb):
        assert not (set(t.drugs) & set(FIRST_GEN) and t.status == "option")


def test_olaparib_has_one_verdict_in_germline_brca1_breast(kb):
    s = next(x for x in SCENARIOS if x.name == "BRCA1 germline breast")
    olaparib = [t for t in run(s, kb) if t.drugs == ("olaparib",) and t.status != "agnostic"]
    assert len(olaparib) == 1 and not olaparib[0].resistance and olaparib[0].status == "option"


def test_other_tumour_evidence_names_its_tumour(kb):
    therapies = run(Scenario("KRAS G12D", "COAD", (KRAS_G12D,), ""), kb)
    foreign = [t for t in therapies if not t.on_label]
    assert foreign and all(t.evidence_tumour for t in foreign)


def test_non_drug_rows_are_never_options(kb):
    for s in SCENARIOS:
        for t in run(s, kb):
            if t.status == "option":
                assert not {"cytoreductive surgery", "hyperthermic intraperitoneal chemotherapy"} & set(t.drugs)


def test_formulary_never_reorders(kb):
    from oncopanel.knowledge.matching import FormularyEntry

    s = SCENARIOS[0]
    cheap = {"gefitinib": FormularyEntry("gefitinib", True, True, 100.0)}
    plain = [t.regimen for t in run(s, kb)]
    findings = SampleFindings(annotations=s.variants, stated_lod=0.05)
    assert [t.regimen for t in match_therapies(findings, s.oncotree, kb, cheap)] == plain


def test_no_finding_is_no_match(kb):
    assert is_no_match(match_therapies(SampleFindings(), "LUAD", kb))


def test_biomarker_agnostic_parp_maintenance_is_its_own_line_in_ovarian_cancer(kb):
    with_brca = run(next(x for x in SCENARIOS if x.name.startswith("BRCA1 somatic high-grade")), kb)
    agnostic = [t for t in with_brca if t.status == "agnostic"]
    assert agnostic and all("regardless of BRCA1" in t.reason and t.biomarker == "regardless of biomarker"
                            for t in agnostic)
    assert {"niraparib"} <= {d for t in agnostic for d in t.drugs}
    without = match_therapies(SampleFindings(stated_lod=0.05), "HGSOC", kb)
    assert without and all(t.status == "agnostic" for t in without)
    breast = run(next(x for x in SCENARIOS if x.name == "BRCA1 germline breast"), kb)
    assert not [t for t in breast if t.status == "agnostic"]  # ovarian approvals say nothing about breast


def test_kras_g12c_colorectal_keeps_the_combinations_and_demotes_the_antibodies_alone(kb):
    therapies = run(next(x for x in SCENARIOS if x.name == "KRAS G12C colorectal"), kb)
    options = {t.regimen for t in recommended(therapies)}
    assert {"adagrasib + cetuximab", "sotorasib + panitumumab"} <= options
    alone = [t for t in therapies if t.drugs in (("cetuximab",), ("panitumumab",))]
    assert alone and all(t.status in ("demoted", "resistance") for t in alone)


def test_precedence_label_limitation_beats_a_civic_row_and_the_conflict_stays_in_the_json(kb):
    therapies = run(next(x for x in SCENARIOS if x.name.startswith("KRAS G13D colorectal")), kb)
    cetuximab = [t for t in therapies if t.drugs == ("cetuximab",)]
    assert len(cetuximab) == 1 and cetuximab[0].resistance and cetuximab[0].level == "approved"
    assert any(e.source == "FDA" for e in cetuximab[0].evidence)
    assert cetuximab[0].conflicts and all(e.source == "CIViC" and e.significance != "Resistance"
                                          for e in cetuximab[0].conflicts)


def test_precedence_this_tumour_type_beats_another_then_specificity(kb):
    from oncopanel.knowledge.matching import _Group, _one_verdict

    def row(source, code, match, level, significance, on_label):
        return replace(next(e for e in kb.evidence_for(L858R, "LUAD") if e.source == "CIViC"), source=source,
                       oncotree_code=code, variant_match=match, level=level, significance=significance,
                       tumour_match="same" if on_label else "other", drugs=("x",))

    here = _Group("EGFR", "L858R", "x", ("x",), True, [], [row("CIViC", "LUAD", "gene", "C", "Resistance", True)])
    there = _Group("EGFR", "L858R", "x", ("x",), False, [], [row("CIViC", "BRCA", "exact", "A", "Sensitivity",
                                                                   False)])
    [winner] = _one_verdict([there, here])
    assert winner.resistance and winner.conflicts  # this tumour type beats another, whatever the level
    gene = _Group("EGFR", "L858R", "x", ("x",), True, [], [row("CIViC", "LUAD", "gene", "A", "Resistance", True)])
    exact = _Group("EGFR", "L858R", "x", ("x",), False, [], [row("CIViC", "LUAD", "exact", "C", "Sensitivity",
                                                                   True)])
    [winner] = _one_verdict([gene, exact])
    assert not winner.resistance  # then the more specific biomarker, whatever the level


def test_c797s_phase_decides_the_options(kb):
    """trans: a first- with a third-generation TKI is a (level C, cited) option after the approved ones, and each
    alone is not; cis: no
    EGFR TKI is an option and the reason says clinical trial or chemotherapy; not determined: neither is offered."""
    by_name = {x.name: x for x in SCENARIOS}
    trans = run(by_name["EGFR L858R + T790M + C797S in trans"], kb)
    [combination] = [t for t in trans if t.regimen == "osimertinib + gefitinib"]
    assert combination.status == "option" and combination.level == "C"
    assert "after_progression" in combination.settings and "Niederst" in combination.evidence[0].citation
    assert combination.evidence[0].source not in ("FDA", "EMA", "NMPA")
    approved = [t for t in recommended(trans) if t.level == "approved"]
    assert approved and trans.index(combination) > max(trans.index(t) for t in approved)
    alone = [t for t in trans if t.drugs in (("osimertinib",), ("gefitinib",))]
    assert alone and all(t.status in ("demoted", "resistance") for t in alone)
    cis = run(by_name["EGFR L858R + T790M + C797S in cis"], kb)
    assert not [t for t in cis if t.regimen == "osimertinib + gefitinib"]
    assert not [t for t in recommended(cis) if set(t.drugs) & set(FIRST_GEN + OTHER_TKIS + ("osimertinib",))]
    osimertinib = next(t for t in cis if t.drugs == ("osimertinib",) and t.status == "demoted")
    assert "clinical trial or platinum-based chemotherapy" in osimertinib.reason
    unknown = run(by_name["EGFR L858R + T790M + C797S, phase unknown"], kb)
    assert not [t for t in unknown if t.regimen == "osimertinib + gefitinib"]
    osimertinib = next(t for t in unknown if t.drugs == ("osimertinib",) and t.status == "demoted")
    assert "phase not determined" in osimertinib.reason and "clinical trial" not in osimertinib.reason
