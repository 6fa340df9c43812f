# The lab's batch summary and the batch therapy table (the clinician PDFs come with the results, rules/result.smk).


rule batch_summary:
    input:
        results=[draft_paths(R, s)["result"] for s in PATIENTS],
        therapies=[draft_paths(R, s)["therapies"] for s in PATIENTS],
        lab=config["lab"],
    output:
        html=f"{R}/batch/summary.html",
        therapies=f"{R}/batch/therapies.parquet",
        ledger=f"{R}/batch/ledger.tsv",
    params:
        language=config["centre"]["language"],
        benchmarks=BENCH,
        samples=lambda wc: [get_sample(s) for s in PATIENTS],
    log:
        f"{LOGS}/batch_summary.log",
    benchmark:
        f"{BENCH}/batch_summary.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/oncopanel.yaml"
    script:
        "../../scripts/batch_summary.py"
