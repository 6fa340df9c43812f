"""The therapy section as the oncologist reads it: results built from the whole-sample matcher, rendered, and the
PDF text checked (issue 16: setting, demoted options with their reason, RAS wild type with its codons, consent)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from oncopanel.knowledge import KnowledgeBase
from oncopanel.knowledge.matching import SampleFindings, match_therapies, negative_results
from oncopanel.model import Annotation, Call, HotspotResult, Variant
from oncopanel.report import build_result, render_pdf

DATA = Path(__file__).parent / "data" / "report"
pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")
RAS = [f"{g}_{c}" for g in ("KRAS", "NRAS") for c in ("G12", "G13", "A59", "Q61", "K117", "A146")]


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def base(oncotree: str, consent: str = "yes") -> dict:
    d = json.loads((DATA / "luad_inputs.json").read_text(encoding="utf-8"))
    d["sample"] = {**d["sample"], "oncotree_code": oncotree, "tumour_type": oncotree, "germline_consent": consent}
    return d


def somatic(gene: str, change: str, exon: str, pos: int, hgvs_c: str = "c.test") -> dict:
    variant = Variant("chr7", pos, "T", "G")
    ann = Annotation(variant, gene, "NM_test", ("missense_variant",), hgvs_c, f"p.{change}", exon=exon,
                     protein_change=change)
    call = Call(variant, "S0042", "somatic", 1000, 100, 0.1, filters=("PASS",))
    return {"annotation": ann, "call": call, "tier": "IA"}


def text_of(result: dict, tmp_path: Path, lang: str = "en") -> str:
    pdf = render_pdf(result, tmp_path / f"r.{lang}.pdf", lang)
    out = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(out.split())


def result_for(d: dict, items: list[dict], kb: KnowledgeBase, hotspots=(), germline=(), line: str = "") -> dict:
    findings = SampleFindings(annotations=tuple(i["annotation"] for i in items + list(germline)),
                              germline={g["annotation"].variant.key: g["classification"]["classification"]
                                        for g in germline},
                              hotspots=tuple(hotspots), stated_lod=0.05)
    therapies = match_therapies(findings, d["sample"]["oncotree_code"], kb, line_of_therapy=line)
    return build_result(d["sample"], d["qc"], items, list(germline), list(hotspots), therapies, d["provenance"],
                        assay=d["assay"], report_id=d["report_id"], reported_date=d["reported_date"],
                        negative_biomarkers=negative_results(findings, oncotree_code=d["sample"]["oncotree_code"],
                                                             kb=kb))


def test_l858r_t790m_names_osimertinib_first_and_gefitinib_not_recommended(kb, tmp_path):
    d = base("LUAD")
    items = [somatic("EGFR", "L858R", "21/28", 55191822), somatic("EGFR", "T790M", "20/28", 55181378)]
    result = result_for(d, items, kb)
    first = result["therapies"][0]
    assert first["regimen"] == "osimertinib" and first["status"] == "option" and first["setting"] == "first_line"
    gefitinib = next(t for t in result["therapies"] if t["regimen"] == "gefitinib")
    assert gefitinib["status"] == "demoted" and "T790M" in gefitinib["reason"]
    assert not gefitinib["reporting"]["in_summary"]
    text = text_of(result, tmp_path)
    assert "osimertinib — Approved for this tumour type" in text
    assert "Not recommended in this sample: EGFR T790M" in text
    assert text.index("osimertinib") < text.index("gefitinib")


def test_ras_wild_type_colorectal_shows_anti_egfr_with_the_codons_assessed(kb, tmp_path):
    d = base("COAD")
    hotspots = [HotspotResult(i, i.split("_")[0], f"{i.split('_')[1]}X", "not_detected", 900, 0, None, None, None,
                              0.01) for i in RAS]
    result = result_for(d, [], kb, hotspots=hotspots)
    ras = next(n for n in result["negative_biomarkers"] if n["biomarker"] == "RAS Wild Type")
    assert ras["status"] == "wild_type" and len(ras["assessed"]) == 12
    options = [t["regimen"] for t in result["therapies"] if t["status"] == "option"]
    assert options and {"cetuximab", "panitumumab"} & {d for r in options for d in r.split(" + ")}
    text = text_of(result, tmp_path)
    assert "RAS wild type: every position assessed and not detected" in text
    assert "NRAS A146X" in text and "cetuximab" in text
    assert "KRAS RAS" not in text and "RAS wild type" in text  # the biomarker cell names RAS once
    # monotherapy follows the labels: after progression, never first line
    alone = [t for t in result["therapies"] if t["regimen"] in ("cetuximab", "panitumumab")]
    assert alone and all(t["setting"] == "after_progression" and "first_line" not in t["settings"] for t in alone)


def test_ras_not_determined_without_nras_names_it_and_offers_no_anti_egfr(kb, tmp_path):
    d = base("COAD")
    hotspots = [HotspotResult(i, i.split("_")[0], f"{i.split('_')[1]}X", "not_detected", 900, 0, None, None, None,
                              0.01) for i in RAS if i.startswith("KRAS")]
    result = result_for(d, [], kb, hotspots=hotspots)
    assert not [t for t in result["therapies"] if t["status"] == "option"]
    text = text_of(result, tmp_path)
    assert "RAS status not determined: NRAS not on the ordered panels" in text
    assert "RAS状态无法判定：NRAS不在所订检测套餐中" in text_of(result, tmp_path, "zh").replace(" ", "")


def test_ras_status_is_not_reported_where_it_does_not_matter(kb, tmp_path):
    d = base("LUAD")
    hotspots = [HotspotResult(i, i.split("_")[0], f"{i.split('_')[1]}X", "not_detected", 900, 0, None, None, None,
                              0.01) for i in RAS if i.startswith("KRAS")]
    result = result_for(d, [somatic("EGFR", "L858R", "21/28", 55191822)], kb, hotspots=hotspots)
    assert "negative_biomarkers" not in result
    assert "RAS status" not in text_of(result, tmp_path)


def test_germline_carrier_without_consent_is_never_told_no_actionable_variant(kb, tmp_path):
    d = base("BRCA", consent="unknown")
    germline = copy.deepcopy(d["germline"][:1])
    germline[0]["annotation"] = Annotation(**{**germline[0]["annotation"],
                                             "variant": Variant(**germline[0]["annotation"]["variant"]),
                                             "consequence": tuple(germline[0]["annotation"]["consequence"])})
    result = result_for(d, [], kb, germline=germline)
    assert result["germline"]["findings"] == [] and result["therapies"] == []
    for lang, needle in (("en", "Germline findings are not reported for lack of consent"),
                         ("zh", "因未获得胚系检测知情同意")):
        text = text_of(result, tmp_path, lang)
        assert needle.replace(" ", "") in text.replace(" ", "")
        assert "No actionable variant was detected" not in text


def test_no_further_option_is_announced_without_an_option(kb, tmp_path):
    d = base("LUAD")
    result = result_for(d, [somatic("KRAS", "G13D", "2/6", 25245347)], kb)
    text = text_of(result, tmp_path)
    shown_outside_summary = [t for t in result["therapies"] if t["reporting"]["shown"]
                             and not t["reporting"]["in_summary"] and t["status"] == "option"]
    if not shown_outside_summary:
        assert "more option(s)" not in text


def test_a_failed_sample_carries_no_therapy_rows(kb):
    d = base("LUAD")
    qc = {**d["qc"], "status": "fail", "reasons": ["mean depth below 200x"]}
    result = build_result(d["sample"], qc, therapies=match_therapies([somatic("EGFR", "L858R", "21/28", 1)[
        "annotation"]], "LUAD", kb), provenance=d["provenance"], assay=d["assay"])
    assert result["status"] == "failed" and result["therapies"] == []


def test_below_lod_variant_says_so_and_tumour_only_brca_prompts_germline_testing(kb, tmp_path):
    d = base("HGSOC")
    low = somatic("EGFR", "L858R", "21/28", 55191822)
    low["call"] = Call(low["annotation"].variant, "S0042", "somatic", 1000, 30, 0.03, filters=("PASS",))
    brca = somatic("BRCA1", "E23Vfs*17", "2/23", 43124027, "c.68_69del")
    result = result_for(d, [low, brca], kb)
    text = text_of(result, tmp_path)
    assert "below the stated LoD of 5.0%" in text
    assert "may be germline: germline testing (blood or saliva) and genetic counselling are recommended" in text


def test_another_tumour_types_resistance_is_not_in_the_summary(kb, tmp_path):
    d = base("LUAD")
    result = result_for(d, [somatic("KRAS", "G12C", "2/6", 25245351)], kb)
    cetuximab = next(t for t in result["therapies"] if t["regimen"] == "cetuximab")
    assert cetuximab["resistance"] and not cetuximab["on_label"] and not cetuximab["reporting"]["in_summary"]
    first = next(t for t in result["therapies"] if t["reporting"]["in_summary"])
    assert first["regimen"] == "sotorasib" and first["setting"] == "after_progression"
    summary = text_of(result, tmp_path).split("Somatic variants")[0]
    assert "sotorasib — Approved for this tumour type" in summary and "RESISTANCE" not in summary


def test_line_of_therapy_in_the_header_and_options_under_setting_headings(kb, tmp_path):
    d = base("COAD")
    hotspots = [HotspotResult(i, i.split("_")[0], f"{i.split('_')[1]}X", "not_detected", 900, 0, None, None, None,
                              0.01) for i in RAS]
    d["sample"] = {**d["sample"], "line_of_therapy": "progressed_on:oxaliplatin"}
    result = result_for(d, [somatic("BRAF", "V600E", "15/18", 140753336)], kb, hotspots=hotspots,
                        line="progressed_on:oxaliplatin")
    assert result["sample"]["line_of_therapy"] == "progressed_on:oxaliplatin"
    text = text_of(result, tmp_path)
    assert "Line of therapy (from the order) after progression on oxaliplatin" in text
    # the order's setting leads, then the others under their own headings
    assert text.index("after progression encorafenib + cetuximab —") < text.index("first line encorafenib")
    zh = text_of(result, tmp_path, "zh").replace(" ", "")
    assert "治疗线数（送检单）" in zh and "治疗后进展" in zh
    del d["sample"]["line_of_therapy"]
    plain = result_for(d, [somatic("BRAF", "V600E", "15/18", 140753336)], kb, hotspots=hotspots)
    assert "line_of_therapy" not in plain["sample"]
    text = text_of(plain, tmp_path)
    assert "Line of therapy (from the order) not stated" in text
    assert text.index("first line encorafenib + cetuximab + mFOLFOX6") < text.index("after progression encorafenib")


# What a Chinese report may print in Latin letters between its summary and its hotspot section: names and
# citations from the data (genes, drugs and regimens, HGVS, citations, ids), these abbreviations, single letters
# (evidence levels, tiers) and tokens with digits (HGVS, checksums). Anything else is English built in code.
ABBREVIATIONS = {"FDA", "EMA", "NMPA", "CIViC", "NCCN", "CSCO", "TKI", "VAF", "LoD", "KB", "SHA", "HGVSc", "HGVSp",
                 "RAS", "DNA", "FFPE", "PARP"}


def english_words(result: dict, text: str) -> set[str]:
    flat = re.sub(r"\s+", "", text)  # CJK cells wrap anywhere, splitting words: compare without whitespace
    flat = flat[flat.index("检测结果摘要"):flat.index("阴性结果说明")]
    allowed = {result["report_id"], result["sample"]["patient"], *result["assay"]["genes_tested"]}
    for th in result["therapies"]:
        allowed |= {th["regimen"], th["gene"], th.get("guideline", ""), *th["drugs"]}
        allowed |= {e.get("citation", "") for e in th["evidence"] + th.get("conflicts", [])}
        for r in th.get("reasons", []):
            allowed |= {r.get("citation", ""), r.get("note_citation", ""), r.get("finding", "")}
    for f in result["somatic"] + result["germline"]["findings"]:
        allowed |= {v for v in f.values() if isinstance(v, str)}
    allowed |= {h["gene"] + h["label"] for h in result["hotspots"]}
    for s in sorted((re.sub(r"\s+", "", a) for a in allowed if a), key=len, reverse=True):
        flat = flat.replace(s, "")
    return {w for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", flat)
            if len(w) > 1 and not re.search(r"\d", w) and w not in ABBREVIATIONS and w not in allowed}


def test_a_chinese_report_prints_no_english_built_in_code(kb, tmp_path):
    """One sample of each class whose wording is built from data: RAS not determined, demoted options (by a
    resistance variant; by C797S in cis with T790M), a biomarker-agnostic approval, evidence from another tumour
    type, germline findings withheld for lack of consent."""
    kras_only = [HotspotResult(i, i.split("_")[0], f"{i.split('_')[1]}X", "not_detected", 900, 0, None, None, None,
                               0.01) for i in RAS if i.startswith("KRAS")]
    egfr = [somatic("EGFR", "L858R", "21/28", 55191822), somatic("EGFR", "T790M", "20/28", 55181378)]
    c797s = [*egfr, somatic("EGFR", "C797S", "20/28", 55181398)]
    cis = {tuple(sorted((c797s[1]["annotation"].variant.key, c797s[2]["annotation"].variant.key))): "cis"}
    d = base("LUAD")
    cis_result = build_result(
        d["sample"], d["qc"], c797s, [], [], match_therapies(SampleFindings(
            annotations=tuple(i["annotation"] for i in c797s), phases=cis, stated_lod=0.05), "LUAD", kb),
        d["provenance"], assay=d["assay"], report_id=d["report_id"], reported_date=d["reported_date"])
    consent = base("BRCA", consent="unknown")
    germline = copy.deepcopy(consent["germline"][:1])
    germline[0]["annotation"] = Annotation(**{**germline[0]["annotation"],
                                             "variant": Variant(**germline[0]["annotation"]["variant"]),
                                             "consequence": tuple(germline[0]["annotation"]["consequence"])})
    cases = {
        "RAS not determined": result_for(base("COAD"), [], kb, hotspots=kras_only),
        "demoted": result_for(base("LUAD"), egfr, kb, line="progressed_on:osimertinib"),
        "C797S in cis": cis_result,
        "agnostic": result_for(base("HGSOC"), [somatic("BRCA1", "E23Vfs*17", "2/23", 43124027, "c.68_69del")], kb),
        "other tumour type": result_for(base("COAD"), [somatic("KRAS", "G12D", "2/6", 25245350)], kb),
        "consent withheld": result_for(consent, [], kb, germline=germline),
    }
    assert [t for t in cases["demoted"]["therapies"] if t["status"] == "demoted" and t.get("reasons")]
    assert [t for t in cases["agnostic"]["therapies"] if t["status"] == "agnostic"]
    for name, result in cases.items():
        text = text_of(result, tmp_path, "zh")
        assert not english_words(result, text), (name, english_words(result, text))
    zh = re.sub(r"\s+", "", text_of(cis_result, tmp_path, "zh"))
    assert "建议参加临床试验或含铂化疗" in zh and "位于同一等位基因（顺式）" in zh
