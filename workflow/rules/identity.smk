# Sample identity and run controls: identity SNP genotypes and contamination per sample; per batch, tumour/blood
# concordance, index-hopping cross-talk and the run controls. The per-sample genotypes come from rule bam_qc
# (rules/qc.smk), in one job with the sample's coverage. A held batch or sample gets no released report.


rule batch_identity:
    input:
        unpack(batch_identity_inputs),
        # the patients' read counts: the NTC's read ceiling is a fraction of their median
        patient_qc=lambda wc: [
            f"{R}/qc/{s}.qc.json" for s in batch_samples(wc.batch) if get_sample(s).is_patient and inputs_ok(s)
        ],
    output:
        f"{R}/identity/{{batch}}.batch_identity.json",
    log:
        f"{LOGS}/identity/{{batch}}.batch.log",
    benchmark:
        f"{BENCH}/identity/{{batch}}.batch.tsv"
    conda:
        "../envs/oncopanel.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        samples=lambda wc: [get_sample(s) for s in batch_samples(wc.batch)],
        results=lambda wc, output: str(Path(output[0]).parents[1]),  # {results}/identity/{batch}...
    script:
        "../scripts/batch_identity.py"
