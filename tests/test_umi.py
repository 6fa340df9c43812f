"""UMI layout, directional grouping, consensus base and quality, duplex pairs, and a consensus BAM built from a
small fixture of aligned reads (oncopanel.umi); the demultiplexer carries BCL Convert header UMIs through."""

from __future__ import annotations

import gzip
import math

import pysam
import pytest

from oncopanel.batch.demux import demultiplex
from oncopanel.errors import ValidationError
from oncopanel.umi import directional_groups, duplex_consensus, parse_layout, strand_consensus
from oncopanel.umi.bam import build_consensus
from oncopanel.umi.layout import umi_from_name
from oncopanel.umi.settings import load_settings

SETTINGS = load_settings()
CS = SETTINGS.consensus


# --- layout ------------------------------------------------------------------------------------------------


def test_layouts_parse_to_what_fastp_and_the_consensus_need():
    both = parse_layout("both:8+2")
    assert both.duplex and both.fastp_args() == "--umi --umi_loc per_read --umi_len 8 --umi_skip 2"
    assert parse_layout("read1:12").fastp_args() == "--umi --umi_loc read1 --umi_len 12 --umi_skip 0"
    assert not parse_layout("read1:12").duplex
    assert parse_layout("header").fastp_args() == "" and parse_layout("") is None and parse_layout("none") is None
    with pytest.raises(ValidationError, match="'read1:2' is not a UMI layout"):
        parse_layout("read1:2")
    with pytest.raises(ValidationError, match="not a UMI layout"):
        parse_layout("index1")


def test_umi_is_read_from_the_eighth_field_of_the_read_name():
    assert umi_from_name("A00:1:FC:1:1101:1000:2000:ACGTACGT_TTGGCCAA") == "ACGTACGT_TTGGCCAA"  # fastp per_read
    assert umi_from_name("A00:1:FC:1:1101:1000:2000:ACGTACGT+TTGGCCAA") == "ACGTACGT+TTGGCCAA"  # BCL Convert
    assert umi_from_name("A00:1:FC:1:1101:1000:2000") is None  # seven fields: no UMI


# --- grouping ----------------------------------------------------------------------------------------------


def test_directional_grouping_absorbs_a_umi_sequencing_error():
    owner = directional_groups({"AAAACCCC": 10, "AAAACCCG": 2, "TTTTGGGG": 5})
    assert owner == {"AAAACCCC": "AAAACCCC", "AAAACCCG": "AAAACCCC", "TTTTGGGG": "TTTTGGGG"}


def test_two_molecules_one_base_apart_with_similar_counts_stay_apart():
    # 4 < 2 x 3 - 1: a real second molecule, not an error of the first
    owner = directional_groups({"AAAACCCC": 4, "AAAACCCG": 3})
    assert owner["AAAACCCG"] == "AAAACCCG"
    # two mismatches are never one molecule
    assert directional_groups({"AAAACCCC": 50, "AAAACCGG": 1})["AAAACCGG"] == "AAAACCGG"


# --- consensus ---------------------------------------------------------------------------------------------


def _phred(err: float) -> int:
    return round(-10 * math.log10(err))


def test_consensus_base_and_quality():
    q30 = [30, 30, 30, 30]
    c = strand_consensus(["ACGT", "ACGT", "ACTT"], [q30, q30, q30], CS)
    assert c.seq == "ACGT" and c.reads == 3
    e = 10 ** (-30 / 10)
    # position 2: G twice, T once; the odds of T against G are (e/3)/(1-e); the first-cycle PCR error stays
    expected = _phred((e / 3) / (1 - e) + CS.pcr_error_rate)
    assert c.qual[2] == expected == 34
    assert c.qual[0] == _phred(CS.pcr_error_rate) == 40  # unanimous: only the PCR floor is left


def test_an_even_split_or_low_quality_votes_give_n():
    q = [30, 30]
    c = strand_consensus(["AC", "AT"], [q, q], CS)
    assert c.seq == "AN" and c.qual[1] == 2
    # a base below min_input_base_quality does not vote: the Q10 T is left out and the Q30 G stands alone, with
    # the quality of one read (each of the three other bases at odds (e/3)/(1-e)) and the PCR floor
    c = strand_consensus(["AG", "AT"], [[30, 30], [30, 10]], CS)
    e = 10 ** (-30 / 10)
    assert c.seq == "AG" and c.qual[1] == _phred(e / (1 - e) + CS.pcr_error_rate) == 30


def test_duplex_pair_sums_agreeing_strands_and_masks_disagreement():
    q = [30] * 4
    top = strand_consensus(["ACGT", "ACGT"], [q, q], CS)
    bottom = strand_consensus(["ACGA", "ACGA"], [q, q], CS)
    d = duplex_consensus(top, bottom, CS)
    assert d.duplex and d.reads == 4
    assert d.seq == "ACGN"  # T on one strand, A on the other: one carries an error (or damage)
    summed = tuple(min(a + b, CS.max_duplex_quality) for a, b in zip(top.qual, bottom.qual, strict=True))
    assert d.qual[:3] == summed[:3]
    assert d.qual[0] == 80 and d.qual[3] == 2


# --- a consensus BAM from aligned reads --------------------------------------------------------------------

REF = "ACGTTGCAAC" * 30  # 300 bp contig


def _pair(out, name, pos_f, pos_r, seq_f, seq_r, read1_forward):
    for forward in (True, False):
        a = pysam.AlignedSegment(out.header)
        a.query_name = name
        a.reference_id = a.next_reference_id = 0
        a.reference_start, a.next_reference_start = (pos_f, pos_r) if forward else (pos_r, pos_f)
        seq = seq_f if forward else seq_r
        a.cigartuples = [(0, len(seq))]
        a.mapping_quality = 60
        read1 = forward == read1_forward
        a.flag = 0x1 | 0x2 | (0x40 if read1 else 0x80) | (0x20 if forward else 0x10)
        a.template_length = (pos_r + len(seq_r) - pos_f) * (1 if forward else -1)
        a.query_sequence = seq
        a.query_qualities = pysam.qualitystring_to_array("?" * len(seq))  # Q30
        out.write(a)


@pytest.fixture
def family_bam(tmp_path):
    """One molecule (fragment 100-220): 3 read pairs of its top strand (F1R2, UMIs AAAACCCC on read 1,
    GGGGTTTT on read 2), 2 of its bottom strand (F2R1: read 1 carries GGGGTTTT), one of them with a UMI error and
    one read with a base error at 110; plus a singleton molecule at 40 (excluded: min_family_size 2)."""
    path = tmp_path / "raw.bam"
    header = {"HD": {"VN": "1.6"}, "SQ": [{"SN": "chrT", "LN": len(REF)}]}
    f_seq, r_seq = REF[100:150], REF[170:220]
    bad = f_seq[:10] + ("A" if f_seq[10] != "A" else "C") + f_seq[11:]
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        _pair(out, "r:1:F:1:1:1:1:AAAACCCC_GGGGTTTT", 100, 170, f_seq, r_seq, True)
        _pair(out, "r:1:F:1:1:1:2:AAAACCCC_GGGGTTTT", 100, 170, bad, r_seq, True)
        _pair(out, "r:1:F:1:1:1:3:AAAACCCC_GGGGTTTT", 100, 170, f_seq, r_seq, True)
        _pair(out, "r:1:F:1:1:1:4:GGGGTTTT_AAAACCCC", 100, 170, f_seq, r_seq, False)
        _pair(out, "r:1:F:1:1:1:5:GGGGTTTA_AAAACCCC", 100, 170, f_seq, r_seq, False)  # UMI error
        _pair(out, "r:1:F:1:1:1:6:CCCCAAAA_TTTTGGGG", 40, 90, REF[40:90], REF[90:140], True)
    pysam.sort("-o", str(tmp_path / "raw.sorted.bam"), str(path))
    return tmp_path / "raw.sorted.bam", f_seq, r_seq


def test_duplex_consensus_bam_is_one_read_pair_per_molecule(family_bam, tmp_path):
    raw, f_seq, r_seq = family_bam
    out = tmp_path / "cons.bam"
    summary = build_consensus(raw, out, SETTINGS, duplex=True, sample_id="P1")
    assert (summary.read_pairs, summary.families, summary.duplex_families) == (6, 1, 1)
    assert summary.families_below_min_size == 1 and summary.umi_corrected_pairs == 1
    with pysam.AlignmentFile(str(out)) as bam:
        reads = list(bam)
    assert len(reads) == 2 and {r.query_name for r in reads} == {"P1:1"}
    fwd = next(r for r in reads if not r.is_reverse)
    assert fwd.reference_start == 100 and fwd.query_sequence == f_seq  # the base error at 110 outvoted
    rev = next(r for r in reads if r.is_reverse)
    assert rev.reference_start == 170 and rev.query_sequence == r_seq and rev.template_length == -120
    assert fwd.get_tag("cD") == 5 and fwd.get_tag("aD") == 3 and fwd.get_tag("bD") == 2
    assert fwd.get_tag("RG") == "P1.consensus"  # callers need a read group on every read
    # top strand 3 x Q30 agreeing (Q40 floor) + bottom 2 x Q30 (Q40 floor): a duplex base of Q80
    assert fwd.query_qualities[0] == 80
    assert fwd.query_qualities[10] < 80  # the strand with the error holds a lower quality there
    assert pysam.AlignmentFile(str(out)).check_index()


def test_single_strand_consensus_keeps_the_strands_apart(family_bam, tmp_path):
    raw, _f, _r = family_bam
    summary = build_consensus(raw, tmp_path / "ss.bam", SETTINGS, duplex=False, sample_id="P1")
    assert summary.families == 2 and summary.duplex_families == 0
    assert summary.family_size_histogram == {2: 1, 3: 1}


# --- demultiplexing ----------------------------------------------------------------------------------------


def test_demultiplexer_keeps_the_umi_bcl_convert_writes_into_read_names(tmp_path):
    r1, r2 = tmp_path / "u_R1.fastq.gz", tmp_path / "u_R2.fastq.gz"
    name = "@A00:7:HFC:1:1101:1000:1000:ACGTACGT+TTGGCCAA"
    for path, mate in ((r1, 1), (r2, 2)):
        with gzip.open(path, "wt") as fh:
            fh.write(f"{name} {mate}:N:0:AACCGGTT+CCAAGGTT\nACGTACGTAC\n+\nIIIIIIIIII\n")
    demultiplex(r1, r2, [("S1", "AACCGGTT", "CCAAGGTT")], tmp_path / "out")
    with gzip.open(tmp_path / "out" / "S1_R1.fastq.gz", "rt") as fh:
        header = fh.readline().split()[0]
    assert umi_from_name(header[1:]) == "ACGTACGT+TTGGCCAA"


def test_consensus_reads_are_called_with_the_consensus_background_and_floor():
    from oncopanel.calling import settings as calling_settings
    from oncopanel.umi.settings import consensus_calling_block

    raw = calling_settings.load_block()
    block = calling_settings.from_dict(consensus_calling_block(raw, SETTINGS))
    assert block.hotspots.background.substitution["C>T"] == SETTINGS.hotspot_background["substitution_error_rate"]
    assert block.somatic_filters.min_vaf == SETTINGS.min_vaf < raw["somatic"]["filters"]["min_vaf"]
    # the VCF's background test uses the consensus rate too (a detected hotspot is not filtered below_background)
    assert block.somatic_filters.background.snv_error_rate == SETTINGS.hotspot_background["substitution_error_rate"]
    assert raw["hotspots"]["background"]["substitution_error_rate"] == 0.002  # the raw-read block is untouched
