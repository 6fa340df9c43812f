"""Demultiplexing a pooled run delivered as undetermined FASTQ into per-sample gzipped FASTQ pairs.

Where the index sequences are:
- Illumina (bcl2fastq / BCL Convert "Undetermined" output): in the read header comment, `@inst:run:flowcell:
  lane:tile:x:y 1:N:0:ACGTACGT+TTGCAAGC` — i7, then `+`, then i5 as the instrument read it.
- MGI/DNBSEQ: reads are named `@V350012345L1C001R0010000001/1` (flowcell, lane, column, row, DNB) and carry no
  index in the name. We follow MGI's splitBarcode convention that the barcode is sequenced after the insert on
  the 3' end of read 2 (splitBarcode's `-b <start> <length> <mismatch>` counts positions along read 2): read 2 =
  insert + i7 barcode + i5 ("dual") barcode. The barcode bases are trimmed from read 2 on output, so each
  sample's read 2 is the insert alone, as splitBarcode writes it.

Samples are given with i5 as the kit gives it (forward strand). `i5_orientation="reverse_complement"` means the
instrument reads the reverse complement (e.g. NextSeq 500/550, MiniSeq, NovaSeq 6000 v1.5 reagents).

Matching: each index is looked up in a dict holding every exact index and every variant within
`max_mismatches` substitutions (N included); a variant within reach of two indexes is dropped, so a corrected
read is never ambiguous. Both indexes resolved to one sample: assigned. Both resolved but to different samples
(only possible with unique dual indexes): an index-hopped pair, counted and written to Undetermined. Otherwise
undetermined, with the most common unknown barcodes reported.

Read names are written as they came: a UMI that BCL Convert put into the name (its eighth `:` field, from
`OverrideCycles` U segments) travels with each read to the consensus step (oncopanel.umi; sheet layout `header`).

Output, written to temporary names and renamed when complete: `<sample>_R1.fastq.gz`, `<sample>_R2.fastq.gz`,
`Undetermined_R1.fastq.gz`, `Undetermined_R2.fastq.gz`, `demux_report.json`, `demux_counts.tsv`.

Throughput: input is decompressed by `gzip -dc` processes and output compressed by one `bgzip -l 1` process per
file (htslib's deflate is several times faster than Python's zlib), so the Python loop only parses and routes
records; without those tools it falls back to the gzip module and level-1 members compressed on a thread.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import logging
import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from oncopanel.batch.indexes import reverse_complement
from oncopanel.batch.manifest import SAMPLE_ID
from oncopanel.errors import InputError, ValidationError

UNDETERMINED = "Undetermined"
_FLUSH_BYTES = 1 << 18  # read buffer
_FLUSH_LINES = 4096  # ~1,000 records (~300 kB at 2 x 150 bp) per chunk written to a sink
_CHECK_EVERY = 4096  # read pairs between buffer checks
_PROGRESS_EVERY = _CHECK_EVERY * 256  # ~1 million read pairs between progress messages (oncopanel -v demux)
log = logging.getLogger(__name__)
_BGZIP = shutil.which("bgzip")
_GZIP = shutil.which("gzip")
_HOPPED, _UNKNOWN = -1, -2


@dataclass
class DemuxStats:
    platform: str
    i5_orientation: str
    max_mismatches: int
    read_pairs: int = 0
    assigned: dict[str, int] = field(default_factory=dict)
    corrected: dict[str, int] = field(default_factory=dict)  # assigned with >= 1 mismatch in an index
    hopped_pairs: dict[str, int] = field(default_factory=dict)  # "i7 of A + i5 of B" -> read pairs
    undetermined: int = 0  # not assigned, hopped pairs included
    top_unknown_barcodes: dict[str, int] = field(default_factory=dict)  # "i7+i5" as read -> pairs (top 20)
    ambiguous_variants: int = 0  # mismatch variants dropped because two indexes reach them

    @property
    def hopped(self) -> int:
        return sum(self.hopped_pairs.values())

    def as_dict(self) -> dict:
        return {**asdict(self), "hopped": self.hopped}


def _variants(seq: str, max_mismatches: int) -> set[str]:
    out = {seq}
    for positions in itertools.combinations(range(len(seq)), max_mismatches):
        for bases in itertools.product("ACGTN", repeat=max_mismatches):
            s = list(seq)
            for pos, base in zip(positions, bases, strict=True):
                s[pos] = base
            out.add("".join(s))
    if max_mismatches > 1:
        out |= _variants(seq, max_mismatches - 1)
    return out


def index_lookup(indexes: Sequence[str], max_mismatches: int) -> tuple[dict[bytes, tuple[int, int]], int]:
    """Observed sequence -> (position in `indexes`, mismatches), and how many variants were ambiguous."""
    table: dict[bytes, tuple[int, int]] = {}
    ambiguous: set[bytes] = set()
    for n, seq in enumerate(indexes):
        for variant in _variants(seq, max_mismatches) if max_mismatches else {seq}:
            key = variant.encode()
            d = sum(a != b for a, b in zip(variant, seq, strict=True))
            if key in table and table[key][0] != n:
                if table[key][1] == d:
                    ambiguous.add(key)
                elif d < table[key][1]:
                    table[key] = (n, d)
                    ambiguous.discard(key)
            else:
                table[key] = (n, d)
    for key in ambiguous:
        del table[key]
    return table, len(ambiguous)


class _ThreadGzipSink:
    """Fallback writer when bgzip is not on PATH: each chunk becomes a gzip level 1 member compressed on a
    thread pool (zlib releases the GIL); members are written in order."""

    def __init__(self, path: Path, pool: ThreadPoolExecutor):
        self.tmp = path.with_name(f".{path.name}.tmp")
        self.path = path
        self.handle = self.tmp.open("wb")
        self.pool = pool
        self.pending: list[Future] = []

    def write(self, chunk: bytes) -> None:
        self.pending.append(self.pool.submit(gzip.compress, chunk, 1, mtime=0))
        while self.pending and self.pending[0].done():
            self.handle.write(self.pending.pop(0).result())

    def close(self) -> None:
        for future in self.pending:
            self.handle.write(future.result())
        if self.handle.tell() == 0:
            self.handle.write(gzip.compress(b"", 1, mtime=0))  # an empty but valid gzip file
        self.handle.close()

    def commit(self) -> None:
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        self.handle.close()
        self.tmp.unlink(missing_ok=True)


class _BgzipSink(_ThreadGzipSink):
    """Writer through a `bgzip -l 1` process per output file: htslib's deflate is several times faster than
    Python's zlib, runs beside the parsing loop, and the output is BGZF (valid gzip, indexable)."""

    def __init__(self, path: Path, pool: ThreadPoolExecutor):
        super().__init__(path, pool)
        self.proc = subprocess.Popen([_BGZIP, "-l", "1", "-c"], stdin=subprocess.PIPE, stdout=self.handle)

    def write(self, chunk: bytes) -> None:
        self.proc.stdin.write(chunk)

    def close(self) -> None:
        self.proc.stdin.close()
        code = self.proc.wait()
        self.handle.close()
        if code:
            raise InputError(f"{self.path}: bgzip exited with status {code}")

    def discard(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        super().discard()


@contextmanager
def _open_fastq(path: Path | str):
    """Lines of a FASTQ, plain or gzip. Gzip is decompressed by a `gzip -dc` process when available, so
    decompression runs beside the parsing loop; its exit status is checked at the end."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: FASTQ not found")
    if path.suffix != ".gz":
        with path.open("rb") as handle:
            yield handle
    elif _GZIP is None:
        with io.BufferedReader(gzip.GzipFile(path), _FLUSH_BYTES) as handle:
            yield handle
    else:
        proc = subprocess.Popen([_GZIP, "-dc", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                bufsize=_FLUSH_BYTES)  # fmt: skip
        try:
            yield proc.stdout
        finally:
            proc.stdout.close()
            finished = proc.poll() is not None
            if not finished:
                proc.kill()
            code = proc.wait()
            error = proc.stderr.read().decode(errors="replace").strip()
            proc.stderr.close()
        if finished and code:
            raise InputError(f"{path}: not readable as gzip ({error or f'gzip exit status {code}'})")


def demultiplex(
    r1: Path | str,
    r2: Path | str,
    samples: Sequence[tuple[str, str, str]],
    out_dir: Path | str,
    platform: str = "illumina",
    i5_orientation: str = "forward",
    max_mismatches: int = 1,
) -> DemuxStats:
    """Split a pooled read pair file by (sample_id, i7, i5 forward strand); see the module docstring."""
    if platform not in ("illumina", "mgi"):
        raise InputError(f"platform must be illumina or mgi, not {platform!r}")
    if i5_orientation not in ("forward", "reverse_complement"):
        raise InputError(f"i5_orientation must be forward or reverse_complement, not {i5_orientation!r}")
    _check_samples(samples)
    ids = [s[0] for s in samples]
    i7s = [s[1].upper() for s in samples]
    i5s = [(reverse_complement(s[2].upper()) if i5_orientation == "reverse_complement" else s[2].upper())
           for s in samples]  # fmt: skip
    i7_table, amb7 = index_lookup(i7s, max_mismatches)
    i5_table, amb5 = index_lookup(i5s, max_mismatches)
    i7_len, i5_len = len(i7s[0]), len(i5s[0])
    if platform == "mgi" and any(len(a) != i7_len or len(b) != i5_len for a, b in zip(i7s, i5s, strict=True)):
        raise InputError("demultiplex: MGI barcodes are cut from read 2 by length: all i7 (and all i5) must match")
    stats = DemuxStats(platform, i5_orientation, max_mismatches, ambiguous_variants=amb7 + amb5)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = [*ids, UNDETERMINED]
    sink = _BgzipSink if _BGZIP else _ThreadGzipSink
    with ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1)) as pool:
        sinks = [(sink(out / f"{n}_R1.fastq.gz", pool), sink(out / f"{n}_R2.fastq.gz", pool)) for n in names]
        try:
            counts, corrected, hops, unknown = _split(
                r1, r2, platform, i7_table, i5_table, i7_len + i5_len, i7_len, sinks, len(ids)
            )
            for a, b in sinks:
                a.close()
                b.close()
        except BaseException:
            for a, b in sinks:
                a.discard()
                b.discard()
            raise
    for a, b in sinks:
        a.commit()
        b.commit()
    stats.read_pairs = sum(counts)
    stats.assigned = {sid: counts[n] for n, sid in enumerate(ids)}
    stats.corrected = {sid: corrected[n] for n, sid in enumerate(ids)}
    stats.undetermined = counts[len(ids)]
    stats.hopped_pairs = {f"{i7s[a]}+{i5s[b]} ({ids[a]} i7, {ids[b]} i5)": c for (a, b), c in hops.most_common()}
    stats.top_unknown_barcodes = {
        b"+".join(_split_barcode(b, platform == "mgi", i7_len)).decode(errors="replace"): c
        for b, c in unknown.most_common(20)
    }
    _write_reports(out, stats, samples)
    return stats


def _check_samples(samples: Sequence[tuple[str, str, str]]) -> None:
    """Sample ids become file names and indexes become lookup keys: refuse bad ones, listing every problem."""
    problems = [] if samples else ["demultiplex: no samples given"]
    seen: set[str] = set()
    for sid, i7, i5 in samples:
        if not SAMPLE_ID.match(sid) or sid == UNDETERMINED:
            problems.append(f"demultiplex: sample id '{sid}' is not a pseudonymous id usable as a file name")
        if sid in seen:
            problems.append(f"demultiplex: sample id '{sid}' given twice")
        seen.add(sid)
        for name, seq in (("i7", i7), ("i5", i5)):
            if not seq or set(seq.upper()) - set("ACGT"):
                problems.append(f"demultiplex: sample {sid}: {name} '{seq}' is not an ACGT index")
    if problems:
        raise ValidationError(problems)


def _split(r1, r2, platform, i7_table, i5_table, barcode_len, i7_len, sinks, n_samples):
    """The hot loop: one pass over both files; resolution of each distinct barcode is cached."""
    counts = [0] * (n_samples + 1)
    corrected = [0] * n_samples
    hops: Counter = Counter()
    unknown: Counter = Counter()
    cache: dict[bytes, tuple[int, bool]] = {}
    mgi = platform == "mgi"
    # Records gather in per-output lists of lines and go to the sinks in chunks of >= _FLUSH_LINES lines.
    buffers = [([], []) for _ in sinks]
    pairno = 0
    started = time.monotonic()
    with _open_fastq(r1) as f1, _open_fastq(r2) as f2:
        # strict zips: a truncated record or files of unequal length raise instead of losing reads quietly.
        pairs = zip(zip(f1, f1, f1, f1, strict=True), zip(f2, f2, f2, f2, strict=True), strict=True)
        try:
            for (h1, s1, p1, q1), (h2, s2, p2, q2) in pairs:
                if mgi:
                    same_name = h1[:-3] == h2[:-3]
                    barcode = s2[-barcode_len - 1 : -1]
                else:
                    space = h1.find(b" ")
                    same_name = h1[:space] == h2[:space]
                    barcode = h1[h1.rfind(b":") + 1 : -1]
                if not same_name:
                    raise InputError(f"{r1} / {r2}: mates out of step: {h1.strip()!r} vs {h2.strip()!r}")
                hit = cache.get(barcode)
                if hit is None:
                    hit = _resolve(barcode, mgi, i7_len, i7_table, i5_table)
                    if len(cache) < 1_000_000:
                        cache[barcode] = hit
                target, was_corrected = hit
                if target >= 0:
                    counts[target] += 1
                    if was_corrected:
                        corrected[target] += 1
                    if mgi:
                        s2, q2 = s2[: -barcode_len - 1] + b"\n", q2[: -barcode_len - 1] + b"\n"
                else:
                    counts[n_samples] += 1
                    if target == _HOPPED:
                        hops[_resolve_pair(barcode, mgi, i7_len, i7_table, i5_table)] += 1
                    elif len(unknown) < 100_000 or barcode in unknown:
                        unknown[barcode] += 1
                    target = n_samples
                out1, out2 = buffers[target]
                out1 += (h1, s1, p1, q1)
                out2 += (h2, s2, p2, q2)
                pairno += 1
                if not pairno % _CHECK_EVERY:
                    _flush(buffers, sinks, _FLUSH_LINES)
                    if not pairno % _PROGRESS_EVERY:
                        elapsed = time.monotonic() - started
                        log.info("demultiplexed %s read pairs (%s assigned) in %.0f s, %.0f pairs/s", f"{pairno:,}",
                                 f"{sum(counts[:n_samples]):,}", elapsed, pairno / elapsed)  # fmt: skip
            _flush(buffers, sinks, 0)
            log.info("demultiplexed %s read pairs in %.0f s", f"{pairno:,}", time.monotonic() - started)
        except ValueError as exc:
            raise InputError(
                f"{r1} / {r2}: truncated FASTQ record or different numbers of reads "
                f"(after {sum(counts)} read pairs): {exc}"
            ) from exc
    return counts, corrected, hops, unknown


def _flush(buffers, sinks, min_lines: int) -> None:
    for (out1, out2), (sink1, sink2) in zip(buffers, sinks, strict=True):
        if out1 and len(out1) >= min_lines:
            sink1.write(b"".join(out1))
            sink2.write(b"".join(out2))
            out1.clear()
            out2.clear()


def _split_barcode(barcode: bytes, mgi: bool, i7_len: int) -> tuple[bytes, bytes]:
    if mgi:
        return barcode[:i7_len], barcode[i7_len:]
    i7, _, i5 = barcode.partition(b"+")
    return i7, i5


def _resolve(barcode, mgi, i7_len, i7_table, i5_table) -> tuple[int, bool]:
    i7, i5 = _split_barcode(barcode, mgi, i7_len)
    a, b = i7_table.get(i7), i5_table.get(i5)
    if a is None or b is None:
        return _UNKNOWN, False
    if a[0] != b[0]:
        return _HOPPED, False
    return a[0], bool(a[1] or b[1])


def _resolve_pair(barcode, mgi, i7_len, i7_table, i5_table) -> tuple[int, int]:
    i7, i5 = _split_barcode(barcode, mgi, i7_len)
    return i7_table[i7][0], i5_table[i5][0]


def _write_reports(out: Path, stats: DemuxStats, samples: Sequence[tuple[str, str, str]]) -> None:
    report = out / "demux_report.json"
    tmp = report.with_name(f".{report.name}.tmp")
    tmp.write_text(json.dumps(stats.as_dict(), indent=2) + "\n")
    os.replace(tmp, report)
    table = out / "demux_counts.tsv"
    tmp = table.with_name(f".{table.name}.tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["sample_id", "i7", "i5", "read_pairs", "corrected_index", "fraction"])
        total = max(stats.read_pairs, 1)
        for sid, i7, i5 in samples:
            n = stats.assigned[sid]
            writer.writerow([sid, i7, i5, n, stats.corrected[sid], f"{n / total:.4f}"])
        writer.writerow([UNDETERMINED, "", "", stats.undetermined, "", f"{stats.undetermined / total:.4f}"])
        writer.writerow(["index_hopped", "", "", stats.hopped, "", f"{stats.hopped / total:.4f}"])
    os.replace(tmp, table)
