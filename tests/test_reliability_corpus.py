"""The bad-input corpus (tests/data/bad/cases.tsv): each case meets the check meant for it and gets its exact error.

Sheet cases go through read_sample_sheet, VCF cases through annotate_vcf, FASTQ and BAM cases through
check_sample_inputs and then, all together beside good samples, through one workflow run: the good samples are
reported, each bad one gets a failed QC/result and a "TEST FAILED" report naming the sample, file and problem.
"""

from __future__ import annotations

import contextlib
import csv
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pysam
import pytest
from conftest import ROOT, run_workflow, write_sheet
from fixtures import reads_from_region

from oncopanel.errors import InputError, ValidationError
from oncopanel.failures import kind_of_input_problems
from oncopanel.inputs import PROBLEM_CODES
from oncopanel.model import Variant
from oncopanel.report.text import load_text
from oncopanel.samplesheet import Lane, Sample

BAD = ROOT / "tests" / "data" / "bad"
FAI = ROOT / "tests" / "data" / "grch38_panel_masked.fa.gz.fai"
TUMOUR = {"specimen_type": "tumour_ffpe", "tumour_content": "50", "oncotree_code": "LUAD", "panels": "EGFR_KRAS"}


@dataclass(frozen=True)
class Case:
    case: str
    kind: str
    sample_id: str
    input: str
    expect: str  # refused | accepted | gap
    message: str
    code: str  # the input check's problem code (fastq/bam/batch cases)

    @property
    def files(self) -> list[str]:
        if self.kind == "batch":  # the sheet's files
            return [f for row in _sheet_rows(self.input) for f in (row["fastq_1"], row["fastq_2"], row["bam"]) if f]
        return self.input.split(",")

    def sheet_row(self) -> dict[str, str]:
        if self.kind == "bam":
            return {"sample_id": self.sample_id, **TUMOUR, "bam": self.input}
        r1, r2 = self.files
        return {"sample_id": self.sample_id, **TUMOUR, "fastq_1": r1, "fastq_2": r2}


def _sheet_rows(sheet: str) -> list[dict[str, str]]:
    with open(ROOT / sheet) as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def load_cases() -> list[Case]:
    with open(BAD / "cases.tsv") as fh:
        rows = csv.DictReader((line for line in fh if not line.startswith("#")), delimiter="\t")
        return [Case(**row) for row in rows]


CASES = load_cases()
FILE_CASES = [c for c in CASES if c.kind in ("fastq", "bam")]


def outcome(case: Case) -> str | None:
    """The error the code gives for a case (several problems joined by newlines), or None when it is accepted.

    Runs from the repository root, as the workflow does, so messages carry the paths the sheet gives.
    """
    return outcome_and_codes(case)[0]


def outcome_and_codes(case: Case) -> tuple[str | None, list[str]]:
    """The error of a case and, for the input check's cases, its problem codes."""
    from oncopanel.annotate.vcf import annotate_vcf
    from oncopanel.inputs import check_batch_inputs, check_sample_inputs
    from oncopanel.samplesheet import read_sample_sheet

    with contextlib.chdir(ROOT):
        if case.kind == "sheet":
            try:
                read_sample_sheet(case.input)
            except ValidationError as exc:
                return "\n".join(exc.problems), []
            return None, []
        if case.kind == "vcf":
            try:
                annotate_vcf(case.input)
            except InputError as exc:
                return str(exc), []
            return None, []
        if case.kind == "batch":
            check = check_batch_inputs(list(read_sample_sheet(case.input).values()), FAI, realign=False)
            return "\n".join(check[case.sample_id].problems) or None, check[case.sample_id].problem_codes
        row = case.sheet_row()
        lane = Lane("L001", row.get("fastq_1", ""), row.get("fastq_2", ""), row.get("bam", ""))
        sample = Sample(case.sample_id, "P1", "B1", "site", "tumour_ffpe", 50.0, "LUAD", ("EGFR_KRAS",), lanes=[lane])
        check = check_sample_inputs(sample, FAI, realign=False)
        return "\n".join(check.problems) or None, check.problem_codes


def handled_as_expected(case: Case) -> bool:
    """Refused with exactly the expected message (refused and gap cases), or accepted (accepted cases)."""
    return outcome(case) == (case.message or None)


def _param(case: Case):
    marks = []
    if case.expect == "gap":
        marks = [pytest.mark.xfail(strict=True, reason=f"not refused yet: {case.message}")]
    return pytest.param(case, id=case.case, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case_gets_its_exact_error(case):
    assert outcome(case) == (case.message or None)


@pytest.mark.parametrize("case", [c for c in CASES if c.kind in ("fastq", "bam", "batch")], ids=lambda c: c.case)
def test_input_case_gets_its_problem_code(case):
    """One code per problem line, the same for every line of a case (the failure kind is chosen from it)."""
    message, codes = outcome_and_codes(case)
    assert codes == ([case.code] * len(message.splitlines()) if message else [])


def test_corpus_covers_the_issue():
    names = {c.case for c in CASES}
    wanted = {
        "truncated_gzip", "corrupt_gzip", "sequence_quality_length", "r1_r2_count_out_of_sync", "empty_fastq",
        "bam_without_index", "bam_other_build", "vcf_contig_absent_from_reference", "sheet_duplicate_id",
        "sheet_path_traversal", "sheet_non_utf8", "sheet_unknown_panel", "sheet_unknown_tumour_type",
        "sheet_index_collision", "phred64", "gzip_trailing_garbage", "gzip_zero_padding",
        "duplicate_input_across_samples", "sheet_file_under_two_samples", "bam_b37_contig_names",
    }  # fmt: skip
    assert wanted <= names
    for c in CASES:
        assert c.expect in ("refused", "accepted", "gap"), c.case
        assert bool(c.message) == (c.expect != "accepted"), c.case
        for f in c.files:
            assert (ROOT / f).exists() or c.case == "missing_fastq", f
        if c.kind in ("fastq", "bam", "batch") and c.message:
            assert c.message.startswith(f"sample {c.sample_id}: {c.files[0] if c.kind == 'bam' else ''}")
        assert bool(c.code) == (c.kind in ("fastq", "bam", "batch") and c.expect != "accepted"), c.case
        assert not c.code or c.code in PROBLEM_CODES, c.case


def test_bam_without_index_is_accepted_because_it_is_resorted():
    """No .bai is needed: import_bam collates and re-sorts the BAM, and markdup indexes the result."""
    case = next(c for c in CASES if c.case == "bam_without_index")
    assert not (ROOT / (case.input + ".bai")).exists() and not (ROOT / (case.input + ".csi")).exists()
    assert outcome(case) is None


def test_generated_files_regenerate_byte_for_byte(tmp_path):
    script = BAD / "make_bad.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, capture_output=True)
    regenerated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(BAD) for sub in ("fastq", "bam") for p in (BAD / sub).rglob("*") if p.is_file())
    assert regenerated == committed
    for rel in regenerated:
        assert (tmp_path / rel).read_bytes() == (BAD / rel).read_bytes(), rel


# ---- one workflow run: every FASTQ/BAM case beside a good simulated tumour ---------------------------------


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    from oncosim.reads import Spike, simulate_sample

    d = tmp_path_factory.mktemp("corpus_batch")
    r1, r2 = simulate_sample(
        d / "GOOD", [("chr12", 25245273, 25245395, "KRAS_exon2")], [Spike(Variant("chr12", 25245351, "C", "A"), 0.3)],
        300, 21,
    )  # fmt: skip
    rows = [{"sample_id": "OK-GOOD", **TUMOUR, "fastq_1": r1, "fastq_2": r2, "language": "en"}]
    rows += [{**c.sheet_row(), "patient": f"P{i:03d}", "language": "en"} for i, c in enumerate(FILE_CASES)]
    for case in (c for c in CASES if c.kind == "batch"):  # every sample of the case's sheet
        rows += [{**{k: v for k, v in r.items() if v}, "language": "en"} for r in _sheet_rows(case.input)]
    # one sample, two lanes: FASTQ (through fastp) and BAM (its own samtools stats); its BAM is a copy of the
    # corpus BAM with one more header line, so that no file is shared with OK-NOINDEX
    m1, m2 = reads_from_region(d / "MIXED", "chr12", 25245074, 25245595, n_pairs=300, seed=31)
    mixed_bam = d / "mixed_L002.bam"
    with pysam.AlignmentFile(str(BAD / "bam" / "grch38_noindex.bam")) as src:
        header = src.header.to_dict() | {"CO": ["lane L002 of OK-MIXED"]}
        with pysam.AlignmentFile(str(mixed_bam), "wb", header=header) as out:
            for read in src:
                out.write(read)
    mixed = {"sample_id": "OK-MIXED", **TUMOUR, "patient": "P-MIXED", "language": "en"}
    rows += [{**mixed, "lane": "L001", "fastq_1": m1, "fastq_2": m2}, {**mixed, "lane": "L002", "bam": mixed_bam}]
    # 30-base reads: fastp's --length_required 50 keeps none of them
    s1, s2 = reads_from_region(d / "SHORT", "chr12", 25245074, 25245595, n_pairs=100, seed=32, read_length=30,
                               fragment=80)  # fmt: skip
    rows.append({"sample_id": "NO-READS", **TUMOUR, "patient": "P-SHORT", "fastq_1": s1, "fastq_2": s2,
                 "language": "en"})  # fmt: skip
    sheet = write_sheet(d / "samples.tsv", rows)
    results = d / "results"
    proc = run_workflow(sheet, results)
    return {"results": results, "proc": proc}


def test_workflow_completes_beside_every_bad_file(batch):
    assert batch["proc"].returncode == 0, batch["proc"].stderr[-4000:]


@pytest.mark.parametrize("sample_id", ["OK-GOOD", "OK-NOINDEX"])
def test_good_samples_go_all_the_way(batch, sample_id):
    """Past the input check to a BAM, a VCF and a report (one exon of the panel: QC gates judge the depth)."""
    results = batch["results"]
    assert json.loads((results / "inputs" / f"{sample_id}.inputs.json").read_text())["status"] == "ok"
    assert json.loads((results / "qc" / f"{sample_id}.qc.json").read_text()).get("failure_stage") != "input"
    assert subprocess.run(["samtools", "quickcheck", str(results / "bam" / f"{sample_id}.bam")]).returncode == 0
    assert (results / "calls" / f"{sample_id}.vcf.gz").exists()
    assert (results / "reports" / f"{sample_id}.pdf").stat().st_size > 0


def test_bam_input_gets_reads_and_q30_from_the_bam(batch):
    """Q30 used to come from fastp only: every BAM input failed QC on 'q30_rate = missing'."""
    qc = json.loads((batch["results"] / "qc" / "OK-NOINDEX.qc.json").read_text())
    m = qc["metrics"]
    assert (m["raw_reads"], m["reads_after_trimming"], m["q30_rate"]) == (400, 400, 1.0)
    assert [g["pass"] for g in qc["gates"] if g["metric"] == "q30_rate"] == [True]
    assert not any("q30" in r or "missing" in r for r in qc["reasons"])


def test_sample_with_fastq_and_bam_lanes_counts_both(batch):
    results = batch["results"]
    qc = json.loads((results / "qc" / "OK-MIXED.qc.json").read_text())
    assert qc["metrics"]["raw_reads"] == 600 + 400  # fastp's 300 pairs (both mates) and the BAM's 400 reads
    assert qc["metrics"]["q30_rate"] == 1.0  # every base of both lanes is 'I' (Q40)
    with pysam.AlignmentFile(str(results / "bam" / "OK-MIXED.bam")) as bam:
        assert sorted(rg["ID"] for rg in bam.header.to_dict()["RG"]) == ["OK-MIXED.L001", "OK-MIXED.L002"]
    assert json.loads((results / "result" / "OK-MIXED.result.json").read_text())["sample"]["sample_id"] == "OK-MIXED"


def test_no_reads_after_trimming_is_said_plainly(batch):
    results = batch["results"]
    qc = json.loads((results / "qc" / "NO-READS.qc.json").read_text())
    reason = (
        "no reads left after trimming: none of the 200 reads passed fastp's filters (read length, quality, N bases)"
    )
    assert (qc["status"], qc["reasons"], qc["reason_codes"]) == ("fail", [reason], ["no_reads_after_trimming"])
    text = " ".join(pdf_text(results / "reports" / "NO-READS.pdf").split())
    assert reason in text and "Q30 base rate" not in text


def test_good_tumour_keeps_its_variant(batch):
    with pysam.VariantFile(str(batch["results"] / "calls" / "OK-GOOD.vcf.gz")) as vcf:
        assert [(r.pos, r.ref, r.alts) for r in vcf if r.pos == 25245351] == [(25245351, "C", ("A",))]


def assert_failed_with_message(results: Path, case: Case) -> None:
    sid = case.sample_id
    check = json.loads((results / "inputs" / f"{sid}.inputs.json").read_text())
    assert (check["status"], check["problems"], check["problem_codes"]) == ("failed", [case.message], [case.code])
    qc = json.loads((results / "qc" / f"{sid}.qc.json").read_text())
    assert (qc["status"], qc["failure_stage"], qc["reasons"]) == ("failed", "input", [case.message])
    result = json.loads((results / "result" / f"{sid}.result.json").read_text())
    kind = kind_of_input_problems([case.code]).value  # reports/failure_kinds.yaml
    failure = result["failure"]
    assert (result["status"], failure["kind"], failure["reasons"]) == ("failed", kind, [case.message])
    assert not (results / "bam" / f"{sid}.bam").exists()
    batch_log = "".join(p.read_text() for p in (results / "logs" / "inputs").glob("*.log"))  # one log per batch
    assert f"INPUT FAILED: {case.message}" in batch_log
    text = " ".join(pdf_text(results / "reports" / f"{sid}.pdf").split())
    t = load_text(result["sample"]["language"] or "zh")
    assert " ".join(t(f"failure.kinds.{kind}.banner").split()) in text
    assert " ".join(t("failure.kinds.new_specimen.banner").split()) not in text  # a file's fault, not the specimen's
    # the file's problem is the lab's to fix: printed only where the lab re-tests (no reads), else in its logs
    assert (" ".join(case.message.split()) in text) == (kind == "retest")


@pytest.mark.parametrize("case", [c for c in FILE_CASES if c.expect == "refused"], ids=lambda c: c.case)
def test_bad_sample_fails_alone_with_its_message(batch, case):
    assert_failed_with_message(batch["results"], case)


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "batch"], ids=lambda c: c.case)
def test_identical_input_fails_both_samples_by_name(batch, case):
    assert_failed_with_message(batch["results"], case)
    for row in _sheet_rows(case.input):
        check = json.loads((batch["results"] / "inputs" / f"{row['sample_id']}.inputs.json").read_text())
        assert check["status"] == "failed" and check["problem_codes"] == [case.code]
        others = {r["sample_id"] for r in _sheet_rows(case.input)} - {row["sample_id"]}
        assert all(any(f"of sample {o} " in p for p in check["problems"]) for o in others)


def test_batch_of_only_bad_inputs_completes(tmp_path):
    case = next(c for c in CASES if c.case == "truncated_gzip")
    sheet = write_sheet(tmp_path / "samples.tsv", [{**case.sheet_row(), "language": "en"}])
    proc = run_workflow(sheet, tmp_path / "results")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_failed_with_message(tmp_path / "results", case)
