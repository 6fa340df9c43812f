"""A real single-node SLURM (Debian slurm-wlm + munge) runs a batch through the project's slurm profile, and its
outputs equal a local run's. Marked `cluster`: `make test-cluster` (root only; starts and stops the daemons)."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess

import pysam
import pytest
from conftest import ROOT, run_workflow, write_sheet
from fixtures import reads_from_region, report_text_without_release_marks

from oncopanel.release import clinical_digest

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
    """Two batches (one with a panel-of-normals blood sample, one with a sample whose FASTQ is truncated), run
    locally and through the slurm profile with its job groups: same results, and one cluster job per sample."""
    rows = []
    for sid, batch, specimen, seed in (
        ("CL1", "CLA", "tumour_fresh", 5),
        ("CL2", "CLA", "tumour_ffpe", 6),
        ("CLN", "CLA", "blood_germline", 7),
        ("CL3", "CLB", "tumour_fresh", 8),
    ):
        r1, r2 = reads_from_region(tmp_path / sid, "chr12", 25245074, 25245595, n_pairs=800, seed=seed)
        rows.append(
            {
                "sample_id": sid,
                "patient": f"P-{sid}",
                "batch": batch,
                "specimen_type": specimen,
                "oncotree_code": "LUAD",
                "panels": "BRCA" if specimen == "blood_germline" else "EGFR_KRAS",
                "fastq_1": r1,
                "fastq_2": r2,
            }
        )
    bad = tmp_path / "CLBAD_R1.fastq.gz"
    bad.write_bytes(rows[-1]["fastq_1"].read_bytes()[:-200])  # truncated gzip: fails its input check
    mate = tmp_path / "CLBAD_R2.fastq.gz"  # its own bytes: one file under two samples is refused for both
    mate.write_bytes(gzip.compress(gzip.decompress(rows[-1]["fastq_2"].read_bytes()), mtime=1))
    rows.append({**rows[-1], "sample_id": "CLBAD", "patient": "P-CLBAD", "fastq_1": bad, "fastq_2": mate})
    sheet = write_sheet(tmp_path / "samples.tsv", rows)
    local = run_workflow(sheet, tmp_path / "local")
    assert local.returncode == 0, local.stderr[-3000:]
    cluster = run_workflow(
        sheet, tmp_path / "slurm",
        extra=("--workflow-profile", "workflow/profiles/slurm", "--default-resources", "slurm_partition=oncopanel"),
    )  # fmt: skip
    assert cluster.returncode == 0, cluster.stderr[-3000:]
    submitted = re.findall(r"submitted with SLURM jobid", cluster.stderr)
    groups = set(re.findall(r"Group job \S+ \(jobs in lexicogr\. order\)|group job (\S+)", cluster.stderr))
    # 4 sample groups + per batch: input check, identity, calling background (which also writes the panel of
    # normals), variant filtering (one group job), copy number, results (12) + provenance, MultiQC and its tables,
    # batch summary, report files: about 22, where ungrouped the same batch is over 40 jobs
    assert 12 <= len(submitted) <= 28, (len(submitted), cluster.stderr[-3000:])
    assert groups, "no group job was submitted"
    for sid in ("CL1", "CL2", "CLN", "CL3", "CLBAD"):
        rel = f"qc/{sid}.qc.json"
        assert (tmp_path / "slurm" / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes(), rel
        # each results directory has its own audit chain: the released results differ in their anchors only
        runs = (tmp_path / "local", tmp_path / "slurm")
        results = [json.loads((d / f"result/{sid}.result.json").read_text()) for d in runs]
        assert clinical_digest(results[0]) == clinical_digest(results[1]), sid
        text = [report_text_without_release_marks(d / f"reports/{sid}.pdf") for d in runs]
        assert text[0] == text[1], sid
    for sid in ("CL1", "CL2", "CL3"):
        rel = f"hotspots/{sid}.hotspots.tsv"
        assert (tmp_path / "slurm" / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes(), rel
        assert _records(tmp_path / f"slurm/calls/{sid}.vcf.gz") == _records(tmp_path / f"local/calls/{sid}.vcf.gz")
    failed = json.loads((tmp_path / "slurm/result/CLBAD.result.json").read_text())
    assert failed["status"] == "failed"
    assert "CLBAD" in " ".join(failed["failure"]["reasons"])
