"""Time to report a 100-sample batch: result documents, clinician PDFs (half Chinese, half English) and the batch
summary, in one process (a batch-level reporting step), plus the cold start of a one-report process.

    .venv/bin/python benchmarks/report.py [--samples 100] [--out benchmarks/latest/report.md]
    .venv/bin/python benchmarks/report.py --quick   # CI: 4 samples, results/benchmarks/quick/report.md

Samples are built from the report test fixtures (tests/data/report/): 90 reported samples with 2-12 somatic
variants, 19 hotspots and 6 therapies each, and 10 failed samples.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from oncopanel.report import build_result, render_batch_summary, render_pdf, write_result  # noqa: E402

DATA = ROOT / "tests" / "data" / "report"
COMMAND = "python benchmarks/report.py --samples 100"


def sample_inputs(n: int) -> list[dict]:
    luad = json.loads((DATA / "luad_inputs.json").read_text(encoding="utf-8"))
    failed = json.loads((DATA / "failed_inputs.json").read_text(encoding="utf-8"))
    out = []
    for i in range(n):
        d = copy.deepcopy(failed if i % 10 == 9 else luad)
        sid = f"S{1000 + i}"
        d["sample"].update(
            sample_id=sid,
            patient=f"P{1000 + i}",
            language="zh" if i % 2 == 0 else "en",
            site=["安化县 (Anhua County)", "Xinhua County", "Longhui County"][i % 3],
        )
        d["report_id"] = f"OP-B2026-11-{sid}"
        extra = copy.deepcopy(d["somatic"][1:2]) * (i % 10)  # 2..12 somatic variants
        d["somatic"] = d["somatic"] + extra
        out.append(d)
    return out


def build(d: dict) -> dict:
    return build_result(
        d["sample"],
        d["qc"],
        d["somatic"],
        d["germline"],
        d["hotspots"],
        d["therapies"],
        d["provenance"],
        assay=d["assay"],
        report_id=d["report_id"],
        reported_date=d["reported_date"],
    )


def cold_start(tmp: Path) -> float:
    """Wall time of a fresh Python process that imports oncopanel.report and renders one Chinese report."""
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from oncopanel.report import load_result, render_pdf\n"
        f"render_pdf(load_result({str(tmp / 'S1000.result.json')!r}), {str(tmp / 'cold.pdf')!r}, 'zh')\n"
    )
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


class Clock:
    """Wall and CPU time of a block (CPU time is what the batch costs on a shared machine)."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--out", type=Path, help="default benchmarks/latest/report.md (--quick: under results/)")
    ap.add_argument("--quick", action="store_true", help="CI: 4 samples (both languages, a failed one too)")
    args = ap.parse_args()
    if args.quick:
        args.samples = 4
    where = ROOT / "results" / "benchmarks" / "quick" if args.quick else ROOT / "benchmarks" / "latest"
    args.out = args.out or where / "report.md"
    inputs = sample_inputs(args.samples)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        with Clock() as c_results:
            results = [build(d) for d in inputs]
            for r in results:
                write_result(r, tmp / f"{r['sample']['sample_id']}.result.json")
        per_report, sizes = [], 0
        with Clock() as c_pdfs:
            for r in results:
                start = time.perf_counter()
                pdf = render_pdf(r, tmp / f"{r['sample']['sample_id']}.pdf", r["sample"]["language"])
                per_report.append(time.perf_counter() - start)
                sizes += pdf.stat().st_size
        with Clock() as c_batch:
            costs = {r["sample"]["sample_id"]: 800.0 for r in results}
            render_batch_summary(results, tmp / "batch.html", costs=costs)
        cold = cold_start(tmp)
    n = len(results)
    total_wall = c_results.wall + c_pdfs.wall + c_batch.wall
    total_cpu = c_results.cpu + c_pdfs.cpu + c_batch.cpu
    lines = [
        "# Report rendering benchmark",
        "",
        f"Command: `{COMMAND}` (from the repository root, with the project's .venv).",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}; one process.",
        "",
        f"Batch: {n} samples ({sum(r['status'] == 'failed' for r in results)} failed), "
        f"{sum(r['sample']['language'] == 'zh' for r in results)} Chinese and "
        f"{sum(r['sample']['language'] == 'en' for r in results)} English reports, {sizes / n / 1024:.0f} KiB per PDF.",
        "",
        "| step | wall (s) | CPU (s) | CPU per sample (ms) |",
        "|---|---:|---:|---:|",
        f"| build + validate + write {n} result JSONs | {c_results.wall:.2f} | {c_results.cpu:.2f} "
        f"| {1000 * c_results.cpu / n:.0f} |",
        f"| render {n} clinician PDFs | {c_pdfs.wall:.2f} | {c_pdfs.cpu:.2f} | {1000 * c_pdfs.cpu / n:.0f} |",
        f"| batch summary (HTML) | {c_batch.wall:.3f} | {c_batch.cpu:.3f} | — |",
        f"| **all of the above** | **{total_wall:.2f}** | **{total_cpu:.2f}** | {1000 * total_cpu / n:.0f} |",
        "",
        f"Per PDF (wall): median {1000 * statistics.median(per_report):.0f} ms, "
        f"slowest {1000 * max(per_report):.0f} ms "
        "(the first render of each language also loads and parses its fonts).",
        f"Cold start: a fresh process that imports oncopanel.report and renders one Chinese report takes {cold:.2f} s "
        "wall",
        "(interpreter + reportlab import + parsing the 17 MB WenQuanYi Zen Hei collection). Render the batch's reports",
        "in one batch-level job rather than one process per sample. Wall time above CPU time is other work on the",
        f"shared machine (load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs).",
        "",
    ]
    if args.quick:
        lines.insert(0, "QUICK MODE (CI smoke run, not a measurement): `python benchmarks/report.py --quick`")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
