"""annotation/hotspots.tsv checked against the GRCh38 reference and the MANE Select transcripts."""

from __future__ import annotations

import pytest

from oncopanel.annotate.protein import translate
from oncopanel.hotspots import load_hotspots
from oncopanel.panels import coding_exons, load_panels, load_transcripts
from oncopanel.reference import SliceSequence
from oncopanel.sequence import reverse_complement

HOTSPOTS = load_hotspots()


@pytest.fixture(scope="module")
def seq() -> SliceSequence:
    return SliceSequence()


def cds_positions(gene: str) -> list[int]:
    """Genomic position of each CDS base, in transcript order (c.1 first)."""
    tx = load_transcripts()[gene]
    pos = [p for start, end in coding_exons(tx) for p in range(start, end + 1)]
    return pos if tx.strand == "+" else pos[::-1]


def test_required_hotspots_present():
    ids = {h.hotspot_id for h in HOTSPOTS}
    required = {
        "KRAS_G12", "KRAS_G13", "KRAS_Q61", "KRAS_A146", "EGFR_G719", "EGFR_EX19DEL", "EGFR_EX20INS",
        "EGFR_T790", "EGFR_C797", "EGFR_L858", "EGFR_L861", "EGFR_S768", "BRAF_V600", "PIK3CA_E542",
        "PIK3CA_E545", "PIK3CA_H1047", "NRAS_G12", "NRAS_G13", "NRAS_Q61",
    }  # fmt: skip
    assert required <= ids
    assert len(ids) == len(HOTSPOTS)  # ids are unique


def test_codons_match_reference_and_transcript(seq):
    for h in HOTSPOTS:
        if h.kind != "codon":
            continue
        tx = load_transcripts()[h.gene]
        assert (h.transcript, h.chrom, h.strand) == (tx.refseq, tx.chrom, tx.strand), h.hotspot_id
        codon_pos = cds_positions(h.gene)[3 * (h.aa_start - 1) : 3 * h.aa_start]
        assert (h.start, h.end) == (min(codon_pos), max(codon_pos)), h.hotspot_id
        plus = seq.fetch(h.chrom, h.start - 1, h.end)
        assert h.plus_ref == plus, h.hotspot_id
        assert translate(h.ref) == h.ref_aa, h.hotspot_id
        assert h.label.startswith(f"{h.ref_aa}{h.aa_start}"), h.hotspot_id
        assert h.c_start == 3 * h.aa_start - 2
        assert (h.window_start, h.window_end) == (h.start, h.end)
        assert all(a in "ACDEFGHIKLMNPQRSTVWY" and a != h.ref_aa for a in h.alt_aa), h.hotspot_id


def test_known_reference_bases(seq):
    by_id = {h.hotspot_id: h for h in HOTSPOTS}
    kras = by_id["KRAS_G12"]
    assert (kras.start, kras.end, kras.plus_ref, kras.ref) == (25245349, 25245351, "ACC", "GGT")
    assert seq.fetch("chr7", 55191821, 55191822) == "T"  # EGFR L858 (CTG), c.2573
    assert by_id["EGFR_L858"].start == 55191821 and by_id["EGFR_L858"].ref == "CTG"
    assert seq.fetch("chr7", 55181377, 55181378) == "C"  # EGFR T790 (ACG), c.2369
    assert by_id["EGFR_T790"].start == 55181377 and by_id["EGFR_T790"].ref == "ACG"
    braf = by_id["BRAF_V600"]
    assert (braf.start, braf.end, braf.ref, braf.strand) == (140753335, 140753337, "GTG", "-")
    assert seq.fetch("chr7", 140753335, 140753336) == "A"  # c.1799T on the minus strand
    assert braf.c_position(140753336) == 1799


def test_class_regions_are_whole_codons_in_one_exon(seq):
    for h in (h for h in HOTSPOTS if h.is_class):
        cds = cds_positions(h.gene)
        region = cds[3 * (h.aa_start - 1) : 3 * h.aa_end]
        assert (h.start, h.end) == (min(region), max(region)), h.hotspot_id
        assert h.end - h.start + 1 == len(region), f"{h.hotspot_id} crosses an intron"
        assert h.start <= h.window_start <= h.window_end <= h.end
        assert h.c_position(h.start) == 3 * h.aa_start - 2
        assert cds[h.c_position(h.window_start) - 1] == h.window_start
    ex19 = next(h for h in HOTSPOTS if h.hotspot_id == "EGFR_EX19DEL")
    tx = load_transcripts()["EGFR"]
    assert (ex19.start, ex19.end) == tx.exons[18]  # exon 19 of NM_005228.5 is codons 729-761 exactly
    # the recurrent E746_A750 bases quoted by the data sources (c.2235_2249)
    assert seq.fetch("chr7", 55174771, 55174786) == "GGAATTAAGAGAAGC"
    assert ex19.c_position(55174772) == 2235


def test_panels_carry_their_genes():
    panels = load_panels()
    for h in HOTSPOTS:
        assert h.gene in panels[h.panel].genes, h.hotspot_id


def test_reverse_complement_and_translate():
    assert reverse_complement("ACCN") == "NGGT"
    assert translate("TGT") == "C" and translate("TAG") == "*" and translate("NNN") == "X"
