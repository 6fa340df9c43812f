"""The contract VCF on tiny fixtures (tests/data/calling, built by make_fixtures.py): records, AF, FILTER."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pysam
import pytest
from conftest import CALLING_DATA, MASKED_REF, ROOT, needs_calling_tools

from oncopanel.calling import pon
from oncopanel.calling import settings as cs
from oncopanel.calling.filters import FILTERS
from oncopanel.calling.run import build_batch_background, call_raw, call_sample, index_vcf, plain_fasta
from oncopanel.calling.vcf import HotspotAllele, SampleContext, finalize
from oncopanel.model import Variant

DATA, REF = CALLING_DATA, str(MASKED_REF)
S = cs.load()

pytestmark = needs_calling_tools


@pytest.fixture(scope="session")
def fb_fasta() -> Path:
    return plain_fasta(REF, ROOT / S.plain_fasta)  # the workflow's own plain copy, made once


@pytest.fixture(scope="session")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("calling")


NORMALS = ("normal1", "normal2", "normal3")


@pytest.fixture(scope="session")
def tumour_raw(fb_fasta, work) -> Path:
    """Rule calling_freebayes for the tumour: its raw calls, whose alleles are where the batch's normals are
    counted."""
    d = work / "t"
    d.mkdir(exist_ok=True)
    raw = d / "TUMOUR1.freebayes.vcf.gz"
    call_raw(DATA / "tumour.bam", DATA / "tumour.targets.bed", "somatic", S.somatic_freebayes, fb_fasta, REF,
             d / "TUMOUR1.regions.bed", raw)  # fmt: skip
    return raw


def batch_pon(work: Path, raw: Path, batch: str, normals: tuple[str, ...]) -> pon.PanelOfNormals:
    """Rule calling_background: the normals counted at the tumour's candidate alleles, the PoN from those counts."""
    out = work / f"{batch}.pon.tsv"
    bams = {n: DATA / f"{n}.bam" for n in normals}
    build_batch_background(batch, bams, [raw], REF, S, work / f"{batch}.background.tsv", out_pon=out)
    return pon.read(out)


@pytest.fixture(scope="session")
def tumour(work, tumour_raw):
    ctx = SampleContext("TUMOUR1", "somatic", REF, str(DATA / "tumour.bam"), batch_pon(work, tumour_raw, "B1", NORMALS))
    unsorted = work / "t" / "TUMOUR1.unsorted.vcf"
    finalize(tumour_raw, unsorted, ctx, S)
    vcf = work / "t" / "TUMOUR1.vcf.gz"
    index_vcf(unsorted, REF, vcf)
    return vcf


def records(vcf: Path) -> dict[tuple[str, int, str, str], pysam.VariantRecord]:
    with pysam.VariantFile(str(vcf)) as vf:
        return {(r.chrom, r.pos, r.ref, r.alts[0]): r for r in vf}


def filters(rec) -> set[str]:
    return set(rec.filter.keys())


def test_tumour_calls_and_filters(tumour):
    recs = records(tumour)
    kras = recs[("chr12", 25245350, "C", "T")]
    assert filters(kras) == {"PASS"} and kras.info["ORIGIN"] == "somatic"
    assert kras.samples[0]["AF"][0] == pytest.approx(0.10, abs=0.01)
    assert kras.samples[0]["GT"] == (0, 1) and kras.samples[0]["DP"] == 410
    assert kras.samples[0]["AD"] == (369, 41)
    ex19 = recs[("chr7", 55174771, "AGGAATTAAGAGAAGC", "A")]
    assert filters(ex19) == {"PASS"} and ex19.samples[0]["AF"][0] == pytest.approx(0.19, abs=0.03)
    assert filters(recs[("chr7", 55181397, "C", "T")]) == {"orientation_bias"}  # FFPE-like, F1R2 only
    assert filters(recs[("chr7", 55191845, "G", "T")]) == {"strand_bias"}  # oxoG-like, forward reads only
    assert "low_alt_reads" in filters(recs[("chr12", 25227280, "A", "G")])
    assert filters(recs[("chr7", 140753300, "T", "C")]) == {"pon"}
    assert recs[("chr7", 140753300, "T", "C")].info["PON_NORMALS"] == 2
    assert filters(recs[("chr13", 32333283, "GA", "G")]) == {"homopolymer"}
    assert recs[("chr13", 32333283, "GA", "G")].info["HOMOPOLYMER"] == 8


def test_pten_paralogue_reads_are_flagged_never_pass(tumour):
    pten = records(tumour)[("chr10", 87952198, "G", "A")]
    assert "paralogue" in filters(pten) and "PASS" not in filters(pten)
    assert pten.info["PARALOGUE"] == "PTENP1" and pten.info["PARALOGUE_REGION"]


def test_germline_like_fraction_in_tumour_is_flagged_not_dropped(tumour):
    rec = records(tumour)[("chr17", 43071077, "T", "C")]
    assert filters(rec) == {"PASS"} and rec.info["LIKELY_GERMLINE"]
    assert rec.samples[0]["AF"][0] == pytest.approx(0.5, abs=0.02)
    assert "LIKELY_GERMLINE" not in records(tumour)[("chr12", 25245350, "C", "T")].info


def test_header_declares_every_filter_and_provenance(tumour):
    with pysam.VariantFile(str(tumour)) as vf:
        hdr = vf.header
        assert set(FILTERS) <= set(hdr.filters.keys())
        assert {"ORIGIN", "LIKELY_GERMLINE", "HOTSPOT", "PARALOGUE"} <= set(hdr.info.keys())
        assert "AF" not in hdr.info and {"GT", "DP", "AD", "AF"} <= set(hdr.formats.keys())
        text = str(hdr)
        assert "##oncopanel_version=" in text and f"##reference={REF}" in text
        assert "##oncopanel_pon=applied (batch B1: 3 normals" in text
        assert list(hdr.samples) == ["TUMOUR1"]
    assert Path(f"{tumour}.tbi").exists()


def test_pon_not_applied_with_too_few_normals(work, tumour_raw):
    two = batch_pon(work, tumour_raw, "B2", ("normal1", "normal2"))
    raw = tumour_raw
    out = work / "two.vcf"
    finalize(raw, out, SampleContext("TUMOUR1", "somatic", REF, str(DATA / "tumour.bam"), two), S)
    braf = records(out)[("chr7", 140753300, "T", "C")]
    assert filters(braf) == {"PASS"} and braf.info["PON_NORMALS"] == 2
    assert "##oncopanel_pon=not_applied (batch B2: 2 normals; needs >= 3)" in out.read_text()


def test_hotspot_force_in_and_no_duplicate(work, tumour):
    raw = work / "t" / "TUMOUR1.freebayes.vcf.gz"
    hotspots = (
        HotspotAllele("KRAS_G12", Variant("chr12", 25245350, "C", "T"), 410, 41),  # freebayes has it
        HotspotAllele("KRAS_G13", Variant("chr12", 25245347, "C", "T"), 400, 12),  # freebayes missed it
        # the homopolymer deletion written at the run's 3' end: left-aligned onto freebayes' record
        HotspotAllele("TEST_HP", Variant("chr13", 32333290, "AA", "A"), 348, 18),
        # a minor form of a hotspot (4 reads, 0.4%): kept in the VCF below the reporting floor, never a finding
        HotspotAllele("EGFR_L858", Variant("chr7", 55191822, "TG", "GA"), 921, 4),
    )
    out = work / "forced.vcf"
    ctx = SampleContext("TUMOUR1", "somatic", REF, str(DATA / "tumour.bam"), None, hotspots)
    summary = finalize(raw, out, ctx, S)
    assert summary.forced == ["chr12:25245347:C>T", "chr7:55191822:TG>GA"]
    recs = records(out)
    assert filters(recs[("chr7", 55191822, "TG", "GA")]) == {"low_alt_reads", "low_vaf"}
    g13 = recs[("chr12", 25245347, "C", "T")]
    assert g13.info["ORIGIN"] == "hotspot" and g13.info["HOTSPOT"] == "KRAS_G13" and filters(g13) == {"PASS"}
    assert g13.samples[0]["AF"][0] == pytest.approx(0.03) and g13.samples[0]["AD"] == (388, 12)
    assert recs[("chr12", 25245350, "C", "T")].info["HOTSPOT"] == "KRAS_G12"
    assert recs[("chr12", 25245350, "C", "T")].info["ORIGIN"] == "somatic"
    assert recs[("chr13", 32333283, "GA", "G")].info["HOTSPOT"] == "TEST_HP"
    assert sum(1 for k in recs if k[:2] == ("chr13", 32333283)) == 1


def test_germline_blood_calls(fb_fasta, work):
    ctx = SampleContext("BLOOD1", "germline", REF, str(DATA / "blood.bam"))
    vcf, summary = call_sample(DATA / "blood.bam", DATA / "blood.targets.bed", ctx, S, fb_fasta, work / "b")
    recs = records(vcf)
    assert set(recs) == {
        ("chr13", 32355250, "T", "C"),
        ("chr17", 43071077, "T", "C"),
        ("chr17", 43124027, "ACT", "A"),
    }
    hom, het, dele = (recs[k] for k in sorted(recs))
    assert hom.samples[0]["GT"] == (1, 1) and hom.samples[0]["AF"][0] == 1.0
    assert het.samples[0]["GT"] == (0, 1) and het.samples[0]["AF"][0] == pytest.approx(0.5)
    assert dele.samples[0]["GT"] == (0, 1) and dele.samples[0]["AF"][0] == pytest.approx(0.43, abs=0.05)
    for rec in recs.values():
        assert filters(rec) == {"PASS"} and rec.info["ORIGIN"] == "germline" and rec.samples[0]["GQ"] >= 20
    assert summary.passed == 3


def test_empty_bam_gives_header_only_vcf(fb_fasta, work):
    ctx = SampleContext("EMPTY1", "somatic", REF, str(DATA / "empty.bam"), pon.empty("B1"))
    vcf, summary = call_sample(DATA / "empty.bam", DATA / "tumour.targets.bed", ctx, S, fb_fasta, work / "e")
    assert summary.records == 0 and records(vcf) == {}
    with pysam.VariantFile(str(vcf)) as vf:
        assert list(vf.header.samples) == ["EMPTY1"] and set(FILTERS) <= set(vf.header.filters.keys())
        assert "##oncopanel_pon=not_applied (batch B1: 0 normals" in str(vf.header)


def test_blood_sample_without_germline_targets_gives_header_only_vcf(fb_fasta, work):
    kras_only = work / "kras_only.bed"
    kras_only.write_text("chr12\t25245290\t25245411\tKRAS_exon2\n")
    ctx = SampleContext("BLOOD1", "germline", REF, str(DATA / "blood.bam"))
    vcf, summary = call_sample(DATA / "blood.bam", kras_only, ctx, S, fb_fasta, work / "nb")
    assert summary.records == 0 and records(vcf) == {}


def test_empty_bam_hotspots_not_assessable():
    from oncopanel.hotspots import genotype_hotspots
    from oncopanel.reference import FastaSequence

    results = genotype_hotspots(
        DATA / "empty.bam",
        "EMPTY1",
        thresholds=S.hotspots.thresholds(0.05),
        background_error=S.hotspots.background,
        reference=FastaSequence(REF),
    )
    assert results and {r.status for r in results} == {"not_assessable"}


def test_raw_calls_log_their_tool_versions_and_regions(fb_fasta, work):
    """call_raw (rule calling_freebayes) starts its log with the version lines provenance reads, and calls over the
    union of the given target BEDs, overlaps merged."""
    from oncopanel.provenance import parse_tool_versions

    beds = [DATA / "tumour.targets.bed", DATA / "blood.targets.bed"]
    call_raw(DATA / "normal1.bam", beds, "somatic", S.somatic_freebayes, fb_fasta, REF, work / "normal1.somatic.bed",
             work / "normal1.somatic.vcf.gz", log=work / "normal1.somatic.log", rule="calling_freebayes")  # fmt: skip
    versions = parse_tool_versions((work / "normal1.somatic.log").read_text())
    assert set(versions) == {"calling_freebayes"} and set(versions["calling_freebayes"]) == {"freebayes", "bcftools"}
    assert all(re.fullmatch(r"\d+\.\d+[\w.+-]*", v) for v in versions["calling_freebayes"].values())
    regions = (work / "normal1.somatic.bed").read_text().splitlines()
    rows = [line.split("\t") for line in regions]
    assert rows == sorted(rows, key=lambda r: (r[0], int(r[1])))
    assert all(a[0] != b[0] or int(a[2]) < int(b[1]) for a, b in itertools.pairwise(rows))  # merged
    assert any(r[3].startswith("BRCA2_") for r in rows) and any(r[3].startswith("KRAS_") for r in rows)


def test_germline_mode_calls_only_germline_gene_targets(fb_fasta, work):
    """A blood sample on a mixed panel: its regions keep only the germline genes' targets."""
    regions = work / "germ_regions.bed"
    call_raw(DATA / "blood.bam", DATA / "tumour.targets.bed", "germline", S.germline_freebayes, fb_fasta, REF, regions,
             work / "germ.vcf.gz")  # fmt: skip
    genes = {line.split("\t")[3].split("_")[0] for line in regions.read_text().splitlines()}
    assert genes and genes <= set(S.germline_genes)
