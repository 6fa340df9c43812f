"""oncopanel's own Python CPU per job of the per-sample rules (issue 21): process start, imports, Snakemake's script:
preamble and the work, measured job by job on a finished batch.

    python benchmarks/overhead.py --results /tmp/overhead_demo --configfile demo/generated/demo_config.yaml
        # the demo batch's bam_qc, qc_summary, calling_freebayes, calling_finalize and umi_consensus jobs
    python benchmarks/overhead.py --results DIR --checkout /path/to/an/older/checkout ...   # the same, older code
    python benchmarks/overhead.py --log RUN.log    # the step commands a scratch run printed (-p), re-run in place
    python benchmarks/overhead.py --log RUN.log --as-script e79632c   # the same jobs as that revision's script:s
    python benchmarks/overhead.py --log AFTER.log --before BEFORE.log --before-checkout /path/to/old/checkout
        # before and after on the same samples, their jobs run alternately (the machine's speed drifts)
    python benchmarks/overhead.py --quick    # CI: the components only (python start, imports); no batch needed

How: the results directory is copied (nothing in it is touched), Snakemake re-runs those rules' jobs on the copy
(--forcerun/--until, --skip-script-cleanup, -p; the input check's marker is named after the sample records, whose
pooled lanes name the results directory, so on a copy of a pooled batch like the demo's the whole batch re-runs
first: slow; --log on a scratch run is the quick way), then every job is run again alone, --repeats times, with its CPU
(user+sys of the process and its children, getrusage) taken from the kernel: a `shell:` job's printed command
(`python -m oncopanel.steps ...`) or a `script:` job's kept script (Snakemake's preamble + the adapter). External
tools a step runs (freebayes, bcftools) are in its CPU. With --log, the `python -m oncopanel.steps` commands a
finished run printed (snakemake -p) are re-run where they are: their outputs are rewritten (same bytes, new
times), so only on a scratch run. --as-script REV runs each of those jobs the way `script:` did at REV: the
rule's adapter (git show REV:workflow/scripts/STEP.py) behind Snakemake's own preamble (a pickled
snakemake.script.Snakemake object of the same inputs, outputs, params, wildcards and log, as
PythonScript.generate_preamble writes it). Beside the jobs: a bare `python -c pass`, the imports of
each step, and the import of snakemake's script module. Markdown to stdout and $SCALE_OUT/overhead.md.
"""

from __future__ import annotations

import argparse
import os
import re
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
RULES = ["bam_qc", "qc_summary", "calling_freebayes", "calling_finalize", "umi_consensus"]
# what each step imports (oncopanel/steps.py), to split a job's CPU into imports and work
STEP_IMPORTS = {
    "qc_summary": "from oncopanel.qc import summarise",
    "bam_qc": "from oncopanel.coverage import write_coverage_files; "
    "from oncopanel.provenance import write_tool_versions; "
    "from oncopanel.sample_identity.summary import identify_sample; "
    "from oncopanel.sample_identity.criteria import criteria_from_doc",
    "calling_freebayes": "from oncopanel.calling.run import call_raw",
    "calling_finalize": "import oncopanel.calling.run, oncopanel.calling.vcf, oncopanel.calling.pon, "
    "oncopanel.calling.background, oncopanel.hotspots, oncopanel.calling.settings",
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
        if m := re.search(r"(\S+ -m oncopanel\.steps .*)$", line):
            argv = shlex.split(m.group(1))
            found[argv[argv.index("oncopanel.steps") + 1]].append(argv)
    for script in sorted((checkout / ".snakemake" / "scripts").glob("tmp*.py")):
        step = script.name.split(".", 1)[1].removesuffix(".py")
        if step in RULES:
            found[step].append([sys.executable, str(script)])
    return found


def as_script(argv: list[str], rev: str, scratch: Path) -> list[str]:
    """The job of a printed step command as Snakemake's script: ran it at ``rev``: a script file of its preamble
    (pickled Snakemake object, sys.path, logger import) and the rule's adapter of that revision."""
    import json
    import pickle

    from snakemake.iocontainers import InputFiles, Log, OutputFiles, Params, ResourceList, Snakemake, Wildcards
    from snakemake.script import get_snakemake_searchpaths

    step = argv[argv.index("oncopanel.steps") + 1]
    doc = json.loads(argv[-1])
    log = argv[argv.index("--log") + 1]

    def named(cls, spec):  # the list of every file, with the names over their positions (as Snakemake's)
        every = list(spec.get("*", []))
        files = cls(toclone=every)
        for name, value in spec.items():
            if name != "*":
                values = value if isinstance(value, list) else [value]
                start = every.index(values[0]) if values else len(every)
                files._set_name(name, start, end=start + len(values) if isinstance(value, list) else None)
        return files

    threads = doc["threads"]
    smk = Snakemake(named(InputFiles, doc["input"]), named(OutputFiles, doc["output"]), Params(fromdict=doc["params"]),
                    Wildcards(fromdict=doc["wildcards"]), threads, ResourceList(fromdict={"_cores": threads}),
                    Log(fromdict={"log": log}), {}, doc["rule"], 0, str(ROOT / "workflow"))  # fmt: skip
    adapter = subprocess.run(["git", "show", f"{rev}:workflow/scripts/{step}.py"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
    preamble = (f"import sys; sys.path.extend({get_snakemake_searchpaths()!r}); import pickle; "
                f"snakemake = pickle.loads({pickle.dumps(smk, protocol=4)!r}); from snakemake.logging import logger; "
                "from snakemake.iocontainers import Snakemake")  # fmt: skip
    script = scratch / f"tmp{len(list(scratch.iterdir())):05d}.{step}.py"
    script.write_text(preamble + "\n" + adapter)
    return [sys.executable, str(script)]


def by_sample(found: dict[str, list[list[str]]]) -> dict[tuple[str, str], list[str]]:
    """{(step, sample): argv} of printed step commands (the sample from the job's wildcards)."""
    import json

    out = {}
    for step, argvs in found.items():
        for argv in argvs:
            sample = json.loads(argv[-1])["wildcards"].get("sample") if "oncopanel.steps" in argv else None
            if sample is not None:  # per-sample steps only (calling_regions is per mode)
                out[(step, sample)] = argv
    return out


def compare(before: dict[str, list[list[str]]], after: dict[str, list[list[str]]], rules: list[str], repeats: int,
            before_cwd: Path, after_cwd: Path) -> list[str]:  # fmt: skip
    """Per step, the mean over the samples both runs have of each job's median CPU, before and after: each job's
    two versions run alternately, `repeats` times each, so a drift in the machine's speed falls on both alike."""
    old, new = by_sample(before), by_sample(after)
    lines = ["", "| rule | samples | before: CPU s a job (mean) | after | change |", "|---|---:|---:|---:|---:|"]
    total = [0.0, 0.0]
    for step in rules:
        keys = sorted(k for k in set(old) & set(new) if k[0] == step)
        if not keys:
            continue
        sums = [0.0, 0.0]
        for key in keys:
            runs: tuple[list[float], list[float]] = ([], [])
            for _ in range(repeats):
                runs[0].append(cpu_of(old[key], before_cwd))
                runs[1].append(cpu_of(new[key], after_cwd))
            sums[0] += statistics.median(runs[0])
            sums[1] += statistics.median(runs[1])
        a, b = sums[0] / len(keys), sums[1] / len(keys)
        total = [total[0] + a, total[1] + b]
        lines.append(f"| {step} | {len(keys)} | {a:.3f} | {b:.3f} | {b - a:+.3f} |")
    lines.append(f"| **per sample** | | **{total[0]:.3f}** | **{total[1]:.3f}** | **{total[1] - total[0]:+.3f}** |")
    return lines


def table(found: dict[str, list[list[str]]], rules: list[str], repeats: int, cwd: Path) -> list[str]:
    lines = ["", "| rule | jobs | how | CPU s per job (median over jobs) | min | max | sum |",
             "|---|---:|---|---:|---:|---:|---:|"]  # fmt: skip
    for step in rules:
        if not found.get(step):
            continue
        cpus = [median_cpu(argv, repeats, cwd) for argv in found[step]]
        how = "oncopanel.steps" if "oncopanel.steps" in found[step][0] else "script:"
        lines.append(f"| {step} | {len(cpus)} | {how} | {statistics.median(cpus):.3f} | {min(cpus):.3f} | "
                     f"{max(cpus):.3f} | {sum(cpus):.2f} |")  # fmt: skip
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, help="a finished batch's results directory (only read)")
    ap.add_argument("--configfile", nargs="*", default=[], help="the batch's config files besides config/config.yaml")
    ap.add_argument("--checkout", type=Path, default=ROOT, help="the code to measure (default: this one)")
    ap.add_argument("--rules", nargs="*", default=RULES)
    ap.add_argument("--repeats", type=int, default=3, help="runs of each job alone; the median is reported")
    ap.add_argument("--log", type=Path, help="a finished scratch run's log (snakemake -p): time its step commands")
    ap.add_argument("--jobs", type=int, default=0, help="at most this many jobs of each rule (0: all)")
    ap.add_argument("--as-script", metavar="REV", help="with --log: run the jobs as REV's script: adapters")
    ap.add_argument("--before", type=Path, help="with --log: an older checkout's run log, its jobs run alternately")
    ap.add_argument("--before-checkout", type=Path, help="the older checkout (its commands' working directory)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    lines = [f"Command: `python benchmarks/overhead.py {' '.join(sys.argv[1:])}` (checkout {args.checkout})", "",
             "| component | CPU s |", "|---|---:|"]  # fmt: skip
    lines += [f"| {name} | {cpu:.3f} |" for name, cpu in components(sys.executable, 1 if args.quick else 5)]
    if args.quick:  # --before's comparison on a stand-in job (a bare Python start), so that path cannot rot either
        stand_in = [sys.executable, "-c", "pass", "oncopanel.steps", '{"wildcards": {"sample": "S1"}}']
        lines += compare({"qc_summary": [stand_in]}, {"qc_summary": [stand_in]}, ["qc_summary"], 1, ROOT, ROOT)
    if args.log is not None:
        found = jobs(args.checkout.resolve(), args.log.read_text())
        if args.jobs:
            found = {step: argvs[: args.jobs] for step, argvs in found.items()}
        with tempfile.TemporaryDirectory(prefix="oncopanel-overhead-") as scratch:
            if args.as_script:
                found = {step: [as_script(argv, args.as_script, Path(scratch)) for argv in argvs]
                         for step, argvs in found.items()}  # fmt: skip
            if args.before is not None:
                older = args.before_checkout or args.checkout
                lines += compare(jobs(older.resolve(), args.before.read_text()), found, args.rules, args.repeats,
                                 older, args.checkout)  # fmt: skip
            else:
                lines += table(found, args.rules, args.repeats, args.checkout)
    elif not args.quick:
        if args.results is None:
            raise SystemExit("--results DIR (a finished batch) is needed, or --quick")
        tmp = Path(tempfile.mkdtemp(prefix="oncopanel-overhead-"))
        try:
            copy = tmp / "results"
            shutil.copytree(args.results, copy, symlinks=True)
            for lock in (".oncopanel-run.lock", ".oncopanel-run.json"):
                (copy / lock).unlink(missing_ok=True)
            log = rerun(args.checkout.resolve(), copy, args.configfile, args.rules)
            lines += table(jobs(args.checkout.resolve(), log), args.rules, args.repeats, args.checkout)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    text = "\n".join(lines) + "\n"
    print(text)
    out = QUICK_OUT if args.quick else OUT
    out.mkdir(parents=True, exist_ok=True)
    (out / "overhead.md").write_text(text)


if __name__ == "__main__":
    main()
