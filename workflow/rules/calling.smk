# Variant calling. Germline samples (blood/saliva): freebayes germline calling over their BRCA targets. Tumour
# samples: freebayes tumour-only somatic calling (--pooled-continuous) over all their panel targets, then filters
# as data (config/calling.yaml), the batch panel of normals and per-allele background from its normals (and a store of
# earlier batches), likely-germline and paralogue flags, hotspot force-in.
# Per sample: {R}/calls/{sample}.vcf.gz(.tbi) (the contract VCF) and {R}/hotspots/{sample}.hotspots.tsv/.parquet.
# Needs from common.smk: R, LOGS, BENCH, REF, SAMPLES, get_sample(), inputs_ok().
from oncopanel import paths as _paths
from oncopanel.calling import plan as _calling_plan
from oncopanel.calling import settings as _calling_settings
from oncopanel.calling.freebayes import freebayes_args as _freebayes_args
from oncopanel.panels import load_panels as _load_panels

# config["calling"]: config/calling.yaml's block or the run's own, checked and filled once by the settings layer
# (common.smk's check_config); the jobs get it as it is
CALLING = _calling_settings.from_checked(config["calling"])
# freebayes 1.3.6 cannot read a bgzipped FASTA: a plain copy (panel contigs only, cut past the panels) is made
# once when the reference is .gz
CALLING_FASTA = CALLING.plain_fasta if REF.endswith(".gz") else REF
CALLING_TABLE = {s: get_sample(s) for s in SAMPLES}
CALLING_PANELS = _load_panels()  # each panel's stated LoD, for calling_finalize
# the batch's normals whose reads passed the input check (inputs_ok from common.smk): a normal that failed
# must not hold up its batch's panel of normals
calling_normals = lambda batch: [  # noqa: E731
    n for n in _calling_plan.batch_normals(CALLING_TABLE, batch) if inputs_ok(n)
]
# the batch's tumours whose raw calls exist (their candidate alleles are where the background is counted)
calling_tumours = lambda batch: [  # noqa: E731
    t for t in _calling_plan.batch_tumours(CALLING_TABLE, batch) if inputs_ok(t)
]
# a sample's calling regions and freebayes' reference for them (rule calling_regions): its target set's, in its mode
calling_regions_file = lambda sample, suffix: (  # noqa: E731
    f"{R}/calls/regions/{Path(targets_bed(sample)).name.removesuffix('.bed')}"
    f".{_calling_plan.mode_for(CALLING_TABLE[sample])}.{suffix}"
)


wildcard_constraints:
    batch="[A-Za-z0-9][A-Za-z0-9_-]*",
    normal="[A-Za-z0-9][A-Za-z0-9_-]*",
    mode="germline|somatic",
    targets="[^/]+",


# freebayes' copy of the reference: plain, and each panel contig cut 100 kb past its last panel transcript
# (freebayes loads whole contigs); rebuilt when the transcripts change
rule calling_plain_reference:
    input:
        fasta=REF,
        transcripts=str(_paths.ANNOTATION / "transcripts" / "mane_select_panel_grch38.tsv"),
    output:
        fasta=CALLING.plain_fasta,
        fai=f"{CALLING.plain_fasta}.fai",
    log:
        f"{LOGS}/calling/plain_reference.log",
    benchmark:
        f"{BENCH}/calling/plain_reference.tsv"
    conda:
        "../envs/calling.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=20,
    script:
        "../scripts/calling_plain_reference.py"


# The regions freebayes calls for a target set in a mode (germline: the germline genes' targets; somatic: all),
# merged and checked against the calling copy's reach, and freebayes' reference for them: the calling copy's
# contigs of these regions only, each cut past its last region (oncopanel.calling.run.calling_regions; freebayes
# loads whole contigs), and the windows' reference for reads moved to windows (oncopanel.calling.window). One of
# each per target set and mode, shared by every sample with them (a local job on a cluster, as panel_targets).
localrules:
    calling_regions,


rule calling_regions:
    input:
        targets=f"{R}/targets/{{targets}}.bed",
        fasta=CALLING_FASTA,
        fai=f"{CALLING_FASTA}.fai",
    output:
        bed=f"{R}/calls/regions/{{targets}}.{{mode}}.bed",
        fasta=f"{R}/calls/regions/{{targets}}.{{mode}}.fa",
        fai=f"{R}/calls/regions/{{targets}}.{{mode}}.fa.fai",
        window_fasta=f"{R}/calls/regions/{{targets}}.{{mode}}.window.fa",
        window_fai=f"{R}/calls/regions/{{targets}}.{{mode}}.window.fa.fai",
        windows=f"{R}/calls/regions/{{targets}}.{{mode}}.window.tsv",
    log:
        f"{LOGS}/calling/regions/{{targets}}.{{mode}}.log",
    benchmark:
        f"{BENCH}/calling/regions/{{targets}}.{{mode}}.tsv"
    conda:
        "../envs/calling.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        job=step_job("calling_regions", reference=REF),
    shell:
        f"{STEP} calling_regions --log {{log:q}} {{params.job:q}}"


# A sample's own calls, once, in its mode: freebayes | bcftools norm under the mode's settings, on the sample's reads
# moved to its regions' windows when that costs less than the reference freebayes would otherwise read
# (oncopanel.calling.window.call_freebayes). A normal is not called again in somatic mode for the panel of normals:
# calling_background counts it at the tumours' candidate alleles and writes the PoN from those counts.
rule calling_freebayes:
    input:
        bam=lambda wc: calling_bam(wc.sample),  # consensus reads for plasma with UMIs (common.smk)
        bai=lambda wc: calling_bam(wc.sample) + ".bai",
        regions=lambda wc: calling_regions_file(wc.sample, "bed"),
        fasta=lambda wc: calling_regions_file(wc.sample, "fa"),
        fai=lambda wc: calling_regions_file(wc.sample, "fa.fai"),
        window_fasta=lambda wc: calling_regions_file(wc.sample, "window.fa"),
        window_fai=lambda wc: calling_regions_file(wc.sample, "window.fa.fai"),
        windows=lambda wc: calling_regions_file(wc.sample, "window.tsv"),
    output:
        vcf=f"{R}/calls/raw/{{sample}}.freebayes.vcf.gz",
    log:
        f"{LOGS}/calling/freebayes/{{sample}}.log",
    benchmark:
        f"{BENCH}/calling/freebayes/{{sample}}.tsv"
    conda:
        "../envs/calling.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        job=step_job(
            "calling_freebayes",
            options=lambda wc: _freebayes_args(CALLING.freebayes(_calling_plan.mode_for(CALLING_TABLE[wc.sample]))),
            reference=REF,
        ),
    shell:
        "printf 'oncopanel-tool-version\\tcalling_freebayes\\t%s\\t%s\\n' "
        "freebayes \"$(freebayes --version 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" "
        "bcftools \"$(bcftools --version 2>&1 | grep -m1 -E '[0-9]+[.][0-9]+')\" > {log}; "
        f"{STEP} calling_freebayes --log {{log:q}} {{params.job:q}}"


# The batch's per-allele background (oncopanel.calling.background): its normals counted at every candidate allele
# of its tumours' raw calls and at the hotspot alleles. Read by calling_finalize with the store of earlier batches.
# The batch's panel of normals comes from the same counts (oncopanel.calling.pon.carries): the only alleles a PoN
# is asked about are the tumours' records, all of them counted here. The rates' beta bounds, for each panel set of
# the batch's tumours, are computed here once (bounds.tsv), so a tumour's finalize job need not load SciPy.
rule calling_background:
    input:
        bams=lambda wc: [f"{R}/bam/{n}.bam" for n in calling_normals(wc.batch)],
        bais=lambda wc: [f"{R}/bam/{n}.bam.bai" for n in calling_normals(wc.batch)],
        vcfs=lambda wc: [f"{R}/calls/raw/{t}.freebayes.vcf.gz" for t in calling_tumours(wc.batch)],
    output:
        background=f"{R}/calls/background/{{batch}}.background.tsv",
        bounds=f"{R}/calls/background/{{batch}}.bounds.tsv",
        pon=f"{R}/calls/pon/{{batch}}.pon.tsv",
    log:
        f"{LOGS}/calling/background/{{batch}}.log",
    benchmark:
        f"{BENCH}/calling/background/{{batch}}.tsv"
    conda:
        "../envs/oncopanel.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        normals=lambda wc: calling_normals(wc.batch),
        # the store versions of these panels are pinned in the table's header for the whole batch
        panels=lambda wc: sorted({p for t in calling_tumours(wc.batch) for p in CALLING_TABLE[t].panels}),
        # each tumour's model pools the store's files of its own panels: the rate bounds are computed per panel set
        panel_sets=lambda wc: sorted({tuple(sorted(CALLING_TABLE[t].panels)) for t in calling_tumours(wc.batch)}),
        reference=REF,
        calling=config["calling"],
    script:
        "../scripts/calling_background.py"


rule calling_finalize:
    input:
        unpack(
            lambda wc: {
                **without_background_if_consensus(
                    wc.sample, _calling_plan.finalize_inputs(R, wc.sample, CALLING_TABLE[wc.sample])
                ),
                "bam": calling_bam(wc.sample),  # consensus reads for plasma with UMIs (common.smk)
                "bai": calling_bam(wc.sample) + ".bai",
            }
        ),
    output:
        vcf=f"{R}/calls/{{sample}}.vcf.gz",
        tbi=f"{R}/calls/{{sample}}.vcf.gz.tbi",
        summary=f"{R}/calls/{{sample}}.calling.json",
        hotspots_tsv=f"{R}/hotspots/{{sample}}.hotspots.tsv",
    log:
        f"{LOGS}/calling/finalize/{{sample}}.log",
    benchmark:
        f"{BENCH}/calling/finalize/{{sample}}.tsv"
    # finalize runs bcftools norm/sort and tabix besides the package: the calling environment has both
    conda:
        "../envs/calling.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        job=step_job(
            "calling_finalize",
            mode=lambda wc: _calling_plan.mode_for(CALLING_TABLE[wc.sample]),
            panels=lambda wc: list(CALLING_TABLE[wc.sample].panels),
            panel_lods=lambda wc: [CALLING_PANELS[p].stated_lod for p in CALLING_TABLE[wc.sample].panels],
            specimen_type=lambda wc: CALLING_TABLE[wc.sample].specimen_type,
            reference=REF,
            calling=lambda wc: calling_block_for(wc.sample),
        ),
    shell:
        f"{STEP} calling_finalize --log {{log:q}} {{params.job:q}}"
