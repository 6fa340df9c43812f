"""The typed result model and the reporting decisions it carries: the JSON records what the report shows, the PDF
and the batch summary lay out only that, and results of schema 1.0 still load, render and verify."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from oncopanel.cli import main
from oncopanel.errors import InputError
from oncopanel.release import clinical_digest
from oncopanel.report import (
    ReportingPolicy,
    SampleResult,
    build_result,
    build_sample_result,
    decided,
    load_result,
    render_batch_summary,
    render_pdf,
    result_sha256,
    validate_result,
    write_result,
)
from oncopanel.report.text import load_text

DATA = Path(__file__).parent / "data" / "report"
OLD = DATA / "result_v1.0.json"  # written by the renderer-decides code (schema 1.0), kept as it was
OLD_FAILED = DATA / "failed_result_v1.0.json"

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")


def inputs(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def build(d: dict, **kw) -> dict:
    kw = dict(assay=d["assay"], report_id=d["report_id"], reported_date=d["reported_date"]) | kw
    return build_result(
        d["sample"], d["qc"], d["somatic"], d["germline"], d["hotspots"], d["therapies"], d["provenance"], **kw
    )


def text_of(pdf: Path) -> str:
    raw = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return re.sub(r"\s+", "", raw)


def flat(s: str) -> str:
    return re.sub(r"\s+", "", s)


@pytest.fixture(scope="module")
def luad() -> dict:
    return build(inputs("luad_inputs"))


def by_id(items: list[dict], key: str = "id") -> dict[str, dict]:
    return {i[key]: i["reporting"] for i in items}


# ---------------------------------------------------------------- the model
@pytest.mark.parametrize("name", ["luad_inputs", "failed_inputs"])
def test_the_model_gives_the_document_back_exactly(name):
    doc = build(inputs(name))
    model = SampleResult.from_dict(doc)
    assert model.to_dict() == doc
    assert result_sha256(model) == result_sha256(doc)


@pytest.mark.parametrize("path", [OLD, OLD_FAILED])
def test_a_1_0_result_loads_as_the_model_and_keeps_its_checksum(path):
    model = load_result(path)
    assert isinstance(model, SampleResult) and model.schema_version == "1.0" and model.reporting is None
    assert result_sha256(model) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "reporting" not in json.dumps(model.to_dict())


def test_build_sample_result_is_the_typed_model(luad):
    d = inputs("luad_inputs")
    model = build_sample_result(
        d["sample"], d["qc"], d["somatic"], d["germline"], d["hotspots"], d["therapies"], d["provenance"],
        assay=d["assay"], report_id=d["report_id"], reported_date=d["reported_date"],
    )  # fmt: skip
    assert model.to_dict() == luad
    assert [f.id for f in model.summary_findings()] == ["S1", "G1"]
    assert [t.regimen for t in model.summary_therapies("G1")] == ["olaparib"]
    assert model.qc.gates[0].passed is True and model.somatic[0].variant and model.somatic[0].variant.key


# ---------------------------------------------------------------- the decisions, in the JSON
def test_the_result_records_what_the_report_shows_and_why(luad):
    assert luad["schema_version"] == "1.2"
    assert by_id(luad["somatic"]) == {
        "S1": {"shown": True, "in_summary": True, "reason": "actionable_tier"},  # EGFR L858R, Tier IA
        "S2": {"shown": True, "in_summary": False, "reason": "not_actionable"},  # TP53, Tier III
        "S3": {"shown": False, "in_summary": False, "reason": "artefact_filter"},  # pon_artefact, strand_bias
    }
    assert by_id(luad["germline"]["findings"]) == {
        "G1": {"shown": True, "in_summary": True, "reason": "reported_class"},
        "G2": {"shown": True, "in_summary": False, "reason": "uncertain_significance"},
    }
    hotspots = {h["label"]: h["reporting"] for h in luad["hotspots"]}
    assessable = [label for label, d in hotspots.items() if d["in_summary"]]
    assert len(assessable) == 1 and hotspots[assessable[0]]["reason"] == "not_assessable"
    assert all(d["shown"] for d in hotspots.values())
    olaparib = next(t for t in luad["therapies"] if t["regimen"] == "olaparib")
    assert olaparib["reporting"] == {"shown": True, "in_summary": True, "reason": "approval", "summary_for": ["G1"]}
    assert luad["reporting"] == {
        "policy": {
            "shown_levels": ["approved", "A", "B"],
            "summary_resistance_levels": ["approved", "A"],
            "summary_max": 6,
            "low_coverage_fraction": 0.95,
            "actionable_tiers": ["IA", "IB", "IIC", "IID"],
            "reported_germline": ["pathogenic", "likely_pathogenic"],
            "germline_genes": ["BRCA1", "BRCA2"],
        },
        "germline_section": "reported",
        "low_coverage_genes": ["BRAF"],  # 62% of BRAF at 100×
    }


def test_a_failed_result_decides_nothing_clinical():
    failed = build(inputs("failed_inputs"))
    assert failed["reporting"]["germline_section"] == "not_reported"
    assert failed["reporting"]["low_coverage_genes"] == []


def test_germline_section_states():
    d = inputs("luad_inputs")
    d["sample"]["germline_consent"] = "no"
    assert build(d)["reporting"]["germline_section"] == "withheld"
    d = inputs("luad_inputs")
    d["assay"]["genes_tested"], d["germline"] = ["EGFR", "KRAS"], []
    assert build(d)["reporting"]["germline_section"] == "not_tested"


def test_a_therapy_below_the_shown_levels_stays_in_the_json_and_is_counted(tmp_path):
    d = inputs("luad_inputs")
    level_c = {**d["therapies"][0], "regimen": "trialdrug", "drugs": ["trialdrug"], "level": "C", "evidence": [],
               "approvals": [], "on_label": False, "rank": 9}  # fmt: skip
    d["therapies"].append(level_c)
    result = build(d)
    row = next(t for t in result["therapies"] if t["regimen"] == "trialdrug")
    assert row["reporting"] == {"shown": False, "in_summary": False, "reason": "below_shown_levels", "summary_for": []}
    text = text_of(render_pdf(result, tmp_path / "c.pdf", "en"))
    assert "trialdrug" not in text
    assert flat(load_text("en")("therapy.lower_levels", n=1)) in text


# ---------------------------------------------------------------- the policy is data; the renderer follows the result
def test_the_summary_maximum_comes_from_the_policy_and_reaches_the_pdf(tmp_path):
    result = build(inputs("luad_inputs"), policy=ReportingPolicy(summary_max=2))
    egfr = [t for t in result["therapies"] if "S1" in t["finding_ids"]]
    assert [t["reporting"]["summary_for"] for t in egfr] == [["S1"], ["S1"], [], [], []]
    assert {t["reporting"]["reason"] for t in egfr[2:]} == {"beyond_summary_max"}
    assert result["reporting"]["policy"]["summary_max"] == 2
    text = text_of(render_pdf(result, tmp_path / "max2.pdf", "en"))
    assert flat(load_text("en")("summary.more_options", n=3)) in text
    default = text_of(render_pdf(build(inputs("luad_inputs")), tmp_path / "max6.pdf", "en"))
    assert flat(load_text("en")("summary.more_options", n=3)) not in default


def test_the_low_coverage_flag_comes_from_the_policy(tmp_path):
    t = load_text("en")
    flagged = text_of(render_pdf(build(inputs("luad_inputs")), tmp_path / "flag.pdf", "en"))
    assert flat(t("summary.low_coverage_genes", genes="BRAF")) in flagged and flat(t("coverage.low")) in flagged
    lenient = build(inputs("luad_inputs"), policy=ReportingPolicy(low_coverage_fraction=0.5))
    assert lenient["reporting"]["low_coverage_genes"] == []
    text = text_of(render_pdf(lenient, tmp_path / "lenient.pdf", "en"))
    assert flat(t("summary.low_coverage_genes", genes="BRAF")) not in text and flat(t("coverage.low")) not in text


def test_the_pdf_lays_out_what_the_result_says_and_decides_nothing(luad, tmp_path):
    edited = copy.deepcopy(luad)
    s2 = next(v for v in edited["somatic"] if v["id"] == "S2")
    s2["reporting"] = {"shown": False, "in_summary": False, "reason": "artefact_filter"}
    edited["reporting"]["low_coverage_genes"] = ["TP53"]
    validate_result(edited)
    before = text_of(render_pdf(luad, tmp_path / "a.pdf", "en"))
    after = text_of(render_pdf(edited, tmp_path / "b.pdf", "en"))
    assert flat(s2["hgvs_c"]) in before and flat(s2["hgvs_c"]) not in after
    t = load_text("en")
    assert flat(t("somatic.filtered", n=2)) in after
    assert flat(t("summary.low_coverage_genes", genes="TP53")) in after


def test_the_batch_summary_names_what_the_pdf_summary_names(luad, tmp_path):
    html = render_batch_summary([luad], tmp_path / "a.html").read_text()
    assert "EGFR p.(Leu858Arg)" in html and "BRCA1" in html
    edited = copy.deepcopy(luad)
    next(v for v in edited["somatic"] if v["id"] == "S1")["reporting"]["in_summary"] = False
    html = render_batch_summary([edited], tmp_path / "b.html").read_text()
    assert "EGFR p.(Leu858Arg)" not in html and "BRCA1" in html


# ---------------------------------------------------------------- schema versions
def test_schema_1_1_requires_the_decisions_and_1_0_refuses_them(luad):
    missing = copy.deepcopy(luad)
    del missing["therapies"][0]["reporting"]
    with pytest.raises(InputError, match=r"/therapies/0: 'reporting' is a required property"):
        validate_result(missing)
    old_with = copy.deepcopy(luad)
    old_with["schema_version"] = "1.0"
    with pytest.raises(InputError, match=r"/somatic/0: False schema does not allow"):
        validate_result(old_with)
    unknown = dict(copy.deepcopy(luad), schema_version="2.0")
    with pytest.raises(InputError, match="schema_version"):
        validate_result(unknown)


def test_a_1_0_result_renders_as_its_1_1_equivalent(tmp_path, luad):
    """Decided when read, with the default policy: the same report apart from the result checksum."""
    from oncopanel.report.result import result_sha256

    def without(text: str, digest: str) -> str:  # the checksum, full and short (a regex over the flattened text
        return text.replace(digest, "").replace(digest[:16], "")  # would also eat hex letters of nearby words)

    old_sha, new_sha = hashlib.sha256(OLD.read_bytes()).hexdigest(), result_sha256(luad)
    for lang in ("en", "zh"):
        old = text_of(render_pdf(load_result(OLD), tmp_path / f"old.{lang}.pdf", lang))
        new = text_of(render_pdf(luad, tmp_path / f"new.{lang}.pdf", lang))
        assert old_sha in old
        assert without(old, old_sha) == without(new, new_sha)
    assert decided(load_result(OLD)).to_dict() == {**luad, "schema_version": "1.0"}


def test_oncopanel_verify_accepts_a_1_0_result_and_its_pdf(tmp_path, capsys):
    result = tmp_path / "result" / "S0042.result.json"
    result.parent.mkdir()
    (tmp_path / "reports").mkdir()
    shutil.copyfile(OLD, result)
    pdf = render_pdf(load_result(result), tmp_path / "reports" / "S0042.pdf", "en")
    assert main(["verify", str(result)]) == 0
    assert main(["verify", str(pdf)]) == 0
    assert f"matches {result}" in capsys.readouterr().out
    doc = json.loads(result.read_text())
    doc["somatic"][0]["vaf"] = 0.5  # the result changed after its PDF was rendered
    result.write_text(json.dumps(doc))
    assert main(["verify", str(pdf)]) == 1


def test_a_rerun_after_the_upgrade_says_the_same_as_a_1_0_release(luad):
    """A release made before decisions were recorded is not 'changed' by a re-run that says the same."""
    assert clinical_digest(load_result(OLD)) == clinical_digest(luad)
    stricter = build(inputs("luad_inputs"), policy=ReportingPolicy(summary_max=2))
    assert clinical_digest(stricter) != clinical_digest(luad)


def test_write_result_takes_the_model(tmp_path, luad):
    model = SampleResult.from_dict(luad)
    sha = write_result(model, tmp_path / "r.json")
    assert sha == hashlib.sha256((tmp_path / "r.json").read_bytes()).hexdigest() == result_sha256(luad)


def test_a_1_0_release_is_left_as_it_is_by_a_1_1_rerun_that_says_the_same(tmp_path, luad):
    from oncopanel.release import Release, draft_paths

    def draft_of(doc: dict) -> dict[str, Path]:
        paths = {k: Path(v) for k, v in draft_paths(tmp_path, "S0042").items()}
        for key, path in paths.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}\n" if key != "result" else json.dumps(doc))
        return paths

    def render(result_json: Path, pdf: Path) -> None:
        pdf.write_bytes(result_json.read_bytes())  # the PDF's content does not matter here

    log = tmp_path / "audit.log"
    first = Release(tmp_path, "S0042").offer(draft_of(json.loads(OLD.read_text())), render, log)
    assert (first.action, first.version) == ("released", 1)
    delivered = (tmp_path / "result" / "S0042.result.json").read_bytes()
    again = Release(tmp_path, "S0042").offer(draft_of(luad), render, log)
    assert (again.action, again.version) == ("unchanged", 1)
    assert (tmp_path / "result" / "S0042.result.json").read_bytes() == delivered
    assert load_result(tmp_path / "result" / "S0042.result.json").schema_version == "1.0"
    changed = Release(tmp_path, "S0042").offer(
        draft_of(build(inputs("luad_inputs"), policy=ReportingPolicy(summary_max=2))), render, log
    )
    assert changed.action == "pending_amendment"


# the report examples as shipped before schema 1.1 (reports/examples/ has newer ones): results of the old version
# must still load, render and verify
EXAMPLES = Path(__file__).parent / "data" / "report" / "demo_1.0"


@pytest.mark.parametrize("sample", ["DEMO-T01", "DEMO-T03", "NA12878"])
def test_the_shipped_1_0_examples_load_and_verify(sample):
    path = EXAMPLES / f"demo_{sample}.result.json"
    model = load_result(path)
    assert model.schema_version == "1.0" and model.to_dict() == json.loads(path.read_text())
    assert main(["verify", str(EXAMPLES / f"demo_{sample}.pdf"), "--result", str(path)]) == 0


def test_decisions_reproduce_what_the_shipped_1_0_report_shows():
    """DEMO-T03's PDF was laid out by the renderer's own rules before 1.1; the decisions give the same selection."""
    model = decided(load_result(EXAMPLES / "demo_DEMO-T03.result.json"))
    text = text_of(EXAMPLES / "demo_DEMO-T03.pdf")
    t = load_text("en")
    (finding,) = model.summary_findings()
    more = len(model.therapies_for(finding.id)) - len(model.summary_therapies(finding.id))
    hidden = sum(1 for th in model.therapies if th.reporting and not th.reporting.shown)
    assert (more, hidden) == (37, 16)
    assert flat(t("summary.more_options", n=more)) in text
    assert flat(t("therapy.lower_levels", n=hidden)) in text
    for th in model.summary_therapies(finding.id):
        assert flat(th.regimen.split(" + ")[0]) in text
