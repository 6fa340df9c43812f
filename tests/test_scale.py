"""The slurm profile's groups: a batch is submitted as a few cluster jobs per sample, not one per rule and
sample (dry runs only; benchmarks/scale.py measures the same for 1,000 samples)."""

from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import scale

GROUPED = {
    "fastp", "align_lane", "markdup", "samtools_stats", "mosdepth", "sample_identity", "calling_freebayes",
    "calling_finalize", "calling_index",
}  # fmt: skip
# per-sample rules that read the check_inputs checkpoint (or follow one that does) stay outside the groups
UNGROUPED = {"check_inputs", "qc_summary", "sample_result", "report_pdf"}


def test_grouped_batch_is_a_few_cluster_jobs_per_sample(tmp_path):
    n, per_batch = 20, 10  # two batches of 2 blood normals + 8 tumours
    counts = scale.batch_submissions(n, tmp_path, per_batch=per_batch, normals=2)
    grouped, ungrouped = counts["grouped"], counts["ungrouped"]
    # without groups every per-sample rule is a submission of its own
    assert all(ungrouped[f"rule:{r}"] == n for r in GROUPED | UNGROUPED)
    # with them: one "sample" job per sample and one PoN job per batch
    assert grouped["group:sample"] == n
    assert grouped["group:pon"] == n // per_batch
    assert not any(grouped[f"rule:{r}"] for r in GROUPED | {"calling_pon_normal", "calling_pon"})
    assert all(grouped[f"rule:{r}"] == n for r in UNGROUPED)
    # batch-level rules stay outside the groups
    assert grouped["rule:batch_identity"] == n // per_batch
    assert grouped["rule:multiqc"] == grouped["rule:batch_summary"] == 1
    assert sum(grouped.values()) <= (1 + len(UNGROUPED)) * n + 10 < sum(ungrouped.values()) / 2
