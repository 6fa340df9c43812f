"""Hotspot definitions: the rows of annotation/hotspots.tsv (codons, single bases, in-frame indel classes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from oncopanel import paths
from oncopanel.errors import InputError
from oncopanel.sequence import reverse_complement

HotspotKind = Literal["codon", "snv", "deletion_class", "insertion_class"]


@dataclass(frozen=True)
class Hotspot:
    """One row of annotation/hotspots.tsv."""

    hotspot_id: str
    gene: str
    transcript: str
    label: str
    kind: HotspotKind
    aa_start: int
    aa_end: int
    ref_aa: str  # "." for classes
    alt_aa: tuple[str, ...]  # () = any missense change (codons) / any base (snv); classes: ()
    chrom: str
    start: int  # codon span or class region, 1-based inclusive
    end: int
    strand: str
    ref: str  # reference codon/base in transcript orientation; "." for classes
    c_start: int  # c. position of the 5' (transcript) base of start..end
    window_start: int  # a read must span this window to count toward depth
    window_end: int
    panel: str
    note: str = ""
    source: str = ""

    @property
    def is_class(self) -> bool:
        return self.kind in ("deletion_class", "insertion_class")

    @property
    def plus_ref(self) -> str:
        return self.ref if self.strand == "+" else reverse_complement(self.ref)

    def c_position(self, pos: int) -> int:
        """c. position of a genomic position inside start..end (the table keeps each region in one exon)."""
        return self.c_start + (pos - self.start if self.strand == "+" else self.end - pos)


def load_hotspots(path: Path | None = None) -> list[Hotspot]:
    """Hotspots from the TSV (default annotation/hotspots.tsv)."""
    path = path or paths.ANNOTATION / "hotspots.tsv"
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("##")]
    header = lines[0].lstrip("#").split("\t")
    out = []
    for n, line in enumerate(lines[1:], start=2):
        row = dict(zip(header, line.split("\t"), strict=True))
        try:
            out.append(
                Hotspot(
                    **{k: row[k] for k in ("hotspot_id", "gene", "transcript", "label", "chrom", "strand")},
                    kind=row["kind"],  # type: ignore[arg-type]
                    aa_start=int(row["aa_start"]),
                    aa_end=int(row["aa_end"]),
                    ref_aa=row["ref_aa"],
                    alt_aa=() if row["alt_aa"] in ("any", ".", "") else tuple(row["alt_aa"].split(",")),
                    start=int(row["start"]),
                    end=int(row["end"]),
                    ref=row["ref"],
                    c_start=int(row["c_start"]),
                    window_start=int(row["window_start"]),
                    window_end=int(row["window_end"]),
                    panel=row["panel"],
                    note=row.get("note", ""),
                    source=row.get("source", ""),
                )
            )
        except (KeyError, ValueError) as err:
            raise InputError(f"{path}: line {n}: bad hotspot row ({err})") from err
    return out
