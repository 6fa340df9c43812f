"""Snakemake adapter: split one pooled run into per-sample FASTQ pairs with its report."""

import json
from pathlib import Path

from oncopanel.batch.demux import demultiplex

smk = snakemake  # noqa: F821 (injected by Snakemake)
out_dir = Path(smk.output.report).parent
stats = demultiplex(
    smk.input.r1,
    smk.input.r2,
    list(smk.params.samples),
    out_dir,
    platform=smk.params.platform,
    i5_orientation=smk.params.i5_orientation,
    max_mismatches=smk.params.max_mismatches,
)
summary = {"read_pairs": stats.read_pairs, "hopped": stats.hopped, "undetermined": stats.undetermined}
Path(smk.log[0]).write_text(json.dumps(summary) + "\n")
