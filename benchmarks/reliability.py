"""Reliability: bad inputs refused with their exact message and failure kind, the batch-integrity scenarios
(added samples, failed steps, second starts, kills, full disk) as their tests observed them, and SIGKILLs survived
with identical results.

    python benchmarks/reliability.py                   # corpus + scenarios + 12 kill points (6 events, 6 seeded)
    python benchmarks/reliability.py --timed 8 --seed 7
    python benchmarks/reliability.py --quick           # corpus and the unit-level scenarios only (CI; writes
                                                       # results/benchmarks/quick/reliability.md)

The scenarios are the tests that see them (each records case, expected behaviour, observed and message through
conftest's `observe` fixture); this script runs them with pytest and tabulates what they recorded and whether
they passed.

The corpus is tests/data/bad/cases.tsv, each case run through the check that meets it (the same code as
tests/test_reliability_corpus.py). The kill points are those of tests/test_reliability_resume.py: a one-sample
batch is run uninterrupted, then for each kill point started in the same results path, its whole process group
SIGKILLed, and rerun with the same command; it survives when the rerun succeeds with outputs identical to the
uninterrupted run, no temporary file left, nothing still marked incomplete and no finished output recomputed.
Writes markdown to stdout and to benchmarks/latest/reliability.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_reliability_corpus import CASES, outcome_and_codes  # noqa: E402
from test_reliability_resume import (  # noqa: E402
    VCF_VOLATILE_HEADERS,
    VOLATILE,
    kill_and_resume,
    kill_points,
    snapshot,
    tiny_batch,
    workflow_command,
)

OUT = ROOT / "benchmarks" / "latest" / "reliability.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def corpus_section() -> tuple[list[str], int, int]:
    from oncopanel.failures import kind_of_input_problems

    rows, refused_ok, must_refuse = [], 0, 0
    for case in CASES:
        got, codes = outcome_and_codes(case)
        ok = got == (case.message or None)
        if case.expect != "accepted":
            must_refuse += 1
            refused_ok += ok
        verdict = "yes" if ok else "**no**"
        shown = got if got is not None else "(accepted)"
        kind = kind_of_input_problems(codes).value if codes else ("sheet refused" if case.kind == "sheet" else "")
        rows.append(f"| {case.case} | {case.kind} | {case.expect} | {kind} | {verdict} | `{_cell(shown)}` |")
    accepted = [c.case for c in CASES if c.expect == "accepted"]
    lines = [
        f"**{refused_ok} of {must_refuse} bad-input cases refused with their exact expected message**"
        f" ({len(CASES)} cases in all; accepted as designed: {', '.join(accepted)}). The failure kind is what the"
        " sample's report says (reports/failure_kinds.yaml): a file's fault never asks for a new specimen.",
        "",
        "| case | met by | expected | failure kind | as expected | message given |",
        "|---|---|---|---|---|---|",
        *rows,
    ]
    return lines, refused_ok, must_refuse


# The tests that observe the batch-integrity scenarios (conftest `observe`); the quick set needs no workflow run.
SCENARIO_TESTS = (
    "tests/test_batch_integrity.py",
    "tests/test_runlock.py::test_a_second_start_on_a_live_results_directory_refuses_and_touches_nothing",
    "tests/test_runlock.py::test_a_run_killed_after_some_jobs_resumes_without_unlock",
    "tests/test_deliver.py::test_a_full_disk_while_releasing_leaves_the_delivered_version_as_it_was",
)
QUICK_SCENARIO_TESTS = SCENARIO_TESTS[3:]


def scenario_section(quick: bool) -> tuple[list[str], int, int]:
    import json
    import xml.etree.ElementTree as ET

    with tempfile.TemporaryDirectory(prefix="reliability_scenarios_") as tmp:
        log, junit = Path(tmp) / "observed.jsonl", Path(tmp) / "junit.xml"
        env = dict(os.environ, ONCOPANEL_RELIABILITY_LOG=str(log))
        tests = QUICK_SCENARIO_TESTS if quick else SCENARIO_TESTS
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *tests]
        subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        observed = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        failed = {
            f"{c.get('classname', '').replace('.', '/')}.py::{c.get('name')}"
            for c in ET.parse(junit).getroot().iter("testcase")
            if c.find("failure") is not None or c.find("error") is not None
        } if junit.exists() else set()  # fmt: skip
    rows, passed = [], 0
    for o in observed:
        ok = o["test"] not in failed
        passed += ok
        rows.append(f"| {_cell(o['case'])} | {_cell(o['expected'])} | {_cell(o['observed'])} | "
                    f"{'yes' if ok else '**no**'} | `{_cell(o['message'])}` |")  # fmt: skip
    lines = [
        f"**{passed} of {len(observed)} scenarios behaved as expected** (observed by the tests that check them:"
        f" {', '.join(t.split('::')[-1] if '::' in t else t for t in tests)}).",
        "",
        "| case | expected behaviour | observed | as expected | message |",
        "|---|---|---|---|---|",
        *rows,
    ]
    return lines, passed, len(observed)


def kill_section(seed: int, n_timed: int) -> tuple[list[str], int, int]:
    with tempfile.TemporaryDirectory(prefix="reliability_") as tmp:
        d = Path(tmp)
        sheet = tiny_batch(d)
        results = d / "results"
        cmd, how = workflow_command(sheet, results)
        start = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, **how)
        duration = time.monotonic() - start
        if proc.returncode != 0:
            raise SystemExit(f"reference run failed:\n{proc.stderr[-3000:]}")
        results.rename(d / "reference")
        (d / "logs").mkdir()
        ref = {"cmd": cmd, "how": how, "results": results, "snapshot": snapshot(d / "reference"), "logs": d / "logs"}
        rows, survived, killed = [], 0, 0
        for kill in kill_points(seed, n_timed, duration):
            s = kill_and_resume(ref, kill)
            if not s.outcome.killed:
                rows.append(f"| {kill.label} | not killed: the run finished first | | |")
                continue
            killed += 1
            survived += s.survived
            problems = [
                *(f"differs: {x}" for x in s.diffs), *(f"left: {x}" for x in s.leftovers),
                *(f"still incomplete: {x}" for x in s.still_incomplete),
                *(f"recomputed: {x}" for x in s.recomputed_finished),
                *(f"survivor pid {p}" for p in s.outcome.survivors),
                *([f"rerun exit {s.rerun_rc}"] if s.rerun_rc else []),
            ]  # fmt: skip
            in_flight = ", ".join(s.outcome.in_flight[:4]) + (" …" if len(s.outcome.in_flight) > 4 else "")
            verdict = "yes" if s.survived else "**no**: " + _cell("; ".join(problems))
            rows.append(f"| {kill.label} | {s.outcome.after_s:.2f} | {in_flight or '(between jobs)'} | {verdict} |")
    lines = [
        f"**{survived} of {killed} kill points survived with identical results** (uninterrupted run "
        f"{duration:.1f} s; {len(rows) - killed} kill points came after the run had finished).",
        "",
        "| kill point | killed after (s) | outputs in flight (marked incomplete) | resumed to identical results |",
        "|---|---|---|---|",
        *rows,
    ]
    return lines, survived, killed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=20261125, help="seed of the timed kill points")
    parser.add_argument("--timed", type=int, default=6, help="number of seeded-time kill points")
    parser.add_argument("--quick", action="store_true", help="CI: the corpus and the scenarios without workflow runs")
    args = parser.parse_args()
    command = "python benchmarks/reliability.py" + (
        f" --seed {args.seed} --timed {args.timed}" if (args.seed, args.timed) != (20261125, 6) else ""
    ) + (" --quick" if args.quick else "")
    corpus, refused_ok, must_refuse = corpus_section()
    scenarios, behaved, observed = scenario_section(args.quick)
    kills, survived, killed = ([], 0, 0) if args.quick else kill_section(args.seed, args.timed)
    gaps = [f"- `{pattern}`: {why}" for pattern, why in VOLATILE.items()]
    gaps.append(f"- VCF header lines {', '.join(f'`{h}`' for h in VCF_VOLATILE_HEADERS)}: bcftools stamps its "
                "command line and the wall-clock date, freebayes the day")  # fmt: skip
    gaps.append("- released files (`result/`, `reports/`, `release/*/v*/`, `release/*/index.json`, "
                "`batch/status.json`): compared without their audit anchor, release times and the checksums of "
                "those; each results directory has its own audit chain")  # fmt: skip
    text = "\n".join(
        [
            "# Reliability: bad inputs refused, kills survived"
            + (": QUICK MODE (CI smoke run, no kill points)" if args.quick else ""),
            "",
            f"Command: `{command}`",
            "",
            f"Machine: {platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores; load "
            f"average at the end {os.getloadavg()[0]:.1f} (shared machine: kill times land on different jobs "
            "from run to run; the event kill points are the stable ones).",
            "",
            "### Bad-input corpus (tests/data/bad/cases.tsv)",
            "",
            *corpus,
            "",
            "### Batch integrity: what a delivered result survives",
            "",
            *scenarios,
            "",
            "### Kill and resume (SIGKILL to the whole process group, then the same command again)",
            "",
            *kills,
            "",
            "### Determinism gaps (left out of the comparison; everything else is compared byte for byte, BAMs by "
            "header without @PG and reads)",
            "",
            *gaps,
            "",
            f"Summary: {refused_ok}/{must_refuse} bad inputs refused correctly; {behaved}/{observed} integrity "
            f"scenarios as expected; {survived}/{killed} kill points survived with identical results.",
        ]
    )
    out = ROOT / "results" / "benchmarks" / "quick" / "reliability.md" if args.quick else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    print(text)
    if refused_ok < must_refuse or behaved < observed or survived < killed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
