"""A throwaway local PostgreSQL server (Debian's packages) for the tests and the benchmark.

``initdb`` refuses to run as root, and CI runs as root: the cluster then belongs to the unprivileged ``nobody``
(via ``runuser``), in a fresh directory under the system temp dir (a pytest tmp dir is mode 700, closed to it),
listening only on a Unix socket in that directory (no TCP port), trusted locally, and removed at the end.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def postgres_bindir() -> Path | None:
    """The directory of initdb/pg_ctl: Debian's /usr/lib/postgresql/<version>/bin (newest), else PATH."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "nobody", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def throwaway_postgres(port: int = 5432) -> Iterator[str]:
    """Start a server; yields its SQLAlchemy URL (psycopg 3 over the socket); stops and deletes it after."""
    bindir = postgres_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries (Debian package postgresql) not found")
    root = Path(tempfile.mkdtemp(prefix="oncopanel-pg-"))
    data = root / "data"
    try:
        if os.geteuid() == 0:
            shutil.chown(root, "nobody", "nogroup")
        subprocess.run(_as_owner([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                  "-E", "UTF8", "--no-sync", "--locale=C"]),
                       check=True, capture_output=True, cwd=root)  # fmt: skip
        options = f"-k {root} -c listen_addresses='' -p {port} -c fsync=off -c max_connections=120"
        subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"),
                                  "-w", "-t", "60", "start"]), check=True, capture_output=True, cwd=root)  # fmt: skip
        try:
            yield f"postgresql+psycopg://postgres@/postgres?host={root}&port={port}"
        finally:
            subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                           capture_output=True, cwd=root)  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)
