"""Hotspot genotyping on the fixture BAMs of tests/data/hotspots (built by make_fixtures.py there)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pysam
import pytest

from oncopanel import paths
from oncopanel.calling import settings as calling_settings
from oncopanel.errors import InputError
from oncopanel.hotspots import (
    RESULT_COLUMNS,
    AlleleCount,
    HotspotCounts,
    assess_hotspot,
    candidate_error_classes,
    estimate_background,
    evaluate_hotspots,
    genotype_batch,
    genotype_hotspots,
    load_hotspots,
    read_hotspot_table,
    results_by_id,
    write_hotspot_parquet,
    write_hotspot_table,
)
from oncopanel.model import Variant
from oncopanel.panels import load_panels

DATA = Path(__file__).parent / "data" / "hotspots"
HOTSPOTS = {h.hotspot_id: h for h in load_hotspots()}
# the rule the workflow runs: config/calling.yaml calling.hotspots, at the panels' stated LoD
RULE = calling_settings.load().hotspots
STATED_LOD = min(p.stated_lod for p in load_panels().values())
TH = RULE.thresholds(STATED_LOD)
BG = RULE.background


def genotype(name: str, hotspots=None, **changes) -> dict:
    th = replace(TH, **changes)
    return results_by_id(genotype_hotspots(DATA / f"{name}.bam", name, hotspots, thresholds=th, background_error=BG))


def evaluate(name: str) -> list:
    return evaluate_hotspots(DATA / f"{name}.bam", name, thresholds=TH, background_error=BG)


@pytest.fixture(scope="module")
def kras_1000x() -> dict:
    return genotype("kras_g12c_1000x")


def test_kras_g12c_20pct_at_1000x_detected(kras_1000x):
    r = kras_1000x["KRAS_G12"]
    assert (r.status, r.depth, r.alt_count, r.observed) == ("detected", 1000, 200, "G12C")
    assert r.vaf == pytest.approx(0.2)
    assert r.vaf_ci_low < 0.2 < r.vaf_ci_high
    assert (round(r.vaf_ci_low, 4), round(r.vaf_ci_high, 4)) == (0.1764, 0.2259)
    assert r.lod == pytest.approx(0.0144, abs=1e-4)


def test_single_alt_codon_noise_is_tested_but_not_called():
    evaluation = next(e for e in evaluate("kras_g12c_1000x") if e.result.hotspot_id == "KRAS_G12")
    calls = {c.form: c for c in evaluation.alleles}
    assert calls["G12C"].detected and calls["G12C"].variant == Variant("chr12", 25245351, "C", "A")
    assert calls["G12D"].alt_count == 2 and not calls["G12D"].detected  # 2 reads: below min_alt and p > alpha
    assert calls["G12D"].variant == Variant("chr12", 25245350, "C", "T")


def test_no_alt_at_1000x_not_detected_with_lod(kras_1000x):
    r = kras_1000x["KRAS_G13"]
    assert (r.status, r.depth, r.alt_count, r.observed) == ("not_detected", 1000, 0, "")
    assert r.lod < 0.05
    assert "LoD 1.44% at 1000x" in r.reason


def test_30x_not_assessable():
    r = genotype("kras_wt_30x")["KRAS_G12"]
    assert (r.status, r.depth, r.alt_count) == ("not_assessable", 30, 0)
    assert r.lod > 0.05
    assert "depth 30x below the 153x needed" in r.reason


def test_hotspots_without_reads_not_assessable(kras_1000x):
    r = kras_1000x["BRAF_V600"]
    assert (r.status, r.depth, r.vaf, r.lod) == ("not_assessable", 0, None, None)
    assert "no reads" in r.reason
    assert len(kras_1000x) == len(HOTSPOTS)


def test_empty_bam_and_missing_contigs(tmp_path):
    bam = tmp_path / "empty.bam"
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr7", "LN": 159345973}]}
    with pysam.AlignmentFile(str(bam), "wb", header=header):
        pass
    pysam.index(str(bam))
    results = results_by_id(genotype_hotspots(bam, "empty", thresholds=TH, background_error=BG))
    assert {r.status for r in results.values()} == {"not_assessable"}
    assert "no reads" in results["EGFR_L858"].reason
    assert "chr12 absent from the BAM header" in results["KRAS_G12"].reason


def test_unindexed_bam_is_an_input_error(tmp_path):
    bam = tmp_path / "noindex.bam"
    with pysam.AlignmentFile(str(bam), "wb", header={"SQ": [{"SN": "chr7", "LN": 1000}]}):
        pass
    with pytest.raises(InputError, match="no index"):
        genotype_hotspots(bam, "noindex", thresholds=TH, background_error=BG)


def test_read_filters_and_overlapping_mates():
    """Duplicates, MAPQ < 20, secondary, supplementary, QC-fail and BQ < 20 alt reads are not counted; a
    fragment whose two mates cover the site counts once; mates that disagree are left out."""
    r = genotype("braf_filters")["BRAF_V600"]
    assert (r.status, r.depth, r.alt_count, r.observed) == ("detected", 190, 70, "V600E")
    assert "6 discordant overlapping fragments left out" in r.reason
    assert genotype("braf_filters", min_mapping_quality=5)["BRAF_V600"].alt_count == 90  # + 20 MAPQ-10 reads
    assert genotype("braf_filters", min_base_quality=5)["BRAF_V600"].alt_count == 80  # + 10 BQ-10 bases


@pytest.mark.parametrize(
    ("sample", "form"),
    [
        ("egfr_indel_a", "c.2236_2250del"),
        ("egfr_indel_b", "c.2240_2257del"),
        ("egfr_indel_c", "c.2237_2255delinsT"),  # minimap2 writes it as an 18-bp deletion plus a mismatch
    ],
)
def test_exon19_deletions_detected_as_class(sample, form):
    r = genotype(sample)["EGFR_EX19DEL"]
    assert (r.status, r.observed) == ("detected", form)
    assert r.vaf_ci_low < 0.3 < r.vaf_ci_high  # simulated at 30% of fragments
    assert r.depth > 150 and r.lod < 0.05


@pytest.mark.parametrize(
    ("sample", "form"),
    [
        # simulated as V769_D770insASV (c.2307_2308insGCCAGCGTG): named by the 3' rule as a duplication
        ("egfr_indel_a", "c.2300_2308dup"),
        ("egfr_indel_b", "c.2310_2311insGGT"),
    ],
)
def test_exon20_insertions_detected_as_class(sample, form):
    r = genotype(sample)["EGFR_EX20INS"]
    assert (r.status, r.observed) == ("detected", form)
    assert r.vaf_ci_low < 0.3 < r.vaf_ci_high


def test_class_forms_are_not_in_the_hotspot_table():
    table = (paths.ANNOTATION / "hotspots.tsv").read_text()
    for form in ("2236_2250", "2240_2257", "2237_2255", "2300_2308", "2310_2311"):
        assert form not in table


def test_exon20_wild_type_not_detected():
    r = genotype("egfr_indel_c")["EGFR_EX20INS"]
    assert (r.status, r.alt_count) == ("not_detected", 0)
    assert r.lod < 0.05


def test_snv_kind_hotspot():
    v600 = HOTSPOTS["BRAF_V600"]
    snv = replace(v600, hotspot_id="BRAF_c1799", kind="snv", start=140753336, end=140753336, ref="T",
                  alt_aa=("A",), c_start=1799, window_start=140753336, window_end=140753336)  # fmt: skip
    (r,) = genotype("braf_filters", [snv]).values()
    assert (r.status, r.alt_count, r.depth, r.observed) == ("detected", 70, 190, "c.1799T>A")


def test_lod_uses_the_background_of_the_alleles_the_hotspot_accepts():
    assert candidate_error_classes(HOTSPOTS["EGFR_T790"]) == {"C>T"}  # ACG>ATG
    assert candidate_error_classes(HOTSPOTS["EGFR_EX19DEL"]) == {"deletion"}
    ffpe = replace(BG, substitution={**BG.substitution, "C>T": 0.02})
    counts = HotspotCounts(HOTSPOTS["EGFR_T790"], 500, ())
    plain = assess_hotspot(counts, TH, BG).result
    deaminated = assess_hotspot(counts, TH, ffpe).result
    assert plain.status == "not_detected" and deaminated.status == "not_assessable"
    assert deaminated.lod > 0.05


def g12c_counts(alt: int, depth: int = 1000) -> HotspotCounts:
    allele = AlleleCount("G12C", Variant("chr12", 25245351, "C", "A"), "C>A", alt)
    return HotspotCounts(HOTSPOTS["KRAS_G12"], depth, (allele,) if alt else ())


def test_background_rate_changes_the_call():
    assert assess_hotspot(g12c_counts(12), TH, BG).result.status == "detected"
    raised = replace(BG, substitution=dict.fromkeys(("C>A", "C>G", "C>T", "T>A", "T>C", "T>G"), 0.01))
    result = assess_hotspot(g12c_counts(12), TH, raised).result
    assert (result.status, result.alt_count) == ("not_detected", 12)  # 1.2% is noise at 1% error
    assert 0.02 < result.lod < 0.05


def test_one_orientation_damage_class_allele_is_not_assessable():
    """A C>A (8-oxoG G>T class) allele whose fragments are all F1R2 is what library damage looks like: never
    'detected' (nor forced into the VCF), never 'not detected' either; in both orientations it is detected."""
    damage = AlleleCount("G12C", Variant("chr12", 25245351, "C", "A"), "C>A", 30, alt_f1r2=30, alt_f2r1=0)
    evaluation = assess_hotspot(HotspotCounts(HOTSPOTS["KRAS_G12"], 1000, (damage,)), TH, BG)
    r = evaluation.result
    assert (r.status, r.alt_count, r.observed, r.cause) == ("not_assessable", 30, "", "library_damage")
    assert "one pair orientation (F1R2 30, F2R1 0" in r.reason and not evaluation.alleles[0].detected
    both = replace(damage, alt_f1r2=28, alt_f2r1=2)
    assert assess_hotspot(HotspotCounts(HOTSPOTS["KRAS_G12"], 1000, (both,)), TH, BG).result.status == "detected"
    # a transition outside the damage classes (T>C) is not held to orientation
    q61r = AlleleCount("Q61R", Variant("chr12", 25227342, "T", "C"), "T>C", 30, alt_f1r2=30, alt_f2r1=0)
    assert assess_hotspot(HotspotCounts(HOTSPOTS["KRAS_Q61"], 1000, (q61r,)), TH, BG).result.status == "detected"


def test_background_estimated_from_batch():
    """A G12C artefact at 1% in most batch-mates raises that allele's rate; true carriers are not noise."""
    batch = {f"s{i}": [g12c_counts(10)] for i in range(5)}
    batch["carrier"] = [g12c_counts(250)]
    batch["test"] = [g12c_counts(12)]
    bg = estimate_background(batch, "test", BG)
    assert bg.site == {("KRAS_G12", "G12C"): 0.01}
    assert assess_hotspot(batch["test"][0], TH, bg).result.status == "not_detected"
    carrier = assess_hotspot(batch["carrier"][0], TH, estimate_background(batch, "carrier", BG)).result
    assert carrier.status == "detected"
    few = {"a": [g12c_counts(10)], "b": [g12c_counts(10)], "test": [g12c_counts(12)]}
    assert estimate_background(few, "test", BG).site == {}  # too few batch-mates: defaults stand


def test_genotype_batch_keeps_true_variants():
    bams = {s: DATA / f"{s}.bam" for s in ("egfr_indel_a", "egfr_indel_b", "egfr_indel_c")}
    out = genotype_batch(bams, thresholds=TH, background_error=BG)
    for sample in bams:
        ex19 = results_by_id(e.result for e in out[sample])["EGFR_EX19DEL"]
        assert ex19.status == "detected"


def test_table_round_trip(tmp_path, kras_1000x):
    results = list(kras_1000x.values())
    write_hotspot_table(results, tmp_path / "h.tsv", sample_id="S1")
    header = (tmp_path / "h.tsv").read_text().splitlines()[0].split("\t")
    assert header[:5] == ["sample_id", "hotspot_id", "gene", "label", "status"]
    assert read_hotspot_table(tmp_path / "h.tsv") == {"S1": results}
    write_hotspot_table({"S1": results, "S2": results[:3]}, tmp_path / "b.tsv")
    assert {s: len(r) for s, r in read_hotspot_table(tmp_path / "b.tsv").items()} == {"S1": len(results), "S2": 3}
    # the run's Parquet table (rule batch_summary): every sample's rows, typed, read back to the same results
    write_hotspot_parquet([tmp_path / "h.tsv", tmp_path / "b.tsv"], tmp_path / "run.parquet")
    back = pq.read_table(tmp_path / "run.parquet")
    assert back.num_rows == 2 * len(results) + 3
    assert str(back.schema.field("depth").type) == "int64" and str(back.schema.field("vaf").type) == "double"
    write_hotspot_parquet([tmp_path / "h.tsv"], tmp_path / "one.parquet")
    assert read_hotspot_table(tmp_path / "one.parquet") == {"S1": results}
    write_hotspot_parquet([], tmp_path / "none.parquet")  # a run with no called sample: the columns, no rows
    assert pq.read_table(tmp_path / "none.parquet").column_names == RESULT_COLUMNS


def test_allele_names_on_a_minus_strand_gene():
    """Hotspot alleles are named by the annotator: 3' shifting and c. numbering in transcript orientation (KRAS
    is on the minus strand), whatever position the reads gave the indel."""
    from oncopanel.annotate.annotator import Annotator
    from oncopanel.hotspots import allele_name
    from oncopanel.reference import SliceSequence

    seq = SliceSequence()
    annotator = Annotator(sequence=seq)

    def base(pos: int) -> str:
        return seq.fetch("chr12", pos - 1, pos)

    deleted = seq.fetch("chr12", 25245348, 25245351)  # c.34_36 (GGT on the transcript strand)
    assert allele_name(annotator, Variant("chr12", 25245348, base(25245348) + deleted, base(25245348))) == "c.36_38del"
    assert allele_name(annotator, Variant("chr12", 25245351, base(25245351), base(25245351) + "TTT")) == "c.33_34insAAA"
    assert allele_name(annotator, Variant("chr12", 25245349, deleted, "G")) == "c.34_36delinsC"


def test_pseudogene_like_reads_are_not_evidence():
    """E545A reads that carry other differences (as chr22 pseudogene reads do on the masked reference) are set
    aside; a clean E545K allele at the same codon is still called."""
    r = genotype("pik3ca_pseudogene")["PIK3CA_E545"]
    assert (r.status, r.observed, r.depth, r.alt_count) == ("detected", "E545K", 206, 6)
    assert "E545A 20/206" in r.reason and "20 of its fragments look paralogous" in r.reason
    calls = {c.form: c for e in evaluate("pik3ca_pseudogene") for c in e.alleles}
    assert calls["E545A"].passes_rule and calls["E545A"].paralog_suspect and not calls["E545A"].detected


def test_pseudogene_only_allele_is_not_assessable():
    counts = HotspotCounts(
        HOTSPOTS["PIK3CA_E545"], 29, (AlleleCount("E545A", Variant("chr3", 179218304, "A", "C"), "T>G", 14, 11),),
        ref_count=15, ref_paralog_like=0,
    )  # fmt: skip
    r = assess_hotspot(counts, TH, BG).result
    assert (r.status, r.alt_count, r.observed, r.cause) == ("not_assessable", 14, "", "paralogue")
    assert "11 of those fragments carry >= 2 other differences" in r.reason
    assert "paralogue or pseudogene" in r.reason


@pytest.mark.parametrize("name", sorted(p.stem for p in DATA.glob("*.bam")))
def test_not_detected_only_where_the_lod_was_reached(name):
    for r in genotype(name).values():
        assert r.status in ("detected", "not_detected", "not_assessable")
        if r.status == "not_detected":
            assert r.lod is not None and r.lod <= 0.05 and r.observed == ""
        if r.status == "detected":
            assert r.observed and r.alt_count >= 3 and r.vaf_ci_low <= r.vaf <= r.vaf_ci_high
        assert (r.cause is not None) == (r.status == "not_assessable")
        if r.depth == 0:
            assert (r.status, r.cause) == ("not_assessable", "depth")
