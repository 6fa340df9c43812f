"""Snakemake adapter: oncopanel's QC tables as MultiQC custom content (oncopanel/multiqc.py)."""

from pathlib import Path

from oncopanel.multiqc import write_custom_content

smk = snakemake  # noqa: F821 (injected by Snakemake)
written = write_custom_content(
    smk.output[0],
    qc_jsons=list(smk.input.qc),
    hotspot_tables=list(smk.input.hotspots),
    batch_identity_jsons=list(smk.input.batch_identity),
    demux_reports=dict(zip(smk.params.runs, smk.input.demux, strict=True)),
    # coverage/{sample}.depth_distribution.tsv (rule bam_qc)
    depth_distributions={Path(p).name.removesuffix(".depth_distribution.tsv"): p for p in smk.input.coverage},
)
Path(smk.log[0]).write_text("".join(f"wrote {p}\n" for p in written))
