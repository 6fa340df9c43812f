"""The batch summary's pictures (inline SVG, offline) and the demo's dates relative to the day it runs."""

from __future__ import annotations

import importlib.util
import re
import sys
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from conftest import ROOT
from test_report import build, inputs

from oncopanel.report.batch import render_batch_summary

SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def summary(tmp_path_factory) -> str:
    luad, failed = build(inputs("luad_inputs")), build(inputs("failed_inputs"))
    out = tmp_path_factory.mktemp("batch") / "summary.html"
    return render_batch_summary([luad, failed], out, promised_days=7).read_text(encoding="utf-8")


def _charts(html: str) -> dict[str, ET.Element]:
    """Each picture's SVG, parsed (so well-formed), by its title."""
    charts = {}
    for svg in re.findall(r"<svg .*?</svg>", html, re.S):
        root = ET.fromstring(svg)
        charts[root.find(f"{SVG_NS}title").text] = root
    return charts


def _marks(svg: ET.Element) -> dict[str, str]:
    """Tooltip text -> fill colour of every mark (rect or circle) that carries a <title>."""
    return {el.find(f"{SVG_NS}title").text: el.get("fill") for el in svg.iter()
            if el.tag in (f"{SVG_NS}rect", f"{SVG_NS}circle") and el.find(f"{SVG_NS}title") is not None}  # fmt: skip


def test_the_summary_draws_four_pictures_offline(summary):
    charts = _charts(summary)
    assert len(charts) == 4
    # nothing fetched: no script, no external reference, no CDN
    assert "<script" not in summary and not re.search(r"(src|href)=", summary)
    assert set(re.findall(r"https?://[^\"' ]+", summary)) == {"http://www.w3.org/2000/svg"}


def test_depth_bars_are_the_samples_depths_against_their_gate(summary):
    marks = _marks(_charts(summary)["Mean target depth per sample against its depth gate (dashed)"])
    # S0042 passed its 100x gate at 851.2x (green); S0057 failed at 46.2x (red): the QC JSON's values
    assert marks == {"S0042: 851.2x (gate >= 100x)": "#2E7D32", "S0057: 46.2x (gate >= 100x)": "#C62828"}


def test_gate_grid_shows_each_gate_of_each_sample(summary):
    marks = _marks(_charts(summary)["QC gates across the batch"])
    assert marks["S0057 mean_target_depth = 46.2 (>= 100)"] == "#C62828"
    assert marks["S0057 fraction_target_bases_ge_100x = 0.2712 (>= 0.8)"] == "#C62828"
    assert marks["S0042 q30_rate = 0.9213 (>= 0.75)"] == "#2E7D32"
    assert len(marks) == 12  # 2 samples x 6 gates


def test_vaf_dots_are_the_summary_findings(summary):
    marks = _marks(_charts(summary)["Variant allele fraction of the findings named in each summary"])
    # the failed sample has no findings to draw; germline and somatic are told apart
    assert marks == {"S0042: EGFR p.(Leu858Arg) 8.1%": "#C62828", "S0042: BRCA1 c.68_69del 47.1%": "#1F4E79"}


def test_turnaround_dots_by_site_against_the_promise(summary):
    svg = _charts(summary)[
        "Turnaround by site (days from receipt to the signed report; open circle: not signed yet, days to the draft)"
    ]
    # received 2026-11-04 / 11-05, reported 11-12: 8 days is late against 7, 7 is on time; neither is signed yet,
    # so both are open circles (no fill) drawn at the draft's days (tests/test_turnaround_signature.py: signed)
    assert _marks(svg) == {"S0042: not signed yet (8 d)": "none", "S0057: not signed yet (7 d)": "none"}
    strokes = {el.find(f"{SVG_NS}title").text: el.get("stroke") for el in svg.iter(f"{SVG_NS}circle")}
    assert strokes == {"S0042: not signed yet (8 d)": "#C62828", "S0057: not signed yet (7 d)": "#2E7D32"}
    assert "promised: 7 days" in "".join(svg.itertext())


def test_chinese_summary_labels_its_pictures_in_chinese(tmp_path):
    luad = build(inputs("luad_inputs"))
    html = render_batch_summary([luad], tmp_path / "zh.html", language="zh").read_text(encoding="utf-8")
    assert "各样本目标区域平均深度与深度门槛（虚线）" in _charts(html)


# ---- the demo's dates -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def make_demo():
    spec = importlib.util.spec_from_file_location("make_demo_dates", ROOT / "scripts" / "make_demo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_demo_dates"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_demo_dates_count_back_from_the_day_it_runs(make_demo, tmp_path):
    today = date(2027, 3, 1)
    rows = make_demo.sheet_rows([*make_demo.SIMULATED, make_demo.NTC], tmp_path, pooled=True, today=today)
    received = {date.fromisoformat(r["received_date"]) for r in rows}
    assert received and all(timedelta(days=1) <= today - d <= timedelta(days=4) for d in received)
    make_demo.write_identity(tmp_path / "identity.yaml", make_demo.PATIENTS, make_demo.SIMULATED, today)
    text = (tmp_path / "identity.yaml").read_text(encoding="utf-8")
    collected = [date.fromisoformat(d) for d in re.findall(r"collection_date: '([0-9-]+)'", text)]
    assert collected and all(timedelta(days=1) <= today - d <= timedelta(days=10) for d in collected)
    # receipt follows collection for every sample; birth dates (in the resident IDs) do not move
    pairs = re.findall(r"collection_date: '([0-9-]+)'\n  receipt_date: '([0-9-]+)'", text)
    assert len(pairs) == len(make_demo.SIMULATED) and all(collected < received for collected, received in pairs)
    assert "1958-03-14" in text


def test_same_day_same_bytes(make_demo, tmp_path):
    day = date(2027, 3, 1)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        make_demo.write_dated_manifests(tmp_path / name, day)
    for f in ("samples.tsv", "identity.yaml"):
        # the plasma sample's own FASTQ paths name the output directory; nothing else may differ
        a = (tmp_path / "a" / f).read_bytes().replace(str(tmp_path / "a").encode(), b"OUT")
        assert a == (tmp_path / "b" / f).read_bytes().replace(str(tmp_path / "b").encode(), b"OUT")
    (tmp_path / "c").mkdir()
    make_demo.write_dated_manifests(tmp_path / "c", day + timedelta(days=1))
    assert (tmp_path / "c" / "samples.tsv").read_bytes() != (tmp_path / "a" / "samples.tsv").read_bytes()
