# Plasma cfDNA with UMIs (issue 18): the aligned reads of a plasma_cfdna sample with a UMI layout (sample sheet
# column umi, or pooled_runs.<run>.umi) become one consensus read pair per molecule, placed where the family's
# reads aligned (oncopanel.umi.bam; thresholds in config/umi.yaml). Calling and hotspot genotyping read that BAM
# (calling_bam() in common.smk); QC, identity and copy number keep the raw BAM.
# Needs from common.smk: R, LOGS, BENCH, get_sample(), umi_layout(), UMI_YAML.


rule umi_consensus:
    input:
        bam=f"{R}/bam/{{sample}}.bam",
        bai=f"{R}/bam/{{sample}}.bam.bai",
        config=UMI_YAML,
    output:
        bam=f"{R}/consensus/{{sample}}.consensus.bam",
        bai=f"{R}/consensus/{{sample}}.consensus.bam.bai",
        summary=f"{R}/consensus/{{sample}}.umi.json",
    log:
        f"{LOGS}/umi_consensus/{{sample}}.log",
    benchmark:
        f"{BENCH}/umi_consensus/{{sample}}.tsv"
    conda:
        "../envs/oncopanel.yaml"
    threads: 1
    resources:
        # the reads of one sample are held by fragment position (benchmarks/plasma.py: ~300 MB for 70,000 pairs)
        mem_mb=4000,
        runtime=60,
    params:
        job=step_job(
            "umi_consensus",
            duplex=lambda wc: umi_layout(wc.sample).duplex,
            layout=lambda wc: umi_layout(wc.sample).text,
            panels=lambda wc: list(get_sample(wc.sample).panels),
            umi_config=UMI_YAML,
        ),
    shell:
        f"{STEP} umi_consensus --log {{log:q}} {{params.job:q}}"
