"""Append-only audit log per batch: who ran what, when, on which inputs, producing which outputs.

Each entry is one JSON line carrying the SHA-256 of the previous line (``previous_sha256``) and its own position
(``index``, 0-based), so an edited, inserted or deleted entry breaks the chain and `oncopanel audit verify` says
where. Entries carry pseudonymous ids and checksums only.

A chain alone cannot show that its tail was cut off, or that the whole log was rewritten with freshly computed
hashes. So each released result records an *anchor*: the hash of its own ``result_released`` entry (the head of
the chain just after that entry, which commits to every line before it) and that entry's index, in
``result["provenance"]["audit_head_sha256"]`` and ``result["provenance"]["audit_entry_index"]``. `oncopanel audit
verify --results DIR` checks that every anchored result's entry is still in the log, at its index, with that hash
and the result's digest (:func:`result_digest`).

Appends hold an exclusive ``flock`` on the log itself and are fsync'd, so concurrent jobs (or two runs) never
interleave or chain two entries onto the same predecessor. On NFS, Linux emulates ``flock`` with POSIX locks.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import getpass
import hashlib
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

GENESIS = "0" * 64
RELEASE_EVENT = "result_released"
# The anchor fields of a result's provenance block; excluded from the result's digest (they are set after it).
ANCHOR_HEAD = "audit_head_sha256"
ANCHOR_INDEX = "audit_entry_index"
_TAIL_CHUNK = 1 << 16


def _line_hash(line: str) -> str:
    return hashlib.sha256(line.encode()).hexdigest()


@dataclass(frozen=True)
class Anchor:
    """Where a released result sits in the chain: its entry's index (0-based line) and the hash of that line."""

    head_sha256: str
    entry_index: int

    def fields(self) -> dict[str, str | int]:
        return {ANCHOR_HEAD: self.head_sha256, ANCHOR_INDEX: self.entry_index}


def result_digest(result: dict) -> str:
    """SHA-256 of a result's canonical form: the result without its audit anchor fields, serialised as every result
    file is (``oncopanel.report.result.canonical_json``: sorted keys, 2-space indent, UTF-8, trailing newline) — so it
    equals ``sha256sum`` of the result file written before the anchor was added. Used both when a release is recorded
    and when it is verified (the anchor cannot be part of what it anchors)."""
    from oncopanel.report.result import result_sha256

    bare = copy.deepcopy(result)
    provenance = bare.get("provenance")
    if isinstance(provenance, dict):
        provenance.pop(ANCHOR_HEAD, None)
        provenance.pop(ANCHOR_INDEX, None)
    return result_sha256(bare)


def with_anchor(result: dict, anchor: Anchor) -> dict:
    """A copy of the result carrying its anchor in its provenance block."""
    out = copy.deepcopy(result)
    out.setdefault("provenance", {}).update(anchor.fields())
    return out


@contextlib.contextmanager
def _locked(log: Path) -> Iterator[int]:
    log.parent.mkdir(parents=True, exist_ok=True)
    created = not log.exists()
    fd = os.open(log, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if created:  # the new name must survive a crash as well as the line
            dir_fd = os.open(log.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        yield fd
    finally:
        os.close(fd)  # releases the lock


def _tail(fd: int) -> tuple[str | None, bool]:
    """The last line of the open log (None when empty) and whether the file ends with a newline."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None, True
    ends_with_newline = os.pread(fd, 1, size - 1) == b"\n"
    end = size - 1 if ends_with_newline else size
    data, start = b"", end
    while start > 0:
        step = min(_TAIL_CHUNK, start)
        start -= step
        data = os.pread(fd, step, start) + data
        cut = data.rfind(b"\n")
        if cut != -1:
            return data[cut + 1 :].decode(errors="replace"), ends_with_newline
    return data.decode(errors="replace"), ends_with_newline


def _count_lines(fd: int) -> int:
    count, offset = 0, 0
    while block := os.pread(fd, 1 << 20, offset):
        count += block.count(b"\n")
        offset += len(block)
    return count


def _next_index(fd: int, last: str | None, ends_with_newline: bool) -> int:
    if last is None:
        return 0
    try:
        index = json.loads(last).get("index")
    except (json.JSONDecodeError, AttributeError):
        index = None
    # a log written before entries carried their index: count its lines once
    return index + 1 if isinstance(index, int) else _count_lines(fd) + (0 if ends_with_newline else 1)


def append(log: Path, event: str, details: dict) -> Anchor:
    """Append one entry chained to the last, under an exclusive lock, fsync'd; creates the log (mode 600).

    Returns the new head: the SHA-256 of the appended line and its index."""
    with _locked(log) as fd:
        last, ends_with_newline = _tail(fd)
        index = _next_index(fd, last, ends_with_newline)
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "user": getpass.getuser(),
            "host": socket.gethostname(),
            "event": event,
            "details": details,
            "index": index,
            "previous_sha256": GENESIS if last is None else _line_hash(last),
        }
        line = json.dumps(entry, sort_keys=True, ensure_ascii=False)
        # a torn last line (crash mid-write) stays a line of its own: verify reports it, the new entry is whole
        pending = memoryview((("" if ends_with_newline else "\n") + line + "\n").encode())
        while pending:
            pending = pending[os.write(fd, pending) :]
        os.fsync(fd)
    return Anchor(_line_hash(line), index)


def append_entry(log: Path, event: str, details: dict) -> str:
    """Append one entry (see :func:`append`); returns the new head hash (SHA-256 of the appended line)."""
    return append(log, event, details).head_sha256


def record_release(log: Path, sample_id: str, result_sha256: str, **details: object) -> Anchor:
    """Record that a result was released; the returned anchor goes into the result (:func:`with_anchor`).

    ``result_sha256`` is :func:`result_digest` of the result as released (without its anchor); ``details`` may add
    e.g. ``report_id`` or ``version``."""
    return append(log, RELEASE_EVENT, {"sample_id": sample_id, "result_sha256": result_sha256, **details})


@dataclass(frozen=True)
class AuditVerdict:
    ok: bool
    entries: int
    problem: str = ""


@dataclass(frozen=True)
class Chain:
    """The parsed log: entries and their line hashes up to the first problem (``problem`` empty when intact)."""

    entries: list[dict] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    problem: str = ""


def read_chain(log: Path) -> Chain:
    """Walk the chain; the first entry whose back-link or index does not match its position is reported."""
    if not log.is_file():
        return Chain(problem=f"{log}: no audit log")
    entries: list[dict] = []
    hashes: list[str] = []
    previous = GENESIS
    for number, line in enumerate(log.read_text(errors="replace").splitlines(), start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            entry = None
        if not isinstance(entry, dict):
            return Chain(entries, hashes, f"{log}: line {number}: not a JSON entry")
        index = entry.get("index", number - 1)
        if entry.get("previous_sha256") != previous or index != number - 1:
            return Chain(
                entries, hashes, f"{log}: line {number}: chain broken (the entry before it was edited or removed)"
            )
        previous = _line_hash(line)
        entries.append(entry)
        hashes.append(previous)
    return Chain(entries, hashes)


def verify(log: Path) -> AuditVerdict:
    """The chain alone: intact, or the first line where it breaks."""
    chain = read_chain(log)
    return AuditVerdict(not chain.problem, len(chain.entries), chain.problem)


@dataclass(frozen=True)
class ResultsVerdict:
    ok: bool
    lines: list[str]


def check_anchor(chain: Chain, result: dict, log_name: str) -> tuple[bool, str]:
    """Is the result's release entry in the chain, at its index, with its hash and the result's digest?

    Returns (ok, message); a result of the older format (no anchor) is ok with a note."""
    provenance = result.get("provenance") if isinstance(result.get("provenance"), dict) else {}
    head, index = provenance.get(ANCHOR_HEAD), provenance.get(ANCHOR_INDEX)
    if head is None and index is None:
        return True, "no audit anchor (a result of the older format): the chain alone was checked"
    if not isinstance(head, str) or not isinstance(index, int) or index < 0:
        return False, f"malformed audit anchor ({ANCHOR_HEAD}={head!r}, {ANCHOR_INDEX}={index!r})"
    where = f"entry {index} (line {index + 1}, head {head[:12]}…)"
    if index >= len(chain.hashes):
        return False, (
            f"audit anchor missing: {where} is not in {log_name} ({len(chain.hashes)} valid entries) — "
            "the log was truncated or rewritten"
        )
    if chain.hashes[index] != head:
        return False, (
            f"audit anchor mismatch: {log_name} line {index + 1} is not the entry recorded — the log was rewritten"
        )
    entry = chain.entries[index]
    details = entry.get("details") or {}
    if entry.get("event") != RELEASE_EVENT or details.get("result_sha256") != result_digest(result):
        return False, f"changed since release: its digest no longer matches {log_name} line {index + 1}"
    return True, f"anchored at {log_name} line {index + 1}"


def result_files(results: Path) -> list[Path]:
    """Every released result JSON under a results directory: the delivered ones and every version kept under
    release/ (oncopanel.release), superseded ones included."""
    delivered = sorted((results / "result").rglob("*.json")) if (results / "result").is_dir() else []
    return delivered + sorted(results.glob("release/*/v*/result.json"))


def verify_results(results: Path, log: Path | None = None) -> ResultsVerdict:
    """The chain of ``results/audit.log`` (or ``log``), and every result JSON's anchor in it: one line per problem."""
    log = log or results / "audit.log"
    if not results.is_dir():
        return ResultsVerdict(False, [f"{results}: no such results directory"])
    chain = read_chain(log)
    lines: list[str] = []
    if chain.problem:
        lines.append(chain.problem)
    ok, anchored, old = not chain.problem, 0, 0
    for path in result_files(results):
        name = path.relative_to(results)
        try:
            result = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            ok = False
            lines.append(f"{name}: not a readable result JSON ({exc.__class__.__name__})")
            continue
        if not isinstance(result, dict):
            ok = False
            lines.append(f"{name}: not a result JSON object")
            continue
        good, message = check_anchor(chain, result, log.name)
        sample = (result.get("sample") or {}).get("sample_id", "?") if isinstance(result.get("sample"), dict) else "?"
        if not good:
            ok = False
            lines.append(f"{name} (sample {sample}): {message}")
        elif message.startswith("no audit anchor"):
            old += 1
            lines.append(f"{name} (sample {sample}): note: {message}")
        else:
            anchored += 1
    if ok:
        summary = f"{log}: audit chain intact ({len(chain.entries)} entries); {anchored} result(s) anchored in it"
        lines.insert(0, summary + (f", {old} of the older format without an anchor" if old else ""))
    return ResultsVerdict(ok, lines)
