"""Coverage over a sample's panel targets: the one coverage step whose files serve the QC JSON (oncopanel.qc), copy
number (oncopanel.cnv.counts) and MultiQC (oncopanel.multiqc).

The depths come from ``samtools depth`` restricted to the targets (``-b``): one streaming pass decodes the BAM's
reads (what ``samtools view -c`` costs, ~0.04 CPU-s per 100k pairs) and counts depth only at target bases, so the
cost follows the reads and the panel, not the genome (mosdepth, used before, filled and walked a per-base array the
length of every chromosome a read touched: ~1.2-1.9 GB and 1.3-3.6 CPU-s a sample, BENCHMARKS.md "Coverage"). Its
filters are the QC's: mapping quality >= qc.min_mapping_quality (``-Q``); unmapped, secondary, QC-fail and
duplicate reads excluded (its default ``--excl-flags``); the alignments of one template counted once where they
overlap (``-s``: mates, and a supplementary part over its mate); deletions and reference skips not counted.

Files written (the formats the readers knew from mosdepth, so QC, copy number and their tests read them unchanged):

- ``{prefix}.regions.bed.gz``: chrom, start, end, name, mean depth over the target (2 decimals);
- ``{prefix}.thresholds.bed.gz``: a ``#chrom start end region <N>X...`` header, then per target the bases at depth
  >= each of qc.depth_thresholds;
- ``{prefix}.depth_distribution.tsv``: ``depth<TAB>bases`` over all target bases (each target's bases once per
  target), for MultiQC's cumulative coverage plot.
"""

from __future__ import annotations

import gzip
import subprocess
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from oncopanel.errors import InputError
from oncopanel.files import open_text

COVERAGE_TOOLS = ("samtools",)  # the tools the coverage step runs (their versions go into the job's log)


@dataclass(frozen=True)
class Target:
    """One panel target as the targets BED gives it (0-based start, end exclusive)."""

    chrom: str
    start: int
    end: int
    name: str

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass
class TargetCoverage:
    """A target's depths: the mean, and its per-base depth histogram (from which the bases at each threshold)."""

    target: Target
    mean_depth: float
    bases_at_depth: Counter = field(default_factory=Counter)  # depth -> bases of this target at exactly that depth

    def bases_ge(self, level: int) -> int:
        return sum(n for depth, n in self.bases_at_depth.items() if depth >= level)


def mean_depth(values: Sequence[int]) -> float:
    """The mean of a target's per-base depths as mosdepth computes it (depth / length summed base by base in double
    precision), so the 2-decimal means of the regions file stay the ones mosdepth wrote to the last digit: at an
    exact tie such as 73273 / 200 = 366.365 the sum of the quotients lands a little below or above the tie, as it
    did for mosdepth (sum / length would give the double nearest 366.365 and round the other way in some cases)."""
    length = float(len(values))
    mean = 0.0
    for depth in values:
        mean += depth / length
    return mean


def read_targets(bed: Path | str) -> list[Target]:
    """The targets BED (chrom, start, end, name; rule panel_targets), in its order."""
    targets = []
    with open_text(bed) as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.rstrip("\n").split("\t")
            try:
                targets.append(Target(f[0], int(f[1]), int(f[2]), f[3]))
            except (IndexError, ValueError):
                raise InputError(f"{bed}:{n}: not a targets BED row (chrom, start, end, name)") from None
    return targets


def samtools_depth_command(bam: Path | str, bed: Path | str, min_mapping_quality: int) -> list[str]:
    """``samtools depth`` over the targets with the QC's filters (module docstring). Without ``-a``: a base no
    counted read covers is not printed, and counts 0."""
    return ["samtools", "depth", "-s", "-Q", str(min_mapping_quality), "-b", str(bed), str(bam)]


def depths_by_position(lines: Iterable[str]) -> dict[str, dict[int, int]]:
    """``samtools depth`` rows (chrom, 1-based position, depth) as chrom -> position -> depth."""
    out: dict[str, dict[int, int]] = {}
    for line in lines:
        chrom, pos, depth = line.split("\t")
        per_chrom = out.get(chrom)
        if per_chrom is None:
            per_chrom = out[chrom] = {}
        per_chrom[int(pos)] = int(depth)
    return out


def target_coverage(targets: Sequence[Target], depths: dict[str, dict[int, int]]) -> list[TargetCoverage]:
    """Each target's coverage from per-base depths (a position absent from ``depths`` has depth 0)."""
    out = []
    for t in targets:
        per_chrom = depths.get(t.chrom, {})
        # 1-based positions start+1..end are the target's 0-based start..end-1
        values = [per_chrom.get(pos, 0) for pos in range(t.start + 1, t.end + 1)]
        out.append(TargetCoverage(t, mean_depth(values), Counter(values)))
    return out


def in_reference_order(targets: Sequence[Target], contigs: Sequence[str]) -> list[Target]:
    """The targets in the order mosdepth wrote them: by the BAM header's contig order, then by start (a stable sort:
    targets starting together keep the BED's order). The QC JSON lists targets in this order.

    A target on a contig the BAM's reference lacks (a reference cut to some contigs) is never dropped: it comes
    after the others, in the BED's contig order, and no read can cover it, so it counts 0 and the QC gates judge it.
    """
    rank = {contig: i for i, contig in enumerate(contigs)}
    for t in targets:
        rank.setdefault(t.chrom, len(rank))
    return sorted(targets, key=lambda t: (rank[t.chrom], t.start))


def _run(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def bam_contigs(bam: Path | str) -> list[str]:
    """The contig names of the BAM header's @SQ lines, in order (read with pysam, which the coverage step's job
    has loaded for the identity genotypes: a samtools process for the header cost more than reading it)."""
    import pysam

    with pysam.AlignmentFile(str(bam), "rb", check_sq=False) as handle:
        return list(handle.references)


def measure(bam: Path | str, bed: Path | str, min_mapping_quality: int) -> list[TargetCoverage]:
    """Run ``samtools depth`` on the BAM's targets and summarise each target, in reference order."""
    targets = in_reference_order(read_targets(bed), bam_contigs(bam))
    depths = depths_by_position(_run(samtools_depth_command(bam, bed, min_mapping_quality)).splitlines())
    return target_coverage(targets, depths)


def _write_gz(path: Path, lines: Iterable[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write("".join(f"{line}\n" for line in lines).encode())
    tmp.replace(path)


def write_regions(path: Path | str, coverage: Sequence[TargetCoverage]) -> None:
    _write_gz(Path(path), (f"{c.target.chrom}\t{c.target.start}\t{c.target.end}\t{c.target.name}\t{c.mean_depth:.2f}"
                           for c in coverage))  # fmt: skip


def write_thresholds(path: Path | str, coverage: Sequence[TargetCoverage], thresholds: Sequence[int]) -> None:
    header = "\t".join(["#chrom", "start", "end", "region", *(f"{level}X" for level in thresholds)])
    rows = ("\t".join([c.target.chrom, str(c.target.start), str(c.target.end), c.target.name,
                       *(str(c.bases_ge(level)) for level in thresholds)]) for c in coverage)  # fmt: skip
    _write_gz(Path(path), [header, *rows])


def depth_distribution(coverage: Sequence[TargetCoverage]) -> Counter:
    """Target bases at each depth, over all targets."""
    total: Counter = Counter()
    for c in coverage:
        total.update(c.bases_at_depth)
    return total


def write_distribution(path: Path | str, coverage: Sequence[TargetCoverage]) -> None:
    dist = depth_distribution(coverage)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("#depth\tbases\n" + "".join(f"{d}\t{dist[d]}\n" for d in sorted(dist)))
    tmp.replace(path)


def read_distribution(path: Path | str) -> Counter:
    """A ``depth_distribution.tsv`` as depth -> target bases at that depth."""
    dist: Counter = Counter()
    for n, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if line.startswith("#") or not line.strip():
            continue
        try:
            depth, bases = (int(x) for x in line.split("\t"))
        except ValueError:
            raise InputError(f"{path}:{n}: not a depth distribution row (depth, bases)") from None
        dist[depth] += bases
    return dist


def fraction_at_or_above(dist: Counter, depths: Iterable[int]) -> dict[int, float]:
    """The fraction of target bases at depth >= each of ``depths`` (the cumulative coverage curve)."""
    total = sum(dist.values())
    levels = sorted(dist, reverse=True)
    out: dict[int, float] = {}
    above, i = 0, 0
    for x in sorted(set(depths), reverse=True):  # walk down the depths once, adding the bases reached
        while i < len(levels) and levels[i] >= x:
            above += dist[levels[i]]
            i += 1
        out[x] = above / total if total else 0.0
    return out


def write_coverage_files(
    prefix: str, bam: Path | str, bed: Path | str, min_mapping_quality: int, thresholds: Sequence[int]
) -> list[TargetCoverage]:
    """The coverage step: ``{prefix}.regions.bed.gz``, ``.thresholds.bed.gz`` and ``.depth_distribution.tsv``."""
    coverage = measure(bam, bed, min_mapping_quality)
    write_regions(f"{prefix}.regions.bed.gz", coverage)
    write_thresholds(f"{prefix}.thresholds.bed.gz", coverage, thresholds)
    write_distribution(f"{prefix}.depth_distribution.tsv", coverage)
    return coverage
