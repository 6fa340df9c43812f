"""Fault tolerance and determinism: SIGKILL the whole workflow mid-job, rerun it, and get the uninterrupted results.

A tiny batch (one lung tumour, KRAS exon 2 with G12C at 30%) is run once uninterrupted: the reference. Each kill
point then starts the same command in the same results path, kills its whole process group with SIGKILL, either
at a seeded time or the moment a given file appears (a BAM, a VCF, a PDF being written), and reruns the same
command. The batch must then finish with outputs identical to the reference, with no temporary or half-written
file left and no output Snakemake still holds as incomplete, and without recomputing outputs that were finished.
Outputs are compared byte for byte except the VCFs, whose header lines stamped by bcftools with the wall-clock
date are left out (a determinism gap, see VCF_VOLATILE_HEADERS), and BAMs, compared by header and reads.
"""

from __future__ import annotations

import base64
import fnmatch
import gzip
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import conftest
import pysam
import pytest
from conftest import ROOT, run_workflow, write_sheet
from fixtures import report_text_without_release_marks

from oncopanel.model import Variant

SAMPLE = "REL-T1"
# Files whose contents are not results: per-job logs and benchmarks, the audit log (a run's own record), Snakemake's
# bookkeeping. Everything else under the results tree is compared.
NOT_COMPARED = ("logs/*", "benchmarks/*", "audit.log")
# Determinism gaps, measured and named in benchmarks/latest/reliability.md: files that differ between two runs of
# the same data by design of the tool that writes them.
VOLATILE = {
    "batch/ledger.tsv": "column cpu_seconds is the CPU time the run measured in its benchmark files",
    "qc/fastp/*.fastp.html": "fastp stamps the wall-clock time into the report title",
    "multiqc/multiqc_report.html": "MultiQC stamps the generation time, to the minute",
    "multiqc/multiqc_data/multiqc_data.json": "MultiQC stamps the generation time and the analysed paths",
    "multiqc/multiqc_data/multiqc.log": "MultiQC's own log, with times",
    "multiqc/multiqc_data/multiqc_sources.txt": "the absolute paths of the files MultiQC read",
}
# VCF header lines carrying the wall-clock time of the run (bcftools' command line + "Date=" stamp, freebayes'
# fileDate): the determinism gap these tests tolerate and the report names.
VCF_VOLATILE_HEADERS = ("##bcftools_normCommand=", "##bcftools_sortCommand=", "##fileDate=")
# Kill at the moment one of these appears: a file being written by a running job.
EVENT_KILLS = {
    "fastp writing trimmed reads": "work/*/*.trimmed_R1.fastq.gz",
    "samtools sort writing the lane BAM": "work/*/*.aligned.bam*",
    "markdup writing the BAM": "bam/*.bam.tmp.bam",
    "freebayes writing the raw VCF": "calls/raw/*.freebayes.vcf.gz",
    "bcftools writing the final VCF": "calls/*.vcf.gz",
    "reportlab writing the PDF": "reports/*.tmp.pdf|reports/*.pdf",  # or just renamed, not yet recorded done
}
# Declared outputs checked for "finished before the kill, so not recomputed by the rerun".
DELIVERABLES = ("inputs/*.inputs.json", "bam/*.bam", "calls/*.vcf.gz", "hotspots/*.tsv", "qc/*.qc.json",
                "result/*.result.json", "reports/*.pdf")  # fmt: skip
LEFTOVER_MARKS = (".tmp", "sorttmp", "mdtmp")


def workflow_command(samples: Path, results: Path, config: dict | None = None) -> tuple[list[str], dict]:
    """The exact command and environment conftest.run_workflow runs, without running it."""
    captured: dict = {}

    class _Recorder:
        CompletedProcess = subprocess.CompletedProcess

        @staticmethod
        def run(cmd, **kwargs):
            captured.update(cmd=cmd, **kwargs)
            return subprocess.CompletedProcess(cmd, 0, "", "")

    real = conftest.subprocess
    conftest.subprocess = _Recorder
    try:
        run_workflow(samples, results, config=config)
    finally:
        conftest.subprocess = real
    return captured["cmd"], {"cwd": captured["cwd"], "env": captured["env"]}


def tiny_batch(d: Path) -> Path:
    from oncosim.reads import Spike, simulate_sample

    r1, r2 = simulate_sample(
        d / "T1", [("chr12", 25245273, 25245395, "KRAS_exon2")], [Spike(Variant("chr12", 25245351, "C", "A"), 0.3)],
        300, 11,
    )  # fmt: skip
    row = {"sample_id": SAMPLE, "patient": "P1", "specimen_type": "tumour_ffpe", "tumour_content": "60",
           "oncotree_code": "LUAD", "panels": "EGFR_KRAS", "fastq_1": r1, "fastq_2": r2, "language": "en"}  # fmt: skip
    return write_sheet(d / "samples.tsv", [row])


# ---- what a finished batch holds, comparably ----------------------------------------------------------------


def _vcf_digest(path: Path) -> str:
    with gzip.open(path, "rt") as fh:
        kept = [line for line in fh if not line.startswith(VCF_VOLATILE_HEADERS)]
    return "vcf:" + hashlib.sha256("".join(kept).encode()).hexdigest()


def _bam_digest(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with pysam.AlignmentFile(str(path)) as fh:
            header = fh.header.to_dict()
            h.update(repr({k: v for k, v in header.items() if k != "PG"}).encode())
            for read in fh:
                h.update(read.to_string().encode())
    except (OSError, ValueError) as exc:  # a half-written BAM: its own digest, so it shows as a difference
        return f"unreadable BAM ({exc}):" + hashlib.sha256(path.read_bytes()).hexdigest()
    return "bam:" + h.hexdigest()


# Released files carry their run's audit anchor and release times (oncopanel.release): compared without them.
RELEASED_JSON = ("result/*.result.json", "release/*/v*/result.json")
RELEASED_PDF = ("reports/*.pdf", "release/*/v*/report.pdf", "report/pdfs/*.pdf")
RELEASE_RECORDS = {"release/*/index.json": ("released_at", "noted_at", "result_sha256"),
                   "batch/status.json": ("written_at", "result_sha256")}  # fmt: skip


def _without(value, keys: tuple[str, ...]):
    if isinstance(value, dict):
        return {k: _without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(v, keys) for v in value]
    return value


def _released_digest(path: Path, rel: str) -> str | None:
    """Digest of a released file without what only names its release (anchor, times, the checksums of those)."""
    if any(fnmatch.fnmatch(rel, p) for p in RELEASED_JSON):
        return "json:" + _json_digest(path, ("audit_head_sha256", "audit_entry_index"))
    if any(fnmatch.fnmatch(rel, p) for p in RELEASED_PDF):
        return "pdf:" + hashlib.sha256(report_text_without_release_marks(path).encode()).hexdigest()
    for pattern, keys in RELEASE_RECORDS.items():
        if fnmatch.fnmatch(rel, pattern):
            return "json:" + _json_digest(path, keys)
    return None


def _json_digest(path: Path, keys: tuple[str, ...]) -> str:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return hashlib.sha256(json.dumps(_without(data, keys), sort_keys=True).encode()).hexdigest()


def snapshot(results: Path) -> dict[str, str]:
    """Relative path -> digest of every compared file (VCF without its dated lines, BAM by header and reads,
    released files without their release anchor)."""
    out = {}
    for path in sorted(p for p in results.rglob("*") if p.is_file()):
        rel = path.relative_to(results).as_posix()
        if any(fnmatch.fnmatch(rel, pattern) for pattern in (*NOT_COMPARED, *VOLATILE)):
            continue
        if rel.endswith(".vcf.gz"):
            out[rel] = _vcf_digest(path)
        elif rel.endswith(".vcf.gz.tbi") or rel.endswith(".bam.bai"):
            continue  # indexes of the files compared by content; their bytes follow the dated headers
        elif rel.endswith(".bam"):
            out[rel] = _bam_digest(path)
        elif (released := _released_digest(path, rel)) is not None:
            out[rel] = released
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def differences(reference: dict[str, str], other: dict[str, str]) -> list[str]:
    return [
        f"{rel}: {'missing' if rel not in other else 'extra' if rel not in reference else 'differs'}"
        for rel in sorted(set(reference) | set(other))
        if reference.get(rel) != other.get(rel)
    ]


def leftovers(results: Path) -> list[str]:
    return sorted(
        p.relative_to(results).as_posix() for p in results.rglob("*") if any(m in p.name for m in LEFTOVER_MARKS)
    )


def incomplete_outputs(results: Path) -> list[str]:
    """Outputs under `results` that Snakemake's metadata still marks incomplete (a job started, never finished)."""
    marks = ROOT / ".snakemake" / "incomplete"
    found = []
    for p in marks.rglob("*") if marks.exists() else ():
        if p.is_file():
            b64 = "".join(part.lstrip("@") for part in p.relative_to(marks).parts)
            path = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).decode(errors="replace")
            if path.startswith(str(results) + os.sep):
                found.append(path)
    return sorted(found)


# ---- killing ------------------------------------------------------------------------------------------------


@dataclass
class Kill:
    label: str
    at_seconds: float | None = None  # a seeded time after the start
    pattern: str | None = None  # or the moment one of these globs ("a|b") under results first matches


@dataclass
class KillOutcome:
    kill: Kill
    killed: bool  # False: the run finished before the kill point came
    after_s: float
    in_flight: list[str] = field(default_factory=list)  # outputs marked incomplete at the kill
    survivors: list[int] = field(default_factory=list)  # pids of the process group still alive after SIGKILL


def _group_members(pgid: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def run_and_kill(cmd: list[str], how: dict, results: Path, kill: Kill, log: Path, timeout: float = 300) -> KillOutcome:
    """Start the workflow in its own process group and SIGKILL the whole group at the kill point."""
    start = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **how)
        while proc.poll() is None and time.monotonic() - start < timeout:
            if kill.at_seconds is not None and time.monotonic() - start >= kill.at_seconds:
                break
            if kill.pattern and results.exists() and any(next(results.glob(p), None) for p in kill.pattern.split("|")):
                break
            time.sleep(0.002)
        if proc.poll() is not None:
            return KillOutcome(kill, False, time.monotonic() - start)
        os.killpg(proc.pid, signal.SIGKILL)
        after = time.monotonic() - start
        proc.wait()
    in_flight = incomplete_outputs(results)
    deadline = time.monotonic() + 10
    while _group_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = _group_members(proc.pid)
    for pid in survivors:  # never leave strays for the next run; the test then fails on them
        os.kill(pid, signal.SIGKILL)
    return KillOutcome(kill, True, after, [str(Path(p).relative_to(results)) for p in in_flight], survivors)


def kill_points(seed: int, n_timed: int, duration: float, events: tuple[str, ...] = tuple(EVENT_KILLS)) -> list[Kill]:
    rng = random.Random(seed)
    timed = sorted(round(rng.uniform(0.05, 0.95) * duration, 2) for _ in range(n_timed))
    return [Kill(f"while {e}", pattern=EVENT_KILLS[e]) for e in events] + [
        Kill(f"at {t:.2f} s (seed {seed})", at_seconds=t) for t in timed
    ]


@dataclass
class Survival:
    outcome: KillOutcome
    rerun_rc: int
    diffs: list[str]
    leftovers: list[str]
    still_incomplete: list[str]
    recomputed_finished: list[str]

    @property
    def survived(self) -> bool:
        return (
            self.outcome.killed and not self.outcome.survivors and self.rerun_rc == 0
            and not (self.diffs or self.leftovers or self.still_incomplete or self.recomputed_finished)
        )  # fmt: skip


def kill_and_resume(ref: dict, kill: Kill) -> Survival:
    """Kill a run at `kill`, rerun it, and compare with the reference; `ref` as the `reference` fixture gives it."""
    cmd, how, results, reference, logs = ref["cmd"], ref["how"], ref["results"], ref["snapshot"], ref["logs"]
    if results.exists():
        shutil.rmtree(results)
    outcome = run_and_kill(cmd, how, results, kill, logs / f"kill_{abs(hash(kill.label))}.log")
    # outputs finished before the kill (present, not marked incomplete) must not be recomputed by the rerun
    in_flight = {str(results / p) for p in outcome.in_flight}
    finished = {
        p: p.stat().st_mtime_ns for pattern in DELIVERABLES for p in results.glob(pattern) if str(p) not in in_flight
    }
    rerun = subprocess.run(cmd, capture_output=True, text=True, **how)
    (logs / f"rerun_{abs(hash(kill.label))}.log").write_text(rerun.stdout + rerun.stderr)
    recomputed = sorted(
        p.relative_to(results).as_posix()
        for p, mtime in finished.items()
        if p.exists() and p.stat().st_mtime_ns != mtime
    )
    return Survival(
        outcome, rerun.returncode, differences(reference, snapshot(results)), leftovers(results),
        incomplete_outputs(results), recomputed,
    )  # fmt: skip


# ---- fixtures and tests -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run, moved aside so that every later run writes to the same results path."""
    d = tmp_path_factory.mktemp("resume")
    sheet = tiny_batch(d)
    results = d / "results"
    cmd, how = workflow_command(sheet, results)
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, **how)
    duration = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr[-4000:]
    results.rename(d / "reference")
    logs = d / "logs"
    logs.mkdir()
    return {"dir": d, "cmd": cmd, "how": how, "results": results, "duration": duration, "logs": logs,
            "snapshot": snapshot(d / "reference"), "sheet": sheet}  # fmt: skip


def test_reference_run_holds_the_deliverables(reference):
    snap = reference["snapshot"]
    for rel in (f"bam/{SAMPLE}.bam", f"calls/{SAMPLE}.vcf.gz", f"qc/{SAMPLE}.qc.json", f"result/{SAMPLE}.result.json",
                f"reports/{SAMPLE}.pdf", f"inputs/{SAMPLE}.inputs.json"):  # fmt: skip
        assert rel in snap, rel
    assert leftovers(reference["dir"] / "reference") == []


def test_uninterrupted_runs_are_identical(reference):
    """Determinism: a second run gives the same bytes (VCFs apart from their dated header lines, BAMs by content)."""
    results = reference["results"]
    if results.exists():
        shutil.rmtree(results)
    proc = subprocess.run(reference["cmd"], capture_output=True, text=True, **reference["how"])
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert differences(reference["snapshot"], snapshot(results)) == []


def test_vcf_header_carries_no_date(reference):
    """bcftools runs with --no-version and freebayes' fileDate is dropped: the same data give the same VCF bytes."""
    vcf = reference["dir"] / "reference" / "calls" / f"{SAMPLE}.vcf.gz"
    with gzip.open(vcf, "rt") as fh:
        header = [line for line in fh if line.startswith("##")]
    assert not [line for line in header if "Date=" in line or line.startswith("##fileDate")]


@pytest.mark.parametrize(
    "event",
    [
        "markdup writing the BAM",  # writes bam.tmp.bam and renames it: survives
        "freebayes writing the raw VCF",
    ],
)
def test_killed_mid_write_resumes_to_identical_results(reference, event):
    s = kill_and_resume(reference, Kill(f"while {event}", pattern=EVENT_KILLS[event]))
    assert s.outcome.killed and s.outcome.in_flight, s.outcome
    assert s.outcome.survivors == []
    assert s.rerun_rc == 0
    assert (s.diffs, s.leftovers, s.still_incomplete, s.recomputed_finished) == ([], [], [], [])


@pytest.mark.long
def test_killed_at_many_points_resumes_to_identical_results(reference):
    points = kill_points(seed=20261125, n_timed=6, duration=reference["duration"])
    results = [kill_and_resume(reference, k) for k in points]
    killed = [s for s in results if s.outcome.killed]
    assert len(killed) >= 10, [s.outcome.kill.label for s in results if not s.outcome.killed]
    failed = [(s.outcome.kill.label, s.outcome.in_flight, s.rerun_rc, s.diffs, s.leftovers, s.still_incomplete,
               s.recomputed_finished, s.outcome.survivors) for s in killed if not s.survived]  # fmt: skip
    assert failed == []
