# The lab's batch summary and the batch therapy table (the clinician PDFs come with the results, rules/result.smk).
# Patients come from their result documents; run controls, which get none, from their QC JSON and each batch's
# identity JSON (the one place control verdicts are computed).

PATIENT_SAMPLES = [s for s in SAMPLES if get_sample(s).is_patient]
CONTROL_SAMPLES = [s for s in SAMPLES if get_sample(s).is_control]


rule batch_summary:
    input:
        results=expand(f"{R}/result/{{sample}}.result.json", sample=PATIENT_SAMPLES),
        therapies=expand(f"{R}/therapies/{{sample}}.therapies.json", sample=PATIENT_SAMPLES),
        control_qc=expand(f"{R}/qc/{{sample}}.qc.json", sample=CONTROL_SAMPLES),
        batch_identity=expand(f"{R}/identity/{{batch}}.batch_identity.json", batch=BATCHES),
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
