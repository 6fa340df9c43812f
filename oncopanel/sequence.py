"""DNA helpers shared by every stage: complement, reverse complement, the standard genetic code, where a read
has its base at a reference position."""

from __future__ import annotations

from typing import Any, Protocol

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


def usable(read: Any, min_mapping_quality: int) -> bool:
    """A read every count may use: none of UNUSABLE_READ_FLAGS, and at least the mapping quality asked."""
    return not read.flag & UNUSABLE_READ_FLAGS and read.mapping_quality >= min_mapping_quality


def aligned_query_positions(read: Any, *rpos: int, cigar: Any = None) -> list[int | None]:
    """Query position of each 0-based reference position where the read has an aligned base there, else None
    (a CIGAR walk: get_aligned_pairs costs a tuple per base). ``cigar``: the read's cigartuples, when the caller
    has them already (pysam builds the list at every access)."""
    out: list[int | None] = [None] * len(rpos)
    q, r = 0, read.reference_start
    for op, length in (read.cigartuples if cigar is None else cigar) or ():  # no CIGAR: nothing aligned
        if op in (0, 7, 8):  # M, =, X
            for k, p in enumerate(rpos):
                if r <= p < r + length:
                    out[k] = q + p - r
            q, r = q + length, r + length
        elif op in (1, 4):  # I, S
            q += length
        elif op in (2, 3):  # D, N
            r += length
    return out
