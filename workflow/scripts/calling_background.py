"""Snakemake adapter (rule calling_background): the batch's normals counted at its tumours' candidate alleles and
the hotspot alleles -> the batch background table (oncopanel.calling.background) and, from the same counts, the
batch's panel of normals (oncopanel.calling.pon)."""

import logging

from oncopanel.calling import settings as calling_settings
from oncopanel.calling.run import build_batch_background


def main(smk) -> None:  # smk: the snakemake object
    logging.basicConfig(filename=smk.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
    settings = calling_settings.from_dict(smk.params.calling)
    normals = dict(zip(smk.params.normals, smk.input.bams, strict=True))
    n = build_batch_background(
        smk.wildcards.batch, normals, smk.input.vcfs, smk.params.reference, settings, smk.output.background,
        smk.params.panels, smk.output.pon, smk.output.bounds, smk.params.panel_sets,
    )  # fmt: skip
    logging.info("batch %s: %d normals, %d alleles counted", smk.wildcards.batch, len(normals), n)


main(snakemake)  # type: ignore[name-defined]  # noqa: F821
