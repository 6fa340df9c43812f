"""The protected patient-identity manifest (workflow/schemas/identity.schema.yaml): read it, check a record.

Identity is printed in the clinician PDF header only. It never enters the result document, file names or logs;
the manifest is kept by the centre apart from the results tree and handed to ``render_pdf`` record by record.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

import yaml

from oncopanel.errors import InputError, ValidationError
from oncopanel.paths import SCHEMAS

SCHEMA_PATH = SCHEMAS / "identity.schema.yaml"


@functools.cache
def _validator():
    import jsonschema

    return jsonschema.Draft202012Validator(yaml.safe_load(SCHEMA_PATH.read_text()))


def identity_problems(record: Mapping, where: str) -> list[str]:
    """Schema problems of one record; messages name the field, never echo the identifying values."""
    return [
        f"{where}: field {'/'.join(map(str, e.absolute_path)) or '(record)'} fails {e.validator} check"
        for e in sorted(_validator().iter_errors(dict(record)), key=lambda e: list(map(str, e.absolute_path)))
    ]


def load_identity_manifest(path: str | Path) -> dict[str, dict]:
    """sample_id → identity record, from a YAML list; every problem of every record reported at once."""
    records = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    if not isinstance(records, list):
        raise InputError(f"{path}: the identity manifest must be a list of records")
    problems: list[str] = []
    out: dict[str, dict] = {}
    for n, record in enumerate(records, start=1):
        problems += identity_problems(record, f"{path} record {n}")
        sid = record.get("sample_id") if isinstance(record, Mapping) else None
        if sid in out:
            problems.append(f"{path} record {n}: sample_id {sid} appears twice")
        elif sid:
            out[sid] = dict(record)
    if problems:
        raise ValidationError(problems)
    return out


def check_identity(identity: Mapping, result: Mapping) -> None:
    """The record must be valid and belong to this result's sample and patient."""
    problems = identity_problems(identity, "identity record")
    if problems:
        raise InputError("identity record does not match identity.schema.yaml: " + "; ".join(problems))
    sample = result["sample"]
    if identity["sample_id"] != sample["sample_id"] or identity["patient"] != sample["patient"]:
        raise InputError(
            f"identity record is for sample {identity['sample_id']} / patient {identity['patient']}, "
            f"not {sample['sample_id']} / {sample['patient']}: refusing to print another patient's identity"
        )
    if identity["germline_consent"] != "yes" and result["germline"]["findings"]:
        raise InputError(
            f"sample {sample['sample_id']}: the identity manifest records germline consent as "
            f"{identity['germline_consent']!r} but the result carries germline findings; rebuild the result with the "
            "manifest's consent before reporting"
        )
