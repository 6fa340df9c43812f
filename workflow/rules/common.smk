# Shared set-up: config and sample-sheet validation (before anything runs), sample lookups, output paths.
import json
import os
import sys
from pathlib import Path

from oncopanel import paths, runlock
from oncopanel.calling.settings import DEFAULT_FILE as CALLING_YAML
from oncopanel.calling.settings import check_block as check_calling_block
from oncopanel.calling.settings import load_block as calling_block
from oncopanel.deliver import draft_paths, stage_paths
from oncopanel.errors import ValidationError
from oncopanel.inputs import refusal_text
from oncopanel.sample_identity.criteria import load_doc as load_controls_doc
from oncopanel.samplesheet import checked_marker, read_sample_sheet
from oncopanel.settings import QcSettings, check_config, config_source, input_kind
from oncopanel.scheduling import lift_local_rate_limit  # noqa: F401 (the Snakefile's onstart)

shell.prefix("set -euo pipefail; ")

try:
    if "calling" not in config:  # config/calling.yaml unless the run's --configfile carries a calling: block
        config["calling"] = calling_block(CALLING_YAML)
    # the settings layer: every problem of the merged config at once, defaults from the schema filled in
    config.update(check_config(config, source=config_source(workflow.configfiles)))
    QC = QcSettings.from_config(config["qc"], config_source(workflow.configfiles))
    POOLED_RUNS = config["pooled_runs"]
    SAMPLE_TABLE = read_sample_sheet(config["samples"], pooled_batches=set(POOLED_RUNS), controls=config["controls"])
    CONTROLS_DOC = load_controls_doc(config["controls"])  # checked once here; jobs get it as params
except ValidationError as exc:
    # The problems are the whole message: printed one a line, then a plain exit (a WorkflowError would add
    # Snakemake's traceback fragment, which says nothing to the person fixing the sheet).
    print(refusal_text(exc.problems), file=sys.stderr)
    sys.exit(1)

SAMPLES = sorted(SAMPLE_TABLE)
PATIENTS = [s for s in SAMPLES if SAMPLE_TABLE[s].is_patient]  # run controls get verdicts, never a patient result
CONTROLS = [s for s in SAMPLES if SAMPLE_TABLE[s].is_control]
R = config["results"].rstrip("/")


# One run per results directory (oncopanel/runlock.py): the main process of a run takes the directory's lock here,
# before anything is deleted, or exits naming the live run; dry runs, lint and listings neither lock nor delete.
RUN_LOCK = runlock.guard_run(workflow, R)


def _resolve_pooled_lanes():
    """Lanes of a pooled run read the FASTQ the demultiplexer writes for them."""
    from dataclasses import replace

    outputs = set()
    for sample in SAMPLE_TABLE.values():
        for i, lane in enumerate(sample.lanes):
            if sample.batch in POOLED_RUNS and not (lane.fastq_1 or lane.bam):
                r1, r2 = (f"{R}/demux/{sample.batch}/{sample.sample_id}_R{n}.fastq.gz" for n in (1, 2))
                sample.lanes[i] = replace(lane, fastq_1=r1, fastq_2=r2)
                outputs.update((r1, r2))
    return outputs


DEMUX_OUTPUTS = _resolve_pooled_lanes()
REF = config["reference"]["fasta"]
REF_NAME = Path(REF).name.removesuffix(".gz").removesuffix(".fa").removesuffix(".fasta")
INDEX_DIR = config["index_dir"].rstrip("/")
LOGS = f"{R}/logs"
BENCH = f"{R}/benchmarks"


wildcard_constraints:
    sample="[A-Za-z0-9][A-Za-z0-9_-]*",
    lane="[A-Za-z0-9_.-]+",
    panels="[A-Za-z0-9_+-]+",


def get_sample(sample_id):
    """The validated sample-sheet record (a Sample dataclass) of one sample."""
    return SAMPLE_TABLE[sample_id]


# ---- plasma cfDNA with UMIs (issue 18, rules/umi.smk) ------------------------------------------------------
from oncopanel.umi.layout import parse_layout as _parse_umi_layout
from oncopanel.umi.settings import UMI_YAML
from oncopanel.umi.settings import consensus_calling_block as _consensus_calling_block
from oncopanel.umi.settings import load_settings as _load_umi_settings

try:  # a sample's own umi column, else its pooled run's; every bad layout refused before anything runs
    _UMI = {
        s: _parse_umi_layout(
            SAMPLE_TABLE[s].umi or POOLED_RUNS.get(SAMPLE_TABLE[s].batch, {}).get("umi", ""), f"sample {s}: umi"
        )
        for s in SAMPLES
    }
    UMI_SETTINGS = _load_umi_settings(UMI_YAML)
    # the calling block of samples called on consensus reads, checked here (calling_finalize does not check again)
    CONSENSUS_CALLING = check_calling_block(_consensus_calling_block(config["calling"], UMI_SETTINGS), str(UMI_YAML))
except ValidationError as exc:
    print(refusal_text(exc.problems), file=sys.stderr)
    sys.exit(1)


def umi_layout(sample_id):
    """The sample's UMI layout (oncopanel.umi.layout.UmiLayout), or None."""
    return _UMI[sample_id]


def uses_consensus(sample_id):
    """Plasma cfDNA with UMIs: called on consensus reads, one per molecule."""
    return get_sample(sample_id).specimen_type == "plasma_cfdna" and umi_layout(sample_id) is not None


def calling_bam(sample_id):
    """The BAM calling and hotspot genotyping read: the consensus BAM for plasma with UMIs, else the sample's."""
    if uses_consensus(sample_id):
        return f"{R}/consensus/{sample_id}.consensus.bam"
    return f"{R}/bam/{sample_id}.bam"


def without_background_if_consensus(sample_id, inputs):
    """Consensus reads (plasma with UMIs) are not tested against rates learnt from the normals' raw reads: their
    error is the consensus background of config/umi.yaml (calling_block_for)."""
    if uses_consensus(sample_id):
        return {k: v for k, v in inputs.items() if k not in ("background", "background_bounds")}
    return inputs


def calling_block_for(sample_id):
    """calling.yaml's block; for consensus reads its hotspot test uses the consensus background (umi.yaml). Both
    checked here: calling_finalize builds its settings from them without checking again."""
    return CONSENSUS_CALLING if uses_consensus(sample_id) else config["calling"]


def umi_fastp_args(sample_id):
    """fastp options moving an inline UMI into the read names (none for other layouts and other specimens)."""
    layout = umi_layout(sample_id)
    return layout.fastp_args() if layout is not None else ""


def existing_inputs(sample_id):
    """Input files that exist: a missing one fails its sample in the input check, not the whole DAG."""
    return [f for f in get_sample(sample_id).input_files if f in DEMUX_OUTPUTS or os.path.exists(f)]


BATCHES = sorted({get_sample(s).batch for s in SAMPLES})
_BATCH_RULE_SUFFIX = {b: "".join(c if c.isalnum() else "_" for c in b) for b in BATCHES}
if len(set(_BATCH_RULE_SUFFIX.values())) < len(BATCHES):
    raise WorkflowError("batch ids that differ only in '-' and '_' cannot share a sample sheet: " + ", ".join(BATCHES))


def input_check_marker(batch):
    return checked_marker(R, batch, [get_sample(s) for s in batch_samples(batch)])


def batch_rule(stage, batch):
    """Name of a per-batch rule, e.g. check_inputs_B1 or results_B1 (defined in a loop over the batches)."""
    return f"{stage}_{_BATCH_RULE_SUFFIX[batch]}"


def pooled_samples(run_id):
    """(sample_id, i7, i5) of the samples demultiplexed from one pooled run."""
    return [
        (s, lane.i7, lane.i5)
        for s in SAMPLES
        for lane in get_sample(s).lanes
        if lane.fastq_1 in DEMUX_OUTPUTS and get_sample(s).batch == run_id
    ]


_CHECKED_BATCHES = set()  # batches whose input check Snakemake counts as done in this process
_INPUTS_OK = {}  # sample -> its input check's verdict, read once


def inputs_ok(sample_id):
    """Read the sample's input check (its batch's checkpoint): True when its reads can go on.

    Cached: a 5,000-sample DAG asks this ~10 times a sample, and each checkpoint lookup copies Snakemake's set of
    every finished checkpoint output (O(samples) a call). A checkpoint counted as done stays done for the rest of
    the process (Snakemake only ever adds to that set), so neither the lookup nor the status file can change."""
    ok = _INPUTS_OK.get(sample_id)
    if ok is None:
        batch = get_sample(sample_id).batch
        if batch not in _CHECKED_BATCHES:
            getattr(checkpoints, batch_rule("check_inputs", batch)).get()  # raises until the batch is checked
            _CHECKED_BATCHES.add(batch)
        with open(f"{R}/inputs/{sample_id}.inputs.json") as fh:
            ok = _INPUTS_OK[sample_id] = json.load(fh)["status"] == "ok"
    return ok


def qc_gates(sample_id):
    """The sample's QC gates: the default block merged with its specimen type's and input kind's overrides."""
    sample = get_sample(sample_id)
    return [vars(g) for g in QC.gates_for(sample.specimen_type, input_kind(sample.from_bam))]


def targets_bed(sample_id):
    """The target BED of the sample's panels (rule panel_targets), shared by every sample with the same panels."""
    return f"{R}/targets/{'+'.join(sorted(get_sample(sample_id).panels))}.bed"


def lane_ids(sample_id):
    return [lane.lane for lane in get_sample(sample_id).lanes]


def get_lane(sample_id, lane_id):
    return next(l for l in get_sample(sample_id).lanes if l.lane == lane_id)


def all_outputs():
    """QC of every sample, the draft result of every patient sample (its release, with the PDF, happens in the
    same job), MultiQC and the batch summary."""
    return (
        [f"{R}/qc/{s}.qc.json" for s in SAMPLES]
        + [draft_paths(R, s)["result"] for s in PATIENTS]
        + [f"{R}/multiqc/multiqc_report.html", f"{R}/batch/summary.html"]
        + [f"{R}/report/pdfs", f"{R}/report/demultiplexing"]  # snakemake --report (rules/report.smk)
    )


# The workflow's own data comes from the package (oncopanel/paths.py), never from the working directory.
KB_FILES = [str(paths.ANNOTATION / "knowledge" / name) for name in ("kb.tsv", "kb_meta.json")]


_BATCH_SAMPLES = {b: [s for s in SAMPLES if get_sample(s).batch == b] for b in BATCHES}


def batch_samples(batch):
    """The batch's samples, sorted (a copy: callers may change it)."""
    return list(_BATCH_SAMPLES.get(batch, []))


def batch_patients(batch):
    """The batch's patient samples: run controls get verdicts, never a patient result."""
    return [s for s in batch_samples(batch) if get_sample(s).is_patient]


def batch_identity_inputs(wc):
    """Identity genotypes of the batch's samples with reads; the run controls' own results; the demux report."""
    ok = [s for s in batch_samples(wc.batch) if inputs_ok(s)]
    controls = [s for s in ok if get_sample(s).control]
    inputs = {
        "identity": [f"{R}/identity/{s}.identity.json" for s in ok],
        "criteria": config["controls"],
        "control_files": [
            f
            for s in controls
            for f in (f"{R}/qc/{s}.qc.json", f"{R}/hotspots/{s}.hotspots.tsv", f"{R}/calls/{s}.vcf.gz")
        ],
    }
    if wc.batch in POOLED_RUNS:
        inputs["demux"] = f"{R}/demux/{wc.batch}/demux_report.json"
    return inputs


def batch_result_inputs(batch):
    """Input function of results_{batch}: every sample's QC and input check, calls and hotspots of those with
    reads, the batch identity check, provenance, knowledge base and (if configured) the identity manifest."""

    def inputs(wc):
        samples = batch_patients(batch)
        stage = {s: stage_paths(R, s) for s in samples}
        ok = [s for s in samples if inputs_ok(s)]
        files = {
            "qc": [stage[s]["qc"] for s in samples],
            "check": [stage[s]["input_check"] for s in samples],
            "vcf": [stage[s]["vcf"] for s in ok],
            "hotspots": [stage[s]["hotspots"] for s in ok],
            "cnv": [stage[s]["cnv"] for s in samples],  # every patient's table (rule cnv_{batch})
            "bam": [stage[s]["bam"] for s in ok],  # the phase of C797S with T790M (oncopanel.hotspots.phasing)
            "umi": [stage[s]["umi"] for s in ok if uses_consensus(s)],  # plasma: molecules (rules/umi.smk)
            "batch_identity": f"{R}/identity/{batch}.batch_identity.json",
            "provenance": f"{R}/provenance.json",
            "kb": KB_FILES,
        }
        if config["identity"]:
            files["identity"] = config["identity"]
        return files

    return inputs


def lane_fastqs(wc):
    lane = get_lane(wc.sample, wc.lane)
    if lane.bam:  # realign: reads extracted from the BAM
        return {
            "r1": f"{R}/work/{wc.sample}/{wc.lane}.frombam_R1.fastq.gz",
            "r2": f"{R}/work/{wc.sample}/{wc.lane}.frombam_R2.fastq.gz",
        }
    return {"r1": lane.fastq_1, "r2": lane.fastq_2}


def lane_bams(wc):
    out = []
    for lane in get_sample(wc.sample).lanes:
        kind = "imported" if lane.bam and not config["realign"] else "aligned"
        out.append(f"{R}/work/{wc.sample}/{lane.lane}.{kind}.bam")
    return out


def aligner_index():
    if config["aligner"] == "bwa":
        return multiext(f"{INDEX_DIR}/bwa/{REF_NAME}", ".amb", ".ann", ".bwt", ".pac", ".sa")
    return [f"{INDEX_DIR}/{REF_NAME}.mmi"]


def qc_inputs(wc):
    inputs = {"check": f"{R}/inputs/{wc.sample}.inputs.json"}
    if not inputs_ok(wc.sample):
        return inputs
    sample = get_sample(wc.sample)
    # reads, Q30: from fastp for FASTQ lanes (and BAM lanes realigned through it), from the input BAM otherwise
    fastq_lanes = [l.lane for l in sample.lanes if not l.bam or config["realign"]]
    bam_lanes = [l.lane for l in sample.lanes if l.bam and not config["realign"]]
    inputs.update(
        fastp=[f"{R}/qc/fastp/{wc.sample}.{lane}.fastp.json" for lane in fastq_lanes],
        bam_stats=[f"{R}/qc/samtools/{wc.sample}.{lane}.input.stats.txt" for lane in bam_lanes],
        stats=f"{R}/qc/samtools/{wc.sample}.stats.txt",
        regions=f"{R}/coverage/{wc.sample}.regions.bed.gz",
        thresholds=f"{R}/coverage/{wc.sample}.thresholds.bed.gz",
    )
    return inputs


def multiqc_inputs(wc):
    files = [f"{R}/qc/{s}.qc.json" for s in SAMPLES] + [f"{R}/qc/{b}_cnv_mqc.tsv" for b in BATCHES]  # rules/cnv.smk
    for s in SAMPLES:
        if inputs_ok(s):
            files.append(f"{R}/qc/samtools/{s}.stats.txt")  # coverage: oncopanel's section (rule multiqc_oncopanel)
    return files


# ---- audit log: one chained entry when a run starts and when it ends ----------------------------------------
AUDIT_LOG = Path(f"{R}/audit.log")
DELIVERABLES = ("qc/*.qc.json", "calls/*.vcf.gz", "hotspots/*.tsv", "result/*.json", "reports/*.pdf")


def audit_event(event):
    import sys

    from oncopanel.audit import append_entry
    from oncopanel.provenance import pipeline_version, sha256_file

    details = {
        "pipeline_version": pipeline_version(),
        "command": " ".join(sys.argv[1:]),
        "reference": REF,
        "samples": SAMPLES,
        "sample_sheet_sha256": sha256_file(config["samples"]),
    }
    if event != "run_started":
        details["outputs"] = {
            str(p.relative_to(R)): sha256_file(p) for pattern in DELIVERABLES for p in sorted(Path(R).glob(pattern))
        }
    append_entry(AUDIT_LOG, event, details)


def finalize_run(snakemake_log=None):
    """onsuccess/onerror: after a failure, every patient sample left without a draft gets one and is offered for
    release (oncopanel.deliver.finalize_failed_run); then batch/status.json and a console line per sample that
    needs the lab's attention (oncopanel.release.write_batch_status)."""
    from oncopanel.assemble import failed_rules
    from oncopanel.deliver import Settings, finalize_failed_run
    from oncopanel.release import write_batch_status

    samples = [get_sample(s) for s in SAMPLES]
    if snakemake_log is not None:
        logs = [snakemake_log] if isinstance(snakemake_log, str) else list(snakemake_log or [])
        failed = {}
        for path in (p for p in logs if p and os.path.exists(p)):
            failed.update(failed_rules(Path(path).read_text()))
        settings = Settings(
            formulary=Path(config["formulary"]),
            provenance=Path(f"{R}/provenance.json"),
            centre=config["centre"],
            results=Path(R),
            identity_manifest=Path(config["identity"]) if config["identity"] else None,
            report_benign=config["report"]["report_benign"],
            reported_date=config["report"]["date"] or "",
        )
        for line in finalize_failed_run(samples, failed, settings, criteria=Path(config["controls"]), log_dir=LOGS):
            print(f"oncopanel: {line}", file=sys.stderr)
    path, lines = write_batch_status(R, samples)
    print(f"oncopanel: batch status in {path}", file=sys.stderr)
    for line in lines:
        print(f"oncopanel: {line}", file=sys.stderr)
