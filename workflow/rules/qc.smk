# QC (samtools stats/flagstat come with markdup, rules/align.smk): samtools stats of each BAM lane's input (its reads
# and Q30, which fastp gives for FASTQ), mosdepth over the sample's targets (MAPQ >= qc.min_mapping_quality,
# duplicates excluded, overlapping mates once), a per-sample QC JSON judged by the config's gates, and the batch
# MultiQC report.


rule mosdepth:
    input:
        bam=f"{R}/bam/{{sample}}.bam",
        bai=f"{R}/bam/{{sample}}.bam.bai",
        targets=lambda wc: targets_bed(wc.sample),
    output:
        regions=f"{R}/coverage/{{sample}}.regions.bed.gz",
        thresholds=f"{R}/coverage/{{sample}}.thresholds.bed.gz",
        summary=f"{R}/coverage/{{sample}}.mosdepth.summary.txt",
        dist=f"{R}/coverage/{{sample}}.mosdepth.region.dist.txt",
    log:
        f"{LOGS}/mosdepth/{{sample}}.log",
    benchmark:
        f"{BENCH}/mosdepth/{{sample}}.tsv"
    conda:
        "../envs/qc.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        prefix=lambda wc, output: output.regions.removesuffix(".regions.bed.gz"),
        mapq=config["qc"]["min_mapping_quality"],
        thresholds=",".join(str(t) for t in config["qc"]["depth_thresholds"]),
    shell:
        "printf 'oncopanel-tool-version\\tmosdepth\\t%s\\t%s\\n' "
        "mosdepth \"$(mosdepth --version 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" > {log}; "
        "mosdepth -n --by {input.targets} --mapq {params.mapq} --thresholds {params.thresholds} "
        "{params.prefix} {input.bam} >> {log} 2>&1"


rule input_bam_stats:
    # A BAM lane does not pass through fastp: its read count and Q30 rate come from its own base qualities
    # (primary reads only, as fastp sees each read once).
    input:
        bam=lambda wc: get_lane(wc.sample, wc.lane).bam,
    output:
        f"{R}/qc/samtools/{{sample}}.{{lane}}.input.stats.txt",
    log:
        f"{LOGS}/input_bam_stats/{{sample}}.{{lane}}.log",
    benchmark:
        f"{BENCH}/input_bam_stats/{{sample}}.{{lane}}.tsv"
    conda:
        "../envs/align.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=30,
    shell:
        "samtools stats -F 0x900 {input.bam} > {output}.tmp 2> {log} && mv {output}.tmp {output}"


rule qc_summary:
    input:
        unpack(qc_inputs),
    output:
        f"{R}/qc/{{sample}}.qc.json",
    log:
        f"{LOGS}/qc_summary/{{sample}}.log",
    benchmark:
        f"{BENCH}/qc_summary/{{sample}}.tsv"
    conda:
        "../envs/oncopanel.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        job=step_job("qc_summary", gates=lambda wc: qc_gates(wc.sample), thresholds=config["qc"]["depth_thresholds"]),
    shell:
        f"{STEP} qc_summary --log {{log:q}} {{params.job:q}}"


rule multiqc_oncopanel:
    # oncopanel's own QC as MultiQC custom content: gates, per-gene and hotspot coverage, identity and
    # contamination, demultiplexing, run controls (copy number: rules/cnv.smk's qc/{batch}_cnv_mqc.tsv)
    input:
        qc=expand(f"{R}/qc/{{sample}}.qc.json", sample=SAMPLES),
        hotspots=lambda wc: [f"{R}/hotspots/{s}.hotspots.tsv" for s in SAMPLES if inputs_ok(s)],
        batch_identity=expand(f"{R}/identity/{{batch}}.batch_identity.json", batch=BATCHES),
        demux=[f"{R}/demux/{run}/demux_report.json" for run in POOLED_RUNS],
    output:
        directory(f"{R}/multiqc/oncopanel"),
    log:
        f"{LOGS}/multiqc_oncopanel.log",
    benchmark:
        f"{BENCH}/multiqc_oncopanel.tsv"
    conda:
        "../envs/oncopanel.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        runs=list(POOLED_RUNS),
    script:
        "../scripts/multiqc_content.py"


rule multiqc:
    input:
        multiqc_inputs,
        oncopanel=f"{R}/multiqc/oncopanel",
    output:
        html=report(f"{R}/multiqc/multiqc_report.html", caption="../report/multiqc.rst", category="Quality control"),
        data=directory(f"{R}/multiqc/multiqc_data"),
    log:
        f"{LOGS}/multiqc.log",
    benchmark:
        f"{BENCH}/multiqc.tsv"
    conda:
        "../envs/qc.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        dirs=[f"{R}/qc", f"{R}/coverage", f"{R}/multiqc/oncopanel"],
        outdir=lambda wc, output: os.path.dirname(output.html),
    shell:
        # no_version_check: MultiQC would otherwise look up its latest version online (no data leaves the centre).
        # multiqc_data/ is kept: its tables (multiqc_oncopanel_*_table.txt, multiqc_general_stats.txt) are what
        # lab scripts parse. A MultiQC failure fails the rule: oncopanel's tables always give it something to show.
        "mkdir -p {params.dirs}; "
        "printf 'oncopanel-tool-version\\tmultiqc\\t%s\\t%s\\n' "
        "multiqc \"$(multiqc --version 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" > {log}; "
        # (its default names: multiqc_report.html and multiqc_data/)
        "multiqc --force --cl-config 'no_version_check: true' -o {params.outdir} {params.dirs} >> {log} 2>&1"
