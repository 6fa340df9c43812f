"""Provenance: which code ran (in and outside a checkout), checksums of every configuration file, and the tool
versions each job recorded in its own environment."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from oncopanel import __version__
from oncopanel.provenance import (
    PACKAGE_DIR,
    build_provenance,
    code_revision,
    config_sha256,
    configuration_files,
    file_checksums,
    flatten_tools,
    parse_tool_versions,
    read_tool_versions,
    revision_label,
    sample_log_files,
    sample_provenance,
    sample_tool_versions,
    source_sha256,
)

ROOT = Path(__file__).resolve().parent.parent
MARK = "oncopanel-tool-version"


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def _copy_package(to: Path) -> Path:
    shutil.copytree(PACKAGE_DIR, to, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return to


# ---- code revision -----------------------------------------------------------------------------------------------


def test_code_revision_in_a_checkout_is_git_describe_and_the_commit():
    revision = code_revision()
    assert revision["source"] == "git"
    assert revision["describe"] == _git("describe", "--always", "--dirty")
    assert revision["commit"] == _git("rev-parse", "HEAD") and len(revision["commit"]) == 40
    assert revision["dirty"] == revision["describe"].endswith("-dirty")
    assert revision["package_version"] == __version__
    assert revision_label(revision) == f"{__version__} (git {revision['describe']})"


def test_code_revision_outside_a_checkout_is_the_version_and_a_source_hash(tmp_path):
    site = tmp_path / "site"
    _copy_package(site / "oncopanel")
    # imported from the copy, in a fresh interpreter, as an installed package would be
    code = "import json, oncopanel.provenance as p; print(json.dumps([str(p.PACKAGE_DIR), p.code_revision()]))"
    env = {**os.environ, "PYTHONPATH": str(site)}  # git stays on PATH: the copy is simply in no checkout
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    package_dir, revision = json.loads(out)
    assert package_dir == str(site / "oncopanel")
    assert revision == {
        "package_version": __version__,
        "source_sha256": source_sha256(PACKAGE_DIR),  # the same files give the same hash
        "source": "package",
    }
    assert revision_label(revision) == f"{__version__} (source {revision['source_sha256'][:12]})"


def test_the_source_hash_changes_with_any_package_file(tmp_path):
    copy = _copy_package(tmp_path / "oncopanel")
    before = source_sha256(copy)
    (copy / "qc.py").write_text((copy / "qc.py").read_text() + "\n# changed\n")
    assert source_sha256(copy) != before
    (copy / "qc.py").unlink()
    assert source_sha256(copy) != before


def test_a_copy_inside_another_checkouts_ignored_directory_is_not_that_checkout(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git("init", "-q", cwd=repo)
    (repo / ".gitignore").write_text(".venv/\n")
    _git("add", ".gitignore", cwd=repo)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x", cwd=repo)
    copy = _copy_package(repo / ".venv" / "oncopanel")
    revision = code_revision.__wrapped__(copy)
    assert revision["source"] == "package" and "describe" not in revision


# ---- configuration checksums -------------------------------------------------------------------------------------


def _config() -> dict:
    return {
        "samples": "config/samples.tsv",
        "panels": "annotation/panels/panels.yaml",
        "controls": "config/controls.yaml",
        "lab": "config/lab.yaml",
        "formulary": "config/formulary.tsv",
        "identity": "",
    }


def test_every_configuration_file_is_listed(monkeypatch):
    monkeypatch.chdir(ROOT)
    files = configuration_files(_config(), ["config/config.yaml", "config/config.yaml"], "config/calling.yaml")
    checksums = file_checksums(files)
    for path in (
        "config/config.yaml", "config/calling.yaml", "config/cnv.yaml", "config/umi.yaml", "config/controls.yaml",
        "config/lab.yaml", "config/formulary.tsv",
        "config/samples.tsv", "annotation/panels/panels.yaml", "annotation/hotspots.tsv",
        "annotation/knowledge/kb.tsv", "annotation/knowledge/kb_meta.json", "annotation/germline/germline_rules.yaml",
    ):  # fmt: skip
        assert checksums[path] == hashlib.sha256((ROOT / path).read_bytes()).hexdigest(), path
    assert not [p for p in checksums if p.endswith((".md", ".py"))]
    assert list(checksums) == sorted(checksums)


def test_calling_yaml_is_left_out_when_a_config_file_carries_the_calling_block(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    extra = tmp_path / "site.yaml"
    extra.write_text("calling:\n  min_alt_fraction: 0.02\n")
    files = configuration_files(_config(), ["config/config.yaml", str(extra)], "config/calling.yaml")
    assert str(extra) in files and "config/calling.yaml" not in files
    assert file_checksums(files)[str(extra)] == hashlib.sha256(extra.read_bytes()).hexdigest()


def test_the_effective_config_digest_sees_an_override():
    assert config_sha256({"a": 1, "b": {"c": 2}}) == config_sha256({"b": {"c": 2}, "a": 1})
    assert config_sha256({"a": 1}) != config_sha256({"a": 2})


# ---- tool versions from the jobs' own logs -----------------------------------------------------------------------


def _log(path: Path, rule: str, tools: dict[str, str], noise: str = "[M::main] Real time: 0.1 sec\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{MARK}\t{rule}\t{t}\t{v}\n" for t, v in tools.items()) + noise)
    return path


def test_version_lines_are_parsed_and_other_lines_ignored():
    text = (
        f"{MARK}\talign_lane\tminimap2\t2.24-r1122\n"
        f"{MARK}\talign_lane\tsamtools\tsamtools 1.16.1\n"
        f"{MARK}\tcalling_freebayes\tfreebayes\tversion:  v1.3.6\n"
        f"{MARK}\tbwa_index\tbwa\tVersion: 0.7.17-r1188\n"
        f"{MARK}\tfastp\tfastp\t\n"  # the probe printed nothing
        "samtools 1.16.1\nnot\ta\tversion\tline\n"
    )
    assert parse_tool_versions(text) == {
        "align_lane": {"minimap2": "2.24-r1122", "samtools": "1.16.1"},
        "calling_freebayes": {"freebayes": "1.3.6"},
        "bwa_index": {"bwa": "0.7.17-r1188"},
        "fastp": {"fastp": "unknown"},
    }


def test_a_samples_versions_come_from_its_own_jobs_and_tolerate_missing_ones(tmp_path):
    logs = tmp_path / "logs"
    _log(logs / "fastp" / "S1.L001.log", "fastp", {"fastp": "fastp 0.23.2"})
    _log(logs / "fastp" / "S1.L002.log", "fastp", {"fastp": "fastp 0.23.4"})  # a lane run elsewhere
    _log(logs / "align" / "S1.L001.log", "align_lane", {"minimap2": "2.24-r1122", "samtools": "samtools 1.16.1"})
    _log(logs / "calling" / "freebayes" / "S1.log", "calling_freebayes",
         {"freebayes": "version:  v1.3.6", "bcftools": "bcftools 1.17"})  # fmt: skip
    _log(logs / "fastp" / "S10.L001.log", "fastp", {"fastp": "fastp 9.9"})  # another sample
    (logs / "markdup").mkdir()
    (logs / "markdup" / "S1.log").write_text("a log of the older format\n")
    assert [p.relative_to(logs).as_posix() for p in sample_log_files(logs, "S1")] == [
        "align/S1.L001.log", "calling/freebayes/S1.log", "fastp/S1.L001.log", "fastp/S1.L002.log", "markdup/S1.log",
    ]  # fmt: skip
    by_rule = sample_tool_versions(logs, "S1")
    assert by_rule == {
        "align_lane": {"minimap2": "2.24-r1122", "samtools": "1.16.1"},
        "calling_freebayes": {"bcftools": "1.17", "freebayes": "1.3.6"},
        "fastp": {"fastp": "0.23.2 / 0.23.4"},
    }
    assert sample_tool_versions(logs, "S404") == {}
    assert read_tool_versions([logs / "nowhere.log"]) == {}


def test_a_tool_with_several_versions_names_the_rules_of_each():
    assert flatten_tools({
        "align_lane": {"samtools": "1.16.1", "minimap2": "2.24"},
        "markdup": {"samtools": "1.16.1"},
        "calling_plain_reference": {"samtools": "1.17"},
    }) == {"minimap2": "2.24", "samtools": "1.16.1 (align_lane, markdup); 1.17 (calling_plain_reference)"}  # fmt: skip


def test_a_samples_provenance_merges_the_runs_and_its_own_jobs(tmp_path):
    logs = tmp_path / "logs"
    index_log = _log(tmp_path / "index" / "logs" / "minimap2_index.log", "minimap2_index", {"minimap2": "2.24-r1122"})
    _log(logs / "markdup" / "S1.log", "markdup", {"samtools": "samtools 1.16.1"})
    run = build_provenance(
        reference={"name": "grch38.fa.gz", "checksum": "c"},
        knowledge_base={"version": "kb1", "checksum": "k"},
        annotation_version="mane",
        config_checksums={"config/config.yaml": "0" * 64},
        effective_config_sha256="1" * 64,
        run_tool_logs=[index_log, tmp_path / "never_ran.log"],
    )
    assert run["tools_by_rule"] == {"minimap2_index": {"minimap2": "2.24-r1122"}}
    assert run["pipeline_version"] == revision_label(code_revision())
    assert run["code_revision"] == code_revision()
    s1 = sample_provenance(run, logs, "S1")
    assert s1["tools"] == {"minimap2": "2.24-r1122", "samtools": "1.16.1"}
    assert s1["tools_by_rule"] == {"markdup": {"samtools": "1.16.1"}, "minimap2_index": {"minimap2": "2.24-r1122"}}
    assert s1["config_checksums"] == run["config_checksums"]
    assert run["tools"] == {"minimap2": "2.24-r1122"}  # the run's own record is not changed


def test_the_result_schema_admits_the_provenance_fields(tmp_path):
    from test_audit import _result

    from oncopanel.report.result import validate_result

    run = build_provenance(
        reference={"name": "g", "checksum": "c"}, knowledge_base={"version": "v", "checksum": "k"},
        annotation_version="a", config_checksums={"config/config.yaml": "0" * 64},
        effective_config_sha256="1" * 64, run_tool_logs=[],
    )  # fmt: skip
    result = _result("S1")
    result["provenance"].update({k: v for k, v in run.items() if k not in ("reference", "knowledge_base")})
    validate_result(result)
    result["provenance"]["config_checksums"] = {"config/config.yaml": "not a digest"}
    with pytest.raises(Exception, match="config_checksums"):
        validate_result(result)
