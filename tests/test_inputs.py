"""Per-sample input checks: each bad input fails with one line naming the sample, the file and the problem."""

from __future__ import annotations

import gzip
from pathlib import Path

from fixtures import drop_last_records, grch37_bam, reads_from_region, truncated_copy

import oncopanel.inputs as inputs
from oncopanel.reference import identify_build, read_chromosome_lengths
from oncopanel.samplesheet import Lane, Sample

FAI = Path(__file__).resolve().parent / "data" / "grch38_panel_masked.fa.gz.fai"
REAL = Path(__file__).resolve().parent.parent / "demo" / "real_reads" / "NA12878_BRCA1"


def check_fastq_pair(sample_id, r1, r2):
    """Messages (the codes are asserted where they matter) and file checks."""
    problems, checks = inputs.check_fastq_pair(sample_id, r1, r2)
    return [p.message for p in problems], checks


def check_bam(sample_id, bam, fai, realign):
    problems, check = inputs.check_bam(sample_id, bam, fai, realign)
    return [p.message for p in problems], check


def codes(problems_and_files) -> list[str]:
    return [p.code for p in problems_and_files[0]]


def test_good_pair_counts_reads_and_hashes(tmp_path):
    r1, r2 = reads_from_region(tmp_path / "ok", "chr12", 25245000, 25245700, n_pairs=50)
    problems, checks = check_fastq_pair("S1", r1, r2)
    assert problems == []
    assert [c.reads for c in checks] == [50, 50]
    import hashlib

    assert checks[0].sha256 == hashlib.sha256(r1.read_bytes()).hexdigest()


def test_truncated_gzip(tmp_path):
    r1, r2 = reads_from_region(tmp_path / "t", "chr12", 25245000, 25245700, n_pairs=2000)
    bad = truncated_copy(r1, tmp_path / "trunc_R1.fastq.gz")
    problems, _ = check_fastq_pair("S9", bad, r2)
    assert problems == [f"sample S9: {bad}: truncated gzip (file ends mid-stream)"]


def test_corrupt_gzip(tmp_path):
    r1, r2 = reads_from_region(tmp_path / "c", "chr12", 25245000, 25245700, n_pairs=200)
    data = bytearray(r1.read_bytes())
    data[40:60] = b"\x00" * 20
    bad = tmp_path / "corrupt_R1.fastq.gz"
    bad.write_bytes(bytes(data))
    problems, _ = check_fastq_pair("S9", bad, r2)
    assert len(problems) == 1 and problems[0].startswith(f"sample S9: {bad}: corrupt gzip")


def test_r1_r2_count_differs(tmp_path):
    r1, r2 = reads_from_region(tmp_path / "s", "chr12", 25245000, 25245700, n_pairs=30)
    short = drop_last_records(r2, tmp_path / "short_R2.fastq.gz", 3)
    problems, _ = check_fastq_pair("S2", r1, short)
    assert problems == [
        f"sample S2: {short}: R1/R2 out of sync: short_R2.fastq.gz ends after 27 reads while ok_R1.fastq.gz has more"
        .replace("ok_R1", "s_R1")
    ]


def test_sequence_quality_length_mismatch(tmp_path):
    r1, r2 = reads_from_region(tmp_path / "q", "chr12", 25245000, 25245700, n_pairs=5)
    with gzip.open(r1, "rt") as fh:
        lines = fh.read().splitlines()
    lines[7] = lines[7][:-3]  # quality of record 2 three bases short
    bad = tmp_path / "qual_R1.fastq.gz"
    bad.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    problems, _ = check_fastq_pair("S3", bad, r2)
    assert problems == [
        f"sample S3: {bad}: malformed FASTQ, record 2: sequence length 100 differs from quality length 97"
    ]


def test_empty_and_missing_fastq(tmp_path):
    empty1, empty2 = tmp_path / "e_R1.fastq.gz", tmp_path / "e_R2.fastq.gz"
    for p in (empty1, empty2):
        p.write_bytes(gzip.compress(b""))
    assert check_fastq_pair("S4", empty1, empty2)[0] == [f"sample S4: {empty1}: empty FASTQ (no reads)"]
    missing = tmp_path / "nope_R1.fastq.gz"
    assert check_fastq_pair("S5", missing, empty2)[0] == [f"sample S5: {missing}: file not found"]


def test_bam_of_another_build_refused(tmp_path):
    bam = grch37_bam(tmp_path / "old.bam")
    problems, _ = check_bam("S6", bam, FAI, realign=False)
    assert problems == [f"sample S6: {bam}: aligned to GRCh37, not GRCh38 (set realign: true to realign it)"]
    assert check_bam("S6", bam, FAI, realign=True)[0] == []


def test_identify_build_from_header_lengths():
    lengths = read_chromosome_lengths()
    assert identify_build({"chr12": lengths["GRCh38"]["chr12"]}) == "GRCh38"
    assert identify_build({"12": lengths["GRCh37"]["12"]}) == "GRCh37"
    assert identify_build({"chr12": lengths["GRCh37"]["12"]}) == "GRCh37"  # hg19 naming
    assert identify_build({"chr12": 1234}) == "unknown"


def test_truncated_bam(tmp_path):
    bam = grch37_bam(tmp_path / "whole.bam")
    cut = tmp_path / "cut.bam"
    cut.write_bytes(bam.read_bytes()[:-28])
    assert check_bam("S7", cut, FAI, realign=False)[0] == [f"sample S7: {cut}: truncated BAM (no end-of-file marker)"]


def test_codes_of_the_classic_cases(tmp_path):
    r1, r2 = reads_from_region(tmp_path / "k", "chr12", 25245000, 25245700, n_pairs=2000)
    assert codes(inputs.check_fastq_pair("S", truncated_copy(r1, tmp_path / "t_R1.fastq.gz"), r2)) == [
        "truncated_gzip"
    ]
    assert codes(inputs.check_fastq_pair("S", tmp_path / "none_R1.fastq.gz", r2)) == ["file_not_found"]
    short = drop_last_records(r2, tmp_path / "short_R2.fastq.gz", 1)
    assert codes(inputs.check_fastq_pair("S", r1, short)) == ["pairs_out_of_sync"]
    assert codes(inputs.check_bam("S", grch37_bam(tmp_path / "o.bam"), FAI, realign=False)) == ["wrong_build"]


def _write_fastq_gz(path: Path, records: list[tuple[str, str, str]]) -> Path:
    with gzip.GzipFile(path, "wb", mtime=0) as out:
        out.write("".join(f"@{n}\n{s}\n+\n{q}\n" for n, s, q in records).encode())
    return path


def _real_records(path: Path, n: int) -> list[tuple[str, str, str]]:
    with gzip.open(path, "rt") as fh:
        lines = [next(fh).rstrip("\n") for _ in range(4 * n)]
    return [(lines[i][1:], lines[i + 1], lines[i + 3]) for i in range(0, len(lines), 4)]


def test_phred64_refused_in_one_line(tmp_path):
    """Real HiSeq reads re-encoded +31: read as Phred+33 they would all be Q30+ (a Q30 rate of 1.0)."""
    pairs = []
    for mate, src in ((1, REAL / "BRCA1_R1.fastq.gz"), (2, REAL / "BRCA1_R2.fastq.gz")):
        recs = [(n, s, "".join(chr(ord(c) + 31) for c in q)) for n, s, q in _real_records(src, 200)]
        pairs.append(_write_fastq_gz(tmp_path / f"p64_R{mate}.fastq.gz", recs))
    problems, _ = inputs.check_fastq_pair("S64", *pairs)
    assert [p.code for p in problems] == ["phred64"]
    assert problems[0].message == (
        f"sample S64: {pairs[0]}: Phred+64 quality encoding (quality characters 'E' to 'i'); the pipeline reads "
        "Phred+33: convert it first (e.g. seqtk seq -V -Q64)"
    )


def test_phred33_real_reads_and_all_high_synthetic_reads_accepted(tmp_path):
    assert check_fastq_pair("S", REAL / "BRCA1_R1.fastq.gz", REAL / "BRCA1_R2.fastq.gz")[0] == []
    r1, r2 = reads_from_region(tmp_path / "hi", "chr12", 25245000, 25245700, n_pairs=20)  # every quality 'I'
    assert check_fastq_pair("S", r1, r2)[0] == []


def test_gzip_trailing_bytes_and_zero_padding_refused(tmp_path):
    """fastp (igzip) stops on both with 'invalid gzip header found'; Python's gzip skipped the zero padding."""
    r1, r2 = reads_from_region(tmp_path / "g", "chr12", 25245000, 25245700, n_pairs=50)
    size = r1.stat().st_size
    junk = tmp_path / "junk_R1.fastq.gz"
    junk.write_bytes(r1.read_bytes() + b"GATTACA\n")
    padded = tmp_path / "pad_R1.fastq.gz"
    padded.write_bytes(r1.read_bytes() + b"\x00" * 4096)
    problems, checks = inputs.check_fastq_pair("SG", junk, r2)
    assert [(p.code, p.message) for p in problems] == [
        (
            "gzip_trailing_data",
            f"sample SG: {junk}: gzip data ends at byte {size:,} and is followed by 8 bytes that are not gzip "
            "(starting b'GATTACA\\n'); fastp's decoder refuses them",
        )
    ]
    import hashlib

    assert checks[0].sha256 == hashlib.sha256(junk.read_bytes()).hexdigest()  # hashed to the end all the same
    problems, _ = inputs.check_fastq_pair("SG", padded, r2)
    assert [(p.code, p.message) for p in problems] == [
        (
            "gzip_trailing_data",
            f"sample SG: {padded}: gzip data ends at byte {size:,} and is followed by 4,096 zero bytes of padding "
            "(fastp's decoder refuses them: 'invalid gzip header')",
        )
    ]


def test_multi_member_gzip_accepted(tmp_path):
    """Concatenated gzip members (as from `cat a.gz b.gz`) are valid gzip; fastp reads them."""
    r1, r2 = reads_from_region(tmp_path / "m", "chr12", 25245000, 25245700, n_pairs=30)
    both1, both2 = tmp_path / "both_R1.fastq.gz", tmp_path / "both_R2.fastq.gz"
    both1.write_bytes(r1.read_bytes() * 2)
    both2.write_bytes(r2.read_bytes() * 2)
    problems, checks = check_fastq_pair("SM", both1, both2)
    assert problems == [] and checks[0].reads == 60


def test_plain_fastq_named_gz_refused(tmp_path):
    r1, r2 = reads_from_region(tmp_path / "p", "chr12", 25245000, 25245700, n_pairs=5)
    plain = tmp_path / "plain_R1.fastq.gz"
    plain.write_bytes(gzip.decompress(r1.read_bytes()))
    problems, _ = inputs.check_fastq_pair("SP", plain, r2)
    assert [(p.code, p.message) for p in problems] == [
        ("not_gzip", f"sample SP: {plain}: not gzip-compressed although named .gz (starts b'@SIM')")
    ]


def test_mate_names_compared_exactly(tmp_path):
    """dnaio's is_mate takes r11 and r12 for mates (it drops a trailing 1/2); the check must not."""
    r1 = _write_fastq_gz(tmp_path / "n_R1.fastq.gz", [("r11/1", "ACGT", "IIII")])
    r2 = _write_fastq_gz(tmp_path / "n_R2.fastq.gz", [("r12/2", "ACGT", "IIII")])
    assert check_fastq_pair("SN", r1, r2)[0] == [
        f"sample SN: {r2}: R1/R2 out of sync at read 1: mate names 'r11' and 'r12' differ"
    ]


def _bam_with_header(path: Path, sq: dict[str, int]) -> Path:
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": c, "LN": n} for c, n in sq.items()]}
    import pysam

    with pysam.AlignmentFile(str(path), "wb", header=header):
        pass
    return path


def test_b37_style_names_say_what_they_are(tmp_path):
    grch38 = read_chromosome_lengths()["GRCh38"]
    renamed = _bam_with_header(
        tmp_path / "ens.bam", {c.removeprefix("chr").replace("M", "MT"): n for c, n in grch38.items()}
    )
    problems, _ = inputs.check_bam("SB", renamed, FAI, realign=False)
    assert [(p.code, p.message) for p in problems] == [
        (
            "contig_names",
            f"sample SB: {renamed}: GRCh38 lengths but b37-style contig names (1, 2, …, without 'chr'), while the "
            "reference names them chr1, chr2, …: rename the contigs (e.g. samtools reheader) so that '1' reads "
            "'chr1'",
        )
    ]
    odd = _bam_with_header(tmp_path / "odd.bam", {"1": 1000, "2": 2000})
    assert check_bam("SB", odd, FAI, realign=False)[0] == [
        f"sample SB: {odd}: aligned to an unknown build with b37-style contig names (1, 2, …, without 'chr') whose "
        "lengths match neither GRCh38 nor GRCh37, not GRCh38"
    ]
    chr_odd = _bam_with_header(tmp_path / "chrodd.bam", {"chr12": 1234})
    assert check_bam("SB", chr_odd, FAI, realign=False)[0] == [
        f"sample SB: {chr_odd}: aligned to an unknown build (chr12 is 1,234 bp; in GRCh38 it is 133,275,309 bp), "
        "not GRCh38"
    ]


def _sample(sid: str, r1: Path, r2: Path) -> Sample:
    return Sample(sid, f"P-{sid}", "B1", "site", "tumour_ffpe", 50.0, "LUAD", ("EGFR_KRAS",),
                  lanes=[Lane("L001", str(r1), str(r2))])  # fmt: skip


def test_identical_files_under_two_samples_refused_naming_both(tmp_path):
    r1, r2 = reads_from_region(tmp_path / "a", "chr12", 25245000, 25245700, n_pairs=20)
    c1, c2 = tmp_path / "copy_R1.fastq.gz", tmp_path / "copy_R2.fastq.gz"
    c1.write_bytes(r1.read_bytes())
    c2.write_bytes(r2.read_bytes())
    o1, o2 = reads_from_region(tmp_path / "o", "chr12", 25245000, 25245700, n_pairs=20, seed=5)
    samples = [_sample("PA", r1, r2), _sample("PB", c1, c2), _sample("PC", o1, o2)]
    checks = inputs.check_batch_inputs(samples, FAI, False)
    assert checks["PC"].ok
    assert checks["PA"].problems == [
        f"sample PA: {r1}: identical to {c1} of sample PB (same SHA-256); one sequencing file cannot belong to two "
        "samples",
        f"sample PA: {r2}: identical to {c2} of sample PB (same SHA-256); one sequencing file cannot belong to two "
        "samples",
    ]
    assert checks["PB"].problem_codes == ["duplicate_input", "duplicate_input"]
    assert checks["PB"].problems[0].startswith(f"sample PB: {c1}: identical to {r1} of sample PA")
    doc = checks["PB"].as_dict()
    assert doc["status"] == "failed" and len(doc["problems"]) == len(doc["problem_codes"]) == 2


def test_lanes_of_one_sample_may_not_collide_but_empty_files_do_not_count(tmp_path):
    """Two samples with byte-identical empty FASTQs each fail as empty, not as each other's duplicate."""
    e1, e2 = tmp_path / "e_R1.fastq.gz", tmp_path / "e_R2.fastq.gz"
    for p in (e1, e2):
        p.write_bytes(gzip.compress(b"", mtime=0))
    f1, f2 = tmp_path / "f_R1.fastq.gz", tmp_path / "f_R2.fastq.gz"
    for p in (f1, f2):
        p.write_bytes(gzip.compress(b"", mtime=0))
    checks = inputs.check_batch_inputs([_sample("E1", e1, e2), _sample("E2", f1, f2)], FAI, False)
    assert checks["E1"].problem_codes == checks["E2"].problem_codes == ["empty_fastq"]


def test_every_code_given_is_listed():
    """The integrator maps codes to failure kinds from PROBLEM_CODES: a code missing there would have no kind."""
    import re

    source = Path(inputs.__file__).read_text()
    given = set(re.findall(r'(?:Problem|InputFileError|refuse)\(\s*"([a-z0-9_]+)"', source))
    given |= set(re.findall(r'return "([a-z0-9_]+)", ', source))
    assert given == set(inputs.PROBLEM_CODES)
