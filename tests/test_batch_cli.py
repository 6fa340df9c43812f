"""The batch subcommands end to end: plan -> assign-indexes -> demux -> ledger."""

import csv
import random
from pathlib import Path

from oncopanel.cli import main
from oncosim.batch import pool_reads, random_reads

DATA = Path(__file__).parent / "data" / "batch"


def test_plan_assign_demux_ledger(tmp_path, capsys):
    lab, manifest = str(DATA / "lab.yaml"), str(DATA / "manifest.tsv")
    assert main(["plan", "--manifest", manifest, "--lab", lab, "--out", str(tmp_path / "plan")]) == 0
    out = capsys.readouterr().out
    assert "pooled" in out and "per_site" in out and "lower_bound" in out
    with (tmp_path / "plan" / "runs.tsv").open() as handle:
        run_id = next(csv.DictReader(handle, delimiter="\t"))["run_id"]

    run_dir = tmp_path / run_id
    args = ["assign-indexes", "--manifest", manifest, "--lab", lab, "--plan", str(tmp_path / "plan"),
            "--run", run_id, "--out", str(run_dir), "--fastq-dir", str(run_dir / "fastq")]  # fmt: skip
    assert main(args) == 0
    assert (run_dir / "SampleSheet.csv").read_text().startswith("[Header]\nFileFormatVersion,2\n")
    with (run_dir / "samples.tsv").open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert {r["batch"] for r in rows} == {run_id}

    rng = random.Random(1)
    reads = {r["sample_id"]: random_reads(20, 50, rng) for r in rows}
    indexes = {r["sample_id"]: (r["i7"], r["i5"]) for r in rows}
    truth = pool_reads(reads, indexes, tmp_path / "u_R1.fastq.gz", tmp_path / "u_R2.fastq.gz")
    args = ["demux", "--r1", str(tmp_path / "u_R1.fastq.gz"), "--r2", str(tmp_path / "u_R2.fastq.gz"),
            "--samples", str(run_dir / "samples.tsv"), "--batch", run_id, "--out", str(run_dir / "fastq")]  # fmt: skip
    assert main(args) == 0
    for r in rows:  # the FASTQ paths samples.tsv promises now exist
        assert Path(r["fastq_1"]).exists() and Path(r["fastq_2"]).exists()
    assert f'"hopped": {truth.hopped}' in capsys.readouterr().out

    args = ["ledger", "--manifest", manifest, "--lab", lab, "--plan", str(tmp_path / "plan"), "--run", run_id,
            "--out", str(tmp_path / "ledger.tsv")]  # fmt: skip
    assert main(args) == 0
    assert len((tmp_path / "ledger.tsv").read_text().splitlines()) == len(rows) + 1


def test_bad_manifest_exits_2_listing_every_problem(tmp_path, capsys):
    args = ["plan", "--manifest", str(DATA / "manifest_bad.tsv"), "--lab", str(DATA / "lab.yaml"),
            "--out", str(tmp_path)]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "duplicate sample id" in err and "unknown panel 'LUNG9'" in err and "is impossible" in err
    assert not (tmp_path / "runs.tsv").exists()


def test_unsafe_kit_refused(tmp_path, capsys):
    kit = tmp_path / "kit.tsv"
    kit.write_text("pair_id\ti7\ti5\nK1\tACGTACGT\tTTGCAAGC\nK2\tACGTTCCT\tCAATCGTA\n")
    lab, manifest = str(DATA / "lab.yaml"), str(DATA / "manifest.tsv")
    main(["plan", "--manifest", manifest, "--lab", lab, "--out", str(tmp_path / "plan")])
    with (tmp_path / "plan" / "runs.tsv").open() as handle:
        run_id = next(csv.DictReader(handle, delimiter="\t"))["run_id"]
    capsys.readouterr()
    args = ["assign-indexes", "--manifest", manifest, "--lab", lab, "--plan", str(tmp_path / "plan"), "--run", run_id,
            "--out", str(tmp_path / "run"), "--kit", str(kit)]  # fmt: skip
    assert main(args) == 2
    assert "kit.tsv has only 2 index pairs" in capsys.readouterr().err


def test_demux_of_a_batch_absent_from_the_sheet_refused(tmp_path, capsys):
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("sample_id\tbatch\ti7\ti5\nA1\tR1\tACGTACGT\tTTGCAAGC\n")
    args = ["demux", "--r1", "x", "--r2", "y", "--samples", str(sheet), "--batch", "R2", "--out", str(tmp_path)]
    assert main(args) == 2
    assert "no samples in batch 'R2'" in capsys.readouterr().err
