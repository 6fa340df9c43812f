"""freebayes over windows of its contigs: the sample's reads moved to window coordinates when that is cheaper.

freebayes 1.3.6 reads every contig it calls on whole, twice (``AlleleParser::loadReferenceSequence``: once
uppercased to check its first 100 bases, once for use), from position 1 to the copy's end past the last panel gene:
~11.5 ns a base whatever the reads (BENCHMARKS.md, Scale §11). For an EGFR/KRAS sample that is 81 Mb, 0.9 CPU-s, ~95%
of its freebayes CPU at 20k read pairs; for the extended panel (BRAF at chr7:140 Mb, PIK3CA at chr3:179 Mb) 586 Mb,
7.3 CPU-s. The copy cannot start later: the BAM's coordinates are GRCh38's. So when rewriting the reads costs less
than the reference they spare, each contig's reads near the regions are written shifted to the start of a window
(the regions ± REGION_MARGIN), freebayes calls the shifted regions against the windows' own reference (rule
calling_regions writes it beside the regions, ``.window.fa`` and its offsets ``.window.tsv``), and the records
are shifted back before ``bcftools norm``. The reads freebayes sees at each region are the same ones, in the same
order, with the same bases around them; the calls are the same (tests/test_calling_window.py; the demo's raw VCFs).

Light to import (standard library; pysam inside the functions that read BAMs): rule calling_freebayes runs it as a step.
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from oncopanel.calling.shell import run_shell
from oncopanel.coverage import Target, read_targets

PathLike = Path | str

# bases beyond a target that freebayes and the reads over it reach, kept on each side of a contig's regions in its
# window (a read that starts before its window and still reaches a region stops the move: move_reads); also how far
# inside the calling copy a region must end (oncopanel.calling.run.check_reach)
REGION_MARGIN = 10_000
# measured on this project's machines (BENCHMARKS.md, Scale §11): freebayes' CPU a reference base it loads, and the
# CPU to move one read (pysam: decode, shift, write uncompressed BGZF)
REFERENCE_BASE_CPU_S = 11.5e-9
MOVE_READ_CPU_S = 5.5e-6
# the raw VCF's header says where its records were called
WINDOWS_HEADER = "##oncopanel_freebayes_windows="
# what freebayes is given when the reads are moved, in its own work directory
MOVED_BAM, MOVED_BED, MOVED_FASTA = "reads.bam", "regions.bed", "windows.fa"


def window_files(regions_fasta: PathLike) -> tuple[Path, Path]:
    """The windows' reference and offsets beside a regions reference (``X.fa`` -> ``X.window.fa``,
    ``X.window.tsv``)."""
    fa = Path(regions_fasta)
    return fa.with_suffix(".window.fa"), fa.with_suffix(".window.tsv")


def fai_lengths(fasta: PathLike) -> dict[str, int]:
    """Contig lengths from a FASTA's .fai."""
    rows = (line.split("\t") for line in Path(f"{fasta}.fai").read_text().splitlines() if line)
    return {row[0]: int(row[1]) for row in rows}


def region_windows(regions: Iterable[Target], lengths: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Each contig's window: its regions' span ± REGION_MARGIN, within the contig (in the regions' order)."""
    spans: dict[str, tuple[int, int]] = {}
    for contig, start, end in ((r.chrom, r.start, r.end) for r in regions):
        lo, hi = spans.get(contig, (start, end))
        spans[contig] = (min(lo, start), max(hi, end))
    return {c: (max(0, lo - REGION_MARGIN), min(lengths[c], hi + REGION_MARGIN)) for c, (lo, hi) in spans.items()}


def read_windows(window_tsv: PathLike) -> dict[str, tuple[int, int]]:
    rows = (line.split("\t") for line in Path(window_tsv).read_text().splitlines() if line)
    return {row[0]: (int(row[1]), int(row[2])) for row in rows}


def worth_moving(mapped_reads: int, loaded: dict[str, int], windows: dict[str, tuple[int, int]]) -> bool:
    """Whether moving the reads costs less than the reference bases freebayes would then not load."""
    spared = sum(loaded[c] - (end - start) for c, (start, end) in windows.items())
    return REFERENCE_BASE_CPU_S * spared > MOVE_READ_CPU_S * mapped_reads


def move_reads(bam_path: PathLike, windows: dict[str, tuple[int, int]], out_bam: PathLike) -> int | None:
    """Write the reads overlapping the windows with positions relative to their window (mates' too, where the mate
    lies in a window), in the BAM's order, header unchanged, and index them. A read that starts before its window
    is left out when it ends before the window's regions (freebayes fetches only reads overlapping a region); one
    that reaches them, or one from the regions that runs past the window's end, cannot be placed: None, and nothing
    usable written."""
    import pysam

    n = 0
    with pysam.AlignmentFile(str(bam_path)) as bam:
        offsets = {bam.get_tid(c): start for c, (start, _) in windows.items()}
        with pysam.AlignmentFile(str(out_bam), "wb0", template=bam) as out:
            for contig in sorted(windows, key=bam.get_tid):
                start, end = windows[contig]
                for read in bam.fetch(contig, start, end):
                    if read.reference_start < start:
                        if (read.reference_end or start) <= start + REGION_MARGIN:
                            continue
                        return None
                    if (read.reference_end or 0) > end and read.reference_start < end - REGION_MARGIN:
                        return None
                    read.reference_start -= start
                    mate = offsets.get(read.next_reference_id)
                    if mate is not None and read.next_reference_start >= mate:
                        read.next_reference_start -= mate
                    out.write(read)
                    n += 1
    pysam.index(str(out_bam))
    return n


def freebayes_pipeline(
    bam: PathLike, regions_bed: PathLike, options: Sequence[str], fb_fasta: PathLike, reference: PathLike,
    out_vcf_gz: PathLike,
) -> str:  # fmt: skip
    """freebayes over the regions | bcftools norm -f ref -m- (one record per allele), as one shell pipeline."""
    return " | ".join(map(shlex.join, _commands(bam, regions_bed, options, fb_fasta, reference, out_vcf_gz)))


def _commands(
    bam: PathLike, regions_bed: PathLike, options: Sequence[str], fb_fasta: PathLike, reference: PathLike,
    out_vcf_gz: PathLike,
) -> tuple[list[str], list[str]]:  # fmt: skip
    fb = ["freebayes", "-f", str(fb_fasta), "-t", str(regions_bed), *options, str(bam)]
    return fb, ["bcftools", "norm", "--no-version", "-f", str(reference), "-m-", "-Oz", "-o", str(out_vcf_gz)]


def shift_back(lines: Iterable[str], windows: dict[str, tuple[int, int]]) -> Iterable[str]:
    """freebayes' VCF lines with positions in window coordinates -> GRCh38's, and a header line naming the windows."""
    for line in lines:
        if line.startswith("#CHROM"):
            yield WINDOWS_HEADER + ",".join(f"{c}:{s + 1}-{e}" for c, (s, e) in windows.items()) + "\n"
        if line.startswith("#"):
            yield line
            continue
        contig, pos, rest = line.split("\t", 2)
        yield f"{contig}\t{int(pos) + windows[contig][0]}\t{rest}"


def call_freebayes(
    bam: PathLike, regions_bed: PathLike, options: Sequence[str], regions_fasta: PathLike, reference: PathLike,
    out_vcf_gz: PathLike, log: PathLike | None = None, move: bool | None = None,
) -> bool:  # fmt: skip
    """A sample's raw calls over its regions: freebayes | bcftools norm, on its reads moved to the windows where that
    costs less (module docstring), else on the BAM against the regions' reference. ``move`` True or False forces
    the choice (tests, benchmarks). True if the reads were moved."""
    window_fa, window_tsv = window_files(regions_fasta)
    moved = False
    if window_tsv.exists() and move is not False:
        windows = read_windows(window_tsv)
        if move is None:
            import pysam

            with pysam.AlignmentFile(str(bam)) as b:
                mapped = sum(s.mapped for s in b.get_index_statistics() if s.contig in windows)
            move = worth_moving(mapped, fai_lengths(regions_fasta), windows)
        if move:
            with tempfile.TemporaryDirectory(prefix="oncopanel-windows-") as tmp:  # TMPDIR: node-local on a cluster
                work = Path(tmp)
                if move_reads(bam, windows, work / MOVED_BAM) is not None:
                    (work / MOVED_BED).write_text("".join(
                        f"{t.chrom}\t{t.start - windows[t.chrom][0]}\t{t.end - windows[t.chrom][0]}\t{t.name}\n"
                        for t in read_targets(regions_bed)
                    ))  # fmt: skip
                    for suffix in ("", ".fai"):
                        (work / f"{MOVED_FASTA}{suffix}").symlink_to(Path(f"{window_fa}{suffix}").resolve())
                    _freebayes_shifted(work, options, windows, reference, out_vcf_gz, log)
                    moved = True
    if not moved:
        run_shell(freebayes_pipeline(bam, regions_bed, options, regions_fasta, reference, out_vcf_gz), log)
    return moved


def _freebayes_shifted(
    work: Path, options: Sequence[str], windows: dict[str, tuple[int, int]], reference: PathLike,
    out_vcf_gz: PathLike, log: PathLike | None,
) -> None:  # fmt: skip
    # freebayes runs in the work directory on its files' fixed names: the raw VCF's header (its command line) and
    # its somatic QUAL near 0, which moves with the path strings it is given, are the same at every run
    fb, norm = _commands(MOVED_BAM, MOVED_BED, options, MOVED_FASTA, reference, out_vcf_gz)
    with open(log or "/dev/null", "a") as err:
        caller = subprocess.Popen(fb, stdout=subprocess.PIPE, stderr=err, text=True, cwd=work)
        normer = subprocess.Popen(norm, stdin=subprocess.PIPE, stderr=err, text=True)
        assert caller.stdout is not None and normer.stdin is not None
        try:
            normer.stdin.writelines(shift_back(caller.stdout, windows))
        except BrokenPipeError:
            pass  # bcftools stopped reading: its exit status below says so
        finally:
            normer.stdin.close()
            caller.stdout.close()
        for proc, cmd in ((caller, fb), (normer, norm)):
            if proc.wait() != 0:
                raise subprocess.CalledProcessError(proc.returncode, cmd)
