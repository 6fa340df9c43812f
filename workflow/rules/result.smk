# Results, one job per batch (after the batch's identity check): per patient sample HGVS annotation, germline
# classification, AMP tiers, therapy matching and the draft result (the job's outputs, under drafts/); then its
# release (oncopanel.release): a new version with its clinician PDF (identity joined there, from the protected
# manifest), or nothing when a delivered result already says the same. Delivered files are not Snakemake outputs,
# so no re-run can delete them. An error in one sample gives it "analysis incomplete", never the batch.
import oncopanel.provenance as _provenance


rule provenance:
    input:
        checksums=f"{INDEX_DIR}/{REF_NAME}.checksums.json",
        kb=KB_FILES,
        # every configuration file the run reads: a changed one makes a new provenance.json
        configuration=_provenance.configuration_files(config, workflow.configfiles, CALLING_YAML),
        # the run-level jobs whose logs carry tool versions (every sample needs them anyway)
        index=aligner_index(),
        calling_fai=f"{CALLING_FASTA}.fai",
    output:
        f"{R}/provenance.json",
    log:
        f"{LOGS}/provenance.log",
    benchmark:
        f"{BENCH}/provenance.tsv"
    conda:
        "../envs/oncopanel.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        reference=REF,
        config_sha256=_provenance.config_sha256(config),
        tool_logs=[
            f"{INDEX_DIR}/logs/{config['aligner']}_index.log",
            f"{LOGS}/calling/plain_reference.log",
        ],
    script:
        "../scripts/provenance.py"


for _batch in BATCHES:

    rule:
        name:
            batch_rule("results", _batch)
        input:
            unpack(batch_result_inputs(_batch)),
        output:
            [p for s in batch_patients(_batch) for p in draft_paths(R, s).values()],
        log:
            f"{LOGS}/results/{_batch}.log",
        benchmark:
            f"{BENCH}/results/{_batch}.tsv"
        conda:
            "../envs/oncopanel.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=60,
        params:
            samples=[get_sample(s) for s in batch_patients(_batch)],
            results=lambda wc, output: str(Path(output[0]).parents[2]),  # {results}/drafts/result/...
            pon=f"{R}/calls/pon/{_batch}.pon.tsv",
            formulary=config["formulary"],
            centre=config["centre"],
            report_benign=config["report"]["report_benign"],
            report_date=config["report"]["date"],
        script:
            "../scripts/batch_results.py"
