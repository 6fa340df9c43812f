"""No data leaves the centre: the workflow runs to its reports with networking switched off.

The batch runs inside a new network namespace (`unshare --net` as root, `unshare -rn` otherwise) that holds only
a loopback interface, which is down; under strace, so that a connection the pipeline tried and shrugged off would
still be seen: no process of the run may even attempt an AF_INET or AF_INET6 connect().
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pysam
import pytest
from test_reliability_resume import SAMPLE, tiny_batch, workflow_command

PROBE = "import socket; socket.create_connection(('192.0.2.1', 443), timeout=3)"  # TEST-NET-1, never routed


def _no_network_prefix() -> list[str]:
    for prefix in (["unshare", "--net"], ["unshare", "-rn"]):
        try:
            if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
                return prefix
        except FileNotFoundError:
            break
    return []


@pytest.fixture(scope="module")
def offline():
    prefix = _no_network_prefix()
    if not prefix:
        pytest.skip("cannot switch networking off here: neither `unshare --net` (root) nor `unshare -rn` works")
    return prefix


def test_namespace_has_no_network(offline):
    proc = subprocess.run([*offline, sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "OSError: [Errno 101] Network is unreachable" in proc.stderr


@pytest.fixture(scope="module")
def run(offline, tmp_path_factory):
    d = tmp_path_factory.mktemp("offline")
    results = d / "results"
    cmd, how = workflow_command(tiny_batch(d), results)
    trace = d / "connect.trace"
    strace = ["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(trace)] if shutil.which("strace") else []
    proc = subprocess.run([*offline, *strace, *cmd], capture_output=True, text=True, **how)
    return {"proc": proc, "results": results, "trace": trace if strace else None}


def test_workflow_completes_offline(run):
    assert run["proc"].returncode == 0, run["proc"].stderr[-4000:]
    results = run["results"]
    assert (results / "reports" / f"{SAMPLE}.pdf").stat().st_size > 0
    assert json.loads((results / "inputs" / f"{SAMPLE}.inputs.json").read_text())["status"] == "ok"
    rows = (results / "hotspots" / f"{SAMPLE}.hotspots.tsv").read_text().splitlines()
    assert any(row.startswith(f"{SAMPLE}\tKRAS_G12\tKRAS\tG12X\tdetected\t") for row in rows)
    with pysam.VariantFile(str(results / "calls" / f"{SAMPLE}.vcf.gz")) as vcf:
        assert [(r.pos, r.ref, r.alts) for r in vcf if r.pos == 25245351] == [(25245351, "C", ("A",))]


def test_no_process_tried_to_connect_out(run):
    """MultiQC 1.14 looks up multiqc.info for a version check unless told `no_version_check: true` (rule multiqc)."""
    if run["trace"] is None:
        pytest.skip("strace is not installed: the namespace alone keeps the run offline")
    assert run["proc"].returncode == 0
    calls = run["trace"].read_text().splitlines()
    assert any("connect(" in c for c in calls) or calls == []  # the trace was written
    outbound = [c for c in calls if re.search(r"sa_family=AF_INET6?\b", c)]
    assert outbound == []
