"""One run per results directory: a second start refuses untouched, a crashed run resumes without --unlock.

Unit tests drive oncopanel.runlock with a real holder process; the end-to-end tests run the README command (without
Snakemake's no-lock switch) twice at once on one results directory, and kill -9 a run and start it again.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT
from test_reliability_resume import SAMPLE, incomplete_outputs, tiny_batch, workflow_command

from oncopanel import cli, runlock

HOST = socket.gethostname()
HOLD = "import sys, time; from oncopanel import runlock; lock = runlock.acquire(sys.argv[1], 'holder'); print('held', flush=True); time.sleep(600)"  # noqa: E501


def start_holder(results: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(results)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_live_lock_is_refused_naming_host_and_pid(tmp_path):
    holder = start_holder(tmp_path)
    try:
        record = (tmp_path / runlock.RECORD_NAME).read_text()
        started = runlock.Holder.from_text(record).started
        with pytest.raises(runlock.RunLockError) as err:
            runlock.acquire(tmp_path, "second")
        assert str(err.value) == (
            f"oncopanel: results directory {tmp_path.resolve()} is in use by a running workflow (host {HOST}, PID "
            f"{holder.pid}, started {started}); not starting. Wait for it to finish, or stop it and start again."
        )
        assert (tmp_path / runlock.RECORD_NAME).read_text() == record  # the refused start changed nothing
        with pytest.raises(runlock.RunLockError, match=f"live run \\(host {HOST}, PID {holder.pid}"):
            runlock.unlock(tmp_path)
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_a_killed_run_is_taken_over_with_its_snakemake_locks(tmp_path, monkeypatch):
    results, locks = tmp_path / "results", tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    ours = locks / "0.output.lock"
    ours.write_text(f"{results}/bam/S1.bam\n")
    others = locks / "1.output.lock"  # a live run on another results directory
    others.write_text(f"{tmp_path}/other/bam/S2.bam\n")
    holder = start_holder(results)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    lock = runlock.acquire(results, "resume")
    try:
        assert lock.taken_over is not None and lock.taken_over.pid == holder.pid
        assert runlock.clear_stale_snakemake_locks(lock, locks) == [ours]
        assert not ours.exists() and others.exists()
    finally:
        runlock.release(lock)
    assert not (results / runlock.RECORD_NAME).exists()  # a clean end leaves nothing to judge


def test_recorded_snakemake_locks_are_cleared_only_while_unchanged(tmp_path):
    results, locks = tmp_path / "results", tmp_path / "locks"
    locks.mkdir()
    lock = runlock.acquire(results, "run")
    (locks / "0.input.lock").write_text("/data/S1_R1.fastq.gz\n")
    (locks / "0.output.lock").write_text(f"{results}/bam/S1.bam\n")
    runlock.record_snakemake_locks(lock, {}, locks)
    lock.handle.close()  # as a kill would: the flock goes, the record stays
    (locks / "0.output.lock").write_text("/elsewhere/bam/S9.bam\n")  # the name reused by a later, live run
    again = runlock.acquire(results, "resume")
    try:
        assert runlock.clear_stale_snakemake_locks(again, locks) == [(locks / "0.input.lock").resolve()]
        assert (locks / "0.output.lock").exists()
    finally:
        runlock.release(again)


def test_a_lock_from_another_host_is_refused_until_unlocked(tmp_path, capsys):
    record = runlock.Holder(host="node-b", pid=4242, started="2026-12-04T10:00:00Z", command="snakemake").to_text()
    (tmp_path / runlock.RECORD_NAME).write_text(record)
    with pytest.raises(runlock.RunLockError) as err:
        runlock.acquire(tmp_path, "here")
    assert str(err.value) == (
        f"oncopanel: results directory {tmp_path.resolve()} is locked by a run on another host (host node-b, PID "
        f"4242, started 2026-12-04T10:00:00Z); not starting. If that run is no longer alive, clear the lock with: "
        f"oncopanel unlock --results {tmp_path.resolve()}"
    )
    assert (tmp_path / runlock.RECORD_NAME).read_text() == record
    assert not (tmp_path / runlock.LOCK_NAME).exists()  # refused before touching any file
    assert cli.main(["unlock", "--results", str(tmp_path)]) == 0
    assert "cleared the lock of PID 4242 on host node-b" in capsys.readouterr().out
    runlock.release(runlock.acquire(tmp_path, "here"))


def test_incomplete_outputs_are_not_deleted_without_the_lock(tmp_path):
    lock = runlock.acquire(tmp_path, "run")
    runlock.release(lock)
    with pytest.raises(runlock.RunLockError, match="run lock is not held"):
        runlock.remove_incomplete_outputs(lock)


@pytest.mark.parametrize(
    ("argv", "kind"),
    [
        ([], runlock.RUN),
        (["-n"], runlock.INSPECT),
        (["--dry-run", "--quiet", "rules"], runlock.INSPECT),
        (["--lint"], runlock.INSPECT),
        (["--unlock"], runlock.INSPECT),
        (["--list-rules"], runlock.INSPECT),
        (["--summary"], runlock.INSPECT),
        (["--dag"], runlock.INSPECT),
        (["--touch"], runlock.LOCK_ONLY),
        (["--delete-all-output"], runlock.LOCK_ONLY),
        (["--delete-all-output", "-n"], runlock.INSPECT),
    ],
)
def test_invocation_kind_from_snakemakes_own_parser(argv, kind):
    from snakemake.cli import get_argument_parser

    assert runlock.invocation_kind(get_argument_parser().parse_args(argv)) == kind


def test_every_action_named_is_a_snakemake_option():
    from snakemake.cli import get_argument_parser

    dests = vars(get_argument_parser().parse_args([]))
    assert [a for a in (*runlock.NON_EXECUTING_ACTIONS, "dryrun", "touch", "report") if a not in dests] == []
    assert runlock.invocation_kind(None) == runlock.RUN  # not started from the CLI: the safe side


# ---- the README command, twice at once and after kill -9 ----------------------------------------------------


def wait_for(predicate, proc: subprocess.Popen, timeout: float = 240) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def batch(tmp_path):
    sheet = tiny_batch(tmp_path)
    results = tmp_path / "results"
    cmd, how = workflow_command(sheet, results)
    assert not {"--no" + "lock", "--unlock"} & set(cmd)  # the README command: Snakemake's own locking in force
    return cmd, how, results, tmp_path


def test_a_second_start_on_a_live_results_directory_refuses_and_touches_nothing(batch, observe):
    cmd, how, results, d = batch
    with open(d / "first.log", "w") as log:
        first = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **how)
    try:
        # a job is writing: the old parse-time clean-up deleted exactly such files under the live run
        assert wait_for(lambda: any(Path(p).is_file() for p in incomplete_outputs(results)), first)
        holder = runlock.read_record(results)
        assert (holder.host, holder.pid) == (HOST, first.pid)
        in_flight = {p for p in incomplete_outputs(results) if Path(p).is_file()}
        second = subprocess.run(cmd, capture_output=True, text=True, **how)
        still_running = in_flight & set(incomplete_outputs(results))
        lost = [p for p in still_running if not Path(p).is_file()]
        observe("the README command started again while a run is alive",
                "refused before touching any file, naming host and PID; the live run completes",
                f"exit {second.returncode}; in-flight files deleted: {len(lost)}",
                second.stderr.strip().splitlines()[-1] if second.stderr.strip() else "")  # fmt: skip
        assert [p for p in still_running if not Path(p).is_file()] == []  # the old start deleted these
        assert second.returncode != 0
        assert second.stderr.strip().splitlines()[-1] == (
            f"oncopanel: results directory {results} is in use by a running workflow (host {HOST}, PID {first.pid}, "
            f"started {holder.started}); not starting. Wait for it to finish, or stop it and start again."
        )
        assert "removed" not in second.stderr
        dry = subprocess.run([*cmd, "-n"], capture_output=True, text=True, **how)  # a dry run is not refused
        assert dry.returncode == 0, dry.stderr[-2000:]
        lint = subprocess.run([*cmd, "--lint"], capture_output=True, text=True, **how)
        assert "in use by a running workflow" not in lint.stderr
        assert first.wait(timeout=600) == 0
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
    log = (d / "first.log").read_text()
    assert "MissingOutputException" not in log and "LockException" not in log
    for rel in (f"bam/{SAMPLE}.bam", f"calls/{SAMPLE}.vcf.gz", f"result/{SAMPLE}.result.json", f"reports/{SAMPLE}.pdf"):
        assert (results / rel).is_file(), rel
    assert not (results / runlock.RECORD_NAME).exists() and (results / runlock.LOCK_NAME).read_text() == ""


def test_a_run_killed_after_some_jobs_resumes_without_unlock(batch, observe):
    cmd, how, results, d = batch
    with open(d / "killed.log", "w") as log:
        run = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **how)
    bam = results / "bam" / f"{SAMPLE}.bam"
    try:
        assert wait_for(lambda: bam.is_file() and str(bam) not in incomplete_outputs(results), run)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    locks = ROOT / ".snakemake" / "locks"
    stale = [p for p in runlock.snakemake_lock_files(locks) if runlock.names_files_under(Path(p), results)]
    assert stale, "the killed run left no Snakemake lock: this test would not see a resume that needs --unlock"
    assert runlock.read_record(results).pid == run.pid
    bam_mtime = bam.stat().st_mtime_ns
    rerun = subprocess.run(cmd, capture_output=True, text=True, **how)
    removed = next((x for x in rerun.stderr.splitlines() if "stale Snakemake lock" in x), "")
    observe("kill -9 of a run after its BAM was written, then the README command again",
            "resumes with no --unlock; finished outputs kept",
            f"exit {rerun.returncode}; BAM recomputed: {bam.stat().st_mtime_ns != bam_mtime}", removed)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    assert "LockException" not in rerun.stderr and "--unlock" not in rerun.stderr
    assert f"oncopanel: removed a stale Snakemake lock of a dead run on {results}" in rerun.stderr
    assert bam.stat().st_mtime_ns == bam_mtime  # finished before the kill: kept, not recomputed
    assert (results / "reports" / f"{SAMPLE}.pdf").is_file()
    assert not (results / runlock.RECORD_NAME).exists() and (results / runlock.LOCK_NAME).read_text() == ""
