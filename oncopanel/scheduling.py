"""How oncopanel asks Snakemake to schedule a local run.

Snakemake's job rate limiter (--max-jobs-per-timespan, default 100/1s) exists to spare a cluster's scheduler. In
Snakemake 9.27 every scheduling round re-arms a one-second timer and every finished job starts one more such
chain (reported upstream: snakemake/snakemake PR 3744), so a local run spends ever more rounds re-selecting among
its ready jobs: at 250 samples on 2 cores, a fifth of all CPU (BENCHMARKS.md, "Scale"). The command line cannot
switch it off, hence this hook, called from the workflow's onstart once the scheduler exists.
"""

from __future__ import annotations

import sys
from typing import Any


def lift_local_rate_limit(workflow: Any) -> bool:
    """Local runs only: drop the job rate limiter. Cluster runs (the slurm profile) keep it. Returns whether it was
    dropped (False also when a Snakemake version no longer has it where this looks)."""
    scheduler = getattr(workflow, "scheduler", None)
    if not workflow.local_exec or getattr(scheduler, "job_rate_limiter", None) is None:
        return False
    scheduler.job_rate_limiter = None
    scheduler.resources["_job_count"] = sys.maxsize  # what a scheduler without a limiter starts with
    return True
