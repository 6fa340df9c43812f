"""The read simulator and the demo batch builder: reproducible bytes, allele fractions, artefact orientation,
truth VCFs, read names that hide the truth, and the fake identity manifest."""

from __future__ import annotations

import gzip
import importlib.util
import re
import stat
import sys
from pathlib import Path

import pysam
import pytest

from oncopanel.errors import InputError
from oncopanel.model import Variant
from oncopanel.reference import SliceSequence
from oncosim.reads import (
    DEFAULT_REFERENCE,
    Artefact,
    ReadFormat,
    Spike,
    apply_variants,
    haplotype_offset,
    haplotype_shares,
    natural_orientation,
    pick_error_sites,
    sequencing_windows,
    simulate_sample,
    write_truth_vcf,
)

ROOT = Path(__file__).resolve().parent.parent
KRAS_EXON2 = ("chr12", 25245274 - 20, 25245395 + 20, "KRAS_exon2")
EGFR_EXON19 = ("chr7", 55174722 - 20, 55174820 + 20, "EGFR_exon19")
KRAS_G12C = Variant("chr12", 25245351, "C", "A")
EGFR_DEL19 = Variant("chr7", 55174771, "AGGAATTAAGAGAAGC", "A")
COMPLEMENT = str.maketrans("ACGT", "TGCA")
FLANK = 12

needs_reference = pytest.mark.skipif(not DEFAULT_REFERENCE.exists(), reason="panel-masked reference not built")


def revcomp(seq: str) -> str:
    return seq.translate(COMPLEMENT)[::-1]


def read_fastq(path: Path) -> list[tuple[str, str]]:
    with gzip.open(path, "rt") as fh:
        lines = fh.read().splitlines()
    return [(lines[i][1:], lines[i + 1]) for i in range(0, len(lines), 4)]


def contexts(v: Variant) -> tuple[str, str]:
    """Reference and alternate sequence around a variant, FLANK bases either side of the changed bases."""
    seq = SliceSequence()
    left = seq.fetch(v.chrom, v.pos - 1 - FLANK, v.pos - 1)
    right = seq.fetch(v.chrom, v.pos - 1 + len(v.ref), v.pos - 1 + len(v.ref) + FLANK)
    return left + v.ref + right, left + v.alt + right


def allele_counts(reads: list[str], v: Variant) -> tuple[int, int]:
    ref, alt = contexts(v)
    n_ref = sum(ref in r or revcomp(ref) in r for r in reads)
    n_alt = sum(alt in r or revcomp(alt) in r for r in reads)
    return n_ref, n_alt


@pytest.fixture(scope="module")
def spiked(tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("sim") / "S1"
    spikes = [Spike(KRAS_G12C, 0.20), Spike(EGFR_DEL19, 0.15)]
    return simulate_sample(out, [KRAS_EXON2, EGFR_EXON19], spikes, depth=1000, seed=11)


def test_same_seed_same_bytes_and_gzip_without_mtime(tmp_path):
    spikes = [Spike(KRAS_G12C, 0.3)]
    artefacts = [Artefact("chr12", 25245340, "ffpe_deamination", 0.04, "F2R1")]
    a = simulate_sample(tmp_path / "a", [KRAS_EXON2], spikes, depth=200, seed=5, artefacts=artefacts)
    b = simulate_sample(tmp_path / "b", [KRAS_EXON2], spikes, depth=200, seed=5, artefacts=artefacts)
    c = simulate_sample(tmp_path / "c", [KRAS_EXON2], spikes, depth=200, seed=6, artefacts=artefacts)
    for x, y in zip(a, b, strict=True):
        assert x.read_bytes() == y.read_bytes()
        assert x.read_bytes()[4:8] == b"\0\0\0\0"  # gzip MTIME
    assert a[0].read_bytes() != c[0].read_bytes()


def test_snv_allele_fraction_close_to_vaf(spiked):
    reads = [s for path in spiked for _, s in read_fastq(path)]
    n_ref, n_alt = allele_counts(reads, KRAS_G12C)
    assert n_ref + n_alt > 600  # ~1000x, less the reads whose context has a sequencing error or an end
    assert n_alt / (n_ref + n_alt) == pytest.approx(0.20, abs=0.04)


def test_indel_allele_fraction_close_to_vaf(spiked):
    reads = [s for path in spiked for _, s in read_fastq(path)]
    n_ref, n_alt = allele_counts(reads, EGFR_DEL19)
    assert n_ref + n_alt > 500
    assert n_alt / (n_ref + n_alt) == pytest.approx(0.15, abs=0.04)


def test_read_names_are_illumina_style_unique_paired_and_hide_the_truth(spiked):
    r1, r2 = (read_fastq(p) for p in spiked)
    assert len(r1) == len(r2) > 1000
    pattern = re.compile(r"^SIM:1:SIMFC0001:1:\d{4}:\d+:\d+ [12]:N:0:1$")
    names1 = [n for n, _ in r1]
    assert all(pattern.match(n) for n in names1)
    assert len(set(names1)) == len(names1)
    assert [n.split()[0] for n in names1] == [n.split()[0] for n, _ in r2]
    assert {n.split()[1][0] for n in names1} == {"1"} and {n.split()[1][0] for n, _ in r2} == {"2"}
    # nothing about windows, haplotypes, positions or alleles
    for name in names1[:200]:
        assert not re.search(r"chr|h\d|alt|ref|55174|25245", name)


def test_reads_from_alt_and_ref_haplotypes_are_interleaved(spiked):
    """A shuffled file: alt reads spread through it, not in a block a reader could find by position."""
    reads = [s for _, s in read_fastq(spiked[0])]
    _, alt = contexts(KRAS_G12C)
    hits = [i for i, r in enumerate(reads) if alt in r or revcomp(alt) in r]
    assert len(hits) > 20
    assert hits[0] < len(reads) * 0.2 and hits[-1] > len(reads) * 0.8


def test_index_in_read_header(tmp_path):
    fmt = ReadFormat(flowcell="HDEMO", lane=2, i7="CCGCGGTT", i5="AGCGCTAG")
    r1, _ = simulate_sample(tmp_path / "x", [KRAS_EXON2], [], depth=50, seed=1, read_format=fmt)
    name = read_fastq(r1)[0][0]
    assert re.match(r"^SIM:1:HDEMO:2:\d{4}:\d+:\d+ 1:N:0:CCGCGGTT\+AGCGCTAG$", name)


def test_artefact_on_one_orientation_at_its_fraction(tmp_path):
    """FFPE C>T at a reference C from plus-strand damage: only F1R2 fragments carry it, i.e. read 1 on the forward
    strand and read 2 on the reverse strand; never read 1 reverse or read 2 forward."""
    site = Variant("chr12", 25245360, "C", "T")
    assert SliceSequence().fetch("chr12", site.pos - 1, site.pos) == "C"
    artefact = Artefact(site.chrom, site.pos, "ffpe_deamination", 0.04, natural_orientation("ffpe_deamination", "C"))
    assert artefact.orientation == "F1R2"
    r1, r2 = simulate_sample(tmp_path / "a", [KRAS_EXON2], [], depth=1000, seed=3, artefacts=[artefact])
    _, alt = contexts(site)
    ref, _ = contexts(site)
    reads1, reads2 = [s for _, s in read_fastq(r1)], [s for _, s in read_fastq(r2)]
    fwd1 = sum(alt in s for s in reads1)
    rev2 = sum(revcomp(alt) in s for s in reads2)
    wrong = sum(revcomp(alt) in s for s in reads1) + sum(alt in s for s in reads2)
    total = sum(ref in s or revcomp(ref) in s or alt in s or revcomp(alt) in s for s in reads1 + reads2)
    assert fwd1 > 0 and rev2 > 0
    assert wrong <= 1  # a chance ART sequencing error at most
    assert (fwd1 + rev2) / total == pytest.approx(0.04, abs=0.015)


@needs_reference
@pytest.mark.parametrize("mates", ["both", "read2"])
def test_strand_specific_sequencing_error_on_plus_strand_reads_only(tmp_path, mates):
    """A non-damage error on the plus-strand reads (both pair orientations) reads as the alt in the FASTQ as
    written (forward reads are not reverse-complemented), never as its reverse complement; read2-only: never in R1."""
    site = Variant("chr12", 25245360, "C", "G")
    error = Artefact(site.chrom, site.pos, "sequencing_error", 0.05, "any", mates, alt="G", strand="plus")
    r1, r2 = simulate_sample(tmp_path / "s", [KRAS_EXON2], [], depth=1000, seed=5, artefacts=[error])
    ref, alt = contexts(site)
    reads1, reads2 = [s for _, s in read_fastq(r1)], [s for _, s in read_fastq(r2)]
    plus1, plus2 = sum(alt in s for s in reads1), sum(alt in s for s in reads2)
    minus = sum(revcomp(alt) in s for s in reads1 + reads2)
    assert plus2 > 0 and minus <= 1  # a chance ART error at most
    assert plus1 > 0 if mates == "both" else plus1 <= 1
    fragments = sum(ref in s or revcomp(ref) in s or alt in s or revcomp(alt) in s for s in reads1)
    assert plus1 + plus2 >= 0.05 * fragments * 0.5  # each changed fragment shows it on at least one mate


@needs_reference
def test_error_sites_are_non_damage_at_their_contexts():
    seq = SliceSequence()
    for family in ("oriented_lesion", "strand_error", "read2_error", "read_end_error"):
        sites = pick_error_sites([KRAS_EXON2, EGFR_EXON19], 4, family, seed=2, sequence=seq)
        assert len(sites) == 4
        for a in sites:
            ref = seq.fetch(a.chrom, a.pos - 1, a.pos)
            assert a.kind == "sequencing_error" and a.alt != ref
            assert f"{ref}>{a.alt}" not in ("C>T", "G>A", "G>T", "C>A")
            assert 0.005 <= a.fraction <= 0.03
            if family == "oriented_lesion":
                assert a.orientation in ("F1R2", "F2R1") and a.mates == "both"
            if family in ("strand_error", "read2_error") and a.strand == "plus":
                assert seq.fetch(a.chrom, a.pos - 3, a.pos - 1) == "GG"
            if family == "read2_error":
                assert (a.mates, a.strand) == ("read2", "plus")
            if family == "read_end_error":
                assert a.read_end == 8 and a.orientation == "any"
    with pytest.raises(InputError, match="needs a base"):
        simulate_sample("/nonexistent/x", [KRAS_EXON2], [], 50, 1,
                        artefacts=[Artefact("chr12", 25245360, "sequencing_error", 0.02, "any")])  # fmt: skip


def test_artefact_needs_a_c_or_g_site_inside_the_regions(tmp_path):
    on_an_a = Artefact("chr12", 25245349, "oxog", 0.02, "F1R2")
    with pytest.raises(InputError, match="C or G"):
        simulate_sample(tmp_path / "a", [KRAS_EXON2], [], 50, 1, artefacts=[on_an_a])
    elsewhere = Artefact("chr7", 55191821, "oxog", 0.02, "F1R2")
    with pytest.raises(InputError, match="outside"):
        simulate_sample(tmp_path / "b", [KRAS_EXON2], [], 50, 1, artefacts=[elsewhere])


def test_spike_with_wrong_reference_or_outside_regions_is_refused(tmp_path):
    with pytest.raises(InputError, match="reference has C"):
        simulate_sample(tmp_path / "a", [KRAS_EXON2], [Spike(Variant("chr12", 25245351, "G", "A"), 0.1)], 50, 1)
    with pytest.raises(InputError, match="outside"):
        simulate_sample(tmp_path / "b", [KRAS_EXON2], [Spike(Variant("chr7", 55191822, "T", "G"), 0.1)], 50, 1)


def test_windows_pad_and_merge():
    rows = [("chr1", 1000, 1100, "a"), ("chr1", 1500, 1600, "b"), ("chr1", 5000, 5100, "c")]
    windows = sequencing_windows(rows, 300)
    assert [(w.start0, w.end, w.targets) for w in windows] == [(700, 1900, ("a", "b")), (4700, 5400, ("c",))]


def test_haplotypes_apply_indels_and_map_positions():
    seq = "AAACCCGGGTTT"  # starts at 0-based 100 -> position 101
    assert apply_variants(seq, 100, [Variant("c", 103, "ACC", "A")]) == "AAACGGGTTT"
    assert apply_variants(seq, 100, [Variant("c", 106, "C", "CTT")]) == "AAACCCTTGGGTTT"
    from oncosim.reads import Window

    w = Window("c", 100, 112)
    dele = (Variant("c", 103, "ACC", "A"),)
    assert haplotype_offset(w, dele, 108) == 5  # G two bases left of the reference offset 7
    assert haplotype_offset(w, dele, 104) is None  # deleted
    assert haplotype_offset(w, dele, 103) == 2  # the kept anchor


def test_vafs_above_one_nest_in_cis():
    germline = Spike(Variant("chr12", 25245351, "C", "A"), 0.5, "germline")
    somatic = Spike(Variant("chr12", 25245300, "C", "T"), 0.6)
    shares = haplotype_shares([germline, somatic])
    assert [(len(v), round(s, 6)) for v, s in shares] == [(1, 0.1), (2, 0.5)]
    # each spike's share still adds up to its VAF
    for spike in (germline, somatic):
        assert sum(s for v, s in shares if spike.variant in v) == pytest.approx(spike.vaf)


@needs_reference
def test_truth_vcf_is_normalised_indexed_and_carries_vaf(tmp_path):
    # BRCA2 ...GG AAAA T...: one A deleted, written at the right end of the run, must come out left-aligned
    seq = SliceSequence().fetch("chr13", 32340301, 32340307)
    assert seq == "GGAAAA"
    spikes = [
        Spike(Variant("chr13", 32340306, "AA", "A"), 0.5, "germline"),
        Spike(KRAS_G12C, 0.08),
        Spike(EGFR_DEL19, 0.15),
    ]
    path = write_truth_vcf(tmp_path / "truth.vcf.gz", spikes, "DEMO-X")
    assert Path(str(path) + ".tbi").exists()
    with pysam.VariantFile(str(path)) as vcf:
        assert list(vcf.header.samples) == ["DEMO-X"]
        records = [(r.chrom, r.pos, r.ref, r.alts[0], r.info["VAF"], r.info["ORIGIN"], r.samples[0]["GT"]) for r in vcf]
        assert vcf.header.contigs["chr7"].length == 159345973
    assert records == [
        ("chr7", 55174771, "AGGAATTAAGAGAAGC", "A", pytest.approx(0.15), "somatic", (0, 1)),
        ("chr12", 25245351, "C", "A", pytest.approx(0.08), "somatic", (0, 1)),
        ("chr13", 32340303, "GA", "G", pytest.approx(0.5), "germline", (0, 1)),
    ]


@needs_reference
def test_truth_vcf_refuses_a_wrong_reference_base(tmp_path):
    with pytest.raises(InputError, match="bcftools norm"):
        write_truth_vcf(tmp_path / "t.vcf.gz", [Spike(Variant("chr12", 25245351, "G", "A"), 0.1)], "X")


# --- the demo builder ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def make_demo():
    spec = importlib.util.spec_from_file_location("make_demo", ROOT / "scripts" / "make_demo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_demo"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_resident_id_check_digit(make_demo):
    # the worked example of GB 11643-1999
    assert make_demo.resident_id_check_digit("11010519491231002") == "X"
    assert make_demo.is_valid_resident_id("11010519491231002X")
    assert not make_demo.is_valid_resident_id("110105194912310021")


def test_identity_manifest_is_protected_fake_and_valid(make_demo, tmp_path):
    from oncopanel.report.identity import load_identity_manifest

    path = tmp_path / "identity.yaml"
    make_demo.write_identity(path, make_demo.PATIENTS, make_demo.SIMULATED)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    records = load_identity_manifest(path)  # valid against workflow/schemas/identity.schema.yaml
    assert set(records) == {s.sample_id for s in make_demo.SIMULATED}  # run controls have no identity
    for r in records.values():
        rid = r["resident_id"]
        assert make_demo.is_valid_resident_id(rid), rid
        assert rid.startswith("99")  # no real province: cannot be a real person's number
        assert rid[6:14] == r["birth_date"].replace("-", "")
        assert (int(rid[16]) % 2 == 1) == (r["sex"] == "M")
        assert "演示" in r["hospital"]
    assert records["DEMO-T05"]["patient"] == records["DEMO-G02"]["patient"]
    assert records["DEMO-T05"]["resident_id"] == records["DEMO-G02"]["resident_id"]


def test_demo_sample_sheet_passes_the_workflow_validation(make_demo, tmp_path):
    from oncopanel.samplesheet import read_sample_sheet

    sheet = tmp_path / "samples.tsv"
    rows = make_demo.sheet_rows(
        [*make_demo.SIMULATED, make_demo.NTC, *make_demo.REAL],
        make_demo.paths.ROOT / "demo" / "generated" / "fastq",
        pooled=True,
    )
    make_demo.write_tsv(sheet, make_demo.SHEET_COLUMNS, rows)
    samples = read_sample_sheet(sheet, pooled_batches={make_demo.BATCH})
    assert samples["DEMO-T01"].lanes[0].fastq_1 == "" and samples["DEMO-T01"].lanes[0].i7
    assert len(samples["COLO829T"].lanes) == 4
    assert samples["DEMO-T05"].patient == samples["DEMO-G02"].patient
    assert samples["GIABNEG-A"].control == "negative_control"
    # the run controls: tagged, with their material, and none of a patient's fields
    controls = {s.sample_id: (s.control, s.reference_material) for s in samples.values() if s.is_control}
    assert controls == {
        "DEMO-NTC": ("no_template_control", ""), "NA12878": ("negative_control", "NA12878"),
        "COLO829T": ("positive_control", "COLO829"), "COLO829BL": ("negative_control", "COLO829BL"),
        "GIABNEG-A": ("negative_control", "GIAB"), "GIABNEG-B": ("negative_control", "GIAB"),
    }  # fmt: skip
    for sid in controls:
        s = samples[sid]
        assert (s.patient, s.site, s.specimen_type, s.oncotree_code, s.language) == ("", "", "", "", ""), sid
    assert rows[0]["fastq_1"] == ""  # demultiplexed from the pooled run by the workflow
    for row in rows:
        if row["sample_id"] in {s.sample_id for s in make_demo.REAL}:
            assert (ROOT / row["fastq_1"]).exists() and (ROOT / row["fastq_2"]).exists()


def test_demo_read_budget(make_demo):
    from oncopanel.panels import genes_for, target_bed_rows
    from oncosim.reads import planned_pairs

    for s in make_demo.SIMULATED:
        pairs = planned_pairs(target_bed_rows(genes_for(s.panels), make_demo.TARGET_PADDING), s.depth)
        assert pairs <= 80_000, s.sample_id


def test_demo_artefacts_avoid_spikes_and_hotspots_and_recur_in_ffpe(make_demo):
    injected = make_demo.demo_artefacts(make_demo.SIMULATED, seed=7)
    excluded = set(make_demo.excluded_sites(make_demo.SIMULATED))
    ffpe = [s.sample_id for s in make_demo.SIMULATED if s.ffpe and "EGFR_KRAS" in s.panels]
    recurrent = set.intersection(*({(a.chrom, a.pos) for a in injected[sid]} for sid in ffpe))
    assert len(recurrent) == 3
    for arts in injected.values():
        for a in arts:
            assert (a.chrom, a.pos) not in excluded
            assert 0.01 <= a.fraction <= 0.04
    assert "DEMO-G01" not in injected  # blood stays clean


def test_simref_spikes_are_what_controls_yaml_expects_of_simref(make_demo):
    """The simulated positive control (make_demo.py --simref) passes its own material's criteria by design."""
    from oncopanel.sample_identity import load_criteria

    simref = load_criteria().controls.material("SIMREF")
    assert {(e.variant, e.expected_vaf) for e in simref.expected} == {
        (sp.variant.key, sp.vaf) for sp in make_demo.SIMREF_SPIKES
    }
    assert max(e.min_depth for e in simref.expected) < make_demo.SIMREF_DEPTH
