"""Index assignment: distance and colour balance checked, unsafe runs refused with why; sample sheets written."""

import csv
from pathlib import Path

import pytest

from oncopanel.batch.indexes import (
    IndexPair,
    assign_indexes,
    check_index_set,
    colour_balance,
    distance_problems,
    hamming,
    load_kit,
    reverse_complement,
    write_bclconvert_sample_sheet,
)
from oncopanel.batch.lab import load_lab_config
from oncopanel.batch.manifest import read_manifest
from oncopanel.batch.plan import plan_runs
from oncopanel.batch.runs import write_samples_tsv
from oncopanel.errors import ValidationError
from oncopanel.paths import ANNOTATION
from oncopanel.samplesheet import read_sample_sheet

DATA = Path(__file__).parent / "data" / "batch"
KIT = ANNOTATION / "index_kits" / "oncopanel_udi96.tsv"


def test_shipped_kit_is_safe_for_one_mismatch_per_index():
    kit = load_kit(KIT)
    assert len(kit) == 96
    assert distance_problems(kit, min_distance=4) == []
    assert all(not p.i7.startswith("G") and not p.i5.startswith("G") for p in kit)


def test_index_set_at_hamming_distance_two_is_refused_with_why():
    pairs = [IndexPair("UDI_A", "ACGTACGT", "TTGCAAGC"), IndexPair("UDI_B", "ACGTTCCT", "CAATCGTA"),
             IndexPair("UDI_C", "TCAGCATC", "AGCTGTAC")]  # fmt: skip
    assert hamming("ACGTACGT", "ACGTTCCT") == 2
    with pytest.raises(ValidationError) as err:
        check_index_set(pairs, min_distance=3)
    assert err.value.problems == [
        "index set refused: i7 of UDI_A (ACGTACGT) and UDI_B (ACGTTCCT) are at Hamming distance 2 < 3: "
        "1 sequencing error(s) could move a read from one sample to the other"
    ]


def test_assignment_refused_when_kit_cannot_index_run_safely():
    kit = [IndexPair("K1", "ACGTACGT", "TTGCAAGC"), IndexPair("K2", "ACGTTCCT", "CAATCGTA"),
           IndexPair("K3", "TCAGCATC", "AGCTGTAC")]  # fmt: skip
    # Two samples: K1 or K2 with K3 is safe.
    chosen = assign_indexes(["s1", "s2"], kit)
    assert {p.pair_id for p in chosen.values()} in ({"K1", "K3"}, {"K2", "K3"})
    with pytest.raises(ValidationError) as err:
        assign_indexes(["s1", "s2", "s3"], kit, kit_name="tiny kit")
    assert err.value.problems[0] == (
        "run has 3 samples but only 2 pairs of tiny kit are mutually at Hamming distance >= 3"
    )
    assert "i7 of K1 (ACGTACGT) and K2 (ACGTTCCT) are at Hamming distance 2 < 3" in err.value.problems[1]
    with pytest.raises(ValidationError, match="run has 4 samples but tiny kit has only 3 index pairs"):
        assign_indexes(["a", "b", "c", "d"], kit, kit_name="tiny kit")


def test_two_colour_dark_cycle_refused_and_single_channel_warned():
    dark = [IndexPair("A", "GGTACCAT", "ACGTACGT"), IndexPair("B", "GATCGTCA", "TGCATGCA")]
    problems, warnings = colour_balance(dark, "two_colour")
    assert problems == ["i7 cycle 1 (bases G): every index has G, which is dark in two-colour chemistry"]
    # i7 cycle 2 has G and A: A lights both channels, so it is fine.
    assert not any("i7 cycle 2" in w for w in warnings)
    with pytest.raises(ValidationError, match="dark in two-colour"):
        check_index_set(dark)
    red_only = [IndexPair("A", "CAGTACGT", "ACGTACGT"), IndexPair("B", "GTCATGCA", "TGCATGCA")]
    problems, warnings = colour_balance(red_only, "two_colour")
    assert problems == []
    assert "i7 cycle 1 (bases CG): signal in the red channel only" in warnings


def test_four_colour_needs_both_lasers_every_cycle():
    pairs = [IndexPair("A", "ACGTACGT", "ACGTACGT"), IndexPair("B", "CTACGTAC", "TGCATGCA"),
             IndexPair("C", "CGTATGCA", "TGCATGCA")]  # fmt: skip
    problems, _ = colour_balance(pairs, "four_colour")
    assert problems == ["i7 cycle 1 (bases AC): no base for the green (G/T) laser"]


def test_full_run_of_96_gets_unique_balanced_indexes():
    kit = load_kit(KIT)
    ids = [f"S{i:02d}" for i in range(96)]
    chosen = assign_indexes(ids, kit)
    assert len({p.pair_id for p in chosen.values()}) == 96
    assert check_index_set(list(chosen.values())) == []
    with pytest.raises(ValidationError):
        assign_indexes([*ids, "S96"], kit)


def test_small_run_is_colour_balanced():
    chosen = assign_indexes(["a", "b", "c"], load_kit(KIT))
    problems, warnings = colour_balance(list(chosen.values()), "two_colour")
    assert problems == [] and warnings == []


def test_sample_sheet_v2(tmp_path):
    pairs = {"P1": IndexPair("U1", "ACGTACGT", "TTGCAAGC"), "P2": IndexPair("U2", "TCAGCATC", "AGCTGTAC")}
    text = write_bclconvert_sample_sheet(tmp_path / "fwd.csv", "R20260107_01", pairs).read_text()
    assert text.splitlines()[:3] == ["[Header]", "FileFormatVersion,2", "RunName,R20260107_01"]
    assert "Index1Cycles,8\nIndex2Cycles,8" in text
    assert "OverrideCycles,Y151;I8;I8;Y151" in text
    assert text.endswith("[BCLConvert_Data]\nSample_ID,Index,Index2\nP1,ACGTACGT,TTGCAAGC\nP2,TCAGCATC,AGCTGTAC\n")
    rc = write_bclconvert_sample_sheet(tmp_path / "rc.csv", "R1", pairs, "reverse_complement", lane="1").read_text()
    assert f"1,P1,ACGTACGT,{reverse_complement('TTGCAAGC')}" in rc
    assert reverse_complement("TTGCAAGC") == "GCTTGCAA"


def test_samples_tsv_for_a_run_passes_the_workflow_sheet_check(tmp_path):
    lab = load_lab_config(DATA / "lab.yaml")
    samples = read_manifest(DATA / "manifest.tsv", lab)
    run = plan_runs(samples, lab).runs[0]
    members = [s for s in samples if s.sample_id in run.sample_ids]
    chosen = assign_indexes(list(run.sample_ids), load_kit(KIT))
    path = write_samples_tsv(tmp_path / "samples.tsv", run.run_id, members, chosen, "demux/" + run.run_id)
    with path.open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert list(rows[0])[:15] == ["sample_id", "patient", "batch", "site", "specimen_type", "tumour_content",
                                  "oncotree_code", "panels", "lane", "fastq_1", "fastq_2", "bam", "i7", "i5",
                                  "received_date"]  # fmt: skip
    sheet = read_sample_sheet(path)
    assert set(sheet) == set(run.sample_ids)
    first = sheet[rows[0]["sample_id"]]
    assert first.batch == run.run_id
    assert first.lanes[0].fastq_1 == f"demux/{run.run_id}/{first.sample_id}_R1.fastq.gz"
    assert first.lanes[0].i7 == chosen[first.sample_id].i7


def test_samples_tsv_refused_listing_samples_without_workflow_columns(tmp_path):
    lab = load_lab_config(DATA / "lab.yaml")
    path = tmp_path / "m.tsv"
    path.write_text("sample_id\tsite\treceived_date\tpanels\nX1\tS1\t2026-01-05\tBRCA\nX2\tS1\t2026-01-05\tBRCA\n")
    samples = read_manifest(path, lab)
    chosen = assign_indexes(["X1", "X2"], load_kit(KIT))
    with pytest.raises(ValidationError) as err:
        write_samples_tsv(tmp_path / "samples.tsv", "R1", samples, chosen, "demux")
    assert len(err.value.problems) == 6
    expected = "manifest: sample X2: column oncotree_code: needed for the workflow's samples.tsv but empty"
    assert expected in err.value.problems


def test_colour_balance_checked_on_i5_as_the_instrument_reads_it():
    pairs = [IndexPair("A", "ACGTACGT", "ACGTACGC"), IndexPair("B", "TGCATGCA", "TGCATGCC")]
    assert colour_balance(pairs, "two_colour", "forward")[0] == []
    # Read on the reverse strand, both i5s start with G: a dark first cycle.
    problems, _ = colour_balance(pairs, "two_colour", "reverse_complement")
    assert problems == ["i5 cycle 1 (bases G): every index has G, which is dark in two-colour chemistry"]
    with pytest.raises(ValidationError, match="i5 cycle 1"):
        assign_indexes(["a", "b"], pairs, i5_orientation="reverse_complement")
