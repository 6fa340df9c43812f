"""Snakemake adapter: split one pooled run into per-sample FASTQ pairs with its report."""

import json
from pathlib import Path

from oncopanel.batch.demux import demultiplex
from oncopanel.console import configure_logging

smk = snakemake  # noqa: F821 (injected by Snakemake)
out_dir = Path(smk.output.report).parent
log = open(smk.log[0], "w")  # noqa: SIM115 (open for the whole job: progress lines as they come)
configure_logging(1, stream=log)  # progress every ~1 million read pairs, in the job's log
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
log.write(json.dumps(summary) + "\n")
log.close()
