"""Snakemake adapter: check the input files of every sample of one batch and write each sample's status JSON.

Never fails the job: a sample with bad inputs gets status "failed" and its one-line reasons.
"""

import json
from pathlib import Path

from oncopanel.console import configure_logging
from oncopanel.inputs import SiteRegistry, check_batch_inputs

smk = snakemake  # noqa: F821 (injected by Snakemake)
samples = smk.params.samples  # validated samples, pooled lanes resolved to their demultiplexed FASTQ
log = open(smk.log[0], "w")  # noqa: SIM115 (open for the whole job: progress lines as they come)
configure_logging(1, stream=log)  # one line per sample checked, in the job's log
# the centre's site registry (config key sites; empty: none, no check): a sample naming another site fails alone
sites = SiteRegistry.read(smk.input.sites[0], smk.params.sheet) if smk.input.sites else None
checks = check_batch_inputs(samples, Path(smk.input.fai), realign=smk.params.realign, threads=smk.threads,
                            sites=sites)  # fmt: skip
with log:
    for sample, status_path in zip(samples, smk.output.status, strict=True):
        check = checks[sample.sample_id]
        tmp = Path(status_path + ".tmp")
        tmp.write_text(json.dumps(check.as_dict(), indent=2) + "\n")
        tmp.replace(status_path)
        for problem in check.problems:
            print(f"INPUT FAILED: {problem}", file=log)
        print(f"{sample.sample_id}: {'ok' if check.ok else 'failed'}", file=log)
# The batch's sample set this check covered (the checkpoint's first output; see rules/inputs.smk).
Path(smk.output.checked).write_text(json.dumps({"samples": [s.sample_id for s in samples]}) + "\n")
