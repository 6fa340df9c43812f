"""Snakemake adapter (rule calling_freebayes): a BAM's raw calls over its mode's targets,
by oncopanel.calling.run.call_raw (the code the tests and benchmarks/calling.py run). Gets only its mode's
freebayes block of the checked calling settings."""

from oncopanel.calling import settings as calling_settings
from oncopanel.calling.run import call_raw


def main(smk) -> None:  # smk: the snakemake object
    call_raw(
        smk.input.bam,
        list(smk.input.targets),
        smk.params.mode,
        calling_settings.freebayes_from_dict(smk.params.freebayes),
        smk.input.fasta,
        smk.params.ref,
        smk.output.regions,
        smk.output.vcf,
        log=smk.log[0],
        rule=smk.rule,
    )


main(snakemake)  # type: ignore[name-defined]  # noqa: F821
