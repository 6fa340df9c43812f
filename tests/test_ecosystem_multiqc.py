"""oncopanel's QC in MultiQC: the custom-content tables (oncopanel/multiqc.py) as MultiQC 1.14 (Debian 12) reads
them into multiqc_data/, and the demo's MultiQC report holding every oncopanel section."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import LOCAL_RUN_ENV, ROOT, VENV_BIN

from oncopanel.hotspots import write_hotspot_table
from oncopanel.model import HotspotResult
from oncopanel.multiqc import write_custom_content
from oncopanel.report.workflow_report import link_delivered_pdfs, write_demultiplexing_pages

MULTIQC = shutil.which("multiqc")
DEMO = ROOT / "results" / "demo"


def _qc(sample: str, status: str, depth: float | None) -> dict:
    if depth is None:  # failed its input check
        return {"sample_id": sample, "status": "failed", "failure_stage": "input", "reasons": ["empty FASTQ"],
                "metrics": {}, "gates": [], "genes": {}, "targets": []}  # fmt: skip
    gates = [
        {"metric": "mean_target_depth", "op": ">=", "threshold": 100.0, "value": depth, "pass": depth >= 100},
        {"metric": "fraction_target_bases_ge_100x", "op": ">=", "threshold": 0.8, "value": 0.9, "pass": True},
    ]
    genes = {"EGFR": {"target_bases": 1000, "mean_depth": depth, "fraction_ge_100x": 0.9, "fraction_ge_250x": 0.5},
             "KRAS": {"target_bases": 300, "mean_depth": depth / 2, "fraction_ge_100x": 0.4, "fraction_ge_250x": 0.1}}
    return {"sample_id": sample, "status": status, "failure_stage": "" if status == "pass" else "qc",
            "reasons": [] if status == "pass" else [f"mean_target_depth = {depth} (required >= 100)"],
            "metrics": {"mean_target_depth": depth}, "gates": gates, "genes": genes, "targets": []}  # fmt: skip


def _hotspot(hid: str, status: str, depth: int, cause: str | None = None) -> HotspotResult:
    return HotspotResult(hid, hid.split("_")[0], hid.split("_")[1], status, depth, 0, None, None, None, 0.05,
                         cause=cause)  # fmt: skip


@pytest.fixture
def qc_inputs(tmp_path) -> dict:
    qc_dir = tmp_path / "in"
    qc_dir.mkdir()
    docs = {"T1": _qc("T1", "pass", 640.5), "T2": _qc("T2", "fail", 55.0), "NTC": _qc("NTC", "failed", None)}
    qc = []
    for sample, doc in docs.items():
        (qc_dir / f"{sample}.qc.json").write_text(json.dumps(doc))
        qc.append(qc_dir / f"{sample}.qc.json")
    hotspots = qc_dir / "T1.hotspots.tsv"
    write_hotspot_table([_hotspot("KRAS_G12", "detected", 700), _hotspot("EGFR_T790M", "not_detected", 650),
                         _hotspot("EGFR_C797S", "not_assessable", 40, "depth"),
                         _hotspot("BRAF_V600", "not_assessable", 0, "depth")],  # not on T1's panels
                        hotspots, sample_id="T1")  # fmt: skip
    identity = qc_dir / "B1.batch_identity.json"
    identity.write_text(json.dumps({
        "batch": "B1", "batch_held": False, "held_samples": ["T2"],
        "identity": {"flags": ["T2 and B2 (same patient P2) do not match"], "pairs": [], "samples_held": ["T2"]},
        "contamination": {"T1": {"fraction": 0.004, "ci_high": 0.01, "acceptable": True, "gating": False},
                          "T2": {"fraction": None, "ci_high": None, "acceptable": None, "gating": False}},
        "controls": {"held": False, "missing": [], "run_controls": [
            {"sample_id": "NTC", "control": "no_template_control", "material": "", "verdict": "pass",
             "checks": [{"criterion": "reads", "required": "<= 1000", "observed": "0", "passed": True,
                         "reason": ""}]}]},
    }))  # fmt: skip
    demux = qc_dir / "demux_report.json"
    demux.write_text(json.dumps({"read_pairs": 1000, "assigned": {"T1": 600, "T2": 300, "NTC": 0},
                                 "corrected": {"T1": 6, "T2": 3, "NTC": 0}, "undetermined": 100,
                                 "hopped_pairs": {"A+B (T1 i7, T2 i5)": 7}}))  # fmt: skip
    return {"qc_jsons": qc, "hotspot_tables": [hotspots], "batch_identity_jsons": [identity],
            "demux_reports": {"RUN1": demux}}  # fmt: skip


def _table(path: Path) -> dict[str, dict[str, str]]:
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]
    header = lines[0].split("\t")
    return {row.split("\t")[0]: dict(zip(header, row.split("\t"), strict=True)) for row in lines[1:]}


def test_tables_carry_the_values_of_the_qc_files(tmp_path, qc_inputs):
    written = write_custom_content(tmp_path / "out", **qc_inputs)
    assert sorted(p.name for p in written) == sorted(
        f"oncopanel_{s}_mqc.tsv"
        for s in ("gates", "gene_coverage", "hotspots", "identity", "demultiplexing", "run_controls")
    )
    gates = _table(tmp_path / "out" / "oncopanel_gates_mqc.tsv")
    assert gates["T1"]["Status"] == "pass" and gates["T1"]["mean_target_depth >= 100"] == "640.5"
    assert gates["T2"]["Failed gates"] == "mean_target_depth >= 100"
    assert gates["NTC"]["Status"] == "failed" and gates["NTC"]["mean_target_depth >= 100"] == "."  # never 0
    genes = _table(tmp_path / "out" / "oncopanel_gene_coverage_mqc.tsv")
    assert genes["T2"]["KRAS mean depth"] == "27.5" and genes["T1"]["KRAS fraction >= 100x"] == "0.4"
    hot = _table(tmp_path / "out" / "oncopanel_hotspots_mqc.tsv")["T1"]
    assert (hot["Detected"], hot["Not detected"], hot["Not assessable"], hot["Min depth"]) == ("1", "1", "1", "40")
    assert hot["Hotspots"] == "3" and hot["Not assessable (cause)"] == "EGFR C797S (depth)"  # BRAF: not tested
    ident = _table(tmp_path / "out" / "oncopanel_identity_mqc.tsv")
    assert ident["T2"]["Release"] == "held" and "do not match" in ident["T2"]["Identity flags"]
    assert ident["T1"]["Contamination"] == "0.004" and ident["T2"]["Within limit"] == "not estimable"
    demux = _table(tmp_path / "out" / "oncopanel_demultiplexing_mqc.tsv")
    assert demux["T1"]["Read pairs"] == "600" and demux["RUN1 index-hopped"]["Read pairs"] == "7"
    assert _table(tmp_path / "out" / "oncopanel_run_controls_mqc.tsv")["NTC"]["Verdict"] == "pass"


def test_a_run_without_pooled_runs_gets_no_demultiplexing_table(tmp_path, qc_inputs):
    written = write_custom_content(tmp_path / "out", **{**qc_inputs, "demux_reports": {}})
    assert "oncopanel_demultiplexing_mqc.tsv" not in [p.name for p in written]


@pytest.mark.skipif(MULTIQC is None, reason="MultiQC (Debian multiqc) not installed")
def test_multiqc_reads_every_table_into_multiqc_data(tmp_path, qc_inputs):
    write_custom_content(tmp_path / "out", **qc_inputs)
    done = subprocess.run([MULTIQC, "--force", "--cl-config", "no_version_check: true", "-o", str(tmp_path / "mqc"),
                           str(tmp_path / "out")], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    data = tmp_path / "mqc" / "multiqc_data"
    gates = _table(data / "multiqc_oncopanel_gates_table.txt")
    assert gates["T2"]["Status"] == "fail"
    report = (tmp_path / "mqc" / "multiqc_report.html").read_text()
    for name in ("oncopanel QC gates", "oncopanel run controls", "oncopanel demultiplexing"):
        assert name in report


def test_report_files_link_the_delivered_pdfs_and_render_demultiplexing(tmp_path, qc_inputs):
    results = tmp_path / "results"
    (results / "reports").mkdir(parents=True)
    (results / "reports" / "T1.pdf").write_bytes(b"%PDF-1.4 T1")
    linked = link_delivered_pdfs(results, ["T1", "T2"], tmp_path / "report" / "pdfs")  # T2 held: no PDF
    assert [p.name for p in linked] == ["T1.pdf"] and linked[0].read_bytes() == b"%PDF-1.4 T1"
    assert linked[0].stat().st_ino == (results / "reports" / "T1.pdf").stat().st_ino  # the delivered file itself
    (page,) = write_demultiplexing_pages(qc_inputs["demux_reports"], tmp_path / "report" / "demux")
    html = page.read_text()
    assert page.name == "RUN1.html" and "<td>T1</td><td>RUN1</td><td>600</td>" in html and "<script" not in html


ONCOPANEL_SECTIONS = ("gates", "gene_coverage", "hotspots", "identity", "demultiplexing", "run_controls")


@pytest.mark.long  # after `make demo` (CI: make test-long follows make demo)
@pytest.mark.skipif(not (DEMO / "multiqc" / "multiqc_data").is_dir(), reason="needs a finished `make demo`")
def test_the_demos_multiqc_report_has_oncopanels_sections():
    data = DEMO / "multiqc" / "multiqc_data"
    for section in ONCOPANEL_SECTIONS:
        assert (data / f"multiqc_oncopanel_{section}_table.txt").exists(), section
    gates = _table(data / "multiqc_oncopanel_gates_table.txt")
    for qc_json in (DEMO / "qc").glob("*.qc.json"):
        doc = json.loads(qc_json.read_text())
        assert gates[doc["sample_id"]]["Status"] == doc["status"]
    # copy number (rules/cnv.smk) and the tools' own modules sit beside them
    assert list(data.glob("multiqc_oncopanel_cnv_*.txt"))
    assert (data / "multiqc_fastp.txt").exists() and (data / "multiqc_general_stats.txt").exists()
    report = (DEMO / "multiqc" / "multiqc_report.html").read_text()
    for name in ("oncopanel QC gates", "oncopanel hotspot coverage", "oncopanel run controls"):
        assert name in report


@pytest.mark.long  # after `make demo`; Snakemake builds the report from the finished run (~1 min)
@pytest.mark.skipif(not (DEMO / "batch" / "summary.html").exists(), reason="needs a finished `make demo`")
def test_the_snakemake_report_of_the_demo_holds_the_pdfs(tmp_path):
    report = tmp_path / "report.zip"
    done = subprocess.run(
        [str(VENV_BIN / "snakemake"), "--snakefile", "workflow/Snakefile", "--configfile", "config/config.yaml",
         "demo/generated/demo_config.yaml", "--config", "results=results/demo", "--report", str(report)],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, **LOCAL_RUN_ENV},
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    with zipfile.ZipFile(report) as z:
        names = z.namelist()
        pdfs = {Path(n).name: z.read(n) for n in names if n.endswith(".pdf")}
    delivered = {p.name: p.read_bytes() for p in (DEMO / "reports").glob("*.pdf")}
    assert delivered and pdfs == delivered  # every delivered PDF, byte for byte
    assert any(n.endswith("summary.html") for n in names)
    assert any(n.endswith("multiqc_report.html") for n in names)
    assert any(n.endswith("/DEMO-2026-11.html") for n in names)  # the pooled run's demultiplexing page
    page = next(n for n in names if n.endswith("/report.html"))
    with zipfile.ZipFile(report) as z:
        html = z.read(page).decode()
    for caption in ("clinician report of each patient sample", "Clinical reports", "Demultiplexing"):
        assert caption in html
