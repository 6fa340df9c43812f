"""Provenance: checksums of inputs, configuration and references, the code revision, and the versions of the
tools each job ran with, carried into every output.

Tool versions come from the jobs themselves: each rule that runs an external tool starts its shell by writing one
line per tool into its log, in the environment (conda env, container, PATH) that then runs the tool::

    oncopanel-tool-version<TAB>{rule}<TAB>samtools<TAB>samtools 1.16.1

(the shell idiom is shown at :data:`VERSION_MARKER`). :func:`sample_tool_versions` reads a sample's jobs' lines,
:func:`sample_provenance` merges them into the run's provenance for that sample's result.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from oncopanel import __version__, paths

PACKAGE_DIR = Path(__file__).resolve().parent
VERSION_MARKER = "oncopanel-tool-version"
# The shell idiom of a tool rule (printf repeats its format for each tool/version pair):
#   printf 'oncopanel-tool-version\t{rule}\t%s\t%s\n' samtools "$(samtools --version 2>&1 | grep -m1 -E
#   '[0-9]+[.][0-9]+')" > {log}; <the rule's commands> >> {log} 2>&1
_VERSION = re.compile(r"v?(\d+\.\d+[\w.+-]*)")
_LOG_HEAD = 1 << 16  # the version lines come first in a log; a long log is not read whole
# annotation/ files that are documentation or generators, not data the run reads
_NOT_DATA = (".md", ".py")


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fasta_checksums(fasta: Path) -> dict:
    """Per-contig MD5 of the uppercase sequence (the SAM @SQ M5 value) and one digest over them all.

    Checksums of sequence, not of file bytes: a bgzip of the same genome made with another zlib stays the same.
    """
    import pysam

    contigs = {}
    with pysam.FastxFile(str(fasta)) as fh:
        for record in fh:
            contigs[record.name] = hashlib.md5(record.sequence.upper().encode()).hexdigest()
    digest = hashlib.sha256("".join(f"{k}\t{v}\n" for k, v in contigs.items()).encode()).hexdigest()
    return {"fasta": Path(fasta).name, "sequence_digest": digest, "contig_md5": contigs}



# ---- code revision -----------------------------------------------------------------------------------------------


def source_sha256(package_dir: Path = PACKAGE_DIR) -> str:
    """SHA-256 over the package's files (relative path and content digest of each; no bytecode caches)."""
    h = hashlib.sha256()
    files = sorted(
        p for p in package_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )
    for path in files:
        h.update(f"{path.relative_to(package_dir).as_posix()}\0{sha256_file(path)}\n".encode())
    return h.hexdigest()


def _git(package_dir: Path, *args: str) -> str | None:
    # no optional index writes: several jobs may ask at once, and the checkout may be read-only
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        out = subprocess.run(
            ["git", "-C", str(package_dir), *args], capture_output=True, text=True, timeout=20, env=env
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_revision(package_dir: Path = PACKAGE_DIR) -> dict[str, str] | None:
    """`git describe --always --dirty` and the commit of the checkout the package runs from; None when the package
    is not a tracked part of a git checkout (an installed copy inside some other repository's ignored .venv is not)."""
    if _git(package_dir, "ls-files", "--error-unmatch", "__init__.py") is None:
        return None
    describe = _git(package_dir, "describe", "--always", "--dirty")
    commit = _git(package_dir, "rev-parse", "HEAD")
    if not describe or not commit:
        return None
    return {"describe": describe, "commit": commit}


@cache
def code_revision(package_dir: Path = PACKAGE_DIR) -> dict[str, str | bool]:
    """Which code ran: from a checkout, git describe + commit (+ dirty); always the package version and a SHA-256 of
    the package's source files (the whole identity of the code outside a checkout)."""
    git = git_revision(package_dir)
    revision: dict[str, str | bool] = {
        "package_version": __version__,
        "source_sha256": source_sha256(package_dir),
        "source": "git" if git else "package",
    }
    if git:
        revision.update(git, dirty=git["describe"].endswith("-dirty"))
    return revision


def revision_label(revision: Mapping) -> str:
    """One line for reports and the audit log, e.g. "0.1.0 (git 859b39a-dirty)" or "0.1.0 (source 3fa2c1d09b7e)"."""
    if revision.get("describe"):
        return f"{revision['package_version']} (git {revision['describe']})"
    return f"{revision['package_version']} (source {str(revision['source_sha256'])[:12]})"


def pipeline_version() -> str:
    return revision_label(code_revision())


# ---- configuration checksums -------------------------------------------------------------------------------------


def _sets_calling(configfile: str) -> bool:
    import yaml  # here: the per-sample steps import this module for write_tool_versions only

    try:
        data = yaml.safe_load(Path(configfile).read_text())
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "calling" in data


# Settings files a stage reads on its own (not through config keys): copy number and UMI consensus.
STAGE_SETTINGS = (paths.CONFIG / "cnv.yaml", paths.CONFIG / "umi.yaml")


def configuration_files(config: Mapping, configfiles: Iterable[str], calling_yaml: str | Path) -> list[str]:
    """Every configuration file a run reads: the config files (the Snakefile's and each --configfile), the files
    the config names (sample sheet, panels, run controls, lab, formulary), calling.yaml unless a config file
    carries the calling block, the stage settings (cnv.yaml, umi.yaml), and the annotation data (hotspots,
    knowledge base, panels, transcripts, germline rules, identity SNPs). The identity manifest is left out: it
    holds patients' names, not analysis settings."""
    configfiles = list(dict.fromkeys(str(c) for c in configfiles))
    files = list(configfiles)
    files += [str(config[key]) for key in ("samples", "panels", "controls", "lab", "formulary") if config.get(key)]
    if not any(_sets_calling(c) for c in configfiles):
        files.append(str(calling_yaml))
    files += [str(p) for p in STAGE_SETTINGS]
    files += [str(p) for p in annotation_files()]
    return list(dict.fromkeys(files))


def annotation_files(root: Path = paths.ANNOTATION) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix not in _NOT_DATA)


def display_path(path: str | Path, root: Path = paths.DATA) -> str:
    """A path as the provenance records it: oncopanel's own data files relative to their data directory (so the
    same file has the same name in a checkout and in an installed wheel), any other file as given."""
    resolved = Path(path).resolve()
    return resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else str(path)


def file_checksums(files: Iterable[str | Path], root: Path = paths.DATA) -> dict[str, str]:
    """SHA-256 of each file, keyed by its display path, in path order."""
    return dict(sorted((display_path(f, root), sha256_file(f)) for f in files))


def config_sha256(config: Mapping) -> str:
    """SHA-256 of the effective configuration (every config file and --config override merged), as sorted JSON."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


# ---- tool versions, recorded by the jobs that ran the tools --------------------------------------------------------


def normalise_version(raw: str) -> str:
    """The version number in a tool's version line: "samtools 1.16.1" → "1.16.1", "version:  v1.3.6" → "1.3.6";
    "unknown" when the probe printed nothing usable."""
    match = _VERSION.search(raw)
    return match.group(1) if match else (raw.strip() or "unknown")


def parse_tool_versions(text: str) -> dict[str, dict[str, str]]:
    """{rule: {tool: version}} from the version lines in a log's text (other lines are ignored)."""
    out: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        parts = line.split("\t", 3)
        if len(parts) == 4 and parts[0] == VERSION_MARKER and parts[1] and parts[2]:
            out.setdefault(parts[1], {})[parts[2]] = normalise_version(parts[3])
    return out


def probe_tool_version(tool: str) -> str:
    """What the shell idiom records for a tool: the first line of ``tool --version`` (stdout, then stderr) with a
    version number in it; empty when the tool prints none or cannot run."""
    try:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True, errors="replace", timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return next((line for line in (out.stdout + out.stderr).splitlines() if re.search(r"[0-9]+[.][0-9]+", line)), "")


def write_tool_versions(log: str | Path, rule: str, tools: Iterable[str]) -> None:
    """Start a job's log with its version lines, for rules that run their tools from Python (``script:``): the same
    lines the shell idiom writes (the log is started afresh, as its ``> {log}`` does)."""
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        for tool in tools:
            fh.write(f"{VERSION_MARKER}\t{rule}\t{tool}\t{probe_tool_version(tool)}\n")


def _join(a: str, b: str) -> str:
    return " / ".join(sorted(set(a.split(" / ")) | set(b.split(" / "))))


def read_tool_versions(logs: Iterable[str | Path]) -> dict[str, dict[str, str]]:
    """{rule: {tool: version}} over the given logs; a missing or unreadable log adds nothing (its job never ran or
    failed before writing). Two jobs of one rule with different versions (lanes run in different environments)
    give "v1 / v2"."""
    merged: dict[str, dict[str, str]] = {}
    for log in logs:
        try:
            with open(log, "rb") as fh:
                text = fh.read(_LOG_HEAD).decode(errors="replace")
        except OSError:
            continue
        for rule, tools in parse_tool_versions(text).items():
            known = merged.setdefault(rule, {})
            for tool, version in tools.items():
                known[tool] = _join(known[tool], version) if tool in known else version
    return {rule: dict(sorted(tools.items())) for rule, tools in sorted(merged.items())}


def sample_log_files(logs_dir: str | Path, sample_id: str) -> list[Path]:
    """The logs of one sample's jobs: files named <sample>.log or <sample>.<lane>.log anywhere under logs_dir
    (sample ids hold no '.', so the name's first dot-separated part is the sample)."""
    root = Path(logs_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob(f"{sample_id}.*log") if p.is_file() and p.name.split(".")[0] == sample_id)


def sample_tool_versions(logs_dir: str | Path, sample_id: str) -> dict[str, dict[str, str]]:
    """{rule: {tool: version}} that one sample's jobs recorded (tolerates jobs that never ran)."""
    return read_tool_versions(sample_log_files(logs_dir, sample_id))


def run_tool_versions(logs_dir: str | Path) -> dict[str, dict[str, str]]:
    """{rule: {tool: version}} over every log of a run that exists (a run-level summary, e.g. for the batch page)."""
    root = Path(logs_dir)
    return read_tool_versions(sorted(root.rglob("*.log"))) if root.is_dir() else {}


def flatten_tools(by_rule: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """{tool: version} for the result's ``tools``; a tool seen with several versions names the rules of each:
    "1.16.1 (align_lane, markdup); 1.17 (calling_freebayes)"."""
    seen: dict[str, dict[str, set[str]]] = {}
    for rule, tools in by_rule.items():
        for tool, version in tools.items():
            seen.setdefault(tool, {}).setdefault(version, set()).add(rule)
    out = {}
    for tool, versions in sorted(seen.items()):
        if len(versions) == 1:
            out[tool] = next(iter(versions))
        else:
            out[tool] = "; ".join(f"{v} ({', '.join(sorted(rules))})" for v, rules in sorted(versions.items()))
    return out


def sample_provenance(provenance: Mapping, logs_dir: str | Path, sample_id: str) -> dict:
    """The run's provenance (provenance.json) with one sample's tool versions merged in: the run-level jobs' (index,
    reference) and the sample's own jobs'. ``tools_by_rule`` {rule: {tool: version}}, ``tools`` {tool: version}."""
    by_rule = {**provenance.get("tools_by_rule", {}), **sample_tool_versions(logs_dir, sample_id)}
    by_rule = dict(sorted(by_rule.items()))
    return {**provenance, "tools_by_rule": by_rule, "tools": flatten_tools(by_rule)}


def build_provenance(
    *,
    reference: Mapping[str, str],
    knowledge_base: Mapping[str, str],
    annotation_version: str,
    config_checksums: Mapping[str, str],
    effective_config_sha256: str,
    run_tool_logs: Iterable[str | Path],
) -> dict:
    """The run's provenance.json: code revision, reference, knowledge base, annotation data, configuration
    checksums, and the tool versions of the run-level jobs (each sample's are added by :func:`sample_provenance`)."""
    revision = code_revision()
    by_rule = read_tool_versions(run_tool_logs)
    return {
        "pipeline_version": revision_label(revision),
        "code_revision": dict(revision),
        "reference": dict(reference),
        "knowledge_base": dict(knowledge_base),
        "annotation": {"version": annotation_version},
        "config_checksums": dict(sorted(config_checksums.items())),
        "effective_config_sha256": effective_config_sha256,
        "tools_by_rule": by_rule,
        "tools": flatten_tools(by_rule),
    }
