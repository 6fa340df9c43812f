"""Demultiplexing: each sample's reads recovered exactly from a pooled file built with known indexes."""

import gzip
import json
import random

import pytest

from oncopanel.batch.demux import demultiplex, index_lookup
from oncopanel.batch.indexes import load_kit, reverse_complement
from oncopanel.errors import InputError, ValidationError
from oncopanel.paths import ANNOTATION
from oncosim.batch import pool_fastqs, pool_reads, random_reads

KIT = load_kit(ANNOTATION / "index_kits" / "oncopanel_udi96.tsv")
IDS = [f"OP{n:03d}" for n in range(6)]
INDEXES = {sid: (KIT[n].i7, KIT[n].i5) for n, sid in enumerate(IDS)}


@pytest.fixture(scope="module")
def reads():
    rng = random.Random(3)
    return {sid: random_reads(150 + 20 * n, 75, rng) for n, sid in enumerate(IDS)}


def _records(path):
    """FASTQ records as bytes, in file order."""
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    return [b"".join(lines[i : i + 4]) for i in range(0, len(lines), 4)]


@pytest.mark.parametrize("platform", ["illumina", "mgi"])
@pytest.mark.parametrize("orientation", ["forward", "reverse_complement"])
def test_each_sample_recovered_exactly(tmp_path, reads, platform, orientation):
    r1, r2 = tmp_path / "Undetermined_S0_R1.fastq.gz", tmp_path / "Undetermined_S0_R2.fastq.gz"
    truth = pool_reads(reads, INDEXES, r1, r2, platform, orientation, error_rate=0.08, hop_rate=0.03,
                       unknown_rate=0.02, seed=5)  # fmt: skip
    assert truth.hopped > 0 and truth.unknown > 0 and sum(truth.corrected.values()) > 0
    samples = [(sid, *INDEXES[sid]) for sid in IDS]
    stats = demultiplex(r1, r2, samples, tmp_path / "out", platform, orientation, max_mismatches=1)
    for sid in IDS:
        assert _records(tmp_path / "out" / f"{sid}_R1.fastq.gz") == [a for a, _ in truth.expected[sid]]
        assert _records(tmp_path / "out" / f"{sid}_R2.fastq.gz") == [b for _, b in truth.expected[sid]]
        assert stats.assigned[sid] == len(truth.expected[sid])
        assert stats.corrected[sid] == truth.corrected[sid]  # reads with one index error, rescued
    assert stats.hopped == truth.hopped
    assert stats.undetermined == truth.hopped + truth.unknown
    assert stats.read_pairs == sum(len(r) for r in reads.values())
    assert len(_records(tmp_path / "out" / "Undetermined_R1.fastq.gz")) == stats.undetermined
    # Hopped pairs are named by the two samples whose indexes met.
    assert all(" i7, " in key and key.endswith(" i5)") for key in stats.hopped_pairs)
    assert len(stats.top_unknown_barcodes) == min(20, truth.unknown)
    assert all(len(b) == 17 and b[8] == "+" for b in stats.top_unknown_barcodes)
    assert not list((tmp_path / "out").glob(".*tmp"))  # temporaries renamed


def test_mgi_read_two_loses_its_barcode(tmp_path, reads):
    r1, r2 = tmp_path / "u_1.fq.gz", tmp_path / "u_2.fq.gz"
    pool_reads(reads, INDEXES, r1, r2, "mgi", error_rate=0, hop_rate=0, unknown_rate=0)
    raw = _records(r2)[0].split(b"\n")
    assert raw[0].startswith(b"@V350000001L1C") and raw[0].endswith(b"/2")
    assert len(raw[1]) == 75 + 16
    demultiplex(r1, r2, [(s, *INDEXES[s]) for s in IDS], tmp_path / "out", "mgi")
    for sid in IDS:
        for record in _records(tmp_path / "out" / f"{sid}_R2.fastq.gz"):
            seq, qual = record.split(b"\n")[1], record.split(b"\n")[3]
            assert len(seq) == len(qual) == 75


def test_exact_matching_only_sends_corrected_reads_to_undetermined(tmp_path, reads):
    r1, r2 = tmp_path / "u_R1.fastq.gz", tmp_path / "u_R2.fastq.gz"
    truth = pool_reads(reads, INDEXES, r1, r2, error_rate=0.08, hop_rate=0.03, unknown_rate=0.02, seed=5)
    stats = demultiplex(r1, r2, [(s, *INDEXES[s]) for s in IDS], tmp_path / "out", max_mismatches=0)
    for sid in IDS:
        assert stats.assigned[sid] == len(truth.expected[sid]) - truth.corrected[sid]
    assert stats.undetermined == truth.hopped + truth.unknown + sum(truth.corrected.values())


def test_wrong_i5_orientation_assigns_nothing(tmp_path, reads):
    r1, r2 = tmp_path / "u_R1.fastq.gz", tmp_path / "u_R2.fastq.gz"
    pool_reads(reads, INDEXES, r1, r2, i5_orientation="reverse_complement", error_rate=0, hop_rate=0, unknown_rate=0)
    stats = demultiplex(r1, r2, [(s, *INDEXES[s]) for s in IDS], tmp_path / "out", i5_orientation="forward")
    assert sum(stats.assigned.values()) == 0
    # The report shows why: the unknown barcodes are the expected i7 with reverse-complemented i5.
    i7, i5 = INDEXES[IDS[-1]]
    assert f"{i7}+{reverse_complement(i5)}" in stats.top_unknown_barcodes


def test_mismatch_correction_only_where_unambiguous():
    # Two i7s at distance 2: a read one error from both cannot be placed; one error from only one can.
    table, ambiguous = index_lookup(["ACGTACGT", "ACGTACCA"], max_mismatches=1)
    assert ambiguous == 2  # ACGTACCT and ACGTACGA are one substitution from each
    assert b"ACGTACCT" not in table and b"ACGTACGA" not in table
    assert table[b"ACGTACGT"] == (0, 0) and table[b"ACGTACCA"] == (1, 0)
    assert table[b"NCGTACGT"] == (0, 1)


def test_reports_written(tmp_path, reads):
    r1, r2 = tmp_path / "u_R1.fastq.gz", tmp_path / "u_R2.fastq.gz"
    truth = pool_reads(reads, INDEXES, r1, r2, seed=9)
    stats = demultiplex(r1, r2, [(s, *INDEXES[s]) for s in IDS], tmp_path / "out")
    report = json.loads((tmp_path / "out" / "demux_report.json").read_text())
    assert report["assigned"] == stats.assigned and report["hopped"] == truth.hopped
    rows = [line.split("\t") for line in (tmp_path / "out" / "demux_counts.tsv").read_text().splitlines()]
    assert rows[0] == ["sample_id", "i7", "i5", "read_pairs", "corrected_index", "fraction"]
    assert [r[0] for r in rows[1:]] == [*IDS, "Undetermined", "index_hopped"]
    assert int(rows[1][3]) == stats.assigned[IDS[0]]


def test_sample_without_reads_gets_empty_valid_files(tmp_path, reads):
    r1, r2 = tmp_path / "u_R1.fastq.gz", tmp_path / "u_R2.fastq.gz"
    pool_reads({IDS[0]: reads[IDS[0]]}, INDEXES, r1, r2)
    stats = demultiplex(r1, r2, [(s, *INDEXES[s]) for s in IDS[:2]], tmp_path / "out")
    assert stats.assigned[IDS[1]] == 0
    assert gzip.decompress((tmp_path / "out" / f"{IDS[1]}_R1.fastq.gz").read_bytes()) == b""


def test_truncated_or_unpaired_input_refused_and_nothing_left_behind(tmp_path, reads):
    r1, r2 = tmp_path / "u_R1.fastq.gz", tmp_path / "u_R2.fastq.gz"
    pool_reads(reads, INDEXES, r1, r2)
    lines = gzip.decompress(r2.read_bytes()).splitlines(keepends=True)
    short = tmp_path / "short_R2.fastq.gz"
    short.write_bytes(gzip.compress(b"".join(lines[:-4])))
    with pytest.raises(InputError, match="different numbers of reads"):
        demultiplex(r1, short, [(s, *INDEXES[s]) for s in IDS], tmp_path / "out")
    assert not list((tmp_path / "out").iterdir())
    swapped = tmp_path / "swapped_R2.fastq.gz"
    swapped.write_bytes(gzip.compress(b"".join(lines[4:8] + lines[0:4] + lines[8:])))
    with pytest.raises(InputError, match="mates out of step"):
        demultiplex(r1, swapped, [(s, *INDEXES[s]) for s in IDS], tmp_path / "out")


@pytest.mark.parametrize("platform", ["illumina", "mgi"])
def test_demo_pooler_streams_sample_fastqs_into_a_run_demux_can_split(tmp_path, reads, platform):
    inputs = []
    for sid in IDS[:3]:
        r1, r2 = tmp_path / f"{sid}_1.fq", tmp_path / f"{sid}_2.fq"
        r1.write_text("".join(f"@{sid}-{n}/1\n{a}\n+\n{qa}\n" for n, (a, qa, _b, _qb) in enumerate(reads[sid])))
        r2.write_text("".join(f"@{sid}-{n}/2\n{b}\n+\n{qb}\n" for n, (_a, _qa, b, qb) in enumerate(reads[sid])))
        inputs.append((sid, r1, r2, *INDEXES[sid]))
    pooled = tmp_path / "pool_R1.fastq.gz", tmp_path / "pool_R2.fastq.gz"
    expected = pool_fastqs(inputs, *pooled, platform=platform, i5_orientation="reverse_complement", seed=2)
    stats = demultiplex(*pooled, [(s, *INDEXES[s]) for s in IDS[:3]], tmp_path / "out", platform,
                        "reverse_complement")  # fmt: skip
    assert stats.assigned == expected
    assert stats.read_pairs == sum(len(reads[s]) for s in IDS[:3])
    if platform == "illumina":  # names kept, so each read comes back to the sample it was taken from
        for sid in IDS[:3]:
            names = [r.split(b" ")[0] for r in _records(tmp_path / "out" / f"{sid}_R1.fastq.gz")]
            assert all(n.startswith(f"@{sid}-".encode()) for n in names)


def test_corrupt_gzip_refused(tmp_path, reads):
    r1, r2 = tmp_path / "u_R1.fastq.gz", tmp_path / "u_R2.fastq.gz"
    pool_reads(reads, INDEXES, r1, r2)
    data = r1.read_bytes()
    r1.write_bytes(data[: len(data) // 2])  # cut mid-stream: gzip reports an unexpected end of file
    with pytest.raises(InputError):
        demultiplex(r1, r2, [(s, *INDEXES[s]) for s in IDS], tmp_path / "out")
    assert not list((tmp_path / "out").glob("*.fastq.gz"))


def test_bad_sample_list_refused_with_every_problem(tmp_path):
    with pytest.raises(ValidationError) as err:
        demultiplex(tmp_path / "a.fq", tmp_path / "b.fq", [("../x", "ACGTACGT", "ACGTNCGT"), ("A1", "ACGT", ""),
                    ("A1", "TTTTAAAA", "CCCCGGGG")], tmp_path / "out")  # fmt: skip
    assert err.value.problems == [
        "demultiplex: sample id '../x' is not a pseudonymous id usable as a file name",
        "demultiplex: sample ../x: i5 'ACGTNCGT' is not an ACGT index",
        "demultiplex: sample A1: i5 '' is not an ACGT index",
        "demultiplex: sample id 'A1' given twice",
    ]
