"""benchmarks/floor.sh (the floor the scale benchmark measures the workflow against) and the workflow's read-to-BAM
chain (rules align_lane and markdup) must do the same work: on one small sample they write the same BAM records,
in the same order, with the same duplicate marks."""

from __future__ import annotations

import json
import subprocess

from conftest import ROOT, VENV_BIN, run_workflow, write_sheet
from fixtures import reads_from_region


def records(bam) -> list[str]:
    return subprocess.run(["samtools", "view", str(bam)], capture_output=True, text=True, check=True).stdout.split("\n")


def test_floor_script_and_workflow_chain_write_the_same_bam_records(tmp_path):
    # KRAS exon 2 ± 200 bp, fixed-length fragments from few start points: most pairs are duplicates of another
    r1, r2 = reads_from_region(tmp_path / "kras", "chr12", 25245074, 25245595, n_pairs=800, seed=21)
    tumour = {"specimen_type": "tumour_fresh", "tumour_content": "50", "oncotree_code": "LUAD", "panels": "EGFR_KRAS"}
    sheet = write_sheet(tmp_path / "samples.tsv", [{"sample_id": "FLOOR1", **tumour, "fastq_1": r1, "fastq_2": r2}])
    results = tmp_path / "results"
    proc = run_workflow(sheet, results, str(results / "bam" / "FLOOR1.bam"))
    assert proc.returncode == 0, proc.stderr[-3000:]

    (tmp_path / "floor.tsv").write_text(f"FLOOR1\t{r1}\t{r2}\n")
    floor = subprocess.run(
        ["bash", "benchmarks/floor.sh", str(tmp_path / "floor.tsv"), str(tmp_path / "floor")],
        cwd=ROOT, capture_output=True, text=True, env={"PATH": f"{VENV_BIN}:/usr/bin:/bin"},
    )  # fmt: skip
    assert floor.returncode == 0, floor.stderr[-3000:]

    workflow_records = records(results / "bam" / "FLOOR1.bam")
    floor_records = records(tmp_path / "floor" / "FLOOR1" / "FLOOR1.bam")
    assert len(workflow_records) > 1500
    assert sum(int(r.split("\t")[1]) & 0x400 > 0 for r in workflow_records if r) > 500  # duplicates were marked
    assert floor_records == workflow_records
    assert (tmp_path / "floor" / "FLOOR1" / "FLOOR1.bam.bai").exists() and (results / "bam/FLOOR1.bam.bai").exists()
    fastp = json.loads((results / "qc/fastp/FLOOR1.L001.fastp.json").read_text())["summary"]
    assert fastp == json.loads((tmp_path / "floor/FLOOR1/FLOOR1.L001.fastp.json").read_text())["summary"]
