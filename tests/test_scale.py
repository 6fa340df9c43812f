"""The slurm profile's groups: a batch is submitted as about one cluster job per sample, not one per rule and
sample (dry runs only; benchmarks/scale.py measures the same for 1,000 samples)."""

from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import scale

PER_SAMPLE_RULES = {
    "fastp", "align_lane", "markdup", "samtools_stats", "mosdepth", "qc_summary", "sample_identity",
    "calling_freebayes", "calling_finalize", "calling_index", "sample_result", "report_pdf",
}  # fmt: skip


def test_grouped_batch_is_about_one_cluster_job_per_sample(tmp_path):
    n, per_batch = 20, 10  # two batches of 2 blood normals + 8 tumours
    counts = scale.batch_submissions(n, tmp_path, per_batch=per_batch, normals=2)
    grouped, ungrouped = counts["grouped"], counts["ungrouped"]
    # without groups every per-sample rule is a submission of its own
    assert all(ungrouped[f"rule:{r}"] == n for r in PER_SAMPLE_RULES)
    # with them: one "sample" and one "report" (result + PDF) job per sample, one PoN job per batch
    assert grouped["group:sample"] == grouped["group:report"] == n
    assert grouped["group:pon"] == n // per_batch
    assert not any(grouped[f"rule:{r}"] for r in PER_SAMPLE_RULES | {"calling_pon_normal", "calling_pon"})
    # the checkpoint and the batch-level rules stay outside the groups
    assert grouped["rule:check_inputs"] == n
    assert grouped["rule:batch_identity"] == n // per_batch
    assert grouped["rule:multiqc"] == grouped["rule:batch_summary"] == 1
    batch_level = sum(v for k, v in grouped.items() if k.startswith("rule:") and k != "rule:check_inputs")
    assert batch_level <= 10
    assert sum(grouped.values()) <= 3 * n + 10 < sum(ungrouped.values()) / 3
