"""The copy-number records and the per-sample CNV table (``<sample>.cnv.tsv``).

One row per exon of each gene's MANE Select model (columns in ``EXON_COLUMNS``):

- ``status``: ``normal`` (assessed, copy-neutral), ``deletion``, ``duplication`` or ``not_assessable`` — with the
  ``reason`` (too few references, references poorly correlated, coverage uneven, exon coverage low or variable,
  pseudogene exon, exon not captured, tumour sample). A not-assessable exon is never reported as "no deletion".
  ``normal`` excludes a deletion; on a normal row the reason ``duplication not excluded`` says the count does not
  exclude a duplication too (copy-neutral does not beat it by ``calls.min_normal_quality``); an empty reason on a
  normal row: both excluded.
- ``count``: fragments over the exon's capture target; ``ratio``: the sample's share of the exon's fragments
  against its references, as a test/reference ratio normalised to the sample's copy-neutral exons (1 = two
  copies); ``copy_number`` = 2 x ratio (germline, diploid).
- ``quality``: 10·log10 of the likelihood ratio (beta-binomial) of the exon's count under the called state vs
  copy-neutral for a called exon, and of copy-neutral vs the likeliest deletion (het or hom) for a normal one:
  how strongly the count supports the row's status.

Calls (``CALL_COLUMNS``, in the same file after a ``## calls`` line) span one or more consecutive exons, with the
call's quality (the same likelihood ratio summed over its exons), HGVS-style name and classification.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from pathlib import Path

from oncopanel.errors import InputError

Status = str  # normal | deletion | duplication | not_assessable
STATUSES = ("normal", "deletion", "duplication", "not_assessable")
# The reason on a normal row whose count excludes a deletion but not a duplication.
DUPLICATION_NOT_EXCLUDED = "duplication not excluded"


@dataclass(frozen=True)
class ExonCopyNumber:
    sample: str
    gene: str
    exon: str  # the capture target name, GENE_exonN (MANE number)
    mane_exon: int
    legacy_exon: int
    chrom: str
    start: int  # exon, 1-based inclusive
    end: int
    count: float | None
    ratio: float | None
    copy_number: float | None
    quality: float | None
    status: Status
    reason: str = ""


@dataclass(frozen=True)
class CnvCall:
    sample: str
    gene: str
    kind: str  # het_deletion | hom_deletion | duplication
    copy_number: int
    first_exon: int  # MANE numbers, first <= last
    last_exon: int
    legacy_first_exon: int
    legacy_last_exon: int
    chrom: str
    start: int  # outer bounds of the called exons, 1-based inclusive
    end: int
    ratio: float  # mean ratio over the called exons
    quality: float
    name: str  # HGVS-style, on MANE Select
    description: str  # the exons in words
    classification: str
    confirmation: str
    references: int
    reference_version: str


EXON_COLUMNS = tuple(f.name for f in fields(ExonCopyNumber))
CALL_COLUMNS = tuple(f.name for f in fields(CnvCall))


def _cell(value: object) -> str:
    if value is None:
        return "."
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def write_tsv(path: Path | str, rows: list[ExonCopyNumber], calls: list[CnvCall], header: dict[str, str]) -> None:
    """``##key=value`` header lines (reference version, references used...), the exon table, then the calls."""
    lines = [f"##{k}={v}" for k, v in header.items()]
    lines.append("#" + "\t".join(EXON_COLUMNS))
    lines += ["\t".join(_cell(v) for v in astuple(r)) for r in rows]
    lines.append("## calls")
    lines.append("#" + "\t".join(CALL_COLUMNS))
    lines += ["\t".join(_cell(v) for v in astuple(c)) for c in calls]
    Path(path).write_text("\n".join(lines) + "\n")


@dataclass(frozen=True)
class CnvTable:
    """A ``<sample>.cnv.tsv`` read back: its header, exon rows and calls."""

    header: dict[str, str]
    rows: list[ExonCopyNumber]
    calls: list[CnvCall]


def _typed(cls: type, cells: list[str], where: str) -> object:
    kinds = {f.name: f.type for f in fields(cls)}
    if len(cells) != len(kinds):
        raise ValueError(f"{where}: {len(cells)} columns, {len(kinds)} expected")
    values: dict[str, object] = {}
    for (name, kind), cell in zip(kinds.items(), cells, strict=True):
        if cell == "." and "None" in str(kind):
            values[name] = None
        elif str(kind).startswith("int"):
            values[name] = int(cell)
        elif str(kind).startswith("float"):
            values[name] = float(cell)
        else:
            values[name] = "" if cell == "." else cell
    return cls(**values)


def read_tsv(path: Path | str) -> CnvTable:
    """The table ``write_tsv`` wrote (an unreadable or malformed file is an input error naming the line)."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read copy-number table ({exc})") from None
    header: dict[str, str] = {}
    rows: list[ExonCopyNumber] = []
    calls: list[CnvCall] = []
    section = rows
    for n, line in enumerate(lines, start=1):
        if line == "## calls":
            section = calls  # type: ignore[assignment]
        elif line.startswith("##"):
            key, _, value = line[2:].partition("=")
            header[key] = value
        elif line and not line.startswith("#"):
            cls = ExonCopyNumber if section is rows else CnvCall
            try:
                section.append(_typed(cls, line.split("\t"), f"line {n}"))  # type: ignore[arg-type]
            except ValueError as exc:
                raise InputError(f"{path}:{n}: not a copy-number row ({exc})") from None
    return CnvTable(header, rows, calls)
