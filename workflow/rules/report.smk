# The lab's batch summary and the batch therapy table (the clinician PDFs come with the results, rules/result.smk).


rule batch_summary:
    input:
        results=expand(f"{R}/result/{{sample}}.result.json", sample=SAMPLES),
        therapies=expand(f"{R}/therapies/{{sample}}.therapies.json", sample=SAMPLES),
        lab=config["lab"],
    output:
        html=f"{R}/batch/summary.html",
        therapies=f"{R}/batch/therapies.parquet",
        ledger=f"{R}/batch/ledger.tsv",
    params:
        language=config["centre"]["language"],
        benchmarks=BENCH,
        samples=lambda wc: [get_sample(s) for s in SAMPLES],
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
