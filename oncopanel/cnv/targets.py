"""Exon targets for copy number: every exon of the MANE Select model, with the panel's capture target over it.

The capture targets are the panel's target BED rows (``oncopanel.panels.target_bed_rows``: coding exon ± padding,
named ``GENE_exonN`` with the MANE exon number), the regions the QC coverage step (oncopanel.coverage) measures, so
one coverage step serves both. Exons without a coding part (BRCA1 and BRCA2 exon 1) are not captured and are
listed as not assessable, never as normal.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from oncopanel import paths
from oncopanel.annotate.transcripts import Transcript, load_transcripts
from oncopanel.errors import InputError
from oncopanel.panels import target_bed_rows, target_padding
from oncopanel.sequence import SequenceSource

LEGACY_TABLE = paths.ANNOTATION / "transcripts" / "legacy_exon_numbers.tsv"


@dataclass(frozen=True)
class ExonTarget:
    gene: str
    accession: str
    mane_exon: int
    legacy_exon: int
    exon_count: int  # exons in the MANE transcript
    chrom: str
    start: int  # exon, 1-based inclusive
    end: int
    target: str  # capture target name (GENE_exonN) or "" when the exon is not captured
    target_start0: int = 0  # capture target, 0-based half-open (BED)
    target_end: int = 0
    gc: float | None = None  # GC fraction of the capture target (from the reference), for the GC trend

    @property
    def targeted(self) -> bool:
        return bool(self.target)

    @property
    def key(self) -> str:
        return f"{self.gene}_exon{self.mane_exon}"


@cache
def legacy_offsets(path: Path = LEGACY_TABLE) -> dict[str, list[tuple[int, int, int]]]:
    """{gene: [(first MANE exon, last MANE exon, legacy offset)]} from the shipped table."""
    out: dict[str, list[tuple[int, int, int]]] = {}
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            gene, first, last, offset = line.split("\t")
            out.setdefault(gene, []).append((int(first), int(last), int(offset)))
        except ValueError as exc:
            raise InputError(f"{path}:{n}: malformed legacy exon row ({exc})") from exc
    return out


def legacy_exon(gene: str, mane_exon: int) -> int:
    """The legacy (BIC) exon number: equal to MANE unless the table says otherwise (BRCA1 skips legacy exon 4)."""
    for first, last, offset in legacy_offsets().get(gene, []):
        if first <= mane_exon <= last:
            return mane_exon + offset
    return mane_exon


@cache
def transcripts_by_gene() -> dict[str, Transcript]:
    return {t.gene: t for t in load_transcripts()}


def exon_targets(genes: list[str] | tuple[str, ...], padding: int | None = None) -> list[ExonTarget]:
    """Every exon of each gene's MANE Select model, genomic order per gene, with its capture target if any."""
    padding = target_padding() if padding is None else padding
    captured = {name: (start0, end) for _, start0, end, name in target_bed_rows(list(genes), padding)}
    models = transcripts_by_gene()
    out: list[ExonTarget] = []
    for gene in genes:
        tx = models.get(gene)
        if tx is None:
            raise InputError(f"copy number: no MANE Select model for gene {gene!r}")
        rows = []
        for k, (s, e) in enumerate(tx.exons, start=1):
            name = f"{gene}_exon{k}"
            t0, t1 = captured.get(name, (0, 0))
            rows.append(ExonTarget(gene, tx.accession, k, legacy_exon(gene, k), len(tx.exons), tx.chrom, s, e,
                                   name if name in captured else "", t0, t1))  # fmt: skip
        out += sorted(rows, key=lambda r: r.start)
    return out


def with_gc(targets: list[ExonTarget], sequence: SequenceSource) -> list[ExonTarget]:
    """The targets with the GC fraction of each capture target from the reference sequence."""
    out = []
    for t in targets:
        if not t.targeted:
            out.append(t)
            continue
        seq = sequence.fetch(t.chrom, t.target_start0, t.target_end)
        acgt = sum(seq.count(b) for b in "ACGT")
        out.append(replace(t, gc=(seq.count("G") + seq.count("C")) / acgt if acgt else None))
    return out
