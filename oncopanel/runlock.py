"""One run at a time per results directory, and a run that resumes by itself after a crash.

The main Snakemake process takes an `fcntl.flock` on `<results>/.oncopanel-run.lock` while the Snakefile is parsed,
before anything under the results directory is deleted, and holds it until it exits; the kernel releases it when
the process dies, however it dies. `.oncopanel-run.json` beside it records who holds it (host, PID, start time,
command) so that a second start can name the running process. After a crash on this host the next start takes the
lock over and clears the Snakemake locks the dead run left in `.snakemake/locks` (the ones it recorded, else the
ones that name files of this results directory), so the README command resumes without `--unlock`.

A record left by a run on another host (a results directory on a shared filesystem) cannot be checked from here:
such a start refuses, and `oncopanel unlock --results DIR` clears the record once the user knows that run is dead.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import fcntl
import hashlib
import json
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from oncopanel.errors import OncopanelError

LOCK_NAME = ".oncopanel-run.lock"  # the flock'ed file: empty, never replaced
RECORD_NAME = ".oncopanel-run.json"  # who holds it; absent after a clean end
SNAKEMAKE_LOCKS = Path(".snakemake/locks")
SNAKEMAKE_INCOMPLETE = Path(".snakemake/incomplete")

# What a Snakemake invocation does to a results directory, decided from its command-line arguments.
RUN = "run"  # executes jobs: take the lock, then remove incomplete outputs of interrupted jobs
LOCK_ONLY = "lock"  # writes without running jobs (--touch, --delete-all-output, --cleanup-metadata): lock only
INSPECT = "inspect"  # reads only (dry run, lint, list, summary, graphs, --unlock): neither lock nor delete

# Snakemake CLI flags (argparse dest) that make the invocation something other than running the workflow, in the
# order snakemake.cli.args_to_api checks them; the writing ones are in WRITING_ACTIONS.
NON_EXECUTING_ACTIONS = (
    "lint", "list_target_rules", "list_rules", "print_compilation", "containerize", "generate_unit_tests", "dag",
    "rulegraph", "filegraph", "d3dag", "unlock", "cleanup_metadata", "conda_cleanup_envs", "conda_create_envs_only",
    "list_conda_envs", "cleanup_shadow", "container_cleanup_images", "list_changes", "list_input_changes",
    "list_params_changes", "list_untracked", "summary", "detailed_summary", "archive", "delete_all_output",
    "delete_temp_output",
)  # fmt: skip
WRITING_ACTIONS = ("cleanup_metadata", "cleanup_shadow", "delete_all_output", "delete_temp_output")


class RunLockError(OncopanelError):
    """The results directory is in use (or was, by a run on another host that cannot be checked from here)."""


@dataclass
class Holder:
    """Who holds (or last held) the lock, as its record says."""

    host: str = "unknown host"
    pid: int = 0
    started: str = "unknown time"
    command: str = ""
    snakemake_locks: dict[str, str] = field(default_factory=dict)  # lock file -> sha256 of its text

    @classmethod
    def from_text(cls, text: str) -> Holder | None:
        """None for an empty record; an unreadable one yields an unknown holder (never taken for released)."""
        if not text.strip():
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return cls()
        return cls(
            host=str(data.get("host", cls.host)), pid=int(data.get("pid", 0)),
            started=str(data.get("started", cls.started)), command=str(data.get("command", "")),
            snakemake_locks=dict(data.get("snakemake_locks", {})),
        )  # fmt: skip

    def to_text(self) -> str:
        return json.dumps(self.__dict__, indent=1) + "\n"


@dataclass
class RunLock:
    """A held lock: the open file (closing it releases the lock) and this run's record."""

    results: Path
    handle: TextIO
    holder: Holder
    taken_over: Holder | None = None  # the dead run's record, when this run took its lock over
    snakemake_locks_before: dict[str, str] = field(default_factory=dict)  # .snakemake/locks when it was taken


# The lock of this process's run: module-level so that it lives, and is held, until the process exits.
_HELD: RunLock | None = None


def lock_path(results: str | Path) -> Path:
    return Path(results) / LOCK_NAME


def record_path(results: str | Path) -> Path:
    return Path(results) / RECORD_NAME


def busy_message(results: Path, holder: Holder) -> str:
    return (
        f"oncopanel: results directory {results} is in use by a running workflow (host {holder.host}, PID "
        f"{holder.pid}, started {holder.started}); not starting. Wait for it to finish, or stop it and start again."
    )


def other_host_message(results: Path, holder: Holder) -> str:
    return (
        f"oncopanel: results directory {results} is locked by a run on another host (host {holder.host}, PID "
        f"{holder.pid}, started {holder.started}); not starting. If that run is no longer alive, clear the lock "
        f"with: oncopanel unlock --results {results}"
    )


def _try_flock(handle: TextIO) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def read_record(results: Path, wait: float = 0.0) -> Holder | None:
    """The holder's record; None when there is none (a clean end). `wait`: the holder may be about to write it."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return Holder.from_text(record_path(results).read_text(encoding="utf-8"))
        except FileNotFoundError:
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)


def write_record(results: Path, holder: Holder | None) -> None:
    """Replace the record whole (a kill mid-write leaves the old one, never half of one); None deletes it.

    Only the holder of the flock calls this. The record is a file of its own because replacing a file gives it a
    new inode, and the flock lives on the lock file's inode.
    """
    if holder is None:
        record_path(results).unlink(missing_ok=True)
        return
    partial = record_path(results).with_name(RECORD_NAME + ".new")
    with open(partial, "w", encoding="utf-8") as fh:
        fh.write(holder.to_text())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, record_path(results))


def _open(results: Path) -> TextIO:
    """Open the lock file without changing it ("a+" neither truncates nor writes; the file stays empty)."""
    results.mkdir(parents=True, exist_ok=True)
    return open(lock_path(results), "a+", encoding="utf-8")


def acquire(results: str | Path, command: str, host: str | None = None) -> RunLock:
    """Take the results directory's lock, or raise RunLockError naming the process that holds it.

    Nothing is written before the flock is held; the record is replaced only after the previous one was judged
    stale (its process is gone: on this host the kernel released its flock) or was released.
    """
    results = Path(results).resolve()
    host = host or socket.gethostname()
    previous = read_record(results)
    if previous is not None and previous.host != host:  # its flock may not reach this host: do not even open
        raise RunLockError(other_host_message(results, previous))
    handle = _open(results)
    if not _try_flock(handle):
        handle.close()
        raise RunLockError(busy_message(results, read_record(results, wait=2.0) or Holder()))
    previous = read_record(results)  # again: it may have changed before the flock was ours
    if previous is not None and previous.host != host:
        handle.close()  # releases the flock: this start changes nothing
        raise RunLockError(other_host_message(results, previous))
    me = Holder(host=host, pid=os.getpid(), started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                command=command)  # fmt: skip
    write_record(results, me)
    return RunLock(results, handle, me, taken_over=previous)


def release(lock: RunLock) -> None:
    """Delete the record (a clean end: nothing for a later start, on any host, to judge), then drop the flock.

    The lock file itself stays: deleting a flock'ed file lets two processes lock two different inodes of one name.
    """
    if lock.handle.closed or os.getpid() != lock.holder.pid:  # a forked child exiting must not end its parent's run
        return
    write_record(lock.results, None)
    lock.handle.close()


# ---- Snakemake's own locks ----------------------------------------------------------------------------------


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def snakemake_lock_files(locks_dir: Path = SNAKEMAKE_LOCKS) -> dict[str, str]:
    """Absolute lock file path -> sha256 of every lock Snakemake holds in this working directory."""
    found = {}
    for path in sorted(locks_dir.glob("*.lock")) if locks_dir.is_dir() else ():
        digest = _digest(path)
        if digest is not None:
            found[str(path.resolve())] = digest
    return found


def names_files_under(lock_file: Path, results: Path) -> bool:
    """Does a Snakemake lock file name any file inside `results`?"""
    try:
        lines = lock_file.read_text().splitlines()
    except OSError:
        return False
    return any(line.strip() and Path(line.strip()).resolve().is_relative_to(results) for line in lines)


def stale_snakemake_locks(dead: Holder, results: Path, locks_dir: Path = SNAKEMAKE_LOCKS) -> list[Path]:
    """The Snakemake locks a dead run on `results` left behind.

    The run records its own lock files (with their digests) once Snakemake has written them; a run killed before
    that is matched by content instead: the lock files that name a file of this results directory. Locks of a
    live run on another results directory name none, so they are left alone.
    """
    if dead.snakemake_locks:
        return [Path(p) for p, digest in dead.snakemake_locks.items() if _digest(Path(p)) == digest]
    if not locks_dir.is_dir():
        return []
    return [p for p in sorted(locks_dir.glob("*.lock")) if names_files_under(p, results)]


def clear_stale_snakemake_locks(lock: RunLock, locks_dir: Path = SNAKEMAKE_LOCKS) -> list[Path]:
    """Delete the Snakemake locks of the dead run this run took over (none after a clean end)."""
    if lock.taken_over is None:
        return []
    removed = []
    for path in stale_snakemake_locks(lock.taken_over, lock.results, locks_dir):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def record_snakemake_locks(lock: RunLock, before: dict[str, str], locks_dir: Path = SNAKEMAKE_LOCKS) -> None:
    """Record the lock files Snakemake wrote for this run (those not there when the Snakefile was parsed)."""
    now = snakemake_lock_files(locks_dir)
    lock.holder.snakemake_locks = {p: d for p, d in now.items() if before.get(p) != d}
    write_record(lock.results, lock.holder)


# ---- incomplete outputs -------------------------------------------------------------------------------------


def incomplete_outputs(under: str | Path, marks: Path = SNAKEMAKE_INCOMPLETE) -> list[Path]:
    """Files under `under` that Snakemake still marks incomplete (their job was killed mid-write)."""
    root, found = Path(under).resolve(), []
    for mark in sorted(marks.rglob("*")) if marks.is_dir() else ():
        if mark.is_file():
            key = "".join(part.lstrip("@") for part in mark.relative_to(marks).parts)
            path = Path(base64.urlsafe_b64decode(f"{key}{'=' * (-len(key) % 4)}").decode(errors="replace"))
            if path.resolve().is_relative_to(root) and path.is_file():
                found.append(path)
    return found


def remove_incomplete_outputs(lock: RunLock, marks: Path = SNAKEMAKE_INCOMPLETE) -> list[str]:
    """Delete the incomplete outputs of interrupted jobs; only with the results directory's lock held.

    Snakemake checks its incomplete markers only for jobs in the graph before a checkpoint resolves; jobs reached
    after `check_inputs` would otherwise take a half-written file as done.
    """
    if lock.handle.closed:
        raise RunLockError(f"not deleting under {lock.results}: its run lock is not held")
    removed = []
    for path in incomplete_outputs(lock.results, marks):
        path.unlink()
        removed.append(str(path))
    return removed


# ---- what this Snakemake invocation is ----------------------------------------------------------------------


def invocation_kind(args: argparse.Namespace | None) -> str:
    """RUN, LOCK_ONLY or INSPECT for Snakemake's parsed command line; RUN when it is unknown (the safe side)."""
    if args is None:
        return RUN
    action = next((a for a in NON_EXECUTING_ACTIONS if getattr(args, a, None)), None)
    if action is None and getattr(args, "report", None) and not getattr(args, "report_after_run", False):
        action = "report"
    if action is None:
        if getattr(args, "dryrun", False):
            return INSPECT
        return LOCK_ONLY if getattr(args, "touch", False) else RUN
    if action in WRITING_ACTIONS and not (action.startswith("delete_") and getattr(args, "dryrun", False)):
        return LOCK_ONLY
    return INSPECT


def snakemake_cli_args() -> argparse.Namespace | None:
    """The arguments the `snakemake` command is acting on, read from its own frame while it parses the Snakefile.

    Snakemake does not tell a Snakefile whether it is a dry run or a lint until after parsing; the CLI's
    `args_to_api` frame is on the stack during parsing. None when Snakemake was not started from its CLI.
    """
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "args_to_api" and frame.f_globals.get("__name__") == "snakemake.cli":
            args = frame.f_locals.get("args")
            return args if isinstance(args, argparse.Namespace) else None
        frame = frame.f_back
    return None


def guard_run(workflow: Any, results: str | Path) -> RunLock | None:
    """Parse-time glue for common.smk: in the main process of a run, take the lock or exit with the one-line reason.

    Returns the held lock for RUN and LOCK_ONLY invocations; None for job subprocesses and read-only invocations.
    Stale Snakemake locks of a dead run on this results directory are cleared once the lock is held.
    """
    global _HELD
    if not workflow.is_main_process:
        return None
    kind = invocation_kind(snakemake_cli_args())
    if kind == INSPECT:
        return None
    if _HELD is not None and not _HELD.handle.closed:
        return _HELD
    try:
        _HELD = acquire(results, command=" ".join(sys.argv))
    except RunLockError as exc:
        raise SystemExit(str(exc)) from None  # one line, no traceback: this start changed nothing
    for path in clear_stale_snakemake_locks(_HELD):
        print(f"oncopanel: removed a stale Snakemake lock of a dead run on {_HELD.results}: {path}", file=sys.stderr)
    _HELD.snakemake_locks_before = snakemake_lock_files()
    atexit.register(release, _HELD)  # any exit but a kill deletes the record; a kill leaves it for the next start
    if kind == RUN:
        for path in remove_incomplete_outputs(_HELD):
            print(f"removed the incomplete output of an interrupted job: {path}", file=sys.stderr)
    return _HELD


def on_start(lock: RunLock | None) -> None:
    """onstart glue: Snakemake now holds its own locks; record them so that a crash can be cleaned up exactly."""
    if lock is not None and not lock.handle.closed:
        record_snakemake_locks(lock, lock.snakemake_locks_before)


def on_end(lock: RunLock | None) -> None:
    """onsuccess/onerror glue: the run is over; release (exit would too, but would leave the record)."""
    if lock is not None:
        release(lock)


# ---- `oncopanel unlock` -------------------------------------------------------------------------------------


def unlock(results: str | Path, host: str | None = None) -> str:
    """Clear a lock whose run is dead (e.g. one left by a crashed run on another host); refuse if it is held here."""
    results = Path(results).resolve()
    if not record_path(results).exists():
        return f"{results}: no run lock"
    handle = _open(results)
    if not _try_flock(handle):
        handle.close()
        holder = read_record(results, wait=2.0) or Holder()
        raise RunLockError(
            f"{results} is in use by a live run (host {holder.host}, PID {holder.pid}, started {holder.started}); "
            "not unlocking"
        )
    previous = read_record(results)
    if previous is None:
        handle.close()
        return f"{results}: no run lock"
    stale = [p for p, d in previous.snakemake_locks.items() if _digest(Path(p)) == d]
    for path in stale:
        Path(path).unlink(missing_ok=True)
    write_record(results, None)
    handle.close()
    where = "this host" if previous.host == (host or socket.gethostname()) else f"host {previous.host}"
    cleared = f"{results}: cleared the lock of PID {previous.pid} on {where} (started {previous.started})"
    return cleared + (f" and {len(stale)} Snakemake lock file(s) it recorded" if stale else "")


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser(
        "unlock", help="clear a results directory's run lock left by a dead run (e.g. on another host)"
    )
    cmd.add_argument("--results", type=Path, required=True, help="the results directory")
    cmd.set_defaults(func=_unlock)


def _unlock(args: argparse.Namespace) -> int:
    print(unlock(args.results))
    return 0
