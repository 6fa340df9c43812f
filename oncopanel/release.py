"""Releasing results: a delivered result is never destroyed or falsified.

The workflow writes each sample's result as a *draft* (``{results}/drafts/…``, the Snakemake outputs, free to be
rewritten by any re-run). Releasing copies a draft into the delivered paths (``result/``, ``reports/``,
``annotation/``, ``therapies/``) as a numbered version:

- every version is kept whole under ``release/{sample}/v{N}/``; the delivered paths are a copy of the current one
  (restored from it if they are found changed), and ``release/{sample}/index.json`` lists the versions;
- a sample's first draft is released as version 1;
- a re-run whose draft says the same thing clinically changes nothing (not even the report date);
- a *provisional* release (re-test, analysis incomplete, held: the lab's next step is pending) is replaced by the
  next draft that differs, as a new version that names the one it supersedes;
- a *final* release (a reported result, or a request for a new specimen) is never replaced by a re-run: a differing
  draft is recorded as pending, and only ``oncopanel amend`` releases it, as an amendment with its reason.

Each release appends an entry to the batch's hash-chained audit log; the chain's head after that entry is carried
in the released result and its PDF, so a truncated or rewritten log is detected by ``oncopanel audit verify``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oncopanel import audit
from oncopanel.failures import is_provisional
from oncopanel.report.decisions import DEFAULT_POLICY
from oncopanel.report.model import Amendment, CopyNumber, SampleResult, as_result
from oncopanel.report.result import canonical_json, load_result, write_result

# Fields that do not change what a result says: when it was dated, with which software, and its release anchors.
_NOT_CLINICAL = ("reported_date", "provenance", "amendment")
# The files of one version, by their name inside release/{sample}/v{N}/ → delivery_paths key.
VERSION_FILES = {
    "result.json": "result",
    "annotated.tsv": "table_tsv",
    "annotated.parquet": "table_parquet",
    "therapies.json": "therapies",
    "report.pdf": "pdf",
}

Renderer = Callable[[Path, Path], None]  # (result JSON, PDF out)


def delivery_paths(results: str | Path, sample_id: str) -> dict[str, str]:
    """Where one sample's delivered files go (a draft uses the same names under ``{results}/drafts``)."""
    return {
        "result": f"{results}/result/{sample_id}.result.json",
        "table_tsv": f"{results}/annotation/{sample_id}.annotated.tsv",
        "table_parquet": f"{results}/annotation/{sample_id}.annotated.parquet",
        "therapies": f"{results}/therapies/{sample_id}.therapies.json",
        "pdf": f"{results}/reports/{sample_id}.pdf",
    }


def draft_paths(results: str | Path, sample_id: str) -> dict[str, str]:
    """A sample's draft (the results job's outputs): no PDF, which is rendered only for a released version."""
    paths = delivery_paths(f"{results}/drafts", sample_id)
    del paths["pdf"]
    return paths


def clinical_digest(result: SampleResult | Mapping) -> str:
    """SHA-256 of what a result says clinically: the canonical JSON without dates, provenance and release marks.

    The reporting decisions follow from the content and the reporting policy, so the digest covers the content and,
    when it is not the default, the policy; the schema version is not clinical. Results released before decisions
    were recorded (schema 1.0, all under the default policy) thus compare equal to a re-run that says the same."""
    r = as_result(result)
    content: dict[str, Any] = {k: v for k, v in _undecided(r).to_dict().items() if k not in _NOT_CLINICAL}
    content["schema_version"] = "1.0"  # the digest's form since 1.0; kept so earlier releases' digests still match
    if content.get("failure"):  # the next report's date follows the report date
        content["failure"] = {k: v for k, v in content["failure"].items() if k != "next_report_date"}
    if r.reporting and r.reporting.policy != DEFAULT_POLICY.record():
        content["reporting_policy"] = r.reporting.policy.to_dict()
    return hashlib.sha256(canonical_json(content)).hexdigest()


def _undecided(r: SampleResult) -> SampleResult:
    """The result without its reporting decisions (the schema-1.0 shape)."""
    replace = dataclasses.replace
    return replace(
        r,
        reporting=None,
        somatic=[replace(v, reporting=None) for v in r.somatic],
        germline=replace(r.germline, findings=[replace(g, reporting=None) for g in r.germline.findings]),
        hotspots=[replace(h, reporting=None) for h in r.hotspots],
        therapies=[replace(t, reporting=None) for t in r.therapies],
        copy_number=_undecided_copy_number(r.copy_number),
    )


def _undecided_copy_number(cn: CopyNumber | None) -> CopyNumber | None:
    if cn is None:
        return None
    replace = dataclasses.replace
    amp = replace(cn.amplification, reporting=None) if cn.amplification else None
    return replace(cn, reporting=None, amplification=amp, events=[replace(e, reporting=None) for e in cn.events])


@dataclass(frozen=True)
class Outcome:
    sample_id: str
    action: str  # released | unchanged | pending_amendment
    version: int
    detail: str = ""


class Release:
    """One sample's release record under ``{results}/release/{sample}/``."""

    def __init__(self, results: str | Path, sample_id: str):
        self.results = Path(results)
        self.sample_id = sample_id
        self.root = self.results / "release" / sample_id
        self.index_path = self.root / "index.json"
        self.index = (
            json.loads(self.index_path.read_text())
            if self.index_path.exists()
            else {"sample_id": sample_id, "versions": [], "pending": None}
        )

    @property
    def versions(self) -> list[dict]:
        return self.index["versions"]

    @property
    def current(self) -> dict | None:
        return self.versions[-1] if self.versions else None

    def version_dir(self, n: int) -> Path:
        return self.root / f"v{n}"

    def delivered(self) -> dict[str, Path]:
        return {k: Path(v) for k, v in delivery_paths(self.results, self.sample_id).items()}

    def save(self) -> None:
        _atomic_write(self.index_path, json.dumps(self.index, indent=2, sort_keys=True) + "\n")

    def restore(self) -> list[str]:
        """Make the delivered files equal the current version again (after a crash mid-copy, or an edit)."""
        if not self.current:
            return []
        restored = []
        kept = self.version_dir(self.current["version"])
        for name, key in VERSION_FILES.items():
            source, target = kept / name, self.delivered()[key]
            if source.exists() and (not target.exists() or _sha256(target) != _sha256(source)):
                _atomic_copy(source, target)
                restored.append(str(target))
        return restored

    def offer(
        self, draft: Mapping[str, Path], render: Renderer, audit_log: Path, *, amend_reason: str = "",
        lab_detail: list[str] | None = None,
    ) -> Outcome:  # fmt: skip
        """Release a draft if the rules above allow; ``amend_reason`` releases over a final result."""
        model = load_result(draft["result"])
        digest = clinical_digest(model)
        current = self.current
        self.restore()
        if current and current["clinical_sha256"] == digest:
            self.index["pending"] = None
            self.save()
            return Outcome(self.sample_id, "unchanged", current["version"])
        if current and not current["provisional"] and not amend_reason:
            self.index["pending"] = {
                "clinical_sha256": digest, "status": model.status, "kind": model.failure_kind,
                "noted_at": _now(), "lab_detail": lab_detail or [],
            }  # fmt: skip
            self.save()
            return Outcome(
                self.sample_id, "pending_amendment", current["version"],
                "a re-run gives a different result; the released one is unchanged (oncopanel amend releases it)",
            )  # fmt: skip
        version = len(self.versions) + 1
        if current:
            reason = amend_reason or _replacement_reason(current)
            supersedes = f"{model.report_id} v{current['version']}"
            model = dataclasses.replace(model, amendment=Amendment(supersedes=supersedes, reason=reason))
        model = dataclasses.replace(model, provenance=dataclasses.replace(model.provenance, report_version=version))
        result = model.to_dict()
        anchor = audit.record_release(audit_log, self.sample_id, audit.result_digest(result),
                                      report_id=result["report_id"], version=version)  # fmt: skip
        result = audit.with_anchor(result, anchor)
        kept = self.version_dir(version)
        kept.mkdir(parents=True, exist_ok=True)
        sha = write_result(result, kept / "result.json")
        for name, key in VERSION_FILES.items():
            if key not in ("result", "pdf"):
                _atomic_copy(Path(draft[key]), kept / name)
        render(kept / "result.json", kept / "report.pdf")
        if current:
            current["superseded_by"] = version
        self.versions.append({
            "version": version, "released_at": _now(), "status": model.status, "kind": model.failure_kind,
            "provisional": is_provisional(result), "result_sha256": sha, "clinical_sha256": digest,
            "amendment_reason": (model.amendment.reason or "") if model.amendment else "",
            "lab_detail": lab_detail or [],
        })  # fmt: skip
        self.index["pending"] = None
        self.save()
        self.restore()
        return Outcome(self.sample_id, "released", version)


def _replacement_reason(previous: Mapping) -> str:
    return {
        "analysis_incomplete": "the analysis, incomplete in the earlier report, was completed",
        "retest": "the stored material was re-tested",
        "held": "the batch's hold was resolved",
    }.get(previous.get("kind", ""), "re-analysis")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _atomic_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    tmp.replace(target)


# ---------------------------------------------------------------- the batch status (batch/status.json)
STATUS_SCHEMA = "oncopanel-batch-status/1"
NEXT_STEP = {
    "reported": "released",
    "new_specimen": "a new specimen is needed",
    "retest": "re-test from the stored DNA or library",
    "analysis_incomplete": "the lab re-runs the analysis (no new specimen)",
    "held": "release held: run controls or identity under review",
    "no_result": "no result released yet: re-run the workflow",
}


def sample_status(results: str | Path, sample_id: str, batch: str) -> dict:
    """One patient sample's release state, from its release record (what was delivered, not what was drafted)."""
    record = Release(results, sample_id)
    current = record.current
    state = "no_result" if not current else (current["kind"] or current["status"])
    return {
        "sample_id": sample_id,
        "batch": batch,
        "role": "patient",
        "state": state,
        "next_step": NEXT_STEP.get(state, state),
        "version": current["version"] if current else 0,
        "result_sha256": current["result_sha256"] if current else "",
        "pending_amendment": record.index.get("pending") is not None,
        "lab_detail": (record.index.get("pending") or current or {}).get("lab_detail", []),
    }


def control_status(sample_id: str, batch: str, control: str, verdicts: Mapping) -> dict:
    verdict = verdicts.get(sample_id, "not evaluated")
    return {
        "sample_id": sample_id, "batch": batch, "role": "control", "control": control,
        "state": f"control_{verdict}".replace(" ", "_"), "next_step": "", "version": 0, "result_sha256": "",
        "pending_amendment": False, "lab_detail": [],
    }  # fmt: skip


def batch_status(results: str | Path, samples: Sequence) -> dict:
    """Every sample's state after a run: patients by their release records, controls by their batch verdicts."""
    r = Path(results)
    rows = []
    for s in samples:
        if s.is_control:
            verdicts = _control_verdicts(r, s.batch)
            rows.append(control_status(s.sample_id, s.batch, s.control, verdicts))
        else:
            rows.append(sample_status(r, s.sample_id, s.batch))
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    return {"schema": STATUS_SCHEMA, "written_at": _now(), "counts": counts, "samples": rows}


def _control_verdicts(results: Path, batch: str) -> dict:
    for path in (results / "identity" / f"{batch}.batch_identity.json",
                 results / "release" / f"{batch}.batch_identity.partial.json"):  # fmt: skip
        if path.exists():
            return json.loads(path.read_text()).get("controls", {}).get("controls", {})
    return {}


def write_batch_status(results: str | Path, samples: Sequence) -> tuple[Path, list[str]]:
    """Write ``batch/status.json``; returns it and one console line per sample that needs the lab's attention."""
    status = batch_status(results, samples)
    path = Path(results) / "batch" / "status.json"
    _atomic_write(path, json.dumps(status, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    lines = []
    for row in status["samples"]:
        attention = row["state"] not in ("reported", "control_pass") or row["pending_amendment"]
        if attention:
            pending = "; a re-run differs from the released result (oncopanel amend)" * row["pending_amendment"]
            detail = f" [{'; '.join(row['lab_detail'])}]" if row["lab_detail"] else ""
            what = row["next_step"] or row["state"].replace("_", " ")
            lines.append(f"{row['sample_id']} ({row['batch']}): {row['state']} — {what}{pending}{detail}")
    return path, lines
