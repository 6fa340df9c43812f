# Variant calling. Germline samples (blood/saliva): freebayes germline calling over their BRCA targets. Tumour
# samples: freebayes tumour-only somatic calling (--pooled-continuous) over all their panel targets, then filters
# as data (config/calling.yaml), the batch panel of normals, likely-germline and paralogue flags, hotspot force-in.
# Per sample: {R}/calls/{sample}.vcf.gz(.tbi) (the contract VCF) and {R}/hotspots/{sample}.hotspots.tsv/.parquet.
# Needs from common.smk: R, LOGS, BENCH, REF, SAMPLES, get_sample().
from pathlib import Path as _CallingPath

import yaml as _calling_yaml
from snakemake.utils import validate as _calling_validate

from oncopanel.calling import settings as _calling_settings
from oncopanel.calling.freebayes import mode_args as _calling_mode_args
from oncopanel.calling.freebayes import target_name_regex as _calling_regex
from oncopanel.model import GERMLINE_SPECIMENS as _CALLING_GERMLINE

if "calling" not in config:  # config/calling.yaml unless the run's --configfile carries a calling: block
    _calling_yaml_path = _CallingPath(workflow.basedir).parent / "config" / "calling.yaml"
    config["calling"] = _calling_yaml.safe_load(_calling_yaml_path.read_text())["calling"]
_calling_validate(config["calling"], "../schemas/calling.schema.yaml")
CALLING = _calling_settings.from_dict(config["calling"])
# freebayes 1.3.6 cannot read a bgzipped FASTA: a plain copy is made once when the reference is .gz
CALLING_FASTA = CALLING.plain_fasta if REF.endswith(".gz") else REF


wildcard_constraints:
    batch="[A-Za-z0-9][A-Za-z0-9_-]*",
    normal="[A-Za-z0-9][A-Za-z0-9_-]*",


def calling_mode(sample_id):
    """germline for blood/saliva, somatic for tumour specimens (FFPE, fresh, plasma)."""
    return "germline" if get_sample(sample_id).specimen_type in _CALLING_GERMLINE else "somatic"


def calling_normals(batch):
    """The batch's blood/saliva samples: its panel of normals."""
    return [s for s in SAMPLES if get_sample(s).batch == batch and calling_mode(s) == "germline"]


def calling_tumours(batch):
    return [s for s in SAMPLES if get_sample(s).batch == batch and calling_mode(s) == "somatic"]


def calling_outputs():
    """Everything this stage delivers per sample (for rule all)."""
    return [
        out
        for s in SAMPLES
        for out in (
            f"{R}/calls/{s}.vcf.gz",
            f"{R}/calls/{s}.vcf.gz.tbi",
            f"{R}/hotspots/{s}.hotspots.tsv",
            f"{R}/hotspots/{s}.hotspots.parquet",
        )
    ]


def _calling_regex_for(sample_id):
    if calling_mode(sample_id) == "germline":
        return _calling_regex(CALLING.germline_genes)
    return "."  # somatic: every target of the sample's panels


def _calling_finalize_inputs(wc):
    inputs = {
        "vcf": f"{R}/calls/raw/{wc.sample}.freebayes.vcf.gz",
        "bam": f"{R}/bam/{wc.sample}.bam",
        "bai": f"{R}/bam/{wc.sample}.bam.bai",
    }
    if calling_mode(wc.sample) == "somatic":
        inputs["pon"] = f"{R}/calls/pon/{get_sample(wc.sample).batch}.pon.tsv"
    return inputs


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
        "(bgzip -dc {input.fasta} > {output.fasta}.tmp && mv {output.fasta}.tmp {output.fasta} "
        "&& samtools faidx {output.fasta}) 2> {log}"


rule calling_freebayes:
    input:
        bam=f"{R}/bam/{{sample}}.bam",
        bai=f"{R}/bam/{{sample}}.bam.bai",
        targets=f"{R}/targets/{{sample}}.bed",
        fasta=CALLING_FASTA,
        fai=f"{CALLING_FASTA}.fai",
    output:
        vcf=f"{R}/calls/raw/{{sample}}.freebayes.vcf.gz",
        regions=f"{R}/calls/regions/{{sample}}.bed",
    params:
        args=lambda wc: _calling_mode_args(CALLING, calling_mode(wc.sample)),
        regex=lambda wc: _calling_regex_for(wc.sample),
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
        "awk -v re='{params.regex}' 'BEGIN {{OFS=\"\\t\"}} $4 ~ re' {input.targets} > {output.regions}; "
        "if [ -s {output.regions} ]; then where='-t {output.regions}'; "
        "else where=\"-r $(head -n1 {input.fai} | cut -f1):1-1\"; fi; "
        "(freebayes -f {input.fasta} $where {params.args} {input.bam} "
        "| bcftools norm -f {params.ref} -m- -Oz -o {output.vcf}) 2> {log}"


rule calling_pon_normal:
    input:
        bam=f"{R}/bam/{{normal}}.bam",
        bai=f"{R}/bam/{{normal}}.bam.bai",
        targets=lambda wc: [f"{R}/targets/{t}.bed" for t in calling_tumours(wc.batch)],
        fasta=CALLING_FASTA,
        fai=f"{CALLING_FASTA}.fai",
    output:
        vcf=f"{R}/calls/pon/{{batch}}/{{normal}}.vcf.gz",
        regions=f"{R}/calls/pon/{{batch}}/{{normal}}.bed",
    params:
        args=_calling_mode_args(CALLING, "somatic"),
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
        "cat /dev/null {input.targets} | sort -k1,1 -k2,2n -u > {output.regions}; "
        "if [ -s {output.regions} ]; then where='-t {output.regions}'; "
        "else where=\"-r $(head -n1 {input.fai} | cut -f1):1-1\"; fi; "
        "(freebayes -f {input.fasta} $where {params.args} {input.bam} "
        "| bcftools norm -f {params.ref} -m- -Oz -o {output.vcf}) 2> {log}"


rule calling_pon:
    input:
        vcfs=lambda wc: [f"{R}/calls/pon/{wc.batch}/{n}.vcf.gz" for n in calling_normals(wc.batch)],
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
    script:
        "../../scripts/calling_pon.py"


rule calling_finalize:
    input:
        unpack(_calling_finalize_inputs),
    output:
        vcf=temp(f"{R}/calls/tmp/{{sample}}.unsorted.vcf"),
        summary=f"{R}/calls/{{sample}}.calling.json",
        hotspots_tsv=f"{R}/hotspots/{{sample}}.hotspots.tsv",
        hotspots_parquet=f"{R}/hotspots/{{sample}}.hotspots.parquet",
    params:
        mode=lambda wc: calling_mode(wc.sample),
        panels=lambda wc: list(get_sample(wc.sample).panels),
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
    script:
        "../../scripts/calling_finalize.py"


rule calling_index:
    input:
        vcf=f"{R}/calls/tmp/{{sample}}.unsorted.vcf",
    output:
        vcf=f"{R}/calls/{{sample}}.vcf.gz",
        tbi=f"{R}/calls/{{sample}}.vcf.gz.tbi",
    params:
        ref=REF,
    log:
        f"{LOGS}/calling/index/{{sample}}.log",
    benchmark:
        f"{BENCH}/calling/index/{{sample}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/calling.yaml"
    shell:
        # second normalisation: forced-in hotspot alleles are left-aligned like freebayes' own
        "set -euo pipefail; "
        "tmp=$(mktemp -d); trap 'rm -rf $tmp' EXIT; "
        "(bcftools norm -f {params.ref} -m- -Ou {input.vcf} "
        "| bcftools sort -T $tmp -Oz -o {output.vcf} && tabix -f -p vcf {output.vcf}) 2> {log}"
