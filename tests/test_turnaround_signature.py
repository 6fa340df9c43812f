"""Receipt → signature (issue 19): the batch summary, its turnaround picture and the cost ledger read the signing
time from the signed version's ``signoff`` block; a sample not signed yet says so and gets no number."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import xml.etree.ElementTree as ET

import pytest
from test_report import build, inputs
from test_web import base_trees, env  # noqa: F401 (the review application's fixtures: a synthesised tree, users)

from oncopanel.batch.lab import load_lab_config
from oncopanel.batch.ledger import (
    NOT_SIGNED,
    batch_ledger,
    ledger_by_run,
    ledger_by_site,
    read_ledger,
    with_signatures,
    write_ledger,
)
from oncopanel.cli import main
from oncopanel.report.batch import regenerate_summary, render_batch_summary, signature_days, signed_date
from oncopanel.report.model import as_result
from oncopanel.report.result import write_result

SVG_NS = "{http://www.w3.org/2000/svg}"
ANHUA, XINHUA = "安化县 (Anhua County)", "Xinhua County"


def signed(doc: dict, at: str) -> dict:
    """The result as the review application releases it signed (oncopanel.web.review.signoff_block's keys)."""
    doc = copy.deepcopy(doc)
    doc["signoff"] = {"reviewed_by": "Dr Li", "reviewed_at": at, "signed_by": "Dr Wang", "signed_at": at,
                      "based_on_version": 1, "decisions": [], "comments": [], "turnaround_days": None}  # fmt: skip
    doc["reported_date"] = at[:10]
    return doc


@pytest.fixture(scope="module")
def luad() -> dict:
    return build(inputs("luad_inputs"))  # S0042, Anhua, received 2026-11-04


@pytest.fixture(scope="module")
def failed() -> dict:
    return build(inputs("failed_inputs"))  # S0057, Xinhua, received 2026-11-05


def _signature_lines(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", m) for m in re.findall(r'<p class="signature">(.*?)</p>', html)]


def _cells(html: str, sample_id: str) -> list[str]:
    row = re.search(rf"<tr[^>]*><td>{sample_id}</td>(.*?)</tr>", html).group(1)
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]


def test_signed_date_and_days_come_from_the_signoff_block(luad):
    assert signed_date(as_result(luad)) == "" and signature_days(as_result(luad)) is None
    s = as_result(signed(luad, "2026-11-10T09:30:00+00:00"))
    assert signed_date(s) == "2026-11-10" and signature_days(s) == 6


def test_summary_per_sample_site_and_batch(tmp_path, luad, failed):
    html = render_batch_summary([signed(luad, "2026-11-10T09:30:00+00:00"), failed], tmp_path / "s.html",
                                promised_days=7).read_text(encoding="utf-8")  # fmt: skip
    # per sample: the signature date and days; the unsigned one says so and has no number
    assert _cells(html, "S0042")[-2:] == ["2026-11-10", "6"]
    assert _cells(html, "S0057")[-2:] == ["not signed yet", "—"]
    assert _signature_lines(html) == [  # sites in code order: Xinhua, then 安化县, then the batch
        "Receipt → signed report: none of 1 signed yet",
        "Receipt → signed report: 1 of 1 signed; median 6 days, longest 6 days; 1 of 1 within the promised 7 days",
        "Receipt → signed report: 1 of 2 signed; median 6 days, longest 6 days; 1 of 1 within the promised 7 days",
    ]


def test_summary_counts_a_late_signature(tmp_path, luad, failed):
    results = [signed(luad, "2026-11-10T09:30:00+00:00"), signed(failed, "2026-11-13T16:00:00+00:00")]
    html = render_batch_summary(results, tmp_path / "s.html", promised_days=7).read_text(encoding="utf-8")
    assert _signature_lines(html)[-1] == (
        "Receipt → signed report: 2 of 2 signed; median 7 days, longest 8 days; 1 of 2 within the promised 7 days"
    )
    svg = next(ET.fromstring(s) for s in re.findall(r"<svg .*?</svg>", html, re.S) if "Turnaround by site" in s)
    dots = {c.find(f"{SVG_NS}title").text: c.get("fill") for c in svg.iter(f"{SVG_NS}circle")}
    assert dots == {"S0042: 6 d": "#2E7D32", "S0057: 8 d": "#C62828"}  # filled: signed; red: past the promise


def test_summary_without_a_promise_and_in_chinese(tmp_path, luad):
    html = render_batch_summary([signed(luad, "2026-11-10T09:30:00+00:00")], tmp_path / "zh.html",
                                language="zh").read_text(encoding="utf-8")  # fmt: skip
    assert _signature_lines(html)[-1] == "接收至签发报告：1 例中已签发 1 例；中位数 6 天，最长 6 天"


def _ledger(luad: dict, failed: dict) -> list:
    members = [("S0042", ANHUA, "2026-11-04", ("EGFR_KRAS",)), ("S0057", XINHUA, "2026-11-05", ("EGFR_KRAS",))]
    reported = {"S0042": dt.date(2026, 11, 12), "S0057": dt.date(2026, 11, 12)}
    return batch_ledger(members, "B2026-11", load_lab_config(), [], reported)


def test_ledger_rows_and_totals_say_not_signed_until_signed(tmp_path, luad, failed):
    rows = _ledger(luad, failed)
    unsigned = [(NOT_SIGNED, None, None)] * 2
    assert [(r.signed_date, r.signature_turnaround_days, r.signed_on_time) for r in rows] == unsigned
    path = write_ledger(rows, tmp_path / "ledger.tsv")
    header, first = path.read_text().splitlines()[:2]
    assert header.split("\t")[-3:] == ["signed_date", "signature_turnaround_days", "signed_on_time"]
    assert first.split("\t")[-3:] == [NOT_SIGNED, "", ""]  # no number for an unsigned report
    totals = ledger_by_run(rows)[0]
    assert (totals["signed"], totals["not_signed"], totals["median_signature_days"]) == (0, 2, "—")

    rows = with_signatures(rows, {"S0042": dt.date(2026, 11, 10), "S0057": dt.date(2026, 11, 13)})
    by_id = {r.sample_id: r for r in rows}
    assert (by_id["S0042"].signature_turnaround_days, by_id["S0042"].signed_on_time) == (6, True)
    # due: received 11-05 + the routine 7 days = 11-12; signed 11-13 is late
    assert (by_id["S0057"].signature_turnaround_days, by_id["S0057"].signed_on_time) == (8, False)
    totals = ledger_by_run(rows)[0]
    assert {k: totals[k] for k in ("signed", "not_signed", "median_signature_days", "worst_signature_days",
                                   "signed_late")} == {"signed": 2, "not_signed": 0, "median_signature_days": "7",
                                                       "worst_signature_days": 8, "signed_late": 1}  # fmt: skip
    sites = {s["site"]: s for s in ledger_by_site(rows)}
    assert sites[XINHUA]["signed_late"] == 1 and sites[ANHUA]["worst_signature_days"] == 6
    # the TSV reads back as written
    assert read_ledger(write_ledger(rows, tmp_path / "signed.tsv")) == rows


def test_oncopanel_summary_rewrites_summary_and_ledger_after_signing(tmp_path, luad, failed, capsys):
    """The workflow's tree (drafts, delivered results, summary in Chinese, ledger); one sample then signed."""
    root = tmp_path / "results"
    for d in ("drafts/result", "result", "batch"):
        (root / d).mkdir(parents=True)
    for doc in (luad, failed):
        sid = doc["sample"]["sample_id"]
        write_result(doc, root / "drafts" / "result" / f"{sid}.result.json")
        write_result(doc, root / "result" / f"{sid}.result.json")
    write_ledger(_ledger(luad, failed), root / "batch" / "ledger.tsv")
    render_batch_summary([luad, failed], root / "batch" / "summary.html", language="zh", promised_days=7)
    assert "尚未签发" in (root / "batch" / "summary.html").read_text(encoding="utf-8")

    write_result(signed(luad, "2026-11-10T09:30:00+00:00"), root / "result" / "S0042.result.json")  # released signed
    assert main(["summary", "--results", str(root)]) == 0
    assert "summary.html" in capsys.readouterr().out
    html = (root / "batch" / "summary.html").read_text(encoding="utf-8")
    assert '<html lang="zh">' in html  # the workflow's language kept
    assert _signature_lines(html)[-1] == (
        "接收至签发报告：2 例中已签发 1 例；中位数 6 天，最长 6 天；1 例中 1 例在承诺的 7 天内"
    )
    rows = {r.sample_id: r for r in read_ledger(root / "batch" / "ledger.tsv")}
    assert (rows["S0042"].signed_date, rows["S0042"].signature_turnaround_days) == ("2026-11-10", 6)
    assert rows["S0057"].signed_date == NOT_SIGNED and rows["S0057"].signature_turnaround_days is None
    assert rows["S0042"].total > 0  # the costs the workflow computed are kept
    assert json.loads((root / "result" / "S0057.result.json").read_text()).get("signoff") is None


def test_oncopanel_summary_refuses_a_directory_without_results(tmp_path):
    assert main(["summary", "--results", str(tmp_path)]) != 0


def test_a_sample_signed_in_the_application_shows_the_applications_days(env):  # noqa: F811
    """End to end: signed through the review application, the regenerated summary shows that signature and the
    same receipt → signature days as the application (/turnaround), the others not signed yet."""
    from test_web import sign_flow

    from oncopanel.web.app import turnaround

    s = sign_flow(env, "SYN-01-S001")
    days = turnaround(s)
    assert days is not None and s.signed_at is not None
    summary, ledger = regenerate_summary(env.root / "B1")
    html = summary.read_text(encoding="utf-8")
    assert ledger is None  # the synthesised tree has no workflow ledger
    assert _cells(html, "SYN-01-S001")[-2:] == [s.signed_at.date().isoformat(), str(days)]
    for other in ("SYN-01-S002", "SYN-01-S003", "SYN-01-S004"):
        assert _cells(html, other)[-2:] == ["not signed yet", "—"]
    assert _signature_lines(html)[-1].startswith(f"Receipt → signed report: 1 of 4 signed; median {days} days")
