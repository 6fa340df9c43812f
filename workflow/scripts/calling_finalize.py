"""Snakemake adapter (rule calling_finalize): freebayes calls + hotspot genotyping -> contract VCF (normalised,
sorted, indexed) and hotspot table."""

import json
import logging
import tempfile
from pathlib import Path

from oncopanel.calling import pon as pon_io
from oncopanel.calling import settings as calling_settings
from oncopanel.calling.background import model_from_files
from oncopanel.calling.run import genotype_sample_hotspots, index_vcf
from oncopanel.calling.vcf import SampleContext, background_provenance, finalize
from oncopanel.hotspots import write_hotspot_table
from oncopanel.panels import load_panels


def main(smk) -> None:  # smk: the snakemake object
    logging.basicConfig(filename=smk.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
    sample_id = smk.wildcards.sample
    settings = calling_settings.from_dict(smk.params.calling)
    panels = load_panels()
    # calling.lod per specimen type, else the panels': recorded in calling.json for the result (deliver)
    stated_lod = settings.sample_stated_lod(smk.params.specimen_type, (panels[p].stated_lod for p in smk.params.panels))
    # per-allele background: the batch's normals (rule calling_background) + the store's files of the panels
    model = None
    if hasattr(smk.input, "background"):
        model = model_from_files(smk.input.background, smk.params.panels, settings.background_model)
    results, detected = genotype_sample_hotspots(
        smk.input.bam, sample_id, smk.params.reference, stated_lod, settings.hotspots, model
    )
    write_hotspot_table(results, smk.output.hotspots_tsv, smk.output.hotspots_parquet, sample_id=sample_id)
    pon = pon_io.read(smk.input.pon) if hasattr(smk.input, "pon") else None
    ctx = SampleContext(sample_id, smk.params.mode, smk.params.reference, smk.input.bam, pon, detected, model)
    # scratch outside the results tree: a job killed here leaves nothing beside the deliverables
    with tempfile.TemporaryDirectory(prefix="oncopanel-finalize-") as tmp:
        unsorted = Path(tmp) / f"{sample_id}.unsorted.vcf"
        summary = finalize(smk.input.vcf, unsorted, ctx, settings)
        index_vcf(unsorted, smk.params.reference, smk.output.vcf, log=smk.log[0])
    report = {
        "sample_id": sample_id,
        "mode": smk.params.mode,
        "records": summary.records,
        "passed": summary.passed,
        "hotspots_detected": [r.hotspot_id for r in results if r.status == "detected"],
        "hotspots_forced": summary.forced,
        "hotspots_not_forced": summary.unforced,
        "pon": pon.status(settings.pon) if pon is not None else "not used (germline mode)",
        "background": background_provenance(ctx) if smk.params.mode == "somatic" else "not used (germline mode)",
        "stated_lod": stated_lod,
    }
    Path(smk.output.summary).write_text(json.dumps(report, indent=2) + "\n")
    logging.info("%s", report)


main(snakemake)  # type: ignore[name-defined]  # noqa: F821
