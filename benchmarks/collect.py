"""Gather the latest benchmark results (benchmarks/latest/*.md) into BENCHMARKS.md, in pipeline order.

    python benchmarks/collect.py

Each results file starts with the command that produced it; this script only assembles them.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "latest"
ORDER = [
    ("Workflow backbone: time per stage (demo batch)", "backbone_stages.md"),
    ("Workflow backbone: DAG building", "backbone_dag.md"),
    ("Variant calling and hotspot genotyping: accuracy", "calling.md+low_vaf.md"),
    ("Hotspot detection rule: min_alt, indel background, library damage", "hotspot_rule.md"),
    ("Copy number: BRCA1/BRCA2 exon CNV and EGFR amplification", "cnv.md"),
    ("HGVS naming: accuracy and speed", "hgvs.md"),
    ("Knowledge base and matching", "knowledge.md"),
    ("Reports: rendering time", "report.md"),
    ("Batching: planning and demultiplexing", "batching.md"),
    ("Scale: large batches and overhead", "scale.md"),
    ("Coverage: the target coverage step (issue 21)", "coverage.md"),
    ("Reliability: bad inputs and kill/resume", "reliability.md"),
    ("Review application: pages, downloads and load (oncopanel serve)", "web.md"),
]


def _demote(text: str) -> str:
    """Shift the results file's own headings one level down under this file's section heading."""
    return "\n".join("##" + line if line.startswith("#") else line for line in text.splitlines())


def main() -> None:
    parts = [
        "# BENCHMARKS",
        "",
        "Latest measurements on this project's machines (2 cores, 24 GB). Each section names the command that "
        "produced it; `python benchmarks/collect.py` rebuilds this file from `benchmarks/latest/`.",
    ]
    for title, names in ORDER:
        parts += ["", f"## {title}"]
        for name in names.split("+"):  # a section may gather several results files
            path = RESULTS / name
            parts += ["", _demote(path.read_text().strip()) if path.exists() else "_not measured yet_"]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
