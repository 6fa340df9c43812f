"""The plasma cfDNA block of a result (issue 18): molecules behind the calls, cfDNA input as genome equivalents,
whether ctDNA was detected, and findings in genes prone to clonal haematopoiesis.

A plasma result with no somatic variant detected is "ctDNA not detected — uninformative": absence of a variant in
cfDNA may mean the tumour shed too little DNA, so it is never a negative or a wild-type result (the negative
biomarkers say "not determined from plasma", oncopanel.knowledge.negative), and tissue is recommended.
"""

from __future__ import annotations

import csv
import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from oncopanel import paths

CH_GENES_TSV = paths.ANNOTATION / "plasma" / "clonal_haematopoiesis_genes.tsv"
HAPLOID_GENOME_PG = 3.3  # mass of one haploid human genome (~3.1 Gb x 650 Da/bp / Avogadro): 3.3 pg


@functools.cache
def clonal_haematopoiesis_genes(path: Path | str = CH_GENES_TSV) -> dict[str, str]:
    """Gene -> the source naming it (annotation/plasma/clonal_haematopoiesis_genes.tsv)."""
    lines = [line for line in Path(path).read_text().splitlines() if line and not line.startswith("#")]
    return {row["gene"]: row["source"] for row in csv.DictReader(lines, delimiter="\t")}


def genome_equivalents(cfdna_ng: float | None) -> int | None:
    """Haploid genome copies in the cfDNA put into the library: ng x 1000 / 3.3 pg."""
    return None if cfdna_ng is None else round(cfdna_ng * 1000 / HAPLOID_GENOME_PG)


def plasma_block(sample: Any, umi_summary: Path | None, result: Mapping[str, Any]) -> dict[str, Any]:
    """The result's ``plasma`` block from the sample record, the consensus summary (rule umi_consensus; None when
    the sample had no UMIs) and the result's own somatic and hotspot rows."""
    summary = json.loads(umi_summary.read_text()) if umi_summary is not None and umi_summary.exists() else None
    somatic = [v for v in result.get("somatic", []) if v.get("reported")]
    detected_hotspots = [h["hotspot_id"] for h in result.get("hotspots", []) if h.get("status") == "detected"]
    ch = clonal_haematopoiesis_genes()
    consensus = None
    if summary is not None:
        consensus = {
            "umi_layout": summary["umi_layout"],
            "duplex": summary["duplex"],
            "read_pairs": summary["pairs_used"],
            "families": summary["families"],
            "duplex_families": summary["duplex_families"],
            "mean_family_size": summary["mean_family_size"],
            "min_family_size": summary["min_family_size"],
            "hotspot_depths": summary["hotspot_depths"],
        }
    return {
        "ctdna_detected": bool(somatic or detected_hotspots),
        "cfdna_input_ng": sample.cfdna_input_ng,
        "genome_equivalents": genome_equivalents(sample.cfdna_input_ng),
        "vaf_basis": "molecules" if consensus else "reads",
        "consensus": consensus,
        "clonal_haematopoiesis": [
            {"finding_id": v["id"], "gene": v["gene"], "source": ch[v["gene"]]} for v in somatic if v["gene"] in ch
        ],
    }
