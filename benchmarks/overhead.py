"""oncopanel's own Python CPU per job of the per-sample rules (issue 21): process start, imports, Snakemake's script:
preamble and the work, measured job by job on a finished batch.

    python benchmarks/overhead.py --results /tmp/overhead_demo --configfile demo/generated/demo_config.yaml
        # the demo batch's qc_summary, sample_identity, calling_freebayes, calling_finalize and umi_consensus jobs
    python benchmarks/overhead.py --results DIR --checkout /path/to/an/older/checkout ...   # the same, older code
    python benchmarks/overhead.py --quick    # CI: the components only (python start, imports); no batch needed

How: the results directory is copied (nothing in it is touched), Snakemake re-runs those rules' jobs on the copy
(--forcerun/--until, --skip-script-cleanup, -p), then every job is run again alone, --repeats times, with its CPU
(user+sys of the process and its children, getrusage) taken from the kernel: a `shell:` job's printed command
(`python -m oncopanel.steps ...`) or a `script:` job's kept script (Snakemake's preamble + the adapter). External
tools a step runs (freebayes, bcftools) are in its CPU. Beside the jobs: a bare `python -c pass`, the imports of
each step, and the import of snakemake's script module. Markdown to stdout and $SCALE_OUT/overhead.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUT = Path(os.environ.get("SCALE_OUT", "/tmp/oncopanel-scale"))
QUICK_OUT = ROOT / "results" / "benchmarks" / "quick"
RULES = ["qc_summary", "sample_identity", "calling_freebayes", "calling_finalize", "umi_consensus"]
# what each step imports (oncopanel/steps.py), to split a job's CPU into imports and work
STEP_IMPORTS = {
    "qc_summary": "from oncopanel.qc import summarise",
    "sample_identity": "from oncopanel.sample_identity.summary import identify_sample; "
    "from oncopanel.sample_identity.criteria import load_criteria",
    "calling_freebayes": "from oncopanel.calling.run import call_raw",
    "calling_finalize": "import oncopanel.calling.run, oncopanel.calling.vcf, oncopanel.calling.pon, "
    "oncopanel.calling.background, oncopanel.hotspots, oncopanel.panels",
    "umi_consensus": "import oncopanel.umi.bam, oncopanel.umi.settings, oncopanel.hotspots",
}


def cpu_of(argv: list[str], cwd: Path | None = None) -> float:
    """User+sys CPU seconds of one command and its children (it runs alone: the children's rusage grows by it)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"{shlex.join(argv)[:300]} failed:\n{proc.stderr[-2000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_cpu(argv: list[str], repeats: int, cwd: Path | None = None) -> float:
    return statistics.median(cpu_of(argv, cwd) for _ in range(repeats))


def components(python: str, repeats: int) -> list[tuple[str, float]]:
    rows = [("python start (`python -c pass`)", median_cpu([python, "-c", "pass"], repeats)),
            ("`import snakemake.script` (script:'s preamble, before unpickling)",
             median_cpu([python, "-c", "import snakemake.script"], repeats)),
            ("`import oncopanel.steps`", median_cpu([python, "-c", "import oncopanel.steps"], repeats))]  # fmt: skip
    rows += [(f"imports of {step}", median_cpu([python, "-c", code], repeats)) for step, code in STEP_IMPORTS.items()]
    return rows


def rerun(checkout: Path, results: Path, configfiles: list[str], rules: list[str]) -> str:
    """Snakemake re-runs the rules' jobs on the copy, printing shell commands and keeping script: files."""
    shutil.rmtree(checkout / ".snakemake" / "scripts", ignore_errors=True)
    cmd = [str(BIN / "snakemake"), "--snakefile", "workflow/Snakefile", "--configfile", "config/config.yaml",
           *configfiles, "--config", f"results={results}", "--cores", "1", "-p", "--skip-script-cleanup",
           "--forcerun", *rules, "--until", *rules]  # fmt: skip
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}", SLURM_CONF="/dev/null")
    proc = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit((proc.stdout + proc.stderr)[-4000:])
    return proc.stdout + proc.stderr


def jobs(checkout: Path, log: str) -> dict[str, list[list[str]]]:
    """{step: [argv of each job]}: printed `python -m oncopanel.steps` commands and kept script: files."""
    found: dict[str, list[list[str]]] = defaultdict(list)
    for line in log.splitlines():
        if " -m oncopanel.steps " in line:
            argv = shlex.split(line.strip().removeprefix("set -euo pipefail; "))
            found[argv[argv.index("oncopanel.steps") + 1]].append(argv)
    for script in sorted((checkout / ".snakemake" / "scripts").glob("tmp*.py")):
        step = script.name.split(".", 1)[1].removesuffix(".py")
        if step in RULES:
            found[step].append([sys.executable, str(script)])
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, help="a finished batch's results directory (only read)")
    ap.add_argument("--configfile", nargs="*", default=[], help="the batch's config files besides config/config.yaml")
    ap.add_argument("--checkout", type=Path, default=ROOT, help="the code to measure (default: this one)")
    ap.add_argument("--rules", nargs="*", default=RULES)
    ap.add_argument("--repeats", type=int, default=3, help="runs of each job alone; the median is reported")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    lines = [f"Command: `python benchmarks/overhead.py {' '.join(sys.argv[1:])}` (checkout {args.checkout})", "",
             "| component | CPU s |", "|---|---:|"]  # fmt: skip
    lines += [f"| {name} | {cpu:.3f} |" for name, cpu in components(sys.executable, 1 if args.quick else 5)]
    if not args.quick:
        if args.results is None:
            raise SystemExit("--results DIR (a finished batch) is needed, or --quick")
        tmp = Path(tempfile.mkdtemp(prefix="oncopanel-overhead-"))
        try:
            copy = tmp / "results"
            shutil.copytree(args.results, copy, symlinks=True)
            for lock in (".oncopanel-run.lock", ".oncopanel-run.json"):
                (copy / lock).unlink(missing_ok=True)
            log = rerun(args.checkout.resolve(), copy, args.configfile, args.rules)
            found = jobs(args.checkout.resolve(), log)
            lines += ["", "| rule | jobs | how | CPU s per job (median over jobs) | min | max |",
                      "|---|---:|---|---:|---:|---:|"]
            for step in args.rules:
                if not found.get(step):
                    continue
                cpus = [median_cpu(argv, args.repeats, args.checkout) for argv in found[step]]
                how = "oncopanel.steps" if "oncopanel.steps" in found[step][0] else "script:"
                lines.append(f"| {step} | {len(cpus)} | {how} | {statistics.median(cpus):.3f} | {min(cpus):.3f} | "
                             f"{max(cpus):.3f} |")  # fmt: skip
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    text = "\n".join(lines) + "\n"
    print(text)
    out = QUICK_OUT if args.quick else OUT
    out.mkdir(parents=True, exist_ok=True)
    (out / "overhead.md").write_text(text)


if __name__ == "__main__":
    main()
