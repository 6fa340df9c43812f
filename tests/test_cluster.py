"""A real single-node SLURM (Debian slurm-wlm + munge) runs a batch through the project's slurm profile, and its
outputs equal a local run's. Marked `cluster`: `make test-cluster` (root only; starts and stops the daemons)."""

from __future__ import annotations

import os
import subprocess

import pysam
import pytest
from conftest import ROOT, run_workflow, write_sheet
from fixtures import reads_from_region

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def slurm():
    if os.geteuid() != 0:
        pytest.skip("the single-node SLURM needs root")
    start = subprocess.run([str(ROOT / "scripts/slurm_single_node.sh"), "start"], capture_output=True, text=True)
    assert start.returncode == 0, start.stderr
    yield
    subprocess.run([str(ROOT / "scripts/slurm_single_node.sh"), "stop"], capture_output=True, text=True)


def _records(vcf):
    with pysam.VariantFile(str(vcf)) as fh:
        return [(r.chrom, r.pos, r.ref, r.alts, tuple(r.filter)) for r in fh]


def test_slurm_run_equals_local_run(slurm, tmp_path):
    r1, r2 = reads_from_region(tmp_path / "kras", "chr12", 25245074, 25245595, n_pairs=800, seed=5)
    sheet = write_sheet(
        tmp_path / "samples.tsv",
        [{"sample_id": "CL1", "specimen_type": "tumour_fresh", "oncotree_code": "LUAD", "panels": "EGFR_KRAS",
          "fastq_1": r1, "fastq_2": r2}],
    )  # fmt: skip
    local = run_workflow(sheet, tmp_path / "local")
    assert local.returncode == 0, local.stderr[-3000:]
    cluster = run_workflow(
        sheet, tmp_path / "slurm",
        extra=("--workflow-profile", "workflow/profiles/slurm", "--default-resources", "slurm_partition=oncopanel"),
    )  # fmt: skip
    assert cluster.returncode == 0, cluster.stderr[-3000:]
    assert "Job 0 has been submitted with SLURM jobid" in cluster.stderr or "SLURM jobid" in cluster.stderr
    for rel in ("qc/CL1.qc.json", "result/CL1.result.json", "hotspots/CL1.hotspots.tsv"):
        assert (tmp_path / "slurm" / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes(), rel
    assert _records(tmp_path / "slurm/calls/CL1.vcf.gz") == _records(tmp_path / "local/calls/CL1.vcf.gz")
    text = [
        subprocess.run(["pdftotext", str(d / "reports/CL1.pdf"), "-"], capture_output=True, text=True).stdout
        for d in (tmp_path / "local", tmp_path / "slurm")
    ]
    assert text[0] == text[1]
