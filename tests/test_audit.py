"""The audit chain: intact when untouched; an edited or removed entry is found."""

from __future__ import annotations

import json

from oncopanel.audit import append_entry, verify
from oncopanel.cli import main


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
