"""Snakemake adapter: the delivered PDFs and demultiplexing pages for `snakemake --report`."""

from pathlib import Path

from oncopanel.report.workflow_report import link_delivered_pdfs, write_demultiplexing_pages

smk = snakemake  # noqa: F821 (injected by Snakemake)
pdfs = link_delivered_pdfs(smk.params.results, smk.params.patients, smk.output.pdfs)
pages = write_demultiplexing_pages(dict(zip(smk.params.runs, smk.input.demux, strict=True)), smk.output.demux)
Path(smk.log[0]).write_text("".join(f"{p}\n" for p in [*pdfs, *pages]))
