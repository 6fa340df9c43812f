"""Append-only audit log per batch: who ran what, when, on which inputs, producing which outputs.

Each entry is one JSON line carrying the SHA-256 of the previous line, so an edited, inserted or deleted entry
breaks the chain and `oncopanel audit verify` says where. Entries carry pseudonymous ids and checksums only.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

GENESIS = "0" * 64


def _line_hash(line: str) -> str:
    return hashlib.sha256(line.encode()).hexdigest()


def append_entry(log: Path, event: str, details: dict) -> dict:
    """Append one entry chained to the last; creates the log (mode 600) on first use."""
    log.parent.mkdir(parents=True, exist_ok=True)
    previous = GENESIS
    if log.exists():
        lines = log.read_text().splitlines()
        if lines:
            previous = _line_hash(lines[-1])
    entry = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "user": getpass.getuser(),
        "host": socket.gethostname(),
        "event": event,
        "details": details,
        "previous_sha256": previous,
    }
    line = json.dumps(entry, sort_keys=True, ensure_ascii=False)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return entry


@dataclass(frozen=True)
class AuditVerdict:
    ok: bool
    entries: int
    problem: str = ""


def verify(log: Path) -> AuditVerdict:
    """Walk the chain; the first entry whose back-link does not match the line before it is reported."""
    if not log.exists():
        return AuditVerdict(False, 0, f"{log}: no audit log")
    previous = GENESIS
    lines = log.read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            return AuditVerdict(False, number - 1, f"{log}: line {number}: not a JSON entry")
        if entry.get("previous_sha256") != previous:
            return AuditVerdict(
                False, number - 1, f"{log}: line {number}: chain broken (the entry before it was edited or removed)"
            )
        previous = _line_hash(line)
    return AuditVerdict(True, len(lines))


def append_release(log: Path, details: dict) -> tuple[str, int]:
    """Append a result's release entry; returns the chain's head after it and the entry's 0-based position."""
    entry = append_entry(log, "result_released", details)
    line = json.dumps(entry, sort_keys=True, ensure_ascii=False)
    lines = log.read_text().splitlines()
    return _line_hash(line), len(lines) - 1
