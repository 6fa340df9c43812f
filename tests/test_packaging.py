"""A built wheel is self-contained: installed into a clean virtualenv, its `oncopanel` command runs from a directory
outside the repository on the data the wheel carries (oncopanel/_data/ through importlib.resources).

Offline: the wheel is built with `pip wheel --no-deps` (setuptools from the same package index `make setup` uses)
and installed with `--no-deps` into a virtualenv that sees the project venv's site-packages for the dependencies
(pysam, pandas, ... are not rebuilt); the virtualenv has no path to the checkout (no editable install, no .pth)."""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from oncosim.batch import pool_reads, random_reads

ROOT = Path(__file__).resolve().parent.parent
PROJECT_SITE = Path(sysconfig.get_paths()["purelib"])  # the project venv's dependencies


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build_src")
    # build from a copy of the working tree (tracked and new files, not ignored ones): nothing lands in the checkout
    listing = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    names = subprocess.run(listing, cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, names):
        if (ROOT / name).is_file():
            (build / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, build / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(build)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (whl,) = out.glob("oncopanel-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """bin/ of a clean virtualenv with the wheel installed (no dependencies of its own: the project venv's)."""
    env = tmp_path_factory.mktemp("venv") / "v"
    venv.create(env, with_pip=False)
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([str(env / "bin" / "python"), "-c", code], capture_output=True, text=True,
                               check=True).stdout.strip())  # fmt: skip
    # the dependencies, as a path entry after the venv's own site-packages: not the checkout (the project venv's
    # editable-install hook is a .pth file, which a plain path entry does not run)
    (site / "project_dependencies.pth").write_text(f"{PROJECT_SITE}\n")
    install = [sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install", "--no-deps",
               "--no-index", "--quiet", str(wheel)]  # fmt: skip
    proc = subprocess.run(install, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return env / "bin"


def _run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}:/usr/bin:/bin"
    return subprocess.run([str(bin_dir / "oncopanel"), *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_the_wheel_carries_the_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in ("annotation/panels/panels.yaml", "annotation/knowledge/kb.tsv", "config/lab.yaml",
                 "config/calling.yaml", "reports/reporting.yaml", "workflow/schemas/result.schema.json"):  # fmt: skip
        assert f"oncopanel/_data/{path}" in names, path
    assert "oncosim/reads.py" in names  # the simulators ship as their own package, not inside oncopanel
    assert not [n for n in names if n.startswith("oncopanel/") and "simulat" in n]


def test_the_installed_package_reads_its_own_data_not_the_checkout(installed, tmp_path):
    code = "from oncopanel import paths, settings; print(paths.DATA); print(settings.SHIPPED_FILES['lab'])"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(installed / "python"), "-c", code], cwd=tmp_path, env=env, capture_output=True,
                         text=True, check=True).stdout.split()  # fmt: skip
    data = Path(out[0])
    assert data.name == "_data" and data.parent.name == "oncopanel" and not data.is_relative_to(ROOT)
    assert Path(out[1]) == data / "config" / "lab.yaml"


def test_verify_runs_from_the_wheel(installed, tmp_path):
    """`oncopanel verify` on a result of schema 1.0 (the result schema is package data) and its input check."""
    results = tmp_path / "results"
    (results / "result").mkdir(parents=True)
    (results / "inputs").mkdir()
    shutil.copy(ROOT / "tests/data/report/result_v1.0.json", results / "result" / "S0042.result.json")
    reads = tmp_path / "S0042_R1.fastq.gz"
    reads.write_bytes(b"reads")
    check = {"files": [{"path": str(reads), "sha256": __import__("hashlib").sha256(b"reads").hexdigest()}]}
    (results / "inputs" / "S0042.inputs.json").write_text(json.dumps(check))
    out = _run(installed, tmp_path, "verify", "results/result/S0042.result.json")
    assert (out.returncode, out.stdout) == (0, "ok: input S0042_R1.fastq.gz unchanged\n"), out.stderr[-2000:]
    reads.write_bytes(b"changed")
    out = _run(installed, tmp_path, "verify", "results/result/S0042.result.json")
    assert (out.returncode, out.stdout) == (1, f"MISMATCH: input {reads} changed since the run (sha256 differs)\n")


def test_plan_assign_indexes_and_demux_run_from_the_wheel(installed, tmp_path):
    """The lab configuration and the index kit come from the wheel's data (no --lab, no --kit)."""
    manifest = ROOT / "tests/data/batch/manifest.tsv"
    out = _run(installed, tmp_path, "plan", "--manifest", str(manifest), "--out", "plan")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines()[:3] == [f"wrote plan/{n}.tsv" for n in ("runs", "assignments", "tradeoff")]
    assert out.stdout.splitlines()[3].startswith("strategy\truns\tcost_per_sample")  # the trade-off table
    runs = (tmp_path / "plan" / "runs.tsv").read_text().splitlines()
    header, first = runs[0].split("\t"), dict(zip(runs[0].split("\t"), runs[1].split("\t"), strict=True))
    assert header[:3] == ["run_id", "run_type", "start"] and int(first["samples"]) > 0
    out = _run(installed, tmp_path, "assign-indexes", "--manifest", str(manifest), "--plan", "plan",
               "--run", first["run_id"], "--out", "run1", "--fastq-dir", "run1/fastq")  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "[BCLConvert_Data]" in (tmp_path / "run1" / "SampleSheet.csv").read_text()
    kit_lines = (ROOT / "annotation/index_kits/oncopanel_udi96.tsv").read_text().splitlines()
    kit = {(f[2], f[4]) for f in (line.split("\t") for line in kit_lines if not line.startswith("#"))}
    with open(tmp_path / "run1" / "samples.tsv") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) == int(first["samples"]) and {(r["i7"], r["i5"]) for r in rows} <= kit  # the shipped kit
    reads = {r["sample_id"]: random_reads(20, 50, random.Random(1)) for r in rows}
    truth = pool_reads(reads, {r["sample_id"]: (r["i7"], r["i5"]) for r in rows}, tmp_path / "u_R1.fastq.gz",
                       tmp_path / "u_R2.fastq.gz")  # fmt: skip
    out = _run(installed, tmp_path, "demux", "--r1", "u_R1.fastq.gz", "--r2", "u_R2.fastq.gz", "--samples",
               "run1/samples.tsv", "--batch", first["run_id"], "--out", "run1/fastq")  # fmt: skip
    assert out.returncode == 0 and f'"hopped": {truth.hopped}' in out.stdout, out.stderr[-2000:]
    assert all((tmp_path / r["fastq_1"]).exists() and (tmp_path / r["fastq_2"]).exists() for r in rows)


@pytest.mark.parametrize("command", [("reference", "--help"), ("audit", "--help"), ("audit", "verify", "--help")])
def test_help_of_the_other_commands(installed, tmp_path, command):
    out = _run(installed, tmp_path, *command)
    assert out.returncode == 0 and out.stdout.startswith(f"usage: oncopanel {' '.join(command[:-1])}"), out.stderr


def test_the_clinical_package_never_imports_the_simulators():
    sources = [p for p in (ROOT / "oncopanel").rglob("*.py") if "oncosim" in p.read_text()]
    assert sources == []
