"""Snakemake adapter (rules results_{batch}): every sample's result files and clinician PDF, one process per batch."""

from pathlib import Path

from oncopanel.deliver import Settings, deliver_batch, plan_delivery

smk = snakemake  # noqa: F821 (injected by Snakemake)
settings = Settings(
    formulary=Path(smk.params.formulary),
    provenance=Path(smk.input.provenance),
    centre=dict(smk.params.centre),
    identity_manifest=Path(smk.input.identity) if hasattr(smk.input, "identity") else None,
    report_benign=smk.params.report_benign,
    reported_date=smk.params.report_date,
)
deliveries = [plan_delivery(smk.params.results, s, smk.input.batch_identity) for s in smk.params.samples]
lines = deliver_batch(deliveries, settings)
# The log names samples by pseudonym only.
Path(smk.log[0]).write_text("\n".join(lines) + "\n")
