"""A batch's deliverables in one process: per patient sample, a draft result (oncopanel.assemble), then its release
(oncopanel.release: versions, never overwriting a delivered result) with the clinician PDF.

One process per batch, not two per sample: interpreter start-up, imports and the transcript models are loaded
once. Samples stay isolated: an error while one sample is assembled or released gives that sample an "analysis
incomplete" result (the lab re-runs; no new specimen) and the batch goes on; the error text goes to the log and
the batch status, never into a clinical document. Run controls get no patient result (their verdicts are in the
batch identity JSON and the batch summary). Identity joins here, at rendering, from the protected manifest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

from oncopanel.assemble import Assembled, SampleFiles, assemble, failed_result, write_outputs
from oncopanel.release import Outcome, Release, delivery_paths, draft_paths
from oncopanel.report.model import as_result
from oncopanel.samplesheet import Sample

__all__ = ["Settings", "deliver_batch", "delivery_paths", "draft_paths", "finalize_failed_run", "stage_paths"]


@dataclass(frozen=True)
class Delivery:
    """One sample's stage files in and draft files out (the paths of rule results_{batch})."""

    sample: Sample
    files: SampleFiles
    draft: dict[str, Path]


@dataclass(frozen=True)
class Settings:
    formulary: Path
    provenance: Path
    centre: Mapping
    results: Path
    identity_manifest: Path | None = None
    report_benign: bool = False
    reported_date: str = ""  # empty: today

    @property
    def audit_log(self) -> Path:
        return self.results / "audit.log"


def stage_paths(results: str, sample_id: str, batch: str = "") -> dict[str, str]:
    """The stage files one sample's result reads (the batch rule's inputs: VCF and hotspot table only for a sample
    whose input check passed)."""
    return {
        "qc": f"{results}/qc/{sample_id}.qc.json",
        "input_check": f"{results}/inputs/{sample_id}.inputs.json",
        "vcf": f"{results}/calls/{sample_id}.vcf.gz",
        "hotspots": f"{results}/hotspots/{sample_id}.hotspots.tsv",
        "cnv": f"{results}/cnv/{sample_id}.cnv.tsv",  # copy number (rule cnv_{batch}, oncopanel.cnv.batch)
        "bam": f"{results}/bam/{sample_id}.bam",  # read only to phase variant pairs (C797S with T790M)
        "umi": f"{results}/consensus/{sample_id}.umi.json",  # plasma with UMIs: molecules (oncopanel.umi)
    }


def patient_samples(samples: Sequence[Sample]) -> list[Sample]:
    """Samples that get a patient result: run controls never do."""
    return [s for s in samples if s.is_patient]


def plan_delivery(results: str, sample: Sample, batch_identity: str, pon: str | None = None) -> Delivery:
    sid = sample.sample_id
    stage = {k: Path(v) for k, v in stage_paths(results, sid).items()}
    # the batch's per-allele background (rule calling_background), beside its panel of normals
    background = Path(f"{results}/calls/background/{sample.batch}.background.tsv")
    files = SampleFiles(**stage, batch_identity=Path(batch_identity), pon=Path(pon) if pon else None,
                        background=background if background.exists() and not sample.is_germline_specimen else None)
    return Delivery(sample, files, {k: Path(v) for k, v in draft_paths(results, sid).items()})


def _shared(settings: Settings) -> dict:
    from oncopanel.annotate import Annotator
    from oncopanel.knowledge import KnowledgeBase, load_formulary
    from oncopanel.panels import load_panels
    from oncopanel.report import load_identity_manifest

    return {
        "kb": KnowledgeBase.load(),
        "formulary": load_formulary(settings.formulary),
        "provenance": json.loads(settings.provenance.read_text()) if settings.provenance.exists() else {},
        "annotator": Annotator(),
        "panels": load_panels(),
        "identities": load_identity_manifest(settings.identity_manifest) if settings.identity_manifest else {},
        "reported_date": settings.reported_date or date.today().isoformat(),
    }


def deliver_batch(deliveries: Sequence[Delivery], settings: Settings) -> list[str]:
    """Write every patient sample's draft, then release it; returns one log line per sample (pseudonyms only).

    Raises only when a sample could not get even an "analysis incomplete" draft (then the error handler retries).
    """
    shared = _shared(settings)
    lines, unreported = [], []
    for d in deliveries:
        sid = d.sample.sample_id
        detail: list[str] = []
        try:
            assembled = _assemble(d, settings, shared)
        except Exception as exc:  # one sample's error fails that sample, never the batch
            detail = [f"results assembly: {type(exc).__name__}: {exc}"]
            assembled = _incomplete(d.sample, shared, "the result could not be assembled")
        try:
            write_outputs(assembled, sid, **_draft_kwargs(d.draft))
            outcome = release_sample(settings, d.sample, d.draft, shared, lab_detail=detail)
            model = as_result(assembled.result)
            what = " ".join(x for x in (model.status, model.failure_kind) if x)
            lines.append(f"{sid}: {what} → {_describe(outcome)}")
        except Exception as exc:
            unreported.append(f"{sid}: {type(exc).__name__}: {exc}")
            lines.append(f"{sid}: not released ({type(exc).__name__}: {exc})")
        lines += [f"{sid}: {line}" for line in detail]
    if unreported:
        raise RuntimeError("samples left without a released result: " + "; ".join(unreported))
    return lines


def _assemble(d: Delivery, settings: Settings, shared: dict) -> Assembled:
    from oncopanel.provenance import sample_provenance

    sample = d.sample
    return assemble(
        sample,
        d.files,
        shared["kb"],
        shared["formulary"],
        sample_provenance(shared["provenance"], settings.results / "logs", sample.sample_id),
        annotator=shared["annotator"],
        consent=sample.germline_consent,
        stated_lod=_stated_lod(sample, settings, shared),
        report_benign=settings.report_benign,
        reported_date=shared["reported_date"],
    )


def _stated_lod(sample: Sample, settings: Settings, shared: dict) -> float:
    """The LoD the sample's hotspot statuses were decided against, as the calling rule's summary records it; where
    calling did not run, the same rule's value (CallingSettings.sample_stated_lod: calling.lod per specimen type,
    e.g. plasma on consensus reads, else the panels'), never a second definition."""
    summary = settings.results / "calls" / f"{sample.sample_id}.calling.json"
    if summary.exists():
        lod = json.loads(summary.read_text()).get("stated_lod")
        if lod is not None:
            return float(lod)
    from oncopanel.calling import settings as calling_settings

    panel_lods = [shared["panels"][p].stated_lod for p in sample.panels]
    return calling_settings.load().sample_stated_lod(sample.specimen_type, panel_lods)


def _incomplete(sample: Sample, shared: dict, why: str) -> Assembled:
    return Assembled(failed_result(sample, [why], shared["provenance"], shared["reported_date"]))


def _draft_kwargs(draft: Mapping[str, Path]) -> dict[str, Path]:
    return {
        "result_json": draft["result"], "table_tsv": draft["table_tsv"], "table_parquet": draft["table_parquet"],
        "therapies_json": draft["therapies"],
    }  # fmt: skip


def release_sample(
    settings: Settings, sample: Sample, draft: Mapping[str, Path], shared: dict, *, amend_reason: str = "",
    lab_detail: list[str] | None = None,
) -> Outcome:  # fmt: skip
    """Offer one sample's draft for release; the PDF is rendered only for a released version."""
    identity = shared["identities"].get(sample.sample_id)
    render = partial(render_report, language=sample.language or settings.centre["language"],
                     centre=settings.centre, identity=identity)  # fmt: skip
    release = Release(settings.results, sample.sample_id)
    return release.offer(draft, render, settings.audit_log, amend_reason=amend_reason, lab_detail=lab_detail)


def render_report(result_json: Path, pdf: Path, *, language: str, centre: Mapping, identity: dict | None) -> None:
    """The clinician PDF of a written result JSON, written under a temporary name and renamed, so a killed job
    never leaves a PDF that looks finished."""
    from oncopanel.report import load_result, render_pdf

    pdf.parent.mkdir(parents=True, exist_ok=True)
    tmp = pdf.with_name(pdf.name + ".tmp.pdf")
    render_pdf(load_result(result_json), tmp, language=language, identity=identity, centre=dict(centre))
    tmp.replace(pdf)


def finalize_failed_run(
    samples: Sequence[Sample], failed_steps: Mapping[str, list[str]], settings: Settings, *, criteria: Path,
    log_dir: str,
) -> list[str]:  # fmt: skip
    """After a run with failures: every patient sample the run left without a draft gets one here and is offered
    for release, so one sample's failure never decides another's result.

    A sample whose own stage files are complete is assembled as usual (against its batch's identity and control
    verdicts, computed here over the samples that have them when the batch step could not run); one whose
    analysis stopped gets "analysis incomplete" naming nothing technical (the failed step goes to the batch
    status). A rerun retries the failed steps and replaces the provisional results.
    """
    from oncopanel.sample_identity.summary import batch_identity_from_files

    shared = _shared(settings)
    results = str(settings.results)
    lines: list[str] = []
    by_batch: dict[str, list[Sample]] = {}
    for s in samples:
        by_batch.setdefault(s.batch, []).append(s)
    for batch, members in sorted(by_batch.items()):
        identity_json = Path(f"{results}/identity/{batch}.batch_identity.json")
        if not identity_json.exists():
            identity_json = Path(f"{results}/release/{batch}.batch_identity.partial.json")
            try:
                batch_identity_from_files(results, members, criteria, identity_json)
            except Exception as exc:
                lines.append(f"batch {batch}: identity and controls could not be evaluated ({exc})")
                identity_json = None
        for sample in patient_samples(members):
            sid = sample.sample_id
            draft = {k: Path(v) for k, v in draft_paths(results, sid).items()}
            if draft["result"].exists():
                continue
            steps = failed_steps.get(sid, [])
            detail = [f"the analysis stopped at {', '.join(steps) or 'an upstream step'}; see {log_dir}/"]
            stage = {k: Path(v) for k, v in stage_paths(results, sid).items()}
            try:
                if identity_json is not None and _stage_complete(stage):
                    pon = Path(f"{results}/calls/pon/{batch}.pon.tsv")
                    d = plan_delivery(results, sample, str(identity_json), str(pon) if pon.exists() else None)
                    assembled, detail = _assemble(d, settings, shared), []
                else:
                    assembled = _incomplete(sample, shared, "the analysis did not complete")
                write_outputs(assembled, sid, **_draft_kwargs(draft))
                outcome = release_sample(settings, sample, draft, shared, lab_detail=detail)
                lines.append(f"{sid}: {_describe(outcome)} ({'; '.join(detail) or 'complete'})")
            except Exception as exc:  # nothing more can be done in this run: the next run retries
                lines.append(f"{sid}: no result released ({type(exc).__name__}: {exc})")
    return lines


def _stage_complete(stage: Mapping[str, Path]) -> bool:
    """The sample's own stage files are all there (a stage killed mid-write leaves none: Snakemake removes the
    outputs of a failed job)."""
    if not (stage["qc"].exists() and stage["input_check"].exists()):
        return False
    if json.loads(stage["input_check"].read_text()).get("status") != "ok":
        return True  # its result is the input check's failure
    return stage["vcf"].exists() and stage["hotspots"].exists()


def _describe(outcome: Outcome) -> str:
    text = {"released": "released as v{v}", "unchanged": "unchanged (v{v} stands)",
            "pending_amendment": "differs from the released v{v}; kept, pending amendment"}  # fmt: skip
    return text[outcome.action].format(v=outcome.version)
