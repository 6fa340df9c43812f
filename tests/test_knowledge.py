"""Knowledge base: OncoTree vocabulary, build and versioning, evidence matching, therapy ranking, formulary, output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from oncopanel.errors import InputError, ValidationError
from oncopanel.knowledge import (
    KnowledgeBase,
    ancestors,
    batch_table,
    check_code,
    closest_codes,
    is_no_match,
    is_valid_code,
    load_formulary,
    match_therapies,
    name,
    sample_document,
    write_batch_parquet,
    write_sample_json,
)
from oncopanel.knowledge.build import (
    APPROVALS,
    KB_DIR,
    KnowledgeBuildError,
    build_knowledge,
    panel_genes,
    read_tsv,
    validate_approvals,
)
from oncopanel.knowledge.matching import FormularyEntry
from oncopanel.knowledge.oncotree import load_oncotree
from oncopanel.model import Annotation, GermlineClassification, Variant

DATA = Path(__file__).parent / "data" / "knowledge"


def annotation(gene: str, protein_change: str, exon: str = "", consequence: str = "missense_variant",
               key: tuple[str, int, str, str] = ("chr7", 1, "A", "C")) -> Annotation:
    return Annotation(Variant(*key), gene, "NM_test", (consequence,), "c.test", "p.test", exon=exon,
                      protein_change=protein_change)


L858R = annotation("EGFR", "L858R", "21/28", key=("chr7", 55191822, "T", "G"))
C797S = annotation("EGFR", "C797S", "20/28")
KRAS_G12C = annotation("KRAS", "G12C", "2/6", key=("chr12", 25245351, "C", "A"))
KRAS_G12D = annotation("KRAS", "G12D", "2/6", key=("chr12", 25245350, "C", "T"))
BRAF_V600E = annotation("BRAF", "V600E", "15/18")
EGFR_SYNONYMOUS = annotation("EGFR", "L858=", "21/28", "synonymous_variant")


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.fixture(scope="session")
def civic_only(tmp_path_factory) -> KnowledgeBase:
    """The full CIViC panel-gene evidence with an empty approvals table: CIViC-only matching."""
    out = tmp_path_factory.mktemp("civic_only")
    approvals = out / "approvals_empty.tsv"
    approvals.write_text(APPROVALS.read_text().splitlines()[0] + "\n")
    build_knowledge(out, date="2026-01-01", approvals_path=approvals)
    return KnowledgeBase.load(out)


def by_regimen(therapies, resistance: bool | None = None):
    return {t.regimen: t for t in therapies if resistance is None or t.resistance == resistance}


# --- OncoTree ---------------------------------------------------------------------------------------------------

def test_oncotree_vocabulary():
    assert is_valid_code("LUAD") and is_valid_code("PRAD")
    assert not is_valid_code("LUAC")
    assert ancestors("LUAD") == ["NSCLC", "LUNG", "TISSUE"]
    assert ancestors("COAD") == ["COADREAD", "BOWEL", "TISSUE"]
    assert name("COAD") == "Colon Adenocarcinoma"
    assert "LUAD" in closest_codes("LUAC")
    assert closest_codes("lung adenocarcinoma", n=1) == ["LUAD"]


def test_unknown_oncotree_code_names_closest_codes(kb):
    with pytest.raises(InputError, match=r"unknown OncoTree code 'LUAC'.*closest codes: .*LUAD"):
        check_code("LUAC")
    with pytest.raises(InputError, match="LUAD"):
        match_therapies([L858R], "LUAC", kb)


# --- Build, versioning, changelog ---------------------------------------------------------------------------------

def test_shipped_kb_version_and_counts(kb):
    date, checksum = kb.version.split("+")
    assert len(date) == 10 and len(checksum) == 12
    assert kb.meta["checksum_sha256"].startswith(checksum)
    assert kb.meta["civic_rows"] == 1136
    assert 0 < kb.meta["civic_rows_unplaced"] < 0.1 * kb.meta["civic_rows"]


def test_rebuild_of_shipped_kb_is_unchanged(tmp_path, kb):
    for file_name in ("kb.tsv", "kb_meta.json", "CHANGELOG.md", "acknowledged_removals.tsv"):
        shutil.copy(KB_DIR / file_name, tmp_path / file_name)
    result = build_knowledge(tmp_path, date="2099-01-01")
    assert result.unchanged and result.version == kb.version


def test_approvals_table_is_valid_and_cited():
    tree = load_oncotree()
    table = read_tsv(APPROVALS)
    assert validate_approvals(table, tree, APPROVALS, panel_genes()) == []
    assert set(table["agency"]) == {"FDA", "EMA", "NMPA"}
    assert all(c.startswith(a) for a, c in zip(table["agency"], table["citation"], strict=True))
    withdrawn = table[table["status"] == "withdrawn"]
    assert set(withdrawn["regimen"]) == {"olaparib", "rucaparib", "niraparib"}
    assert (withdrawn["status_date"] == "2022").all()


def test_bad_approval_row_is_reported(tmp_path):
    tree = load_oncotree()
    table = read_tsv(DATA / "approvals_mini.tsv")
    table.loc[0, "oncotree_codes"] = "LUNGX"
    table.loc[0, "label_date"] = "18/04/2018"
    problems = validate_approvals(table, tree, DATA / "approvals_mini.tsv", panel_genes())
    assert any("'LUNGX'" in p for p in problems) and any("label_date" in p for p in problems)
    bad = tmp_path / "approvals_bad.tsv"
    table.to_csv(bad, sep="\t", index=False)
    with pytest.raises(ValidationError, match="LUNGX"):
        build_knowledge(tmp_path, approvals_path=bad)
    assert not (tmp_path / "kb.tsv").exists()


def mini_build(out: Path, civic: Path, date: str):
    return build_knowledge(out, date=date, civic_path=civic, approvals_path=DATA / "approvals_mini.tsv")


def test_build_fails_when_a_match_silently_disappears(tmp_path):
    civic = DATA / "civic_evidence_mini.tsv"
    first = mini_build(tmp_path, civic, "2026-01-01")
    assert first.version.startswith("2026-01-01+") and not first.previous_version
    assert mini_build(tmp_path, civic, "2026-02-01").version == first.version  # nothing changed: same version

    lines = civic.read_text().splitlines(keepends=True)
    without_c797s = tmp_path / "civic_without_964.tsv"
    without_c797s.write_text("".join(line for line in lines if "\t964\t" not in line))
    with pytest.raises(KnowledgeBuildError, match=r"EGFR \| C797S \| osimertinib \| NSCLC \| Resistance"):
        mini_build(tmp_path, without_c797s, "2026-03-01")
    assert KnowledgeBase.load(tmp_path).version == first.version  # nothing written

    (tmp_path / "acknowledged_removals.tsv").write_text(
        "gene\tbiomarker\tregimen\toncotree_code\tsignificance\treason\tacknowledged_in_version\n"
        "EGFR\tC797S\tosimertinib\tNSCLC\tResistance\ttest: source row retracted\t2026-03-01\n"
    )
    second = mini_build(tmp_path, without_c797s, "2026-03-01")
    assert second.removed == ["CIViC:EID964"] and second.previous_version == first.version
    changelog = (tmp_path / "CHANGELOG.md").read_text()
    assert f"## {second.version}" in changelog and "Removed: CIViC:EID964" in changelog
    assert "Acknowledged removal of match: EGFR | C797S | osimertinib | NSCLC | Resistance" in changelog
    assert changelog.index(second.version) < changelog.index(f"## {first.version}")


# --- CIViC-only evidence ------------------------------------------------------------------------------------------

def test_civic_egfr_c797s_resistance_to_osimertinib(civic_only):
    evidence = civic_only.evidence_for(C797S, "LUAD")
    resistance = [e for e in evidence if "osimertinib" in e.drugs and e.significance == "Resistance"]
    assert {e.row_id for e in resistance} >= {"CIViC:EID964", "CIViC:EID1396"}
    assert all(e.source == "CIViC" and e.on_label and e.variant_match == "exact" for e in resistance)
    osimertinib = by_regimen(match_therapies([C797S], "LUAD", civic_only), resistance=True)["osimertinib"]
    assert osimertinib.on_label and osimertinib.level == "B" and osimertinib.status == "resistance"
    assert not [t for t in match_therapies([C797S], "LUAD", civic_only) if t.status == "option" and
                "osimertinib" in t.drugs]


def test_civic_does_not_support_never_shown_as_support(civic_only):
    therapies = match_therapies([BRAF_V600E], "COAD", civic_only)
    regimens = by_regimen(therapies, resistance=False)
    assert "panitumumab + trametinib" not in regimens  # EID6124 only "Does Not Support"
    for therapy in therapies:
        support = [e for e in therapy.evidence if e.direction == "Supports"]
        assert support, therapy.regimen
        assert therapy.level in {e.level for e in support}
    # monotherapy: CIViC support and resistance, neither in CRC: one verdict, the other rows kept as conflicts
    dabrafenib = by_regimen(therapies)["dabrafenib"]
    assert not dabrafenib.on_label and dabrafenib.status in ("resistance", "other_evidence")
    assert dabrafenib.conflicts and all(e.significance != dabrafenib.significance for e in dabrafenib.conflicts)
    assert [t.regimen for t in therapies].count("dabrafenib") == 1


def test_civic_combination_is_one_regimen(civic_only):
    therapies = match_therapies([BRAF_V600E], "SKCM", civic_only)
    combo = by_regimen(therapies)["dabrafenib + trametinib"]
    assert combo.drugs == ("dabrafenib", "trametinib") and combo.on_label
    assert all(set(e.drugs) == {"dabrafenib", "trametinib"} for e in combo.evidence)
    for therapy in therapies:
        if therapy.drugs in (("dabrafenib",), ("trametinib",)):
            assert all(e.drug_interaction != "Combination" for e in therapy.evidence)


# --- Expected results on the shipped knowledge base ----------------------------------------------------------------

def test_egfr_l858r_luad_osimertinib_approved_on_label(kb):
    therapies = match_therapies([L858R], "LUAD", kb, load_formulary())
    osimertinib = by_regimen(therapies)["osimertinib"]
    assert osimertinib.level == "approved" and osimertinib.on_label and not osimertinib.resistance
    fda = [e for e in osimertinib.evidence if e.source == "FDA"]
    assert {e.row_id for e in fda} >= {"FDA-002", "FDA-005"}
    assert all(e.oncotree_code == "NSCLC" and e.tumour_match == "parent" for e in fda)
    assert therapies[0] == osimertinib and osimertinib.setting == "first_line"  # guideline preference, not price
    options = [t for t in therapies if t.status == "option"]
    assert therapies[: len(options)] == options and all(t.on_label for t in options)


def test_kras_g12c_nsclc_sotorasib_and_adagrasib(kb):
    regimens = by_regimen(match_therapies([KRAS_G12C], "NSCLC", kb))
    for drug in ("sotorasib", "adagrasib"):
        assert regimens[drug].level == "approved" and regimens[drug].on_label


def test_kras_g12d_coad_shows_anti_egfr_resistance(kb):
    therapies = match_therapies([KRAS_G12D], "COAD", kb)
    resistant = by_regimen(therapies, resistance=True)
    for drug in ("cetuximab", "panitumumab"):
        assert resistant[drug].on_label and resistant[drug].significance == "Resistance"
        assert resistant[drug].level == "approved"  # label limitation of use
    assert not [t for t in therapies if t.status == "option" and {"cetuximab", "panitumumab"} & set(t.drugs)]


def test_kras_g12c_coad_adagrasib_with_cetuximab(kb):
    therapies = match_therapies([KRAS_G12C], "COAD", kb)
    regimens = by_regimen(therapies, resistance=False)
    combo = regimens["adagrasib + cetuximab"]
    assert combo.on_label and combo.level == "approved" and combo.drugs == ("adagrasib", "cetuximab")
    assert regimens["sotorasib + panitumumab"].on_label
    assert not regimens["adagrasib"].on_label  # monotherapy is an NSCLC approval: off-label here
    assert by_regimen(therapies, resistance=True)["cetuximab"].on_label  # cetuximab alone: resistance


def test_brca2_pathogenic_germline_prad_olaparib(kb):
    missense = annotation("BRCA2", "D2723H", "18/27", key=("chr13", 32363533, "G", "C"))
    assert "olaparib" not in by_regimen(match_therapies([missense], "PRAD", kb))
    germline = {missense.variant.key: GermlineClassification("pathogenic", "ENIGMA", "2015-12-01")}
    olaparib = by_regimen(match_therapies([missense], "PRAD", kb, germline=germline))["olaparib"]
    assert olaparib.on_label and olaparib.level == "approved"
    assert {"FDA-063"} <= {e.row_id for e in olaparib.evidence}
    frameshift = annotation("BRCA2", "S1982Rfs*22", "11/27", "frameshift_variant")
    assert by_regimen(match_therapies([frameshift], "PRAD", kb))["olaparib"].on_label


def test_benign_brca2_variant_matches_nothing(kb):
    v2466a = annotation("BRCA2", "V2466A", "14/27", key=("chr13", 32355250, "T", "C"))
    germline = {v2466a.variant.key: "benign"}
    assert is_no_match(match_therapies([v2466a], "BRCA", kb, germline=germline))


def test_egfr_l858r_breast_is_off_label_only(kb):
    therapies = match_therapies([L858R], "IDC", kb)
    assert therapies and not any(t.on_label for t in therapies)
    assert by_regimen(therapies)["osimertinib"].level == "approved"


def test_no_evidence_is_explicit_no_matched_therapy(kb, tmp_path):
    therapies = match_therapies([EGFR_SYNONYMOUS], "LUAD", kb)
    assert is_no_match(therapies) and therapies[0].regimen == "no matched therapy"
    document = sample_document("S001", "LUAD", therapies, kb)
    assert document["no_matched_therapy"] and document["therapies"] == []
    assert document["knowledge_base"]["version"] == kb.version


def test_withdrawn_indication_is_not_offered(kb):
    frameshift = annotation("BRCA1", "E23Vfs*17", "2/23", "frameshift_variant")
    found = kb.evidence_for(frameshift, "HGSOC")
    assert not any(e.status == "withdrawn" for e in found)
    withdrawn = kb.evidence_for(frameshift, "HGSOC", include_withdrawn=True)
    assert {"FDA-058:OVT", "FDA-068:OVT"} <= {e.row_id for e in withdrawn}


def test_tumour_agnostic_label_excludes_colorectal(kb):
    found = {e.row_id: e for e in kb.evidence_for(BRAF_V600E, "COAD")}
    assert found["FDA-040"].tumour_match == "excluded" and not found["FDA-040"].on_label
    assert {e.row_id: e for e in kb.evidence_for(BRAF_V600E, "GB")}["FDA-040"].tumour_match == "parent"


def test_exon_19_deletion_and_exon_20_insertion_classes(kb):
    deletion = annotation("EGFR", "E746_A750del", "19/28", "inframe_deletion")
    assert any(e.biomarker == "Exon 19 Deletion" for e in kb.evidence_for(deletion, "LUAD"))
    insertion = annotation("EGFR", "D770_N771insSVD", "20/28", "inframe_insertion")
    regimens = by_regimen(match_therapies([insertion], "LUAD", kb))
    assert regimens["amivantamab"].on_label and regimens["sunvozertinib"].on_label
    frameshift = annotation("EGFR", "E746Kfs*5", "19/28", "frameshift_variant")
    assert not any(e.biomarker == "Exon 19 Deletion" for e in kb.evidence_for(frameshift, "LUAD"))
    g719s = by_regimen(match_therapies([annotation("EGFR", "G719S", "18/28")], "LUAD", kb))
    assert g719s["afatinib"].level == "approved" and g719s["afatinib"].on_label


# --- Formulary and output -----------------------------------------------------------------------------------------

def test_formulary_is_shown_and_never_reorders(kb):
    without = match_therapies([KRAS_G12C], "NSCLC", kb)
    formulary = {"garsorasib": FormularyEntry("garsorasib", True, True, 1000.0, "stocked")}
    ordered = match_therapies([KRAS_G12C], "NSCLC", kb, formulary)
    assert {t.regimen for t in ordered} == {t.regimen for t in without}
    assert [t.regimen for t in ordered] == [t.regimen for t in without]  # never reorders clinical preference
    assert by_regimen(ordered)["garsorasib"].formulary["reimbursed"] == "yes"
    sotorasib = by_regimen(ordered)["sotorasib"]
    assert sotorasib.formulary["available"] == "not listed"


def test_shipped_formulary_loads():
    formulary = load_formulary()
    assert formulary["osimertinib"].available and formulary["sotorasib"].monthly_cost_cny is None


def test_json_document_and_batch_parquet(kb, tmp_path):
    therapies = match_therapies([L858R], "LUAD", kb)
    path = write_sample_json(sample_document("S001", "LUAD", therapies, kb), tmp_path / "S001.json")
    document = json.loads(path.read_text())
    assert document["knowledge_base"]["version"] == kb.version
    first = document["therapies"][0]
    assert first["rank"] == 1 and first["evidence"][0]["citation"]
    results = {"S001": ("LUAD", therapies), "S002": ("LUAD", match_therapies([EGFR_SYNONYMOUS], "LUAD", kb))}
    table = pd.read_parquet(write_batch_parquet(batch_table(results, kb), tmp_path / "batch.parquet"))
    assert set(table["kb_version"]) == {kb.version}
    assert table[table["sample_id"] == "S002"]["regimen"].tolist() == ["no matched therapy"]


# --- Label traceability -------------------------------------------------------------------------------------------

def test_approval_rows_carry_traceability_fields(kb):
    osimertinib = next(e for e in kb.evidence_for(L858R, "LUAD") if e.row_id == "FDA-002")
    assert osimertinib.biomarker_required is True
    assert osimertinib.document_id == "5e81b4a7-b971-45e1-9c31-29cea8c87ce7"  # DailyMed set id of Tagrisso
    assert osimertinib.url.endswith("setid=5e81b4a7-b971-45e1-9c31-29cea8c87ce7")
    assert osimertinib.verified is False and osimertinib.unverified == ("label_date",)
    erlotinib_bevacizumab = next(e for e in kb.evidence_for(L858R, "LUAD") if e.regimen == "erlotinib + bevacizumab")
    assert erlotinib_bevacizumab.source == "EMA" and erlotinib_bevacizumab.document_id == ""
    assert {"document_id", "url", "revision_date", "label_date"} <= set(erlotinib_bevacizumab.unverified)
    civic = next(e for e in kb.evidence_for(L858R, "LUAD") if e.source == "CIViC")
    assert civic.verified is True and civic.unverified == () and civic.document_id == ""


def test_unverified_row_must_name_what_was_not_checked():
    tree = load_oncotree()
    row = read_tsv(DATA / "approvals_mini.tsv")
    table = pd.concat([row] * 4, ignore_index=True)
    table["approval_id"] = ["X-1", "X-2", "X-3", "X-4"]
    table.loc[0, "unverified_fields"] = ""
    table.loc[1, "verified"] = "True"
    table.loc[2, "unverified_fields"] = "document_id,price"
    table.loc[3, "biomarker_required"] = "no"
    problems = "\n".join(validate_approvals(table, tree, DATA / "approvals_mini.tsv", panel_genes()))
    assert "must name what was not checked" in problems and "verified, yet lists unverified" in problems
    assert "'price'" in problems and "biomarker_required 'no'" in problems


# --- Tumour types as the labels name them -------------------------------------------------------------------------

BRCA1_FRAMESHIFT = annotation("BRCA1", "E23Vfs*17", "2/23", "frameshift_variant")
PARP_INHIBITORS = {"olaparib", "niraparib", "rucaparib", "fluzoparib", "pamiparib", "talazoparib"}
NOT_EPITHELIAL_OVARIAN = {
    "GRCT": "granulosa cell tumour", "ODYS": "dysgerminoma", "OYST": "yolk sac tumour",
    "SCCO": "small cell carcinoma of the ovary", "SBOV": "serous borderline",
    "SBMOV": "serous borderline, micropapillary",
    "MBOV": "mucinous borderline", "EBOV": "endometrioid borderline", "CCBOV": "clear cell borderline",
    "OSMBT": "seromucinous borderline", "BTBOV": "Brenner borderline",
}


def parp_labels(kb, code):
    return [e for e in kb.evidence_for(BRCA1_FRAMESHIFT, code, germline_class="pathogenic")
            if e.is_approval and PARP_INHIBITORS & set(e.drugs)]


@pytest.mark.parametrize("code", sorted(NOT_EPITHELIAL_OVARIAN))
def test_parp_approval_is_not_on_label_outside_epithelial_ovarian_cancer(kb, code):
    labels = parp_labels(kb, code)
    assert labels, code  # the rows are found, flagged off-label, never dropped silently
    assert not [e.row_id for e in labels if e.on_label], NOT_EPITHELIAL_OVARIAN[code]
    assert {e.tumour_match for e in labels} <= {"other", "excluded"}


@pytest.mark.parametrize("code", sorted(NOT_EPITHELIAL_OVARIAN))
def test_civic_ovarian_cancer_evidence_is_not_on_label_outside_epithelial_ovarian_cancer(kb, code):
    evidence = kb.evidence_for(BRCA1_FRAMESHIFT, code, germline_class="pathogenic")
    civic = [e for e in evidence if e.source == "CIViC" and e.disease in ("Ovarian Cancer", "Ovarian Carcinoma")]
    assert civic and not [e.row_id for e in civic if e.on_label], NOT_EPITHELIAL_OVARIAN[code]


def test_civic_ovarian_cancer_evidence_stays_on_label_in_epithelial_ovarian_cancer(kb):
    for code in ("HGSOC", "OVT", "EOV", "CCOV"):
        on_label = {e.row_id for e in kb.evidence_for(BRCA1_FRAMESHIFT, code, germline_class="pathogenic")
                    if e.on_label}
        assert {"CIViC:EID1677", "CIViC:EID1529"} <= on_label, code  # olaparib + cediranib; platinum


def test_parp_approval_scope_differs_by_agency(kb):
    high_grade = {e.row_id for e in parp_labels(kb, "HGSOC") if e.on_label}
    assert {"FDA-054:OVT", "EMA-005:HGSOC", "NMPA-012:OVT"} <= high_grade
    assert {"FDA-054:HGSFT", "EMA-005:HGSFT"} <= {e.row_id for e in parp_labels(kb, "HGSFT") if e.on_label}
    assert {e.row_id for e in parp_labels(kb, "PSEC") if e.on_label} >= {"FDA-054:PSEC", "EMA-005:PSEC"}
    low_grade = [e for e in parp_labels(kb, "LGSOC") if e.on_label]  # FDA: "epithelial"; EMA: "high-grade"
    assert {e.source for e in low_grade} == {"FDA", "NMPA"}


def test_biomarker_agnostic_parp_maintenance_is_its_own_kind_of_row(kb):
    labels = parp_labels(kb, "HGSOC")
    agnostic = [e for e in labels if not e.biomarker_required]
    assert {e.source for e in agnostic} == {"FDA", "EMA", "NMPA"}
    assert {e.regimen for e in agnostic} == {"niraparib", "olaparib", "rucaparib"}
    assert all(e.disease.startswith("regardless of BRCA status") for e in agnostic)
    niraparib_first_line = [e for e in agnostic if e.source == "FDA" and e.regimen == "niraparib"]
    assert niraparib_first_line and niraparib_first_line[0].setting.startswith("first-line maintenance")
    # olaparib + bevacizumab is HRD-based: a BRCA mutation is one way to qualify, so it stays biomarker-matched
    assert all(e.biomarker_required for e in labels if e.regimen == "olaparib + bevacizumab")


# --- Traceability report, knowledge updates ----------------------------------------------------------------------

def test_build_reports_every_unverified_label_fact(tmp_path, kb):
    result = build_knowledge(tmp_path, date="2026-01-01")
    report = read_tsv(tmp_path / "unverified_facts.tsv")
    approvals = read_tsv(APPROVALS)
    unverified = approvals[approvals["verified"] == "False"]
    assert set(report["approval_id"]) == set(unverified["approval_id"])
    assert len(report) == sum(len(f.split(",")) for f in unverified["unverified_fields"])
    blank_dates = report[(report["field"] == "label_date") & (report["value"] == "")]
    assert len(blank_dates) > 0 and (approvals.set_index("approval_id").loc[blank_dates["approval_id"], "label_date"]
                                     == "").all()
    meta = json.loads((tmp_path / "kb_meta.json").read_text())
    assert meta["approval_indications_unverified"] == len(unverified) == len(result.unverified["approval_id"].unique())
    assert meta["civic_release"] == "01-Aug-2021" and "ALK" in meta["panel_genes"]


def civic_lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def test_newer_civic_release_beside_the_current_one_is_used_and_its_changes_logged(tmp_path):
    """Synthetic newer release: EID 2872 changed (level C -> B), EID 1406 removed, a new row added."""
    civic_dir, out = tmp_path / "civic", tmp_path / "kb"
    civic_dir.mkdir()
    lines = civic_lines(DATA / "civic_evidence_mini.tsv")
    (civic_dir / "01-Aug-2021-ClinicalEvidenceSummaries.tsv").write_text("".join(lines))
    first = build_knowledge(out, date="2026-01-01", civic_dir=civic_dir, approvals_path=DATA / "approvals_mini.tsv")
    assert "CIViC:EID1406" in first.added

    header = lines[0].rstrip("\n").split("\t")
    column = {name: i for i, name in enumerate(header)}
    newer = [lines[0]]
    for line in lines[1:]:
        fields = line.rstrip("\n").split("\t")
        if fields[column["evidence_id"]] == "1406":
            continue
        if fields[column["evidence_id"]] == "2872":
            fields[column["evidence_level"]] = "B"
        newer.append("\t".join(fields) + "\n")
        if fields[column["evidence_id"]] == "964":
            added = list(fields)
            added[column["evidence_id"]], added[column["variant"]] = "999001", "L718Q"
            newer.append("\t".join(added) + "\n")
    (civic_dir / "01-Dec-2026-ClinicalEvidenceSummaries.tsv").write_text("".join(newer))

    second = build_knowledge(out, date="2026-12-04", civic_dir=civic_dir, approvals_path=DATA / "approvals_mini.tsv")
    assert (second.added, second.changed, second.removed) == (["CIViC:EID999001"], ["CIViC:EID2872"],
                                                              ["CIViC:EID1406"])
    changelog = (out / "CHANGELOG.md").read_text()
    section = changelog[: changelog.index(f"## {first.version}")]
    assert "CIViC release 01-Aug-2021 -> 01-Dec-2026" in section
    assert "- Added: CIViC:EID999001" in section and "- Changed: CIViC:EID2872" in section
    assert "- Removed: CIViC:EID1406" in section
    kb = KnowledgeBase.load(out)
    assert kb.meta["civic_release"] == "01-Dec-2026"
    l718q = kb.evidence_for(annotation("EGFR", "L718Q", "18/28"), "LUAD")
    assert [e.row_id for e in l718q] == ["CIViC:EID999001"]


def test_civic_molecular_profile_export_builds_the_same_rows(tmp_path):
    """CIViC's later layout (molecular_profile, therapies, therapy_interaction_type, significance) is read as the
    2021 gene/variant layout: the same five rows come out unchanged, and a compound profile is not matchable."""
    lines = civic_lines(DATA / "civic_evidence_mini.tsv")
    header = lines[0].rstrip("\n").split("\t")
    column = {name: i for i, name in enumerate(header)}
    renamed = {"drugs": "therapies", "drug_interaction_type": "therapy_interaction_type",
               "clinical_significance": "significance"}
    keep = [c for c in header if c not in ("gene", "variant", "entrez_id", "variant_id", "gene_id")]
    out = ["\t".join(["molecular_profile", *[renamed.get(c, c) for c in keep]]) + "\n"]
    for line in lines[1:]:
        fields = line.rstrip("\n").split("\t")
        profile = f"{fields[column['gene']]} {fields[column['variant']]}"
        out.append("\t".join([profile, *[fields[column[c]] for c in keep]]) + "\n")
    compound = out[2].split("\t")  # EID 964, EGFR C797S
    compound[0] = "EGFR C797S AND EGFR T790M"
    compound[keep.index("evidence_id") + 1] = "999002"
    out.append("\t".join(compound))
    civic_dir = tmp_path / "civic"
    civic_dir.mkdir()
    (civic_dir / "01-Aug-2021-ClinicalEvidenceSummaries.tsv").write_text("".join(lines))
    first = build_knowledge(tmp_path / "kb", date="2026-01-01", civic_dir=civic_dir,
                            approvals_path=DATA / "approvals_mini.tsv")
    (civic_dir / "2026-12-01-ClinicalEvidenceSummaries.tsv").write_text("".join(out))
    second = build_knowledge(tmp_path / "kb", date="2026-12-04", civic_dir=civic_dir,
                             approvals_path=DATA / "approvals_mini.tsv")
    assert (second.added, second.changed, second.removed) == (["CIViC:EID999002"], [], [])
    added = second.table.set_index("row_id").loc["CIViC:EID999002"]
    assert added["gene"] == "EGFR" and added["matchable"] == "False"
    assert set(first.table["row_id"]) < set(second.table["row_id"])


def test_civic_file_of_another_format_is_named_with_what_it_lacks(tmp_path):
    civic_dir = tmp_path / "civic"
    civic_dir.mkdir()
    (civic_dir / "2026-12-01-ClinicalEvidenceSummaries.tsv").write_text("variant\tdisease\nL858R\tx\n")
    with pytest.raises(ValidationError, match=r"2026-12-01-ClinicalEvidenceSummaries.tsv: .*missing column\(s\) gene"):
        build_knowledge(tmp_path / "kb", civic_dir=civic_dir, approvals_path=DATA / "approvals_mini.tsv")


def test_a_gene_added_to_the_panels_gets_its_civic_rows(tmp_path):
    from oncopanel.panels import PANELS_YAML

    without_pten = tmp_path / "panels.yaml"
    without_pten.write_text(PANELS_YAML.read_text().replace("NRAS, TP53, PTEN, ALK", "NRAS, TP53, ALK"))
    assert "PTEN" not in panel_genes(without_pten)
    out = tmp_path / "kb"
    approvals = tmp_path / "approvals.tsv"
    approvals.write_text("".join(line for line in APPROVALS.read_text().splitlines(keepends=True)
                                 if "\tPTEN\t" not in line))
    first = build_knowledge(out, date="2026-01-01", panels_path=without_pten, approvals_path=approvals)
    assert not (first.table["gene"] == "PTEN").any()
    second = build_knowledge(out, date="2026-01-02", approvals_path=approvals)
    pten = second.table[second.table["gene"] == "PTEN"]
    assert len(pten) > 0 and set(pten["row_id"]) == set(second.added)
    assert "- Panel gene added: PTEN" in (out / "CHANGELOG.md").read_text()


def test_approvals_regardless_of_biomarker_by_tumour_type(kb):
    high_grade = kb.approvals_regardless_of_biomarker("HGSOC")
    assert {(e.source, e.regimen) for e in high_grade} == {
        ("FDA", "niraparib"), ("FDA", "olaparib"), ("EMA", "niraparib"), ("EMA", "olaparib"), ("EMA", "rucaparib"),
        ("NMPA", "niraparib"), ("NMPA", "olaparib")}
    assert len(high_grade) == len({(e.source, e.regimen, e.setting) for e in high_grade})  # BRCA1/BRCA2 rows: once
    assert all(not e.biomarker_required and e.on_label for e in high_grade)
    assert {e.source for e in kb.approvals_regardless_of_biomarker("LGSOC")} == {"FDA", "NMPA"}
    for code in ("GRCT", "ODYS", "OYST", "SCCO", "SBOV", "LUAD", "COAD"):
        assert kb.approvals_regardless_of_biomarker(code) == [], code
