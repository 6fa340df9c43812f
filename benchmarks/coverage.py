"""Coverage: CPU-seconds and peak memory of a sample's target coverage, by the way it is built, at three sizes.

    python benchmarks/coverage.py [--pairs 20000,100000,300000] [--repeats 3] [--out DIR]
    python benchmarks/coverage.py --quick     # CI: one small sample, one repeat; results/benchmarks/quick/coverage.md

For each size: a tumour-and-germline sample over the BRCA + EGFR_KRAS targets (oncosim's ART reads, 2x150), aligned
and duplicate-marked as the workflow does (minimap2 -ax sr, fixmate, sort, markdup), then each way of measuring its
targets' coverage, run whole under /usr/bin/time -v (user + sys CPU-s of the process and its children, peak RSS):

- ``mosdepth``: the former rule (``mosdepth -n --by targets --mapq 20 --thresholds 100,250,500``);
- ``samtools depth -b``: the depth pass alone (``-s -Q 20``, the BAM index over the targets), output discarded;
- ``samtools bedcov``: per-target depth sums through the index (``-Q 20 -j``; no mate-overlap correction, no
  thresholds: shown for its cost only);
- ``oncopanel.coverage``: the coverage step as the workflow runs it (Python start, samtools depth, the three files).

The table also says whether the step's regions and thresholds files equal mosdepth's (targets differing).
Markdown to stdout and to <out>/coverage.md; BAMs are kept in <out>/bams (reused on a rerun).
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
QUICK_OUT = ROOT / "results" / "benchmarks" / "quick"
MMI = ROOT / "resources" / "index" / "grch38_panel_masked.mmi"
MAPQ, THRESHOLDS = 20, (100, 250, 500)  # config/config.yaml qc.min_mapping_quality, qc.depth_thresholds


def run(cmd: list[str] | str, **kw) -> subprocess.CompletedProcess:
    shell = isinstance(cmd, str)
    return subprocess.run(["bash", "-c", f"set -euo pipefail; {cmd}"] if shell else cmd, check=True, **kw)


def targets_bed(out: Path) -> Path:
    bed = out / "BRCA+EGFR_KRAS.bed"
    if not bed.exists():
        run([str(BIN / "oncopanel"), "reference", "targets", "--panels", "BRCA,EGFR_KRAS", "--out", str(bed)],
            stdout=subprocess.DEVNULL)  # fmt: skip
    return bed


def fastq_pairs(path: Path) -> int:
    with gzip.open(path, "rb") as fh:
        return sum(1 for _ in fh) // 4


def make_bam(out: Path, bed: Path, pairs: int, seed: int = 7) -> Path:
    """A duplicate-marked, indexed BAM of about `pairs` read pairs over the targets (kept for reruns)."""
    bam = out / "bams" / f"S{pairs}.bam"
    if bam.exists() and Path(f"{bam}.bai").exists():
        return bam
    from oncosim.reads import simulate_sample

    work = out / "bams" / f"S{pairs}.work"
    work.mkdir(parents=True, exist_ok=True)
    regions = [line.split("\t")[:4] for line in bed.read_text().splitlines()]
    regions = [(c, int(s), int(e), n) for c, s, e, n in regions]
    # ART's depth -> pairs is linear: calibrate on a shallow run, then simulate the size asked for
    probe = simulate_sample(work / "probe", regions, [], 50, seed)
    depth = 50 * pairs / max(1, fastq_pairs(probe[0]))
    r1, r2 = simulate_sample(work / "reads", regions, [], depth, seed)
    rg = f"@RG\\tID:S{pairs}.L001\\tSM:S{pairs}\\tLB:S{pairs}\\tPL:ILLUMINA\\tPU:L001"
    run(f"minimap2 -ax sr -t 2 -R '{rg}' {MMI} {r1} {r2} 2> {work}/align.log | samtools fixmate -m -u - - "
        f"| samtools sort -@ 2 -m 500M -T {work}/sorttmp -u - | samtools markdup -@ 2 -T {work}/mdtmp - {bam} "
        f"2> {work}/markdup.log && samtools index {bam}")  # fmt: skip
    shutil.rmtree(work)
    return bam


def timed(cmd: str, log: Path) -> tuple[float, float]:
    """(user + sys CPU-s, peak RSS in MB) of a shell command and its children, by /usr/bin/time -v."""
    run(f"/usr/bin/time -v -o {log} bash -c {shlex.quote(cmd)}", stdout=subprocess.DEVNULL)
    text = log.read_text()
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return user + system, rss / 1024


def methods(bam: Path, bed: Path, work: Path) -> dict[str, str]:
    thresholds = ",".join(map(str, THRESHOLDS))
    step = (f"from oncopanel.coverage import write_coverage_files; "
            f"write_coverage_files('{work}/new', '{bam}', '{bed}', {MAPQ}, {list(THRESHOLDS)})")  # fmt: skip
    return {
        "mosdepth (before)": f"mosdepth -n --by {bed} --mapq {MAPQ} --thresholds {thresholds} {work}/md {bam}",
        "samtools depth -b": f"samtools depth -s -Q {MAPQ} -b {bed} {bam} > /dev/null",
        "samtools bedcov": f"samtools bedcov -Q {MAPQ} -j {bed} {bam} > /dev/null",
        "oncopanel.coverage (after)": f"{sys.executable} -c {shlex.quote(step)}",
    }


def lines(path: Path) -> list[str]:
    with gzip.open(path, "rt") as fh:
        return fh.read().splitlines()


def differing_targets(work: Path) -> str:
    """Targets whose regions (mean) or thresholds rows differ between mosdepth's files and the step's."""
    md, new = lines(work / "md.regions.bed.gz"), lines(work / "new.regions.bed.gz")
    regions = sum(a != b for a, b in zip(md, new, strict=True))
    md, new = lines(work / "md.thresholds.bed.gz")[1:], lines(work / "new.thresholds.bed.gz")[1:]
    thresholds = sum(a.split("\t")[4:] != b.split("\t")[4:] for a, b in zip(md, new, strict=True))
    return f"{regions} / {thresholds} of {len(new)}"


def measure(sizes: list[int], repeats: int, out: Path) -> str:
    bed = targets_bed(out)
    target_bases = sum(int(e) - int(s) for _, s, e, *_ in (ln.split("\t") for ln in bed.read_text().splitlines()))
    rows = []
    for pairs in sizes:
        bam = make_bam(out, bed, pairs)
        n_reads = int(run(["samtools", "view", "-c", str(bam)], capture_output=True, text=True).stdout)
        work = out / f"work{pairs}"
        work.mkdir(exist_ok=True)
        for name, cmd in methods(bam, bed, work).items():
            cpu, rss = zip(*(timed(cmd, work / "time.txt") for _ in range(repeats)), strict=True)
            rows.append((f"{n_reads // 2:,}", name, statistics.median(cpu), max(rss)))
        rows.append((f"{n_reads // 2:,}", "targets differing from mosdepth (regions / thresholds)",
                     differing_targets(work), None))  # fmt: skip
    text = [
        f"Targets: BRCA + EGFR_KRAS, {target_bases:,} bases; MAPQ >= {MAPQ}; median of {repeats} runs (CPU), "
        "max (RSS).",
        "",
        "| read pairs | coverage by | CPU-s (user+sys) | peak RSS (MB) |",
        "|---:|---|---:|---:|",
    ]
    for pairs, name, cpu, rss in rows:
        if rss is None:
            text.append(f"| {pairs} | {name} | {cpu} | |")
        else:
            text.append(f"| {pairs} | {name} | {cpu:.2f} | {rss:.0f} |")
    return "\n".join(text) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI: one small sample, one repeat")
    parser.add_argument("--pairs", default="20000,100000,300000", help="comma-separated read-pair counts")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("COVERAGE_OUT", "/tmp/oncopanel-coverage")))
    args = parser.parse_args()
    if args.quick:
        sizes, repeats, out = [5000], 1, QUICK_OUT / "coverage"
    else:
        sizes, repeats, out = [int(p) for p in args.pairs.split(",")], args.repeats, args.out
    out.mkdir(parents=True, exist_ok=True)
    text = measure(sizes, repeats, out)
    (out.parent if args.quick else out).joinpath("coverage.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
