"""Snakemake adapter (rule umi_consensus): a plasma sample's aligned reads -> consensus BAM (one read pair per
molecule, oncopanel.umi.bam) and its summary JSON (families, family sizes, depth at each hotspot both ways)."""

import json
import logging
from pathlib import Path

from oncopanel.hotspots import load_hotspots
from oncopanel.umi.bam import build_consensus, hotspot_depths
from oncopanel.umi.settings import load_settings


def main(smk) -> None:  # smk: the snakemake object
    logging.basicConfig(filename=smk.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
    settings = load_settings(smk.params.umi_config)
    summary = build_consensus(
        smk.input.bam, smk.output.bam, settings, duplex=smk.params.duplex, sample_id=smk.wildcards.sample
    )
    hotspots = [h for h in load_hotspots() if h.panel in smk.params.panels]
    doc = {
        "sample_id": smk.wildcards.sample,
        "umi_layout": smk.params.layout,
        "duplex": smk.params.duplex,
        "min_family_size": settings.consensus.min_family_size,
        "settings": settings.source,
        **summary.__dict__,
        "mean_family_size": round(summary.mean_family_size, 2),
        "hotspot_depths": hotspot_depths(smk.output.bam, hotspots),
    }
    doc["family_size_histogram"] = {str(k): v for k, v in summary.family_size_histogram.items()}
    Path(smk.output.summary).write_text(json.dumps(doc, indent=2) + "\n")
    logging.info("%s: %d read pairs -> %d families (%d duplex)", smk.wildcards.sample, summary.read_pairs,
                 summary.families, summary.duplex_families)  # fmt: skip


main(snakemake)  # type: ignore[name-defined]  # noqa: F821
