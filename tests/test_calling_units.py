"""Unit tests of oncopanel.calling: statistics, filters, normalisation, PoN, settings (no external tools)."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from oncopanel.calling import pon
from oncopanel.calling import settings as cs
from oncopanel.calling.evidence import RecordEvidence, homopolymer_run
from oncopanel.calling.filters import (
    FILTERS,
    above_background,
    germline_reasons,
    imbalanced,
    likely_germline,
    somatic_reasons,
)
from oncopanel.calling.freebayes import freebayes_args, target_name_regex
from oncopanel.calling.settings import Balance
from oncopanel.calling.vcf import left_align
from oncopanel.errors import InputError
from oncopanel.model import Variant
from oncopanel.stats import binom_cdf, wilson_interval

ROOT = Path(__file__).resolve().parent.parent
S = cs.load()


def ev(**kw) -> RecordEvidence:
    base = dict(chrom="chr12", pos=25245350, ref="C", alt="T", qual=50.0, depth=400, ref_reads=360, alt_reads=40,
                alt_fwd=20, alt_rev=20, ref_fwd=180, ref_rev=180, alt_left=20, alt_right=20, alt_mapq=60,
                alt_qual_sum=40 * 35)  # fmt: skip
    base.update(kw)
    return RecordEvidence(**base)


def test_config_block_matches_schema():
    schema = yaml.safe_load((ROOT / "workflow/schemas/calling.schema.yaml").read_text())
    block = yaml.safe_load((ROOT / "config/calling.yaml").read_text())["calling"]
    jsonschema.validate(block, schema)
    bad = {**block, "somatic": {**block["somatic"], "pon": {"min_normals": 0}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_binomial_and_wilson():
    assert binom_cdf(0, 5, 0.5) == pytest.approx(1 / 32)
    assert binom_cdf(2, 4, 0.5) == pytest.approx(11 / 16)
    assert binom_cdf(5, 5, 0.3) == 1.0
    lo, hi = wilson_interval(95, 100)
    assert lo == pytest.approx(0.8882, abs=1e-3) and hi == pytest.approx(0.9785, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_balance_test_needs_small_and_improbable_minor_side():
    rule = Balance(0.1, 0.1)
    assert imbalanced(16, 0, 0.5, rule)  # 16 reads all one side
    assert not imbalanced(8, 8, 0.5, rule)
    assert not imbalanced(3, 0, 0.5, rule)  # 3 reads: one side by chance 1 in 4
    assert not imbalanced(18, 2, 0.5, rule)  # minor side 10%: not below min_minor_fraction


def test_somatic_filters_one_reason_each():
    f = S.somatic_filters
    assert somatic_reasons(ev(), f) == []
    assert somatic_reasons(ev(alt_fwd=40, alt_rev=0), f) == ["strand_bias"]
    assert somatic_reasons(ev(alt_left=40, alt_right=0), f) == ["read_position"]
    assert somatic_reasons(ev(alt_mapq=20), f) == ["low_mapping_quality"]
    assert somatic_reasons(ev(alt_qual_sum=40 * 15), f) == ["low_base_quality"]
    low = ev(alt_reads=3, ref_reads=397, alt_fwd=2, alt_rev=1, alt_left=2, alt_right=1, alt_qual_sum=105)
    assert "low_alt_reads" in somatic_reasons(low, f)
    indel = ev(ref="CA", alt="C", alt_reads=20, ref_reads=380, alt_fwd=10, alt_rev=10, alt_left=10, alt_right=10,
               alt_qual_sum=700)  # fmt: skip
    assert somatic_reasons(indel, f, homopolymer_len=8) == ["homopolymer"]
    assert somatic_reasons(indel, f, homopolymer_len=4) == []


def test_damage_substitutions_need_reads_in_both_orientations():
    from oncopanel.calling.evidence import ReadEvidence

    f = S.somatic_filters
    reads = ReadEvidence(alt_f1r2=5, alt_f2r1=1, ref_f1r2=185, ref_f2r1=213)  # an FFPE C>T plus one error read
    six = dict(alt_reads=6, ref_reads=401, depth=407, alt_fwd=4, alt_rev=2, alt_left=3, alt_right=3, alt_qual_sum=210)
    assert "orientation_bias" in somatic_reasons(ev(ref="C", alt="T", **six), f, reads)
    assert "orientation_bias" not in somatic_reasons(ev(ref="A", alt="G", **six), f, reads)
    balanced = ReadEvidence(alt_f1r2=3, alt_f2r1=3, ref_f1r2=185, ref_f2r1=213)
    assert "orientation_bias" not in somatic_reasons(ev(ref="C", alt="T", **six), f, balanced)


def test_background_test_scales_with_depth():
    bg = S.somatic_filters.background
    assert above_background(ev(alt_reads=20, depth=1000), bg)  # 2% at 1000x
    assert not above_background(ev(alt_reads=6, depth=2000, ref_reads=1994), bg)  # 0.3% at 2000x: noise


def test_germline_filters_and_likely_germline():
    g = S.germline_filters
    good = ev(genotype=(0, 1), gq=99.0, qual=300.0, depth=60, ref_reads=30, alt_reads=30)
    assert germline_reasons(good, g) == []
    assert germline_reasons(ev(genotype=(0, 0), gq=50.0, depth=60), g) == ["not_called"]
    assert set(germline_reasons(ev(genotype=(0, 1), gq=5.0, qual=3.0, depth=8), g)) == {
        "low_qual",
        "low_depth",
        "low_gq",
    }
    rule = S.somatic_filters.likely_germline
    assert likely_germline(200, 400, rule) and likely_germline(97, 100, rule)
    assert likely_germline(17, 43, rule)  # 0.40 at 43x: consistent with a heterozygote
    assert not likely_germline(150, 500, rule)  # 0.30 at 500x is not
    assert not likely_germline(40, 400, rule) and not likely_germline(145, 214, rule)  # COLO829 BRAF V600E 0.68


def test_homopolymer_run():
    assert homopolymer_run("GCAAAAAAAAT", 2) == 8
    assert homopolymer_run("GCAT", 1) == 1
    assert homopolymer_run("GCAT", 9) == 0


def test_left_align_shifts_indels_into_the_vcf_form():
    seq = "NGCAAAAAAAATG"  # 1-based: pos 3 = C, the A-run is 4..11

    def fetch(_chrom: str, start0: int, end: int) -> str:
        return seq[start0:end]

    # deleting the last A of the run, written at its 3' end, moves to the base before the run
    assert left_align(Variant("c", 10, "AA", "A"), fetch) == Variant("c", 3, "CA", "C")
    assert left_align(Variant("c", 11, "A", "AA"), fetch) == Variant("c", 3, "C", "CA")
    assert left_align(Variant("c", 5, "A", "G"), fetch) == Variant("c", 5, "A", "G")
    assert left_align(Variant("c", 4, "AAT", "AGT"), fetch) == Variant("c", 5, "A", "G")


def test_pon_round_trip_and_minimum_normals(tmp_path):
    panel = pon.PanelOfNormals("B1", ("N1", "N2", "N3"), {"chr7:140753300:T>C": 2, "chr7:1:A>G": 1})
    pon.write(panel, tmp_path / "b.tsv")
    back = pon.read(tmp_path / "b.tsv")
    assert back == panel
    assert back.flags("chr7:140753300:T>C", S.pon) and not back.flags("chr7:1:A>G", S.pon)
    two = pon.PanelOfNormals("B2", ("N1", "N2"), {"chr7:140753300:T>C": 2})
    assert not two.flags("chr7:140753300:T>C", S.pon)
    assert two.status(S.pon).startswith("not_applied") and "needs >= 3" in two.status(S.pon)


def test_a_normal_carries_an_allele_it_would_have_been_called_for():
    """The PoN's carrier rule (counts from rule calling_background): the somatic freebayes candidate floors (-C 3
    fragments, -F 0.5%) and the PoN's own min_alt_reads, whichever is stricter."""
    fb = S.somatic_freebayes
    assert (fb.min_alternate_count, fb.min_alternate_fraction, S.pon.min_alt_reads) == (3, 0.005, 2)
    assert pon.carries(3, 100, S.pon, fb)
    assert not pon.carries(2, 100, S.pon, fb)  # 2 fragments: freebayes never proposed it in the normal
    assert not pon.carries(4, 1000, S.pon, fb)  # 0.4% < -F 0.5%
    assert pon.carries(5, 1000, S.pon, fb) and not pon.carries(0, 0, S.pon, fb)
    panel = pon.from_counts("B1", ["N2", "N1", "N3"], {"chr7:140753300:T>C": 2, "chr7:1:A>G": 0})
    assert panel.normals == ("N1", "N2", "N3") and panel.counts == {"chr7:140753300:T>C": 2}


def test_freebayes_arguments_come_from_config():
    som = " ".join(freebayes_args(S.freebayes("somatic")))
    assert "--pooled-continuous" in som and "--min-alternate-fraction 0.005" in som
    assert "--limit-coverage 4000" in som and "--use-best-n-alleles 4" in som
    germ = " ".join(freebayes_args(S.freebayes("germline")))
    assert "--genotype-qualities" in germ and "--pooled-continuous" not in germ
    assert target_name_regex(("BRCA1", "BRCA2")) == "^(BRCA1|BRCA2)_"
    with pytest.raises(ValueError):
        target_name_regex(["BRCA1'; rm -rf /"])


def test_filter_ids_are_valid_vcf_ids():
    assert all(re.fullmatch(r"[a-z_]+", fid) and desc for fid, desc in FILTERS.items())


def test_overlapping_targets_are_merged():
    from oncopanel.calling.run import merge_intervals

    rows = [("chr1", 15, 30, "b"), ("chr1", 10, 20, "a"), ("chr1", 30, 40, "c"), ("chr1", 50, 60, "d")]
    assert merge_intervals(rows) == [("chr1", 10, 40, "a"), ("chr1", 50, 60, "d")]


def test_target_selection_over_several_beds_by_mode(tmp_path):
    """The panel-of-normals union (several BEDs, duplicates merged) and the germline selection (gene names)."""
    from oncopanel.calling.run import select_targets

    a, b = tmp_path / "a.bed", tmp_path / "b.bed"
    a.write_text("chr7\t100\t200\tEGFR_exon19\nchr17\t50\t90\tBRCA1_exon2\n")
    b.write_text("chr7\t150\t250\tEGFR_exon19\nchr17\t50\t90\tBRCA1_exon2\nchr13\t5\t9\tBRCA2_exon3\n")
    out = tmp_path / "out.bed"
    assert select_targets([a, b], None, out)
    assert out.read_text() == "chr13\t5\t9\tBRCA2_exon3\nchr17\t50\t90\tBRCA1_exon2\nchr7\t100\t250\tEGFR_exon19\n"
    assert select_targets(b, ("BRCA1",), out) and out.read_text() == "chr17\t50\t90\tBRCA1_exon2\n"
    assert not select_targets(a, ("PALB2",), out) and out.read_text() == ""


def test_freebayes_command_from_settings(tmp_path):
    """The one command the rule, tests and benchmark run: the settings' arguments over the regions file."""
    from oncopanel.calling.freebayes import freebayes_args
    from oncopanel.calling.window import freebayes_pipeline

    cmd = freebayes_pipeline("s.bam", "r.bed", freebayes_args(S.somatic_freebayes), "ref.fa", "ref.fa.gz", "out.vcf.gz")
    fb, norm = cmd.split(" | ")
    args = freebayes_args(S.somatic_freebayes)
    assert fb == " ".join(["freebayes", "-f", "ref.fa", "-t", "r.bed", *args, "s.bam"])
    assert norm == "bcftools norm --no-version -f ref.fa.gz -m- -Oz -o out.vcf.gz"


def test_calling_regions_by_mode_reach_and_empty(tmp_path):
    """A target set's regions in a mode: merged, refused beyond the calling copy's reach, and a 1-bp region of the
    first contig when the mode leaves no target (freebayes then writes a header-only VCF)."""
    from oncopanel.calling.run import calling_regions

    fasta = tmp_path / "ref.fa"
    Path(f"{fasta}.fai").write_text("chr1\t1000\t6\t60\t61\n")
    ref = tmp_path / "ref.fa.gz"
    Path(f"{ref}.fai").write_text("chr1\t1000\t6\t60\t61\n")
    targets = tmp_path / "t.bed"
    targets.write_text("chr1\t10\t20\tKRAS_exon2\nchr1\t15\t30\tKRAS_exon2\n")
    out = tmp_path / "r.bed"
    assert calling_regions(targets, "somatic", fasta, ref, out).read_text() == "chr1\t10\t30\tKRAS_exon2\n"
    # the calling copy cut short of a target (freebayes loads whole contigs, so the copy stops past the panels'
    # transcripts): refused, never called on a stump
    Path(f"{ref}.fai").write_text("chr1\t100000\t6\t60\t61\n")
    with pytest.raises(InputError, match="beyond the calling reference"):
        calling_regions(targets, "somatic", fasta, ref, out)
    # KRAS is no germline gene: nothing to call in germline mode
    assert calling_regions(targets, "germline", fasta, ref, out).read_text() == "chr1\t0\t1\tno_germline_target\n"


def test_regions_reference_keeps_only_the_regions_contigs_cut_past_their_last_region(tmp_path, monkeypatch):
    """freebayes' reference for a regions file: the contigs the regions name, each cut REACH_MARGIN past its last
    region (a contig shorter than that whole), names and bases as the calling copy's; a stale copy is replaced."""
    import pysam

    from oncopanel.calling import run

    monkeypatch.setattr(run, "REACH_MARGIN", 50)
    seqs = {"chr1": "ACGT" * 100, "chr2": "GATTACA" * 10, "chr7": "TTGCA" * 80}
    fasta = tmp_path / "calling.fa"
    fasta.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    pysam.faidx(str(fasta))
    regions = tmp_path / "r.bed"
    regions.write_text("chr7\t10\t40\tEGFR_exon18\nchr7\t100\t120\tEGFR_exon19\nchr2\t5\t30\tX_exon1\n")
    out = tmp_path / "r.fa"
    out.write_text(">stale\nN\n")
    run.regions_reference(regions, fasta, out)
    with pysam.FastaFile(str(out)) as fa:
        # chr2 (70 bp) whole; chr1 gone
        assert dict(zip(fa.references, fa.lengths, strict=True)) == {"chr2": 70, "chr7": 170}
        assert fa.fetch("chr7") == seqs["chr7"][:170]
        assert fa.fetch("chr2") == seqs["chr2"]
    # rule calling_regions' output is written under its own name: a job killed mid-write leaves Snakemake an
    # incomplete output to remove, never a temporary file of its own in the results (the kill/resume test found a
    # per-process temporary name left behind); the shared calling copy keeps its atomic rename
    commands = []
    real_shell = run._run_shell
    monkeypatch.setattr(run, "_run_shell", lambda cmd, log=None: commands.append(cmd) or real_shell(cmd, log))
    run.regions_reference(regions, fasta, out)
    run.plain_fasta(fasta, tmp_path / "copy.fa", reach={"chr2": 70})
    assert f"> {out} " in commands[0] and ".tmp" not in commands[0]
    assert ".tmp" in commands[1] and (tmp_path / "copy.fa.fai").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "calling.fa", "calling.fa.fai", "copy.fa", "copy.fa.fai", "r.bed", "r.fa", "r.fa.fai"
    ]  # fmt: skip


def test_calling_rules_run_the_package_not_their_own_commands():
    """calling.smk holds no calling command of its own: the rules are adapters over oncopanel.calling, and rule
    calling_freebayes runs the package's step (oncopanel.calling.window.call_freebayes) after its version lines."""
    text = (ROOT / "workflow" / "rules" / "calling.smk").read_text()
    assert "awk" not in text and "freebayes -f" not in text
    # every shell: is the package's light entry point (oncopanel/steps.py), but calling_freebayes' starts with the
    # version lines provenance reads
    shells = [block.split("\n", 2)[1].strip() for block in text.split("shell:")[1:]]
    steps = [line for line in shells if line.startswith('f"{STEP} ')]
    assert len(steps) == len(shells) - 1, shells
    freebayes_rule = text.split("rule calling_freebayes:")[1].split("\nrule ")[0]
    assert 'f"{STEP} calling_freebayes --log {{log:q}} {{params.job:q}}"' in freebayes_rule.split("shell:")[1]
    assert text.count("rule calling_freebayes:") == 1
    # each sample is called once: the panel of normals comes from calling_background's counts, not a second pass
    assert "use rule calling_freebayes as" not in text and "pon=f\"{R}/calls/pon/{{batch}}.pon.tsv\"" in text


def _read(seq: str, start: int, cigar: list[tuple[int, int]]):
    import pysam

    header = pysam.AlignmentHeader.from_dict({"SQ": [{"SN": "c", "LN": 1000}]})
    a = pysam.AlignedSegment(header)
    a.query_name, a.query_sequence, a.reference_id, a.reference_start = "r", seq, 0, start
    a.cigartuples, a.mapping_quality = cigar, 60
    a.query_qualities = pysam.qualitystring_to_array("I" * len(seq))
    return a


def test_read_support_for_snv_indel_and_complex_alleles():
    from oncopanel.counting import haplotypes, read_call
    from oncopanel.model import Variant

    ref = "ACGTGTCAGT"  # reference 0-based 100..109, between 40 bases of flank on each side
    flank = "ACCTTGAACGTTAGCATCGATCCAGTTGACAATCGGATCA"
    text = "N" * 60 + flank + ref + flank

    class Source:
        def fetch(self, chrom: str, start0: int, end: int) -> str:
            return text[start0:end]

    def read(middle: str, cigar: list[tuple[int, int]]):
        return _read(text[80:100] + middle + text[110:130], 80, [(0, 20), *cigar, (0, 20)])

    def call(r, pos: int, ref_allele: str, alt_allele: str) -> str | None:
        return read_call(r, haplotypes(Variant("c", pos, ref_allele, alt_allele), Source()), 20)

    assert call(read(ref, [(0, 10)]), 104, "T", "A") == "ref"
    assert call(read("ACGAGTCAGT", [(0, 10)]), 104, "T", "A") == "alt"
    # deletion of GT after the anchor T at 104 (VCF TGT>T): ACGT|CAGT, whichever GT the aligner removed
    assert call(read("ACGTCAGT", [(0, 4), (2, 2), (0, 4)]), 104, "TGT", "T") == "alt"
    assert call(read("ACGTCAGT", [(0, 2), (2, 2), (0, 6)]), 104, "TGT", "T") == "alt"
    assert call(read(ref, [(0, 10)]), 104, "TGT", "T") == "ref"
    # complex GT>C at 105: the read's bases between the flanks are "C"
    assert call(read("ACGTCCAGT", [(0, 5), (2, 1), (0, 4)]), 105, "GT", "C") == "alt"
    # another allele at the same place counts toward depth only
    assert call(read("ACGTGACAGT", [(0, 10)]), 104, "TGT", "T") == "other"


def test_recounted_evidence_keeps_freebayes_mean_base_quality():
    from oncopanel.counting import AlleleDepth

    fb = ev(depth=120, ref_reads=100, alt_reads=12, alt_qual_sum=360.0, alt_qual_reads=12)
    counted = fb.with_counts(AlleleDepth(alt=9, ref=88, other=1))
    assert (counted.depth, counted.ref_reads, counted.alt_reads) == (98, 88, 9)
    assert counted.vaf == pytest.approx(9 / 98)
    assert counted.mean_alt_base_quality == pytest.approx(30.0)  # QA over the reads freebayes summed it over


def test_read_end_artefact_is_tested_against_the_reference_reads_at_the_position():
    """An end artefact within a few bases of read ends: median 5 over 19 fragments passes the fixed floor (< 5)
    but is improbable where the reference reads place the position uniformly along 150-bp reads; at a target
    edge, where every read there ends near the position, the same median is what a true allele shows."""
    from oncopanel.calling.filters import ends_improbable
    rule = 0.001
    uniform = tuple(sorted(list(range(75)) * 20))  # nearer-end distances of 150-bp reads covering a position
    assert ends_improbable(5, 19, uniform, rule)
    assert not ends_improbable(5, 3, uniform, rule)  # 2 of 3 within 5 bp: P = 0.018, not enough evidence
    assert not ends_improbable(18, 19, uniform, rule)  # 10 of 19 within 18 bp (p 0.25): P = 0.009, a true allele
    assert not ends_improbable(30, 19, uniform, rule)
    assert not ends_improbable(5, 19, tuple(sorted(list(range(12)) * 20)), rule)  # a target edge: reads end there
    assert not ends_improbable(5, 19, (), rule)  # no reference reads: nothing to compare with


def test_read_end_artefact_with_few_fragments_is_caught_by_the_farthest_one():
    """low_vaf.py's false PASS (1000x, an injected read-end error at 0.6%): 7 fragments at 0,5,5,5,6,7,7 bases
    from their read ends. The median (5, reference share ~0.09) gives P = 0.002, not enough; that ALL seven lie
    within 7 bases (share ~0.11) gives ~2e-7. A true allele's seven fragments spread along the reads pass."""
    from oncopanel.calling.filters import ends_improbable

    rule = 0.001
    uniform = tuple(sorted(list(range(75)) * 20))
    assert not ends_improbable(5, 7, uniform, rule)  # the median alone
    assert ends_improbable(5, 7, uniform, rule, alt_max=7)
    assert ends_improbable(5, 7, uniform, rule, alt_max=7, all_max_p=1e-5)  # (8/75)^7 = 1.6e-7: the config's tail
    # a true 2000x SNV whose 30 fragments all fell within 57 of 74 bases by chance ((58/75)^30 = 4e-4): lost at
    # the median's tail, kept at the config's
    assert ends_improbable(30, 30, uniform, rule, alt_max=57)
    assert not ends_improbable(30, 30, uniform, rule, alt_max=57, all_max_p=1e-5)
    assert not ends_improbable(35, 7, uniform, rule, alt_max=70)  # 3, 12, 20, 35, 50, 60, 70
    assert not ends_improbable(9, 5, uniform, rule, alt_max=20)  # five within 20 bases: (21/75)^5 = 0.002
    assert not ends_improbable(5, 7, tuple(sorted(list(range(12)) * 20)), rule, alt_max=7)  # a target edge
