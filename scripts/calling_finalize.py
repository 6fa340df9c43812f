"""Snakemake adapter (rule calling_finalize): freebayes calls + hotspot genotyping -> contract VCF, hotspot table."""

import json
import logging
from pathlib import Path

from oncopanel.calling import pon as pon_io
from oncopanel.calling import settings as calling_settings
from oncopanel.calling.vcf import HotspotAllele, SampleContext, finalize
from oncopanel.hotspots import Thresholds, evaluate_hotspots, write_hotspot_table
from oncopanel.panels import load_panels
from oncopanel.reference import FastaSequence


def main(smk) -> None:  # smk: the snakemake object
    logging.basicConfig(filename=smk.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
    sample_id = smk.wildcards.sample
    settings = calling_settings.from_dict(smk.params.calling)
    panels = load_panels()
    stated_lod = min((panels[p].stated_lod for p in smk.params.panels), default=0.05)
    evaluations = evaluate_hotspots(
        smk.input.bam, sample_id, thresholds=Thresholds(stated_lod=stated_lod),
        reference=FastaSequence(smk.params.reference),
    )  # fmt: skip
    results = [e.result for e in evaluations]
    write_hotspot_table(results, smk.output.hotspots_tsv, smk.output.hotspots_parquet, sample_id=sample_id)
    detected = tuple(
        HotspotAllele(a.hotspot_id, a.variant, a.depth, a.alt_count)
        for e in evaluations
        if e.result.status == "detected"
        for a in e.alleles
        if a.detected and a.variant is not None
    )
    pon = pon_io.read(smk.input.pon) if hasattr(smk.input, "pon") else None
    ctx = SampleContext(sample_id, smk.params.mode, smk.params.reference, smk.input.bam, pon, detected)
    summary = finalize(smk.input.vcf, smk.output.vcf, ctx, settings)
    report = {
        "sample_id": sample_id,
        "mode": smk.params.mode,
        "records": summary.records,
        "passed": summary.passed,
        "hotspots_detected": [r.hotspot_id for r in results if r.status == "detected"],
        "hotspots_forced": summary.forced,
        "hotspots_not_forced": summary.unforced,
        "pon": pon.status(settings.pon) if pon is not None else "not used (germline mode)",
    }
    Path(smk.output.summary).write_text(json.dumps(report, indent=2) + "\n")
    logging.info("%s", report)


main(snakemake)  # type: ignore[name-defined]  # noqa: F821
