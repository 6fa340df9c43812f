"""Regenerate the generated files of the bad-input corpus (FASTQ, BAM); the sheets and VCFs are kept as written.

Run: .venv/bin/python tests/data/bad/make_bad.py [OUT_DIR]   (default: this directory)
Every file is seeded and written with gzip mtime 0, so a rerun gives the same bytes (and so the same messages).
"""

from __future__ import annotations

import gzip
import random
import sys
from pathlib import Path

import pysam

BAD = Path(__file__).resolve().parent
sys.path.insert(0, str(BAD.parent.parent))  # tests/, for fixtures.py

from fixtures import drop_last_records, grch37_bam, reads_from_region, truncated_copy  # noqa: E402

from oncopanel.reference import SliceSequence  # noqa: E402

REGION = ("chr12", 25245074, 25245595)  # KRAS exon 2 +- 200 bp
FAI = BAD.parent / "grch38_panel_masked.fa.gz.fai"
REAL = BAD.parent.parent.parent / "demo" / "real_reads" / "NA12878_BRCA1"


def _gzip_lines(path: Path, lines: list[str]) -> Path:
    with gzip.GzipFile(path, "wb", mtime=0) as out:
        out.write(("\n".join(lines) + "\n").encode() if lines else b"")
    return path


def _lines(path: Path) -> list[str]:
    with gzip.open(path, "rt") as fh:
        return fh.read().splitlines()


def fastq_cases(d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    good1, good2 = reads_from_region(d / "good", *REGION, n_pairs=200, seed=7)
    big1, _ = reads_from_region(d / "big", *REGION, n_pairs=2000, seed=8)  # big enough to truncate mid-stream
    truncated_copy(big1, d / "truncated_R1.fastq.gz", 0.5)
    big1.unlink()
    (d / "big_R2.fastq.gz").rename(d / "truncated_mate_R2.fastq.gz")  # in step with R1 until R1's data ends
    data = bytearray(good1.read_bytes())
    data[40:60] = b"\x00" * 20  # inside the deflate stream
    (d / "corrupt_R1.fastq.gz").write_bytes(bytes(data))
    lines = _lines(good1)
    qual = list(lines)
    qual[7] = qual[7][:-3]  # record 2: quality three bases short of its sequence
    _gzip_lines(d / "qualshort_R1.fastq.gz", qual)
    drop_last_records(good2, d / "short_R2.fastq.gz", 3)  # R2 has 197 reads, R1 200
    renamed = _lines(good2)
    renamed[4 * 9] = renamed[4 * 9].replace("@SIM", "@OTHER", 1)  # mate 10 named differently in R2
    _gzip_lines(d / "renamed_R2.fastq.gz", renamed)
    noat = list(lines)
    noat[0] = noat[0][1:]  # record 1 header without its '@'
    _gzip_lines(d / "noheader_R1.fastq.gz", noat)
    _gzip_lines(d / "empty_R1.fastq.gz", [])
    _gzip_lines(d / "empty_R2.fastq.gz", [])
    # Each case its own mate file: one file under two samples of a sheet is refused (gzip names it, so each mate
    # file's bytes differ too, and the checksum check sees no duplicate).
    mates2, mates1 = _lines(good2), lines
    for case in ("corrupt", "qualshort", "noheader", "missing", "junk", "pad"):
        _gzip_lines(d / f"{case}_mate_R2.fastq.gz", mates2)
    _gzip_lines(d / "renamed_mate_R1.fastq.gz", mates1)
    raw = good1.read_bytes()
    (d / "junk_R1.fastq.gz").write_bytes(raw + b"GATTACA\n")  # bytes after the gzip member
    (d / "pad_R1.fastq.gz").write_bytes(raw + b"\x00" * 4096)  # zero padding, as some transfer tools leave
    for mate in (1, 2):  # real HiSeq reads (NA12878) re-encoded Phred+64, as older Illumina pipelines wrote them
        with gzip.open(REAL / f"BRCA1_R{mate}.fastq.gz", "rt") as fh:
            real = [next(fh).rstrip("\n") for _ in range(4 * 200)]
        real[3::4] = ["".join(chr(ord(c) + 31) for c in q) for q in real[3::4]]
        _gzip_lines(d / f"phred64_R{mate}.fastq.gz", real)
    # R1 delivered twice under two samples' names (same bytes, other paths); their R2s differ in the gzip header
    r1 = gzip.compress(("\n".join(_lines(good1)) + "\n").encode(), mtime=0)
    for mtime, copy in enumerate(("dup_a", "dup_b")):
        (d / f"{copy}_R1.fastq.gz").write_bytes(r1)
        (d / f"{copy}_R2.fastq.gz").write_bytes(gzip.compress(("\n".join(mates2) + "\n").encode(), mtime=mtime))


def _fai_header() -> dict:
    rows = [line.split("\t") for line in FAI.read_text().splitlines() if line]
    return {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": r[0], "LN": int(r[1])} for r in rows]}


def grch38_unindexed_bam(path: Path, n_pairs: int = 200, seed: int = 9) -> Path:
    """Error-free proper pairs over REGION, coordinate-sorted, GRCh38 header, and deliberately no index."""
    chrom, start0, end = REGION
    seq = SliceSequence().fetch(chrom, start0, end)
    rng = random.Random(seed)
    header = _fai_header()
    tid = [s["SN"] for s in header["SQ"]].index(chrom)
    reads = []
    for i in range(n_pairs):
        s = rng.randrange(0, len(seq) - 220)
        frag = seq[s : s + 220]
        for first in (True, False):
            pos = start0 + s + (0 if first else 120)
            reads.append((pos, i, first, frag[:100] if first else frag[120:]))
    reads.sort()
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for pos, i, first, bases in reads:
            a = pysam.AlignedSegment(out.header)
            a.query_name = f"GRCH38:{i}"
            a.flag = 0x1 | 0x2 | (0x40 | 0x20 if first else 0x80 | 0x10)
            a.reference_id = a.next_reference_id = tid
            a.reference_start = pos
            a.next_reference_start = pos + 120 if first else pos - 120
            a.template_length = 220 if first else -220
            a.query_sequence, a.cigarstring, a.mapping_quality = bases, "100M", 60
            a.query_qualities = pysam.qualitystring_to_array("I" * 100)
            out.write(a)
    return path


def bam_cases(d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    grch38_unindexed_bam(d / "grch38_noindex.bam")
    grch37_bam(d / "grch37.bam")
    whole = d / "grch37.bam"
    (d / "truncated.bam").write_bytes(whole.read_bytes()[:-28])  # the BGZF end-of-file block cut off
    with pysam.AlignmentFile(str(d / "nosq.bam"), "wb", header={"HD": {"VN": "1.6"}}) as out:
        a = pysam.AlignedSegment(out.header)
        a.query_name, a.flag, a.query_sequence = "u1", 4, "ACGT" * 10
        a.query_qualities = pysam.qualitystring_to_array("I" * 40)
        out.write(a)
    odd = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr12", "LN": 1234}]}
    with pysam.AlignmentFile(str(d / "unknown_build.bam"), "wb", header=odd):
        pass
    (d / "not_a_bam.bam").write_bytes(b"this is a text file, not a BAM\n")
    # GRCh38 renamed the Ensembl way (1, 2, ..., MT): the lengths are right, the names are not the reference's
    bare = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [
        {"SN": s["SN"].removeprefix("chr").replace("M", "MT"), "LN": s["LN"]} for s in _fai_header()["SQ"]
    ]}  # fmt: skip
    with pysam.AlignmentFile(str(d / "b37_names.bam"), "wb", header=bare):
        pass


GENERATED = ("fastq", "bam")  # subdirectories this script writes; sheets/ and vcf/ are kept as written


def main(out: Path = BAD) -> None:
    fastq_cases(out / "fastq")
    bam_cases(out / "bam")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else BAD)
