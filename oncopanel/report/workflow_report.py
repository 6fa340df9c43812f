"""The files `snakemake --report` shows beside the batch summary and MultiQC (workflow/rules/report.smk): the
clinician PDFs this run delivered and a page per demultiplexed run.

The delivered PDFs are not Snakemake outputs (oncopanel.release: no re-run may delete a delivered report), so the
report gets hard links to them (a copy across file systems): the PDFs as delivered, byte for byte."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from oncopanel.multiqc import demultiplexing_table
from oncopanel.release import delivery_paths


def link_delivered_pdfs(results: str | Path, sample_ids: Iterable[str], out_dir: str | Path) -> list[Path]:
    """Link each sample's delivered PDF into `out_dir` as <sample>.pdf; a sample without one (held, or its
    result not released) gets none. Returns the links."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    linked = []
    for sid in sorted(sample_ids):
        pdf = Path(delivery_paths(results, sid)["pdf"])
        if not pdf.exists():
            continue
        target = out / f"{sid}.pdf"
        target.unlink(missing_ok=True)
        try:
            os.link(pdf, target)
        except OSError:  # another file system
            shutil.copyfile(pdf, target)
        linked.append(target)
    return linked


def write_demultiplexing_pages(reports: Mapping[str, str | Path], out_dir: str | Path) -> list[Path]:
    """One HTML page per pooled run from its demux_report.json (the MultiQC demultiplexing table of that run)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pages = []
    for run, path in sorted(reports.items()):
        page = out / f"{run}.html"
        page.write_text(demultiplexing_table({run: json.loads(Path(path).read_text())}).html())
        pages.append(page)
    return pages
