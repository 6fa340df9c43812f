"""freebayes' command from the calling settings: light to import, as the workflow builds rule calling_freebayes'
command with it at DAG time (oncopanel.calling.run runs the same command for the tests and benchmarks)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from oncopanel.calling.settings import FreebayesSettings
from oncopanel.calling.window import freebayes_pipeline


def freebayes_args(fb: FreebayesSettings) -> list[str]:
    """Options for one freebayes run (reference, regions, BAM and output are added by the caller)."""
    args = [
        "--min-alternate-fraction", str(fb.min_alternate_fraction),
        "--min-alternate-count", str(fb.min_alternate_count),
        "--min-mapping-quality", str(fb.min_mapping_quality),
        "--min-base-quality", str(fb.min_base_quality),
        "--limit-coverage", str(fb.limit_coverage),
        "--use-best-n-alleles", str(fb.use_best_n_alleles),
    ]  # fmt: skip
    return args + shlex.split(fb.extra)


def target_name_regex(genes: tuple[str, ...] | list[str]) -> str:
    """A regex matching target BED names of these genes (names look like ``BRCA1_exon11``)."""
    for gene in genes:
        if not re.fullmatch(r"[A-Za-z0-9-]+", gene):
            raise ValueError(f"gene name {gene!r} is not a plain symbol")
    return "^(" + "|".join(genes) + ")_"


def freebayes_command(
    bam: str | Path,
    regions_bed: str | Path,
    freebayes: FreebayesSettings,
    fb_fasta: str | Path,
    reference: str | Path,
    out_vcf_gz: str | Path,
) -> str:
    """freebayes over the regions (oncopanel.calling.run.calling_regions) | bcftools norm -f ref -m- (one record per
    allele), as one shell pipeline, on the BAM as it is (oncopanel.calling.window.call_freebayes decides whether
    the reads are moved to windows first)."""
    return freebayes_pipeline(bam, regions_bed, freebayes_args(freebayes), fb_fasta, reference, out_vcf_gz)
