"""Snakemake adapter (rule calling_pon): the batch's normals' somatic-mode calls -> panel-of-normals table."""

import logging

from oncopanel.calling import pon
from oncopanel.calling import settings as calling_settings


def main(smk) -> None:  # smk: the snakemake object
    logging.basicConfig(filename=smk.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
    settings = calling_settings.from_dict(smk.params.calling)
    vcfs = dict(zip(smk.params.normals, smk.input.vcfs, strict=True))
    panel = pon.build(smk.wildcards.batch, vcfs, settings.pon)
    pon.write(panel, smk.output[0])
    logging.info("%s; %d sites", panel.status(settings.pon), len(panel.counts))


main(snakemake)  # type: ignore[name-defined]  # noqa: F821
