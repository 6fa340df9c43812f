"""DNA helpers shared by every stage: complement, reverse complement, the standard genetic code."""

from __future__ import annotations

from typing import Protocol

COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")
_BASES = "TCAG"
_AMINO = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODONS = {
    a + b + c: _AMINO[16 * i + 4 * j + k]
    for i, a in enumerate(_BASES)
    for j, b in enumerate(_BASES)
    for k, c in enumerate(_BASES)
}


def complement(seq: str) -> str:
    return seq.translate(COMPLEMENT)


def reverse_complement(seq: str) -> str:
    return seq.translate(COMPLEMENT)[::-1]


class SequenceSource(Protocol):
    """Anything that returns uppercase GRCh38 sequence: oncopanel.reference.SliceSequence or FastaSequence."""

    def fetch(self, chrom: str, start0: int, end: int) -> str: ...


# Reads no pileup counts: unmapped, secondary, QC fail, duplicate, supplementary.
UNUSABLE_READ_FLAGS = 0x4 | 0x100 | 0x200 | 0x400 | 0x800
