"""Copy number in the result, its decisions, the therapy matching and the PDF (issue 17): a germline BRCA1 exon
deletion, a germline sample that could not be assessed, and an EGFR-amplified lung tumour. The CNV tables come from
the batch run (oncopanel.cnv.batch) over mosdepth files of a simulated batch."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_cnv import GERMLINE, TUMOUR, batch, exon_range, write_regions
from test_report import build, flat, inputs, pdf_text

from oncopanel.assemble import germline_losses
from oncopanel.cnv.batch import CnvSample, run_batch
from oncopanel.cnv.records import read_tsv
from oncopanel.cnv.settings import load_settings
from oncopanel.cnv.targets import exon_targets
from oncopanel.knowledge import name
from oncopanel.knowledge.kb import KnowledgeBase
from oncopanel.knowledge.matching import SampleFindings, match_therapies
from oncopanel.release import clinical_digest
from oncopanel.report import render_batch_summary, render_pdf
from oncopanel.report.result import load_result, validate_result, write_result


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """CNV tables: G0 (BRCA1 exons 13-22 deleted) of a 10-sample germline batch, L0 of a 3-sample germline batch
    (too few references), T0 (EGFR amplified, CN 8 at 50%) and T1 of six tumours."""
    tmp = tmp_path_factory.mktemp("cnv")
    cfg = load_settings()
    germ, _ = batch(GERMLINE, 10, {0: exon_range("BRCA1", 13, 22, 0.5)}, seed=21)
    germ = replace(germ, samples=tuple(f"G{i}" for i in range(10)))
    small, _ = batch(GERMLINE, 3, seed=22)
    small = replace(small, samples=("L0", "L1", "L2"))
    egfr = {t.target: 1 + 0.5 * (8 - 2) / 2 for t in exon_targets(["EGFR"]) if t.targeted}
    tum, _ = batch(TUMOUR, 6, {0: egfr}, seed=23)
    tum = replace(tum, samples=tuple(f"T{i}" for i in range(6)))
    out = {}
    for table, genes, germline in ((germ, GERMLINE, True), (small, GERMLINE, True), (tum, TUMOUR, False)):
        regions = write_regions(tmp, table, genes)
        panels = ("BRCA",) if germline else ("BRCA", "EGFR_KRAS", "EXTENDED")
        samples = [CnvSample(s, germline, panels, None if germline else 0.5, regions[s]) for s in table.samples]
        out |= run_batch(samples, cfg, tmp / "out")
    return {s: read_tsv(p) for s, p in out.items()}


def germline_inputs(consent: str = "yes") -> dict:
    d = inputs("luad_inputs")
    d["sample"].update(specimen_type="blood_germline", tumour_content=None, germline_consent=consent)
    d["somatic"], d["hotspots"], d["therapies"] = [], [], []
    d["germline"] = [g for g in d["germline"] if g["classification"]["classification"] != "pathogenic"]  # VUS only
    return d


def test_germline_deletion_in_the_result_with_decisions_and_reference_version(tables, tmp_path):
    result = build(germline_inputs(), copy_number=tables["G0"])
    validate_result(result)
    cn = result["copy_number"]
    assert cn["status"] == "assessed" and cn["reference_version"] == "this batch" and cn["references"] >= 6
    (event,) = cn["events"]
    assert (event["name"], event["kind"], event["copy_number"]) == ("NM_007294.4:c.4358-?_5467+?del", "het_deletion", 1)
    assert (event["legacy_first_exon"], event["legacy_last_exon"]) == (14, 23)
    assert event["reporting"] == {"shown": True, "in_summary": True, "reason": "cnv_deletion"}
    assert {"gene": "BRCA1", "exons": [1], "legacy_exons": [1],
            "reason": "exon not captured by the panel (no coding sequence)"} in cn["not_assessable"]  # fmt: skip
    path = tmp_path / "r.json"
    write_result(result, path)
    assert load_result(path).copy_number.events[0].name == event["name"]
    # the decisions are not clinical content: the digest of the same result without them is the same
    undecided = {**result, "copy_number": {**cn, "reporting": {"shown": False, "in_summary": False, "reason": "x"}}}
    assert clinical_digest(undecided) == clinical_digest(result)


def test_germline_deletion_pdf_lists_the_event_exons_in_words_and_the_unassessed_exons(tables, tmp_path):
    result = build(germline_inputs(), copy_number=tables["G0"])
    en = flat(pdf_text(render_pdf(result, tmp_path / "g.en.pdf", "en")))
    for needle in (
        "Copy number: BRCA1/BRCA2 exon deletions and duplications",
        "NM_007294.4:c.4358-?_5467+?del",
        "heterozygous deletion of BRCA1 exons 13–22 (legacy 14–23)",
        "1 (0.",  # copy number (ratio)
        "PVS1 (very strong): deletion of critical exons",
        "Confirmation by MLPA (an orthogonal method) is recommended",
        "Exons not assessable — no statement is made about them",
        "exon not captured by the panel (no coding sequence)",
        "BRCA1/BRCA2 exons the copy-number section lists as not assessable",
        "No pathogenic or likely pathogenic sequence variant was detected in BRCA1 or BRCA2 (exon deletions",
    ):
        assert flat(needle) in en, needle
    assert flat("BRCA1/BRCA2 large rearrangements") not in en  # now tested: not in the "not tested" list
    zh = flat(pdf_text(render_pdf(result, tmp_path / "g.zh.pdf", "zh")))
    zh_needles = ("BRCA1 第13–22号外显子（传统编号14–23）杂合缺失", "建议在临床使用前以MLPA（正交方法）验证",
                  "检测套餐未捕获该外显子")  # fmt: skip
    for needle in zh_needles:
        assert flat(needle) in zh, needle


def test_too_few_references_reads_not_assessable_never_no_deletion(tables, tmp_path):
    result = build(germline_inputs(), copy_number=tables["L0"])
    cn = result["copy_number"]
    assert cn["status"] == "not_assessable" and cn["events"] == [] and cn["exons_assessed"] == 0
    assert cn["reporting"]["in_summary"]
    en = flat(pdf_text(render_pdf(result, tmp_path / "l.en.pdf", "en")))
    assert flat("Exon copy number could not be assessed for this sample (too few references") in en
    assert flat("BRCA1/BRCA2 exon copy number not assessable for this sample: no statement") in en  # summary
    assert flat("No exon deletion or duplication was detected") not in en
    zh = flat(pdf_text(render_pdf(result, tmp_path / "l.zh.pdf", "zh")))
    assert flat("本样本无法评估外显子拷贝数（本批次同一检测套餐的参照样本过少）") in zh


def test_no_consent_withholds_germline_copy_number(tables, tmp_path):
    result = build(germline_inputs("no"), copy_number=tables["G0"])
    assert result["copy_number"]["status"] == "withheld" and result["copy_number"]["events"] == []
    en = flat(pdf_text(render_pdf(result, tmp_path / "n.pdf", "en")))
    assert "c.4358-?_5467+?del" not in en and flat("Copy number: BRCA1/BRCA2") not in en


def test_egfr_amplified_tumour_matched_through_the_knowledge_base_and_reported(tables, tmp_path):
    d = inputs("luad_inputs")
    d["therapies"] = match_therapies(SampleFindings(copy_number=("EGFR",)), "LUAD", KnowledgeBase.load())
    result = build(d, copy_number=tables["T0"])
    validate_result(result)
    cn = result["copy_number"]
    assert cn["status"] == "not_tested" and cn["events"] == []
    amp = cn["amplification"]
    assert amp["status"] == "amplified" and amp["copy_number"] == pytest.approx(8, abs=0.8)
    assert amp["reporting"] == {"shown": True, "in_summary": True, "reason": "amplified"}
    linked = [t for t in result["therapies"] if "AMP-EGFR" in t["finding_ids"]]
    assert linked and all(t["biomarker"] == "EGFR Amplification" for t in linked)
    en = flat(pdf_text(render_pdf(result, tmp_path / "t.en.pdf", "en")))
    for needle in (
        "EGFR amplification detected: ratio",
        "copy number 8",
        "EGFR amplification (ratio",  # the summary row
        "BRCA1/BRCA2 exon copy number is not tested in tumour samples",
        "BRCA1/BRCA2 exon copy number in tumour samples: not tested",
    ):
        assert flat(needle) in en, needle
    zh = flat(pdf_text(render_pdf(result, tmp_path / "t.zh.pdf", "zh")))
    assert flat("检出EGFR扩增") in zh and flat("肿瘤样本中的BRCA1/BRCA2外显子拷贝数：未检测") in zh
    other = build(inputs("luad_inputs"), copy_number=tables["T1"])["copy_number"]["amplification"]
    assert other["status"] == "not_amplified" and not other["reporting"]["in_summary"]


def test_batch_summary_has_a_cnv_column(tables, tmp_path):
    deletion = build(germline_inputs(), copy_number=tables["G0"])
    unassessed = build(germline_inputs(), copy_number=tables["L0"], report_id="OP-L0")
    amplified = build(inputs("luad_inputs"), copy_number=tables["T0"], report_id="OP-T0")
    html = render_batch_summary([deletion, unassessed, amplified], tmp_path / "b.html").read_text(encoding="utf-8")
    assert "<th>CNV</th>" in html
    assert "NM_007294.4:c.4358-?_5467+?del (heterozygous deletion of BRCA1 exons 13–22 (legacy 14–23))" in html
    assert "<td>not assessable</td>" in html
    assert "<td>BRCA not tested; EGFR amplification (ratio " in html


def test_no_call_is_scoped_to_the_assessed_exons_and_does_not_exclude_a_duplication(tables, tmp_path):
    result = build(germline_inputs(), copy_number=tables["G1"])
    cn = result["copy_number"]
    assert cn["status"] == "assessed" and cn["events"] == [] and not cn["reporting"]["in_summary"]
    en = flat(pdf_text(render_pdf(result, tmp_path / "g1.pdf", "en")))
    assert flat(f"No exon deletion or duplication was called in the {cn['exons_assessed']} exons assessed") in en
    assert flat("a single-exon duplication (a smaller change in depth) is not excluded where stated below") in en
    assert flat("the exons listed below as not assessable are not covered by it") in en


def test_germline_exon_deletion_reaches_the_parp_inhibitors_in_the_pdf(tables, tmp_path):
    """A germline BRCA1 exon 13-22 deletion (PVS1 very strong: likely pathogenic) in breast cancer: olaparib first,
    linked to the deletion by its HGVS-style name; without consent the same table gives no option."""
    d = germline_inputs()
    d["sample"].update(oncotree_code="IDC", tumour_type=name("IDC"))
    losses = germline_losses(tables["G0"], "blood_germline", "yes")
    d["therapies"] = match_therapies(SampleFindings(copy_number_losses=losses), "IDC", KnowledgeBase.load())
    result = build(d, copy_number=tables["G0"])
    validate_result(result)
    first = result["therapies"][0]
    assert (first["regimen"], first["biomarker"], first["finding_ids"]) == (
        "olaparib", "NM_007294.4:c.4358-?_5467+?del", ["CNV1"])
    en = flat(pdf_text(render_pdf(result, tmp_path / "parp.en.pdf", "en")))
    # the therapy table's first row: the regimen, its setting, the gene and the deletion's name as the biomarker
    assert flat("olaparib first line BRCA1 NM_007294.4:c.4358-?_5467+?del Regulatory approval Approved for this "
                "tumour type") in en
    # the summary row of the deletion carries its options
    assert flat("PVS1 (very strong): deletion of critical exons olaparib — Approved for this tumour type") in en
    assert germline_losses(tables["G0"], "blood_germline", "no") == ()


def test_normal_exons_say_where_a_duplication_is_not_excluded_in_json_and_pdf(tables, tmp_path):
    """Exons reported normal exclude a deletion; where the count does not exclude a duplication the table's reason
    says so, the result lists the exons (MANE and legacy numbers) and the PDF names them; without any, the PDF says
    both are excluded."""
    from oncopanel.cnv.records import DUPLICATION_NOT_EXCLUDED

    plain = build(germline_inputs(), copy_number=tables["G1"])
    assert plain["copy_number"]["duplication_not_excluded"] == []
    en = flat(pdf_text(render_pdf(plain, tmp_path / "plain.pdf", "en")))
    assert flat("Every exon reported normal excludes both a deletion and a duplication.") in en
    opened = {"BRCA1_exon5", "BRCA1_exon6", "BRCA2_exon11"}
    rows = [replace(r, reason=DUPLICATION_NOT_EXCLUDED) if r.exon in opened else r for r in tables["G1"].rows]
    assert all(r.status == "normal" for r in rows if r.exon in opened)
    result = build(germline_inputs(), copy_number=replace(tables["G1"], rows=rows))
    validate_result(result)
    assert result["copy_number"]["duplication_not_excluded"] == [
        {"gene": "BRCA1", "exons": [5, 6], "legacy_exons": [6, 7]},
        {"gene": "BRCA2", "exons": [11], "legacy_exons": [11]},
    ]
    en = flat(pdf_text(render_pdf(result, tmp_path / "open.pdf", "en")))
    assert flat("Exons reported normal exclude a deletion; their count does not exclude a duplication (a smaller "
                "change in depth) at: BRCA1 5–6 (legacy 6–7); BRCA2 11.") in en  # fmt: skip
    zh = flat(pdf_text(render_pdf(result, tmp_path / "open_zh.pdf", "zh")))
    assert "不能排除重复" in zh and "BRCA211" in zh
