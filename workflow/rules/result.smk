# Per-sample result: HGVS annotation, germline classification, AMP tiers, therapy matching, the result JSON.
# A sample that failed its input check gets a failed result from its QC JSON alone.


rule provenance:
    input:
        checksums=f"{INDEX_DIR}/{REF_NAME}.checksums.json",
        kb=KB_FILES,
    output:
        f"{R}/provenance.json",
    params:
        reference=REF,
    log:
        f"{LOGS}/provenance.log",
    benchmark:
        f"{BENCH}/provenance.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    conda:
        "../../envs/oncopanel.yaml"
    script:
        "../../scripts/provenance.py"


rule sample_result:
    input:
        unpack(result_inputs),
    output:
        result=f"{R}/result/{{sample}}.result.json",
        table_tsv=f"{R}/annotation/{{sample}}.annotated.tsv",
        table_parquet=f"{R}/annotation/{{sample}}.annotated.parquet",
        therapies=f"{R}/therapies/{{sample}}.therapies.json",
    params:
        sample=lambda wc: get_sample(wc.sample),
        formulary=config["formulary"],
        report_benign=config["report"]["report_benign"],
        report_date=config["report"]["date"],
    log:
        f"{LOGS}/result/{{sample}}.log",
    benchmark:
        f"{BENCH}/result/{{sample}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/oncopanel.yaml"
    script:
        "../../scripts/sample_result.py"
