"""Panels as data: which genes each panel covers, and the target regions (coding exons ± padding)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from oncopanel import paths, settings
from oncopanel.errors import ValidationError


@dataclass(frozen=True)
class Panel:
    name: str
    description: str
    genes: tuple[str, ...]
    modes: tuple[str, ...]  # germline and/or somatic
    stated_lod: float


@dataclass(frozen=True)
class Transcript:
    """A MANE Select model; coordinates 1-based inclusive, CDS bounds include the stop codon."""

    gene: str
    refseq: str
    ensembl: str
    chrom: str
    strand: str
    tx_start: int
    tx_end: int
    cds_start: int
    cds_end: int
    exons: tuple[tuple[int, int], ...]  # genomic order
    protein_len: int


PANELS_YAML = paths.ANNOTATION / "panels" / "panels.yaml"


@cache
def _panels_file(path: Path) -> dict:
    """panels.yaml checked by the settings layer; its genes must be transcripts the annotation carries."""
    doc = settings.load(path, "panels.schema.yaml")
    known = load_transcripts()
    problems = [
        f"{path}: panels.{name}.genes: unknown gene {gene!r}{settings.hint(gene, known, 'gene')}"
        for name, p in doc["panels"].items()
        for gene in p["genes"]
        if gene not in known
    ]
    if problems:
        raise ValidationError(problems)
    return doc


def load_panels(path: Path | None = None) -> dict[str, Panel]:
    data = _panels_file(Path(path or PANELS_YAML))
    return {
        name: Panel(name, p["description"], tuple(p["genes"]), tuple(p["modes"]), float(p["stated_lod"]))
        for name, p in data["panels"].items()
    }


def target_padding(path: Path | None = None) -> int:
    return _panels_file(Path(path or PANELS_YAML))["target_padding"]


@cache
def load_transcripts(path: Path | None = None) -> dict[str, Transcript]:
    """{gene: Transcript} from the MANE Select table."""
    path = path or paths.ANNOTATION / "transcripts" / "mane_select_panel_grch38.tsv"
    out = {}
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        f = line.split("\t")
        starts = [int(x) for x in f[10].split(",")]
        ends = [int(x) for x in f[11].split(",")]
        out[f[0]] = Transcript(
            gene=f[0], refseq=f[1], ensembl=f[2], chrom=f[3], strand=f[4], tx_start=int(f[5]),
            tx_end=int(f[6]), cds_start=int(f[7]), cds_end=int(f[8]),
            exons=tuple(zip(starts, ends, strict=True)), protein_len=int(f[12]),
        )  # fmt: skip
    return out


def coding_exons(tx: Transcript) -> list[tuple[int, int]]:
    """Coding parts of each exon (1-based inclusive), genomic order."""
    out = []
    for start, end in tx.exons:
        s, e = max(start, tx.cds_start), min(end, tx.cds_end)
        if s <= e:
            out.append((s, e))
    return out


def target_bed_rows(genes: list[str] | tuple[str, ...], padding: int) -> list[tuple[str, int, int, str]]:
    """(chrom, start0, end, name) for each coding exon ± padding, sorted, overlapping rows merged per gene."""
    transcripts = load_transcripts()
    rows: list[tuple[str, int, int, str]] = []
    for gene in genes:
        tx = transcripts[gene]
        exons = coding_exons(tx)
        n_exons = len(tx.exons)
        for s, e in exons:
            idx = tx.exons.index(next(x for x in tx.exons if x[0] <= s <= x[1]))
            number = idx + 1 if tx.strand == "+" else n_exons - idx
            rows.append((tx.chrom, s - 1 - padding, e + padding, f"{gene}_exon{number}"))
    return sorted(rows, key=lambda r: (r[0], r[1]))


def genes_for(panel_names: list[str] | tuple[str, ...]) -> list[str]:
    panels = load_panels()
    genes: list[str] = []
    for name in panel_names:
        genes.extend(g for g in panels[name].genes if g not in genes)
    return genes


def write_target_bed(panel_names: list[str] | tuple[str, ...], out: Path, padding: int | None = None) -> None:
    padding = target_padding() if padding is None else padding
    rows = target_bed_rows(genes_for(panel_names), padding)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in rows))
