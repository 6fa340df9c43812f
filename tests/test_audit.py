"""The audit chain: intact when untouched; an edited or removed entry is found; appends from several processes
keep one chain; a released result's anchor finds a truncated or rewritten log."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from pathlib import Path

import pytest

from oncopanel.assemble import failed_result
from oncopanel.audit import (
    ANCHOR_HEAD,
    ANCHOR_INDEX,
    Anchor,
    append,
    append_entry,
    record_release,
    result_digest,
    verify,
    verify_results,
    with_anchor,
)
from oncopanel.cli import main
from oncopanel.report.result import validate_result, write_result
from oncopanel.samplesheet import Lane, Sample


def make_log(tmp_path):
    log = tmp_path / "audit.log"
    for i in range(4):
        append_entry(log, "job_finished", {"sample": f"S{i}", "output_sha256": f"{i:064x}"})
    return log


def test_intact_chain_verifies(tmp_path, capsys):
    log = make_log(tmp_path)
    assert verify(log).ok and verify(log).entries == 4
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    assert main(["audit", "verify", str(log)]) == 0
    assert "audit chain intact (4 entries)" in capsys.readouterr().out


def test_edited_line_breaks_the_chain(tmp_path, capsys):
    log = make_log(tmp_path)
    lines = log.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["details"]["sample"] = "S9"
    lines[1] = json.dumps(entry, sort_keys=True)
    log.write_text("\n".join(lines) + "\n")
    verdict = verify(log)
    assert not verdict.ok
    assert verdict.problem.endswith("line 3: chain broken (the entry before it was edited or removed)")
    assert main(["audit", "verify", str(log)]) == 1


def test_removed_line_breaks_the_chain(tmp_path):
    log = make_log(tmp_path)
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    assert "line 2: chain broken" in verify(log).problem


def test_append_returns_the_head_hash_and_index(tmp_path):
    log = tmp_path / "audit.log"
    heads = [append_entry(log, "e", {"n": n}) for n in range(3)]
    lines = log.read_text().splitlines()
    assert heads == [hashlib.sha256(line.encode()).hexdigest() for line in lines]
    assert [json.loads(line)["index"] for line in lines] == [0, 1, 2]
    assert append(log, "e", {}).entry_index == 3


def test_a_log_of_the_older_format_goes_on_at_the_right_index(tmp_path):
    log = tmp_path / "audit.log"
    previous, lines = "0" * 64, []
    for _ in range(2):  # entries without "index", as written before anchors existed
        line = json.dumps({"event": "run_started", "details": {}, "previous_sha256": previous}, sort_keys=True)
        previous = hashlib.sha256(line.encode()).hexdigest()
        lines.append(line)
    log.write_text("\n".join(lines) + "\n")
    assert append(log, "run_finished", {}).entry_index == 2
    assert verify(log).ok and verify(log).entries == 3


def test_a_torn_last_line_stays_visible_and_the_next_entry_is_whole(tmp_path):
    log = make_log(tmp_path)
    with log.open("a") as fh:
        fh.write('{"event": "job_fin')  # a crash mid-write
    anchor = append(log, "run_started", {})
    lines = log.read_text().splitlines()
    assert len(lines) == 6 and json.loads(lines[-1])["event"] == "run_started"
    assert anchor.entry_index == 5
    assert verify(log).problem.endswith("line 5: not a JSON entry")


def _append_many(log: str, worker: int, count: int) -> None:
    for n in range(count):
        append_entry(Path(log), "job_finished", {"worker": worker, "n": n, "pad": "x" * 3000})


def test_concurrent_appends_from_several_processes_keep_one_chain(tmp_path):
    log = tmp_path / "audit.log"
    workers, count = 4, 30
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(log), w, count)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    verdict = verify(log)
    assert verdict.ok, verdict.problem
    assert verdict.entries == workers * count
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["index"] for e in entries] == list(range(workers * count))
    assert sorted((e["details"]["worker"], e["details"]["n"]) for e in entries) == [
        (w, n) for w in range(workers) for n in range(count)
    ]


# ---- released results and their anchors -------------------------------------------------------------------------


def _result(sample_id: str) -> dict:
    sample = Sample(sample_id, f"P-{sample_id}", "B1", "Anxian County", "tumour_ffpe", 40.0, "LUAD", ("EGFR_KRAS",),
                    lanes=[Lane("L001", "r1.fq.gz", "r2.fq.gz")])  # fmt: skip
    provenance = {"pipeline_version": "0.1.0 (git abc1234)", "reference": {"name": "grch38", "checksum": "c"}}
    return failed_result(sample, ["depth below 100x"], provenance, "2026-12-01")


def release(results: Path, sample_id: str) -> dict:
    """What the integrator's release step does: digest, record, anchor, write."""
    result = _result(sample_id)
    anchor = record_release(results / "audit.log", sample_id, result_digest(result), report_id=result["report_id"])
    anchored = with_anchor(result, anchor)
    (results / "result").mkdir(parents=True, exist_ok=True)
    write_result(anchored, results / "result" / f"{sample_id}.result.json")
    return anchored


@pytest.fixture
def released(tmp_path):
    results = tmp_path / "results"
    append_entry(results / "audit.log", "run_started", {"samples": ["S1", "S2"]})
    first, second = release(results, "S1"), release(results, "S2")
    append_entry(results / "audit.log", "run_finished", {})
    return results, first, second


def test_the_anchor_is_the_head_after_the_results_own_entry(released):
    results, first, second = released
    lines = (results / "audit.log").read_text().splitlines()
    for result, index in ((first, 1), (second, 2)):
        assert result["provenance"][ANCHOR_INDEX] == index
        assert result["provenance"][ANCHOR_HEAD] == hashlib.sha256(lines[index].encode()).hexdigest()
        entry = json.loads(lines[index])
        assert entry["event"] == "result_released"
        assert entry["details"]["result_sha256"] == result_digest(result)
    validate_result(first)  # the schema admits the anchor fields


def test_the_digest_leaves_out_the_anchor_only():
    result = _result("S1")
    anchored = with_anchor(result, Anchor("a" * 64, 7))
    assert result_digest(anchored) == result_digest(result)
    changed = json.loads(json.dumps(result))
    changed["failure"]["reasons"] = ["depth below 50x"]
    assert result_digest(changed) != result_digest(result)


def test_intact_results_verify(released, capsys):
    results, _, _ = released
    verdict = verify_results(results)
    assert verdict.ok
    assert verdict.lines == [f"{results / 'audit.log'}: audit chain intact (4 entries); 2 result(s) anchored in it"]
    assert main(["audit", "verify", "--results", str(results)]) == 0


def test_truncation_after_a_released_result_is_detected(released, capsys):
    results, _, _ = released
    log = results / "audit.log"
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:2]) + "\n")  # S2's release and the run's end cut off: the chain itself is intact
    assert verify(log).ok
    assert main(["audit", "verify", "--results", str(results)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "result/S2.result.json (sample S2): audit anchor missing: entry 2 (line 3, head "
        f"{json.loads((results / 'result/S2.result.json').read_text())['provenance'][ANCHOR_HEAD][:12]}…) is not in "
        "audit.log (2 valid entries) — the log was truncated or rewritten"
    ]


def test_oncopanel_verify_checks_the_anchor_of_a_result(released):
    from oncopanel.verify import verify_report

    results, _, _ = released
    assert verify_report(results / "result" / "S2.result.json").ok
    log = results / "audit.log"
    log.write_text("\n".join(log.read_text().splitlines()[:2]) + "\n")
    verdict = verify_report(results / "result" / "S2.result.json")
    assert not verdict.ok
    assert verdict.lines[-1].startswith("MISMATCH: S2.result.json: audit anchor missing: entry 2 (line 3, head ")


def test_a_whole_rewrite_is_detected(released, capsys):
    results, _, _ = released
    log = results / "audit.log"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    log.unlink()
    for entry in entries:  # a fresh, internally consistent chain with one detail changed
        details = {**entry["details"], "samples": ["S1"]} if entry["event"] == "run_started" else entry["details"]
        append_entry(log, entry["event"], details)
    assert verify(log).ok
    verdict = verify_results(results)
    assert not verdict.ok
    assert verdict.lines == [
        f"result/{s}.result.json (sample {s}): audit anchor mismatch: audit.log line {n} is not the entry recorded — "
        "the log was rewritten"
        for s, n in (("S1", 2), ("S2", 3))
    ]


def test_a_result_changed_after_release_is_detected(released):
    results, _, _ = released
    path = results / "result" / "S1.result.json"
    result = json.loads(path.read_text())
    result["failure"]["reasons"] = ["all fine"]
    path.write_text(json.dumps(result))
    verdict = verify_results(results)
    assert not verdict.ok
    assert verdict.lines == [
        "result/S1.result.json (sample S1): changed since release: its digest no longer matches audit.log line 2"
    ]


def test_results_of_the_older_format_verify_with_a_note(tmp_path, capsys):
    results = tmp_path / "results"
    make_log(results)
    (results / "result").mkdir()
    write_result(_result("S7"), results / "result" / "S7.result.json")  # no anchor
    assert main(["audit", "verify", "--results", str(results)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{results / 'audit.log'}: audit chain intact (4 entries); 0 result(s) anchored in it, 1 of the older format "
        "without an anchor",
        "result/S7.result.json (sample S7): note: no audit anchor (a result of the older format): the chain alone "
        "was checked",
    ]


def test_missing_files_give_one_line(tmp_path, capsys):
    assert main(["audit", "verify", "--results", str(tmp_path / "nowhere")]) == 1
    assert capsys.readouterr().out == f"{tmp_path / 'nowhere'}: no such results directory\n"
    assert main(["audit", "verify", str(tmp_path / "audit.log")]) == 1
    assert capsys.readouterr().out == f"{tmp_path / 'audit.log'}: no audit log\n"
    (tmp_path / "results").mkdir()
    assert main(["audit", "verify", "--results", str(tmp_path / "results")]) == 1
    assert capsys.readouterr().out == f"{tmp_path / 'results' / 'audit.log'}: no audit log\n"
