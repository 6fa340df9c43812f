"""The per-allele background error model (oncopanel.calling.background): learnt from normals and a versioned store,
used by the somatic filters and the hotspot LoD, with the global rate as the fallback."""

from __future__ import annotations

import random
from dataclasses import replace

import pysam
import pytest

from oncopanel import paths
from oncopanel.calling import background as bg
from oncopanel.calling import settings as cs
from oncopanel.calling.evidence import ReadEvidence, RecordEvidence
from oncopanel.calling.filters import somatic_reasons
from oncopanel.calling.vcf import SampleContext, background_provenance, build_header
from oncopanel.errors import InputError
from oncopanel.hotspots import load_hotspots, single_base_alleles
from oncopanel.hotspots.counting import AlleleCount, HotspotCounts
from oncopanel.hotspots.detection import limit_of_detection
from oncopanel.hotspots.evaluate import assess_hotspot, hotspot_background
from oncopanel.model import Variant

S = cs.load()
F = S.somatic_filters
M = S.background_model
CLEAN = "chr7:55181378:C>T"
NOISY = "chr7:55181400:A>G"


def call(key: str, alt: int, depth: int, f1r2: int | None = None) -> tuple[RecordEvidence, ReadEvidence, tuple]:
    """A tumour call balanced on strands, sides and (unless f1r2 says otherwise) pair orientations."""
    chrom, pos, change = key.split(":")
    ref, alt_base = change.split(">")
    f1r2 = alt // 2 if f1r2 is None else f1r2
    ev = RecordEvidence(chrom=chrom, pos=int(pos), ref=ref, alt=alt_base, qual=0.0, depth=depth,
                        ref_reads=depth - alt, alt_reads=alt, alt_fwd=alt // 2, alt_rev=alt - alt // 2,
                        ref_fwd=(depth - alt) // 2, ref_rev=(depth - alt) - (depth - alt) // 2,
                        alt_left=alt / 2, alt_right=alt / 2, alt_qual_sum=35.0 * alt)  # fmt: skip
    half = (depth - alt) // 2
    reads = ReadEvidence(alt_f1r2=f1r2, alt_f2r1=alt - f1r2, ref_f1r2=half, ref_f2r1=depth - alt - half,
                         alt_median_end_distance=40)  # fmt: skip
    return ev, reads, (f1r2, alt - f1r2)


# other alleles of the same error classes (T>C, C>T), as a batch's normals show them: the class priors (~1e-5)
FILLER = {f"chr1:{1000 + i}:{change}": bg.SiteErrors(6000, i % 20 == 0, 0, 3)
          for i in range(100) for change in ("A>G", "C>T")}  # fmt: skip


def model(sites: dict[str, bg.SiteErrors], settings: bg.ModelSettings = M) -> bg.BackgroundModel:
    return bg.BackgroundModel({**FILLER, **sites}, settings, "batch B1 (3 normals)")


def reasons(key: str, alt: int, depth: int, m: bg.BackgroundModel | None, f1r2: int | None = None) -> list[str]:
    ev, reads, orientation = call(key, alt, depth, f1r2)
    allele = m.allele(key) if m is not None else None
    return somatic_reasons(ev, F, reads, 0, allele, M, orientation)


def test_a_recurrent_error_position_rejects_a_1pct_call_a_clean_position_accepts():
    m = model({CLEAN: bg.SiteErrors(6000, 1, 1, 3), NOISY: bg.SiteErrors(6000, 30, 30, 3)})  # 0.03% and 1%
    assert m.allele(CLEAN).rate < F.background.snv_error_rate < m.allele(NOISY).rate
    assert reasons(CLEAN, 20, 2000, m) == []  # 1% at 2000x
    assert reasons(NOISY, 20, 2000, m) == ["below_background"]
    # a true 1% allele sampled at 7 of 1000 fragments: the global rate (0.2%: 2 expected) cannot pass it, the
    # clean position's learnt rate can
    assert reasons(CLEAN, 7, 1000, m) == []
    assert reasons(CLEAN, 7, 1000, None) == ["low_vaf", "below_background"]
    # a true 1% allele sampled at 0.8%: under the model's VAF floor, not the global one
    assert reasons(CLEAN, 16, 2000, m) == []
    assert reasons(CLEAN, 16, 2000, None) == ["low_vaf"]


def test_the_error_class_is_the_prior_and_a_noisy_allele_keeps_its_own_rate():
    alone = bg.BackgroundModel({CLEAN: bg.SiteErrors(3400, 0, 0, 3)}, M, "x")  # no class evidence beyond itself
    pooled = model({CLEAN: bg.SiteErrors(3400, 0, 0, 3), "chr7:55181390:C>T": bg.SiteErrors(3400, 3, 2, 3)})
    assert bg.allele_class(CLEAN) == bg.allele_class("chr7:55181379:G>A") == "C>T"
    assert bg.allele_class("chr7:1:AT>A") == "deletion" and bg.allele_class("chr7:1:AT>GC") == "mnv"
    assert pooled.allele(CLEAN).rate < alone.allele(CLEAN).rate / 2  # "rare in its class", not just "0 of 3400"
    assert pooled.allele("chr7:55181390:C>T").rate >= 5 / 3400  # the noisy allele is not shrunk below its rate


def test_single_orientation_damage_is_still_rejected_at_a_clean_position():
    m = model({"chr7:55181378:C>T": bg.SiteErrors(6000, 0, 0, 3)})
    # FFPE C>T at 2%: every fragment F1R2. Above background, but the orientation filters reject it.
    assert reasons(CLEAN, 40, 2000, m, f1r2=40) == ["orientation_bias"]
    assert reasons(CLEAN, 40, 2000, m, f1r2=20) == []


def test_an_oriented_error_in_the_normals_is_tested_on_the_clean_orientation():
    # the normals show the allele at ~1% of F1R2 fragments and never in F2R1 (an oriented chemistry error)
    m = model({NOISY: bg.SiteErrors(6000, 30, 0, 3)})
    allele = m.allele(NOISY)
    assert allele.rate_f1r2 > M.orientation_ratio * allele.rate_f2r1
    # a variant: 12 fragments in each orientation; the F1R2 ones are within the noise, the F2R1 ones stand out
    assert reasons(NOISY, 24, 2000, m, f1r2=12) == []
    # the noise itself (F1R2 only) is below background, whatever the orientation filter also says
    assert "below_background" in reasons(NOISY, 12, 2000, m, f1r2=12)


def test_the_orientation_tail_is_loosened_only_where_the_normals_show_the_allele_orientation_free():
    """clean_max_p applies to a non-damage allele whose learnt background shows no oriented error; damage classes,
    alleles without a learnt background and alleles the normals show erring in one orientation keep max_p."""
    f = replace(F, orientation_bias=cs.OrientationBalance(0.1, 0.1, clean_max_p=0.001))
    a_g = "chr7:55181410:A>G"
    oriented = "chr7:55181420:A>G"
    m = model({a_g: bg.SiteErrors(6000, 0, 0, 3), CLEAN: bg.SiteErrors(6000, 0, 0, 3),
               oriented: bg.SiteErrors(6000, 4, 0, 3)})  # fmt: skip

    def why(key: str, alt: int, f1r2: int, filters=f, with_model: bool = True) -> list[str]:
        ev, reads, orientation = call(key, alt, 1000, f1r2)
        allele = m.allele(key) if with_model else None
        return somatic_reasons(ev, filters, reads, 0, allele, M, orientation)

    # a true 1% A>G at 1000x that happens to sit 8/0: P = 0.5^8 = 0.004, rejected at 0.1, kept at 0.001
    assert why(a_g, 8, 8) == []
    assert why(a_g, 8, 8, filters=replace(F, orientation_bias=cs.OrientationBalance(0.1, 0.1))) == ["orientation_bias"]
    assert why(a_g, 10, 10) == ["orientation_bias"]  # 10/0: P = 0.001, still one-sided enough
    assert why(a_g, 8, 8, with_model=False) == ["low_vaf", "below_background", "orientation_bias"]  # global rate
    assert m.allele(oriented).oriented(M.orientation_ratio) and not m.allele(a_g).oriented(M.orientation_ratio)
    assert "orientation_bias" in why(oriented, 8, 8)  # the normals erred here in F1R2 only: max_p 0.1
    assert why(CLEAN, 8, 8) == ["orientation_bias"]  # C>T: a damage class (and 0 F2R1 < 2 fragments)
    assert why(CLEAN, 9, 6) == []  # balanced enough: 6/3


def test_thin_evidence_and_no_normals_fall_back_to_the_global_rate(tmp_path):
    thin = model({CLEAN: bg.SiteErrors(M.min_depth - 1, 0, 0, 3), NOISY: bg.SiteErrors(6000, 0, 0, 1)})
    assert thin.allele(CLEAN) is None  # too few fragments
    assert thin.allele(NOISY) is None  # one normal
    assert reasons(CLEAN, 7, 1000, thin) == reasons(CLEAN, 7, 1000, None) == ["low_vaf", "below_background"]
    none = bg.model_from_files(None, ["EGFR_KRAS"], M)  # no batch file, no store configured
    assert none.sites == {} and none.version == "none (global rate)"
    ctx = SampleContext("T1", "somatic", "ref.fa", background=none)
    assert background_provenance(ctx).startswith("global rate only")
    # a store configured that has nothing for this panel: no history yet, the global rate
    empty_store = replace(M, store=str(tmp_path / "store"))
    assert bg.model_from_files(None, ["EGFR_KRAS"], empty_store).sites == {}
    with pytest.raises(InputError):  # ...but a version asked for must exist
        bg.model_from_files(None, ["EGFR_KRAS"], replace(empty_store, store_version="2026-11-B01"))


def test_store_version_is_pooled_and_named_in_the_vcf_header(tmp_path):
    store = tmp_path / "store"
    version = bg.add_to_store(store, "EGFR_KRAS", "2026-11-B01", {CLEAN: bg.SiteErrors(3000, 1, 0, 2)})
    assert version.startswith("EGFR_KRAS/2026-11-B01@sha256:")
    with pytest.raises(InputError):  # versions are never overwritten
        bg.add_to_store(store, "EGFR_KRAS", "2026-11-B01", {})
    batch = tmp_path / "B2.background.tsv"
    bg.write_sites({CLEAN: bg.SiteErrors(2500, 0, 1, 2)}, batch, {"batch": "B2", "normals": "N1,N2"})
    m = bg.model_from_files(batch, ["EGFR_KRAS"], replace(M, store=str(store)))
    assert m.sites[CLEAN] == bg.SiteErrors(5500, 1, 1, 4)  # this batch + the stored batch
    assert m.version == f"batch B2 (2 normals) + store {version}"
    header = pysam.VariantHeader()
    header.contigs.add("chr7", 159345973)
    out = str(build_header(header, SampleContext("T1", "somatic", "ref.fa", background=m), S))
    assert f"##oncopanel_background=batch B2 (2 normals) + store {version}; alleles without enough" in out
    assert "##INFO=<ID=BG," in out


# --- counting normals with the one allele engine --------------------------------------------------------------

SEQ = "".join(random.Random(5).choice("ACGT") for _ in range(400))


def _fixture(tmp_path, normals: dict[str, list[tuple[int, bool, dict[int, str]]]]) -> tuple[str, dict[str, str]]:
    fasta = tmp_path / "ref.fa"
    fasta.write_text(f">chrT\n{SEQ}\n")
    pysam.faidx(str(fasta))
    bams = {}
    for name, reads in normals.items():
        path = tmp_path / f"{name}.bam"
        header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chrT", "LN": len(SEQ)}]}
        with pysam.AlignmentFile(str(path), "wb", header=header) as out:
            for i, (start, reverse, alts) in enumerate(sorted(reads, key=lambda r: r[0])):
                seq = list(SEQ[start : start + 100])
                for pos, base in alts.items():
                    seq[pos - 1 - start] = base
                read = pysam.AlignedSegment(out.header)
                read.query_name, read.reference_id, read.reference_start = f"r{i}", 0, start
                read.query_sequence, read.cigarstring, read.mapping_quality = "".join(seq), "100M", 60
                read.flag = 16 if reverse else 0
                read.query_qualities = pysam.qualitystring_to_array("I" * 100)
                out.write(read)
        pysam.index(str(path))
        bams[name] = str(path)
    return str(fasta), bams


def test_normals_are_counted_by_orientation_and_a_carrier_is_left_out(tmp_path):
    pos = 200
    alt = "A" if SEQ[pos - 1] != "A" else "C"
    v = Variant("chrT", pos, SEQ[pos - 1], alt)
    noisy = [(150 + i % 20, i % 2 == 1, {pos: alt} if i < 6 and i % 2 == 0 else {}) for i in range(200)]
    carrier = [(150 + i % 20, i % 2 == 1, {pos: alt} if i < 40 else {}) for i in range(200)]  # 20%: germline
    fasta, bams = _fixture(tmp_path, {"N1": noisy, "N2": carrier})
    sites = bg.count_normals(bams, [v], fasta, 20, 20, M.max_normal_vaf)
    assert sites == {v.key: bg.SiteErrors(200, 3, 0, 1)}  # F1R2 (forward reads) only; N2 left out


# --- hotspots: the LoD from the rates learnt at the position -------------------------------------------------


def test_hotspot_lod_comes_from_the_learnt_rates_when_every_allele_has_one():
    g12 = next(h for h in load_hotspots() if h.hotspot_id == "KRAS_G12")
    rule = S.hotspots
    th = rule.thresholds(S.stated_lod("tumour_ffpe"))
    alleles = single_base_alleles(g12)
    assert len(alleles) >= 6
    clean = replace(rule.background, learnt={v.key: 0.0003 for v, _ in alleles})
    noisy = replace(rule.background, learnt={v.key: 0.03 if i == 0 else 0.0003 for i, (v, _) in enumerate(alleles)})
    partial = replace(rule.background, learnt={v.key: 0.0003 for v, _ in alleles[1:]})
    assert hotspot_background(g12, clean) == 0.0003
    assert hotspot_background(g12, noisy) == 0.03
    assert hotspot_background(g12, partial) == hotspot_background(g12, rule.background)  # one allele missing
    depth = 150  # LoD 4.1% with the learnt 0.03%, 5.1% with the global 0.2%, 12.6% at a 3% noisy allele
    lod = {k: limit_of_detection(depth, hotspot_background(g12, b), th.min_alt, th.alpha, th.power)
           for k, b in (("clean", clean), ("global", rule.background), ("noisy", noisy))}  # fmt: skip
    assert lod["clean"] < lod["global"] < lod["noisy"]
    # "not detected" only where the LoD at this depth reaches the stated one; a noisy position is not assessable
    counts = HotspotCounts(g12, depth, (), ref_count=depth)
    assert assess_hotspot(counts, th, clean).result.status == "not_detected"
    assert assess_hotspot(counts, th, rule.background).result.status == "not_assessable"
    noisy_result = assess_hotspot(counts, th, noisy).result
    assert noisy_result.status == "not_assessable" and noisy_result.cause == "depth"
    assert noisy_result.lod == pytest.approx(lod["noisy"])
    # a found allele is tested against its own learnt rate
    g12d = next(v for v, _ in alleles if v.alt == "T" and v.pos == 25245350)
    found = HotspotCounts(g12, 1000, (AlleleCount("G12D", g12d, "C>T", 6, alt_f1r2=3, alt_f2r1=3),), ref_count=994)
    assert assess_hotspot(found, th, rule.background).result.status == "not_detected"  # 6/1000 vs 0.2%
    learnt = replace(rule.background, learnt={g12d.key: 0.0003})
    assert assess_hotspot(found, th, learnt).result.status == "detected"


def test_stated_lod_is_data_per_specimen_type():
    assert S.stated_lod("tumour_ffpe") == 0.05
    assert S.stated_lod("tumour_fresh", 0.05) == 0.05
    other = cs.from_dict({**cs.load_block(), "lod": {"tumour_ffpe": 0.05, "plasma_cfdna": 0.005}})
    assert other.stated_lod("plasma_cfdna") == 0.005
    assert other.stated_lod("tumour_fresh", 0.04) == 0.04  # no entry: the panels' stated LoD
    with pytest.raises(InputError):
        cs.from_dict({**cs.load_block(), "lod": {"tumour_ffpe": 0.05, "plasma": 0.005}})


# --- the simulator's capture variation and PCR duplicates (benchmarks/low_vaf.py) -----------------------------


def test_capture_variation_keeps_each_windows_vaf_and_duplicates_are_exact_copies():
    import numpy as np

    from oncosim.reads import Haplotype, Mate, ReadPair, Window, add_duplicates, vary_capture

    windows = [Window("chrT", i * 1000, i * 1000 + 600) for i in range(40)]
    plan = [h for w in windows for h in (Haplotype(w, (), "", 990), Haplotype(w, (), "", 10))]
    varied = vary_capture(plan, 0.3, np.random.default_rng(1))
    totals = [varied[i].pairs + varied[i + 1].pairs for i in range(0, len(varied), 2)]
    assert np.std(totals) / np.mean(totals) == pytest.approx(0.3, abs=0.12) and 850 < np.mean(totals) < 1150
    alt_shares = [varied[i + 1].pairs / (varied[i].pairs + varied[i + 1].pairs) for i in range(0, len(varied), 2)]
    assert all(abs(share - 0.01) < 0.003 for share in alt_shares)
    pairs = [ReadPair(0, Mate(i, "100M", False, "A" * 100, "I" * 100), Mate(i + 200, "100M", True, "C" * 100,
                      "I" * 100)) for i in range(200)]  # fmt: skip
    out = add_duplicates(pairs, 0.15, np.random.default_rng(2))
    assert len(out) == 230 and out[:200] == pairs
    originals = {(p.read1.pos0, p.read2.pos0) for p in pairs}
    assert all((p.read1.pos0, p.read2.pos0) in originals for p in out[200:])
    out[200].read1.seq = "G" * 100  # copies, not shared objects: damage applied later to one must not touch both
    assert all(p.read1.seq == "A" * 100 for p in pairs)


def test_candidate_alleles_add_the_other_substitutions_at_a_candidate_position(tmp_path):
    vcf = tmp_path / "raw.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n##contig=<ID=chr7,length=159345973>\n"
                   "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   "chr7\t100\t.\tC\tT\t0\t.\t.\nchr7\t200\t.\tCA\tC\t0\t.\t.\n")  # fmt: skip
    keys = {v.key for v in bg.candidate_alleles([vcf])}
    assert keys == {"chr7:100:C>T", "chr7:100:C>A", "chr7:100:C>G", "chr7:200:CA>C"}


def test_the_batch_background_pins_the_store_versions_its_tumours_use(tmp_path):
    store = tmp_path / "store"
    first = bg.add_to_store(store, "EGFR_KRAS", "2026-11-B01", {CLEAN: bg.SiteErrors(3000, 0, 0, 2)})
    batch = tmp_path / "B2.background.tsv"
    bg.write_sites({}, batch, {"batch": "B2", "normals": "N1,N2", "store_versions": first})
    bg.add_to_store(store, "EGFR_KRAS", "2026-12-B02", {CLEAN: bg.SiteErrors(9000, 0, 0, 3)})  # newer, later
    settings = replace(M, store=str(store))
    m = bg.model_from_files(batch, ["EGFR_KRAS", "BRCA"], settings)
    assert m.version == f"batch B2 (2 normals) + store {first}" and m.sites[CLEAN].depth == 3000
    (store / "EGFR_KRAS" / "2026-11-B01" / bg.FILE_NAME).write_text("key\tdepth\talt_f1r2\talt_f2r1\tsamples\n")
    with pytest.raises(InputError, match="changed since"):
        bg.model_from_files(batch, ["EGFR_KRAS"], settings)


def test_a_result_records_the_batch_background_it_used(tmp_path):
    from oncopanel.assemble import SampleFiles
    from oncopanel.provenance import sha256_file

    table = tmp_path / "B2.background.tsv"
    bg.write_sites({CLEAN: bg.SiteErrors(3000, 0, 0, 2)}, table, {"batch": "B2", "store_versions": ""})
    files = SampleFiles(qc=tmp_path / "qc.json", input_check=tmp_path / "in.json", background=table)
    assert files.batch_inputs() == {"calling_background": sha256_file(table)}


REFERENCE = paths.RESOURCES / "reference" / "grch38_panel_masked.fa.gz"


@pytest.mark.skipif(not REFERENCE.exists(), reason="panel-masked reference not built")
def test_each_hotspot_lod_is_the_models_at_its_own_usable_depth(tmp_path):
    """Two hotspots of one sample at different usable depths: each LoD in the hotspot table (and the PDF line) is
    the detection rule's at that hotspot's own depth and learnt background, never a sample-wide figure."""
    from oncopanel.calling.run import genotype_sample_hotspots, learnt_background
    from oncopanel.report.model import Hotspot
    from oncopanel.report.pdf import hotspot_detail
    from oncopanel.report.text import load_text

    hs = {h.hotspot_id: h for h in load_hotspots()}
    g12, q61 = hs["KRAS_G12"], hs["KRAS_Q61"]
    fasta = pysam.FastaFile(str(REFERENCE))
    bam = tmp_path / "two_depths.bam"
    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": "chr12", "LN": fasta.get_reference_length("chr12")}]}  # fmt: skip
    n = 0
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        for h, fragments in sorted(((q61, 150), (g12, 900)), key=lambda x: x[0].start):
            for i, start in enumerate(sorted(h.start - 80 + i % 40 for i in range(fragments))):
                read = pysam.AlignedSegment(out.header)
                read.query_name, read.reference_id, read.reference_start = f"r{n}", 0, start
                read.query_sequence = fasta.fetch("chr12", start, start + 120).upper()
                read.cigarstring, read.mapping_quality, read.flag = "120M", 60, 16 if i % 2 else 0
                read.query_qualities = pysam.qualitystring_to_array("I" * 120)
                out.write(read)
                n += 1
    pysam.index(str(bam))
    # the batch's normals learnt every single-base allele of both codons as clean (0 errors in 6000 fragments)
    sites = {v.key: bg.SiteErrors(6000, 0, 0, 3) for h in (g12, q61) for v, _ in single_base_alleles(h)}
    m = model(sites)
    rule = S.hotspots
    results, detected = genotype_sample_hotspots(bam, "S", str(REFERENCE), 0.05, rule, m)
    by_id = {r.hotspot_id: r for r in results}
    assert detected == ()
    learnt = learnt_background(rule, m)
    th = rule.thresholds(0.05)
    for h, depth in ((g12, 900), (q61, 150)):
        r = by_id[h.hotspot_id]
        assert r.depth == depth
        expected = limit_of_detection(depth, hotspot_background(h, learnt), th.min_alt, th.alpha, th.power)
        assert r.lod == pytest.approx(expected)
        assert r.status == ("not_detected" if expected <= 0.05 else "not_assessable")
    assert by_id["KRAS_G12"].lod < by_id["KRAS_Q61"].lod  # 900x against 150x: not one figure for the sample
    t = load_text("en")
    line = hotspot_detail(Hotspot(**{k: getattr(by_id["KRAS_G12"], k) for k in (
        "hotspot_id", "gene", "label", "status", "depth", "alt_count", "vaf", "vaf_ci_low", "vaf_ci_high", "lod",
        "observed", "reason")}), 0.05, t)  # fmt: skip
    assert line == f"LoD {by_id['KRAS_G12'].lod:.1%} at this hotspot's 900x"


def test_the_rate_bound_is_scipy_stats_beta_quantile_without_importing_scipy_stats():
    """The upper bound of a learnt rate over a class prior is the beta posterior's quantile: computed with
    scipy.special's inverse incomplete beta (the routine behind scipy.stats' beta.ppf, bit for bit), because importing
    scipy.stats cost a somatic finalize ~1 CPU-s (issue 21)."""
    import subprocess
    import sys

    from scipy.stats import beta

    m = model({})
    rng = random.Random(5)
    for _ in range(2000):
        depth = rng.choice([rng.randint(1, 100), rng.randint(100, 100_000)])
        alt = rng.randint(0, min(depth, 50))
        prior, prior_depth = rng.choice([1e-6, 1e-4, 3e-3, 0.02]), rng.choice([50, 500.0, 5000])
        a, b = alt + prior * prior_depth, depth - alt + (1 - prior) * prior_depth
        assert m.upper(alt, depth, prior, prior_depth) == max(M.min_rate, float(beta.ppf(M.confidence, a, b)))
    code = ("import sys, json; from oncopanel.calling import background as bg, settings as cs; "
            "m = bg.BackgroundModel({}, cs.load().background_model, 'test'); m.upper(3, 1000, 1e-4, 500); "
            "print(json.dumps('scipy.stats' in sys.modules))")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "false"


def test_the_batch_computes_each_tumours_rate_bounds_and_the_tumour_does_not_import_scipy(tmp_path):
    """Rule calling_background computes the rates' beta bounds once for every panel set of its tumours (each pools
    the store's files of its own panels); a tumour's model with them gives the very rates it would compute, and its
    job does not import scipy (~0.4 CPU-s a tumour, issue 21). Bounds for another confidence are not used."""
    import json
    import subprocess
    import sys

    store = tmp_path / "store"
    filler = {k: bg.SiteErrors(s.depth, int(s.alt_f1r2), s.alt_f2r1, s.samples) for k, s in FILLER.items()}
    bg.add_to_store(store, "EGFR_KRAS", "v1", {**filler, CLEAN: bg.SiteErrors(3000, 1, 0, 2)})
    bg.add_to_store(store, "BRCA", "v1", {NOISY: bg.SiteErrors(5000, 4, 3, 3)})
    settings = replace(M, store=str(store))
    batch = tmp_path / "B2.background.tsv"
    _, used = bg.load_store(str(store), ["BRCA", "EGFR_KRAS"])
    sites = {CLEAN: bg.SiteErrors(4000, 0, 1, 2), NOISY: bg.SiteErrors(2500, 2, 0, 2)}
    bg.write_sites(sites, batch, {"batch": "B2", "normals": "N1,N2", "store_versions": ",".join(used)})
    panel_sets = [("EGFR_KRAS",), ("BRCA", "EGFR_KRAS")]
    bounds = bg.batch_bounds(batch, panel_sets, [CLEAN, NOISY], settings)
    table = tmp_path / "B2.bounds.tsv"
    bg.write_bounds(bounds, table, settings.confidence)
    assert bg.read_bounds(table, settings.confidence) == bounds and len(bounds) >= 6
    for panels in panel_sets:
        own = bg.model_from_files(batch, panels, settings)
        given = bg.model_from_files(batch, panels, settings, table)
        assert [own.allele(k) for k in (CLEAN, NOISY)] == [given.allele(k) for k in (CLEAN, NOISY)]
        assert given.bounds == bounds  # nothing computed again
    assert bg.read_bounds(table, 0.99) == {}

    code = ("import sys, json; from dataclasses import replace; from oncopanel.calling import background as bg, "
            f"settings as cs; s = replace(cs.load().background_model, store={str(store)!r}); "
            f"m = bg.model_from_files({str(batch)!r}, ['EGFR_KRAS'], s, {str(table)!r}); "
            f"rates = [m.allele(k).rate for k in ({CLEAN!r}, {NOISY!r})]; "
            "print(json.dumps(['scipy' in sys.modules, rates]))")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    imported, rates = json.loads(proc.stdout)
    own = bg.model_from_files(batch, ["EGFR_KRAS"], settings)
    assert not imported and rates == [own.allele(CLEAN).rate, own.allele(NOISY).rate]
