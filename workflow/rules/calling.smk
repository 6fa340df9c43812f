# Variant calling. Germline samples (blood/saliva): freebayes germline calling over their BRCA targets. Tumour
# samples: freebayes tumour-only somatic calling (--pooled-continuous) over all their panel targets, then filters
# as data (config/calling.yaml), the batch panel of normals, likely-germline and paralogue flags, hotspot force-in.
# Per sample: {R}/calls/{sample}.vcf.gz(.tbi) (the contract VCF) and {R}/hotspots/{sample}.hotspots.tsv/.parquet.
# Needs from common.smk: R, LOGS, BENCH, REF, SAMPLES, get_sample(), inputs_ok().
from pathlib import Path as _CallingPath

from oncopanel.calling import plan as _calling_plan
from oncopanel.calling import settings as _calling_settings
from oncopanel.calling.freebayes import mode_args as _calling_mode_args
from oncopanel.calling.freebayes import target_name_regex as _calling_regex

if "calling" not in config:  # config/calling.yaml unless the run's --configfile carries a calling: block
    config["calling"] = _calling_settings.load_block(_CallingPath(workflow.basedir).parent / "config" / "calling.yaml")
CALLING = _calling_settings.from_dict(config["calling"])  # checked by the settings layer
# freebayes 1.3.6 cannot read a bgzipped FASTA: a plain copy is made once when the reference is .gz
CALLING_FASTA = CALLING.plain_fasta if REF.endswith(".gz") else REF
CALLING_TABLE = {s: get_sample(s) for s in SAMPLES}
# germline mode calls only the germline genes' targets (names like BRCA1_exon11); somatic mode every target
CALLING_REGEX = {"germline": _calling_regex(CALLING.germline_genes), "somatic": "."}
# the batch's normals whose reads passed the input check (inputs_ok from common.smk): a normal that failed
# must not hold up its batch's panel of normals
calling_normals = lambda batch: [  # noqa: E731
    n for n in _calling_plan.batch_normals(CALLING_TABLE, batch) if inputs_ok(n)
]
# for rule all (common.smk): calling_outputs()
calling_outputs = lambda: _calling_plan.outputs(R, SAMPLES)  # noqa: E731
# merge overlapping sorted BED rows: freebayes -t calls an overlapped stretch once per target
CALLING_MERGE_AWK = (
    "awk 'BEGIN {OFS=\"\\t\"} $1 == c && $2 <= e {if ($3 > e) e = $3; next} "
    "{if (c != \"\") print c, s, e, n; c = $1; s = $2; e = $3; n = $4} END {if (c != \"\") print c, s, e, n}'"
)


wildcard_constraints:
    batch="[A-Za-z0-9][A-Za-z0-9_-]*",
    normal="[A-Za-z0-9][A-Za-z0-9_-]*",


rule calling_plain_reference:
    input:
        fasta=REF,
    output:
        fasta=CALLING.plain_fasta,
        fai=f"{CALLING.plain_fasta}.fai",
    log:
        f"{LOGS}/calling/plain_reference.log",
    benchmark:
        f"{BENCH}/calling/plain_reference.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=20,
    conda:
        "../../envs/calling.yaml"
    shell:
        "set -euo pipefail; "
        "printf 'oncopanel-tool-version\\tcalling_plain_reference\\t%s\\t%s\\n' "
        "bgzip \"$(bgzip --version 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" "
        "samtools \"$(samtools --version 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" > {log}; "
        "(bgzip -dc {input.fasta} > {output.fasta}.tmp && mv {output.fasta}.tmp {output.fasta} "
        "&& samtools faidx {output.fasta}) 2>> {log}"


rule calling_freebayes:
    input:
        bam=f"{R}/bam/{{sample}}.bam",
        bai=f"{R}/bam/{{sample}}.bam.bai",
        targets=lambda wc: targets_bed(wc.sample),
        fasta=CALLING_FASTA,
        fai=f"{CALLING_FASTA}.fai",
    output:
        vcf=f"{R}/calls/raw/{{sample}}.freebayes.vcf.gz",
        regions=f"{R}/calls/regions/{{sample}}.bed",
    params:
        args=lambda wc: _calling_mode_args(CALLING, _calling_plan.mode_for(CALLING_TABLE[wc.sample])),
        regex=lambda wc: CALLING_REGEX[_calling_plan.mode_for(CALLING_TABLE[wc.sample])],
        merge=CALLING_MERGE_AWK,
        ref=REF,
    log:
        f"{LOGS}/calling/freebayes/{{sample}}.log",
    benchmark:
        f"{BENCH}/calling/freebayes/{{sample}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    conda:
        "../../envs/calling.yaml"
    shell:
        # no target of the calling mode (e.g. a blood sample without BRCA): a 1-bp region gives a header-only VCF
        "set -euo pipefail; "
        "awk -v re='{params.regex}' '$4 ~ re' {input.targets} | sort -k1,1 -k2,2n | {params.merge} > {output.regions}; "
        "if [ -s {output.regions} ]; then where='-t {output.regions}'; "
        "else where=\"-r $(head -n1 {input.fai} | cut -f1):1-2\"; fi; "
        "printf 'oncopanel-tool-version\\tcalling_freebayes\\t%s\\t%s\\n' "
        "freebayes \"$(freebayes --version 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" "
        "bcftools \"$(bcftools --version 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" > {log}; "
        "(freebayes -f {input.fasta} $where {params.args} {input.bam} "
        "| bcftools norm --no-version -f {params.ref} -m- -Oz -o {output.vcf}) 2>> {log}"


rule calling_pon_normal:
    input:
        bam=f"{R}/bam/{{normal}}.bam",
        bai=f"{R}/bam/{{normal}}.bam.bai",
        targets=lambda wc: sorted({targets_bed(t) for t in _calling_plan.batch_tumours(CALLING_TABLE, wc.batch)}),
        fasta=CALLING_FASTA,
        fai=f"{CALLING_FASTA}.fai",
    output:
        vcf=f"{R}/calls/pon/{{batch}}/{{normal}}.vcf.gz",
        regions=f"{R}/calls/pon/{{batch}}/{{normal}}.bed",
    params:
        args=_calling_mode_args(CALLING, "somatic"),
        merge=CALLING_MERGE_AWK,
        ref=REF,
    log:
        f"{LOGS}/calling/pon/{{batch}}.{{normal}}.log",
    benchmark:
        f"{BENCH}/calling/pon/{{batch}}.{{normal}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    conda:
        "../../envs/calling.yaml"
    shell:
        # the normal is called like a tumour, over the union of the batch's tumour targets
        "set -euo pipefail; "
        "cat /dev/null {input.targets} | sort -k1,1 -k2,2n | {params.merge} > {output.regions}; "
        "if [ -s {output.regions} ]; then where='-t {output.regions}'; "
        "else where=\"-r $(head -n1 {input.fai} | cut -f1):1-2\"; fi; "
        "printf 'oncopanel-tool-version\\tcalling_pon_normal\\t%s\\t%s\\n' "
        "freebayes \"$(freebayes --version 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" "
        "bcftools \"$(bcftools --version 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" > {log}; "
        "(freebayes -f {input.fasta} $where {params.args} {input.bam} "
        "| bcftools norm --no-version -f {params.ref} -m- -Oz -o {output.vcf}) 2>> {log}"


rule calling_pon:
    input:
        vcfs=lambda wc: [
            f"{R}/calls/pon/{wc.batch}/{n}.vcf.gz" for n in calling_normals(wc.batch)
        ],
    output:
        f"{R}/calls/pon/{{batch}}.pon.tsv",
    params:
        normals=lambda wc: calling_normals(wc.batch),
        calling=config["calling"],
    log:
        f"{LOGS}/calling/pon/{{batch}}.log",
    benchmark:
        f"{BENCH}/calling/pon/{{batch}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/oncopanel.yaml"
    script:
        "../../scripts/calling_pon.py"


rule calling_finalize:
    input:
        unpack(lambda wc: _calling_plan.finalize_inputs(R, wc.sample, CALLING_TABLE[wc.sample])),
    output:
        vcf=f"{R}/calls/{{sample}}.vcf.gz",
        tbi=f"{R}/calls/{{sample}}.vcf.gz.tbi",
        summary=f"{R}/calls/{{sample}}.calling.json",
        hotspots_tsv=f"{R}/hotspots/{{sample}}.hotspots.tsv",
        hotspots_parquet=f"{R}/hotspots/{{sample}}.hotspots.parquet",
    params:
        mode=lambda wc: _calling_plan.mode_for(CALLING_TABLE[wc.sample]),
        panels=lambda wc: list(CALLING_TABLE[wc.sample].panels),
        reference=REF,
        calling=config["calling"],
    log:
        f"{LOGS}/calling/finalize/{{sample}}.log",
    benchmark:
        f"{BENCH}/calling/finalize/{{sample}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/oncopanel.yaml"
    script:
        "../../scripts/calling_finalize.py"
