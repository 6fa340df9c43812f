"""Per-sample input check: read every input file once, record its SHA-256, and say in one line what is wrong.

A failed check fails that sample alone; the workflow routes it to a "test failed" result. Every problem has a
stable code beside its message (``problem_codes`` in the inputs JSON), so that the failure kind can be chosen from
data: a truncated or corrupt file is a data-transfer fault, not a specimen fault.

The check accepts exactly what the tools downstream accept: FASTQ is parsed by dnaio (the parser of cutadapt), and
gzip members are decoded one by one, refusing what fastp's igzip refuses (anything after the last member, even the
zero padding that Python's gzip module skips).
"""

from __future__ import annotations

import hashlib
import io
import logging
import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import dnaio
from isal import isal_zlib

from oncopanel.errors import InputError
from oncopanel.provenance import sha256_file
from oncopanel.reference import identify_build, read_chromosome_lengths
from oncopanel.samplesheet import Sample

log = logging.getLogger(__name__)

CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
# Phred+64 qualities run '@'..'h' (Solexa from ';'); Illumina Phred+33 never goes past 'K' (Q42). A file whose
# lowest quality character is >= ';' and whose highest is past 'K' can only be Phred+64.
PHRED64_MIN = ord(";")
PHRED33_MAX = ord("K")

# Every problem code the check gives, with what it means; "transfer" codes are faults of the data's copy or
# delivery (the lab fetches the file again), "data" codes are of the data as sequenced or prepared.
PROBLEM_CODES: dict[str, str] = {
    "file_not_found": "transfer: an input file is missing",
    "truncated_gzip": "transfer: a gzip file ends mid-stream",
    "corrupt_gzip": "transfer: gzip data that does not decode (bad block or checksum)",
    "gzip_trailing_data": "transfer: bytes (zero padding or other) after the last gzip member",
    "not_gzip": "transfer: a file named .gz that is not gzip-compressed",
    "truncated_bam": "transfer: a BAM without its end-of-file marker",
    "not_a_bam": "transfer: a file given as BAM that is not a readable BAM",
    "unreadable": "transfer: the file could not be read at all (permissions, I/O error)",
    "malformed_fastq": "data: a FASTQ record broken (header, '+' line, sequence/quality lengths)",
    "pairs_out_of_sync": "data: R1 and R2 differ in read count or mate names",
    "empty_fastq": "data: a FASTQ with no reads",
    "phred64": "data: Phred+64 quality encoding",
    "wrong_build": "data: aligned to another build than the reference (GRCh37 without realign, other lengths)",
    "unknown_build": "data: aligned to a build that is neither GRCh38 nor GRCh37",
    "contig_names": "data: GRCh38 lengths under b37-style contig names (1, 2, …)",
    "bam_without_sq": "data: a BAM header with no @SQ lines",
    "duplicate_input": "identity: the same file's bytes under two different samples",
    "unknown_site": "sheet: the sample's site is not a code of the centre's site registry (config key sites)",
}


@dataclass(frozen=True)
class Problem:
    """One reason a sample's inputs cannot be used: a stable code for machines, one line for people."""

    code: str
    message: str


@dataclass
class FileCheck:
    path: str
    sha256: str = ""
    reads: int = 0


@dataclass
class InputCheck:
    sample_id: str
    problems: list[str] = field(default_factory=list)
    problem_codes: list[str] = field(default_factory=list)  # parallel to problems
    files: list[FileCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problems: list[Problem]) -> None:
        self.problems.extend(p.message for p in problems)
        self.problem_codes.extend(p.code for p in problems)

    def as_dict(self) -> dict:
        return {
            "sample_id": self.sample_id,
            "status": "ok" if self.ok else "failed",
            "problems": self.problems,
            "problem_codes": self.problem_codes,
            "files": [f.__dict__ for f in self.files],
        }


class InputFileError(Exception):
    """A problem found while reading one file; the caller adds the sample and the path."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


class _CheckedReader(io.RawIOBase):
    """The decompressed bytes of one input file, hashing its raw bytes on the way.

    gzip is decoded member by member (multi-member files are valid and common); after the last member only the end
    of the file may follow.
    """

    def __init__(self, path: Path):
        self._path = path
        self._fh: BinaryIO = open(path, "rb")  # noqa: SIM115 (closed by finish() or close_file())
        self.sha256 = hashlib.sha256()
        self._gzip = path.suffix == ".gz"
        self._out, self._pos = b"", 0  # decoded bytes not yet handed out: self._out[self._pos:]
        self._pending = b""  # raw bytes after the end of a gzip member
        self._offset = 0  # raw bytes read so far
        self._decoder = None
        self._eof = False
        self._started = False

    def readable(self) -> bool:
        return True

    def _raw(self, n: int = CHUNK) -> bytes:
        data = self._fh.read(n)
        self.sha256.update(data)
        self._offset += len(data)
        return data

    def _fill(self) -> None:
        """Decode until some output is pending or the file is at its end."""
        while self._pos >= len(self._out) and not self._eof:
            if self._gzip:
                self._out, self._pos = self._gunzip_step(), 0
            else:
                self._out, self._pos = self._raw(), 0
                self._eof = not self._out

    def _gunzip_step(self) -> bytes:
        """Decode one raw chunk, starting the next member when the last one ended."""
        data, self._pending = self._pending or self._raw(), b""
        if self._decoder is None:  # between members: the file must end here or a new member start
            if not data:
                self._eof = True
                return b""
            if len(data) < 2:
                data += self._raw(1)
            if not data.startswith(GZIP_MAGIC):
                if not self._started:
                    raise InputFileError("not_gzip", f"not gzip-compressed although named .gz (starts {data[:4]!r})")
                self._trailing(data)
            self._started = True
            self._decoder = isal_zlib.decompressobj(31)  # ISA-L, fastp's decoder, ~3x zlib's speed
        elif not data:
            raise InputFileError("truncated_gzip", "truncated gzip (file ends mid-stream)")
        try:
            out = self._decoder.decompress(data)
        except isal_zlib.error as exc:
            raise InputFileError("corrupt_gzip", f"corrupt gzip ({_zlib_words(self._path) or exc})") from exc
        if self._decoder.eof:
            self._pending, self._decoder = self._decoder.unused_data, None
        return out

    def _trailing(self, head: bytes) -> None:
        """Bytes after the last gzip member: name them (zero padding or something else) and refuse."""
        end = self._offset - len(head)
        rest = head + b"".join(iter(self._raw, b""))  # to the end: the message says how much, the hash needs it
        if not rest.strip(b"\x00"):
            raise InputFileError(
                "gzip_trailing_data",
                f"gzip data ends at byte {end:,} and is followed by {len(rest):,} zero bytes of padding "
                "(fastp's decoder refuses them: 'invalid gzip header')",
            )
        raise InputFileError(
            "gzip_trailing_data",
            f"gzip data ends at byte {end:,} and is followed by {len(rest):,} bytes that are not gzip "
            f"(starting {rest[:8]!r}); fastp's decoder refuses them",
        )

    def readinto(self, buffer) -> int:
        self._fill()
        n = min(len(buffer), len(self._out) - self._pos)
        buffer[:n] = memoryview(self._out)[self._pos : self._pos + n]
        self._pos += n
        return n

    def close_file(self) -> None:
        self._fh.close()

    def finish(self) -> str:
        """Hash the raw bytes to the end (after an early stop too), close the file, return its SHA-256.

        The file stays open until here although dnaio closes this reader when its records end.
        """
        try:
            for _ in iter(self._raw, b""):
                pass
        finally:
            self._fh.close()
        return self.sha256.hexdigest()


def _zlib_words(path: Path) -> str:
    """zlib's more specific wording of a gzip error (ISA-L says only 'Invalid deflate block found'), or ''."""
    decoder = zlib.decompressobj(31)
    with open(path, "rb") as fh:
        try:
            for data in iter(lambda: fh.read(CHUNK), b""):
                while data:
                    decoder.decompress(data)  # output dropped: only the error's words are wanted
                    data, decoder = (decoder.unused_data, zlib.decompressobj(31)) if decoder.eof else (b"", decoder)
        except zlib.error as exc:
            return str(exc)
    return ""


def _mate_name(name: str) -> str:
    """The read name without a /1 or /2 mate suffix (dnaio's is_mate also drops a bare trailing 1 or 2)."""
    return name[:-2] if name.endswith(("/1", "/2")) else name


def _format_error(exc: dnaio.exceptions.FastqFormatError, path: Path) -> InputFileError:
    """One line for a FASTQ structure error, in the words the check has always used."""
    record = (exc.line or 0) // 4 + 1
    text = str(exc.message)
    if "Length of sequence and qualities differ" in text:
        seq, qual = _record_lengths(path, record)
        detail = f"sequence length {seq} differs from quality length {qual}"
    elif "expected to start with '@'" in text:
        detail = "header line does not start with '@'"
    elif "Premature end of file" in text or "expected to start with '+'" in text:
        detail = "incomplete record (file ends or '+' line missing)"
    elif "descriptions don't match" in text:
        detail = "the '+' line names another read than the header"
    else:
        detail = text.splitlines()[0]
    return InputFileError("malformed_fastq", f"malformed FASTQ, record {record}: {detail}")


def _record_lengths(path: Path, record: int) -> tuple[int, int]:
    """Sequence and quality lengths of one record (read again, only to word an error)."""
    reader = _CheckedReader(path)
    try:
        lines = io.BufferedReader(reader, CHUNK)
        for _ in range(4 * (record - 1)):
            lines.readline()
        _, seq, _, qual = (lines.readline().rstrip(b"\r\n") for _ in range(4))
        return len(seq), len(qual)
    finally:
        reader.close_file()


class _Fastq:
    """One FASTQ file being walked: its records, its quality range, and its raw-byte hash."""

    def __init__(self, path: Path):
        self.path = path
        self.raw = _CheckedReader(path)
        self._records: Iterator[dnaio.SequenceRecord] | None = None  # opened on the first read: dnaio reads ahead
        self.lowest, self.highest = 255, 0
        self._maybe_phred64 = True

    def next(self) -> dnaio.SequenceRecord | None:
        try:
            if self._records is None:
                self._records = iter(dnaio.open(io.BufferedReader(self.raw, CHUNK), fileformat="fastq"))
            rec = next(self._records, None)
        except dnaio.exceptions.FastqFormatError as exc:
            raise _format_error(exc, self.path) from exc
        except EOFError as exc:
            raise InputFileError("truncated_gzip", "truncated gzip (file ends mid-stream)") from exc
        if self._maybe_phred64 and rec is not None and rec.qualities:
            q = rec.qualities_as_bytes()
            if min(q) < PHRED64_MIN:  # Phred+33 for sure: stop looking (in real data within the first reads)
                self._maybe_phred64 = False
            else:
                self.lowest, self.highest = min(self.lowest, min(q)), max(self.highest, max(q))
        return rec

    def encoding_problem(self) -> InputFileError | None:
        if self._maybe_phred64 and self.highest > PHRED33_MAX:
            return InputFileError(
                "phred64",
                f"Phred+64 quality encoding (quality characters {chr(self.lowest)!r} to {chr(self.highest)!r}); "
                "the pipeline reads Phred+33: convert it first (e.g. seqtk seq -V -Q64)",
            )
        return None


def check_fastq_pair(sample_id: str, r1: Path, r2: Path) -> tuple[list[Problem], list[FileCheck]]:
    """Walk R1 and R2 together: gzip integrity, FASTQ structure, quality encoding, equal counts, mates in step."""
    checks = [FileCheck(str(r1)), FileCheck(str(r2))]
    missing = [
        Problem("file_not_found", f"sample {sample_id}: {p}: file not found") for p in (r1, r2) if not p.exists()
    ]
    if missing:
        return missing, checks
    files = [_Fastq(r1), _Fastq(r2)]
    problems: list[Problem] = []
    n = 0
    current = files[0]
    try:
        while True:
            current = files[0]
            a = current.next()
            current = files[1]
            b = current.next()
            if a is None and b is None:
                break
            if a is None or b is None:
                shorter, longer = (r1, r2) if a is None else (r2, r1)
                problems.append(
                    Problem(
                        "pairs_out_of_sync",
                        f"sample {sample_id}: {shorter}: R1/R2 out of sync: {shorter.name} ends after {n} reads "
                        f"while {longer.name} has more",
                    )
                )
                break
            n += 1
            if a.id != b.id and _mate_name(a.id) != _mate_name(b.id):
                problems.append(
                    Problem(
                        "pairs_out_of_sync",
                        f"sample {sample_id}: {r2}: R1/R2 out of sync at read {n}: mate names "
                        f"'{_mate_name(a.id)}' and '{_mate_name(b.id)}' differ",
                    )
                )
                break
        if not problems and n == 0:
            problems.append(Problem("empty_fastq", f"sample {sample_id}: {r1}: empty FASTQ (no reads)"))
        # one line per pair: a Phred+64 R1 comes with a Phred+64 R2
        encoding = next(((f, e) for f in files if (e := f.encoding_problem()) is not None), None)
        if encoding and not problems:
            problems.append(Problem("phred64", f"sample {sample_id}: {encoding[0].path}: {encoding[1].detail}"))
    except InputFileError as exc:
        problems.append(Problem(exc.code, f"sample {sample_id}: {current.path}: {exc.detail}"))
    finally:
        for check, f in zip(checks, files, strict=True):
            check.sha256 = f.raw.finish()
    checks[0].reads = checks[1].reads = n
    return problems, checks


def _describe_unknown_build(sq: dict[str, int]) -> tuple[str, str]:
    """(code, words) for a header that matches no known build, saying what its contig names and lengths are."""
    builds = read_chromosome_lengths()
    grch38 = builds["GRCh38"]
    bare = {c: n for c, n in sq.items() if c in {k.removeprefix("chr").replace("M", "MT") for k in grch38}}
    if bare:  # b37-style names: 1, 2, ..., X, Y, MT
        as_ucsc = {("chrM" if c == "MT" else f"chr{c}"): n for c, n in bare.items()}
        if all(grch38.get(c) == n for c, n in as_ucsc.items()):
            first = next(iter(bare))
            return "contig_names", (
                f"GRCh38 lengths but b37-style contig names (1, 2, …, without 'chr'), while the reference names them "
                f"chr1, chr2, …: rename the contigs (e.g. samtools reheader) so that '{first}' reads "
                f"'{'chrM' if first == 'MT' else 'chr' + first}'"
            )
        return "unknown_build", (
            "aligned to an unknown build with b37-style contig names (1, 2, …, without 'chr') whose lengths match "
            "neither GRCh38 nor GRCh37, not GRCh38"
        )
    odd = next((c for c in sq if c in grch38 and sq[c] != grch38[c]), None)
    if odd:
        return "unknown_build", (
            f"aligned to an unknown build ({odd} is {sq[odd]:,} bp; in GRCh38 it is {grch38[odd]:,} bp), not GRCh38"
        )
    return (
        "unknown_build",
        "aligned to an unknown build (no GRCh38 or GRCh37 chromosome name in its header), not GRCh38",
    )


def check_bam(sample_id: str, bam: Path, reference_fai: Path, realign: bool) -> tuple[list[Problem], FileCheck]:
    """Readable, not truncated, and aligned to the configured reference (or GRCh37 with realign: true)."""
    import pysam

    check = FileCheck(str(bam))

    def refuse(code: str, words: str) -> tuple[list[Problem], FileCheck]:
        return [Problem(code, f"sample {sample_id}: {bam}: {words}")], check

    if not bam.exists():
        return refuse("file_not_found", "file not found")
    check.sha256 = sha256_file(bam)
    try:
        with pysam.AlignmentFile(str(bam), "rb", check_sq=False) as fh:
            sq = {s["SN"]: int(s["LN"]) for s in fh.header.to_dict().get("SQ", [])}
    except (OSError, ValueError) as exc:
        if "EOF marker" in str(exc):  # pysam refuses to open a BAM that lost its end
            return refuse("truncated_bam", "truncated BAM (no end-of-file marker)")
        return refuse("not_a_bam", f"not a readable BAM ({exc})")
    if not sq:
        return refuse("bam_without_sq", "BAM header has no @SQ lines; cannot tell its reference")
    build = identify_build(sq)
    ref = dict(
        (line.split("\t")[0], int(line.split("\t")[1])) for line in reference_fai.read_text().splitlines() if line
    )
    if build == "GRCh38":
        mismatched = [c for c in sq if c in ref and sq[c] != ref[c]]
        if mismatched:
            return refuse("wrong_build", f"contig lengths differ from the reference ({mismatched[0]})")
        if not any(c in ref for c in sq):
            return refuse("wrong_build", "none of its contigs is in the reference")
        return [], check
    if build == "GRCh37" and realign:
        return [], check
    if build == "GRCh37":
        return refuse("wrong_build", "aligned to GRCh37, not GRCh38 (set realign: true to realign it)")
    return refuse(*_describe_unknown_build(sq))


def check_sample_inputs(sample: Sample, reference_fai: Path, realign: bool, root: Path = Path(".")) -> InputCheck:
    result = InputCheck(sample.sample_id)
    for lane in sample.lanes:
        if lane.bam:
            problems, check = check_bam(sample.sample_id, root / lane.bam, reference_fai, realign)
            result.add(problems)
            result.files.append(check)
        else:
            problems, checks = check_fastq_pair(sample.sample_id, root / lane.fastq_1, root / lane.fastq_2)
            result.add(problems)
            result.files.extend(checks)
    return result


def duplicate_input_problems(checks: dict[str, InputCheck]) -> dict[str, list[Problem]]:
    """Files with identical bytes under two different samples: both samples refused, each naming the other.

    Two patients' reports from one set of reads would be a mix-up that no later step can see. A file that holds
    no reads is left out (two empty FASTQs are alike without being one sample's data; each fails on its own).
    """
    owners: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for sid, check in checks.items():
        for f in check.files:
            if f.sha256 and (f.reads or not f.path.endswith((".fastq.gz", ".fq.gz", ".fastq", ".fq"))):
                owners[f.sha256].append((sid, f.path))
    out: dict[str, list[Problem]] = defaultdict(list)
    for holders in owners.values():
        for sid, path in holders:
            others = [(s, p) for s, p in holders if s != sid]
            if others:
                s0, p0 = others[0]
                out[sid].append(
                    Problem(
                        "duplicate_input",
                        f"sample {sid}: {path}: identical to {p0} of sample {s0} (same SHA-256); one sequencing "
                        "file cannot belong to two samples",
                    )
                )
    return out


@dataclass(frozen=True)
class SiteRegistry:
    """The centre's county sites, as exported by ``oncopanel sites export`` (TSV: code, name): the codes a sample
    sheet's ``site`` may name. ``sheet`` is the sample sheet checked against it (named in each problem)."""

    path: Path
    codes: frozenset[str]
    sheet: str = ""

    @classmethod
    def read(cls, path: str | Path, sheet: str | Path = "") -> SiteRegistry:
        import csv

        path = Path(path)
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                codes = frozenset(r["code"].strip() for r in csv.DictReader(handle, delimiter="\t") if r["code"])
        except (OSError, KeyError, UnicodeDecodeError) as exc:
            words = f"not readable as `oncopanel sites export` writes it ({exc})"
            raise InputError(f"site registry {path}: {words}") from exc
        if not codes:  # an empty registry would refuse every sample: a configuration fault, said once
            raise InputError(f"site registry {path}: no site codes (export it with `oncopanel sites export`)")
        return cls(path, codes, str(sheet))

    def problems(self, sample: Sample) -> list[Problem]:
        """One line naming sample, file and problem; run controls have no site."""
        if sample.is_control or sample.site in self.codes:
            return []
        where = f"{self.sheet}: " if self.sheet else ""
        return [Problem("unknown_site", f"sample {sample.sample_id}: {where}site {sample.site!r} is not a code of "
                                        f"the site registry ({self.path})")]  # fmt: skip


def refusal_text(problems: list[str]) -> str:
    """What a refused configuration or sample sheet prints: a headline, then each problem on its own line."""
    noun = "problem" if len(problems) == 1 else "problems"
    headline = f"Refused before any step ran: {len(problems)} {noun} in the configuration or sample sheet:"
    return "\n".join([headline, *problems])


def check_batch_inputs(
    samples: list[Sample], reference_fai: Path, realign: bool, threads: int = 1, sites: SiteRegistry | None = None
) -> dict[str, InputCheck]:
    """Every sample of a batch checked (in `threads` threads: zlib and hashing release the GIL), then compared.

    An unexpected error reading one sample's files fails that sample alone, with the error as its reason. With a
    site registry, a sample whose site is not one of its codes fails too (the rest of the batch goes on).
    """
    from concurrent.futures import ThreadPoolExecutor

    def one(sample: Sample) -> InputCheck:
        try:
            return check_sample_inputs(sample, reference_fai, realign)
        except Exception as exc:  # any failure is this sample's, never the batch's
            files = ", ".join(sample.input_files)
            failed = InputCheck(sample.sample_id)
            failed.add([Problem("unreadable", f"sample {sample.sample_id}: {files}: unreadable ({exc})")])
            return failed

    checks = {}
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for n, check in enumerate(pool.map(one, samples), start=1):  # progress: oncopanel -v / the job's log
            log.info("input check %d/%d: %s read", n, len(samples), check.sample_id)
            checks[check.sample_id] = check
    for sid, problems in duplicate_input_problems(checks).items():
        checks[sid].add(problems)
    for sample in samples if sites is not None else ():
        checks[sample.sample_id].add(sites.problems(sample))
    failed = sorted(sid for sid, check in checks.items() if not check.ok)
    log.info("input check: %d of %d samples ok%s", len(checks) - len(failed), len(checks),
             f"; failed: {', '.join(failed)}" if failed else "")  # fmt: skip
    return checks
