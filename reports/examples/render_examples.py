"""Render the example reports in this folder from the test fixtures (tests/data/report/).

    .venv/bin/python reports/examples/render_examples.py

Writes example_S0042_zh.pdf / example_S0042_en.pdf (a lung adenocarcinoma with EGFR L858R and a tumour-only BRCA1
finding, with a FICTIONAL identity record), example_S0057_en.pdf (a sample that failed QC), and the result JSON
they were rendered from (its SHA-256 is printed in each report). The lead replaces these with demo-batch reports.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from oncopanel.report import build_result, render_pdf, write_result

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "report"
OUT = Path(__file__).resolve().parent
CENTRE = {"name": "Provincial Precision Oncology Testing Centre", "name_zh": "省肿瘤精准检测中心"}


def build(name: str) -> dict:
    d = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
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


def main() -> None:
    identities = {r["sample_id"]: r for r in yaml.safe_load((DATA / "identity.yaml").read_text(encoding="utf-8"))}
    for name, languages in (("luad_inputs", ("zh", "en")), ("failed_inputs", ("en",))):
        result = build(name)
        sid = result["sample"]["sample_id"]
        write_result(result, OUT / f"example_{sid}.result.json")
        for lang in languages:
            render_pdf(result, OUT / f"example_{sid}_{lang}.pdf", lang, identity=identities[sid], centre=CENTRE)


if __name__ == "__main__":
    main()
