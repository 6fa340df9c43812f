"""Copy number end to end on read-level counts: the QC coverage (mosdepth regions) of the demo batch's captured
samples — ART reads with capture-like depth, a germline BRCA1 exon 13-22 deletion (DEMO-G03) and an EGFR
amplification (DEMO-T06, 10 copies in 50% tumour), demultiplexed, aligned and counted by the workflow (see
tests/data/cnv_reads/README.md) — through oncopanel.cnv.batch and assemble() into the result JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oncopanel.assemble import SampleFiles, assemble
from oncopanel.cnv.batch import CnvSample, run_batch
from oncopanel.cnv.records import read_tsv
from oncopanel.cnv.settings import load_settings
from oncopanel.knowledge import KnowledgeBase
from oncopanel.report.result import validate_result
from oncopanel.samplesheet import Sample

DATA = Path(__file__).resolve().parent / "data"
READS = DATA / "cnv_reads"
GERMLINE = [f"DEMO-G{n:02d}" for n in range(3, 10)]
TUMOURS = {"DEMO-T06": 0.5, "DEMO-T07": 0.4, "DEMO-T08": 0.6, "DEMO-T09": 0.3, "DEMO-T10": 0.7, "DEMO-T11": 0.5}


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    samples = [CnvSample(s, True, ("BRCA",), None, READS / f"{s}.regions.bed.gz") for s in GERMLINE]
    samples += [CnvSample(s, False, ("EGFR_KRAS",), tc, READS / f"{s}.regions.bed.gz") for s, tc in TUMOURS.items()]
    return run_batch(samples, load_settings(), tmp_path_factory.mktemp("cnv"))


def test_the_carriers_deletion_is_called_over_its_exons_and_named(tables):
    t = read_tsv(tables["DEMO-G03"])
    assert t.header["status"] == "assessed" and len(t.header["references"].split(",")) == 6
    (call,) = t.calls
    assert (call.gene, call.kind, call.copy_number, call.first_exon, call.last_exon) == ("BRCA1", "het_deletion", 1,
                                                                                          13, 22)  # fmt: skip
    assert (call.legacy_first_exon, call.legacy_last_exon) == (14, 23)
    assert call.name == "NM_007294.4:c.4358-?_5467+?del"
    assert call.ratio == pytest.approx(0.5, abs=0.1)
    rows = {r.mane_exon: r for r in t.rows if r.gene == "BRCA1"}
    assert {rows[k].status for k in range(13, 23)} == {"deletion"}
    assert rows[12].status != "deletion" and rows[23].status != "deletion"


def test_the_other_germline_samples_have_no_call_and_never_a_negative_on_an_unassessed_exon(tables):
    for s in GERMLINE[1:]:
        t = read_tsv(tables[s])
        assert t.header["status"] == "assessed" and t.calls == [], s
        for r in t.rows:
            assert r.status in ("normal", "not_assessable"), (s, r.exon)
            assert (r.status == "not_assessable") == bool(r.reason and r.reason != "duplication not excluded")


def test_egfr_amplification_of_the_amplified_tumour_only(tables):
    amp = read_tsv(tables["DEMO-T06"]).header
    assert amp["amplification_status"] == "amplified"
    assert float(amp["amplification_copy_number"]) == pytest.approx(10, abs=2)
    assert amp["amplification_extent"] == "cannot be told"  # no BRAF on EGFR_KRAS
    for s in list(TUMOURS)[1:]:
        assert read_tsv(tables[s]).header["amplification_status"] == "not_amplified", s


def test_assembled_result_carries_the_deletion_its_class_confirmation_and_therapy(tables, tmp_path):
    d = json.loads((DATA / "report" / "luad_inputs.json").read_text())
    qc, check, vcf = tmp_path / "qc.json", tmp_path / "check.json", tmp_path / "calls.vcf"
    qc.write_text(json.dumps(d["qc"]))
    check.write_text(json.dumps({"status": "ok", "files": []}))
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tDEMO-G03\n")
    sample = Sample("DEMO-G03", "P0007", "DEMO-2026-11", "Chengxi County", "blood_germline", None, "BRCA",
                    ("BRCA",))  # fmt: skip
    files = SampleFiles(qc, check, vcf, cnv=tables["DEMO-G03"])
    result = assemble(sample, files, KnowledgeBase.load(), {}, d["provenance"], consent="yes").result
    validate_result(result)
    cn = result["copy_number"]
    assert cn["status"] == "assessed" and cn["references"] == 6
    (event,) = cn["events"]
    assert (event["name"], event["kind"], event["copy_number"]) == ("NM_007294.4:c.4358-?_5467+?del", "het_deletion", 1)
    assert event["classification"].startswith("PVS1") and "MLPA" in event["confirmation"]
    assert event["reporting"]["in_summary"]
    olaparib = [t for t in result["therapies"] if "olaparib" in t["regimen"]]
    assert olaparib and all(event["id"] in t["finding_ids"] for t in olaparib)
    withheld = assemble(sample, files, KnowledgeBase.load(), {}, d["provenance"], consent="no").result
    assert withheld["copy_number"]["status"] == "withheld" and withheld["copy_number"]["events"] == []
