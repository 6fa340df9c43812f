"""DNA helpers shared by every stage: complement, reverse complement, the standard genetic code."""

from __future__ import annotations

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
