"""Small inputs made on the fly: reads drawn from the embedded reference, broken FASTQs, foreign-build BAMs."""

from __future__ import annotations

import gzip
import random
import re
import subprocess
from pathlib import Path

import pysam

from oncopanel.reference import SliceSequence, read_chromosome_lengths

COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def revcomp(seq: str) -> str:
    return seq.translate(COMPLEMENT)[::-1]


def reads_from_region(
    out_prefix: Path, chrom: str, start0: int, end: int, n_pairs: int, seed: int = 1,
    read_length: int = 100, fragment: int = 220,
) -> tuple[Path, Path]:  # fmt: skip
    """Error-free read pairs tiled at random over a region of the embedded reference (gzip, mtime 0)."""
    rng = random.Random(seed)
    seq = SliceSequence().fetch(chrom, start0, end)
    r1, r2 = Path(f"{out_prefix}_R1.fastq.gz"), Path(f"{out_prefix}_R2.fastq.gz")
    qual = "I" * read_length
    with gzip.GzipFile(r1, "wb", mtime=0) as f1, gzip.GzipFile(r2, "wb", mtime=0) as f2:
        for i in range(n_pairs):
            s = rng.randrange(0, len(seq) - fragment)
            frag = seq[s : s + fragment]
            name = f"@SIM:1:FC:1:1:{i}:{s}"
            f1.write(f"{name} 1:N:0:ACGT\n{frag[:read_length]}\n+\n{qual}\n".encode())
            f2.write(f"{name} 2:N:0:ACGT\n{revcomp(frag)[:read_length]}\n+\n{qual}\n".encode())
    return r1, r2


def truncated_copy(src: Path, dst: Path, keep_fraction: float = 0.5) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep_fraction)])
    return dst


def drop_last_records(src: Path, dst: Path, n: int) -> Path:
    """A FASTQ with its last n records removed (R1/R2 then differ in count)."""
    with gzip.open(src, "rt") as fh:
        lines = fh.read().splitlines()
    with gzip.GzipFile(dst, "wb", mtime=0) as out:
        out.write(("\n".join(lines[: len(lines) - 4 * n]) + "\n").encode())
    return dst


def grch37_bam(path: Path, n_reads: int = 10) -> Path:
    """A valid, indexed BAM whose header is GRCh37 (1000 Genomes names and lengths)."""
    lengths = read_chromosome_lengths()["GRCh37"]
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": c, "LN": n} for c, n in lengths.items()]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i in range(n_reads):
            a = pysam.AlignedSegment(out.header)
            a.query_name, a.reference_id, a.reference_start = f"r{i}", 11, 25398200 + i * 10
            a.query_sequence, a.cigarstring, a.mapping_quality = "A" * 50, "50M", 60
            a.query_qualities = pysam.qualitystring_to_array("I" * 50)
            out.write(a)
    pysam.index(str(path))
    return path


# What only names a report's release: checksums (the result's SHA-256, full or 16-character, the audit head) and the
# audit entry number, in either language. Each results directory has its own audit chain.
RELEASE_MARKS = re.compile(r"[0-9a-f]{16,64}|auditlogentry\d+|审计日志第\d+条")


def report_text_without_release_marks(pdf: Path) -> str:
    """A report's text, whitespace removed, without its release marks: two runs of the same data compare equal."""
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return RELEASE_MARKS.sub("", "".join(text.split()))
