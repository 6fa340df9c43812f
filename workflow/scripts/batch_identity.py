"""Snakemake adapter: the batch's concordance, cross-talk and run-control verdicts (held or released)."""

import json
from pathlib import Path

from oncopanel.sample_identity.summary import batch_identity_from_files

smk = snakemake  # noqa: F821 (injected by Snakemake)
# The rule's inputs are the files this reads (identity JSONs, the controls' QC/hotspots/calls, the patients' QC)
summary = batch_identity_from_files(smk.params.results, smk.params.samples, smk.input.criteria, smk.output[0])
Path(smk.log[0]).write_text(json.dumps({"batch_held": summary["batch_held"], "held": summary["held_samples"]}) + "\n")
