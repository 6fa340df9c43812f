# Reference: the embedded panel-masked GRCh38 (built deterministically from annotation/reference/), aligner
# indexes cached under index_dir, sequence checksums for provenance, and per-sample target BEDs.


rule masked_reference:
    output:
        fasta="resources/reference/grch38_panel_masked.fa.gz",
        fai="resources/reference/grch38_panel_masked.fa.gz.fai",
        gzi="resources/reference/grch38_panel_masked.fa.gz.gzi",
    log:
        "resources/reference/logs/masked_reference.log",
    benchmark:
        "resources/reference/logs/masked_reference.benchmark.tsv"
    conda:
        "../envs/oncopanel.yaml"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "oncopanel reference prepare --masked --out {output.fasta} --threads {threads} > {log} 2>&1"


rule minimap2_index:
    input:
        REF,
    output:
        f"{INDEX_DIR}/{REF_NAME}.mmi",
    log:
        f"{INDEX_DIR}/logs/minimap2_index.log",
    benchmark:
        f"{INDEX_DIR}/logs/minimap2_index.benchmark.tsv"
    conda:
        "../envs/align.yaml"
    threads: 2
    resources:
        mem_mb=16000,
        runtime=60,
    shell:
        "printf 'oncopanel-tool-version\\tminimap2_index\\t%s\\t%s\\n' "
        "minimap2 \"$(minimap2 --version 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" > {log}; "
        "minimap2 -x sr -t {threads} -d {output}.tmp {input} >> {log} 2>&1 && mv {output}.tmp {output}"


rule bwa_index:
    input:
        REF,
    output:
        multiext(f"{INDEX_DIR}/bwa/{REF_NAME}", ".amb", ".ann", ".bwt", ".pac", ".sa"),
    log:
        f"{INDEX_DIR}/logs/bwa_index.log",
    benchmark:
        f"{INDEX_DIR}/logs/bwa_index.benchmark.tsv"
    conda:
        "../envs/align.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=180,
    params:
        prefix=lambda wc, output: output[0].removesuffix(".amb"),
    shell:
        "printf 'oncopanel-tool-version\\tbwa_index\\t%s\\t%s\\n' "
        "bwa \"$(bwa 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" > {log}; "
        "bwa index -p {params.prefix} {input} >> {log} 2>&1"


rule reference_checksums:
    input:
        fasta=REF,
        fai=f"{REF}.fai",
    output:
        f"{INDEX_DIR}/{REF_NAME}.checksums.json",
    log:
        f"{INDEX_DIR}/logs/reference_checksums.log",
    benchmark:
        f"{INDEX_DIR}/logs/reference_checksums.benchmark.tsv"
    conda:
        "../envs/oncopanel.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    shell:
        "oncopanel reference checksums {input.fasta} --out {output} > {log} 2>&1"


localrules:
    panel_targets,


# One target BED per combination of panels (not per sample): a 1,000-sample batch needs a handful.
rule panel_targets:
    output:
        f"{R}/targets/{{panels}}.bed",
    log:
        f"{LOGS}/targets/{{panels}}.log",
    benchmark:
        f"{BENCH}/targets/{{panels}}.tsv"
    conda:
        "../envs/oncopanel.yaml"
    threads: 1
    resources:
        mem_mb=200,
        runtime=5,
    params:
        panels=lambda wc: wc.panels.replace("+", ","),
    shell:
        "oncopanel reference targets --panels {params.panels} --out {output} > {log} 2>&1"
