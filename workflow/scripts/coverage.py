"""Snakemake adapter (rule coverage): the sample's target coverage files by oncopanel.coverage (samtools depth over
the panel targets, the code tests and benchmarks/coverage.py run)."""

from oncopanel.coverage import COVERAGE_TOOLS, write_coverage_files
from oncopanel.provenance import write_tool_versions


def main(smk) -> None:  # smk: the snakemake object
    write_tool_versions(smk.log[0], smk.rule, COVERAGE_TOOLS)
    prefix = smk.output.regions.removesuffix(".regions.bed.gz")
    coverage = write_coverage_files(
        prefix, smk.input.bam, smk.input.targets, smk.params.mapq, list(smk.params.thresholds)
    )
    with open(smk.log[0], "a") as fh:
        fh.write(f"{smk.wildcards.sample}: {len(coverage)} targets, {sum(c.target.length for c in coverage)} bases\n")


main(snakemake)  # type: ignore[name-defined]  # noqa: F821
