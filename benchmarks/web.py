"""The review application (`oncopanel serve`) on loopback: page and download times on a 96-sample batch, and a
load test of 50 concurrent reviewers, on SQLite and on PostgreSQL.

    .venv/bin/python benchmarks/web.py [--samples 96] [--reviewers 50] [--out benchmarks/latest/web.md]
    .venv/bin/python benchmarks/web.py --quick   # CI: 8 samples, 10 reviewers, results/benchmarks/quick/web.md

The batch is synthesised (oncopanel.web.synth: the shipped example results, released as version 1 with their
draft PDFs). The server is `oncopanel serve` in its own process (uvicorn, one worker), on 127.0.0.1 only, with
the database given by URL: SQLite (WAL) in a temp dir, then a throwaway PostgreSQL server (oncopanel.web.pgserver;
skipped, and said so, without its binaries). Every page view and download is audited (a locked, fsync'd append to
the batch's audit log), as in production.

Page times: median of ``--repeat`` requests by one logged-in user. The signature (POST sign: the signed result
version, its PDF rendered, the audit entry) is timed once per sample over ``--signs`` samples.
Load test: ``--reviewers`` threads, each its own reviewer account and session, each making ``--requests``
requests in a loop (queue page, sample page, comment POST, draft PDF), stopping early at ``--max-seconds``; every
response must be 200/303 (an error is counted, never retried). Latencies are per request, client side.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from oncopanel.web.synth import claim_installed_knowledge_base, synthesise_tree  # noqa: E402

PASSWORD = "benchmark-password"
COMMAND = "python benchmarks/web.py --samples 96 --reviewers 50"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(url: str, reviewers: int) -> None:
    from oncopanel.web.app import create_user
    from oncopanel.web.db import Site, open_database

    with open_database(url)() as db:
        for code in ("Anxian County", "Beiling County"):
            db.add(Site(code=code, name=code))
        db.flush()
        create_user(db, "signer", "Dr Signer", PASSWORD, "signer", None)
        create_user(db, "clinician", "Dr Anxian", PASSWORD, "clinician", "Anxian County")
        for i in range(reviewers):
            create_user(db, f"rev{i:02d}", f"Dr Reviewer {i:02d}", PASSWORD, "reviewer", None)
        db.commit()


class Server:
    """`oncopanel serve` in a subprocess, on a free loopback port."""

    def __init__(self, tree: Path, url: str, work: Path):
        self.port = free_port()
        config = work / "serve.yaml"
        config.write_text(f"identity: {tree / 'identity.yaml'}\n")
        self.log = (work / f"serve-{self.port}.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "oncopanel.cli", "serve", "--results", str(tree), "--db", url, "--port",
             str(self.port), "--insecure-http", "--configfile", str(ROOT / "config/config.yaml"), str(config)],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(600):
            try:
                httpx.get(f"{self.base}/login", timeout=1)
                return
            except httpx.TransportError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"oncopanel serve exited: see {self.log.name}") from None
                time.sleep(0.1)
        raise RuntimeError("oncopanel serve did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def login(base: str, username: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=120)
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf(c, "/login")})
    assert r.status_code == 303, (username, r.status_code)
    return c


def csrf(c: httpx.Client, url: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', c.get(url).text).group(1)


def timed(fn) -> tuple[float, httpx.Response]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    r = fn()
    return time.perf_counter() - t0, r


def page_times(base: str, tree_name: str, repeat: int, signs: int) -> tuple[list[tuple[str, float, str]], list[str]]:
    rev = login(base, "rev00")
    cold, queue = timed(lambda: rev.get(f"/batches/{tree_name}"))
    samples = re.findall(r'href="/samples/([0-9a-f]+)"', queue.text)
    rows: list[tuple[str, float, str]] = [
        (f"review queue, first view after start ({len(samples)} results validated once at start)", cold,
         f"{len(queue.content):,} bytes"),
    ]  # fmt: skip

    def median_of(label: str, fn, note: str = "") -> httpx.Response:  # type: ignore[no-untyped-def]
        times, r = [], None
        for _ in range(repeat):
            dt, r = timed(fn)
            assert r.status_code in (200, 303), (label, r.status_code)
            times.append(dt)
        rows.append((label, statistics.median(times), note or f"{len(r.content):,} bytes"))
        return r

    fresh = httpx.Client(base_url=base, timeout=120)
    login_token = csrf(fresh, "/login")
    median_of("login (argon2id check, new session)", lambda: fresh.post(
        "/login", data={"username": "rev01", "password": PASSWORD, "csrf": login_token}), "303")  # fmt: skip
    median_of("batches overview", lambda: rev.get("/batches"))
    median_of(f"review queue ({len(samples)} samples)", lambda: rev.get(f"/batches/{tree_name}"))
    median_of("sample review page", lambda: rev.get(f"/samples/{samples[0]}"))
    median_of("draft PDF download", lambda: rev.get(f"/samples/{samples[0]}/draft.pdf"))
    # review then sign --signs samples: the signature renders the signed PDF
    token = csrf(rev, "/batches")
    signed = []
    for sid in samples[:signs]:
        page = rev.get(f"/samples/{sid}").text
        for finding in dict.fromkeys(re.findall(r'name="finding" value="([^"]+)"', page)):
            rev.post(f"/samples/{sid}/decide", data={"csrf": token, "finding": finding, "decision": "confirmed"})
        rev.post(f"/samples/{sid}/reviewed", data={"csrf": token})
    sig = login(base, "signer")
    stoken = csrf(sig, "/batches")
    for sid in samples[:signs]:
        dt, r = timed(lambda sid=sid: sig.post(f"/samples/{sid}/sign", data={"csrf": stoken, "password": PASSWORD}))
        assert r.status_code == 303, r.text[:300]
        signed.append(dt)
    rows.append((f"sign (password, signed version + PDF), median of {signs}", statistics.median(signed), "303"))
    cli = login(base, "clinician")
    listing = median_of("clinician: signed reports list", lambda: cli.get("/reports"))
    pdf = re.search(r'href="(/reports/[0-9a-f]+/report.pdf)"', listing.text).group(1)
    median_of("clinician: signed PDF download", lambda: cli.get(pdf))
    return rows, samples


def load_test(base: str, tree_name: str, samples: list[str], reviewers: int, requests: int,
              max_seconds: float) -> dict:
    clients = [login(base, f"rev{i:02d}") for i in range(reviewers)]
    tokens = [csrf(c, "/batches") for c in clients]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(reviewers)
    deadline = [0.0]

    def reviewer(i: int) -> None:
        c, token = clients[i], tokens[i]
        start_gate.wait()
        if i == 0:
            deadline[0] = time.monotonic() + max_seconds
        mine, bad = [], []
        for n in range(requests):
            if deadline[0] and time.monotonic() > deadline[0]:
                break
            sid = samples[(i * 7 + n) % len(samples)]
            step = n % 4
            try:
                if step == 0:
                    dt, r = timed(lambda: c.get(f"/batches/{tree_name}"))
                elif step == 1:
                    dt, r = timed(lambda sid=sid: c.get(f"/samples/{sid}"))
                elif step == 2:
                    dt, r = timed(lambda sid=sid, n=n: c.post(f"/samples/{sid}/comment", data={
                        "csrf": token, "language": "en", "text": f"load test note {i}-{n}"}))  # fmt: skip
                else:
                    dt, r = timed(lambda sid=sid: c.get(f"/samples/{sid}/draft.pdf"))
                # a comment on a sample signed meanwhile is refused (409): the rule, not a server error
                ok = r.status_code in (200, 303) or (step == 2 and r.status_code == 409)
                mine.append(dt)
                if not ok:
                    bad.append(f"{r.status_code} step {step}")
            except httpx.HTTPError as exc:
                bad.append(type(exc).__name__)
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [threading.Thread(target=reviewer, args=(i,)) for i in range(reviewers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    for c in clients:
        c.close()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"requests": len(latencies), "errors": len(errors), "error_kinds": sorted(set(errors))[:5],
            "wall": wall, "p50": q[49], "p95": q[94], "max": max(latencies, default=0.0),
            "throughput": len(latencies) / wall if wall else 0.0}  # fmt: skip


def run_backend(label: str, url: str, tree: Path, work: Path, args: argparse.Namespace) -> list[str]:
    seed(url, args.reviewers)
    server = Server(tree, url, work)
    try:
        rows, samples = page_times(server.base, tree.name, args.repeat, args.signs)
        load = load_test(server.base, tree.name, samples, args.reviewers, args.requests, args.max_seconds)
    finally:
        server.stop()
    out = [f"## {label}", "", "| page or download | median | size / status |", "|---|---:|---|"]
    out += [f"| {name} | {seconds * 1000:.0f} ms | {note} |" for name, seconds, note in rows]
    out += ["", f"Load test: {args.reviewers} concurrent reviewers × up to {args.requests} requests (queue page, "
            f"sample page, comment POST, draft PDF), stop at {args.max_seconds:.0f} s: **{load['requests']} "
            f"requests in {load['wall']:.1f} s ({load['throughput']:.1f}/s), p50 {load['p50'] * 1000:.0f} ms, "
            f"p95 {load['p95'] * 1000:.0f} ms, max {load['max'] * 1000:.0f} ms, {load['errors']} errors**"
            + (f" ({', '.join(load['error_kinds'])})" if load["errors"] else ""), ""]  # fmt: skip
    print("\n".join(out), flush=True)
    if load["errors"]:
        raise SystemExit(f"{label}: {load['errors']} errors under load")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=96)
    ap.add_argument("--reviewers", type=int, default=50)
    ap.add_argument("--requests", type=int, default=40, help="requests per reviewer in the load test")
    ap.add_argument("--max-seconds", type=float, default=300, help="the load test stops by itself after this")
    ap.add_argument("--repeat", type=int, default=10, help="requests per page for the page times")
    ap.add_argument("--signs", type=int, default=5, help="samples signed for the signature time")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--quick", action="store_true", help="CI: 8 samples, 10 reviewers × 8 requests, 3 repeats")
    args = ap.parse_args()
    if args.quick:
        args.samples, args.reviewers, args.requests, args.repeat, args.signs = 8, 10, 8, 3, 2
        args.max_seconds = min(args.max_seconds, 120)
    where = ROOT / "results" / "benchmarks" / "quick" if args.quick else ROOT / "benchmarks" / "latest"
    out_path = args.out or where / "web.md"
    with tempfile.TemporaryDirectory(prefix="oncopanel-web-bench-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        tree = work / "BENCH-96"
        synthesise_tree(tree, args.samples, batch="BENCH")
        claim_installed_knowledge_base(tree)
        synth = time.perf_counter() - t0
        lines = [f"Synthesised batch: {args.samples} samples released as v1 with draft PDFs in {synth:.1f} s.", ""]
        sqlite = f"sqlite:///{work / 'web.sqlite'}"
        lines += run_backend("SQLite (WAL)", sqlite, tree, work, args)
        from oncopanel.web.pgserver import postgres_bindir, throwaway_postgres

        if postgres_bindir() is None:
            lines += ["## PostgreSQL", "", "skipped: PostgreSQL server binaries absent (Debian package postgresql)"]
        else:
            pg_tree = work / "BENCH-96-pg"
            synthesise_tree(pg_tree, args.samples, batch="BENCH")  # a fresh tree: the SQLite run signed some
            claim_installed_knowledge_base(pg_tree)
            with throwaway_postgres(port=free_port()) as url:
                lines += run_backend("PostgreSQL (throwaway local server, Unix socket)", url, pg_tree, work, args)
    header = ["# Review application benchmark", "",
              f"Command: `{'python benchmarks/web.py --quick' if args.quick else COMMAND}`",
              f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}", ""]
    if args.quick:
        header.insert(0, "QUICK MODE (CI smoke run, not a measurement)")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text("\n".join(header + lines) + "\n")
    print(f"written {out_path}")


if __name__ == "__main__":
    main()
