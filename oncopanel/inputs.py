"""Per-sample input check: read every input file once, record its SHA-256, and say in one line what is wrong.

A failed check fails that sample alone; the workflow routes it to a "test failed" result.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from oncopanel.provenance import sha256_file
from oncopanel.reference import identify_build
from oncopanel.samplesheet import Sample


class _HashingReader(io.RawIOBase):
    """Wraps a binary file, hashing the raw (compressed) bytes as they are read."""

    def __init__(self, fh: BinaryIO):
        self._fh = fh
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._fh.read(len(buffer))
        self.sha256.update(data)
        buffer[: len(data)] = data
        return len(data)


@dataclass
class FileCheck:
    path: str
    sha256: str = ""
    reads: int = 0


@dataclass
class InputCheck:
    sample_id: str
    problems: list[str] = field(default_factory=list)
    files: list[FileCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {
            "sample_id": self.sample_id,
            "status": "ok" if self.ok else "failed",
            "problems": self.problems,
            "files": [f.__dict__ for f in self.files],
        }


class FastqError(Exception):
    pass


def _open_text(path: Path) -> tuple[io.BufferedReader, _HashingReader, BinaryIO]:
    raw = open(path, "rb")  # noqa: SIM115 (closed by the caller, after hashing to the end)
    hasher = _HashingReader(raw)
    buffered = io.BufferedReader(hasher, buffer_size=1 << 20)
    if path.suffix == ".gz":
        return io.BufferedReader(gzip.GzipFile(fileobj=buffered), buffer_size=1 << 20), hasher, raw
    return buffered, hasher, raw


def _read_name(header: bytes) -> bytes:
    name = header[1:].split(maxsplit=1)[0] if len(header) > 1 else b""
    return name[:-2] if name.endswith((b"/1", b"/2")) else name


def _next_record(fh, path: Path, number: int) -> bytes | None:
    """The read name of the next FASTQ record, after checking its four lines; None at a clean end."""
    header = fh.readline()
    if not header:
        return None
    seq, plus, qual = fh.readline(), fh.readline(), fh.readline()
    if not header.startswith(b"@"):
        raise FastqError(f"record {number}: header line does not start with '@'")
    if not plus.startswith(b"+") or not qual:
        raise FastqError(f"record {number}: incomplete record (file ends or '+' line missing)")
    if len(seq.rstrip(b"\r\n")) != len(qual.rstrip(b"\r\n")):
        raise FastqError(
            f"record {number}: sequence length {len(seq.rstrip())} differs from quality length {len(qual.rstrip())}"
        )
    return _read_name(header)


def check_fastq_pair(sample_id: str, r1: Path, r2: Path) -> tuple[list[str], list[FileCheck]]:
    """Walk R1 and R2 together: gzip integrity, FASTQ structure, equal counts and mate names in step."""
    problems: list[str] = []
    checks = [FileCheck(str(r1)), FileCheck(str(r2))]
    for p in (r1, r2):
        if not p.exists():
            problems.append(f"sample {sample_id}: {p}: file not found")
    if problems:
        return problems, checks
    f1, h1, raw1 = _open_text(r1)
    f2, h2, raw2 = _open_text(r2)
    n = 0
    current = r1
    try:
        while True:
            current = r1
            a = _next_record(f1, r1, n + 1)
            current = r2
            b = _next_record(f2, r2, n + 1)
            if a is None and b is None:
                break
            if a is None or b is None:
                shorter, longer = (r1, r2) if a is None else (r2, r1)
                problems.append(
                    f"sample {sample_id}: {shorter}: R1/R2 out of sync: {shorter.name} ends after {n} reads "
                    f"while {longer.name} has more"
                )
                break
            n += 1
            if a != b:
                problems.append(
                    f"sample {sample_id}: {r2}: R1/R2 out of sync at read {n}: mate names "
                    f"'{a.decode(errors='replace')}' and '{b.decode(errors='replace')}' differ"
                )
                break
        if not problems and n == 0:
            problems.append(f"sample {sample_id}: {r1}: empty FASTQ (no reads)")
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        kind = "truncated gzip (file ends mid-stream)" if isinstance(exc, EOFError) else f"corrupt gzip ({exc})"
        problems.append(f"sample {sample_id}: {current}: {kind}")
    except FastqError as exc:
        problems.append(f"sample {sample_id}: {current}: malformed FASTQ, {exc}")
    finally:
        for fh in (f1, f2):
            with contextlib.suppress(EOFError, gzip.BadGzipFile, zlib.error, OSError):
                fh.read()  # finish hashing the raw bytes even after an early stop
        raw1.close()
        raw2.close()
    checks[0].sha256, checks[1].sha256 = h1.sha256.hexdigest(), h2.sha256.hexdigest()
    checks[0].reads = checks[1].reads = n
    return problems, checks


def check_bam(sample_id: str, bam: Path, reference_fai: Path, realign: bool) -> tuple[list[str], FileCheck]:
    """Readable, not truncated, and aligned to the configured reference (or GRCh37 with realign: true)."""
    import pysam

    check = FileCheck(str(bam))
    if not bam.exists():
        return [f"sample {sample_id}: {bam}: file not found"], check
    check.sha256 = sha256_file(bam)
    try:
        with pysam.AlignmentFile(str(bam), "rb", check_sq=False) as fh:
            sq = {s["SN"]: int(s["LN"]) for s in fh.header.to_dict().get("SQ", [])}
    except (OSError, ValueError) as exc:
        if "EOF marker" in str(exc):  # pysam refuses to open a BAM that lost its end
            return [f"sample {sample_id}: {bam}: truncated BAM (no end-of-file marker)"], check
        return [f"sample {sample_id}: {bam}: not a readable BAM ({exc})"], check
    if not sq:
        return [f"sample {sample_id}: {bam}: BAM header has no @SQ lines; cannot tell its reference"], check
    build = identify_build(sq)
    ref = dict(
        (line.split("\t")[0], int(line.split("\t")[1])) for line in reference_fai.read_text().splitlines() if line
    )
    if build == "GRCh38":
        mismatched = [c for c in sq if c in ref and sq[c] != ref[c]]
        if mismatched:
            return [f"sample {sample_id}: {bam}: contig lengths differ from the reference ({mismatched[0]})"], check
        if not any(c in ref for c in sq):
            return [f"sample {sample_id}: {bam}: none of its contigs is in the reference"], check
        return [], check
    if build == "GRCh37" and realign:
        return [], check
    hint = " (set realign: true to realign it)" if build == "GRCh37" else ""
    return [f"sample {sample_id}: {bam}: aligned to {build}, not GRCh38{hint}"], check


def check_sample_inputs(sample: Sample, reference_fai: Path, realign: bool, root: Path = Path(".")) -> InputCheck:
    result = InputCheck(sample.sample_id)
    for lane in sample.lanes:
        if lane.bam:
            problems, check = check_bam(sample.sample_id, root / lane.bam, reference_fai, realign)
            result.problems.extend(problems)
            result.files.append(check)
        else:
            problems, checks = check_fastq_pair(sample.sample_id, root / lane.fastq_1, root / lane.fastq_2)
            result.problems.extend(problems)
            result.files.extend(checks)
    return result


def check_batch_inputs(
    samples: list[Sample], reference_fai: Path, realign: bool, threads: int = 1
) -> dict[str, InputCheck]:
    """Every sample of a batch checked (in `threads` threads: zlib and hashing release the GIL).

    An unexpected error reading one sample's files fails that sample alone, with the error as its reason.
    """
    from concurrent.futures import ThreadPoolExecutor

    def one(sample: Sample) -> InputCheck:
        try:
            return check_sample_inputs(sample, reference_fai, realign)
        except Exception as exc:  # any failure is this sample's, never the batch's
            files = ", ".join(sample.input_files)
            return InputCheck(sample.sample_id, problems=[f"sample {sample.sample_id}: {files}: unreadable ({exc})"])

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        return {check.sample_id: check for check in pool.map(one, samples)}
