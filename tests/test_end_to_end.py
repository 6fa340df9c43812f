"""Reads to reports on a small batch: the VCF record, the HGVS name, the therapy and the text in the PDF.

Three samples: a lung adenocarcinoma with KRAS G12C at 20% (EGFR/KRAS panel, 500x), a blood sample with the
BRCA1 c.68_69del founder deletion (BRCA panel, 250x), and a tumour whose reads miss its panel entirely.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pysam
import pytest
import yaml
from conftest import run_workflow, write_sheet
from fixtures import reads_from_region

from oncopanel.model import Variant
from oncopanel.panels import genes_for, target_bed_rows
from oncosim.reads import Spike, simulate_sample

KRAS_G12C = Variant("chr12", 25245351, "C", "A")
BRCA1_68_69DEL = Variant("chr17", 43124027, "ACT", "A")
NAME = "测试患者 (Ceshi Huanzhe)"
RESIDENT_ID = "990101197001010011"


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("e2e")
    # whole panels, so the QC gates (mean depth, breadth at 100x) judge them as they would a real sample
    t1 = simulate_sample(d / "T1", target_bed_rows(genes_for(["EGFR_KRAS"]), 20), [Spike(KRAS_G12C, 0.2)], 500, 11)
    g1 = simulate_sample(
        d / "G1", target_bed_rows(genes_for(["BRCA"]), 20), [Spike(BRCA1_68_69DEL, 0.5, "germline")], 250, 12
    )
    off = reads_from_region(d / "OFF", "chr17", 43100000, 43100600, n_pairs=300)  # BRCA1 intron: off its panel
    tumour = {"specimen_type": "tumour_ffpe", "tumour_content": "60", "oncotree_code": "LUAD", "panels": "EGFR_KRAS"}
    rows = [
        {"sample_id": "E2E-T1", "patient": "P1", **tumour, "fastq_1": t1[0], "fastq_2": t1[1], "language": "en"},
        {"sample_id": "E2E-G1", "patient": "P2", "specimen_type": "blood_germline", "oncotree_code": "BREAST",
         "panels": "BRCA", "fastq_1": g1[0], "fastq_2": g1[1], "language": "zh", "germline_consent": "yes"},
        {"sample_id": "E2E-OFF", "patient": "P3", **tumour, "fastq_1": off[0], "fastq_2": off[1], "language": "en"},
    ]  # fmt: skip
    sheet = write_sheet(d / "samples.tsv", rows)
    identity = d / "identity.yaml"
    identity.write_text(
        yaml.safe_dump(
            [{"sample_id": "E2E-T1", "patient": "P1", "name": NAME, "sex": "M", "birth_date": "1970-01-01",
              "resident_id": RESIDENT_ID, "hospital": "演示县医院", "record_number": "MRN-0001",
              "ordering_clinician": "Dr Demo", "germline_consent": "no"}],
            allow_unicode=True,
        )
    )  # fmt: skip
    identity.chmod(0o600)
    results = d / "results"
    proc = run_workflow(sheet, results, config={"identity": identity})
    return {"dir": d, "results": results, "proc": proc}


def test_batch_completes(run):
    assert run["proc"].returncode == 0, run["proc"].stderr[-4000:]


def test_kras_g12c_vcf_record(run):
    with pysam.VariantFile(str(run["results"] / "calls" / "E2E-T1.vcf.gz")) as vcf:
        records = [r for r in vcf if (r.pos, r.ref, r.alts) == (25245351, "C", ("A",))]
    assert len(records) == 1
    record = records[0]
    assert list(record.filter) == ["PASS"]
    sample = record.samples[0]
    assert 0.15 <= sample["AF"][0] <= 0.25
    assert sample["AD"][1] >= 50 and sample["DP"] >= 400


def test_hotspot_tables_per_sample_and_for_the_run(run):
    """Each sample's hotspot TSV, and the run's Parquet table (rule batch_summary) holding the same rows, typed."""
    import pyarrow.parquet as pq

    table = pq.read_table(run["results"] / "batch" / "hotspots.parquet").to_pylist()
    assert {r["sample_id"] for r in table} == {"E2E-T1", "E2E-G1", "E2E-OFF"}
    g12 = [r for r in table if r["sample_id"] == "E2E-T1" and r["hotspot_id"] == "KRAS_G12"]
    tsv = (run["results"] / "hotspots" / "E2E-T1.hotspots.tsv").read_text().splitlines()
    row = dict(zip(tsv[0].split("\t"), next(line for line in tsv if "\tKRAS_G12\t" in line).split("\t"), strict=True))
    assert len(g12) == 1 and g12[0]["status"] == row["status"] == "detected"
    assert g12[0]["alt_count"] == int(row["alt_count"]) and g12[0]["vaf"] == float(row["vaf"])


def test_result_names_and_matches_the_variant(run):
    result = json.loads((run["results"] / "result" / "E2E-T1.result.json").read_text())
    assert result["status"] == "reported"
    kras = next(s for s in result["somatic"] if s["gene"] == "KRAS")
    assert (kras["hgvs_c"], kras["hgvs_p"], kras["tier"]) == ("c.34G>T", "p.(Gly12Cys)", "IA")
    drugs = {t["regimen"] for t in result["therapies"]}
    assert {"sotorasib", "adagrasib"} <= drugs
    g12 = next(h for h in result["hotspots"] if h["hotspot_id"].startswith("KRAS_G12"))
    assert g12["status"] == "detected" and 0.15 <= g12["vaf"] <= 0.25
    # one VAF per variant: the somatic table (the VCF record) and the hotspot table count the same fragments
    assert (kras["alt_depth"], kras["depth"]) == (g12["alt_count"], g12["depth"])
    assert kras["vaf"] == pytest.approx(g12["vaf"], abs=1e-5)


def test_pdf_text_in_english(run):
    text = pdf_text(run["results"] / "reports" / "E2E-T1.pdf")
    assert "c.34G>T" in text and "p.(Gly12Cys)" in text
    # one VAF per variant: the hotspot table prints the somatic finding's VAF, with its interval
    result = json.loads((run["results"] / "result" / "E2E-T1.result.json").read_text())
    vaf = f"{next(s for s in result['somatic'] if s['gene'] == 'KRAS')['vaf'] * 100:.1f}%"
    assert re.search(rf"VAF {re.escape(vaf)} \(\d+\.\d%–\d+\.\d%\) G12C", text), vaf
    assert "sotorasib" in text.lower()
    assert re.search(r"Page 1 of \d", text)
    assert NAME.split()[0] in text and RESIDENT_ID in text  # identity joined at rendering


def test_germline_blood_report_in_chinese(run):
    result = json.loads((run["results"] / "result" / "E2E-G1.result.json").read_text())
    finding = result["germline"]["findings"][0]
    assert (finding["hgvs_c"], finding["hgvs_p"], finding["classification"]) == (
        "c.68_69del", "p.(Glu23ValfsTer17)", "pathogenic",
    )  # fmt: skip
    text = pdf_text(run["results"] / "reports" / "E2E-G1.pdf")
    assert "c.68_69del" in text and "致病" in text


def test_sample_off_its_panel_is_not_assessable_and_says_so(run):
    """No reads over the panel: hotspots not assessable, a header-only VCF, a failed test, never a negative."""
    with pysam.VariantFile(str(run["results"] / "calls" / "E2E-OFF.vcf.gz")) as vcf:
        assert "ORIGIN" in vcf.header.info and list(vcf) == []
    rows = (run["results"] / "hotspots" / "E2E-OFF.hotspots.tsv").read_text().splitlines()[1:]
    assert rows and all("\tnot_assessable\t" in row for row in rows)
    result = json.loads((run["results"] / "result" / "E2E-OFF.result.json").read_text())
    assert result["status"] == "failed" and result["failure"]["kind"] == "retest"  # yield: the stored DNA re-tested
    text = " ".join(pdf_text(run["results"] / "reports" / "E2E-OFF.pdf").split())
    assert "TEST NOT COMPLETED — the laboratory will re-test the stored material" in text
    assert "at this hotspot's" not in text  # no hotspot line claims a limit of detection reached


def test_identifiers_only_in_pdfs(run):
    """The protected manifest's name and resident ID appear in the PDFs and nowhere else under results."""
    hits = []
    for path in run["results"].rglob("*"):
        if path.is_file() and path.suffix != ".pdf":
            data = path.read_bytes()
            if RESIDENT_ID.encode() in data or NAME.split()[0].encode() in data:
                hits.append(path)
        assert RESIDENT_ID not in path.name
    assert hits == []


def test_audit_chain_and_verify(run):
    from oncopanel.audit import verify
    from oncopanel.verify import verify_report

    assert verify(run["results"] / "audit.log").ok
    verdict = verify_report(run["results"] / "reports" / "E2E-T1.pdf")
    assert verdict.ok, verdict.lines


def test_provenance_records_the_code_the_configuration_and_each_jobs_tools(run):
    import hashlib

    from oncopanel.provenance import sample_provenance, sample_tool_versions

    root = Path(__file__).resolve().parent.parent
    provenance = json.loads((run["results"] / "provenance.json").read_text())
    assert provenance["pipeline_version"] == f"0.1.0 (git {provenance['code_revision']['describe']})"
    checksums = provenance["config_checksums"]
    for path in ("config/config.yaml", "config/calling.yaml", "config/formulary.tsv", "annotation/hotspots.tsv"):
        assert checksums[path] == hashlib.sha256((root / path).read_bytes()).hexdigest()
    sheet = run["dir"] / "samples.tsv"
    assert checksums[str(sheet)] == hashlib.sha256(sheet.read_bytes()).hexdigest()
    # each job wrote the versions of the environment that ran it; the probe ran there, not in a separate job
    by_rule = sample_tool_versions(run["results"] / "logs", "E2E-T1")
    minimap2 = subprocess.run(["minimap2", "--version"], capture_output=True, text=True).stdout.strip()
    fastp = subprocess.run(["fastp", "--version"], capture_output=True, text=True).stderr.split()[-1]
    assert by_rule["align_lane"] == {"fastp": fastp, "minimap2": minimap2, "samtools": by_rule["markdup"]["samtools"]}
    assert set(by_rule) == {"align_lane", "markdup", "bam_qc", "calling_freebayes"}
    assert {tool for tools in by_rule.values() for tool in tools} == {
        "fastp", "minimap2", "samtools", "freebayes", "bcftools",
    }  # fmt: skip
    assert "unknown" not in {v for tools in by_rule.values() for v in tools.values()}
    assert sample_provenance(provenance, run["results"] / "logs", "E2E-T1")["tools"]["freebayes"] == (
        by_rule["calling_freebayes"]["freebayes"]
    )
