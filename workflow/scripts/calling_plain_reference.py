"""Snakemake adapter (rule calling_plain_reference): freebayes' plain copy of the bgzipped reference (panel contigs,
cut past the panels' transcripts), by
oncopanel.calling.run.plain_fasta (the code the tests and benchmarks/calling.py run)."""

from oncopanel.calling.run import plain_fasta


def main(smk) -> None:  # smk: the snakemake object
    plain_fasta(smk.input.fasta, smk.output.fasta, log=smk.log[0], rule=smk.rule)


main(snakemake)  # type: ignore[name-defined]  # noqa: F821
