# QC (samtools stats/flagstat come with markdup, rules/align.smk): samtools stats of each BAM lane's input (its reads
# and Q30, which fastp gives for FASTQ), the coverage of the sample's targets (oncopanel.coverage: samtools depth
# at the target bases only, MAPQ >= qc.min_mapping_quality, duplicates/secondary/QC-fail excluded, overlapping
# mates once) and its identity genotypes (rule bam_qc), a per-sample QC JSON judged by the config's gates, and the batch MultiQC report.


rule bam_qc:
    # The finished BAM's two readings, in one job (one Python start a sample, issue 21):
    # - coverage, the one coverage step: its regions file is the QC JSON's per-target depth and copy number's
    #   counts (rules/cnv.smk), its thresholds file the QC breadth, its depth distribution MultiQC's coverage plot.
    #   Cost follows the targets and the reads on them, not the chromosomes' lengths (BENCHMARKS.md "Coverage");
    # - identity SNP genotypes and a contamination estimate (oncopanel.sample_identity), read by the batch's
    #   identity check (rules/identity.smk).
    input:
        bam=f"{R}/bam/{{sample}}.bam",
        bai=f"{R}/bam/{{sample}}.bam.bai",
        targets=lambda wc: targets_bed(wc.sample),
        criteria=config["controls"],
    output:
        regions=f"{R}/coverage/{{sample}}.regions.bed.gz",
        thresholds=f"{R}/coverage/{{sample}}.thresholds.bed.gz",
        distribution=f"{R}/coverage/{{sample}}.depth_distribution.tsv",
        identity=f"{R}/identity/{{sample}}.identity.json",
    log:
        f"{LOGS}/bam_qc/{{sample}}.log",
    benchmark:
        f"{BENCH}/bam_qc/{{sample}}.tsv"
    conda:
        "../envs/coverage.yaml"
    threads: 1
    resources:
        # samtools depth holds the reads of one position's pileup; Python the panel's per-base depths (tens of kb)
        mem_mb=500,
        runtime=10,
    params:
        job=step_job(
            "bam_qc",
            mapq=config["qc"]["min_mapping_quality"],
            thresholds=config["qc"]["depth_thresholds"],
            specimen_type=lambda wc: get_sample(wc.sample).specimen_type,
            criteria=CONTROLS_DOC,  # config["controls"] as the settings layer checked it
        ),
    shell:
        f"{STEP} bam_qc --log {{log:q}} {{params.job:q}}"


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
    # oncopanel's own QC as MultiQC custom content: gates, target coverage distribution, per-gene and hotspot
    # coverage, identity and contamination, demultiplexing, run controls (copy number: rules/cnv.smk's qc/{batch}_cnv_mqc.tsv)
    input:
        qc=expand(f"{R}/qc/{{sample}}.qc.json", sample=SAMPLES),
        coverage=lambda wc: [f"{R}/coverage/{s}.depth_distribution.tsv" for s in SAMPLES if inputs_ok(s)],
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
        dirs=[f"{R}/qc", f"{R}/multiqc/oncopanel"],
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
