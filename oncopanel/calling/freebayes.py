"""freebayes' command from the calling settings: light to import, as the workflow builds rule calling_freebayes'
command with it at DAG time (oncopanel.calling.run runs the same command for the tests and benchmarks)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from oncopanel.calling.settings import FreebayesSettings


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
    allele), as one shell pipeline: the command rule calling_freebayes runs as it is, and oncopanel.calling.run's
    call_raw for the tests and benchmarks."""
    fb = ["freebayes", "-f", str(fb_fasta), "-t", str(regions_bed), *freebayes_args(freebayes), str(bam)]
    norm = ["bcftools", "norm", "--no-version", "-f", str(reference), "-m-", "-Oz", "-o", str(out_vcf_gz)]
    return f"{shlex.join(fb)} | {shlex.join(norm)}"
