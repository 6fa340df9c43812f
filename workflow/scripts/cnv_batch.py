"""Snakemake adapter (rules cnv_{batch}): the batch's copy-number tables (oncopanel.cnv.batch)."""

from pathlib import Path

from oncopanel.cnv.batch import CnvSample, multiqc_table, reference_store, run_batch, run_batch_or_not_assessable
from oncopanel.cnv.settings import load_settings

smk = snakemake  # noqa: F821 (injected by Snakemake)
# only samples whose reads passed the input check have coverage: {R}/coverage/{sample}.regions.bed.gz
regions = {Path(p).name.removesuffix(".regions.bed.gz"): p for p in smk.input.regions}
samples = [CnvSample.of(s, regions.get(s.sample_id)) for s in smk.params.samples]


def run():
    store = reference_store(smk.params.store, smk.params.store_version)
    return run_batch(samples, load_settings(), smk.params.outdir, store=store, full_reference=not smk.params.masked)


# a failure leaves every sample's copy number "not assessable" (with the error), never the batch without results
written, error = run_batch_or_not_assessable(samples, smk.params.outdir, run)
Path(smk.output.multiqc).write_text(multiqc_table(smk.params.batch, written))
# The log names samples by pseudonym only.
Path(smk.log[0]).write_text("".join(f"{s}\t{p}\n" for s, p in written.items()) + (f"error: {error}\n" if error else ""))
