"""Sample identity on small synthetic BAMs: SNP set checks, genotyping, concordance, swaps, contamination.

The BAMs are written here with pysam: reads of the real GRCh38 sequence around each identity SNP, carrying the
allele of a simulated person (or a mixture of two people), with duplicates, low-MAPQ reads and overlapping mates
that the genotyper must ignore or count once.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from pathlib import Path

import pysam
import pytest

from oncopanel.annotate.transcripts import load_transcripts
from oncopanel.reference import SliceSequence, read_chromosome_lengths
from oncopanel.sample_identity import (
    check_pairs,
    estimate_contamination,
    genotype_identity_snps,
    load_criteria,
    load_identity_snps,
    read_genotypes,
    snp_set_version,
    write_genotypes,
)
from oncopanel.sample_identity.concordance import concordance
from oncopanel.sample_identity.criteria import default_criteria
from oncopanel.sample_identity.snps import expected_match_probability

SNPS = load_identity_snps()
SEQ = SliceSequence()
READ_LENGTH = 100

# Two simulated people. BRCA1 SNPs are one haplotype block, so each person carries one genotype across it.
BRCA1_HAP = ("rs799917", "rs16940", "rs1799949", "rs16941", "rs16942", "rs1060915", "rs1799966")
PERSON_A = {
    **dict.fromkeys(BRCA1_HAP, "0/1"),
    "rs144848": "0/0",
    "rs1801406": "0/1",
    "rs543304": "0/1",
    "rs1799955": "0/0",
    "rs2227983": "1/1",
    "rs1050171": "0/0",
    "rs2293347": "0/1",
    "rs1042522": "1/1",
}
PERSON_B = {
    **dict.fromkeys(BRCA1_HAP, "0/0"),
    "rs144848": "0/1",
    "rs1801406": "0/0",
    "rs543304": "0/0",
    "rs1799955": "0/1",
    "rs2227983": "0/1",
    "rs1050171": "0/1",
    "rs2293347": "0/0",
    "rs1042522": "0/1",
}


@dataclass
class Sample:  # the fields check_pairs reads from samplesheet.Sample
    sample_id: str
    patient: str
    specimen_type: str
    control: str = ""
    batch: str = "B1"


def _alt_dosage(genotype: str) -> float:
    return {"0/0": 0.0, "0/1": 0.5, "1/1": 1.0}[genotype]


def _cumulative(people: list[tuple[dict[str, str], float]]) -> list[float]:
    out, acc = [], 0.0
    for _person, share in people:
        acc += share
        out.append(acc)
    out[-1] = 1.0
    return out


def write_person_bam(path: Path, people: list[tuple[dict[str, str], float]], depth: int = 120, seed: int = 1,
                     sites: list[str] | None = None, noise: bool = True) -> Path:  # fmt: skip
    """A coordinate-sorted, indexed BAM with `depth` fragments per identity SNP drawn from a mixture of people."""
    rng = random.Random(seed)
    lengths = read_chromosome_lengths()["GRCh38"]
    chroms = sorted({s.chrom for s in SNPS}, key=list(lengths).index)
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": c, "LN": lengths[c]} for c in chroms]}
    reads = []
    n = 0
    for snp in SNPS:
        if sites is not None and snp.rsid not in sites:
            continue
        # exact shares: fragment i comes from the person whose cumulative share covers (i + 0.5) / depth, and a
        # het person's fragments alternate alleles, so sampling noise does not blur the mixture being measured
        owners = [next(k for k, cum in enumerate(_cumulative(people)) if (i + 0.5) / depth < cum) for i in range(depth)]
        rng.shuffle(owners)
        seen = [0] * len(people)
        for i, k in enumerate(owners):
            person = people[k][0]
            dosage = _alt_dosage(person[snp.rsid])
            allele = snp.alt if (dosage == 1.0 or (dosage == 0.5 and seen[k] % 2)) else snp.ref
            seen[k] += 1
            start0 = snp.pos - 1 - rng.randrange(5, READ_LENGTH - 5)
            seq = list(SEQ.fetch(snp.chrom, start0, start0 + READ_LENGTH))
            seq[snp.pos - 1 - start0] = allele
            n += 1
            reads.append((snp.chrom, start0, f"f{n}", "".join(seq), 0, 60))
            if noise and i % 10 == 0:  # its overlapping mate, same base: one fragment
                reads.append((snp.chrom, start0 + 3, f"f{n}", "".join(seq[3:]) + "A" * 3, 0, 60))
        if noise:  # the other allele on duplicates and low-MAPQ reads: must not be counted
            person = people[0][0]
            other = snp.ref if person[snp.rsid] == "1/1" else snp.alt
            for j in range(8):
                start0 = snp.pos - 50
                seq = list(SEQ.fetch(snp.chrom, start0, start0 + READ_LENGTH))
                seq[snp.pos - 1 - start0] = other
                flag, mapq = (0x400, 60) if j % 2 else (0, 5)
                reads.append((snp.chrom, start0, f"noise{snp.rsid}_{j}", "".join(seq), flag, mapq))
    reads.sort(key=lambda r: (chroms.index(r[0]), r[1]))
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for chrom, start0, name, seq, flag, mapq in reads:
            a = pysam.AlignedSegment(out.header)
            a.query_name, a.reference_name, a.reference_start, a.flag = name, chrom, start0, flag
            a.query_sequence, a.cigarstring, a.mapping_quality = seq, f"{len(seq)}M", mapq
            a.query_qualities = pysam.qualitystring_to_array("?" * len(seq))  # Q30
            out.write(a)
    pysam.index(str(path))
    return path


@pytest.fixture(scope="module")
def bams(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("identity")
    return {
        "A_blood": write_person_bam(d / "A_blood.bam", [(PERSON_A, 1.0)], seed=1),
        "A_tumour": write_person_bam(d / "A_tumour.bam", [(PERSON_A, 1.0)], seed=2),
        "B_blood": write_person_bam(d / "B_blood.bam", [(PERSON_B, 1.0)], seed=3),
        "B_tumour": write_person_bam(d / "B_tumour.bam", [(PERSON_B, 1.0)], seed=4),
        "A_contaminated": write_person_bam(d / "A_cont.bam", [(PERSON_A, 0.9), (PERSON_B, 0.1)], depth=400, seed=5),
        "A_brca2_only": write_person_bam(
            d / "A_brca2.bam", [(PERSON_A, 1.0)], seed=6, sites=["rs144848", "rs1801406", "rs543304"]
        ),
    }


@pytest.fixture(scope="module")
def genotypes(bams) -> dict:
    settings = load_criteria().genotyping
    return {name: genotype_identity_snps(path, SNPS, settings) for name, path in bams.items()}


# --- the SNP set --------------------------------------------------------------------------------------------------


def test_every_identity_snp_matches_grch38_and_its_hgvs_name():
    """Ref base on the embedded GRCh38, and the HGVS c. name on the MANE transcript maps to the stated position."""
    tx = {t.accession: t for t in load_transcripts()}
    comp = str.maketrans("ACGT", "TGCA")
    assert len(SNPS) == 15 and len({s.rsid for s in SNPS}) == 15
    for s in SNPS:
        assert SEQ.fetch(s.chrom, s.pos - 1, s.pos) == s.ref, s.rsid
        t = tx[s.transcript]
        c_pos, change = s.hgvs_c[2:-3], s.hgvs_c[-3:]
        assert t.genomic(c_pos) == s.pos, s.rsid
        plus = change.translate(comp) if t.minus else change
        assert (plus[0], plus[2]) == (s.ref, s.alt), s.rsid
        assert 0.1 <= s.af["af_eas"] <= 0.9 and 0.1 <= s.af["af_global"] <= 0.9


def test_every_identity_snp_lies_in_the_panel_targets():
    from oncopanel.panels import target_bed_rows, target_padding
    from oncopanel.sample_identity.snps import snps_in_targets

    rows = target_bed_rows(["BRCA1", "BRCA2", "EGFR", "TP53"], target_padding())
    assert snps_in_targets(SNPS, rows) == SNPS


def test_chance_match_probability_of_the_set():
    """The numbers stated in annotation/IDENTITY_SNPS_SOURCES.md (one site per LD block, East Asian AFs)."""
    assert expected_match_probability(SNPS, "af_eas") == pytest.approx(0.00098, rel=0.01)
    assert expected_match_probability(SNPS, "af_eas", a_may_lose=True) == pytest.approx(0.0374, rel=0.01)
    brca = [s for s in SNPS if s.gene in ("BRCA1", "BRCA2")]
    assert expected_match_probability(brca, "af_eas") == pytest.approx(0.0412, rel=0.01)


# --- genotyping ---------------------------------------------------------------------------------------------------


def test_genotypes_of_a_clean_sample_ignore_duplicates_low_mapq_and_count_mates_once(genotypes):
    gts = {g.snp.rsid: g for g in genotypes["A_blood"]}
    assert {r: g.genotype for r, g in gts.items()} == PERSON_A
    hom = gts["rs144848"]  # 0/0: the alt allele is only on duplicates and MAPQ-5 reads
    assert (hom.alt_count, hom.depth) == (0, 120)
    het = gts["rs16942"]
    assert het.depth == 120 and 0.35 < het.alt_fraction < 0.65


def test_no_call_below_min_depth_and_outside_the_bam(bams):
    gts = genotype_identity_snps(bams["A_brca2_only"], SNPS, replace(default_criteria().genotyping, min_depth=20))
    called = {g.snp.rsid for g in gts if g.called}
    assert called == {"rs144848", "rs1801406", "rs543304"}
    assert all(g.genotype == "./." for g in gts if g.snp.rsid not in called)


def test_genotype_file_round_trip(tmp_path, genotypes):
    path = write_genotypes(tmp_path / "A.identity.json", "A_blood", genotypes["A_blood"], snp_set_version())
    sample_id, back = read_genotypes(path, SNPS)
    assert sample_id == "A_blood" and back == genotypes["A_blood"]


# --- concordance --------------------------------------------------------------------------------------------------


def test_same_person_matches(genotypes):
    c = load_criteria()
    blood_blood = concordance(genotypes["A_blood"], genotypes["A_tumour"], c.concordance, c.population)
    assert blood_blood.verdict == "match" and blood_blood.informative_sites == 15
    assert blood_blood.discordant_sites == 0 and blood_blood.chance_match_probability < 1e-3
    tumour_blood = concordance(genotypes["A_tumour"], genotypes["A_blood"], c.concordance, c.population,
                               a_may_lose=True)  # fmt: skip
    assert tumour_blood.verdict == "match" and tumour_blood.chance_match_probability < 0.05


def test_different_people_mismatch(genotypes):
    r = concordance(genotypes["A_blood"], genotypes["B_blood"])
    assert r.verdict == "mismatch" and r.discordant_sites == 15 and r.discordant_fraction == 1.0


def test_tumour_loss_of_heterozygosity_is_not_a_mismatch(genotypes):
    """Blood 0/1, tumour 0/0 at the BRCA1 block (LOH): tolerated on the tumour side, never the other way."""
    lost = {**PERSON_A, **dict.fromkeys(BRCA1_HAP, "0/0")}
    tumour = [g.__class__(g.snp, g.ref_count, g.alt_count, g.other_count, lost[g.snp.rsid])
              for g in genotypes["A_blood"]]  # fmt: skip
    r = concordance(tumour, genotypes["A_blood"], a_may_lose=True)
    assert (r.discordant_sites, r.loh_compatible_sites) == (0, 7) and r.verdict != "mismatch"
    strict = concordance(tumour, genotypes["A_blood"])
    assert strict.discordant_sites == 7


def test_too_few_informative_sites_is_insufficient_never_a_match(genotypes):
    criteria = replace(default_criteria().concordance, min_informative_sites=4)
    r = concordance(genotypes["A_brca2_only"], genotypes["A_blood"], criteria)
    assert r.informative_sites == 3 and r.discordant_sites == 0
    assert r.verdict == "insufficient" and "fewer than 4" in r.reason


def test_agreeing_genotypes_with_a_weak_chance_probability_are_not_a_match(genotypes):
    """Tumour vs blood on the EGFR_KRAS + EXTENDED panels' four SNPs: an unrelated person agrees ~1 time in 5."""
    tumour_egfr_tp53 = [g for g in genotypes["A_tumour"] if g.snp.gene in ("TP53", "EGFR")]
    r = concordance(tumour_egfr_tp53, genotypes["A_blood"], population="af_eas", a_may_lose=True)
    assert r.chance_match_probability == pytest.approx(0.75 * 0.84 * 0.42 * 0.84)
    assert r.discordant_sites == 0 and r.verdict == "insufficient" and "unrelated person" in r.reason


def test_check_pairs_confirms_patients_and_detects_a_swapped_tumour_pair(genotypes):
    samples = [Sample("P1-B", "P1", "blood_germline"), Sample("P1-T", "P1", "tumour_ffpe"),
               Sample("P2-B", "P2", "blood_germline"), Sample("P2-T", "P2", "tumour_ffpe"),
               Sample("NTC", "NTC", "blood_germline", control="no_template_control")]  # fmt: skip
    c = load_criteria()
    good = {"P1-B": genotypes["A_blood"], "P1-T": genotypes["A_tumour"], "P2-B": genotypes["B_blood"],
            "P2-T": genotypes["B_tumour"], "NTC": []}  # fmt: skip
    ok = check_pairs(samples, good, c.concordance, c.population)
    assert ok.flags == [] and ok.samples_held == []
    assert {(p.sample_a, p.sample_b): p.result.verdict for p in ok.pairs if p.same_patient} == {
        ("P1-T", "P1-B"): "match", ("P2-T", "P2-B"): "match"}  # fmt: skip
    assert all("NTC" not in (p.sample_a, p.sample_b) for p in ok.pairs)

    swapped = {**good, "P1-T": genotypes["B_tumour"], "P2-T": genotypes["A_tumour"]}
    check = check_pairs(samples, swapped, c.concordance, c.population)
    mismatches = [p for p in check.pairs if p.flag == "mismatch"]
    assert {(p.sample_a, p.sample_b) for p in mismatches} == {("P1-T", "P1-B"), ("P2-T", "P2-B")}
    assert check.samples_held == ["P1-B", "P1-T", "P2-B", "P2-T"]
    p1 = next(f for f in check.flags if f.startswith("patient P1"))
    assert "P1-T and P1-B are not from one person" in p1 and "possible sample swap" in p1
    assert "P1-T agrees with P2-B (patient P2" in p1


def test_a_duplicate_across_patients_is_an_unexpected_match(genotypes):
    samples = [Sample("P1-B", "P1", "blood_germline"), Sample("P2-B", "P2", "blood_germline"),
               Sample("P3-B", "P3", "blood_germline")]  # fmt: skip
    check = check_pairs(samples, {"P1-B": genotypes["A_blood"], "P2-B": genotypes["B_blood"],
                                  "P3-B": genotypes["A_tumour"]})  # fmt: skip
    [flagged] = [p for p in check.pairs if p.flag]
    assert (flagged.sample_a, flagged.sample_b, flagged.flag) == ("P1-B", "P3-B", "unexpected_match")
    assert "P1-B and P3-B belong to patients P1 and P3 but match" in check.flags[0]


# --- contamination ------------------------------------------------------------------------------------------------


def test_contamination_of_ten_percent_is_estimated_within_a_few_points(bams):
    c = load_criteria()
    gts = genotype_identity_snps(bams["A_contaminated"], SNPS, c.genotyping)
    assert {g.snp.rsid: g.genotype for g in gts} == PERSON_A  # 10% foreign DNA leaves the genotypes intact
    est = estimate_contamination(gts, c.contamination, c.population)
    assert est.status == "estimated" and est.hom_sites == 5
    assert est.fraction == pytest.approx(0.10, abs=0.03)
    assert est.ci_low < 0.10 < est.ci_high and est.acceptable is False


def test_clean_sample_has_no_contamination(genotypes):
    c = load_criteria()
    est = estimate_contamination(genotypes["A_blood"], c.contamination, c.population)
    assert est.status == "estimated" and est.fraction <= 0.005 and est.acceptable is True


def test_contamination_is_not_estimable_with_few_homozygous_sites(genotypes):
    est = estimate_contamination(genotypes["A_brca2_only"])
    assert est.status == "not_estimable" and est.fraction is None and est.acceptable is None
    assert "fewer than 5" in est.reason


# --- workflow entry points ----------------------------------------------------------------------------------------


def test_per_sample_identity_files_and_batch_summary_hold_a_swapped_pair(tmp_path, bams):
    from oncopanel.sample_identity import RunResult, batch_identity, identify_sample, write_batch_identity

    samples = [Sample("P1-B", "P1", "blood_germline"), Sample("P1-T", "P1", "tumour_ffpe"),
               Sample("P2-B", "P2", "blood_germline"), Sample("P2-T", "P2", "tumour_ffpe"),
               Sample("P3-B", "P3", "blood_germline"),
               Sample("NTC-1", "", "", control="no_template_control"),
               Sample("NC-1", "", "", control="negative_control")]  # fmt: skip
    # the tumours are swapped; P3's blood is person A's DNA (P1's), 10% contaminated with B's; the negative
    # control's DNA is mixed too, which holds no patient: a control is judged on its own criteria
    source = {"P1-B": "A_blood", "P1-T": "B_tumour", "P2-B": "B_blood", "P2-T": "A_tumour", "P3-B": "A_contaminated",
              "NC-1": "A_contaminated"}  # fmt: skip
    files = {}
    for s in [*samples[:5], samples[6]]:
        files[s.sample_id] = tmp_path / f"{s.sample_id}.identity.json"
        doc = identify_sample(bams[source[s.sample_id]], s.sample_id, s.specimen_type, files[s.sample_id])
        assert doc["sample_id"] == s.sample_id and len(doc["sites"]) == 15
    tumour_doc = json.loads(files["P1-T"].read_text())
    assert tumour_doc["contamination"]["gating"] is False
    runs = {sid: RunResult(sid, 500_000) for sid in files} | {"NTC-1": RunResult("NTC-1", 300)}
    summary = batch_identity(samples, files, runs, demux_report=None)
    assert summary["batch_held"] is True  # no positive control in the batch
    assert summary["controls"]["reasons"] == [
        "batch B1: no positive control in the batch, and controls.required asks for one: add a row with control "
        "positive_control (README: Running your own batch)"
    ]
    assert summary["controls"]["missing"] == ["positive_control"]
    assert summary["held_samples"] == ["P1-B", "P1-T", "P2-B", "P2-T", "P3-B"]  # patients only, never NC-1
    assert summary["contamination"]["NC-1"]["acceptable"] is False
    assert not any("NC-1" in r for r in summary["reasons"])
    assert [(v["sample_id"], v["verdict"]) for v in summary["controls"]["run_controls"]] == [
        ("NTC-1", "pass"), ("NC-1", "pass")]  # fmt: skip
    assert any("P1-T and P1-B are not from one person" in r for r in summary["reasons"])
    assert any(r.startswith("sample P3-B: contamination 9.5%") for r in summary["reasons"])
    out = write_batch_identity(tmp_path / "B1.batch_identity.json", summary)
    assert any(r.startswith("P1-B and P3-B belong to patients P1 and P3 but match") for r in summary["reasons"])
    assert json.loads(out.read_text())["identity"]["samples_held"] == ["P1-B", "P1-T", "P2-B", "P2-T", "P3-B"]


def test_the_snp_base_is_read_through_clips_insertions_and_deletions(tmp_path):
    """count_alleles finds the SNP's base by walking each read's CIGAR: a soft clip or an insertion before the SNP
    shifts it in the read, a deletion or a skip over it gives no base, a base below the quality floor is not read,
    and mates that disagree are one fragment left out."""
    from oncopanel.sample_identity.genotype import count_alleles

    snp = replace(SNPS[0], chrom="chrT", pos=101, ref="C", alt="T")  # 0-based 100
    reads = [  # (name, start0, cigar, query, base quality at the SNP)
        ("match", 90, "20M", "A" * 10 + "T" + "A" * 9, 30),  # T at query 10
        ("clipped", 95, "5S15M", "G" * 5 + "A" * 5 + "T" + "A" * 9, 30),  # 5 clipped bases, then T at query 10
        ("inserted", 90, "5M3I12M", "A" * 8 + "A" * 5 + "C" + "A" * 6, 30),  # 3 inserted bases: C at query 13
        ("deleted", 95, "4M3D10M", "A" * 14, 30),  # 100 lies in the deletion (99-101): no base
        ("skipped", 80, "10M30N10M", "A" * 20, 30),  # 100 in the skip: no base
        ("poor", 90, "20M", "A" * 10 + "T" + "A" * 9, 5),  # below the base-quality floor
        ("mates", 90, "20M", "A" * 10 + "T" + "A" * 9, 30),  # mates agree: one fragment
        ("mates", 95, "20M", "A" * 5 + "T" + "A" * 14, 30),
        ("discord", 90, "20M", "A" * 10 + "T" + "A" * 9, 30),  # mates disagree: left out
        ("discord", 95, "20M", "A" * 5 + "C" + "A" * 14, 30),
        ("third", 90, "20M", "A" * 10 + "G" + "A" * 9, 30),  # another base: other
    ]
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chrT", "LN": 1000}]}
    path = tmp_path / "cigars.bam"
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for name, start0, cigar, seq, snp_quality in sorted(reads, key=lambda r: r[1]):
            a = pysam.AlignedSegment(out.header)
            a.query_name, a.reference_name, a.reference_start, a.mapping_quality = name, "chrT", start0, 60
            a.query_sequence, a.cigarstring = seq, cigar
            quals = [30] * len(seq)
            at = [q for q, r in a.get_aligned_pairs(matches_only=True) if r == 100]
            if at:
                quals[at[0]] = snp_quality
            a.query_qualities = pysam.qualitystring_to_array("".join(chr(q + 33) for q in quals))
            out.write(a)
    pysam.index(str(path))
    with pysam.AlignmentFile(str(path)) as bam:
        ref, alt, other = count_alleles(bam, snp, default_criteria().genotyping)
    assert (ref, alt, other) == (1, 3, 1)  # ref: inserted; alt: match, clipped, mates; other: third
