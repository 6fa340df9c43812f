"""A batch's deliverables in one process: per sample, the result files (oncopanel.assemble) and the clinician PDF.

One process per batch, not two per sample: interpreter start-up, imports and the transcript models are loaded
once (about 1 s of CPU per sample saved). Samples stay isolated: an error while one sample is assembled or
rendered gives that sample a failed result and report naming the error, and the batch goes on.
Identity joins here, at rendering, from the protected manifest: the result files carry the pseudonym only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from oncopanel.assemble import Assembled, SampleFiles, assemble, failed_result, write_outputs
from oncopanel.samplesheet import Sample


@dataclass(frozen=True)
class Delivery:
    """One sample's stage files in and deliverables out (the paths of rule results_{batch})."""

    sample: Sample
    files: SampleFiles
    result: Path
    table_tsv: Path
    table_parquet: Path
    therapies: Path
    pdf: Path


@dataclass(frozen=True)
class Settings:
    formulary: Path
    provenance: Path
    centre: Mapping
    identity_manifest: Path | None = None
    report_benign: bool = False
    reported_date: str = ""  # empty: today


def delivery_paths(results: str, sample_id: str) -> dict[str, str]:
    """Where one sample's deliverables go (the workflow declares these as the batch rule's outputs)."""
    return {
        "result": f"{results}/result/{sample_id}.result.json",
        "table_tsv": f"{results}/annotation/{sample_id}.annotated.tsv",
        "table_parquet": f"{results}/annotation/{sample_id}.annotated.parquet",
        "therapies": f"{results}/therapies/{sample_id}.therapies.json",
        "pdf": f"{results}/reports/{sample_id}.pdf",
    }


def stage_paths(results: str, sample_id: str) -> dict[str, str]:
    """The stage files one sample's result reads (the batch rule's inputs: VCF and hotspot table only for a sample
    whose input check passed)."""
    return {
        "qc": f"{results}/qc/{sample_id}.qc.json",
        "input_check": f"{results}/inputs/{sample_id}.inputs.json",
        "vcf": f"{results}/calls/{sample_id}.vcf.gz",
        "hotspots": f"{results}/hotspots/{sample_id}.hotspots.tsv",
    }


def plan_delivery(results: str, sample: Sample, batch_identity: str) -> Delivery:
    """One sample's stage files in and deliverables out."""
    sid = sample.sample_id
    stage = {k: Path(v) for k, v in stage_paths(results, sid).items()}
    files = SampleFiles(**stage, batch_identity=Path(batch_identity))
    return Delivery(sample, files, **{k: Path(v) for k, v in delivery_paths(results, sid).items()})


def deliver_batch(deliveries: Sequence[Delivery], settings: Settings) -> list[str]:
    """Write every sample's result files and PDF; returns one log line per sample (pseudonyms only).

    Raises only when a sample could not get even a failed report (then the workflow's error handler takes over).
    """
    from oncopanel.annotate import Annotator
    from oncopanel.knowledge import KnowledgeBase, load_formulary
    from oncopanel.panels import load_panels
    from oncopanel.report import load_identity_manifest

    shared = {
        "kb": KnowledgeBase.load(),
        "formulary": load_formulary(settings.formulary),
        "provenance": json.loads(settings.provenance.read_text()),
        "annotator": Annotator(),
        "panels": load_panels(),
    }
    identities = load_identity_manifest(settings.identity_manifest) if settings.identity_manifest else {}
    reported_date = settings.reported_date or date.today().isoformat()
    lines, unreported = [], []
    for d in deliveries:
        sid = d.sample.sample_id
        try:
            status = _deliver_one(d, settings, shared, identities.get(sid), reported_date)
        except Exception as exc:  # one sample's error fails that sample, never the batch
            reason = f"sample {sid}: the result could not be produced ({type(exc).__name__}: {exc})"
            try:
                failed = Assembled(failed_result(d.sample, [reason], shared["provenance"], reported_date))
                _write(d, failed, settings, identities.get(sid))
                status = f"failed ({type(exc).__name__})"
            except Exception as second:
                unreported.append(f"{sid}: {second}")
                status = "no report"
        lines.append(f"{sid}: {status}")
    if unreported:
        raise RuntimeError("samples left without a report: " + "; ".join(unreported))
    return lines


def _deliver_one(d: Delivery, settings: Settings, shared: dict, identity: dict | None, reported_date: str) -> str:
    sample = d.sample
    assembled = assemble(
        sample,
        d.files,
        shared["kb"],
        shared["formulary"],
        shared["provenance"],
        annotator=shared["annotator"],
        consent=sample.germline_consent,
        stated_lod=min(shared["panels"][p].stated_lod for p in sample.panels),
        report_benign=settings.report_benign,
        reported_date=reported_date,
    )
    sha = _write(d, assembled, settings, identity)
    return f"{assembled.result['status']} result sha256 {sha}, identity joined: {bool(identity)}"


def _write(d: Delivery, assembled: Assembled, settings: Settings, identity: dict | None) -> str:
    """Result files first, then the PDF rendered from the result JSON as written."""
    sha = write_outputs(assembled, d.sample.sample_id, d.result, d.table_tsv, d.table_parquet, d.therapies)
    render_report(d.sample, d.result, d.pdf, settings.centre, identity)
    return sha


def render_report(sample: Sample, result_json: Path, pdf: Path, centre: Mapping, identity: dict | None) -> None:
    """The clinician PDF of a written result JSON, in the sample's language (else the centre's); written under a
    temporary name and renamed, so a killed job never leaves a PDF that looks finished."""
    from oncopanel.report import load_result, render_pdf

    pdf.parent.mkdir(parents=True, exist_ok=True)
    tmp = pdf.with_name(pdf.name + ".tmp.pdf")
    language = sample.language or centre["language"]
    render_pdf(load_result(result_json), tmp, language=language, identity=identity, centre=dict(centre))
    tmp.replace(pdf)


def deliver_missing(
    results: str, samples: Sequence[Sample], failed_steps: Mapping[str, list[str]], settings: Settings, log_dir: str
) -> list[str]:
    """After a run with failures: every sample still without a result gets a failed result and PDF naming the step
    that stopped it (failed_steps: {sample: [rules]}, from the Snakemake log), so no sample ends in silence. A
    rerun retries the failed steps (their outputs are missing). Returns the pseudonyms given a failed result."""
    from oncopanel.report import load_identity_manifest, write_result

    # the run's provenance if its job got that far (else the result block records the pipeline version alone)
    provenance = json.loads(settings.provenance.read_text()) if settings.provenance.exists() else {}
    identities = load_identity_manifest(settings.identity_manifest) if settings.identity_manifest else {}
    reported_date = settings.reported_date or date.today().isoformat()
    failed = []
    for sample in samples:
        sid = sample.sample_id
        paths = {k: Path(v) for k, v in delivery_paths(results, sid).items()}
        if paths["result"].exists():
            continue
        steps = ", ".join(failed_steps.get(sid, [])) or "an upstream step"
        reasons = [f"sample {sid}: the analysis stopped at {steps}; see {log_dir}/ for the step's log"]
        paths["result"].parent.mkdir(parents=True, exist_ok=True)
        write_result(failed_result(sample, reasons, provenance, reported_date), paths["result"])
        render_report(sample, paths["result"], paths["pdf"], settings.centre, identities.get(sid))
        failed.append(sid)
    return failed
