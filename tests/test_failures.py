"""Every reason a sample can end without findings maps to one failure kind, and only the specimen's own QC asks
for a new specimen."""

from __future__ import annotations

import csv

import pytest
import yaml

from oncopanel.failures import (
    FailureKind,
    gravest,
    kind_of_gates,
    kind_of_input_problems,
    kind_of_qc_reasons,
    next_report_date,
    policy,
)
from oncopanel.inputs import PROBLEM_CODES
from oncopanel.qc import NO_READS_AFTER_TRIMMING


def test_every_input_problem_code_has_a_kind_and_none_asks_for_a_new_specimen():
    assert set(policy()["input_problems"]) == set(PROBLEM_CODES)
    kinds = {code: kind_of_input_problems([code]) for code in PROBLEM_CODES}
    assert FailureKind.NEW_SPECIMEN not in kinds.values()  # a file's fault is never the specimen's
    assert kinds["truncated_gzip"] == kinds["gzip_trailing_data"] == FailureKind.ANALYSIS_INCOMPLETE
    assert kinds["empty_fastq"] == FailureKind.RETEST and kinds["duplicate_input"] == FailureKind.HELD


def test_every_configured_gate_and_every_corpus_case_has_a_kind(repo_root):
    gates = yaml.safe_load((repo_root / "config/config.yaml").read_text())["qc"]["gates"]
    overrides = [rows for group in ("specimen_type", "input_kind") for rows in gates[group].values()]
    assert {g["metric"] for rows in [gates["default"], *overrides] for g in rows} <= set(policy()["gates"])
    with open(repo_root / "tests/data/bad/cases.tsv") as fh:
        rows = csv.DictReader((line for line in fh if not line.startswith("#")), delimiter="\t")
        codes = {row["code"] for row in rows if row["code"]}
    assert codes and codes <= set(policy()["input_problems"])
    assert NO_READS_AFTER_TRIMMING in policy()["qc_reasons"]


@pytest.mark.parametrize(
    "codes, kind",
    [
        (["gate:mean_target_depth"], "retest"),
        (["gate:q30_rate", "gate:duplicate_rate"], "retest"),
        (["gate:median_insert_size", "gate:mean_target_depth"], "new_specimen"),  # the specimen's fault decides
        ([NO_READS_AFTER_TRIMMING], "retest"),
        (["truncated_gzip"], "analysis_incomplete"),
        (["gate:a_misspelt_metric"], "analysis_incomplete"),  # a configuration fault, never a new specimen
        (["something unknown"], "analysis_incomplete"),
    ],
)
def test_qc_reason_codes_map_to_one_kind(codes, kind):
    assert kind_of_qc_reasons(codes) == FailureKind(kind)


def test_gravest_and_gates():
    assert gravest([FailureKind.HELD, FailureKind.RETEST]) == FailureKind.RETEST
    assert gravest([]) == FailureKind.ANALYSIS_INCOMPLETE
    assert kind_of_gates(["mapped_rate"]) == FailureKind.RETEST


@pytest.mark.parametrize(
    "kind, day, expected",
    [
        ("analysis_incomplete", "2026-11-27", "2026-12-01"),  # Friday + 2 working days
        ("retest", "2026-11-25", "2026-12-04"),  # Wednesday + 7 working days
        ("held", "2026-11-30", "2026-12-03"),
        ("new_specimen", "2026-11-30", ""),  # the lab waits for the specimen: no date it can promise
        ("retest", "", ""),
    ],
)
def test_next_report_date_counts_working_days(kind, day, expected):
    assert next_report_date(FailureKind(kind), day) == expected
