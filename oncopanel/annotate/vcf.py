"""Annotate a normalised VCF: records in, annotated calls out (table, and the ONCOPANEL_CSQ INFO field).

The VCF is read line by line here rather than through htslib so that a malformed record is reported with
its file and line, and so that annotation stays a light import (pyarrow is loaded only to write Parquet).

ONCOPANEL_CSQ (one entry per ALT allele, comma-separated, like VEP's CSQ) holds these ``|``-separated fields:

    Allele|Gene|Transcript|Consequence|Exon|Intron|HGVSc|HGVSp|Protein_change|HGVSg

Consequence terms are joined with ``&``; characters with a meaning in VCF (``% , ; = |`` and space) are
percent-encoded as VCF 4.3 prescribes (so ``p.(Leu858=)`` is written ``p.(Leu858%3D)``). Empty fields are
empty strings. The transcript versions and the annotation-data version are in ``##ONCOPANEL_*`` header lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from oncopanel.annotate.annotator import Annotator
from oncopanel.annotate.normalise import NC_GRCH38, ucsc_name
from oncopanel.annotate.transcripts import data_version, load_transcripts
from oncopanel.errors import InputError
from oncopanel.files import open_text
from oncopanel.model import Annotation, Variant

CSQ_ID = "ONCOPANEL_CSQ"
SYMBOLIC_DELETION = "<DEL>"  # the one symbolic allele read: a large deletion with INFO END
CSQ_FIELDS = (
    "Allele",
    "Gene",
    "Transcript",
    "Consequence",
    "Exon",
    "Intron",
    "HGVSc",
    "HGVSp",
    "Protein_change",
    "HGVSg",
)
TABLE_COLUMNS = (
    "sample_id",
    "chrom",
    "pos",
    "ref",
    "alt",
    "gene",
    "transcript",
    "exon",
    "intron",
    "consequence",
    "hgvs_c",
    "hgvs_p",
    "protein_change",
    "hgvs_g",
    "filter",
)
# call columns copied when the VCF carries them: FORMAT DP -> depth, AD -> ref_depth + alt_depth,
# AF -> vaf, INFO ORIGIN -> origin
CALL_COLUMNS = ("depth", "ref_depth", "alt_depth", "vaf", "origin")
_ENCODE = {"%": "%25", ",": "%2C", ";": "%3B", "=": "%3D", "|": "%7C", " ": "%20", ":": "%3A"}
_BASES = frozenset("ACGTN")


@dataclass(frozen=True)
class AnnotatedRecord:
    """One ALT allele of one VCF record, its annotation and the call values the VCF gave for it."""

    annotation: Annotation
    line: int
    info: dict[str, str] = field(default_factory=dict)
    samples: dict[str, dict[str, str]] = field(default_factory=dict)  # sample -> FORMAT key -> value
    filters: tuple[str, ...] = ()  # the FILTER column split on ';' ("PASS" when passed, () when ".")
    qual: float | None = None


@dataclass(frozen=True)
class _Record:
    line: int
    fields: list[str]
    variants: list[Variant]  # one per ALT allele kept
    alt_index: list[int]  # 1-based index of each kept allele among the ALTs


def _read(path: Path) -> Iterator[tuple[str, _Record | None]]:
    """Yield (raw line, parsed record or None for header lines); InputError names file and line."""
    samples_seen = False
    with open_text(path) as fh:
        for n, raw in enumerate(fh, start=1):
            line = raw.rstrip("\n").rstrip("\r")
            if line.startswith("#"):
                samples_seen = samples_seen or line.startswith("#CHROM")
                yield line, None
                continue
            if not line.strip():
                continue
            if not samples_seen:
                raise InputError(f"{path}:{n}: record before the #CHROM header line")
            yield line, _parse(path, n, line)


def _parse(path: Path, n: int, line: str) -> _Record:
    f = line.split("\t")
    if len(f) < 8:
        raise InputError(f"{path}:{n}: expected at least 8 tab-separated columns, found {len(f)}")
    chrom, pos, ref, alts = f[0], f[1], f[3].upper(), f[4].upper()
    if ucsc_name(chrom) not in NC_GRCH38:  # alt, decoy or another assembly's contig: not our reference
        raise InputError(f"{path}:{n}: contig '{chrom}' is not in the reference (GRCh38)")
    if not pos.isdigit() or int(pos) < 1:
        raise InputError(f"{path}:{n}: POS {pos!r} is not a positive integer")
    if not ref or set(ref) - _BASES:
        raise InputError(f"{path}:{n}: REF {f[3]!r} is not a run of A/C/G/T/N")
    variants, index = [], []
    for i, alt in enumerate(alts.split(","), start=1):
        if alt in (".", "*"):
            continue  # no variant allele here (reference-only site or spanning-deletion placeholder)
        if alt == SYMBOLIC_DELETION:  # a large deletion; its END is read from INFO when it is annotated
            if not re.search(r"(^|;)END=\d+(;|$)", f[7]):
                raise InputError(f"{path}:{n}: symbolic <DEL> without INFO END (where the deletion ends)")
        elif not alt or set(alt) - _BASES:
            raise InputError(
                f"{path}:{n}: ALT {alt!r} is not a run of A/C/G/T/N (of symbolic alleles only <DEL> is read)"
            )
        variants.append(Variant(chrom, int(pos), ref, alt))
        index.append(i)
    return _Record(n, f, variants, index)


def _info(text: str) -> dict[str, str]:
    if text in ("", "."):
        return {}
    out = {}
    for item in text.split(";"):
        key, _, value = item.partition("=")
        out[key] = value
    return out


def _sample_values(fields: list[str], names: list[str], allele: int) -> dict[str, dict[str, str]]:
    """FORMAT values per sample, with R/A-numbered AD and AF cut to this allele."""
    if len(fields) < 10:
        return {}
    keys = fields[8].split(":")
    out = {}
    for name, column in zip(names, fields[9:], strict=False):
        values = dict(zip(keys, column.split(":"), strict=False))
        if "AD" in values:
            ad = values["AD"].split(",")
            values["AD"] = ",".join([ad[0], ad[allele]]) if len(ad) > allele else values["AD"]
        if "AF" in values:
            af = values["AF"].split(",")
            values["AF"] = af[allele - 1] if len(af) >= allele else values["AF"]
        out[name] = values
    return out


def annotate_vcf(path: Path | str, annotator: Annotator | None = None) -> list[AnnotatedRecord]:
    """Annotate every ALT allele of every record; records off every transcript come back intergenic."""
    path = Path(path)
    annotator = annotator or Annotator()
    names: list[str] = []
    out = []
    for line, rec in _read(path):
        if rec is None:
            if line.startswith("#CHROM"):
                names = line.split("\t")[9:]
            continue
        info = _info(rec.fields[7])
        for v, allele in zip(rec.variants, rec.alt_index, strict=True):
            try:
                if v.alt == SYMBOLIC_DELETION:
                    a = annotator.annotate_large_deletion(v, int(info["END"])) or Annotation(
                        v, "", "", ("intergenic_variant",), "")  # fmt: skip
                else:
                    a = annotator.annotate(v)
            except InputError as exc:
                raise InputError(f"{path}:{rec.line}: {exc}") from exc
            filters = tuple(f for f in rec.fields[6].split(";") if f and f != ".")
            qual = None if rec.fields[5] == "." else float(rec.fields[5])
            out.append(AnnotatedRecord(a, rec.line, info, _sample_values(rec.fields, names, allele), filters, qual))
    return out


# ---- ONCOPANEL_CSQ


def _encode(value: str) -> str:
    return "".join(_ENCODE.get(ch, ch) for ch in value)


def _decode(value: str) -> str:
    for ch, code in _ENCODE.items():
        if ch != "%":
            value = value.replace(code, ch)
    return value.replace("%25", "%")


def csq_entry(a: Annotation) -> str:
    values = (
        a.variant.alt,
        a.gene,
        a.transcript,
        "&".join(a.consequence),
        a.exon,
        a.intron,
        a.hgvs_c,
        a.hgvs_p,
        a.protein_change,
        a.hgvs_g,
    )
    return "|".join(_encode(x) for x in values)


def parse_csq(value: str) -> list[dict[str, str]]:
    """The ONCOPANEL_CSQ INFO value back into one dict per allele (Consequence stays '&'-joined)."""
    return [dict(zip(CSQ_FIELDS, map(_decode, entry.split("|")), strict=True)) for entry in value.split(",")]


def csq_header(annotator: Annotator) -> list[str]:
    from oncopanel import __version__ as version

    transcripts = ",".join(f"{t.gene}:{t.accession}" for t in annotator.transcripts)
    return [
        f'##INFO=<ID={CSQ_ID},Number=.,Type=String,Description="oncopanel annotation on the MANE Select '
        f'transcript, one entry per ALT allele. Format: {"|".join(CSQ_FIELDS)}">',
        f"##ONCOPANEL_transcripts={transcripts}",
        f"##ONCOPANEL_annotation_data={data_version()}",
        f"##ONCOPANEL_annotator=oncopanel {version}",
    ]


def _with_csq(info: str, entries: list[str]) -> str:
    kept = [x for x in info.split(";") if x and x != "." and not x.startswith(CSQ_ID + "=")]
    if entries:
        kept.append(f"{CSQ_ID}={','.join(entries)}")
    return ";".join(kept) or "."


def write_annotated_vcf(src: Path | str, dest: Path | str, annotator: Annotator | None = None) -> int:
    """Copy a VCF adding ONCOPANEL_CSQ to every record (replacing an older one); returns records written.

    ``dest`` ending in .gz is BGZF-compressed (indexable with tabix).
    """
    src, dest = Path(src), Path(dest)
    annotator = annotator or Annotator()
    lines: list[str] = []
    count = 0
    for line, rec in _read(src):
        if rec is None:
            if line.startswith("#CHROM"):
                lines += csq_header(annotator)
            elif line.startswith(("##ONCOPANEL_", f"##INFO=<ID={CSQ_ID},")):
                continue
            lines.append(line)
            continue
        entries = []
        for v in rec.variants:
            try:
                entries.append(csq_entry(annotator.annotate(v)))
            except InputError as exc:
                raise InputError(f"{src}:{rec.line}: {exc}") from exc
        fields = list(rec.fields)
        fields[7] = _with_csq(fields[7], entries)
        lines.append("\t".join(fields))
        count += 1
    text = "\n".join(lines) + "\n"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.suffix == ".gz":
        import pysam

        with pysam.BGZFile(str(dest), "wb") as fh:
            fh.write(text.encode())
    else:
        dest.write_text(text)
    return count


# ---- table


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "", ".") else None


def _float(value: str | None) -> float | None:
    return float(value) if value not in (None, "", ".") else None


def table_rows(records: list[AnnotatedRecord], sample_id: str = "") -> list[dict[str, object]]:
    """One row per allele and sample (one row with ``sample_id`` when the VCF has no sample columns)."""
    rows = []
    for r in records:
        a = r.annotation
        base: dict[str, object] = {
            "chrom": a.variant.chrom,
            "pos": a.variant.pos,
            "ref": a.variant.ref,
            "alt": a.variant.alt,
            "gene": a.gene,
            "transcript": a.transcript,
            "exon": a.exon,
            "intron": a.intron,
            "consequence": "&".join(a.consequence),
            "hgvs_c": a.hgvs_c,
            "hgvs_p": a.hgvs_p,
            "protein_change": a.protein_change,
            "hgvs_g": a.hgvs_g,
            # the record's FILTER as the VCF writes it: artefact calls must not pass for findings downstream
            "filter": ";".join(r.filters) or ".",
        }
        for name, values in (r.samples or {sample_id: {}}).items():
            row = {"sample_id": name, **base}
            if "DP" in values:
                row["depth"] = _int(values["DP"])
            if "AD" in values:
                ad = values["AD"].split(",")
                row["ref_depth"] = _int(ad[0])
                row["alt_depth"] = _int(ad[1]) if len(ad) > 1 else None
            if "AF" in values:
                row["vaf"] = _float(values["AF"])
            if "ORIGIN" in r.info:
                row["origin"] = r.info["ORIGIN"]
            rows.append(row)
    return rows


def write_table(
    records: list[AnnotatedRecord],
    tsv: Path | str | None = None,
    parquet: Path | str | None = None,
    sample_id: str = "",
) -> list[str]:
    """Write the annotated calls as TSV and/or Parquet; returns the columns written.

    Call columns (depth, ref_depth, alt_depth, vaf, origin) appear when any record carries them. The Parquet
    schema metadata records the transcript versions and the annotation-data version.
    """
    rows = table_rows(records, sample_id)
    present = {k for row in rows for k in row}
    columns = [*TABLE_COLUMNS, *(c for c in CALL_COLUMNS if c in present)]
    if tsv is not None:
        tsv = Path(tsv)
        tsv.parent.mkdir(parents=True, exist_ok=True)
        with open(tsv, "w") as fh:
            fh.write("\t".join(columns) + "\n")
            for row in rows:
                fh.write("\t".join("" if row.get(c) is None else str(row[c]) for c in columns) + "\n")
    if parquet is not None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {
            "pos": pa.int64(),
            "depth": pa.int64(),
            "ref_depth": pa.int64(),
            "alt_depth": pa.int64(),
            "vaf": pa.float64(),
        }
        schema = pa.schema([(c, types.get(c, pa.string())) for c in columns])
        annotator_meta = {
            "oncopanel.annotation_data": data_version(),
            "oncopanel.transcripts": ",".join(f"{t.gene}:{t.accession}" for t in load_transcripts()),
        }
        table = pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows], schema=schema)
        table = table.replace_schema_metadata(annotator_meta)
        Path(parquet).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, str(parquet))
    return columns
