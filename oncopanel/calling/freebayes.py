"""freebayes' options from the calling settings: light to import, as the workflow builds rule calling_freebayes'
job with them at DAG time (oncopanel.calling.window.call_freebayes runs them, for the rule, tests and benchmarks)."""

from __future__ import annotations

import re
import shlex

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
