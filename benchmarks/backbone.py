"""Backbone costs: wall and CPU time per stage from the workflow's benchmark files, and DAG-building time.

    python benchmarks/backbone.py stages results/demo          # per-stage times of a finished run
    python benchmarks/backbone.py dag --samples 500            # `snakemake -n` time for a 500-sample sheet

    python benchmarks/backbone.py --quick [--run DIR]             # CI: dag on 20 samples, stages of DIR if given

Writes markdown to stdout and to benchmarks/latest/backbone_<mode>.md (--quick: results/benchmarks/quick/).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "latest"
QUICK_OUT = ROOT / "results" / "benchmarks" / "quick"


def stage_times(results: Path) -> str:
    """Sum of wall (s) and CPU (s) per rule over all jobs, from Snakemake's benchmark: TSVs."""
    per_rule: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for tsv in sorted((results / "benchmarks").rglob("*.tsv")):
        rule = tsv.relative_to(results / "benchmarks").parts[0].removesuffix(".tsv")
        with open(tsv) as fh:
            row = next(csv.DictReader(fh, delimiter="\t"))
        per_rule[rule]["jobs"] += 1
        per_rule[rule]["wall_s"] += float(row["s"])
        per_rule[rule]["cpu_s"] += float(row.get("cpu_time") or 0.0)
    n_samples = len(list((results / "qc").glob("*.qc.json")))
    lines = [
        f"Run: `{results}` ({n_samples} samples). Wall = sum of job wall times; CPU = user+system.",
        "",
        "| stage (rule) | jobs | wall s | CPU s | wall s per job |",
        "|---|---:|---:|---:|---:|",
    ]
    total_wall = total_cpu = 0.0
    for rule, v in sorted(per_rule.items(), key=lambda kv: -kv[1]["wall_s"]):
        total_wall += v["wall_s"]
        total_cpu += v["cpu_s"]
        lines.append(
            f"| {rule} | {int(v['jobs'])} | {v['wall_s']:.1f} | {v['cpu_s']:.1f} | {v['wall_s'] / v['jobs']:.2f} |"
        )
    lines.append(f"| **total** | | **{total_wall:.1f}** | **{total_cpu:.1f}** | |")
    return "\n".join(lines)


def dag_time(n_samples: int) -> str:
    """Time of `snakemake -n` on an n-sample sheet, before and after the per-sample input checks exist."""
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import write_sheet  # the same sheet writer the tests use
    from scale import mark_inputs_ok

    tmp = Path(tempfile.mkdtemp(prefix="oncopanel-dag-"))
    try:
        # each sample its own (empty) files: a dry run reads none, and one file never serves two samples
        rows = [
            {"sample_id": f"S{i:04d}", "patient": f"P{i:04d}", "fastq_1": tmp / f"S{i:04d}_R1.fastq.gz",
             "fastq_2": tmp / f"S{i:04d}_R2.fastq.gz"}
            for i in range(n_samples)
        ]  # fmt: skip
        for row in rows:
            row["fastq_1"].touch()
            row["fastq_2"].touch()
        sheet = write_sheet(tmp / "samples.tsv", rows)
        results = tmp / "results"
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
        cmd = [
            str(Path(sys.executable).parent / "snakemake"), "--snakefile", "workflow/Snakefile",
            "--configfile", "config/config.yaml", "--config", f"samples={sheet}", f"results={results}",
            "-n", "--quiet", "rules",
        ]  # fmt: skip
        out = []
        for label in ("fresh batch (input checks pending)", "after the input checks (full DAG)"):
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            jobs = _count_jobs(proc.stdout + proc.stderr)
            out.append(f"| {n_samples} | {label} | {elapsed:.1f} | {jobs} |")
            # Mark the input checks done (as a finished check would) so the second run sees the full DAG.
            mark_inputs_ok(results, sheet)
        header = ["| samples | state | `snakemake -n` s | jobs |", "|---:|---|---:|---:|"]
        return "\n".join(header + out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _count_jobs(text: str) -> int:
    for line in text.splitlines():
        if line.strip().startswith("total"):
            return int(line.split()[-1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI: dag on 20 samples, and stages of --run if given")
    parser.add_argument("--run", type=Path, help="--quick: a finished run's results directory for the stages table")
    sub = parser.add_subparsers(dest="mode")
    s = sub.add_parser("stages")
    s.add_argument("results", type=Path)
    d = sub.add_parser("dag")
    d.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    command = "python benchmarks/backbone.py " + " ".join(sys.argv[1:])
    if args.quick:
        QUICK_OUT.mkdir(parents=True, exist_ok=True)
        bodies = {"dag": dag_time(20)} | ({"stages": stage_times(args.run)} if args.run else {})
        for mode, body in bodies.items():
            text = f"QUICK MODE (CI smoke run, not a measurement): `{command}`\n\n{body}\n"
            (QUICK_OUT / f"backbone_{mode}.md").write_text(text)
            print(text)
        return
    if not args.mode:
        parser.error("a mode (stages, dag) or --quick is required")
    body = stage_times(args.results) if args.mode == "stages" else dag_time(args.samples)
    text = f"Command: `{command}` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)\n\n{body}\n"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"backbone_{args.mode}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
