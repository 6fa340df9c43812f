"""Config and sample-sheet validation: every problem found at once, each naming file, row, column and rule.

The sample sheet has one row per sequencing lane. Problems with the sheet itself (bad values, duplicate ids,
unknown panels or tumour types, path traversal) refuse the whole sheet up front. Problems with a sample's data
(missing or corrupt files) are not the sheet's: they fail that sample alone, later, in the input check.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import jsonschema

from oncopanel import settings
from oncopanel.errors import InputError, ValidationError
from oncopanel.model import GERMLINE_SPECIMENS
from oncopanel.panels import load_panels

SAMPLE_COLUMNS = (
    "sample_id", "patient", "batch", "site", "specimen_type", "tumour_content", "oncotree_code", "panels",
    "lane", "fastq_1", "fastq_2", "bam", "i7", "i5", "received_date", "control", "reference_material", "language",
    "germline_consent", "line_of_therapy", "umi", "cfdna_input_ng",
)  # fmt: skip
# Columns that describe the sample, not the lane: they must agree across a sample's lanes.
SAMPLE_LEVEL = (
    "patient", "batch", "site", "specimen_type", "tumour_content", "oncotree_code", "panels",
    "received_date", "control", "reference_material", "language", "germline_consent", "line_of_therapy",
    "umi", "cfdna_input_ng",
)  # fmt: skip
# What only a patient's sample has: a run control (water, a cell line, a reference DNA) leaves them empty.
PATIENT_FIELDS = ("patient", "site", "specimen_type", "oncotree_code")
CONTROL_KINDS = ("no_template_control", "positive_control", "negative_control")


@dataclass(frozen=True)
class Lane:
    lane: str
    fastq_1: str = ""
    fastq_2: str = ""
    bam: str = ""
    i7: str = ""
    i5: str = ""


@dataclass
class Sample:
    sample_id: str
    patient: str  # "" for a run control, as are site, specimen_type and oncotree_code
    batch: str
    site: str
    specimen_type: str
    tumour_content: float | None
    oncotree_code: str
    panels: tuple[str, ...]
    received_date: str = ""
    control: str = ""  # no_template_control | positive_control | negative_control; "" for a patient's sample
    reference_material: str = ""  # a control's material, by name in config/controls.yaml (COLO829, NA12878, ...)
    language: str = ""
    germline_consent: str = "unknown"  # consent to germline analysis and its reporting (yes | no | unknown)
    lanes: list[Lane] = field(default_factory=list)
    # optional: first_line | maintenance | adjuvant | progressed_on:<drug>; the report's therapy summary leads with
    # that setting (not in the repr: the input check does not depend on it)
    line_of_therapy: str = field(default="", repr=False)
    # optional (plasma, issue 18): the UMI layout (oncopanel.umi.layout; "" = none, or the pooled run's) and the
    # cfDNA put into the library in ng (the report gives genome equivalents from it)
    umi: str = ""
    cfdna_input_ng: float | None = None

    @property
    def is_control(self) -> bool:
        """A run control: judged in the batch's run controls, never given a patient report, price or tumour type."""
        return bool(self.control)

    @property
    def is_patient(self) -> bool:
        return not self.control

    @property
    def is_germline_specimen(self) -> bool:
        return self.specimen_type in GERMLINE_SPECIMENS

    @property
    def input_files(self) -> list[str]:
        out: list[str] = []
        for lane in self.lanes:
            out.extend(f for f in (lane.fastq_1, lane.fastq_2, lane.bam) if f)
        return out

    @property
    def from_bam(self) -> bool:
        return any(lane.bam for lane in self.lanes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sample_id": self.sample_id, "patient": self.patient, "batch": self.batch, "site": self.site,
            "specimen_type": self.specimen_type, "tumour_content": self.tumour_content,
            "oncotree_code": self.oncotree_code, "panels": list(self.panels),
            "received_date": self.received_date, "control": self.control, "language": self.language,
            "germline_consent": self.germline_consent,
        }  # fmt: skip


def batch_digest(samples: Iterable[Sample]) -> str:
    """A short digest of a batch's sample records (ids, metadata, lanes and files) as the sheet gives them: the
    input check's first output is named by it, so adding, removing or correcting a sample re-runs the check."""
    records = "\n".join(repr(s) for s in sorted(samples, key=lambda s: s.sample_id))
    return hashlib.sha256(records.encode()).hexdigest()[:12]


def checked_marker(results: str, batch: str, samples: Iterable[Sample]) -> str:
    """The input check's first output: the batch's sample set it covered (rules/inputs.smk)."""
    return f"{results}/inputs/{batch}.{batch_digest(samples)}.checked.json"


def _load_schema(name: str) -> dict:
    return settings.schema(name)


def validate_config(config: dict, source: str = "config") -> dict:
    """The workflow configuration checked by the settings layer (every problem at once); defaults filled."""
    return settings.check_config(config, source)


def _decode(path: Path) -> tuple[str, list[str]]:
    """Text of the sheet, or the lines whose bytes are not UTF-8."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        lines = raw.split(b"\n")
        header = lines[0].decode("utf-8", errors="replace").rstrip("\r").split("\t")
        bad = []
        for lineno, line in enumerate(lines, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                field_index = line[: exc.start].count(b"\t")
                column = header[field_index] if field_index < len(header) else f"#{field_index + 1}"
                bad.append(f"{path}: line {lineno}: column {column}: bytes that are not UTF-8 (byte {exc.start + 1})")
        return "", bad


def _has_traversal(value: str) -> bool:
    return ".." in PurePath(value).parts


def _row_problems(
    path: Path, lineno: int, row: dict[str, str], validator, panels: set[str], pooled_batches: frozenset[str]
) -> list[str]:
    where = f"{path}: row {lineno}"
    sid = row.get("sample_id") or "?"
    problems = []
    doc: dict[str, Any] = {k: v for k, v in row.items() if k in SAMPLE_COLUMNS}
    tc = doc.get("tumour_content", "")
    if tc in ("", None):
        doc["tumour_content"] = None
    else:
        try:
            doc["tumour_content"] = float(tc)
        except ValueError:
            problems.append(f"{where} (sample {sid}): column tumour_content: '{tc}' is not a number")
            doc["tumour_content"] = None
    ng = doc.get("cfdna_input_ng", "")
    if ng in ("", None):
        doc.pop("cfdna_input_ng", None)
    else:
        try:
            doc["cfdna_input_ng"] = float(ng)
        except ValueError:
            problems.append(f"{where} (sample {sid}): column cfdna_input_ng: '{ng}' is not a number")
            doc.pop("cfdna_input_ng")
    if doc.get("umi"):
        from oncopanel.umi.layout import parse_layout

        try:
            parse_layout(doc["umi"], f"{where} (sample {sid}): column umi")
        except ValidationError as exc:
            problems.extend(exc.problems)
        if doc["umi"] == "rx" and not row.get("bam"):
            problems.append(f"{where} (sample {sid}): column umi: 'rx' (UMIs in the RX tag) needs BAM input")
    for err in validator.iter_errors(doc):
        column = err.absolute_path[0] if err.absolute_path else None
        if column is None and err.validator == "required":
            problems.append(f"{where} (sample {sid}): {err.message}")
        elif err.validator == "minLength" and column in PATIENT_FIELDS:
            problems.append(f"{where} (sample {sid}): column {column}: empty; a patient's sample needs it "
                            f"(only a run control, named in the control column, may leave it empty)")  # fmt: skip
        elif err.validator == "maxLength" and column == "reference_material":
            problems.append(f"{where} (sample {sid}): column reference_material: '{err.instance}' on a patient's "
                            "sample; only run controls name a reference material")  # fmt: skip
        else:
            problems.append(f"{where} (sample {sid}): column {column}: {err.message}")
    for name in (p.strip() for p in row.get("panels", "").split(",") if p.strip()):
        if name not in panels:
            problems.append(
                f"{where} (sample {sid}): column panels: unknown panel '{name}' (known: {', '.join(sorted(panels))})"
            )
    problems += settings.language_problem(row.get("language", ""), f"{where} (sample {sid}): column language")
    has_fastq = bool(row.get("fastq_1") or row.get("fastq_2"))
    if has_fastq and row.get("bam"):
        problems.append(f"{where} (sample {sid}): give either fastq_1/fastq_2 or bam for a lane, not both")
    elif not has_fastq and not row.get("bam"):
        if row.get("batch") not in pooled_batches:
            problems.append(
                f"{where} (sample {sid}): no input: give fastq_1 and fastq_2, or bam, or list batch "
                f"'{row.get('batch', '')}' under pooled_runs in the config"
            )
        elif not row.get("i7"):
            problems.append(f"{where} (sample {sid}): column i7: a sample of a pooled run needs its index")
    elif has_fastq and not (row.get("fastq_1") and row.get("fastq_2")):
        problems.append(f"{where} (sample {sid}): paired-end input needs both fastq_1 and fastq_2")
    for column in ("fastq_1", "fastq_2", "bam"):
        if row.get(column) and _has_traversal(row[column]):
            problems.append(f"{where} (sample {sid}): column {column}: path traversal ('..') is not allowed")
    return problems


def _material_problems(path: Path, rows: list[tuple[int, dict[str, str]]], controls: Path | str | None) -> list[str]:
    """A control's reference_material must be one controls.yaml knows: a positive control one with expected variants,
    a negative control a wild-type one; water (the NTC) has none."""
    from oncopanel.sample_identity.criteria import reference_materials

    try:
        materials = reference_materials(controls)
    except InputError as exc:
        return [str(exc)]
    positive = ", ".join(n for n, m in materials.items() if m.is_positive) or "none"
    wild_type = ", ".join(n for n, m in materials.items() if not m.is_positive) or "none"
    problems = []
    for lineno, row in rows:
        kind, name = row.get("control", ""), row.get("reference_material", "")
        where = f"{path}: row {lineno} (sample {row.get('sample_id')}): column reference_material"
        material = materials.get(name)
        if kind == "no_template_control" and name:
            problems.append(f"{where}: '{name}' on a no-template control, which holds no material; leave it empty")
        elif kind == "positive_control" and not name:
            problems.append(f"{where}: a positive control must name its reference material (known: {positive})")
        elif kind in ("positive_control", "negative_control") and name and material is None:
            known = positive if kind == "positive_control" else wild_type
            problems.append(f"{where}: unknown reference material '{name}' (known: {known})")
        elif kind == "positive_control" and not material.is_positive:
            problems.append(f"{where}: '{name}' has no expected variants to detect (positive materials: {positive})")
        elif kind == "negative_control" and material is not None and material.is_positive:
            problems.append(f"{where}: '{name}' carries expected variants; a negative control is wild type "
                            f"(known: {wild_type})")  # fmt: skip
    return problems


def _oncotree_problems(path: Path, rows: list[tuple[int, dict[str, str]]]) -> list[str]:
    try:
        from oncopanel.knowledge import oncotree
    except ImportError:  # knowledge package not built yet: the schema pattern still applies
        return []
    problems = []
    for lineno, row in rows:
        code = row.get("oncotree_code", "")
        if code and not oncotree.is_valid_code(code):
            near = ", ".join(oncotree.closest_codes(code, n=3))
            problems.append(
                f"{path}: row {lineno} (sample {row.get('sample_id')}): column oncotree_code: "
                f"'{code}' is not an OncoTree code (closest: {near})"
            )
    return problems


def read_sample_sheet(
    path: Path | str, pooled_batches: frozenset[str] | set[str] = frozenset(), controls: Path | str | None = None
) -> dict[str, Sample]:
    """Parse and validate the sample sheet; raise ValidationError with every problem found.

    ``pooled_batches``: batches delivered as one pooled run (config ``pooled_runs``); their rows name indexes
    instead of files, and the workflow demultiplexes them. ``controls``: the run-control criteria (config
    ``controls``, default config/controls.yaml) whose reference materials the control rows may name.
    """
    path = Path(path)
    if not path.exists():
        raise ValidationError([f"{path}: sample sheet not found"])
    text, problems = _decode(path)
    if problems:
        raise ValidationError(problems)
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    header = reader.fieldnames or []
    required = _load_schema("samples.schema.yaml")["required"]
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in SAMPLE_COLUMNS]
    if missing:
        problems.append(f"{path}: header: missing required column(s): {', '.join(missing)}")
    if unknown:
        problems.append(f"{path}: header: unknown column(s): {', '.join(unknown)}")
    if problems:
        raise ValidationError(problems)

    validator = jsonschema.Draft202012Validator(_load_schema("samples.schema.yaml"))
    panels = set(load_panels())
    rows: list[tuple[int, dict[str, str]]] = []
    for lineno, row in enumerate(reader, start=2):
        if not any((v or "").strip() for v in row.values()):
            continue
        if None in row:
            problems.append(f"{path}: row {lineno}: more fields than the header has columns")
        row = {k: (v or "").strip() for k, v in row.items() if k is not None}
        rows.append((lineno, row))
        problems.extend(_row_problems(path, lineno, row, validator, panels, frozenset(pooled_batches)))
    if not rows:
        problems.append(f"{path}: no samples")
    problems.extend(_oncotree_problems(path, rows))
    problems.extend(_material_problems(path, rows, controls))
    problems.extend(_cross_row_problems(path, rows))
    problems.extend(_shared_file_problems(path, rows))
    if problems:
        raise ValidationError(problems)
    return _build_samples(rows)


def _cross_row_problems(path: Path, rows: list[tuple[int, dict[str, str]]]) -> list[str]:
    problems = []
    seen_lane: dict[tuple[str, str], int] = {}
    first: dict[str, tuple[int, dict[str, str]]] = {}
    indexes: dict[tuple[str, str, str], tuple[int, str]] = {}
    for lineno, row in rows:
        sid = row.get("sample_id", "")
        key = (sid, row.get("lane", ""))
        if key in seen_lane:
            problems.append(
                f"{path}: row {lineno}: duplicate sample_id '{sid}' with lane '{key[1]}' "
                f"(first at row {seen_lane[key]})"
            )
        else:
            seen_lane[key] = lineno
        if sid in first:
            line0, row0 = first[sid]
            for column in SAMPLE_LEVEL:
                if row.get(column, "") != row0.get(column, ""):
                    problems.append(
                        f"{path}: row {lineno} (sample {sid}): column {column}: '{row.get(column, '')}' differs "
                        f"from row {line0} ('{row0.get(column, '')}'); sample-level columns must agree across lanes"
                    )
        else:
            first[sid] = (lineno, row)
        panel_names = [p.strip() for p in row.get("panels", "").split(",") if p.strip()]
        if row.get("specimen_type") in GERMLINE_SPECIMENS:
            panels = load_panels()
            somatic_only = [p for p in panel_names if p in panels and "germline" not in panels[p].modes]
            if somatic_only and not row.get("control"):
                problems.append(
                    f"{path}: row {lineno} (sample {sid}): column panels: {', '.join(somatic_only)} is a somatic "
                    f"panel and cannot be tested on a {row['specimen_type']} specimen"
                )
        if row.get("i7"):
            ikey = (row.get("batch", ""), row.get("lane", ""), row["i7"] + "+" + row.get("i5", ""))
            if ikey in indexes and indexes[ikey][1] != sid:
                problems.append(
                    f"{path}: row {lineno} (sample {sid}): columns i7/i5: index pair {ikey[2]} collides with "
                    f"sample {indexes[ikey][1]} (row {indexes[ikey][0]}) in lane {ikey[1]}"
                )
            elif ikey not in indexes:
                problems.extend(_near_index_problems(path, lineno, sid, ikey, indexes))
            indexes.setdefault(ikey, (lineno, sid))
    return problems


def _shared_file_problems(path: Path, rows: list[tuple[int, dict[str, str]]]) -> list[str]:
    """One input file named by two different samples (lanes of one sample share a sample_id): both reported
    from one set of reads would be a mix-up no later step can see. Identical copies under other names are caught
    by checksum in the input check."""
    owner: dict[str, tuple[int, str, str]] = {}
    problems = []
    for lineno, row in rows:
        sid = row.get("sample_id", "")
        for column in ("fastq_1", "fastq_2", "bam"):
            if not row.get(column):
                continue
            key = os.path.normpath(row[column])
            if key not in owner:
                owner[key] = (lineno, sid, column)
            elif owner[key][1] != sid:
                row0, sid0, column0 = owner[key]
                problems.append(
                    f"{path}: row {lineno} (sample {sid}): column {column}: {row[column]} is also the {column0} of "
                    f"sample {sid0} (row {row0}); one sequencing file cannot belong to two samples"
                )
    return problems


MIN_INDEX_DISTANCE = 3  # one sequencing error per index must never turn one sample's index into another's


def _hamming(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b))


def _mismatches(n: int) -> str:
    return f"{n} mismatch" if n == 1 else f"{n} mismatches"


def _near_index_problems(
    path: Path, lineno: int, sid: str, ikey: tuple[str, str, str], indexes: dict[tuple[str, str, str], tuple[int, str]]
) -> list[str]:
    """Dual indexes of one lane too close to tell apart: both i7 and i5 within MIN_INDEX_DISTANCE - 1."""
    i7, _, i5 = ikey[2].partition("+")
    out = []
    for (batch, lane, pair), (row0, sid0) in indexes.items():
        if (batch, lane) != ikey[:2] or sid0 == sid:
            continue
        o7, _, o5 = pair.partition("+")
        d7, d5 = _hamming(i7, o7), _hamming(i5, o5)
        if d7 < MIN_INDEX_DISTANCE and d5 < MIN_INDEX_DISTANCE:
            out.append(
                f"{path}: row {lineno} (sample {sid}): columns i7/i5: index pair {ikey[2]} is {_mismatches(d7)} (i7) "
                f"and {_mismatches(d5)} (i5) from sample {sid0} (row {row0}) in lane {lane}; indexes of one lane "
                f"must differ at >= {MIN_INDEX_DISTANCE} positions"
            )
    return out


def _build_samples(rows: list[tuple[int, dict[str, str]]]) -> dict[str, Sample]:
    samples: dict[str, Sample] = {}
    for _lineno, row in rows:
        sid = row["sample_id"]
        if sid not in samples:
            tc = row.get("tumour_content", "")
            samples[sid] = Sample(
                sample_id=sid, patient=row["patient"], batch=row["batch"], site=row["site"],
                specimen_type=row["specimen_type"], tumour_content=float(tc) if tc else None,
                oncotree_code=row["oncotree_code"],
                panels=tuple(p.strip() for p in row["panels"].split(",") if p.strip()),
                received_date=row.get("received_date", ""), control=row.get("control", ""),
                reference_material=row.get("reference_material", ""),
                language=row.get("language", ""), germline_consent=row.get("germline_consent") or "unknown",
                line_of_therapy=row.get("line_of_therapy", ""), umi=row.get("umi", ""),
                cfdna_input_ng=float(row["cfdna_input_ng"]) if row.get("cfdna_input_ng") else None,
            )  # fmt: skip
        samples[sid].lanes.append(
            Lane(row["lane"], row.get("fastq_1", ""), row.get("fastq_2", ""), row.get("bam", ""),
                 row.get("i7", ""), row.get("i5", ""))
        )  # fmt: skip
    return samples
