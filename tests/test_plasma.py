"""Plasma cfDNA with UMIs (issue 18): the hotspot status of a fixture plasma sample on consensus reads, the plasma
result block, and the report: molecules behind a detected variant, "ctDNA not detected — uninformative" (never
negative or wild type, no RAS wild-type therapy) and clonal-haematopoiesis flags."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pysam
import pytest

from oncopanel.calling import settings as calling_settings
from oncopanel.errors import ValidationError
from oncopanel.hotspots import evaluate_hotspots, load_hotspots
from oncopanel.knowledge import KnowledgeBase
from oncopanel.knowledge.matching import SampleFindings, match_therapies, negative_results
from oncopanel.model import HotspotResult, Variant
from oncopanel.reference import FastaSequence, SliceSequence
from oncopanel.report import build_result, render_pdf
from oncopanel.report.plasma import clonal_haematopoiesis_genes, genome_equivalents, plasma_block
from oncopanel.samplesheet import SAMPLE_COLUMNS, read_sample_sheet
from oncopanel.umi.bam import build_consensus, hotspot_depths
from oncopanel.umi.settings import consensus_calling_block, load_settings
from oncosim.plasma import PlasmaLibrary, simulate_molecules, write_placed_bam
from oncosim.reads import DEFAULT_REFERENCE, Spike

T790M = Variant("chr7", 55181378, "C", "T")  # EGFR c.2369C>T p.(Thr790Met)
DATA = Path(__file__).parent / "data" / "report"
needs_reference = pytest.mark.skipif(not Path(f"{DEFAULT_REFERENCE}.fai").exists(), reason="reference not built")
needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext not installed")


# --- the fixture plasma sample -----------------------------------------------------------------------------


def _plasma_bam(tmp: Path, vaf: float, seed: int) -> Path:
    """Reads of a simulated plasma over EGFR codon 790 (3,500 molecules, PCR families, UMIs with errors),
    placed where they come from, and their duplex consensus BAM."""
    spikes = [Spike(T790M, vaf)] if vaf else []
    reads = list(simulate_molecules([("chr7", 55181376, 55181379)], spikes, PlasmaLibrary(), seed, SliceSequence()))
    write_placed_bam(tmp / "raw.bam", reads, f"{DEFAULT_REFERENCE}.fai")
    pysam.sort("-o", str(tmp / "raw.sorted.bam"), str(tmp / "raw.bam"))
    build_consensus(tmp / "raw.sorted.bam", tmp / "cons.bam", load_settings(), duplex=True, sample_id="P")
    return tmp / "cons.bam"


def _t790(bam: Path):
    block = calling_settings.load_block()
    rule = calling_settings.from_dict(consensus_calling_block(block, load_settings())).hotspots
    [hotspot] = [h for h in load_hotspots() if h.hotspot_id == "EGFR_T790"]
    [evaluation] = evaluate_hotspots(bam, "P", [hotspot], thresholds=rule.thresholds(0.05),
                                     background_error=rule.background,
                                     reference=FastaSequence(str(DEFAULT_REFERENCE)))  # fmt: skip
    return hotspot, evaluation.result


@needs_reference
def test_fixture_plasma_t790m_at_half_a_percent_is_detected_on_consensus_reads(tmp_path):
    bam = _plasma_bam(tmp_path, 0.005, seed=11)
    hotspot, result = _t790(bam)
    assert result.status == "detected" and result.observed == "T790M"
    assert 2500 <= result.depth <= 3500  # molecules (consensus families) of 3,500 simulated, not reads
    assert 5 <= result.alt_count <= 35 and result.lod < 0.005
    [depths] = hotspot_depths(bam, [hotspot])
    assert depths["families"] >= result.depth and depths["read_pairs"] > 2 * depths["families"]


@needs_reference
def test_fixture_negative_plasma_is_not_detected_with_its_lod(tmp_path):
    _hotspot, result = _t790(_plasma_bam(tmp_path, 0.0, seed=12))
    assert result.status == "not_detected" and result.alt_count < 4 and result.lod < 0.005


# --- result and report -------------------------------------------------------------------------------------


@dataclass
class _Sheet:
    cfdna_input_ng: float | None


def test_genome_equivalents_and_ch_gene_list():
    assert genome_equivalents(20) == 6061 and genome_equivalents(None) is None
    genes = clonal_haematopoiesis_genes()
    assert {"DNMT3A", "TET2", "ASXL1", "PPM1D", "TP53", "JAK2"} <= set(genes) and "KRAS" not in genes
    assert all(genes.values())  # every gene names its source


def _inputs() -> dict:
    d = json.loads((DATA / "luad_inputs.json").read_text(encoding="utf-8"))
    d["sample"] = {**d["sample"], "specimen_type": "plasma_cfdna", "tumour_content": None, "panels": "EGFR_KRAS"}
    d["germline"], d["therapies"] = [], []
    d["hotspots"] = [{**h, "reason": "x"} for h in d["hotspots"] if h["gene"] in ("EGFR", "KRAS")]
    return d


def _umi_summary(tmp: Path, hotspots: list[dict]) -> Path:
    path = tmp / "P.umi.json"
    path.write_text(json.dumps({
        "umi_layout": "both:8+2", "duplex": True, "pairs_used": 12800, "families": 3150, "duplex_families": 2900,
        "mean_family_size": 4.06, "min_family_size": 2,
        "hotspot_depths": [{"hotspot_id": h["hotspot_id"], "families": 3150, "read_pairs": 12800} for h in hotspots],
    }))  # fmt: skip
    return path


def _build(d: dict, tmp: Path, ng: float | None = 20.0) -> dict:
    result = build_result(d["sample"], d["qc"], d["somatic"], d["germline"], d["hotspots"], d["therapies"],
                          d["provenance"], assay=d["assay"], report_id="OP-PLASMA",
                          reported_date="2026-11-20")  # fmt: skip
    result["plasma"] = plasma_block(_Sheet(ng), _umi_summary(tmp, d["hotspots"]), result)
    return result


def _pdf(result: dict, tmp: Path, language: str = "en") -> str:
    out = render_pdf(result, tmp / f"plasma_{language}.pdf", language=language)
    text = subprocess.run(["pdftotext", "-raw", str(out), "-"], check=True, capture_output=True, text=True).stdout
    return re.sub(r"\s+", " ", text)


@needs_pdftotext
def test_plasma_t790m_report_states_molecules_and_the_plasma_caveat(tmp_path):
    d = _inputs()
    t790m = {
        "annotation": {"variant": {"chrom": "chr7", "pos": 55181378, "ref": "C", "alt": "T"}, "gene": "EGFR",
                       "transcript": "NM_005228.5", "consequence": ["missense_variant"], "hgvs_c": "c.2369C>T",
                       "hgvs_p": "p.(Thr790Met)", "exon": "20/28", "protein_change": "T790M"},
        "call": {"variant": {"chrom": "chr7", "pos": 55181378, "ref": "C", "alt": "T"}, "sample_id": "S0042",
                 "origin": "hotspot", "depth": 3150, "alt_depth": 16, "vaf": 16 / 3150, "filters": ["PASS"]},
        "tier": "IA",
    }  # fmt: skip
    tp53 = json.loads(json.dumps(t790m))
    tp53["annotation"].update(gene="TP53", transcript="NM_000546.6", hgvs_c="c.742C>T", hgvs_p="p.(Arg248Trp)")
    tp53["tier"] = "IIC"
    d["somatic"] = [t790m, tp53]
    result = _build(d, tmp_path)
    plasma = result["plasma"]
    assert plasma["ctdna_detected"] and plasma["genome_equivalents"] == 6061 and plasma["vaf_basis"] == "molecules"
    assert plasma["clonal_haematopoiesis"] == [{"finding_id": "S2", "gene": "TP53",
                                                "source": clonal_haematopoiesis_genes()["TP53"]}]  # fmt: skip
    text = _pdf(result, tmp_path)
    assert "EGFR c.2369C>T p.(Thr790Met)" in text
    assert "0.51% of molecules, 16 of 3150 molecules" in text
    assert "Allele fractions are fractions of DNA molecules" in text
    assert "3,150 consensus families" in text and "12,800 read pairs" in text
    assert "20 ng = 6,061 haploid genome equivalents" in text
    assert "TP53 is prone to clonal haematopoiesis" in text
    assert "ctDNA not detected" not in text


@needs_pdftotext
def test_plasma_without_a_variant_is_uninformative_never_negative(tmp_path):
    d = _inputs()
    d["somatic"] = []
    d["hotspots"] = [{**h, "status": "not_detected", "alt_count": 0, "observed": ""} for h in d["hotspots"]]
    result = _build(d, tmp_path, ng=None)
    assert result["plasma"]["ctdna_detected"] is False
    for language in ("en", "zh"):
        text = _pdf(result, tmp_path, language)
        if language == "en":
            assert "ctDNA not detected — uninformative" in text and "A tissue biopsy is recommended" in text
            assert "not detected in plasma (uninformative)" in text and "cfDNA input: not stated" in text
            assert "No actionable" not in text and "wild type" not in text.lower()
        else:
            assert "未检出 ctDNA" in text and "组织活检" in text and "野生型结论" in text


def test_plasma_negative_never_makes_ras_wild_type_or_its_therapy():
    codons = ("G12", "G13", "Q61", "K117", "A146", "A59")
    ras = [(g, c) for g in ("KRAS", "NRAS") for c in codons]
    hotspots = tuple(
        HotspotResult(f"{g}_{c}", g, f"{c}X", "not_detected", 3000, 0, None, None, None, 0.002)
        for g, c in [*ras, ("BRAF", "V600")]
    )
    tissue = SampleFindings(hotspots=hotspots, stated_lod=0.05)
    plasma = SampleFindings(hotspots=hotspots, specimen_type="plasma_cfdna", stated_lod=0.05)
    ras_result = lambda f: next(r for r in negative_results(f) if r.biomarker == "RAS Wild Type")  # noqa: E731
    assert ras_result(tissue).status == "wild_type"
    assert ras_result(plasma).status == "not_determined" and "plasma" in ras_result(plasma).reason
    kb = KnowledgeBase.load()
    anti_egfr = lambda f: [t for t in match_therapies(f, "COAD", kb)  # noqa: E731
                           if "cetuximab" in t.drugs and t.status not in ("not_option", "resistance")]
    assert anti_egfr(tissue) and not anti_egfr(plasma)


# --- the sample sheet --------------------------------------------------------------------------------------


def _sheet(tmp: Path, **cells) -> Path:
    row = {"sample_id": "P01", "patient": "P1", "batch": "B1", "site": "X", "specimen_type": "plasma_cfdna",
           "oncotree_code": "LUAD", "panels": "EGFR_KRAS", "lane": "L001", "fastq_1": "a_R1.fq.gz",
           "fastq_2": "a_R2.fq.gz", **cells}  # fmt: skip
    path = tmp / "samples.tsv"
    path.write_text("\t".join(SAMPLE_COLUMNS) + "\n" + "\t".join(row.get(c, "") for c in SAMPLE_COLUMNS) + "\n")
    return path


def test_sheet_umi_layout_and_cfdna_input(tmp_path):
    sample = read_sample_sheet(_sheet(tmp_path, umi="both:8+2", cfdna_input_ng="20"))["P01"]
    assert sample.umi == "both:8+2" and sample.cfdna_input_ng == 20.0
    with pytest.raises(ValidationError) as exc:
        read_sample_sheet(_sheet(tmp_path, umi="read1:3", cfdna_input_ng="lots"))
    text = "\n".join(exc.value.problems)
    assert "column umi: 'read1:3' is not a UMI layout" in text and "column cfdna_input_ng: 'lots'" in text
    with pytest.raises(ValidationError, match=r"'rx' .* needs BAM input"):
        read_sample_sheet(_sheet(tmp_path, umi="rx"))


# --- reads to report (long: the whole workflow) ------------------------------------------------------------


@pytest.mark.long
@needs_reference
@needs_pdftotext
def test_plasma_sample_through_the_workflow_reports_t790m_in_molecules(tmp_path):
    """A plasma like the demo's DEMO-P01: inline UMIs on both reads (both:8+2), 20 ng cfDNA, EGFR T790M at 0.5%;
    FASTQ -> fastp (UMI into the names) -> alignment -> consensus -> hotspot genotyping -> PDF."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import run_workflow, write_sheet

    from oncopanel.panels import genes_for, target_bed_rows
    from oncosim.plasma import write_fastq

    lib = PlasmaLibrary(molecules=500, mean_family_size=3.0)
    spikes = [Spike(T790M, 0.005)]
    targets = target_bed_rows(genes_for(["EGFR_KRAS"]), 20)
    reads = list(simulate_molecules(targets, spikes, lib, 21, SliceSequence()))
    reads += simulate_molecules([("chr7", 55181376, 55181379)], spikes, PlasmaLibrary(molecules=3500,
                                mean_family_size=3.0), 22, SliceSequence())  # fmt: skip
    r1, r2 = write_fastq(tmp_path / "PL1", reads, lib, 21)
    sheet = write_sheet(tmp_path / "samples.tsv", [{
        "sample_id": "PL1", "patient": "P9", "specimen_type": "plasma_cfdna", "oncotree_code": "LUAD",
        "panels": "EGFR_KRAS", "fastq_1": r1, "fastq_2": r2, "language": "en", "umi": "both:8+2",
        "cfdna_input_ng": "20",
    }])  # fmt: skip
    results = tmp_path / "results"
    proc = run_workflow(sheet, results)
    assert proc.returncode == 0, proc.stderr[-3000:]
    umi = json.loads((results / "consensus" / "PL1.umi.json").read_text())
    assert umi["duplex"] and umi["families"] > 10_000 and umi["duplex_families"] > umi["families"] // 2
    vcf = subprocess.run(["bcftools", "view", "-H", str(results / "calls" / "PL1.vcf.gz")],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    record = next(line for line in vcf.splitlines() if "\t55181378\t" in line)
    # freebayes proposes candidates from 0.5% (calling.yaml), so T790M is its own record (or forced in by the
    # hotspot rule where it is not); either way PASS against the consensus background, not the raw-read one
    assert re.search(r"ORIGIN=(somatic|hotspot)", record) and "\tPASS\t" in record
    result = json.loads((results / "result" / "PL1.result.json").read_text())
    [t790m] = [v for v in result["somatic"] if v["hgvs_p"] == "p.(Thr790Met)"]
    assert t790m["reported"] and t790m["depth"] > 2000 and 5 <= t790m["alt_depth"] <= 40
    assert result["plasma"]["ctdna_detected"] and result["plasma"]["genome_equivalents"] == 6061
    text = re.sub(r"\s+", " ", subprocess.run(["pdftotext", "-raw", str(results / "reports" / "PL1.pdf"), "-"],
                                              capture_output=True, text=True, check=True).stdout)  # fmt: skip
    assert f"{t790m['alt_depth']} of {t790m['depth']} molecules" in text
    assert "Allele fractions are fractions of DNA molecules" in text and "6,061 haploid genome equivalents" in text
