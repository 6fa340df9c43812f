# Input check, one checkpoint per batch: a sample whose files are missing, corrupt, out of sync or of another
# build fails here with a one-line reason, and only that sample is routed to a "test failed" result. One job per
# batch (not per sample) keeps a 1,000-sample run to a few dozen checkpoint re-evaluations and lets the cluster
# profile group each sample's jobs (Snakemake's groups break when a checkpoint replaces a grouped job).

for _batch in BATCHES:

    checkpoint:
        name:
            batch_rule("check_inputs", _batch)
        input:
            files=[f for s in batch_samples(_batch) for f in existing_inputs(s)],
            fai=f"{REF}.fai",
            sites=[config["sites"]] if config["sites"] else [],  # a registry change re-runs the check
        output:
            # first: named after the batch's sample records, so adding, removing or correcting a sample re-runs
            # the check (Snakemake resolves a checkpoint by its first output, which must then be missing)
            checked=input_check_marker(_batch),
            status=[f"{R}/inputs/{s}.inputs.json" for s in batch_samples(_batch)],
        log:
            f"{LOGS}/inputs/{_batch}.log",
        benchmark:
            f"{BENCH}/inputs/{_batch}.tsv"
        conda:
            "../envs/oncopanel.yaml"
        threads: 2
        resources:
            mem_mb=500,
            runtime=60,
        params:
            samples=[get_sample(s) for s in batch_samples(_batch)],
            realign=config["realign"],
            sheet=config["samples"],
        script:
            "../scripts/check_inputs.py"
