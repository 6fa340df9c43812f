"""Reference genome: the panel-masked GRCh38 build, sequence access, and build checks of BAM/VCF headers."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from oncopanel import paths
from oncopanel.errors import InputError

LINE_WIDTH = 60


@dataclass(frozen=True)
class Slice:
    """A stretch of real GRCh38 sequence carried by the embedded reference (0-based, half-open)."""

    chrom: str
    start0: int
    end: int
    contig: str  # its name in the slices FASTA, e.g. "chr17:43024295-43217981"
    gene: str
    strand: str


def read_chromosome_lengths(path: Path | None = None) -> dict[str, dict[str, int]]:
    """{build: {chrom: length}} from the shipped table."""
    path = path or paths.ANNOTATION / "reference" / "chromosome_lengths.tsv"
    builds: dict[str, dict[str, int]] = {}
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        build, chrom, length = line.split("\t")
        builds.setdefault(build, {})[chrom] = int(length)
    return builds


def read_slices(bed: Path | None = None) -> list[Slice]:
    bed = bed or paths.ANNOTATION / "reference" / "grch38_panel10_slices.bed"
    out = []
    for line in bed.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        chrom, start0, end, contig, gene, _lrg, _ng, strand = line.split("\t")
        out.append(Slice(chrom, int(start0), int(end), contig, gene, strand))
    return out


def read_fasta(path: Path) -> dict[str, str]:
    """A small plain FASTA into memory (the slices file is 2 MB)."""
    seqs: dict[str, list[str]] = {}
    name = None
    with open(path) as fh:
        for line in fh:
            line = line.rstrip()
            if line.startswith(">"):
                name = line[1:].split()[0]
                seqs[name] = []
            elif name is not None:
                seqs[name].append(line.upper())
    return {k: "".join(v) for k, v in seqs.items()}


class SliceSequence:
    """GRCh38 sequence access over the embedded slices, in real chromosome coordinates.

    Raises InputError outside the slices rather than inventing N: callers must know they left the panel.
    """

    def __init__(self, fasta: Path | None = None, bed: Path | None = None):
        fasta = fasta or paths.ANNOTATION / "reference" / "grch38_panel10_slices.fa"
        seqs = read_fasta(fasta)
        self._slices = [(s, seqs[s.contig]) for s in read_slices(bed)]

    def fetch(self, chrom: str, start0: int, end: int) -> str:
        for s, seq in self._slices:
            if s.chrom == chrom and s.start0 <= start0 and end <= s.end:
                return seq[start0 - s.start0 : end - s.start0]
        raise InputError(f"{chrom}:{start0 + 1}-{end} lies outside the embedded GRCh38 panel loci")


class FastaSequence:
    """Sequence access over an indexed (optionally bgzipped) FASTA such as a full GRCh38."""

    def __init__(self, path: Path | str):
        import pysam

        self._fa = pysam.FastaFile(str(path))

    def fetch(self, chrom: str, start0: int, end: int) -> str:
        return self._fa.fetch(chrom, start0, end).upper()


def open_sequence(path: Path | str | None = None) -> SliceSequence | FastaSequence:
    """The slices by default (fast, in memory); an indexed FASTA when a path is given."""
    return SliceSequence() if path is None else FastaSequence(path)


def masked_chromosomes(
    slices: Iterable[Slice], lengths: dict[str, int]
) -> Iterable[tuple[str, list[Slice], int]]:
    """Yield (chrom, its slices in order, full length) for each chromosome carrying a slice.

    Chromosomes are emitted in GRCh38 karyotype order at their full length so @SQ lines match a real GRCh38.
    """
    slices = list(slices)
    for chrom, length in lengths.items():
        mine = sorted((s for s in slices if s.chrom == chrom), key=lambda s: s.start0)
        if not mine:
            continue
        yield chrom, mine, length


def write_masked_reference(out_fa_gz: Path, threads: int = 2) -> dict[str, str]:
    """Write the panel-masked GRCh38 (bgzip + .fai + .gzi). Returns {chrom: md5 of the uppercase sequence}.

    Deterministic: the md5s (the SAM M5 tag) are the reference's identity; the bgzip bytes may vary with zlib.
    """
    seqs = read_fasta(paths.ANNOTATION / "reference" / "grch38_panel10_slices.fa")
    lengths = read_chromosome_lengths()["GRCh38"]
    out_fa_gz.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_fa_gz.with_name(out_fa_gz.name + ".tmp")
    md5s: dict[str, str] = {}
    with open(tmp, "wb") as out:
        proc = subprocess.Popen(["bgzip", "-@", str(threads), "-c"], stdin=subprocess.PIPE, stdout=out)
        assert proc.stdin is not None
        for chrom, mine, length in masked_chromosomes(read_slices(), lengths):
            md5 = hashlib.md5()
            proc.stdin.write(f">{chrom}\n".encode())
            pos = 0
            pieces: list[tuple[int, int, str]] = [(s.start0, s.end, seqs[s.contig]) for s in mine]
            pieces.append((length, length, ""))
            buf = bytearray()
            for start0, end, seq in pieces:
                buf += b"N" * (start0 - pos) + seq.encode()
                pos = end
                # flush whole lines to keep memory bounded
                cut = len(buf) - len(buf) % LINE_WIDTH
                for i in range(0, cut, LINE_WIDTH):
                    line = bytes(buf[i : i + LINE_WIDTH])
                    md5.update(line)
                    proc.stdin.write(line + b"\n")
                del buf[:cut]
            if buf:
                md5.update(bytes(buf))
                proc.stdin.write(bytes(buf) + b"\n")
            md5s[chrom] = md5.hexdigest()
        proc.stdin.close()
        if proc.wait() != 0:
            raise RuntimeError("bgzip failed while writing the masked reference")
    tmp.replace(out_fa_gz)
    subprocess.run(["samtools", "faidx", str(out_fa_gz)], check=True)
    return md5s


def identify_build(sq: dict[str, int]) -> str:
    """'GRCh38', 'GRCh37' or 'unknown' from @SQ names and lengths (any chromosome present must match)."""
    builds = read_chromosome_lengths()
    hg19 = {"chr" + k.replace("MT", "M"): v for k, v in builds["GRCh37"].items()}
    candidates = {"GRCh38": builds["GRCh38"], "GRCh37": builds["GRCh37"], "GRCh37 (hg19)": hg19}
    for build, table in candidates.items():
        shared = [c for c in sq if c in table]
        if shared and all(sq[c] == table[c] for c in shared):
            return build.split(" ")[0]
    return "unknown"


def bam_build(bam: Path) -> tuple[str, dict[str, int]]:
    """Build of a BAM from its header; names the file when the header cannot be read."""
    import pysam

    try:
        with pysam.AlignmentFile(str(bam), "rb") as fh:
            sq = {s["SN"]: int(s["LN"]) for s in fh.header.to_dict().get("SQ", [])}
    except (OSError, ValueError) as exc:
        raise InputError(f"{bam}: cannot read BAM header ({exc})") from exc
    return identify_build(sq), sq
