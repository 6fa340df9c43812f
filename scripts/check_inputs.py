"""Snakemake adapter: check one sample's input files and write its status JSON (never fails the job)."""

import json
from pathlib import Path

from oncopanel.inputs import check_sample_inputs

smk = snakemake  # noqa: F821 (injected by Snakemake)
sample = smk.params.sample  # the validated sample, pooled lanes resolved to their demultiplexed FASTQ
result = check_sample_inputs(sample, Path(smk.input.fai), realign=smk.params.realign)
tmp = Path(smk.output.status + ".tmp")
tmp.write_text(json.dumps(result.as_dict(), indent=2) + "\n")
tmp.replace(smk.output.status)
with open(smk.log[0], "w") as log:
    for problem in result.problems:
        print(f"INPUT FAILED: {problem}", file=log)
    print(f"{smk.wildcards.sample}: {'ok' if result.ok else 'failed'}", file=log)
