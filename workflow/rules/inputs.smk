# Per-sample input check (a checkpoint): a sample whose files are missing, corrupt, out of sync or of another
# build fails here with a one-line reason, and only that sample is routed to a "test failed" result.


checkpoint check_inputs:
    input:
        existing_inputs,
        fai=f"{REF}.fai",
    output:
        status=f"{R}/inputs/{{sample}}.inputs.json",
    params:
        sample=lambda wc: get_sample(wc.sample),
        realign=config["realign"],
    log:
        f"{LOGS}/inputs/{{sample}}.log",
    benchmark:
        f"{BENCH}/inputs/{{sample}}.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=20,
    conda:
        "../../envs/oncopanel.yaml"
    script:
        "../../scripts/check_inputs.py"
