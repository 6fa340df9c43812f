"""Snakemake adapter (rules results_{batch}): every patient sample's draft and its release, one process per batch."""

from pathlib import Path

from oncopanel.deliver import Settings, deliver_batch, plan_delivery

smk = snakemake  # noqa: F821 (injected by Snakemake)
settings = Settings(
    formulary=Path(smk.params.formulary),
    provenance=Path(smk.input.provenance),
    centre=dict(smk.params.centre),
    results=Path(smk.params.results),
    identity_manifest=Path(smk.input.identity) if hasattr(smk.input, "identity") else None,
    report_benign=smk.params.report_benign,
    reported_date=smk.params.report_date,
)
pon = smk.params.pon if Path(smk.params.pon).exists() else None  # built only for batches with enough normals
deliveries = [plan_delivery(smk.params.results, s, smk.input.batch_identity, pon) for s in smk.params.samples]
lines = deliver_batch(deliveries, settings)
# The log names samples by pseudonym only.
Path(smk.log[0]).write_text("\n".join(lines) + "\n")
