"""Copy number (issue 17): exon targets and legacy numbers, counts, the germline exon model, EGFR amplification,
names and the per-sample table. Small fixed fixtures; each test asserts called exons, copy number, name or status."""

from __future__ import annotations

import gzip
from dataclasses import replace

import numpy as np
import pysam
import pytest

from oncopanel.cnv import amplification, counts, model, naming
from oncopanel.cnv.batch import CnvSample, multiqc_table, run_batch, run_batch_or_not_assessable
from oncopanel.cnv.records import read_tsv, write_tsv
from oncopanel.cnv.settings import CNV_YAML, load_settings
from oncopanel.cnv.targets import exon_targets, legacy_exon
from oncopanel.errors import InputError, ValidationError

GERMLINE = ["BRCA1", "BRCA2"]
TUMOUR = ["BRCA1", "BRCA2", "EGFR", "KRAS", "BRAF", "PIK3CA", "NRAS", "TP53", "PTEN", "ALK"]


@pytest.fixture(scope="module")
def cfg():
    return load_settings()


def batch(genes, n, events=None, seed=1, noise=0.03, depth=300.0):
    """A batch's counts: per-target efficiency shared by all samples, per-sample library size, 3% noise,
    ``events`` = {sample index: {target: copy ratio}}."""
    exons = exon_targets(genes)
    captured = [t.target for t in exons if t.targeted]
    rng = np.random.default_rng(seed)
    eff = np.exp(rng.normal(0, 0.4, len(captured)))
    lib = np.exp(rng.normal(0, 0.2, n))
    mean = depth * eff[None, :] * lib[:, None] * rng.normal(1, noise, (n, len(captured)))
    for i, ratios in (events or {}).items():
        for target, r in ratios.items():
            mean[i, captured.index(target)] *= r
    table = counts.CountTable(tuple(f"S{i}" for i in range(n)), tuple(captured), np.round(np.maximum(mean, 0)))
    return table, exons


def exon_range(gene, first, last, ratio):
    return {f"{gene}_exon{k}": ratio for k in range(first, last + 1)}


# ---------------------------------------------------------------- targets, names, classification


def test_legacy_brca1_numbers_skip_exon_4_and_brca2_keeps_mane():
    assert [legacy_exon("BRCA1", k) for k in (1, 3, 4, 10, 13, 22, 23)] == [1, 3, 5, 11, 14, 23, 24]
    assert legacy_exon("BRCA2", 11) == 11
    targets = {t.key: t for t in exon_targets(GERMLINE)}
    assert not targets["BRCA1_exon1"].targeted  # 5' UTR only: no capture target
    assert targets["BRCA1_exon13"].target == "BRCA1_exon13" and targets["BRCA1_exon13"].legacy_exon == 14


def test_exon_range_names_on_mane_select():
    assert naming.exon_range_name("BRCA1", 13, 22, "het_deletion") == "NM_007294.4:c.4358-?_5467+?del"
    assert naming.exon_range_name("BRCA1", 23, 23, "het_deletion") == "NM_007294.4:c.5468-?_*1383+?del"
    assert naming.exon_range_name("BRCA2", 3, 3, "duplication") == "NM_000059.4:c.68-?_316+?dup"
    words = naming.exons_in_words("BRCA1", 13, 23, "het_deletion")
    assert words.startswith("heterozygous deletion of exons 13–23 (legacy 14–24) of BRCA1")
    assert "may extend beyond the gene's 3′ end" in words


def test_70kb_deletion_from_intron_12_past_the_3prime_end_named_from_a_vcf_allele():
    # deleted chr17:43010001-43080000: intron 12 (2,404 bp into it from exon 12) to 34,294 bp past the 3' end
    named = naming.name_vcf_deletion("chr17", 43010000, "N", "<DEL>", end=43080000)
    assert named == [(
        "NM_007294.4:c.4357+2404_*35677del",
        "deletion of exons 13–23 (legacy 14–24) of BRCA1 NM_007294.4 (includes the last exon; extends beyond the "
        "gene's 3′ end)",
    )]  # fmt: skip
    assert naming.vcf_deletion_span(100, "ACGT", "A") == (101, 103)
    assert naming.vcf_deletion_span(100, "A", "ACGT") is None


def test_classification_as_data(cfg):
    rules = cfg.classification
    assert naming.classify("BRCA1", 13, 22, "het_deletion", rules) == "PVS1 (very strong)"
    assert naming.classify("BRCA1", 23, 23, "het_deletion", rules) == "PVS1 (strong)"
    assert naming.classify("BRCA2", 5, 5, "duplication", rules).startswith("VUS")


# ---------------------------------------------------------------- the germline exon model


def test_deletions_and_duplication_called_with_exons_copy_number_and_name(cfg):
    events = {
        0: exon_range("BRCA1", 13, 22, 0.5),
        1: exon_range("BRCA2", 11, 11, 1.5),
        2: exon_range("BRCA2", 3, 3, 0.0),
    }
    table, exons = batch(GERMLINE, 14, events)
    res = model.call_batch(table, exons, cfg)

    (call,) = res["S0"].calls
    assert (call.gene, call.kind, call.copy_number, call.first_exon, call.last_exon) == (
        "BRCA1", "het_deletion", 1, 13, 22)  # fmt: skip
    assert (call.legacy_first_exon, call.legacy_last_exon) == (14, 23)
    assert call.name == "NM_007294.4:c.4358-?_5467+?del"
    assert call.classification == "PVS1 (very strong)" and "MLPA" in call.confirmation
    rows = {r.exon: r for r in res["S0"].rows}
    assert {rows[f"BRCA1_exon{k}"].status for k in range(13, 23)} == {"deletion"}
    assert all(abs(rows[f"BRCA1_exon{k}"].copy_number - 1) < 0.3 for k in range(13, 23))
    assert rows["BRCA1_exon12"].status == rows["BRCA1_exon23"].status == "normal"
    assert call.quality >= cfg.germline.min_quality

    (dup,) = res["S1"].calls
    assert (dup.kind, dup.copy_number, dup.first_exon, dup.last_exon, dup.name) == (
        "duplication", 3, 11, 11, "NM_000059.4:c.1910-?_6841+?dup")  # fmt: skip
    (hom,) = res["S2"].calls
    assert (hom.kind, hom.copy_number, hom.first_exon, hom.name) == (
        "hom_deletion", 0, 3, "NM_000059.4:c.68-?_316+?del")  # fmt: skip

    for s in (f"S{i}" for i in range(3, 14)):
        assert res[s].calls == [] and res[s].status == "assessed"
        statuses = {r.exon: r.status for r in res[s].rows}
        assert statuses.pop("BRCA1_exon1") == statuses.pop("BRCA2_exon1") == "not_assessable"  # not captured
        assert set(statuses.values()) == {"normal"}


def test_whole_gene_deletion_on_a_two_gene_panel_is_called(cfg):
    table, exons = batch(GERMLINE, 12, {0: exon_range("BRCA2", 2, 27, 0.5)}, seed=4)
    (call,) = model.call_batch(table, exons, cfg)["S0"].calls
    assert (call.gene, call.kind, call.first_exon, call.last_exon) == ("BRCA2", "het_deletion", 2, 27)
    assert call.name == "NM_000059.4:c.-39-?_*1498+?del"
    assert call.description.endswith("exon 1 not assessable: the change may include it")  # exon 1 is not captured


def test_too_few_references_gives_not_assessable_never_a_negative(cfg):
    n = cfg.germline.min_references  # the sample itself + (minimum - 1) references
    table, exons = batch(GERMLINE, n, {0: exon_range("BRCA1", 13, 22, 0.5)})
    res = model.call_batch(table, exons, cfg)
    for r in res.values():
        assert r.status == "not_assessable" and r.calls == []
        assert {row.status for row in r.rows} == {"not_assessable"}
        assert all(row.reason.startswith("too few references") for row in r.rows)


def test_uneven_coverage_is_not_assessable(cfg):
    table, exons = batch(GERMLINE, 12)
    noisy = table.counts.copy()
    noisy[0] *= np.random.default_rng(9).lognormal(0, 0.5, noisy.shape[1])
    res = model.call_batch(replace(table, counts=np.round(noisy)), exons, cfg)
    assert res["S0"].status == "not_assessable" and res["S0"].calls == []
    assert {r.status for r in res["S0"].rows} == {"not_assessable"}


def test_pseudogene_exons_not_assessable_on_a_full_grch38_and_tumours_not_tested(cfg):
    table, exons = batch(GERMLINE, 12)
    res = model.call_batch(table, exons, cfg, tumour={"S1"}, full_reference=True)
    rows = {r.exon: r for r in res["S0"].rows}
    assert rows["BRCA1_exon2"].status == "not_assessable" and "BRCA1P1" in rows["BRCA1_exon2"].reason
    assert rows["BRCA1_exon3"].status == "normal"
    masked = {r.exon: r for r in model.call_batch(table, exons, cfg)["S0"].rows}
    assert masked["BRCA1_exon2"].status == "normal"
    assert res["S1"].status == "not_tested" and {r.status for r in res["S1"].rows} == {"not_assessable"}


def test_reference_store_version_is_named_and_never_overwritten(cfg, tmp_path):
    stored, exons = batch(GERMLINE, 10, seed=2)
    stored = replace(stored, samples=tuple(f"OLD{i}" for i in range(10)))
    version = counts.add_to_store(tmp_path, "2026-11", stored)
    assert version.startswith("2026-11@sha256:")
    with pytest.raises(InputError, match="never overwritten"):
        counts.add_to_store(tmp_path, "2026-11", stored)
    table, _ = batch(GERMLINE, 3, {0: exon_range("BRCA1", 13, 22, 0.5)}, seed=2)
    res = model.call_batch(table, exons, cfg, store=counts.load_store(tmp_path, "2026-11"))
    assert res["S0"].reference_version == version
    assert [c.name for c in res["S0"].calls] == ["NM_007294.4:c.4358-?_5467+?del"]
    assert res["S0"].calls[0].reference_version == version


def test_cnv_table_written_with_rows_calls_and_reference(cfg, tmp_path):
    table, exons = batch(GERMLINE, 12, {0: exon_range("BRCA1", 13, 22, 0.5)})
    r = model.call_batch(table, exons, cfg)["S0"]
    out = tmp_path / "S0.cnv.tsv"
    write_tsv(out, r.rows, r.calls, r.header())
    lines = out.read_text().splitlines()
    assert "##reference_version=this batch" in lines
    row = next(ln.split("\t") for ln in lines if ln.startswith("S0\tBRCA1\tBRCA1_exon13\t"))
    assert row[3:5] == ["13", "14"] and row[12] == "deletion"
    call = lines[lines.index("## calls") + 2].split("\t")
    assert call[2] == "het_deletion" and "NM_007294.4:c.4358-?_5467+?del" in call


# ---------------------------------------------------------------- counts


def test_fragment_counts_follow_qc_rules(tmp_path):
    target = next(t for t in exon_targets(["BRCA1"]) if t.key == "BRCA1_exon13")
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr17", "LN": 83257441}]}
    bam_path = tmp_path / "x.bam"
    with pysam.AlignmentFile(str(bam_path), "wb", header=header) as bam:
        def read(name, start, flag=0, mapq=60):
            a = pysam.AlignedSegment()
            a.query_name, a.reference_id, a.reference_start, a.flag, a.mapping_quality = name, 0, start, flag, mapq
            a.cigarstring, a.query_sequence = "50M", "A" * 50
            return a
        s = target.target_start0 + 10
        for r in (read("pair", s, 0x1 | 0x40), read("dup", s, 0x400), read("lowq", s, mapq=5),
                  read("single", s + 5), read("pair", s + 20, 0x1 | 0x80)):  # the mates: one fragment
            bam.write(r)
    pysam.index(str(bam_path))
    got = counts.fragment_counts(bam_path, [target], min_mapping_quality=20)
    assert got == {"BRCA1_exon13": 2}


def test_mosdepth_regions_give_fragment_equivalents(tmp_path):
    path = tmp_path / "S.regions.bed.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("chr17\t43076467\t43076634\tBRCA1_exon13\t300.00\n")
    assert counts.mosdepth_counts(path) == {"BRCA1_exon13": pytest.approx(300 * 167 / 300)}
    bad = tmp_path / "bad.bed"
    bad.write_text("chr17\tx\n")
    with pytest.raises(InputError, match=r"bad\.bed:1: not a mosdepth regions row"):
        counts.mosdepth_counts(bad)


def test_normal_excludes_a_deletion_and_says_where_it_does_not_exclude_a_duplication(cfg):
    """A 1.3-fold rise on two exons: no call (below the duplication's quality), each exon normal (a deletion is
    excluded) with the reason 'duplication not excluded'; the other samples' normal exons exclude both."""
    table, exons = batch(GERMLINE, 10, {0: {"BRCA2_exon11": 1.3, "BRCA1_exon5": 1.3}}, seed=5)
    res = model.call_batch(table, exons, cfg)
    rows = {r.exon: r for r in res["S0"].rows}
    assert res["S0"].calls == []
    for exon in ("BRCA2_exon11", "BRCA1_exon5"):
        assert (rows[exon].status, rows[exon].reason) == ("normal", "duplication not excluded"), exon
    assert sum(r.reason == "duplication not excluded" for r in res["S0"].rows) == 2
    for s in table.samples[1:]:
        assert {r.reason for r in res[s].rows if r.status == "normal"} == {""}, s


def test_a_reference_of_another_capture_behaviour_is_not_summed_in(cfg):
    """Two samples whose exons differ by a shared 25% per-target factor (another capture behaviour) correlate ~0.83
    with the others, above min_correlation: the reference choice leaves them out because they widen the ratio
    spread (with the tolerance opened up they are used and the spread is larger)."""
    table, exons = batch(GERMLINE, 10, seed=12)
    odd = np.exp(np.random.default_rng(4).normal(0, 0.25, table.counts.shape[1]))
    c = table.counts.copy()
    c[8:] = np.round(c[8:] * odd)
    table = counts.CountTable(table.samples, table.targets, c)
    assert 0.8 < model.correlations(model.log_profiles(c), 0)[8] < 0.9
    res = model.call_batch(table, exons, cfg)["S0"]
    assert res.status == "assessed" and not {"S8", "S9"} & set(res.references) and len(res.references) == 7
    loose = replace(cfg, germline=replace(cfg.germline, spread_tolerance=1.0))
    wide = model.call_batch(table, exons, loose)["S0"]
    assert {"S8", "S9"} & set(wide.references) and wide.ratio_sd > res.ratio_sd


# ---------------------------------------------------------------- EGFR amplification


def test_egfr_amplification_copy_number_from_tumour_content_and_focal(cfg):
    egfr = {t.target: 1 + 0.5 * (8 - 2) / 2 for t in exon_targets(["EGFR"]) if t.targeted}  # CN 8 at 50%
    table, exons = batch(TUMOUR, 10, {0: egfr}, seed=3)
    calls = amplification.call_batch(table, exons, cfg.amplification, {"S0": 0.5, "S1": 0.5})
    amp = calls["S0"]
    assert amp.status == "amplified" and amp.extent == "focal"
    assert amp.copy_number == pytest.approx(8, abs=0.6)
    assert calls["S1"].status == "not_amplified"
    no_content = amplification.call_amplification(table, exons, "S0", cfg.amplification, None)
    assert no_content.copy_number is None and "copy number not estimated" in no_content.text


def test_egfr_extent_cannot_be_told_without_braf_and_chromosome_gain_with_it(cfg):
    egfr = {t.target: 2.5 for t in exon_targets(["EGFR"]) if t.targeted}
    genes = ["EGFR", "KRAS", "PIK3CA", "TP53", "PTEN"]
    table, exons = batch(genes, 10, {0: egfr}, seed=5)
    amp = amplification.call_amplification(table, exons, "S0", cfg.amplification, 0.5)
    assert amp.status == "amplified" and amp.extent == "cannot be told"
    assert "cannot be told (BRAF not on the panel)" in amp.text
    braf = {t.target: 2.5 for t in exon_targets(["BRAF"]) if t.targeted}
    table, exons = batch(TUMOUR, 10, {0: {**egfr, **braf}}, seed=5)
    gain = amplification.call_amplification(table, exons, "S0", cfg.amplification, 0.5)
    assert gain.status == "amplified" and gain.extent == "chromosome gain"


def test_egfr_too_few_references_or_thin_coverage_not_assessable_never_not_amplified(cfg):
    table, exons = batch(TUMOUR, 3, seed=6)
    amp = amplification.call_amplification(table, exons, "S0", cfg.amplification, 0.5)
    assert amp.status == "not_assessable" and "too few references" in amp.text
    egfr = {t.target: 2.5 for t in exon_targets(["EGFR"]) if t.targeted}
    table, exons = batch(TUMOUR, 10, {0: egfr}, seed=6, depth=3.0)
    amp = amplification.call_amplification(table, exons, "S0", cfg.amplification, 0.5)
    assert amp.status == "not_assessable" and "coverage too low" in amp.text


def test_egfr_references_are_the_samples_of_the_same_capture_behaviour(cfg):
    """Six tumours of one capture profile (one EGFR-amplified) and three of another (different per-target
    efficiencies): each tumour's references are the others of its own profile (the amplified one left out), so
    the amplified one is called against five, the others not amplified against four, and the three of the other
    profile are not assessable (two references), never "not amplified"."""
    egfr = {t.target: 1 + 0.5 * (10 - 2) / 2 for t in exon_targets(["EGFR"]) if t.targeted}  # CN 10 at 50%
    genes = ["EGFR", "KRAS"]
    captured, exons = batch(genes, 6, {0: egfr}, seed=8)
    other, _ = batch(genes, 3, seed=9)
    names = (*(f"C{i}" for i in range(6)), "U0", "U1", "U2")
    table = counts.CountTable(names, captured.targets, np.vstack([captured.counts, other.counts]))
    calls = amplification.call_batch(table, exons, cfg.amplification, dict.fromkeys(table.samples, 0.5))
    assert calls["C0"].status == "amplified" and calls["C0"].references == 5
    assert calls["C0"].copy_number == pytest.approx(10, abs=1.0)
    assert [(calls[f"C{i}"].status, calls[f"C{i}"].references) for i in range(1, 6)] == [("not_amplified", 4)] * 5
    for u in ("U0", "U1", "U2"):
        assert calls[u].status == "not_assessable" and "too few references (2 < 4)" in calls[u].text


# ---------------------------------------------------------------- settings


def test_settings_refuse_a_misspelt_key(tmp_path):
    text = CNV_YAML.read_text().replace("min_ratio:", "min_ratoi:")
    path = tmp_path / "cnv.yaml"
    path.write_text(text)
    with pytest.raises(ValidationError) as err:
        load_settings(path)
    assert f"{path}: amplification.min_ratoi: unknown key (closest known key: min_ratio)" in err.value.problems


# ---------------------------------------------------------------- the batch run (rule cnv_{batch})


def write_regions(tmp_path, table, genes):
    """mosdepth regions.bed.gz per sample, as QC's coverage step writes them (mean depth over each target)."""
    bounds = {t.target: t for t in exon_targets(genes) if t.targeted}
    out = {}
    for s, row in zip(table.samples, table.counts, strict=True):
        path = tmp_path / f"{s}.regions.bed.gz"
        with gzip.open(path, "wt") as fh:
            for target, n in zip(table.targets, row, strict=True):
                t = bounds[target]
                mean = n * 300 / (t.target_end - t.target_start0)
                fh.write(f"{t.chrom}\t{t.target_start0}\t{t.target_end}\t{target}\t{mean:.4f}\n")
        out[s] = path
    return out


def test_batch_run_writes_each_sample_table_with_calls_amplification_and_reference_version(cfg, tmp_path):
    germ, _ = batch(GERMLINE, 10, {0: exon_range("BRCA1", 13, 22, 0.5)}, seed=11)
    egfr = {t.target: 1 + 0.5 * (8 - 2) / 2 for t in exon_targets(["EGFR"]) if t.targeted}
    tum, _ = batch(TUMOUR, 6, {0: egfr}, seed=12)
    tum = replace(tum, samples=tuple(f"T{i}" for i in range(6)))
    regions = write_regions(tmp_path, germ, GERMLINE) | write_regions(tmp_path, tum, TUMOUR)
    panels = ("BRCA", "EGFR_KRAS", "EXTENDED")
    samples = [CnvSample(s, True, ("BRCA",), None, regions[s]) for s in germ.samples]
    samples += [CnvSample(s, False, panels, 0.5, regions[s]) for s in tum.samples]
    samples.append(CnvSample("NOREADS", True, ("BRCA",), None, None))
    written = run_batch(samples, cfg, tmp_path / "cnv")

    s0 = read_tsv(written["S0"])
    assert s0.header["status"] == "assessed" and s0.header["reference_version"] == "this batch"
    assert [c.name for c in s0.calls] == ["NM_007294.4:c.4358-?_5467+?del"]
    assert {r.status for r in s0.rows if 13 <= r.mane_exon <= 22 and r.gene == "BRCA1"} == {"deletion"}
    t0 = read_tsv(written["T0"])
    assert t0.header["status"] == "not_tested" and t0.calls == []
    assert t0.header["amplification_status"] == "amplified"
    assert float(t0.header["amplification_copy_number"]) == pytest.approx(8, abs=0.8)
    assert read_tsv(written["T1"]).header["amplification_status"] == "not_amplified"
    absent = read_tsv(written["NOREADS"])
    assert absent.header["status"] == "not_assessable" and absent.rows == []
    mqc = multiqc_table("B1", written).splitlines()
    assert mqc[0] == "# id: 'oncopanel_cnv_B1'" and "# plot_type: 'table'" in mqc
    rows = {line.split("\t")[0]: line.split("\t") for line in mqc if not line.startswith("#")}
    assert rows["S0"][1:4] == ["assessed", "NM_007294.4:c.4358-?_5467+?del", "2"]  # BRCA1/2 exon 1 not captured
    assert rows["T0"][1] == "not_tested" and rows["T0"][6] == "amplified"
    assert rows["NOREADS"][1:3] == ["not_assessable", "."]


def test_batch_run_with_too_few_germline_samples_is_not_assessable_never_normal(cfg, tmp_path):
    germ, _ = batch(GERMLINE, 4, seed=13)
    regions = write_regions(tmp_path, germ, GERMLINE)
    written = run_batch([CnvSample(s, True, ("BRCA",), None, regions[s]) for s in germ.samples], cfg, tmp_path)
    table = read_tsv(written["S0"])
    assert table.header["status"] == "not_assessable" and "too few references" in table.header["reason"]
    assert {r.status for r in table.rows} == {"not_assessable"} and table.calls == []


# ---------------------------------------------------------------- large deletions given as VCF alleles


def test_70kb_brca1_deletion_as_a_vcf_allele_is_named_not_intergenic(tmp_path):
    from oncopanel.annotate.vcf import annotate_vcf
    from oncopanel.classify.germline import classify_germline

    header = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    long_ref = "N" * 70001  # the deleted bases after the anchor; the masked reference has none to compare
    vcf = tmp_path / "del.vcf"
    vcf.write_text(header + "chr17\t43010000\t.\tN\t<DEL>\t.\tPASS\tSVTYPE=DEL;END=43080000\n"
                   f"chr17\t43010000\t.\t{long_ref}\tN\t.\tPASS\t.\n")  # fmt: skip
    symbolic, explicit = (r.annotation for r in annotate_vcf(vcf))
    for a in (symbolic, explicit):
        assert (a.gene, a.transcript, a.hgvs_c) == ("BRCA1", "NM_007294.4", "c.4357+2404_*35677del")
        assert a.consequence == ("exon_loss_variant",) and a.exon == "13-23/23"
        assert a.hgvs_g == "NC_000017.11:g.43010001_43080000del"
    cls = classify_germline(symbolic)  # PVS1 very strong from config/cnv.yaml, alone likely pathogenic (8 points)
    assert cls.classification == "likely_pathogenic" and "deletion of whole exons 13-23" in cls.criteria[0]
    bad = tmp_path / "bad.vcf"
    bad.write_text(header + "chr17\t43010000\t.\tN\t<DEL>\t.\tPASS\tSVTYPE=DEL\n")
    with pytest.raises(InputError, match="symbolic <DEL> without INFO END"):
        annotate_vcf(bad)


def test_a_failed_batch_run_leaves_every_table_not_assessable_with_the_error(tmp_path):
    bad = tmp_path / "S0.regions.bed.gz"
    with gzip.open(bad, "wt") as fh:
        fh.write("chr17\tnot-a-number\n")
    samples = [CnvSample("S0", True, ("BRCA",), None, bad)]
    written, error = run_batch_or_not_assessable(samples, tmp_path / "cnv", lambda: run_batch(samples, load_settings(),
                                                                                                tmp_path / "cnv"))
    assert "not a mosdepth regions row" in error
    table = read_tsv(written["S0"])
    assert table.header["status"] == "not_assessable" and "copy-number step failed" in table.header["reason"]
