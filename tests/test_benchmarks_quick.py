"""Every benchmark runs in CI (make bench-quick, a stage of .ci/run) in its quick mode, so none can rot unseen."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_BENCHMARKS = {"collect.py"}  # assembles BENCHMARKS.md


def test_every_benchmark_has_a_quick_mode_that_make_bench_quick_runs():
    makefile = (ROOT / "Makefile").read_text()
    listed = re.search(r"^BENCH_QUICK := ((?:.*\\\n)*.*)$", makefile, re.M)
    assert listed, "Makefile has no BENCH_QUICK list"
    scripts = set(re.findall(r"([a-z_]+\.py)", listed.group(1)))
    benchmarks = {p.name for p in (ROOT / "benchmarks").glob("*.py")} - NOT_BENCHMARKS
    assert scripts == benchmarks
    for name in sorted(benchmarks):
        assert '"--quick"' in (ROOT / "benchmarks" / name).read_text(), f"{name} has no --quick mode"
    assert 'stage "make bench-quick"' in (ROOT / ".ci" / "run").read_text()
