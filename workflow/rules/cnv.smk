# Copy number, one job per batch (oncopanel.cnv.batch): BRCA1/BRCA2 exon copy number of the germline samples against
# each other (and the configured reference-store version), EGFR amplification of the tumours against the batch's
# samples of the same panels. Counts are QC's per-target mean depths (the regions files of bam_qc's coverage: one coverage
# step serves both). Every patient sample gets {R}/cnv/{sample}.cnv.tsv (run controls are not references: their
# material is not the batch's); the batch's table for MultiQC is {R}/qc/{batch}_cnv_mqc.tsv.
# Needs from common.smk: R, LOGS, BENCH, BATCHES, batch_rule(), batch_patients(), get_sample(), inputs_ok().


def cnv_regions(batch):
    def inputs(wc):
        return {"regions": [f"{R}/coverage/{s}.regions.bed.gz" for s in batch_patients(batch) if inputs_ok(s)]}

    return inputs


for _batch in BATCHES:

    rule:
        name:
            batch_rule("cnv", _batch)
        input:
            unpack(cnv_regions(_batch)),
            settings=str(paths.CONFIG / "cnv.yaml"),
        output:
            tables=[f"{R}/cnv/{s}.cnv.tsv" for s in batch_patients(_batch)],
            # MultiQC custom content: found in {R}/qc by the multiqc rule
            multiqc=f"{R}/qc/{_batch}_cnv_mqc.tsv",
        log:
            f"{LOGS}/cnv/{_batch}.log",
        benchmark:
            f"{BENCH}/cnv/{_batch}.tsv"
        conda:
            "../envs/oncopanel.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=20,
        params:
            batch=_batch,
            samples=[get_sample(s) for s in batch_patients(_batch)],
            # the per-sample tables' directory, from the output (a batch of controls only has no table)
            outdir=lambda wc, output: os.path.dirname(output.tables[0]) if output.tables else f"{R}/cnv",
            store=config["cnv"]["reference_store"],
            store_version=config["cnv"]["reference_version"],
            masked=config["reference"]["masked"],
        script:
            "../scripts/cnv_batch.py"
