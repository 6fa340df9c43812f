"""Scale: DAG building and SLURM submissions for big batches, and throughput on one machine.

    python benchmarks/scale.py dag --samples 1000                 # `snakemake -n` time and jobs, before/after checks
    python benchmarks/scale.py slurm --samples 1000               # cluster submissions with and without groups:
    python benchmarks/scale.py throughput --samples 20 --pairs 40000 --cores 2 --chunk 20 --out /tmp/x
    python benchmarks/scale.py baseline /tmp/x/chunk0             # plain shell loop over the same inputs

Writes markdown to stdout and to benchmarks/results/scale_<mode>.md (benchmarks/results/scale.md is put together
from those by hand, with the commands).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("SCALE_OUT", "/tmp/oncopanel-scale"))  # per-mode notes; scale.md is edited by hand
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import write_sheet  # noqa: E402  (the same sheet writer the tests use)

# The rules whose work is oncopanel's own Python; the rest run external tools (fastp, minimap2, samtools, ...).
ONCOPANEL_RULES = {
    "inputs", "targets", "qc_summary", "result", "report", "calling/finalize", "calling/pon", "provenance",
    "batch_summary",
}  # fmt: skip
# KRAS exon 2 neighbourhood and EGFR exons 18-21 on the embedded reference (EGFR_KRAS panel targets)
REGIONS = [("chr12", 25244800, 25250900), ("chr7", 55173900, 55192000)]


def batch_rows(n: int, fastq: tuple[Path, Path], per_batch: int = 50, normals: int = 5) -> list[dict]:
    """n samples in batches of per_batch: each batch has `normals` blood samples (BRCA) and tumours (EGFR_KRAS)."""
    rows = []
    for i in range(n):
        batch, k = divmod(i, per_batch)
        row = {"sample_id": f"S{i:04d}", "patient": f"P{i:04d}", "batch": f"B{batch:02d}", "fastq_1": fastq[0],
               "fastq_2": fastq[1]}  # fmt: skip
        if k >= normals:
            row.update(specimen_type="tumour_ffpe", tumour_content=40, oncotree_code="LUAD", panels="EGFR_KRAS")
        rows.append(row)
    return rows


def snakemake_cmd(sheet: Path, results: Path, *extra: str) -> list[str]:
    return [
        str(BIN / "snakemake"), "--snakefile", "workflow/Snakefile", "--configfile", "config/config.yaml",
        "--config", f"samples={sheet}", f"results={results}", "--nolock", *extra,
    ]  # fmt: skip


def env() -> dict:
    return dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")


def mark_inputs_ok(results: Path, sample_ids: list[str]) -> None:
    """Write every sample's input check as a finished, passed check would (to see the full DAG)."""
    (results / "inputs").mkdir(parents=True, exist_ok=True)
    for s in sample_ids:
        (results / "inputs" / f"{s}.inputs.json").write_text(
            json.dumps({"sample_id": s, "status": "ok", "problems": [], "files": []})
        )


def count_jobs(text: str) -> tuple[int, Counter]:
    """Total and per-rule job counts from a dry run's job-stats table."""
    per_rule: Counter = Counter()
    total = 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            if parts[0] == "total":
                total = int(parts[1])
            else:
                per_rule[parts[0]] = int(parts[1])
    return total, per_rule


def demo_fastq() -> tuple[Path, Path]:
    d = ROOT / "demo/real_reads/NA12878_BRCA1"
    return d / "BRCA1_R1.fastq.gz", d / "BRCA1_R2.fastq.gz"


def dag(n: int, profile: bool) -> str:
    tmp = Path(tempfile.mkdtemp(prefix="oncopanel-scale-dag-"))
    try:
        rows = batch_rows(n, demo_fastq())
        sheet = write_sheet(tmp / "samples.tsv", rows)
        results = tmp / "results"
        out = ["| samples | state | `snakemake -n` s | jobs | largest rules |", "|---:|---|---:|---:|---|"]
        for label in ("fresh batch (input checks pending)", "after the input checks (full DAG)"):
            cmd = snakemake_cmd(sheet, results, "-n", "--quiet", "rules")
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            if proc.returncode:
                raise SystemExit(proc.stderr[-3000:])
            total, per_rule = count_jobs(proc.stdout + proc.stderr)
            top = ", ".join(f"{r} {c}" for r, c in per_rule.most_common(4))
            out.append(f"| {n} | {label} | {elapsed:.1f} | {total} | {top} |")
            mark_inputs_ok(results, [r["sample_id"] for r in rows])
        if profile:  # where the full-DAG dry run spends its time
            prof = tmp / "dag.prof"
            cmd = [str(BIN / "python"), "-m", "cProfile", "-o", str(prof), *snakemake_cmd(sheet, results, "-n")]
            subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True)
            out += ["", "Profile of the full-DAG dry run (cumulative s, top functions):", "", "```",
                    _profile_top(prof), "```"]  # fmt: skip
        return "\n".join(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _profile_top(prof: Path, n: int = 25) -> str:
    import io
    import pstats

    buf = io.StringIO()
    pstats.Stats(str(prof), stream=buf).sort_stats("cumulative").print_stats(n)
    keep = [line for line in buf.getvalue().splitlines() if re.match(r"\s*\d", line) or "ncalls" in line]
    return "\n".join(keep)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    d = sub.add_parser("dag")
    d.add_argument("--samples", type=int, default=1000)
    d.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    command = "python benchmarks/scale.py " + " ".join(sys.argv[1:])
    if args.mode == "dag":
        body = dag(args.samples, args.profile)
    text = f"Command: `{command}` ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores)\n\n{body}\n"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"scale_{args.mode}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
