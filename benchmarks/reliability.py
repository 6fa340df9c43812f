"""Reliability: bad inputs refused with their exact message, and SIGKILLs survived with identical results.

    python benchmarks/reliability.py                   # corpus + 12 kill points (6 at file events, 6 seeded times)
    python benchmarks/reliability.py --timed 8 --seed 7

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

from test_reliability_corpus import CASES, outcome  # noqa: E402
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
    rows, refused_ok, must_refuse = [], 0, 0
    for case in CASES:
        got = outcome(case)
        ok = got == (case.message or None)
        if case.expect != "accepted":
            must_refuse += 1
            refused_ok += ok
        verdict = "yes" if ok else "**no**"
        shown = got if got is not None else "(accepted)"
        rows.append(f"| {case.case} | {case.kind} | {case.expect} | {verdict} | `{_cell(shown)}` |")
    accepted = [c.case for c in CASES if c.expect == "accepted"]
    lines = [
        f"**{refused_ok} of {must_refuse} bad-input cases refused with their exact expected message**"
        f" ({len(CASES)} cases in all; accepted as designed: {', '.join(accepted)}).",
        "",
        "| case | met by | expected | as expected | message given |",
        "|---|---|---|---|---|",
        *rows,
    ]
    return lines, refused_ok, must_refuse


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
    args = parser.parse_args()
    command = "python benchmarks/reliability.py" + (
        f" --seed {args.seed} --timed {args.timed}" if (args.seed, args.timed) != (20261125, 6) else ""
    )
    corpus, refused_ok, must_refuse = corpus_section()
    kills, survived, killed = kill_section(args.seed, args.timed)
    gaps = [f"- `{pattern}`: {why}" for pattern, why in VOLATILE.items()]
    gaps.append(f"- VCF header lines {', '.join(f'`{h}`' for h in VCF_VOLATILE_HEADERS)}: bcftools stamps its "
                "command line and the wall-clock date, freebayes the day")  # fmt: skip
    text = "\n".join(
        [
            "# Reliability: bad inputs refused, kills survived",
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
            "### Kill and resume (SIGKILL to the whole process group, then the same command again)",
            "",
            *kills,
            "",
            "### Determinism gaps (left out of the comparison; everything else is compared byte for byte, BAMs by "
            "header without @PG and reads)",
            "",
            *gaps,
            "",
            f"Summary: {refused_ok}/{must_refuse} bad inputs refused correctly; {survived}/{killed} kill points "
            "survived with identical results.",
        ]
    )
    OUT.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
