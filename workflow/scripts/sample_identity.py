"""Snakemake adapter: identity SNP genotypes and a contamination estimate for one sample."""

from pathlib import Path

from oncopanel.sample_identity.criteria import load_criteria
from oncopanel.sample_identity.summary import identify_sample

smk = snakemake  # noqa: F821 (injected by Snakemake)
doc = identify_sample(
    smk.input.bam, smk.wildcards.sample, smk.params.specimen_type, smk.output[0], load_criteria(smk.input.criteria)
)
Path(smk.log[0]).write_text(f"{smk.wildcards.sample}: contamination {doc.get('contamination', {}).get('reason', '')}\n")
