# Reads to a duplicate-marked BAM: per lane one pipe, fastp | minimap2 -ax sr (or bwa mem) with read groups from the
# sample sheet | samtools fixmate | sort; per sample merge + markdup (with its index) + stats/flagstat. BAM input of
# GRCh38 is re-sorted and re-marked; BAM of GRCh37 is refused unless realign: true, when its reads are extracted and
# realigned.


rule bam_to_fastq:
    input:
        bam=lambda wc: get_lane(wc.sample, wc.lane).bam,
    output:
        r1=temp(f"{R}/work/{{sample}}/{{lane}}.frombam_R1.fastq.gz"),
        r2=temp(f"{R}/work/{{sample}}/{{lane}}.frombam_R2.fastq.gz"),
    log:
        f"{LOGS}/bam_to_fastq/{{sample}}.{{lane}}.log",
    benchmark:
        f"{BENCH}/bam_to_fastq/{{sample}}.{{lane}}.tsv"
    conda:
        "../envs/align.yaml"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=60,
    shell:
        "printf 'oncopanel-tool-version\\tbam_to_fastq\\t%s\\t%s\\n' "
        "samtools \"$(samtools --version 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" > {log}; "
        "(samtools collate -u -O -@ {threads} {input.bam} "
        "| samtools fastq -n -F 0x900 -1 {output.r1} -2 {output.r2} -0 /dev/null -s /dev/null -) 2>> {log}"


rule align_lane:
    # fastp trims into a pipe rather than gzip files minimap2 decompresses again: one job per lane, no intermediate
    # FASTQ (benchmarks/floor.sh is this chain without Snakemake; BENCHMARKS.md, "Scale", issue 21). fastp -w 1:
    # with more workers its --stdout interleaves packs in completion order, and the BAM's order among reads at one
    # position (which markdup's choice between equal duplicates follows) would change from run to run.
    # --dont_eval_duplication: markdup marks the duplicates; fastp's own estimate filled a ~1 GB hash per job.
    input:
        unpack(lane_fastqs),
        index=aligner_index(),
    output:
        bam=temp(f"{R}/work/{{sample}}/{{lane}}.aligned.bam"),
        json=f"{R}/qc/fastp/{{sample}}.{{lane}}.fastp.json",
        html=f"{R}/qc/fastp/{{sample}}.{{lane}}.fastp.html",
    log:
        f"{LOGS}/align/{{sample}}.{{lane}}.log",
    benchmark:
        f"{BENCH}/align/{{sample}}.{{lane}}.tsv"
    conda:
        "../envs/align.yaml"
    # One thread: the pipe's CPU is the same with minimap2/sort at 1 or 2 threads (fastp -w 1 sets its pace), and a
    # 1-thread job lets Snakemake run it beside another sample's alignment or light steps (BENCHMARKS.md, "Scale").
    threads: 1
    resources:
        # minimap2 with the masked GRCh38 index ~0.7 GB + sort -m 500M; bwa mem holds its ~5 GB index
        mem_mb=8000 if config["aligner"] == "bwa" else 2000,
        runtime=120,
    params:
        extra=config["fastp"]["extra"],
        umi=lambda wc: umi_fastp_args(wc.sample),  # inline UMIs into the read names (common.smk, rules/umi.smk)
        rg=r"@RG\tID:{sample}.{lane}\tSM:{sample}\tLB:{sample}\tPL:ILLUMINA\tPU:{lane}",
        aligner=config["aligner"],
        bwa_prefix=f"{INDEX_DIR}/bwa/{REF_NAME}",
    shell:
        # sort -u: the lane BAM is a temporary file markdup reads once; compressing it cost more than writing it
        "printf 'oncopanel-tool-version\\talign_lane\\t%s\\t%s\\n' "
        "fastp \"$(fastp --version 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" "
        "{params.aligner} \"$(({params.aligner} --version; {params.aligner}) 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" "
        "samtools \"$(samtools --version 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" > {log}; "
        "fastp -i {input.r1} -I {input.r2} --stdout -w 1 --dont_eval_duplication {params.extra} {params.umi} "
        "-j {output.json} -h {output.html} -R '{wildcards.sample}.{wildcards.lane}' 2>> {log} "
        "| if [ {params.aligner} = bwa ]; then "
        "  bwa mem -p -t {threads} -R '{params.rg}' {params.bwa_prefix} -; "
        "else "
        "  minimap2 -ax sr -t {threads} -R '{params.rg}' {input.index[0]} -; "
        "fi 2>> {log} "
        "| samtools fixmate -m -u - - 2>> {log} "
        "| samtools sort -u -@ {threads} -m 500M -T {output.bam}.sorttmp -o {output.bam} - 2>> {log}"


rule import_bam:
    input:
        bam=lambda wc: get_lane(wc.sample, wc.lane).bam,
    output:
        temp(f"{R}/work/{{sample}}/{{lane}}.imported.bam"),
    log:
        f"{LOGS}/import_bam/{{sample}}.{{lane}}.log",
    benchmark:
        f"{BENCH}/import_bam/{{sample}}.{{lane}}.tsv"
    conda:
        "../envs/align.yaml"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        rg=r"@RG\tID:{sample}.{lane}\tSM:{sample}\tLB:{sample}\tPL:ILLUMINA\tPU:{lane}",
    shell:
        "printf 'oncopanel-tool-version\\timport_bam\\t%s\\t%s\\n' "
        "samtools \"$(samtools --version 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" > {log}; "
        "(samtools collate -u -O -@ {threads} {input.bam} "
        "| samtools addreplacerg -u -m overwrite_all -r '{params.rg}' - "
        "| samtools fixmate -m -u - - "
        "| samtools sort -@ {threads} -m 500M -T {output}.sorttmp -o {output} -) 2>> {log}"


rule markdup:
    input:
        lane_bams,
    output:
        bam=f"{R}/bam/{{sample}}.bam",
        bai=f"{R}/bam/{{sample}}.bam.bai",
        stats=f"{R}/qc/markdup/{{sample}}.markdup.txt",
        samtools_stats=f"{R}/qc/samtools/{{sample}}.stats.txt",
        flagstat=f"{R}/qc/samtools/{{sample}}.flagstat.txt",
    log:
        f"{LOGS}/markdup/{{sample}}.log",
    benchmark:
        f"{BENCH}/markdup/{{sample}}.tsv"
    # before other ready jobs: it deletes the sample's uncompressed lane BAMs (temp) as soon as they are written
    priority: 1
    conda:
        "../envs/align.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    shell:
        # Write to a temporary name and rename: a killed job never leaves a BAM that looks finished. samtools stats
        # and flagstat run here, on the finished BAM, rather than as two more jobs per sample.
        "printf 'oncopanel-tool-version\\tmarkdup\\t%s\\t%s\\n' "
        "samtools \"$(samtools --version 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" > {log}; "
        "(samtools merge -u -f -o - {input} "
        "| samtools markdup -c -@ {threads} -f {output.stats} -T {output.bam}.mdtmp --write-index - "
        "{output.bam}.tmp.bam##idx##{output.bai} "
        "&& samtools stats -@ {threads} {output.bam}.tmp.bam > {output.samtools_stats} "
        "&& samtools flagstat -@ {threads} {output.bam}.tmp.bam > {output.flagstat} "
        "&& mv {output.bam}.tmp.bam {output.bam}) >> {log} 2>&1"
