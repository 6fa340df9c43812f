"""The one normaliser of alleles: trim shared bases, shift an indel through repeats (left or 3'), name GRCh38 contigs.

Used by the annotator (HGVS 3' rule), the hotspot engine (one name per allele, whatever the aligner wrote) and
the read counter (the span over which an indel could lie).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from oncopanel.errors import InputError
from oncopanel.model import Variant
from oncopanel.sequence import SequenceSource

# GRCh38 RefSeq chromosome accessions, for g. names
NC_GRCH38 = {
    "chr1": "NC_000001.11",
    "chr2": "NC_000002.12",
    "chr3": "NC_000003.12",
    "chr4": "NC_000004.12",
    "chr5": "NC_000005.10",
    "chr6": "NC_000006.12",
    "chr7": "NC_000007.14",
    "chr8": "NC_000008.11",
    "chr9": "NC_000009.12",
    "chr10": "NC_000010.11",
    "chr11": "NC_000011.10",
    "chr12": "NC_000012.12",
    "chr13": "NC_000013.11",
    "chr14": "NC_000014.9",
    "chr15": "NC_000015.10",
    "chr16": "NC_000016.10",
    "chr17": "NC_000017.11",
    "chr18": "NC_000018.10",
    "chr19": "NC_000019.10",
    "chr20": "NC_000020.11",
    "chr21": "NC_000021.9",
    "chr22": "NC_000022.11",
    "chrX": "NC_000023.11",
    "chrY": "NC_000024.10",
    "chrM": "NC_012920.1",
}

_ALLELE = frozenset("ACGTN")


@dataclass(frozen=True)
class Edit:
    """An allele as a 0-based, half-open replacement on the plus strand: seq[start0:end0] -> alt."""

    chrom: str
    start0: int
    end0: int
    ref: str
    alt: str

    @property
    def is_insertion(self) -> bool:
        return self.start0 == self.end0


def trim(variant: Variant) -> Edit:
    """Drop the bases REF and ALT share (leading first, as the VCF anchor base is leading)."""
    ref, alt, pos = variant.ref.upper(), variant.alt.upper(), variant.pos
    for allele in (ref, alt):
        if not allele or set(allele) - _ALLELE:
            raise InputError(f"{variant.key}: alleles must be A/C/G/T/N bases (no symbolic alleles)")
    i = 0
    while i < min(len(ref), len(alt)) and ref[i] == alt[i]:
        i += 1
    if ref == alt:
        raise InputError(f"{variant.key}: REF and ALT are the same allele")
    ref, alt, pos = ref[i:], alt[i:], pos + i
    j = 0
    while j < min(len(ref), len(alt)) and ref[-1 - j] == alt[-1 - j]:
        j += 1
    if j:
        ref, alt = ref[: len(ref) - j], alt[: len(alt) - j]
    return Edit(ucsc_name(variant.chrom), pos - 1, pos - 1 + len(ref), ref, alt)


def ucsc_name(chrom: str) -> str:
    """'17' -> 'chr17', 'MT' -> 'chrM' (the GRCh38 names the models and sequence use); others unchanged."""
    if chrom.startswith("chr"):
        return chrom
    named = "chrM" if chrom == "MT" else f"chr{chrom}"
    return named if named in NC_GRCH38 else chrom


class Window:
    """Lazily fetched reference around a position; None past the end of the available sequence."""

    def __init__(self, sequence: SequenceSource, chrom: str, centre: int, pad: int = 200):
        self.seq, self.chrom, self.pad = sequence, chrom, pad
        self.lo, self.text = centre, ""
        self._load(centre - pad, centre + pad)

    def _load(self, lo: int, hi: int) -> None:
        lo = max(lo, 0)
        # near the edge of the available sequence: keep what we have
        with contextlib.suppress(InputError):
            self.text, self.lo = self.seq.fetch(self.chrom, lo, hi), lo

    def base(self, i: int) -> str | None:
        if not self.lo <= i < self.lo + len(self.text):
            self.pad *= 4
            self._load(min(i, self.lo) - self.pad, max(i + 1, self.lo + len(self.text)) + self.pad)
            if not self.lo <= i < self.lo + len(self.text):
                return None
        return self.text[i - self.lo]

    def span(self, a: int, b: int) -> str | None:
        if a < 0:
            return None
        if self.base(a) is None or (b > a and self.base(b - 1) is None):
            return None
        return self.text[a - self.lo : b - self.lo]


def shift(edit: Edit, window: Window, to_right: bool) -> Edit:
    """Move a pure deletion or insertion as far as it goes in one direction (the allele rotates)."""
    s, e, ref, alt = edit.start0, edit.end0, edit.ref, edit.alt
    if ref and alt:
        return edit
    allele = ref or alt
    if to_right:
        while True:
            nxt = window.base(e)
            if nxt is None or nxt != allele[0]:
                break
            allele = allele[1:] + nxt
            s, e = s + 1, e + 1
    else:
        while True:
            prv = window.base(s - 1)
            if prv is None or prv != allele[-1]:
                break
            allele = prv + allele[:-1]
            s, e = s - 1, e - 1
    return Edit(edit.chrom, s, e, allele if ref else "", allele if alt else "")




def vcf_form(variant: Variant, sequence: SequenceSource) -> Variant:
    """Trimmed and left-aligned (bcftools norm's form, Tan et al. 2015); a pure indel keeps the base before it
    as VCF anchor. Contigs get their GRCh38 'chr' names."""
    edit = trim(variant)
    if edit.ref and edit.alt:
        return Variant(edit.chrom, edit.start0 + 1, edit.ref, edit.alt)
    edit = shift(edit, Window(sequence, edit.chrom, edit.start0), to_right=False)
    anchor = sequence.fetch(edit.chrom, edit.start0 - 1, edit.start0).upper()
    return Variant(edit.chrom, edit.start0, anchor + edit.ref, anchor + edit.alt)
