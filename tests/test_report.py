"""Clinician report, result document and batch summary: PDFs are read back with pdftotext, in both languages."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from oncopanel import paths as oncopanel_paths
from oncopanel.errors import InputError, ValidationError
from oncopanel.report import (
    build_result,
    load_identity_manifest,
    render_batch_summary,
    render_pdf,
    result_sha256,
    write_result,
)
from oncopanel.report import text as report_text
from oncopanel.report.result import validate_result
from oncopanel.report.text import fonts_for, load_text, missing_glyphs, strings
from oncopanel.settings import language_problem, report_fonts, report_languages

DATA = Path(__file__).parent / "data" / "report"
CENTRE = {"name": "Provincial Precision Oncology Testing Centre", "name_zh": "省肿瘤精准检测中心"}
IDENTITY_FIELDS = ("name", "resident_id", "record_number", "ordering_clinician", "birth_date")

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")


def inputs(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def build(d: dict, **overrides) -> dict:
    kw = dict(assay=d["assay"], report_id=d["report_id"], reported_date=d["reported_date"]) | overrides
    return build_result(
        d["sample"], d["qc"], d["somatic"], d["germline"], d["hotspots"], d["therapies"], d["provenance"], **kw
    )


def identities() -> dict[str, dict]:
    return load_identity_manifest(DATA / "identity.yaml")


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True, text=True).stdout


def flat(text: str) -> str:
    """Whitespace removed: wrapped cells and CJK line breaks do not split what we look for."""
    return re.sub(r"\s+", "", text)


def assert_in(needles: list[str], text: str) -> None:
    hay = flat(text)
    missing = [n for n in needles if flat(n) not in hay]
    assert not missing, f"missing from the PDF text: {missing}"


@pytest.fixture(scope="module")
def luad() -> dict:
    return build(inputs("luad_inputs"))


@pytest.fixture(scope="module")
def failed() -> dict:
    return build(inputs("failed_inputs"))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, luad, failed) -> dict[tuple[str, str], Path]:
    out = tmp_path_factory.mktemp("pdf")
    ids = identities()
    paths = {}
    for key, result in (("luad", luad), ("failed", failed)):
        for lang in ("en", "zh"):
            paths[key, lang] = render_pdf(
                result, out / f"{key}.{lang}.pdf", lang, identity=ids[result["sample"]["sample_id"]], centre=CENTRE
            )
    return paths


# ---------------------------------------------------------------- text sets and fonts
def _key_tree(node, prefix=""):
    if isinstance(node, dict):
        for k, v in node.items():
            if k in LOCAL_NAMES:  # local names: a text set may add them
                continue
            yield f"{prefix}{k}"
            yield from _key_tree(v, f"{prefix}{k}.")
    elif isinstance(node, list):
        yield f"{prefix}[{len(node)}]"


# a text set may add local names / wordings of data held in English elsewhere (the knowledge base's rule tables)
LOCAL_NAMES = ("drug_names", "tumour_types", "resistance_rules", "phase_notes")


def test_text_sets_have_the_same_keys():
    for language in report_languages():
        assert set(_key_tree(load_text("en").data)) == set(_key_tree(load_text(language).data)), language


def test_every_character_of_the_chinese_text_set_is_in_the_embedded_font():
    cjk = fonts_for("zh")
    text = "".join(strings(load_text("zh").data))
    missing = {ch for ch in text if not ch.isspace() and ord(ch) not in cjk.regular_cmap}
    assert not missing, f"characters missing from the CJK font's cmap: {sorted(missing)}"
    assert "体细胞变异" in text and "检测限" in text
    assert missing_glyphs("en") == set()


def test_every_placeholder_is_the_same_in_every_language():

    def fields(node, prefix=""):
        if isinstance(node, dict):
            for k, v in node.items():
                if k not in LOCAL_NAMES:
                    yield from fields(v, f"{prefix}{k}.")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from fields(v, f"{prefix}{i}.")
        elif isinstance(node, str):
            yield prefix, tuple(sorted(re.findall(r"{(\w+)}", node)))

    for language in report_languages():
        assert dict(fields(load_text("en").data)) == dict(fields(load_text(language).data)), language
        assert missing_glyphs(language) == set(), language


def test_a_new_report_language_is_data_alone(tmp_path, monkeypatch, luad):
    """Adding a language = its text set and a fonts.yaml entry; the sheet accepts it and the PDF is in it."""
    reports = tmp_path / "reports"
    shutil.copytree(oncopanel_paths.REPORTS, reports)
    text = (reports / "text" / "en.yaml").read_text(encoding="utf-8")
    (reports / "text" / "de.yaml").write_text(
        text.replace("\ntitle: Tumour gene panel test report", "\ntitle: Tumorgenpanel-Befund"), encoding="utf-8")
    fonts = (reports / "fonts.yaml").read_text()
    (reports / "fonts.yaml").write_text(fonts.replace("languages:\n", "languages:\n  de: {regular: latin, "
                                                      "bold: latin_bold, fallback: cjk}\n"))  # fmt: skip
    monkeypatch.setattr(oncopanel_paths, "REPORTS", reports)
    caches = (report_fonts, load_text, fonts_for, report_text._fonts_config)
    for cached in caches:
        cached.cache_clear()
    try:
        assert report_languages() == ("de", "zh", "en")
        assert language_problem("de", "row 2") == []
        assert language_problem("fr", "row 2") == [
            "row 2: unknown report language 'fr' (known languages: de, en, zh)"]
        pdf = render_pdf(luad, tmp_path / "de.pdf", "de", centre=CENTRE | {"name_de": "Landeszentrum"})
        assert_in(["Tumorgenpanel-Befund", "Landeszentrum"], pdf_text(pdf))
    finally:
        monkeypatch.undo()
        for cached in caches:
            cached.cache_clear()


# ---------------------------------------------------------------- the result document
def test_result_is_valid_and_carries_the_findings(luad):
    validate_result(luad)
    assert luad["schema_version"] == "1.2" and luad["status"] == "reported"
    egfr = next(v for v in luad["somatic"] if v["gene"] == "EGFR" and v["reported"])
    assert (egfr["hgvs_c"], egfr["hgvs_p"], egfr["vaf"], egfr["depth"], egfr["alt_depth"], egfr["tier"]) == (
        "c.2573T>G",
        "p.(Leu858Arg)",
        0.081,
        1432,
        116,
        "IA",
    )
    artefact = next(v for v in luad["somatic"] if v["hgvs_c"] == "c.2155G>A")
    assert not artefact["reported"] and artefact["filters"] == ["pon_artefact", "strand_bias"]
    brca1 = luad["germline"]["findings"][0]
    assert (brca1["hgvs_c"], brca1["hgvs_p"], brca1["classification"], brca1["origin_confirmed"]) == (
        "c.68_69del",
        "p.(Glu23ValfsTer17)",
        "pathogenic",
        False,
    )
    osi = next(t for t in luad["therapies"] if t["regimen"] == "osimertinib")
    assert osi["approval"] == {"status": "approved_here", "agencies": ["NMPA", "FDA"]}
    assert osi["finding_ids"] == [egfr["id"]]
    olaparib = next(t for t in luad["therapies"] if t["regimen"] == "olaparib")
    assert olaparib["approval"]["status"] == "off_label" and olaparib["finding_ids"] == [brca1["id"]]


def test_result_never_carries_identity(luad, failed, tmp_path):
    for result in (luad, failed):
        ident = identities()[result["sample"]["sample_id"]]
        path = tmp_path / f"{result['sample']['sample_id']}.result.json"
        digest = write_result(result, path)
        data = path.read_text(encoding="utf-8")
        assert digest == hashlib.sha256(path.read_bytes()).hexdigest() == result_sha256(result)
        for field in IDENTITY_FIELDS:
            assert ident[field] not in data, field
    leaky = copy.deepcopy(luad)
    leaky["sample"]["name"] = "张秀英"
    with pytest.raises(InputError, match="name"):
        validate_result(leaky)


def test_failed_result_carries_no_negatives(failed):
    assert failed["status"] == "failed"
    assert failed["failure"]["stage"] == "qc"
    assert [g["metric"] for g in failed["failure"]["gates_failed"]] == [
        "mean_target_depth",
        "fraction_target_bases_ge_100x",
    ]
    assert failed["hotspots"] == failed["somatic"] == failed["therapies"] == []
    sneaky = copy.deepcopy(failed)
    sneaky["hotspots"] = [build(inputs("luad_inputs"))["hotspots"][0]]
    with pytest.raises(InputError, match="hotspots"):
        validate_result(sneaky)


def test_germline_findings_need_consent():
    d = inputs("luad_inputs")
    d["sample"]["germline_consent"] = "no"
    result = build(d)
    validate_result(result)
    assert result["germline"] == {"consent": "no", "reported": False, "origin_confirmed": False, "findings": []}
    assert "olaparib" not in json.dumps(result), "a BRCA therapy would reveal the withheld germline finding"
    assert "c.68_69del" not in json.dumps(result)


# ---------------------------------------------------------------- the clinician PDF
def test_english_report_reads_back(rendered, luad):
    text = pdf_text(rendered["luad", "en"])
    assert_in(
        [
            "Provincial Precision Oncology Testing Centre",
            "OP-B2026-11-S0042",
            "P0031",
            "FFPE tumour tissue",
            "Lung Adenocarcinoma (LUAD)",
            "Result summary",
            "EGFR c.2573T>G p.(Leu858Arg)",
            "VAF 8.1%",
            "116/1432",
            "Tier I (level A)",
            "osimertinib",
            "Approved for this tumour type (NMPA, FDA)",
            "PMID:29151359",
            "TP53",
            "c.743G>A",
            "p.(Arg248Gln)",
            "12.0%",
            "1 further candidate call(s) failed the artefact filters",
            "BRCA1",
            "c.68_69del",
            "p.(Glu23ValfsTer17)",
            "Pathogenic",
            "its germline origin is not confirmed",
            "A germline test (blood or saliva) is advised",
            "Genetic counselling is recommended",
            "Uncertain significance (VUS)",
            "c.7534A>G",
            "olaparib",
            "Off-label: approved in another tumour type (FDA)",
            "Relevant negatives",
            "tumour content 30%",
            "expected at about 15.0% VAF",
            "not detected",
            "LoD 1.2% at this hotspot's 1402x",
            "Exon 19 deletion",
            "not assessable",
            "depth too low for the stated LoD of 5.0%; status unknown",
            "1 hotspot(s) could not be assessed: BRAF p.V600 (c.1798-1799): insufficient depth. Their status",
            "Gene(s) with incomplete coverage: BRAF",
            "Not tested by this assay",
            "a normal ALK sequence result is not 'fusion negative'",
            "MET exon 14 skipping",
            "ERBB2 (HER2) amplification",
            "BRCA1/BRCA2 large rearrangements",
            "Quality control",
            "Mean target depth",
            "Methods and limitations",
            "oncopanel 0.1.0",
            "KB-2026-11-01",
            "Reviewed and authorised by",
            result_sha256(luad),
        ],
        text,
    )


def test_chinese_report_reads_back(rendered, luad):
    text = pdf_text(rendered["luad", "zh"])
    assert_in(
        [
            "省肿瘤精准检测中心",
            "肿瘤基因检测报告",
            "肿瘤组织（石蜡包埋，FFPE）",
            "肺腺癌（LUAD）",
            "检测结果摘要",
            "EGFR c.2573T>G p.(Leu858Arg)（体细胞；VAF 8.1%）",
            "I类（A级证据）",
            "奥希替尼（osimertinib）",
            "已获批用于该肿瘤类型（NMPA、FDA）",
            "体细胞变异",
            "错义突变",
            "胚系变异",
            "c.68_69del",
            "p.(Glu23ValfsTer17)",
            "致病性",
            "无法确认是否为胚系来源",
            "遗传咨询",
            "意义未明（VUS）",
            "靶向药物及治疗提示",
            "证据等级",
            "奥拉帕利（olaparib）",
            "超适应证",
            "阴性结果说明",
            "肿瘤细胞含量：30%",
            "未检出",
            "该热点 1402x 深度下检测限为 1.2%",
            "无法评估",
            "深度不足，未达到本检测声明的检测限 5.0%；状态未知",
            "1 个热点无法评估：BRAF p.V600 (c.1798-1799)：测序深度不足。其状态未知",
            "本检测未涵盖的项目",
            "ALK测序结果正常不等于“融合阴性”",
            "MET 14号外显子跳跃突变",
            "ERBB2（HER2）扩增",
            "BRCA1/BRCA2大片段重排",
            "质量控制",
            "检测方法与局限性",
            "审核者",
            result_sha256(luad),
        ],
        text,
    )


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_has_page_x_of_y_and_the_report_id(rendered, lang):
    pages = pdf_text(rendered["luad", lang]).split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) >= 2
    t = load_text(lang)
    for n, page in enumerate(pages, start=1):
        assert flat(t("labels.page", page=n, pages=len(pages))) in flat(page)
        assert "OP-B2026-11-S0042" in page


@pytest.mark.parametrize(
    "lang, banner, not_negative, reason",
    [
        ("en", "TEST NOT COMPLETED — the laboratory will re-test the stored material",
         "This is NOT a negative result", "Mean target depth = 46.2"),
        ("zh", "检测未完成——实验室将使用保存的样本重新检测", "本报告不是阴性结果",
         "靶区平均深度 = 46.2（合格标准 ≥ 100）"),
    ],
)  # fmt: skip
def test_failed_report_never_reads_as_negative(rendered, lang, banner, not_negative, reason):
    """Low depth is re-tested from the stored DNA or library: the report says so and never asks for a specimen."""
    text = flat(pdf_text(rendered["failed", lang]))
    for needle in (banner, not_negative, reason, "OP-B2026-11-S0057"):
        assert flat(needle) in text
    t = load_text(lang)
    assert flat(t("failure.kinds.new_specimen.next_step")) not in text
    t = load_text(lang)
    for absent in ("sections.summary", "sections.negatives", "summary.no_actionable", "somatic.none", "germline.none"):
        assert flat(t(absent)) not in text, absent
    assert flat(t("sections.not_tested")) in text


def test_identity_only_when_given(luad, tmp_path, rendered):
    ident = identities()["S0042"]
    with_id = flat(pdf_text(rendered["luad", "zh"]))
    without = flat(pdf_text(render_pdf(luad, tmp_path / "anon.pdf", "zh")))
    for field in IDENTITY_FIELDS:
        assert flat(ident[field]) in with_id, field
        assert flat(ident[field]) not in without, field
    en = flat(pdf_text(rendered["luad", "en"]))
    assert "张秀英" in en and "43092319610314002X" in en  # CJK name drawn by the fallback font in English
    wrong = dict(ident, sample_id="S0057")
    with pytest.raises(InputError, match="refusing"):
        render_pdf(luad, tmp_path / "wrong.pdf", "en", identity=wrong)
    declined = dict(ident, germline_consent="no")
    with pytest.raises(InputError, match="germline consent"):
        render_pdf(luad, tmp_path / "declined.pdf", "en", identity=declined)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_same_result_renders_byte_identical(luad, tmp_path, lang):
    ident = identities()["S0042"]
    a = render_pdf(luad, tmp_path / "a.pdf", lang, identity=ident, centre=CENTRE).read_bytes()
    b = render_pdf(copy.deepcopy(luad), tmp_path / "b.pdf", lang, identity=ident, centre=CENTRE).read_bytes()
    assert a == b


def test_chinese_pdf_embeds_the_cjk_font(rendered):
    fonts = subprocess.run(["pdffonts", str(rendered["luad", "zh"])], capture_output=True, text=True).stdout
    assert "WenQuanYi" in fonts or "oncopanel-cjk" in fonts or "ZenHei" in fonts
    assert all(" yes " in line for line in fonts.splitlines()[2:]), fonts  # every font embedded


def test_amended_report_states_kb_version_and_superseded_report(luad, tmp_path):
    amended = dict(
        luad,
        report_id="OP-B2026-11-S0042-A1",
        amendment={"supersedes": "OP-B2026-11-S0042", "reason": "knowledge base update"},
    )
    validate_result(amended)
    for lang, needle in (
        ("en", "AMENDED REPORT — supersedes report OP-B2026-11-S0042. Knowledge base version KB-2026-11-01."),
        ("zh", "更正报告——替代原报告 OP-B2026-11-S0042。知识库版本：KB-2026-11-01。"),
    ):
        assert flat(needle) in flat(pdf_text(render_pdf(amended, tmp_path / f"amended.{lang}.pdf", lang)))
    via_argument = render_pdf(luad, tmp_path / "arg.pdf", "en", amends="OP-B2026-11-S0042")
    assert "supersedesreportOP-B2026-11-S0042" in flat(pdf_text(via_argument))


def test_consent_withheld_report_says_so(tmp_path):
    d = inputs("luad_inputs")
    d["sample"]["germline_consent"] = "no"
    result = build(d)
    for lang, needle in (("en", "consent for germline analysis is Declined"), ("zh", "胚系检测知情同意状态为“拒绝”")):
        text = flat(pdf_text(render_pdf(result, tmp_path / f"noconsent.{lang}.pdf", lang)))
        assert flat(needle) in text
        assert "c.68_69del" not in text and "olaparib" not in text


def test_germline_specimen_confirms_origin(tmp_path):
    d = inputs("luad_inputs")
    d["sample"].update(specimen_type="blood_germline", tumour_content=None)
    d["somatic"], d["hotspots"] = [], []
    text = flat(pdf_text(render_pdf(build(d), tmp_path / "blood.pdf", "en")))
    for needle in (
        "Hereditary BRCA1/BRCA2 gene test report",
        "Found in a germline specimen",
        "c.68_69del",
        "Somatic variants are not assessed on a germline",
        "expected at about 50% VAF",
    ):
        assert flat(needle) in text
    assert flat("germline origin is not confirmed") not in text


def test_resistance_is_shown_beside_sensitivity(tmp_path):
    d = inputs("luad_inputs")
    d["sample"].update(oncotree_code="COAD", tumour_type="Colon Adenocarcinoma", germline_consent="no")
    kras = {
        "annotation": {
            "gene": "KRAS",
            "transcript": "NM_004985.5",
            "consequence": ["missense_variant"],
            "hgvs_c": "c.35G>A",
            "hgvs_p": "p.(Gly12Asp)",
            "protein_change": "G12D",
        },
        "call": {"depth": 900, "alt_depth": 198, "vaf": 0.22, "filters": ["PASS"]},
        "tier": "IA",
    }
    d["somatic"] = [kras]
    d["therapies"] = [
        {
            "regimen": "cetuximab",
            "drugs": ["cetuximab"],
            "gene": "KRAS",
            "biomarker": "Mutation",
            "significance": "Resistance",
            "level": "approved",
            "on_label": True,
            "resistance": True,
            "evidence": [{"source": "FDA", "level": "approved", "citation": "FDA label ERBITUX (cetuximab)"}],
            "rank": 1,
        }
    ]
    result = build(d)
    assert result["therapies"][0]["finding_ids"] == ["S1"]
    en = flat(pdf_text(render_pdf(result, tmp_path / "res.en.pdf", "en")))
    zh = flat(pdf_text(render_pdf(result, tmp_path / "res.zh.pdf", "zh")))
    assert flat("RESISTANCE: not expected to benefit: cetuximab") in en
    assert flat("耐药：预计无获益：西妥昔单抗（cetuximab）") in zh
    assert "结肠腺癌（COAD）" in zh


def _words_outside_the_page(pdf: Path) -> list[str]:
    """Words whose box crosses the page's side margins (text overflowing a table or the frame)."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    width = float(re.search(r'<page width="([\d.]+)"', html).group(1))
    bad = []
    for x_min, x_max, word in re.findall(
        r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)', html
    ):
        if float(x_min) < 15 * 72 / 25.4 - 2 or float(x_max) > width - 15 * 72 / 25.4 + 2:
            bad.append(word)
    return bad


def test_nothing_overflows_the_page(rendered):
    for path in rendered.values():
        assert _words_outside_the_page(path) == [], path.name


def test_long_variant_lists_paginate_with_repeated_headers(tmp_path):
    d = inputs("luad_inputs")
    long_c = "c.2237_2255delinsTTGGCCAATTCGGAACCTTGGAAGG"
    d["somatic"] = [
        {
            "annotation": {
                "gene": "EGFR",
                "transcript": "NM_005228.5",
                "consequence": ["inframe_insertion"],
                "hgvs_c": f"{long_c}{i}",
                "hgvs_p": f"p.(Glu746_Ser752delinsValLeuAlaProArgGlnTrp{i})",
            },
            "call": {"depth": 1000 + i, "alt_depth": 50, "vaf": 50 / (1000 + i), "filters": ["PASS"]},
            "tier": "III",
        }
        for i in range(90)
    ]
    for lang in ("en", "zh"):
        pdf = render_pdf(build(d), tmp_path / f"long.{lang}.pdf", lang)
        pages = [flat(p) for p in pdf_text(pdf).split("\f") if p.strip()]
        header = flat(load_text(lang)("somatic.consequence"))
        with_rows = [p for p in pages if flat(long_c) in p]
        assert len(with_rows) >= 2, "the variant table should span pages"
        assert all(header in p for p in with_rows), "the table header repeats on every page it spans"
        assert sum(p.count(flat(long_c)) for p in pages) == 90
        assert _words_outside_the_page(pdf) == []


# ---------------------------------------------------------------- batch summary and the results tree
def test_batch_summary(luad, failed, tmp_path):
    out = render_batch_summary([luad, failed], tmp_path / "batch.html", costs={"S0042": 812.5, "S0057": {"total": 640}})
    html = out.read_text(encoding="utf-8")
    for needle in (
        "安化县 (Anhua County)",
        "Xinhua County",
        "S0042",
        "S0057",
        "PASS",
        "FAIL",
        "EGFR p.(Leu858Arg) 8.1% [Tier I (level A)]",
        "BRCA1 c.68_69del Pathogenic",
        "1 hotspot(s) not assessable",
        "TEST FAILED: Mean target depth = 46.2 (required ≥ 100)",
        "¥812.50",
        "¥640.00",
        "2 samples: 1 passed QC, 1 failed",
        '<td class="num">8</td>',
    ):
        assert needle in html, needle
    tables = html.split('<h2 class="chart">')[0]  # the pictures below name the sites again
    assert html.count("<h2>") == 2 and tables.count("Xinhua County") == 1  # one group per site
    zh = render_batch_summary([luad, failed], tmp_path / "batch.zh.html", language="zh").read_text(encoding="utf-8")
    assert "检测失败" in zh and "单样本成本" not in zh


def _batch_identity_with_controls(held: bool) -> dict:
    """A batch identity JSON as oncopanel.sample_identity writes it, for an NTC, COLO829 and NA12878."""
    from types import SimpleNamespace

    from oncopanel.model import Call, Variant
    from oncopanel.sample_identity import evaluate_controls, load_criteria
    from oncopanel.sample_identity.controls import RunResult

    def sample(sid, control="", material=""):
        return SimpleNamespace(sample_id=sid, batch="B1", control=control, reference_material=material)

    samples = [
        sample("S0042"), sample("S0057"), sample("NTC-1", "no_template_control"),
        sample("COLO829T", "positive_control", "COLO829"), sample("NA12878", "negative_control", "NA12878"),
    ]  # fmt: skip
    braf = Variant("chr7", 140753336, "A", "T")
    colo = RunResult("COLO829T", 2144)
    vaf = 0.41 if held else 0.68
    colo.calls[braf.key] = Call(braf, "COLO829T", "somatic", 268, round(268 * vaf), vaf)
    results = {"S0042": RunResult("S0042", 500_000), "S0057": RunResult("S0057", 400_000),
               "NTC-1": RunResult("NTC-1", 0), "COLO829T": colo, "NA12878": RunResult("NA12878", 19_724)}  # fmt: skip
    verdict = evaluate_controls(samples, results, load_criteria().controls)
    return {"batch": "B1", "batch_held": verdict.held, "reasons": verdict.reasons, "controls": verdict.as_dict()}


def test_batch_summary_shows_controls_as_controls(luad, failed, tmp_path):
    control_qc = {"COLO829T": {"metrics": {"raw_reads": 2144}}, "NA12878": {"metrics": {"raw_reads": 19724}}}
    identity = _batch_identity_with_controls(held=False)
    out = render_batch_summary([luad, failed], tmp_path / "b.html", costs={"S0042": 812.5, "S0057": 640.0},
                               batch_identities=[identity], control_qc=control_qc)  # fmt: skip
    html = out.read_text(encoding="utf-8")
    patients, _, controls = html.partition('<h2 id="run-controls">Run controls</h2>')
    assert controls, "a run-controls section"
    for sid in ("NTC-1", "COLO829T", "NA12878"):
        assert sid not in patients, f"{sid} is a control, not a patient row"
    assert "Batch B1: run controls accepted; results may be released." in controls
    rows = re.findall(r'<tr class="control">(.*?)</tr>', controls)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows]
    assert [c[:5] for c in cells] == [
        ["NTC-1", "no-template control", "—", '<span class="pass">PASS</span>', "—"],
        ["COLO829T", "positive control", "COLO829", '<span class="pass">PASS</span>', "2,144"],
        ["NA12878", "negative control", "NA12878", '<span class="pass">PASS</span>', "19,724"],
    ]
    assert cells[1][5] == "BRAF V600E: VAF 0.680, depth 268 (required VAF 0.68 ± 0.10, depth ≥ 100)"
    assert cells[0][5].startswith("reads: 0 (required ≤ 4500 (1% of the median sample&#x27;s 450000));")
    # controls are never counted among the samples, nor priced
    assert "2 samples: 1 passed QC, 1 failed, 0 held" in html
    assert html.count("¥") == 3  # two patients and the total
    assert "no patient report, no tumour type and no price; their sequencing, library and compute cost" in controls


def test_batch_summary_held_batch_and_held_sample(luad, failed, tmp_path):
    held = json.loads(json.dumps(luad))
    held["status"] = "failed"
    held["failure"] = {"stage": "held", "reasons": ["positive control COLO829T (COLO829): BRAF V600E low"],
                       "gates_failed": []}  # fmt: skip
    identity = _batch_identity_with_controls(held=True)
    html = render_batch_summary([held, failed], tmp_path / "h.html", batch_identities=[identity]).read_text()
    row = re.search(r'<tr class="held">(.*?)</tr>', html).group(1)
    assert '<span class="held">HELD</span>' in row
    assert "RESULT HELD: positive control COLO829T (COLO829): BRAF V600E low" in row
    assert "TEST FAILED" not in row and "FAIL<" not in row
    assert "2 samples: 0 passed QC, 1 failed, 1 held" in html
    assert "Batch B1: HELD — no result of this batch is released:" in html
    assert "<li>positive control COLO829T (COLO829): BRAF V600E (chr7:140753336:A&gt;T) VAF 0.410 outside" in html
    zh = render_batch_summary([held], tmp_path / "h.zh.html", language="zh", batch_identities=[identity])
    assert "暂缓发布" in zh.read_text(encoding="utf-8") and "阳性对照" in zh.read_text(encoding="utf-8")


def test_batch_summary_names_a_missing_required_control(luad, tmp_path):
    identity = _batch_identity_with_controls(held=False)
    identity["controls"]["run_controls"] = [v for v in identity["controls"]["run_controls"]
                                            if v["control"] != "positive_control"]  # fmt: skip
    identity["controls"]["missing"] = ["positive_control"]
    identity["batch_held"] = True
    html = render_batch_summary([luad], tmp_path / "m.html", batch_identities=[identity]).read_text()
    assert re.search(r"<td>positive control</td><td>—</td><td><span class=\"fail\">MISSING</span>", html)


def test_batch_summary_of_a_validation_run_without_controls(luad, tmp_path):
    identity = {"batch": "B1", "batch_held": False, "reasons": [],
                "controls": {"run_controls": [], "missing": [], "reasons": []}}  # fmt: skip
    html = render_batch_summary([luad], tmp_path / "v.html", batch_identities=[identity]).read_text()
    assert "No run control in this batch, and none required (controls.required is empty)." in html
    assert "<th>Verdict</th>" not in html


def test_identity_never_leaves_the_pdf(luad, failed, tmp_path):
    """Render a results tree as the workflow would; only the PDFs may carry identity, and no file name does."""
    ids = identities()
    for result in (luad, failed):
        sid = result["sample"]["sample_id"]
        write_result(result, tmp_path / f"{sid}.result.json")
        render_pdf(result, tmp_path / f"{sid}.zh.pdf", "zh", identity=ids[sid])
    render_batch_summary([luad, failed], tmp_path / "batch.html")
    for path in tmp_path.rglob("*"):
        for ident in ids.values():
            for field in IDENTITY_FIELDS:
                assert ident[field] not in path.name
                if path.suffix != ".pdf":
                    assert ident[field] not in path.read_text(encoding="utf-8"), (path.name, field)


def test_identity_manifest_is_validated_without_echoing_identity(tmp_path):
    records = yaml.safe_load((DATA / "identity.yaml").read_text(encoding="utf-8"))
    records[0]["resident_id"] = "43-0923"  # not an ID number
    records[1]["sample_id"] = records[0]["sample_id"]
    bad = tmp_path / "identity.yaml"
    bad.write_text(yaml.safe_dump(records, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        load_identity_manifest(bad)
    message = str(exc.value)
    assert "record 1: field resident_id" in message and "appears twice" in message
    assert "43-0923" not in message and "张秀英" not in message


def test_input_and_pipeline_failures_get_a_failed_report(tmp_path):
    d = inputs("failed_inputs")
    qc_input = {
        "sample_id": "S0057",
        "status": "failed",
        "failure_stage": "input",
        "reasons": ["S0057 lane L001: fastq_1 missing"],
        "metrics": {},
        "gates": [],
        "genes": {},
        "targets": [],
    }
    result = build(dict(d, qc=qc_input))
    validate_result(result)
    assert result["failure"] == {
        "stage": "input", "kind": "analysis_incomplete", "reasons": ["S0057 lane L001: fastq_1 missing"],
        "gates_failed": [], "next_report_date": result["failure"]["next_report_date"],
    }  # fmt: skip
    zh = flat(pdf_text(render_pdf(result, tmp_path / "input.zh.pdf", "zh")))
    for needle in ("分析未完成——实验室将重新分析", "失败环节：输入检查（测序数据缺失或无法读取）", "无需重新送检"):
        assert flat(needle) in zh
    assert "fastq_1missing" not in zh and flat("请重新送检（") not in zh  # a data fault: the lab's, not the specimen's
    luad = inputs("luad_inputs")
    crashed = build(luad, failure={"stage": "pipeline", "reasons": ["variant calling failed: see the run log"]})
    assert crashed["status"] == "failed" and crashed["hotspots"] == [] and crashed["therapies"] == []
    en = flat(pdf_text(render_pdf(crashed, tmp_path / "crash.en.pdf", "en")))
    assert flat("Failed at: analysis") in en and flat("ANALYSIS INCOMPLETE") in en
    assert flat("variant calling failed") not in en  # technical detail stays in the lab's logs
    assert "c.2573T>G" not in en


@pytest.mark.parametrize(
    "gene, biomarker, expected",
    [
        ("EGFR", "L858R", ["S2"]),
        ("EGFR", "T790M", []),
        ("EGFR", "Exon 19 Deletion", ["S1"]),
        ("EGFR", "Exon 20 Insertion", []),
        ("EGFR", "G719X", []),
        ("EGFR", "Mutation", ["S1", "S2"]),
        ("KRAS", "G12", ["S3"]),
        ("KRAS", "G13", []),
        ("BRCA1", "Loss-of-function", ["G1"]),
    ],
)
def test_therapies_link_to_the_findings_they_follow_from(gene, biomarker, expected):
    from oncopanel.report.result import _links

    def finding(fid, g, change, exon, consequence):
        return {
            "id": fid,
            "gene": g,
            "protein_change": change,
            "exon": exon,
            "consequence": [consequence],
            "variant": None,
        }

    findings = [
        finding("S1", "EGFR", "E746_A750del", "19/28", "inframe_deletion"),
        finding("S2", "EGFR", "L858R", "21/28", "missense_variant"),
        finding("S3", "KRAS", "G12C", "2/5", "missense_variant"),
        finding("G1", "BRCA1", "E23Vfs*17", "2/23", "frameshift_variant"),
    ]
    assert _links({"gene": gene, "biomarker": biomarker}, findings) == expected


def test_turnaround_and_percentages():
    from oncopanel.report.batch import turnaround_days
    from oncopanel.report.pdf import pct

    assert turnaround_days("2026-11-04", "2026-11-12") == 8
    assert turnaround_days("", "2026-11-12") is None
    assert (pct(0.081), pct(0.0125), pct(None)) == ("8.1%", "1.2%", "—")


def test_no_germline_statement_when_brca_was_not_tested(tmp_path):
    d = inputs("luad_inputs")
    d["sample"]["panels"] = "EGFR_KRAS"
    d["assay"]["genes_tested"] = ["EGFR", "KRAS"]
    d["germline"] = []
    for lang in ("en", "zh"):
        text = flat(pdf_text(render_pdf(build(d), tmp_path / f"nobrca.{lang}.pdf", lang)))
        t = load_text(lang)
        assert flat(t("germline.not_tested")) in text
        assert flat(t("germline.none")) not in text
        assert (
            flat(t("not_tested.genes_not_on_panels", genes="ALK, BRAF, BRCA1, BRCA2, NRAS, PIK3CA, PTEN, TP53")) in text
        )


@pytest.mark.parametrize(
    ("cause", "summary", "detail"),
    [
        ("library_damage", "BRAF p.V600 (c.1798-1799): possible library damage",
         "alternate reads in one read orientation only, as FFPE/oxidative library damage shows"),
        ("paralogue", "BRAF p.V600 (c.1798-1799): pseudogene reads",
         "alternate reads carry the signature of a pseudogene or paralogue"),
    ],
)  # fmt: skip
def test_a_not_assessable_hotspot_says_why(tmp_path, cause, summary, detail):
    """Not assessable for library damage or pseudogene reads is never explained as low depth."""
    d = copy.deepcopy(inputs("luad_inputs"))
    for h in d["hotspots"]:
        if h["status"] == "not_assessable":
            h.update(depth=900, cause=cause, reason=f"{cause} (engine's words)")
    result = build(d)
    validate_result(result)
    assert next(h for h in result["hotspots"] if h["status"] == "not_assessable")["cause"] == cause
    text = pdf_text(render_pdf(result, tmp_path / "r.pdf", "en", centre=CENTRE))
    assert_in([summary, detail], text)
    assert "insufficient depth" not in text and "depth too low" not in text
