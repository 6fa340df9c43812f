"""The BCL Convert sample sheet (v2) against Illumina's schema and logic as samshee checks them, for forward-strand
and reverse-complement i5 instruments, and consistent with the demultiplexer's i5 orientation."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():  # samshee imports jsonschema's deprecated RefResolver; not ours to fix
    warnings.simplefilter("ignore", DeprecationWarning)
    from samshee.samplesheetv2 import read_samplesheetv2
    from samshee.validation import SamsheeValidationException

from oncopanel.batch.demux import demultiplex
from oncopanel.batch.indexes import (
    BCL_CONVERT_VERSION,
    IndexPair,
    assign_indexes,
    load_kit,
    sample_sheet_index2,
    write_bclconvert_sample_sheet,
)
from oncopanel.cli import main
from oncopanel.sequence import reverse_complement

ROOT = Path(__file__).resolve().parent.parent
KIT = ROOT / "annotation" / "index_kits" / "oncopanel_udi96.tsv"
DATA = Path(__file__).parent / "data" / "batch"

CASES = [  # (instrument, how it reads i5, RunInfo.xml orientation, Index2 in the sheet is the forward i5)
    ("MiSeq / NovaSeq 6000 v1.0", "forward", False, True),
    ("NextSeq 500/550, NovaSeq 6000 v1.5", "reverse_complement", False, False),
    ("NovaSeq X, NextSeq 1000/2000", "reverse_complement", True, True),
]


def _kit_run(n: int = 12) -> dict[str, IndexPair]:
    return assign_indexes([f"S{i:02d}" for i in range(n)], load_kit(KIT))


@pytest.mark.parametrize("lane", [None, "1"])
@pytest.mark.parametrize(("instrument", "i5_orientation", "runinfo", "forward"), CASES)
def test_sheet_passes_samshees_illumina_v2_schema_and_logic(tmp_path, instrument, i5_orientation, runinfo, forward,
                                                            lane):  # fmt: skip
    pairs = _kit_run()
    path = write_bclconvert_sample_sheet(tmp_path / "SampleSheet.csv", "R20261205_01", pairs, i5_orientation,
                                         lane=lane, orientation_from_runinfo=runinfo)  # fmt: skip
    with path.open() as handle:
        sheet = read_samplesheetv2(handle)  # raises on any schema or logic error
    assert sheet.header["FileFormatVersion"] == 2
    assert sheet.applications["BCLConvert"]["settings"]["SoftwareVersion"] == BCL_CONVERT_VERSION
    data = sheet.applications["BCLConvert"]["data"]
    got = {row["Sample_ID"]: row["Index2"] for row in data}
    assert got == {sid: (p.i5 if forward else reverse_complement(p.i5)) for sid, p in pairs.items()}
    assert ("IndexOrientation" in sheet.header) is forward
    if forward:
        assert sheet.header["IndexOrientation"] == "Forward"
    else:
        assert "reverse complement" in sheet.header["RunDescription"]


def test_samshee_rejects_a_sheet_without_software_version(tmp_path):
    # the check can fail: the sheet oncopanel wrote before this version (no SoftwareVersion) is refused
    path = write_bclconvert_sample_sheet(tmp_path / "SampleSheet.csv", "R1", _kit_run(4))
    path.write_text("".join(ln for ln in path.read_text().splitlines(True) if not ln.startswith("SoftwareVersion")))
    with path.open() as handle, pytest.raises(SamsheeValidationException, match="SoftwareVersion"):
        read_samplesheetv2(handle)


def test_runinfo_instruments_get_no_double_reverse_complement():
    i5 = "TTGCAAGC"
    assert sample_sheet_index2(i5, "reverse_complement", orientation_from_runinfo=True) == i5
    assert sample_sheet_index2(i5, "reverse_complement") == "GCTTGCAA"
    assert sample_sheet_index2(i5, "forward") == i5
    with pytest.raises(ValueError):
        sample_sheet_index2(i5, "reverse")


@pytest.mark.parametrize("i5_orientation", ["forward", "reverse_complement"])
def test_the_demultiplexer_finds_reads_whose_index2_is_as_the_sheet_says(tmp_path, i5_orientation):
    # An instrument that takes the sheet as is writes Index2 into the read names as the sheet carries it; the
    # demultiplexer, given the kit's forward i5 and the same orientation, assigns those reads.
    pairs = _kit_run(3)
    path = write_bclconvert_sample_sheet(tmp_path / "SampleSheet.csv", "R1", pairs, i5_orientation)
    rows = path.read_text().split("[BCLConvert_Data]\n")[1].splitlines()[1:]
    r1, r2 = tmp_path / "u_R1.fastq.gz", tmp_path / "u_R2.fastq.gz"
    with gzip.open(r1, "wt") as f1, gzip.open(r2, "wt") as f2:
        for n, row in enumerate(rows):
            _sample_id, index, index2 = row.split(",")
            for mate, handle in ((1, f1), (2, f2)):
                handle.write(f"@M:1:FC:1:1:{n}:1 {mate}:N:0:{index}+{index2}\n{'ACGT' * 10}\n+\n{'I' * 40}\n")
    samples = [(sid, p.i7, p.i5) for sid, p in pairs.items()]
    stats = demultiplex(r1, r2, samples, tmp_path / "out", "illumina", i5_orientation, max_mismatches=0)
    assert stats.assigned == dict.fromkeys(pairs, 1) and stats.undetermined == 0


def test_assign_indexes_takes_the_orientation_from_the_lab_config(tmp_path, capsys):
    lab, manifest = str(DATA / "lab.yaml"), str(DATA / "manifest.tsv")
    assert main(["plan", "--manifest", manifest, "--lab", lab, "--out", str(tmp_path / "plan")]) == 0
    run_id = (tmp_path / "plan" / "runs.tsv").read_text().splitlines()[1].split("\t")[0]
    rc_lab = tmp_path / "lab.yaml"
    rc_lab.write_text(Path(lab).read_text().replace("i5_read_orientation: forward",
                                                    "i5_read_orientation: reverse_complement"))  # fmt: skip
    assert "i5_read_orientation: reverse_complement" in rc_lab.read_text()
    sheets = {}
    for name, extra in (("lab", []), ("runinfo", ["--index2-from-runinfo"])):
        out = tmp_path / name
        args = ["assign-indexes", "--manifest", manifest, "--lab", str(rc_lab), "--plan", str(tmp_path / "plan"),
                "--run", run_id, "--out", str(out), *extra]  # fmt: skip
        assert main(args) == 0
        sheets[name] = (out / "SampleSheet.csv").read_text()
        with (out / "SampleSheet.csv").open() as handle:
            read_samplesheetv2(handle)
    kit = {p.i7: p.i5 for p in load_kit(KIT)}
    for name, text in sheets.items():
        for row in text.split("[BCLConvert_Data]\n")[1].splitlines()[1:]:
            i7, index2 = row.split(",")[-2:]
            assert index2 == (kit[i7] if name == "runinfo" else reverse_complement(kit[i7]))
