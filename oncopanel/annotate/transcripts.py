"""MANE Select transcript models and the mapping between GRCh38 positions and HGVS c. positions.

The shipped table's CDS coordinates include the stop codon (unlike a standard GTF's CDS rows), so the
last CDS base here is the last base of the stop codon, and c.* numbering starts right after it.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from oncopanel import paths
from oncopanel.errors import InputError

MANE_TABLE = paths.ANNOTATION / "transcripts" / "mane_select_panel_grch38.tsv"


@dataclass(frozen=True)
class TxPos:
    """A genomic position seen from a transcript.

    ``index`` is the 0-based position in the spliced transcript (negative before its first base, past the end
    after its last); ``offset`` is the intronic distance from that exonic base (+ after it, - before it).
    """

    index: int
    offset: int = 0
    exon: int = 0  # 1-based exon number when exonic (offset 0 and inside the transcript)
    intron: int = 0  # 1-based intron number when intronic


@dataclass(frozen=True)
class Transcript:
    gene: str
    accession: str  # RefSeq, versioned: NM_007294.4
    ensembl: str
    chrom: str
    strand: str  # "+" or "-"
    exons: tuple[tuple[int, int], ...]  # 1-based inclusive genomic (start, end), in transcript order
    cds_start: int  # lowest genomic base of the CDS, stop codon included
    cds_end: int  # highest genomic base of the CDS, stop codon included
    protein_length: int

    @property
    def start(self) -> int:
        return min(s for s, _ in self.exons)

    @property
    def end(self) -> int:
        return max(e for _, e in self.exons)

    @property
    def minus(self) -> bool:
        return self.strand == "-"

    @cached_property
    def _exon_offsets(self) -> tuple[int, ...]:
        """Transcript index of each exon's first base (transcript order)."""
        out, total = [], 0
        for s, e in self.exons:
            out.append(total)
            total += e - s + 1
        return tuple(out)

    @property
    def length(self) -> int:
        s, e = self.exons[-1]
        return self._exon_offsets[-1] + e - s + 1

    @cached_property
    def _ascending(self) -> tuple[list[int], list[int]]:
        """Exon starts in genomic order and the transcript-order number of each, for bisect."""
        order = sorted(range(len(self.exons)), key=lambda k: self.exons[k][0])
        return [self.exons[k][0] for k in order], order

    @cached_property
    def cds_first_index(self) -> int:
        """Transcript index of c.1."""
        return self.locate(self.cds_end if self.minus else self.cds_start).index

    @cached_property
    def cds_last_index(self) -> int:
        """Transcript index of the last base of the stop codon (c.* counts from the base after it)."""
        return self.locate(self.cds_start if self.minus else self.cds_end).index

    def locate(self, g: int) -> TxPos:
        """Where genomic position ``g`` falls on this transcript."""
        starts, order = self._ascending
        i = bisect.bisect_right(starts, g) - 1
        if i >= 0:
            k = order[i]
            s, e = self.exons[k]
            if g <= e:
                rel = e - g if self.minus else g - s
                return TxPos(self._exon_offsets[k] + rel, 0, exon=k + 1)
        # before the transcript's first base or after its last: continue the numbering linearly
        first_s, first_e = self.exons[0]
        last_s, last_e = self.exons[-1]
        if (g > first_e) if self.minus else (g < first_s):
            return TxPos(-abs(g - (first_e if self.minus else first_s)))
        if (g < last_s) if self.minus else (g > last_e):
            return TxPos(self.length - 1 + abs(g - (last_s if self.minus else last_e)))
        # intronic: between genomic-ordered exons i and i+1
        lo, hi = order[i], order[i + 1]
        up, down = (hi, lo) if self.minus else (lo, hi)  # transcript order: exon `up` precedes the intron
        if self.minus:
            d5, d3 = self.exons[up][0] - g, g - self.exons[down][1]
        else:
            d5, d3 = g - self.exons[up][1], self.exons[down][0] - g
        # HGVS: the middle base of an odd-length intron takes the '+' form
        if d5 <= d3:
            last_of_up = self._exon_offsets[up] + self.exons[up][1] - self.exons[up][0]
            return TxPos(last_of_up, d5, intron=up + 1)
        return TxPos(self._exon_offsets[down], -d3, intron=up + 1)

    def c_number(self, pos: TxPos) -> str:
        """HGVS c. position text: 34, -19-2, 4185+1, *5, *103+4."""
        i0, i1 = self.cds_first_index, self.cds_last_index
        if pos.index < i0:
            base = f"-{i0 - pos.index}"
        elif pos.index <= i1:
            base = str(pos.index - i0 + 1)
        else:
            base = f"*{pos.index - i1}"
        if pos.offset:
            base += f"{pos.offset:+d}"
        return base

    def genomic(self, c_position: str) -> int:
        """GRCh38 position of an HGVS c. position such as '2573', '-19-2', '4185+1' or '*5'."""
        m = re.fullmatch(r"([-*]?)(\d+)([-+]\d+)?", c_position)
        if not m:
            raise InputError(f"{self.accession}: cannot read c. position {c_position!r}")
        sign, num, off = m.group(1), int(m.group(2)), int(m.group(3) or 0)
        if sign == "-":
            index = self.cds_first_index - num
        elif sign == "*":
            index = self.cds_last_index + num
        else:
            index = self.cds_first_index + num - 1
        if index < 0:
            s, e = self.exons[0]
            g = e - index if self.minus else s + index
        elif index >= self.length:
            s, e = self.exons[-1]
            beyond = index - self.length + 1
            g = s - beyond if self.minus else e + beyond
        else:
            k = bisect.bisect_right(self._exon_offsets, index) - 1
            s, e = self.exons[k]
            rel = index - self._exon_offsets[k]
            g = e - rel if self.minus else s + rel
        return g - off if self.minus else g + off


def load_transcripts(path: Path | None = None) -> list[Transcript]:
    """The MANE Select models from the shipped table (one row per transcript)."""
    path = path or MANE_TABLE
    out = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        f = line.split("\t")
        try:
            gene, acc, ens, chrom, strand = f[0], f[1], f[2], f[3], f[4]
            starts = [int(x) for x in f[10].split(",")]
            ends = [int(x) for x in f[11].split(",")]
            exons = sorted(zip(starts, ends, strict=True), reverse=strand == "-")
            out.append(
                Transcript(gene, acc, ens, chrom, strand, tuple(exons), int(f[7]), int(f[8]), int(f[12]))
            )
        except (IndexError, ValueError) as exc:
            raise InputError(f"{path}:{n}: malformed transcript row ({exc})") from exc
    return out


def data_version(path: Path | None = None) -> str:
    """Identity of the transcript data: file name and the first 12 hex digits of its md5."""
    path = path or MANE_TABLE
    return f"{path.name}:md5={hashlib.md5(path.read_bytes()).hexdigest()[:12]}"
