"""Scale: DAG building and SLURM submissions for big batches, and throughput on one machine.

    python benchmarks/scale.py dag --samples 1000 [--profile]    # `snakemake -n` time and jobs, before/after checks
    python benchmarks/scale.py slurm --samples 1000              # cluster submissions with and without groups
    python benchmarks/scale.py throughput --pairs 20000,100000,300000 --samples 8 --workflow-cores 2
        # per size: ART samples (BRCA blood normals and EGFR_KRAS tumours, 2x150), benchmarks/floor.sh on them (the
        # floor: fastp | minimap2 | fixmate | sort, markdup; one sample at a time) and one snakemake run, each under
        # /usr/bin/time; the workflow's CPU and wall as ratios to the floor's, cores busy, per-rule CPU and peak
        # memory from the benchmark TSVs; inputs and results deleted per chunk (--keep keeps them)
    python benchmarks/scale.py --quick    # CI: the three modes, small; results/benchmarks/quick/scale_<mode>.md

Markdown goes to stdout and to $SCALE_OUT/scale_<mode>.md (default /tmp/oncopanel-scale); the results are
collected by hand, with the commands, in benchmarks/latest/scale.md.
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
QUICK_OUT = ROOT / "results" / "benchmarks" / "quick"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import LOCAL_RUN_ENV, write_sheet  # noqa: E402  (the same sheet writer the tests use)

# The rules whose work is oncopanel's own Python; the rest run external tools (fastp, minimap2, samtools, ...;
# calling/pon, in runs before issue 21 removed it, was freebayes over each normal).
ONCOPANEL_RULES = {
    "inputs", "targets", "bam_qc", "qc_summary", "results", "calling/finalize", "calling/background", "calling/regions",
    "cnv", "identity",
    "umi_consensus", "provenance", "batch_summary", "report_files", "multiqc_oncopanel",
}  # fmt: skip
# The rules doing the floor's work (benchmarks/floor.sh): reads to a duplicate-marked BAM.
FLOOR_RULES = {"align", "markdup"}
# KRAS exon 2 neighbourhood and EGFR exons 18-21 on the embedded reference (EGFR_KRAS panel targets)
REGIONS = [("chr12", 25244800, 25250900), ("chr7", 55173900, 55192000)]


def batch_rows(n: int, reads_dir: Path, per_batch: int = 50, normals: int = 5) -> list[dict]:
    """n samples in batches of per_batch: each batch has `normals` blood samples (BRCA) and tumours (EGFR_KRAS).
    For dry runs only: each sample names its own FASTQ pair under reads_dir (one file never serves two samples),
    left empty (mark_inputs_ok stands in for the input check)."""
    reads_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        batch, k = divmod(i, per_batch)
        sid = f"S{i:04d}"
        row = {"sample_id": sid, "patient": f"P{i:04d}", "batch": f"B{batch:02d}",
               "fastq_1": reads_dir / f"{sid}_R1.fastq.gz", "fastq_2": reads_dir / f"{sid}_R2.fastq.gz"}  # fmt: skip
        for key in ("fastq_1", "fastq_2"):
            row[key].touch()
        if k >= normals:
            row.update(specimen_type="tumour_ffpe", tumour_content=40, oncotree_code="LUAD", panels="EGFR_KRAS")
        rows.append(row)
    return rows


def snakemake_cmd(sheet: Path, results: Path, *extra: str) -> list[str]:
    return [
        str(BIN / "snakemake"), "--snakefile", "workflow/Snakefile", "--configfile", "config/config.yaml",
        "--config", f"samples={sheet}", f"results={results}", *extra,
    ]  # fmt: skip


def env(local: bool = True) -> dict:
    """PATH with the venv; for local runs also conftest.LOCAL_RUN_ENV (no 9-s wait for a stopped SLURM)."""
    return dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}", **(LOCAL_RUN_ENV if local else {}))


def mark_inputs_ok(results: Path, sheet: Path) -> None:
    """Write every batch's input check as a finished check that passed every sample would (to see the full DAG):
    each sample's status and the batch's marker (oncopanel.samplesheet.checked_marker)."""
    from oncopanel.samplesheet import checked_marker, read_sample_sheet

    (results / "inputs").mkdir(parents=True, exist_ok=True)
    batches: dict[str, list] = {}
    for s in read_sample_sheet(sheet).values():
        batches.setdefault(s.batch, []).append(s)
        (results / "inputs" / f"{s.sample_id}.inputs.json").write_text(
            json.dumps({"sample_id": s.sample_id, "status": "ok", "problems": [], "files": []})
        )
    for batch, samples in batches.items():
        Path(checked_marker(str(results), batch, samples)).write_text("{}\n")


def count_jobs(text: str) -> tuple[int, Counter]:
    """Total and per-rule job counts from a dry run's job-stats table."""
    per_rule: Counter = Counter()
    total = 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and not parts[0].endswith(":"):
            if parts[0] == "total":
                total = int(parts[1])
            else:
                per_rule[parts[0]] = int(parts[1])
    return total, per_rule


def own_copy(source: Path, target: Path, stamp: int) -> Path:
    """A copy of a gzip file with its own bytes (the header's mtime set to `stamp`; the reads are the same): the
    input check refuses one file's bytes under two samples."""
    data = bytearray(source.read_bytes())
    data[4:8] = stamp.to_bytes(4, "little")
    target.write_bytes(data)
    return target


def dag(n: int, profile: bool) -> str:
    tmp = Path(tempfile.mkdtemp(prefix="oncopanel-scale-dag-"))
    try:
        rows = batch_rows(n, tmp / "reads")
        sheet = write_sheet(tmp / "samples.tsv", rows)
        results = tmp / "results"
        out = [
            "| samples | state | `snakemake -n` wall s | CPU s | jobs | largest rules |",
            "|---:|---|---:|---:|---:|---|",
        ]
        for label in ("fresh batch (input checks pending)", "after the input checks (full DAG)"):
            log = tmp / "dry.log"
            t = timed(snakemake_cmd(sheet, results, "-n", "--quiet", "rules"), log)
            if t["rc"]:
                raise SystemExit(log.read_text()[-3000:])
            total, per_rule = count_jobs(log.read_text())
            top = ", ".join(f"{r} {c}" for r, c in per_rule.most_common(4))
            out.append(f"| {n} | {label} | {t['wall_s']:.1f} | {t['cpu_s']:.1f} | {total} | {top} |")
            mark_inputs_ok(results, sheet)
        bare = bare_dag(tmp / "bare", n, jobs_per_sample=round(total / n))
        out.append(f"| {n} | Snakemake alone: {bare['jobs']} jobs of a bare workflow ({round(total / n)} chained "
                   f"rules a sample, no input functions, no checkpoint) | {bare['wall_s']:.1f} | {bare['cpu_s']:.1f} "
                   f"| {bare['jobs']} | |")  # fmt: skip
        if profile:  # where the full-DAG dry run spends its time
            prof = tmp / "dag.prof"
            cmd = [str(BIN / "python"), "-m", "cProfile", "-o", str(prof), *snakemake_cmd(sheet, results, "-n")]
            subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True)
            out += ["", "Profile of the full-DAG dry run (top functions by cumulative, then by own time):", "", "```",
                    _profile_top(prof), "```"]  # fmt: skip
        return "\n".join(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bare_dag(tmp: Path, n: int, jobs_per_sample: int) -> dict:
    """`snakemake -n` on a bare workflow of the same size: per sample a chain of `jobs_per_sample` shell rules
    (plain wildcards, no input functions, params or checkpoints) and one rule gathering a file of each sample.
    Snakemake's own cost for a DAG of this many jobs: the floor of the full workflow's dry run."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "in").mkdir(exist_ok=True)
    for i in range(n):
        (tmp / "in" / f"S{i:05d}.fq").touch()
    k = max(1, jobs_per_sample)
    rules = [f'SAMPLES = [f"S{{i:05d}}" for i in range({n})]',
             f'rule all:\n    input: expand("r/{{s}}.{k}", s=SAMPLES), "r/summary"',
             'rule summary:\n    input: expand("r/{s}.1", s=SAMPLES)\n    output: "r/summary"\n'
             '    shell: "touch {output}"']  # fmt: skip
    for step in range(1, k + 1):
        source = '"in/{s}.fq"' if step == 1 else f'"r/{{s}}.{step - 1}"'
        rules.append(f'rule step{step}:\n    input: {source}\n    output: "r/{{s}}.{step}"\n'
                     f'    log: "logs/{{s}}.{step}.log"\n    threads: 1\n    shell: "touch {{output}}"')  # fmt: skip
    (tmp / "Snakefile").write_text("\n".join(rules) + "\n")
    log = tmp / "dry.log"
    t = timed([str(BIN / "snakemake"), "-n", "--quiet", "rules", "--cores", "1", "--directory", str(tmp),
               "--snakefile", str(tmp / "Snakefile")], log)  # fmt: skip
    if t["rc"]:
        raise SystemExit(log.read_text()[-3000:])
    return {**t, "jobs": count_jobs(log.read_text())[0]}


def _profile_top(prof: Path, n: int = 25) -> str:
    import io
    import pstats

    buf = io.StringIO()
    stats = pstats.Stats(str(prof), stream=buf)
    stats.sort_stats("cumulative").print_stats(n)
    stats.sort_stats("tottime").print_stats(n)  # where the time is spent, not only under what
    keep = [line for line in buf.getvalue().splitlines() if re.match(r"\s*\d", line) or "ncalls" in line]
    return "\n".join(keep)


# Rules Snakemake runs on the submitting host, never as cluster jobs (localrules; `all` has no action).
LOCAL_RULES = {"all", "panel_targets", "calling_regions"}
PROFILE = ROOT / "workflow/profiles/slurm"
# Rules defined once per batch (check_inputs_B1, results_B1, ...) are counted under one name.
PER_BATCH_RULES = ("check_inputs", "results")


def profile_without_groups(dest: Path) -> Path:
    """A copy of the slurm profile with its groups:/group-components: settings removed."""
    keep, skipping = [], False
    for line in (PROFILE / "config.yaml").read_text().splitlines():
        if line.startswith(("groups:", "group-components:")):
            skipping = True
            continue
        if skipping and (line.startswith(" ") or not line.strip()):
            continue
        skipping = False
        keep.append(line)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.yaml").write_text("\n".join(keep) + "\n")
    return dest


def submissions(sheet: Path, results: Path, profile: Path, *extra: str) -> Counter:
    """Cluster submissions of a dry run with a SLURM profile: one per group job ("group:NAME") and one per job
    outside any group ("rule:NAME"); local rules excluded."""
    cmd = snakemake_cmd(sheet, results, "-n", "--workflow-profile", str(profile),
                        "--default-resources", "slurm_partition=oncopanel", *extra)  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError((proc.stdout + proc.stderr)[-3000:])
    counts: Counter = Counter()
    for line in (proc.stdout + proc.stderr).splitlines():
        if m := re.match(r"(?:\[[^]]*\] )?Group job (\S+)", line):
            counts[f"group:{m.group(1)}"] += 1
        elif (m := re.match(r"(?:local)?(?:rule|checkpoint) (\w+):$", line)) and m.group(1) not in LOCAL_RULES:
            name = next((f"{r}_{{batch}}" for r in PER_BATCH_RULES if m.group(1).startswith(f"{r}_")), m.group(1))
            counts[f"rule:{name}"] += 1
    return counts


def batch_submissions(n: int, tmp: Path, per_batch: int = 50, normals: int = 5) -> dict[str, Counter]:
    """Submissions of an n-sample batch, grouped and ungrouped: the input checks (first DAG) plus everything the
    full DAG holds once they are done."""
    rows = batch_rows(n, tmp / "reads", per_batch, normals)
    sheet = write_sheet(tmp / "samples.tsv", rows)
    plain = profile_without_groups(tmp / "profile_nogroups")
    out = {}
    for label, profile in (("grouped", PROFILE), ("ungrouped", plain)):
        results = tmp / f"results_{label}"
        fresh = submissions(sheet, results, profile)
        mark_inputs_ok(results, sheet)
        full = submissions(sheet, results, profile)
        full["rule:check_inputs_{batch}"] = fresh["rule:check_inputs_{batch}"]
        out[label] = full
    return out


def slurm(n: int) -> str:
    tmp = Path(tempfile.mkdtemp(prefix="oncopanel-scale-slurm-"))
    try:
        start = time.perf_counter()
        counts = batch_submissions(n, tmp)
        elapsed = time.perf_counter() - start
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    keys = sorted(set(counts["grouped"]) | set(counts["ungrouped"]), key=lambda k: -counts["ungrouped"][k])
    lines = [
        f"{n} samples in batches of 50 (5 blood normals + 45 FFPE tumours each); dry runs with "
        f"`--workflow-profile workflow/profiles/slurm` as it is (groups) and with its groups removed "
        f"({elapsed:.0f} s for all four).",
        "",
        "| submitted as | without groups | with groups |",
        "|---|---:|---:|",
    ]
    lines += [f"| {k} | {counts['ungrouped'][k]} | {counts['grouped'][k]} |" for k in keys]
    lines.append(
        f"| **total cluster submissions** | **{sum(counts['ungrouped'].values())}** | "
        f"**{sum(counts['grouped'].values())}** |"
    )
    return "\n".join(lines)


def timed(cmd: list[str], log: Path, extra_env: dict | None = None, **kw) -> dict:
    """Run under /usr/bin/time -v: wall s, CPU s (user+system of the whole process tree), max RSS."""
    with open(log, "w") as fh:
        run_env = dict(env(), **(extra_env or {}))
        proc = subprocess.Popen(["/usr/bin/time", "-v", *cmd], cwd=ROOT, env=run_env, stdout=fh, stderr=fh, **kw)
        own_cpu = 0.0  # CPU of the top process itself (for snakemake: DAG, scheduling, bookkeeping), polled
        tick = os.sysconf("SC_CLK_TCK")
        while proc.poll() is None:
            try:
                child = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()[0]
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
                own_cpu = (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError):
                pass
            time.sleep(0.5)
    text = log.read_text()

    def field(name: str) -> str:
        return re.search(rf"{re.escape(name)}: (.+)", text).group(1).strip()

    h, m, s = ["0", *field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")][-3:]
    return {
        "rc": proc.returncode, "wall_s": int(h) * 3600 + int(m) * 60 + float(s),
        "cpu_s": float(field("User time (seconds)")) + float(field("System time (seconds)")),
        "max_rss_mb": int(field("Maximum resident set size (kbytes)")) / 1024,
        "top_process_cpu_s": own_cpu,
    }  # fmt: skip


def rule_times(results: Path) -> dict[str, dict[str, float]]:
    """Per rule (benchmark sub-directory): jobs, summed wall s and CPU s, and the largest max_rss (MB) of one job,
    from the benchmark: TSVs."""
    per_rule: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for tsv in sorted((results / "benchmarks").rglob("*.tsv")):
        parts = tsv.relative_to(results / "benchmarks").parts
        rule = "/".join(parts[:-1]) if len(parts) > 1 else parts[0].removesuffix(".tsv")
        rule = "calling/plain_reference" if parts == ("calling", "plain_reference.tsv") else rule
        rule = "calling/pon" if rule.startswith("calling/pon") else rule
        with open(tsv) as fh:
            row = next(csv.DictReader(fh, delimiter="\t"))
        per_rule[rule]["jobs"] += 1
        per_rule[rule]["wall_s"] += float(row["s"])
        per_rule[rule]["cpu_s"] += float(row.get("cpu_time") or 0.0)
        rss = row.get("max_rss") or "0"
        per_rule[rule]["max_rss_mb"] = max(per_rule[rule]["max_rss_mb"], float(rss) if rss != "NA" else 0.0)
    return {k: dict(v) for k, v in per_rule.items()}


# Sample kinds of a throughput batch, alternating: a BRCA blood normal, then an EGFR_KRAS FFPE tumour.
SAMPLE_KINDS = (
    {"specimen_type": "blood_germline", "oncotree_code": "BREAST", "panels": "BRCA"},
    {"specimen_type": "tumour_ffpe", "tumour_content": 40, "oncotree_code": "LUAD", "panels": "EGFR_KRAS"},
)


def make_samples(d: Path, n: int, pairs: int, seed0: int, unique: int = 0, per_batch: int = 50) -> list[dict]:
    """n samples simulated with ART (2x150) over their panel's targets, ~`pairs` read pairs each, one seed each,
    in batches of `per_batch`, alternating BRCA blood normals and EGFR_KRAS FFPE tumours. unique > 0: only that
    many read sets are simulated and the n samples cycle through them (every sample is still processed on its
    own; this spares ART's seconds per sample on long runs)."""
    from oncopanel.panels import genes_for, target_bed_rows
    from oncosim.reads import planned_pairs, simulate_sample

    regions = [target_bed_rows(genes_for([kind["panels"]]), 20) for kind in SAMPLE_KINDS]
    depths = [pairs * 100 / planned_pairs(r, 100) for r in regions]  # pairs grow linearly with depth
    d.mkdir(parents=True, exist_ok=True)
    count = min(n, unique + unique % 2) if unique else n  # even: sample i and read set i % count share a kind
    reads = [simulate_sample(d / f"R{seed0 + i:05d}", regions[i % 2], [], depths[i % 2], seed0 + i)
             for i in range(count)]  # fmt: skip
    rows = []
    for i in range(n):
        r1, r2 = reads[i % count]
        if i >= len(reads):  # a cycled read set: the sample's own copy (one file never serves two samples)
            r1, r2 = (own_copy(r, d / f"T{seed0 + i:05d}_R{m}.fastq.gz", i) for m, r in ((1, r1), (2, r2)))
        rows.append({"sample_id": f"T{seed0 + i:05d}", "patient": f"P{seed0 + i:05d}",
                     "batch": f"B{seed0 // 1000:02d}x{i // per_batch:02d}", **SAMPLE_KINDS[i % 2],
                     "fastq_1": r1, "fastq_2": r2})  # fmt: skip
    return rows


def fastq_pairs(path: Path) -> int:
    import gzip

    with gzip.open(path, "rb") as fh:
        return sum(1 for _ in fh) // 4


def fastp_extra() -> str:
    """config.yaml's fastp.extra: the floor trims as the workflow does."""
    import yaml

    return yaml.safe_load((ROOT / "config/config.yaml").read_text())["fastp"]["extra"]


def throughput(
    n: int, pairs: tuple[int, ...], chunk: int, out: Path, keep: bool, cores: int = 2, floor_chunks: int = 10**6,
    scheduler: str = "", unique: int = 0,
) -> str:  # fmt: skip
    """Per size in `pairs`: n samples in chunks of `chunk`; per chunk benchmarks/floor.sh on its FASTQs (the first
    `floor_chunks` chunks), then one snakemake run with --cores `cores`, each under /usr/bin/time; inputs and
    results deleted per chunk unless `keep`."""
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    floor_env = {"FASTP_EXTRA": fastp_extra()}
    for size in pairs:
        for c0 in range(0, n, chunk):
            d = out / f"p{size}" / f"chunk{c0 // chunk}"
            t0 = time.perf_counter()
            seed0 = 1000 * (1 + c0 // chunk) + c0 % 1000
            rows = make_samples(d / "fastq", min(chunk, n - c0), size, seed0, unique)
            run = {"size": size, "samples": len(rows), "generate_s": time.perf_counter() - t0,
                   "pairs_per_sample": sum(fastq_pairs(Path(r["fastq_1"])) for r in rows) / len(rows),
                   "load_before": os.getloadavg()[0]}  # fmt: skip
            if c0 // chunk < floor_chunks:
                tsv = d / "floor_samples.tsv"
                tsv.write_text("".join(f"{r['sample_id']}\t{r['fastq_1']}\t{r['fastq_2']}\n" for r in rows))
                cmd = ["bash", "benchmarks/floor.sh", str(tsv), str(d / "floor")]
                run["floor"] = timed(cmd, d / "floor.log", extra_env=floor_env)
                if run["floor"]["rc"]:
                    raise SystemExit((d / "floor.log").read_text()[-3000:])
                if not keep:
                    shutil.rmtree(d / "floor", ignore_errors=True)
            sheet = write_sheet(d / "samples.tsv", rows)
            extra = ("--scheduler", scheduler) if scheduler else ()
            cmd = snakemake_cmd(sheet, d / f"results_c{cores}", "--cores", str(cores), "-k", "--rerun-incomplete",
                                "--quiet", *extra, "all")  # fmt: skip
            run["workflow"] = timed(cmd, d / f"snakemake_c{cores}.log")
            run["rules"] = rule_times(d / f"results_c{cores}")
            run["reports"] = len(list((d / f"results_c{cores}/reports").glob("*.pdf")))
            run["load_after"] = os.getloadavg()[0]
            runs.append(run)
            (out / "runs.json").write_text(json.dumps(runs, indent=1))
            if not keep:
                shutil.rmtree(d, ignore_errors=True)
    return throughput_table(runs, cores)


def throughput_table(runs: list[dict], cores: int) -> str:
    """Per size: the workflow against the floor (chunks where both ran), then per rule CPU and peak memory."""
    sizes = sorted({r["size"] for r in runs})
    if any("floor" in r for r in runs):
        lines = [
            f"Workflow `--cores {cores}` against benchmarks/floor.sh (one sample at a time) on the same FASTQs; CPU = "
            "user+sys of the whole process tree (/usr/bin/time); cores busy = CPU / (wall × cores). Load average "
            "before/after each chunk: " + ", ".join(f"{r['load_before']:.1f}/{r['load_after']:.1f}" for r in runs),
            "",
            "| read pairs per sample | samples | floor wall s | floor CPU s | workflow wall s | workflow CPU s | "
            "of which snakemake's own process | **CPU ratio** | wall ratio | cores busy, workflow | cores busy, "
            "floor | reports |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
    else:  # --floor-chunks 0: the whole-run lines below only
        lines = [f"Workflow `--cores {cores}` (no floor run); CPU = user+sys of the whole process tree "
                 "(/usr/bin/time); cores busy = CPU / (wall × cores)."]  # fmt: skip
    for size in sizes:
        both = [r for r in runs if r["size"] == size and "floor" in r]
        if not both:
            continue
        n = sum(r["samples"] for r in both)
        fw, fc = sum(r["floor"]["wall_s"] for r in both), sum(r["floor"]["cpu_s"] for r in both)
        ww, wc = sum(r["workflow"]["wall_s"] for r in both), sum(r["workflow"]["cpu_s"] for r in both)
        own = sum(r["workflow"]["top_process_cpu_s"] for r in both)
        pairs = sum(r["pairs_per_sample"] * r["samples"] for r in both) / n
        lines.append(f"| {pairs:,.0f} | {n} | {fw:.1f} | {fc:.1f} | {ww:.1f} | {wc:.1f} | {own:.1f} | "
                     f"**{wc / fc:.2f}** | {ww / fw:.2f} | {wc / (ww * cores):.0%} | {fc / (fw * cores):.0%} | "
                     f"{sum(r['reports'] for r in both)}/{n} |")  # fmt: skip
    for size in sizes:  # the whole run, floor or not: what a batch of this many samples costs end to end
        sized = [r for r in runs if r["size"] == size]
        n, ww = sum(r["samples"] for r in sized), sum(r["workflow"]["wall_s"] for r in sized)
        wc = sum(r["workflow"]["cpu_s"] for r in sized)
        lines += ["", f"All {n} samples at ~{size:,} pairs ({len(sized)} snakemake run(s), reads made beforehand): "
                  f"workflow wall {ww:.0f} s ({ww / 60:.1f} min), CPU {wc:.0f} s ({wc / n:.2f} a sample), cores busy "
                  f"{wc / (ww * cores):.0%}"]  # fmt: skip
    for size in sizes:
        sized = [r for r in runs if r["size"] == size]
        n = sum(r["samples"] for r in sized)
        per_rule: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for r in sized:
            for rule, v in r["rules"].items():
                for k, x in v.items():
                    per_rule[rule][k] = max(per_rule[rule][k], x) if k == "max_rss_mb" else per_rule[rule][k] + x
        lines += ["", f"Per rule at ~{size:,} pairs ({n} samples; benchmark TSVs, whose sampler misses part of a "
                  "short job's CPU):", "",
                  "| rule (benchmark dir) | kind | jobs | CPU s per sample | peak memory of one job, MB |",
                  "|---|---|---:|---:|---:|"]  # fmt: skip
        totals: dict[str, float] = defaultdict(float)
        for rule, v in sorted(per_rule.items(), key=lambda kv: -kv[1]["cpu_s"]):
            kind = ("floor's work" if rule in FLOOR_RULES else
                    "oncopanel" if rule.split("/")[0] in ONCOPANEL_RULES or rule in ONCOPANEL_RULES
                    else "external tools")  # fmt: skip
            totals[kind] += v["cpu_s"]
            lines.append(f"| {rule} | {kind} | {int(v['jobs'])} | {v['cpu_s'] / n:.2f} | {v['max_rss_mb']:.0f} |")
        for kind in ("floor's work", "external tools", "oncopanel"):
            label = "oncopanel's own Python" if kind == "oncopanel" else kind
            lines.append(f"| **{label}** | | | **{totals[kind] / n:.2f}** | |")
    return "\n".join(lines)


QUICK_PAIRS = 2000  # the Makefile's backbone.py --quick reads this run: $(QUICK)/scale_run/p2000/chunk0/results_c2


def quick() -> None:
    """CI: every mode on a small scale (dag and slurm on 20 samples; throughput on 2 samples of ~2,000 pairs, a BRCA
    normal and an EGFR_KRAS tumour, against the floor; its run kept for `backbone.py --quick`), written to
    results/benchmarks/quick/scale_<mode>.md."""
    out = QUICK_OUT / "scale_run"
    shutil.rmtree(out, ignore_errors=True)
    bodies = {
        "dag": dag(20, False),
        "slurm": slurm(20),
        "throughput": throughput(2, (QUICK_PAIRS,), 2, out, keep=True),
    }
    QUICK_OUT.mkdir(parents=True, exist_ok=True)
    for mode, body in bodies.items():
        text = f"QUICK MODE (CI smoke run, not a measurement): `python benchmarks/scale.py --quick`\n\n{body}\n"
        (QUICK_OUT / f"scale_{mode}.md").write_text(text)
        print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI: all three modes, small (see quick())")
    sub = parser.add_subparsers(dest="mode")
    d = sub.add_parser("dag")
    d.add_argument("--samples", type=int, default=1000)
    d.add_argument("--profile", action="store_true")
    s = sub.add_parser("slurm")
    s.add_argument("--samples", type=int, default=1000)
    t = sub.add_parser("throughput")
    t.add_argument("--samples", type=int, default=8, help="samples per size")
    t.add_argument("--pairs", default="20000,100000,300000", help="read pairs per sample, comma-separated sizes")
    t.add_argument("--chunk", type=int, default=0, help="samples per snakemake run (default: all of them)")
    t.add_argument("--out", type=Path, default=Path("/tmp/oncopanel-scale/run"))
    t.add_argument("--keep", action="store_true", help="keep inputs and results (default: deleted per chunk)")
    t.add_argument("--workflow-cores", type=int, default=2, help="snakemake --cores")
    t.add_argument("--floor-chunks", type=int, default=10**6, help="run benchmarks/floor.sh on the first K chunks")
    t.add_argument("--scheduler", default="", help="snakemake --scheduler (default: snakemake's)")
    t.add_argument("--unique", type=int, default=0, help="simulate only this many read sets per chunk, reused")
    args = parser.parse_args()
    if args.quick:
        return quick()
    if not args.mode:
        parser.error("a mode (dag, slurm, throughput) or --quick is required")
    command = "python benchmarks/scale.py " + " ".join(sys.argv[1:])
    if args.mode == "dag":
        body = dag(args.samples, args.profile)
    elif args.mode == "slurm":
        body = slurm(args.samples)
    elif args.mode == "throughput":
        body = throughput(
            args.samples, tuple(int(p) for p in args.pairs.split(",")), args.chunk or args.samples, args.out,
            args.keep, args.workflow_cores, args.floor_chunks, args.scheduler, args.unique,
        )  # fmt: skip
    text = f"Command: `{command}` ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores)\n\n{body}\n"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"scale_{args.mode}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
