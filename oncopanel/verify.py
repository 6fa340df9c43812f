"""Does a report still match the data it was rendered from?

A PDF carries the SHA-256 of its result document in its metadata (and printed on its last page). Verification
recomputes that checksum from the result JSON on disk, then recomputes the SHA-256 of every input file the
sample's input check recorded, and says which, if any, no longer match. A result that carries an audit anchor is
also checked against its batch's audit log (oncopanel.audit.check_anchor). Results of every supported schema
version verify (oncopanel.report.model.SCHEMA_VERSIONS): the checksum is taken over the document as read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from oncopanel.audit import check_anchor, read_chain
from oncopanel.errors import InputError
from oncopanel.provenance import sha256_file
from oncopanel.report.result import RESULT_SHA_KEYWORD, load_result, result_sha256

_KEYWORD = re.compile(rb"/Keywords \(" + re.escape(RESULT_SHA_KEYWORD.encode()) + rb"([0-9a-f]{64})\)")


@dataclass
class Verdict:
    ok: bool = True
    lines: list[str] = field(default_factory=list)

    def fail(self, line: str) -> None:
        self.ok = False
        self.lines.append(f"MISMATCH: {line}")


def pdf_result_sha256(pdf: Path) -> str:
    match = _KEYWORD.search(pdf.read_bytes())
    if not match:
        raise InputError(f"{pdf}: no oncopanel result checksum in its metadata (not an oncopanel report?)")
    return match.group(1).decode()


def default_result_path(pdf: Path) -> Path:
    """results/reports/S.pdf → results/result/S.result.json"""
    return pdf.parent.parent / "result" / f"{pdf.stem}.result.json"


def verify_report(report: Path, result_path: Path | None = None) -> Verdict:
    verdict = Verdict()
    if report.suffix == ".pdf":
        result_path = result_path or default_result_path(report)
        claimed = pdf_result_sha256(report)
        result = load_result(result_path)
        actual = result_sha256(result)  # to_dict() is the file's document exactly
        if claimed != actual:
            verdict.fail(f"{report} was rendered from result {claimed[:16]}…, but {result_path} is now {actual[:16]}…")
        else:
            verdict.lines.append(f"ok: {report} matches {result_path} (sha256 {actual})")
    else:
        result_path = report
        result = load_result(result_path)
    check_path = result_path.parent.parent / "inputs" / f"{result.sample.sample_id}.inputs.json"
    if check_path.exists():
        for entry in json.loads(check_path.read_text()).get("files", []):
            path = Path(entry["path"])
            if not path.exists():
                verdict.fail(f"input {path} is missing")
            elif sha256_file(path) != entry["sha256"]:
                verdict.fail(f"input {path} changed since the run (sha256 differs)")
            else:
                verdict.lines.append(f"ok: input {path.name} unchanged")
    if result.provenance.audit_head_sha256 is not None:
        log = _audit_log_of(result_path)
        anchored, message = check_anchor(read_chain(log), result.to_dict(), log.name)
        if anchored:
            verdict.lines.append(f"ok: {message}")
        else:
            verdict.fail(f"{result_path.name}: {message}")
    signoff_problems(result.to_dict(), verdict)
    recorded = result.provenance.inputs
    if recorded and not check_path.exists():
        verdict.lines.append(f"note: {check_path} not found; input checksums recorded in the result not re-checked")
    return verdict


def _audit_log_of(result_path: Path) -> Path:
    """The batch's audit log: results/audit.log for results/result/S.result.json and for a kept version
    results/release/S/vN/result.json."""
    version_dir = result_path.resolve().parent
    if version_dir.parent.parent.name == "release":
        return version_dir.parent.parent.parent / "audit.log"
    return result_path.parent.parent / "audit.log"


def signoff_problems(result: dict, verdict: Verdict) -> None:
    """A signed result (oncopanel serve) must say what its review decided: every rejected finding absent from it,
    every confirmed one present, and a reason for each rejection."""
    signoff = result.get("signoff")
    if not signoff:
        return
    present = {v["id"] for v in result.get("somatic", [])} | {g["id"] for g in result["germline"]["findings"]}
    cn = result.get("copy_number") or {}
    present |= {e["id"] for e in cn.get("events", [])} | ({cn["amplification"]["id"]} if cn.get("amplification")
                                                          else set())  # fmt: skip
    for d in signoff["decisions"]:
        if d["decision"] == "rejected" and (d["finding_id"] in present or not d["reason"].strip()):
            verdict.fail(f"finding {d['finding_id']} was rejected at review but is still reported, or has no reason")
        if d["decision"] == "confirmed" and d["finding_id"] not in present:
            verdict.fail(f"finding {d['finding_id']} was confirmed at review but is missing from the signed result")
    if verdict.ok:
        verdict.lines.append(f"ok: signed by {signoff['signed_by']} at {signoff['signed_at']}; "
                             f"{len(signoff['decisions'])} review decision(s) match the result")
