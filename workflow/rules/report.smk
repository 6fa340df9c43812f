# The lab's batch summary, the batch therapy and hotspot tables (the clinician PDFs come with the results,
# rules/result.smk).
# Patients come from their result documents; run controls, which get none, from their QC JSON and each batch's
# identity JSON (the one place control verdicts are computed).


rule batch_summary:
    input:
        results=[draft_paths(R, s)["result"] for s in PATIENTS],
        therapies=[draft_paths(R, s)["therapies"] for s in PATIENTS],
        control_qc=expand(f"{R}/qc/{{sample}}.qc.json", sample=CONTROLS),
        # every called sample's hotspot table (patients' results already wait for them): the run's Parquet copy
        hotspots=lambda wc: [f"{R}/hotspots/{s}.hotspots.tsv" for s in SAMPLES if inputs_ok(s)],
        batch_identity=expand(f"{R}/identity/{{batch}}.batch_identity.json", batch=BATCHES),
        lab=config["lab"],
    output:
        html=report(f"{R}/batch/summary.html", caption="../report/batch_summary.rst", category="Batch"),
        therapies=f"{R}/batch/therapies.parquet",
        hotspots=f"{R}/batch/hotspots.parquet",
        ledger=f"{R}/batch/ledger.tsv",
    log:
        f"{LOGS}/batch_summary.log",
    benchmark:
        f"{BENCH}/batch_summary.tsv"
    conda:
        "../envs/oncopanel.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        language=config["centre"]["language"],
        benchmarks=BENCH,
        samples=lambda wc: [get_sample(s) for s in SAMPLES],
    script:
        "../scripts/batch_summary.py"


rule report_files:
    # For `snakemake --report`: the PDFs this run delivered (not Snakemake outputs: oncopanel.release) and a page
    # per demultiplexed pooled run, after the batches' results jobs.
    input:
        results=[draft_paths(R, s)["result"] for s in PATIENTS],
        demux=[f"{R}/demux/{run}/demux_report.json" for run in POOLED_RUNS],
    output:
        pdfs=report(
            directory(f"{R}/report/pdfs"),
            patterns=["{sample}.pdf"],
            caption="../report/pdfs.rst",
            category="Clinical reports",
        ),
        demux=report(
            directory(f"{R}/report/demultiplexing"),
            patterns=["{run}.html"],
            caption="../report/demultiplexing.rst",
            category="Demultiplexing",
        ),
    log:
        f"{LOGS}/report_files.log",
    benchmark:
        f"{BENCH}/report_files.tsv"
    conda:
        "../envs/oncopanel.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        results=lambda wc, output: str(Path(output.pdfs).parents[1]),  # {results}/report/pdfs
        patients=PATIENTS,
        runs=list(POOLED_RUNS),
    script:
        "../scripts/workflow_report_files.py"
