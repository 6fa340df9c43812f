"""HGVS naming and consequences on the MANE Select models, written as the expected strings.

Expected names are those ClinVar / the HGVS recommendations give for these alleles (GRCh38, MANE Select).
"""

from __future__ import annotations

import random

import pytest

from oncopanel.annotate.annotator import Annotator
from oncopanel.annotate.transcripts import load_transcripts
from oncopanel.errors import InputError
from oncopanel.model import Variant


@pytest.fixture(scope="module")
def annotator() -> Annotator:
    return Annotator()


# (chrom, pos, ref, alt) -> gene, c., p., one-letter change, consequence
NAMED = [
    # KRAS (minus strand) hotspots
    (("chr12", 25245351, "C", "A"), "KRAS", "c.34G>T", "p.(Gly12Cys)", "G12C", ("missense_variant",)),
    (("chr12", 25245350, "C", "T"), "KRAS", "c.35G>A", "p.(Gly12Asp)", "G12D", ("missense_variant",)),
    # EGFR exon 19 deletion: GGAATTAAGAGAAGC at chr7:55174772-55174786, VCF-anchored on the A before it
    (
        ("chr7", 55174771, "AGGAATTAAGAGAAGC", "A"),
        "EGFR",
        "c.2235_2249del",
        "p.(Glu746_Ala750del)",
        "E746_A750del",
        ("inframe_deletion",),
    ),
    (("chr7", 55191822, "T", "G"), "EGFR", "c.2573T>G", "p.(Leu858Arg)", "L858R", ("missense_variant",)),
    (("chr7", 55181378, "C", "T"), "EGFR", "c.2369C>T", "p.(Thr790Met)", "T790M", ("missense_variant",)),
    (("chr7", 140753336, "A", "T"), "BRAF", "c.1799T>A", "p.(Val600Glu)", "V600E", ("missense_variant",)),
    # BRCA founder frameshifts: 3' rule on the minus (BRCA1) and plus (BRCA2) strands, dup not ins
    (
        ("chr17", 43124027, "ACT", "A"),
        "BRCA1",
        "c.68_69del",
        "p.(Glu23ValfsTer17)",
        "E23Vfs*17",
        ("frameshift_variant",),
    ),
    (
        ("chr13", 32340300, "GT", "G"),
        "BRCA2",
        "c.5946del",
        "p.(Ser1982ArgfsTer22)",
        "S1982Rfs*22",
        ("frameshift_variant",),
    ),
    (
        ("chr17", 43057062, "T", "TG"),
        "BRCA1",
        "c.5266dup",
        "p.(Gln1756ProfsTer74)",
        "Q1756Pfs*74",
        ("frameshift_variant",),
    ),
    # nonsense, synonymous, start loss
    (("chr17", 43082434, "G", "A"), "BRCA1", "c.4327C>T", "p.(Arg1443Ter)", "R1443*", ("stop_gained",)),
    (("chr7", 55191823, "G", "A"), "EGFR", "c.2574G>A", "p.(Leu858=)", "L858=", ("synonymous_variant",)),
    (("chr17", 43124096, "T", "C"), "BRCA1", "c.1A>G", "p.(Met1?)", "M1?", ("start_lost",)),
    # EGFR exon 20 insertions: a duplication and an insertion at protein level
    (
        ("chr7", 55181308, "G", "GCCAGCGTGG"),
        "EGFR",
        "c.2300_2308dup",
        "p.(Ala767_Val769dup)",
        "A767_V769dup",
        ("inframe_insertion",),
    ),
    (
        ("chr7", 55181319, "C", "CGGT"),
        "EGFR",
        "c.2310_2311insGGT",
        "p.(Asp770_Asn771insGly)",
        "D770_N771insG",
        ("inframe_insertion",),
    ),
    # delins: KRAS c.38_39delinsTT (GGC -> GTT) is a single missense
    (("chr12", 25245346, "GC", "AA"), "KRAS", "c.38_39delinsTT", "p.(Gly13Val)", "G13V", ("missense_variant",)),
    # other exon 19/20 forms and common hotspots (ClinVar names)
    (
        ("chr7", 55174772, "GGAATTAAGAGAAGCA", "G"),
        "EGFR",
        "c.2236_2250del",
        "p.(Glu746_Ala750del)",
        "E746_A750del",
        ("inframe_deletion",),
    ),
    (
        ("chr7", 55174774, "AATTAAGAGAAGCAACATC", "T"),
        "EGFR",
        "c.2237_2255delinsT",
        "p.(Glu746_Ser752delinsVal)",
        "E746_S752delinsV",
        ("inframe_deletion",),
    ),
    (
        ("chr7", 55181311, "A", "AGCGTGGACA"),
        "EGFR",
        "c.2303_2311dup",
        "p.(Ser768_Asp770dup)",
        "S768_D770dup",
        ("inframe_insertion",),
    ),
    (("chr3", 179234297, "A", "G"), "PIK3CA", "c.3140A>G", "p.(His1047Arg)", "H1047R", ("missense_variant",)),
    (("chr17", 7674220, "C", "T"), "TP53", "c.743G>A", "p.(Arg248Gln)", "R248Q", ("missense_variant",)),
    (("chr1", 114713908, "T", "C"), "NRAS", "c.182A>G", "p.(Gln61Arg)", "Q61R", ("missense_variant",)),
    # the GRCh38 base at BRCA2 c.7397 is T: the common allele reads as Val2466Ala
    (("chr13", 32355250, "T", "C"), "BRCA2", "c.7397T>C", "p.(Val2466Ala)", "V2466A", ("missense_variant",)),
    # BRCA1 5382insC written as an insertion in the VCF (G>GG on the plus strand) is named as the dup
    (
        ("chr17", 43057065, "G", "GG"),
        "BRCA1",
        "c.5266dup",
        "p.(Gln1756ProfsTer74)",
        "Q1756Pfs*74",
        ("frameshift_variant",),
    ),
    # intronic and UTR positions
    (
        ("chr17", 43090943, "C", "T"),
        "BRCA1",
        "c.4185+1G>A",
        "",
        "",
        ("splice_donor_variant", "intron_variant"),
    ),
    (
        ("chr17", 43124117, "T", "C"),
        "BRCA1",
        "c.-19-2A>G",
        "",
        "",
        ("splice_acceptor_variant", "intron_variant"),
    ),
    (("chr13", 32315537, "C", "T"), "BRCA2", "c.-170C>T", "", "", ("5_prime_UTR_variant",)),
    (("chr13", 32398775, "T", "C"), "BRCA2", "c.*5T>C", "", "", ("3_prime_UTR_variant",)),
    (("chr13", 32315728, "G", "A"), "BRCA2", "c.-40+61G>A", "", "", ("intron_variant",)),
]


@pytest.mark.parametrize(("vcf", "gene", "hgvs_c", "hgvs_p", "short", "consequence"), NAMED)
def test_names(annotator, vcf, gene, hgvs_c, hgvs_p, short, consequence):
    a = annotator.annotate(Variant(*vcf))
    assert (a.gene, a.hgvs_c, a.hgvs_p, a.protein_change, a.consequence) == (
        gene,
        hgvs_c,
        hgvs_p,
        short,
        consequence,
    )


def test_transcript_exon_intron_and_g(annotator):
    a = annotator.annotate(Variant("chr17", 43124027, "ACT", "A"))
    assert (a.transcript, a.exon, a.intron) == ("NM_007294.4", "2/23", "")
    # g. is shifted 3' on the plus strand, the opposite way from c. on BRCA1
    assert a.hgvs_g == "NC_000017.11:g.43124030_43124031del"
    splice = annotator.annotate(Variant("chr17", 43090943, "C", "T"))
    assert (splice.exon, splice.intron) == ("", "11/22")
    assert annotator.annotate(Variant("chr17", 43057062, "T", "TG")).hgvs_g == "NC_000017.11:g.43057065dup"


def test_big_exon_is_mane_exon_10(annotator):
    # BRCA1 legacy "exon 11" is exon 10 of NM_007294.4
    a = annotator.annotate(Variant("chr17", 43093000, "C", "T"))
    assert a.exon == "10/23"


def test_splice_region_near_exon_edge(annotator):
    # BRCA1 c.4185+3 (intron) and c.4185 (last exon base): splice region, not donor
    plus3 = annotator.annotate(Variant("chr17", 43090941, "T", "C"))
    assert plus3.hgvs_c == "c.4185+3A>G"
    assert plus3.consequence == ("splice_region_variant", "intron_variant")
    last = annotator.annotate(Variant("chr17", 43090944, "C", "T"))
    assert last.hgvs_c == "c.4185G>A"
    assert "splice_region_variant" in last.consequence


def test_off_panel_is_intergenic_not_an_error(annotator):
    a = annotator.annotate(Variant("chr1", 1000, "A", "T"))
    assert (a.gene, a.transcript, a.consequence, a.hgvs_c, a.hgvs_p) == ("", "", ("intergenic_variant",), "", "")
    assert a.hgvs_g == "NC_000001.11:g.1000A>T"
    # inside an embedded locus but outside the transcript
    near = annotator.annotate(Variant("chr17", 43030000, "T", "G"))
    assert near.consequence == ("intergenic_variant",)


def test_ensembl_style_chromosome_names(annotator):
    a = annotator.annotate(Variant("12", 25245351, "C", "A"))
    assert (a.gene, a.hgvs_c, a.hgvs_g) == ("KRAS", "c.34G>T", "NC_000012.12:g.25245351C>A")


def test_ref_mismatch_is_an_input_error(annotator):
    with pytest.raises(InputError, match="does not match GRCh38"):
        annotator.annotate(Variant("chr12", 25245351, "G", "A"))


def test_stop_lost_extension(annotator):
    # EGFR stop codon TGA -> TGG
    a = annotator.annotate(annotator.variant_from_c("EGFR", "c.3633A>G"))
    assert a.hgvs_p.startswith("p.(Ter1211TrpextTer")
    assert a.consequence == ("stop_lost",)


def test_models_translate_to_known_proteins(annotator):
    lengths = {"BRCA1": 1863, "BRCA2": 3418, "EGFR": 1210, "KRAS": 188}
    for t in load_transcripts():
        protein = annotator.transcript_sequence(t).protein
        # the table's CDS includes the stop codon: exactly one stop, at the end
        assert protein.startswith("M") and protein.endswith("*") and protein.count("*") == 1
        assert len(protein) - 1 == t.protein_length == lengths.get(t.gene, t.protein_length)


def test_models_have_canonical_splice_sites(annotator):
    from oncopanel.sequence import reverse_complement as revcomp

    gc_donors = []
    for t in load_transcripts():
        for k, ((s1, e1), (s2, e2)) in enumerate(zip(t.exons, t.exons[1:], strict=False), start=1):
            lo, hi = (e2 + 1, s1 - 1) if t.minus else (e1 + 1, s2 - 1)
            intron = annotator.sequence.fetch(t.chrom, lo - 1, hi)
            intron = revcomp(intron) if t.minus else intron
            assert intron[:2] in ("GT", "GC") and intron[-2:] == "AG", (t.gene, lo, hi)
            if intron[:2] == "GC":
                gc_donors.append(f"{t.gene} intron {k}")
    # the two known minor-class GC-AG introns (BRCA2 c.7976+2 is C)
    assert gc_donors == ["BRCA2 intron 17", "ALK intron 8"]


def test_c_to_genomic_and_back(annotator):
    for gene, c in [("KRAS", "34"), ("BRCA1", "-19-2"), ("BRCA1", "4185+1"), ("BRCA2", "*5"), ("EGFR", "2573")]:
        t = annotator.transcript(gene)
        assert t.c_number(t.locate(t.genomic(c))) == c


def test_c_names_round_trip_to_the_same_allele(annotator):
    """Random SNVs, deletions, insertions, duplications and delins anywhere on the ten transcripts."""
    rng = random.Random(38)
    for _ in range(400):
        t = rng.choice(annotator.transcripts)
        pos = rng.randint(t.start + 20, t.end - 20)
        size = rng.choice([1, 2, 3, 4, 9])
        seq = annotator.sequence.fetch(t.chrom, pos - 1, pos + size + 1)
        kind = rng.choice(["snv", "del", "ins", "dup", "delins"])
        if kind == "snv":
            v = Variant(t.chrom, pos, seq[0], "ACGT".replace(seq[0], "")[rng.randrange(3)])
        elif kind == "del":
            v = Variant(t.chrom, pos, seq[: size + 1], seq[0])
        elif kind == "ins":
            v = Variant(t.chrom, pos, seq[0], seq[0] + "".join(rng.choice("ACGT") for _ in range(size)))
        elif kind == "dup":
            v = Variant(t.chrom, pos, seq[0], seq[: size + 1])
        else:
            alt = "".join(rng.choice("ACGT") for _ in range(2))
            if alt == seq[:size]:
                continue
            v = Variant(t.chrom, pos, seq[:size], alt)
        a = annotator.annotate(v)
        assert annotator.same_allele(annotator.variant_from_c(t.accession, a.hgvs_c), v), (v, a.hgvs_c)


def _exon_end_duplications(annotator: Annotator) -> list[tuple[str, Variant]]:
    """One-base duplications of every coding exon's last base (transcript order) that stay there after the 3'
    shift (the next intronic base differs), on the ten MANE models."""
    out = []
    for t in annotator.transcripts:
        for s, e in t.exons[:-1]:
            g = s if t.minus else e  # the exon's last base on the transcript strand
            if not t.cds_first_index <= t.locate(g).index <= t.cds_last_index:
                continue
            base = annotator.sequence.fetch(t.chrom, g - 1, g)
            beyond = annotator.sequence.fetch(t.chrom, g - 2, g - 1) if t.minus else annotator.sequence.fetch(
                t.chrom, g, g + 1
            )
            if beyond != base:
                out.append((t.gene, Variant(t.chrom, g, base, base + base)))
    return out


def test_every_exon_end_duplication_gets_its_protein_change(annotator):
    cases = _exon_end_duplications(annotator)
    assert len(cases) == 32
    named = {}
    for gene, v in cases:
        a = annotator.annotate(v)
        assert a.gene == gene
        assert a.hgvs_c.endswith("dup") and "+" not in a.hgvs_c and "-" not in a.hgvs_c, a.hgvs_c
        assert a.hgvs_p.startswith("p.(") and a.hgvs_p != "p.?", (a.hgvs_c, a.hgvs_p)
        assert "intron_variant" not in a.consequence, (a.hgvs_c, a.consequence)
        assert {"frameshift_variant", "inframe_insertion"} & set(a.consequence), (a.hgvs_c, a.consequence)
        assert a.intron == "" and a.exon, (a.hgvs_c, a.exon, a.intron)
        named[f"{gene}:{a.hgvs_c}"] = a.hgvs_p
    assert named["BRCA1:c.4986dup"] == "p.(Met1663TyrfsTer16)"
    assert named["BRCA2:c.681dup"] == "p.(Asn228Ter)"
    assert {"BRCA1:c.134dup", "BRCA1:c.5152dup", "EGFR:c.2283dup"} <= set(named)


def test_intronic_duplication_next_to_an_exon_stays_intronic(annotator):
    a = annotator.annotate(annotator.variant_from_c("BRCA2", "c.681+1dup"))
    assert a.hgvs_c == "c.681+1dup" and a.hgvs_p == ""
    assert "intron_variant" in a.consequence
