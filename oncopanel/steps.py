"""The workflow's per-sample Python steps, run as `python -m oncopanel.steps STEP --log LOG JOB_JSON` from a
rule's `shell:` (issue 21).

Why not Snakemake's `script:`: each script job starts Python with a preamble that imports snakemake and unpickles
its job object, and for a ~0.1 s step that preamble was as much CPU as the work; thousands of samples pay it
once per step. Here the job is one JSON argument the rule builds (``step_job`` in workflow/rules/common.smk):
its named inputs and outputs, wildcards, threads and parameters, read back into an object with the attributes the
steps used from Snakemake's (``job.input.bam``, ``hasattr(job.input, "pon")``, ``job.output[0]``, ``job.log[0]``,
``job.params.mode``, ``job.wildcards.sample``). Nothing is imported at module level beyond the standard library:
each step imports the package modules it needs, so a step pays for its own imports only.

A step that raises fails its job (and only that sample's job), as a script did.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NoReturn


class Files(list):
    """A job's inputs or outputs: the list of every file, with the named ones as attributes (as Snakemake's)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__(spec.get("*", []))
        self._named = {k: v for k, v in spec.items() if k != "*"}

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_named"][name]
        except KeyError:
            raise AttributeError(name) from None


class Job:
    """One job of a rule, from the JSON ``step_job`` wrote: what a step reads of it."""

    def __init__(self, doc: dict[str, Any], log: list[str]) -> None:
        self.rule: str = doc["rule"]
        self.input = Files(doc.get("input", {}))
        self.output = Files(doc.get("output", {}))
        self.params = SimpleNamespace(**doc.get("params", {}))
        self.wildcards = SimpleNamespace(**doc.get("wildcards", {}))
        self.threads: int = int(doc.get("threads", 1))
        self.log = list(log)


def log_line(log: str, message: str) -> None:
    """Append one time-stamped line to a job's log (what logging's basicConfig wrote, without importing logging)."""
    with open(log, "a") as fh:
        fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")


def bam_qc(job: Job) -> None:
    """The finished BAM's coverage files (oncopanel.coverage: samtools depth over the panel targets) and its identity
    SNP genotypes with a contamination estimate (oncopanel.sample_identity), in one process: the two are one job
    so that a sample starts Python once for both (the imports cost more than either's work on a panel)."""
    from oncopanel.coverage import COVERAGE_TOOLS, write_coverage_files
    from oncopanel.provenance import write_tool_versions
    from oncopanel.sample_identity.criteria import criteria_from_doc
    from oncopanel.sample_identity.summary import identify_sample

    sample, log = job.wildcards.sample, job.log[0]
    write_tool_versions(log, job.rule, COVERAGE_TOOLS)
    prefix = job.output.regions.removesuffix(".regions.bed.gz")
    found = write_coverage_files(prefix, job.input.bam, job.input.targets, job.params.mapq, list(job.params.thresholds))
    with open(log, "a") as fh:
        fh.write(f"{sample}: coverage over {len(found)} targets, {sum(c.target.length for c in found)} bases\n")
    doc = identify_sample(job.input.bam, sample, job.params.specimen_type, job.output.identity,
                          criteria_from_doc(job.params.criteria))  # fmt: skip
    with open(log, "a") as fh:
        fh.write(f"{sample}: contamination {doc.get('contamination', {}).get('reason', '')}\n")


def qc_summary(job: Job) -> None:
    """The per-sample QC JSON from the tools' outputs and the config's gates (oncopanel.qc.summarise)."""
    from oncopanel.qc import Gate, summarise

    inp = job.input
    check = json.loads(Path(inp.check).read_text())
    summary = summarise(
        job.wildcards.sample,
        check,
        gates=[Gate(g["metric"], g["op"], float(g["threshold"])) for g in job.params.gates],
        thresholds=list(job.params.thresholds),
        fastp_jsons=[Path(p) for p in getattr(inp, "fastp", [])],
        samtools_stats=Path(inp.stats) if hasattr(inp, "stats") else None,
        regions_bed=Path(inp.regions) if hasattr(inp, "regions") else None,
        thresholds_bed=Path(inp.thresholds) if hasattr(inp, "thresholds") else None,
        bam_input_stats=[Path(p) for p in getattr(inp, "bam_stats", [])],
    )
    tmp = Path(job.output[0] + ".tmp")
    tmp.write_text(json.dumps(summary, indent=2) + "\n")
    tmp.replace(job.output[0])
    Path(job.log[0]).write_text(f"{job.wildcards.sample}: QC {summary['status']}\n" + "\n".join(summary["reasons"]))


def calling_regions(job: Job) -> None:
    """Rule calling_regions: the regions freebayes calls for one target set in one mode, and freebayes' reference
    for them (oncopanel.calling.run)."""
    from oncopanel.calling.run import calling_regions as write_regions
    from oncopanel.calling.window import fai_lengths

    out, mode = job.output.bed, job.wildcards.mode
    write_regions(job.input.targets, mode, job.input.fasta, job.params.reference, out, job.output.fasta)
    kept = ", ".join(f"{c}:1-{n}" for c, n in fai_lengths(job.output.fasta).items())
    regions = len(Path(out).read_text().splitlines())
    Path(job.log[0]).write_text(f"{out}: {regions} regions ({mode}); freebayes' reference {kept}\n")


def calling_freebayes(job: Job) -> None:
    """Rule calling_freebayes: the sample's raw calls over its regions, freebayes | bcftools norm, on its reads moved
    to the regions' windows where that costs less than the reference freebayes would read (oncopanel.calling.window:
    the choice reads the BAM index's counts)."""
    from oncopanel.calling.window import call_freebayes

    moved = call_freebayes(job.input.bam, job.input.regions, job.params.options, job.input.fasta,
                           job.params.reference, job.output.vcf, job.log[0])  # fmt: skip
    log_line(job.log[0], f"{job.wildcards.sample}: " + ("reads moved to windows" if moved else "reads as aligned"))


def calling_finalize(job: Job) -> None:
    """Freebayes calls + hotspot genotyping -> contract VCF (normalised, sorted, indexed) and hotspot table."""
    import tempfile

    from oncopanel.calling import pon as pon_io
    from oncopanel.calling import settings as calling_settings
    from oncopanel.calling.background import model_from_files
    from oncopanel.calling.run import genotype_sample_hotspots, index_vcf
    from oncopanel.calling.vcf import SampleContext, background_provenance, finalize
    from oncopanel.hotspots import write_hotspot_table

    sample_id = job.wildcards.sample
    params = job.params
    settings = calling_settings.from_checked(params.calling)  # checked with the config when the DAG was built
    # calling.lod per specimen type, else the panels' (annotation/panels.yaml, read when the DAG was built):
    # recorded in calling.json for the result (deliver)
    stated_lod = settings.sample_stated_lod(params.specimen_type, params.panel_lods)
    # per-allele background: the batch's normals (rule calling_background) + the store's files of the panels
    model = None
    if hasattr(job.input, "background"):
        model = model_from_files(job.input.background, params.panels, settings.background_model,
                                 job.input.background_bounds)  # fmt: skip
    results, detected = genotype_sample_hotspots(
        job.input.bam, sample_id, params.reference, stated_lod, settings.hotspots, model
    )
    write_hotspot_table(results, job.output.hotspots_tsv, sample_id=sample_id)
    pon = pon_io.read(job.input.pon) if hasattr(job.input, "pon") else None
    ctx = SampleContext(sample_id, params.mode, params.reference, job.input.bam, pon, detected, model)
    # scratch outside the results tree: a job killed here leaves nothing beside the deliverables
    with tempfile.TemporaryDirectory(prefix="oncopanel-finalize-") as tmp:
        unsorted = Path(tmp) / f"{sample_id}.unsorted.vcf"
        summary = finalize(job.input.vcf, unsorted, ctx, settings)
        index_vcf(unsorted, params.reference, job.output.vcf, log=job.log[0])
    report = {
        "sample_id": sample_id,
        "mode": params.mode,
        "records": summary.records,
        "passed": summary.passed,
        "hotspots_detected": [r.hotspot_id for r in results if r.status == "detected"],
        "hotspots_forced": summary.forced,
        "hotspots_not_forced": summary.unforced,
        "pon": pon.status(settings.pon) if pon is not None else "not used (germline mode)",
        "background": background_provenance(ctx) if params.mode == "somatic" else "not used (germline mode)",
        "stated_lod": stated_lod,
    }
    Path(job.output.summary).write_text(json.dumps(report, indent=2) + "\n")
    log_line(job.log[0], str(report))


def umi_consensus(job: Job) -> None:
    """A plasma sample's aligned reads -> consensus BAM (one read pair per molecule, oncopanel.umi.bam) and its
    summary JSON (families, family sizes, depth at each hotspot both ways)."""
    from oncopanel.hotspots import load_hotspots
    from oncopanel.umi.bam import build_consensus, hotspot_depths
    from oncopanel.umi.settings import load_settings

    params, sample = job.params, job.wildcards.sample
    settings = load_settings(params.umi_config)
    summary = build_consensus(job.input.bam, job.output.bam, settings, duplex=params.duplex, sample_id=sample)
    hotspots = [h for h in load_hotspots() if h.panel in params.panels]
    doc = {
        "sample_id": sample,
        "umi_layout": params.layout,
        "duplex": params.duplex,
        "min_family_size": settings.consensus.min_family_size,
        "settings": settings.source,
        **summary.__dict__,
        "mean_family_size": round(summary.mean_family_size, 2),
        "hotspot_depths": hotspot_depths(job.output.bam, hotspots),
    }
    doc["family_size_histogram"] = {str(k): v for k, v in summary.family_size_histogram.items()}
    Path(job.output.summary).write_text(json.dumps(doc, indent=2) + "\n")
    log_line(job.log[0], f"{sample}: {summary.read_pairs} read pairs -> {summary.families} families "
                         f"({summary.duplex_families} duplex)")  # fmt: skip


STEPS: dict[str, Callable[[Job], None]] = {
    f.__name__: f for f in (bam_qc, qc_summary, calling_regions, calling_freebayes, calling_finalize, umi_consensus)
}


USAGE = "usage: python -m oncopanel.steps STEP --log LOG [--log LOG ...] JOB_JSON"


def parse_args(argv: list[str]) -> tuple[str, list[str], str]:
    """(step, logs, job JSON) from the command line, refused as argparse would (exit 2); argparse itself is not
    imported: it cost a step ~0.005 CPU-s for three arguments."""
    logs: list[str] = []
    positional: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--log":
            logs.append(next(args, None) or _refuse("argument --log: expected one argument"))
        elif arg.startswith("--log="):
            logs.append(arg.removeprefix("--log="))
        else:
            positional.append(arg)
    if len(positional) != 2:
        _refuse("expected a step and the job as JSON")
    step, job = positional
    if step not in STEPS:
        _refuse(f"argument step: invalid choice: {step!r} (choose from {', '.join(sorted(STEPS))})")
    return step, logs, job


def _refuse(message: str) -> NoReturn:
    print(f"{USAGE}\npython -m oncopanel.steps: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    step, logs, job = parse_args(sys.argv[1:] if argv is None else argv)
    STEPS[step](Job(json.loads(job), logs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
