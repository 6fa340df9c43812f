"""The command line as people meet it: help and defaults on every option with an example per command, logging to
stderr with -v (progress of demultiplexing and the input check), `python -m oncopanel`, `oncopanel knowledge
build`, and a one-line error for a missing file."""

from __future__ import annotations

import argparse
import json
import logging
import random
import subprocess
import sys

import pytest
from conftest import ROOT

from oncopanel.cli import EXAMPLES, _commands, build_parser, main
from oncopanel.console import configure_logging
from oncosim.batch import pool_reads, random_reads


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)]


def test_every_command_has_an_example_and_every_option_help():
    commands = dict(_commands(build_parser()))
    assert {"plan", "demux", "verify", "knowledge build", "reference prepare", "amend"} <= set(commands)
    for path, parser in commands.items():
        assert parser.epilog and f"oncopanel {path}" in parser.epilog.replace("oncopanel -v ", "oncopanel "), path
        for action in _options(parser):
            assert action.help, f"oncopanel {path} {action.option_strings or action.dest}: no help text"
    assert set(EXAMPLES) <= set(commands)  # no example for a command that does not exist (a module may give its own)


def test_help_shows_the_defaults():
    commands = dict(_commands(build_parser()))
    text = commands["demux"].format_help()
    assert "(default: illumina)" in text and "(default: forward)" in text and "(default: 1)" in text
    assert "(default: 2)" in commands["reference prepare"].format_help()  # --threads
    assert "example:" in text


def test_python_dash_m_runs_the_command_line():
    done = subprocess.run([sys.executable, "-m", "oncopanel", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.startswith("oncopanel ")


def test_a_missing_file_is_one_line_not_a_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "oncopanel", "verify", str(tmp_path / "S1.pdf")],
                          capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"oncopanel: error: {tmp_path / 'S1.pdf'}: No such file or directory"]


def test_demux_logs_progress_to_stderr_and_keeps_stdout_for_its_result(tmp_path, capsys):
    rng = random.Random(3)
    samples = tmp_path / "samples.tsv"
    indexes = {"S1": ("ACGTACGT", "TTGCAAGC"), "S2": ("TCAGCATC", "AGCTGTAC")}
    samples.write_text("sample_id\ti7\ti5\n" + "".join(f"{s}\t{a}\t{b}\n" for s, (a, b) in indexes.items()))
    pool_reads({s: random_reads(30, 50, rng) for s in indexes}, indexes, tmp_path / "u_R1.fastq.gz",
               tmp_path / "u_R2.fastq.gz")  # fmt: skip
    args = ["-v", "demux", "--r1", str(tmp_path / "u_R1.fastq.gz"), "--r2", str(tmp_path / "u_R2.fastq.gz"),
            "--samples", str(samples), "--out", str(tmp_path / "out")]  # fmt: skip
    try:
        assert main(args) == 0
    finally:
        configure_logging(0)
    out, err = capsys.readouterr()
    assert json.loads(out)["read_pairs"] > 0  # stdout is the result alone
    assert "oncopanel: INFO: demultiplexed" in err


def test_the_input_check_logs_its_progress(tmp_path, caplog):
    from oncopanel.inputs import check_batch_inputs
    from oncopanel.samplesheet import read_sample_sheet

    fai = ROOT / "resources" / "reference" / "grch38_panel_masked.fa.gz.fai"
    if not fai.exists():
        pytest.skip("needs the prepared reference (make reference)")
    from conftest import write_sheet

    from oncosim.reads import simulate_sample

    r1, r2 = simulate_sample(tmp_path / "T1", [("chr12", 25245273, 25245395, "KRAS_exon2")], [], 50, 5)
    sheet = write_sheet(tmp_path / "samples.tsv", [
        {"sample_id": "T1", "specimen_type": "tumour_ffpe", "tumour_content": "60", "oncotree_code": "LUAD",
         "panels": "EGFR_KRAS", "fastq_1": r1, "fastq_2": r2},
        {"sample_id": "T2", "specimen_type": "tumour_ffpe", "tumour_content": "60", "oncotree_code": "LUAD",
         "panels": "EGFR_KRAS", "fastq_1": tmp_path / "missing_R1.fq.gz", "fastq_2": tmp_path / "missing_R2.fq.gz"},
    ])  # fmt: skip
    samples = list(read_sample_sheet(sheet).values())
    with caplog.at_level(logging.INFO, logger="oncopanel"):
        check_batch_inputs(samples, fai, realign=False)
    messages = [r.getMessage() for r in caplog.records if r.name == "oncopanel.inputs"]
    assert "input check 2/2: T2 read" in messages or "input check 2/2: T1 read" in messages
    assert messages[-1] == "input check: 1 of 2 samples ok; failed: T2"


def test_knowledge_build_is_a_subcommand(tmp_path, capsys):
    assert main(["knowledge", "build", "--out", str(tmp_path), "--date", "2026-01-01"]) == 0
    assert capsys.readouterr().out.startswith("knowledge base 2026-01-01+")
    assert (tmp_path / "kb.tsv").exists() and (tmp_path / "kb_meta.json").exists()


def test_the_command_line_starts_without_the_heavy_libraries():
    """`oncopanel` builds every command's parser at each start: that must not load pandas, numpy or the schema
    libraries (the workflow runs `oncopanel reference targets` per panel set and batch; it cost 0.6 CPU-s, issue 21).
    A command loads what it needs when it runs."""
    code = ("import sys, json; from oncopanel.cli import build_parser; build_parser(); "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'numpy', 'pyarrow', "
            "'scipy', 'jsonschema', 'sqlalchemy', 'reportlab'})))")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
