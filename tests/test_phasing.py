"""The phase of two SNVs 21 nt apart (EGFR C797S and T790M), from the reads that span both."""

from __future__ import annotations

import pysam
import pytest

from oncopanel.hotspots.phasing import phase_of_calls, phase_snvs
from oncopanel.model import Variant

REF = "ACGT" * 50  # chrT, 200 nt
FIRST = Variant("chrT", 121, REF[120], "A" if REF[120] != "A" else "C")  # "C797S"
SECOND = Variant("chrT", 100, REF[99], "A" if REF[99] != "A" else "C")  # "T790M", 21 nt upstream


def write_bam(path, reads: list[tuple[str, int, str]]) -> str:
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chrT", "LN": len(REF)}]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for name, start, seq in sorted(reads, key=lambda r: r[1]):
            read = pysam.AlignedSegment(out.header)
            read.query_name, read.reference_id, read.reference_start = name, 0, start
            read.query_sequence, read.cigarstring, read.mapping_quality = seq, f"{len(seq)}M", 60
            read.query_qualities = pysam.qualitystring_to_array("I" * len(seq))
            out.write(read)
    pysam.index(str(path))
    return str(path)


def read_with(start: int, length: int, alts: dict[int, str]) -> str:
    seq = list(REF[start:start + length])
    for pos, base in alts.items():
        seq[pos - 1 - start] = base
    return "".join(seq)


@pytest.mark.parametrize(("first_alt", "second_alt", "status"), [(True, True, "cis"), (True, False, "trans")])
def test_reads_spanning_both_give_the_phase(tmp_path, first_alt, second_alt, status):
    reads = []
    for n in range(6):
        alts = {FIRST.pos: FIRST.alt} if first_alt else {}
        if second_alt:
            alts[SECOND.pos] = SECOND.alt
        reads.append((f"f{n}", 80, read_with(80, 60, alts)))
    reads += [(f"r{n}", 80, read_with(80, 60, {})) for n in range(10)]  # reference fragments say nothing
    phase = phase_snvs(write_bam(tmp_path / "x.bam", reads), FIRST, SECOND)
    assert phase.status == status and phase.spanning == 16 and (phase.cis, phase.trans) == (
        (6, 0) if status == "cis" else (0, 6))


def test_no_read_spanning_both_is_not_determined(tmp_path):
    reads = [(f"a{n}", 105, read_with(105, 40, {FIRST.pos: FIRST.alt})) for n in range(5)]  # starts after SECOND
    reads += [(f"b{n}", 60, read_with(60, 45, {SECOND.pos: SECOND.alt})) for n in range(5)]  # ends before FIRST
    phase = phase_snvs(write_bam(tmp_path / "y.bam", reads), FIRST, SECOND)
    assert phase.status == "not determined" and phase.spanning == 0


def test_mates_that_disagree_say_nothing():
    assert phase_of_calls({"f1": {("alt", "alt"), ("alt", "ref")}}).status == "not determined"
    assert phase_of_calls({"f1": {("alt", "alt")}, "f2": {("alt", "ref")}}).status == "cis and trans"
