# Demultiplexing: one rule per pooled run in config pooled_runs (its outputs depend on which samples it holds).
# Per-sample FASTQ pairs, undetermined reads, and a report of assignments, corrections and index hopping.

for _run_id, _run in POOLED_RUNS.items():

    rule:
        name:
            f"demux_{_run_id}"
        input:
            r1=_run["r1"],
            r2=_run["r2"],
        output:
            fastq=[f"{R}/demux/{_run_id}/{s}_R{n}.fastq.gz" for s, _i7, _i5 in pooled_samples(_run_id) for n in (1, 2)],
            report=f"{R}/demux/{_run_id}/demux_report.json",
            counts=f"{R}/demux/{_run_id}/demux_counts.tsv",
        log:
            f"{LOGS}/demux/{_run_id}.log",
        benchmark:
            f"{BENCH}/demux/{_run_id}.tsv"
        conda:
            "../envs/oncopanel.yaml"
        threads: 2
        resources:
            mem_mb=2000,
            runtime=120,
        params:
            samples=pooled_samples(_run_id),
            platform=_run["platform"],
            i5_orientation=_run["i5_orientation"],
            max_mismatches=_run["max_mismatches"],
        script:
            "../scripts/demux.py"
