"""Entry points for the workflow: one light per-sample step (genotypes + contamination) and one batch step
(concordance, cross-talk, run controls) whose JSON says which samples and whether the batch are held.

Per sample:  identify_sample(bam, sample_id, specimen_type, out_json)  -> {R}/identity/{sample}.identity.json
Per batch:   batch_identity(samples, identity_jsons, run_results, demux_report) -> dict, written by
             write_batch_identity(path, summary) to {R}/identity/{batch}.batch_identity.json
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from oncopanel.model import TUMOUR_SPECIMENS
from oncopanel.sample_identity.contamination import estimate_contamination
from oncopanel.sample_identity.criteria import Criteria, load_criteria
from oncopanel.sample_identity.genotype import genotype_identity_snps, read_genotypes, write_genotypes
from oncopanel.sample_identity.snps import load_identity_snps, snp_set_version

if TYPE_CHECKING:
    from oncopanel.sample_identity.controls import RunResult


def identify_sample(bam: Path | str, sample_id: str, specimen_type: str, out_json: Path | str,
                    criteria: Criteria | None = None) -> dict:  # fmt: skip
    """Genotype the identity SNPs and estimate contamination; write the per-sample identity JSON."""
    c = criteria or load_criteria()
    snps = load_identity_snps(c.snps)
    genotypes = genotype_identity_snps(bam, snps, c.genotyping)
    estimate = estimate_contamination(genotypes, c.contamination, c.population)
    tumour = specimen_type in TUMOUR_SPECIMENS
    contamination = {
        **asdict(estimate),
        # identity SNPs are germline sites, but tumour LOH leaves residual normal reads that look foreign
        "basis": "rough upper bound (tumour: loss of heterozygosity reads as contamination)" if tumour else "germline",
        "gating": not tumour,
    }
    extra = {"specimen_type": specimen_type, "contamination": contamination}
    write_genotypes(out_json, sample_id, genotypes, snp_set_version(c.snps), extra)
    return json.loads(Path(out_json).read_text())


def batch_identity(
    samples: Sequence,
    identity_jsons: Mapping[str, Path | str],
    run_results: Mapping[str, RunResult | None],
    demux_report: Mapping | None = None,
    criteria: Criteria | None = None,
) -> dict:
    """The batch's identity, contamination, cross-talk and run-control verdicts as one JSON-ready dict.

    `samples` are samplesheet.Sample records of one batch; `identity_jsons` maps sample_id to its per-sample file
    (absent for samples that produced no BAM). `held_samples` lists samples whose reports must not be released
    (identity flags, or gating contamination above the limit; patients only); `batch_held` stops the whole batch.
    `controls.run_controls` holds each run control's verdict with its criteria and observed values: the batch
    summary's run-controls section reads it from here (controls get no result document).
    """
    # the batch's modules, imported here: the per-sample step (identify_sample) does not need them
    from oncopanel.sample_identity.concordance import check_pairs
    from oncopanel.sample_identity.controls import evaluate_controls
    from oncopanel.sample_identity.crosstalk import index_hopping_rate

    c = criteria or load_criteria()
    snps = load_identity_snps(c.snps)
    genotypes, contamination = {}, {}
    for sid, path in identity_jsons.items():
        _sid, genotypes[sid] = read_genotypes(path, snps)
        contamination[sid] = json.loads(Path(path).read_text()).get("contamination")
    identity = check_pairs(samples, genotypes, c.concordance, c.population)
    cross_talk = index_hopping_rate(demux_report, c.cross_talk) if demux_report else None
    controls = evaluate_controls(samples, run_results, c.controls, cross_talk)
    # A control is judged by its own criteria (run_controls), never held like a patient: a cell line's LOH or a
    # water blank's few reads say nothing about contamination of a patient's specimen.
    controls_ids = {s.sample_id for s in samples if s.control}
    contaminated = sorted(sid for sid, est in contamination.items() if sid not in controls_ids
                          and est and est.get("gating") and est.get("acceptable") is False)  # fmt: skip
    held = sorted(set(identity.samples_held) | set(contaminated))
    return {
        "batch": controls.batch,
        "batch_held": controls.held,
        "held_samples": held,
        "reasons": controls.reasons
        + identity.flags
        + [f"sample {sid}: contamination {contamination[sid]['reason']}" for sid in contaminated],
        "controls": controls.as_dict(),
        "identity": identity.as_dict(),
        "contamination": contamination,
        "cross_talk": cross_talk.as_dict() if cross_talk else None,
        "snp_set_version": snp_set_version(c.snps),
    }


def write_batch_identity(path: Path | str, summary: dict) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(summary, indent=1, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
    return path


def batch_identity_from_files(results: str | Path, samples: Sequence, criteria: Path | str, out: Path | str) -> dict:
    """The batch identity from the per-sample files under ``results`` (the one way: the workflow's batch step, and
    the end of a failed run, when whatever the run left is all there is).

    Samples without an identity file are not compared; a run control with no usable reads is an empty one (what an
    NTC should be); a control whose analysis did not finish has no verdict (None), which holds the batch: controls
    that could not be judged never pass. Patients' read counts set the NTC's ceiling.
    """
    from oncopanel.errors import InputError
    from oncopanel.sample_identity.controls import load_run_result

    r = Path(results)
    identity_jsons = {
        s.sample_id: r / "identity" / f"{s.sample_id}.identity.json"
        for s in samples
        if (r / "identity" / f"{s.sample_id}.identity.json").exists()
    }
    run_results: dict = {}
    for s in samples:
        sid = s.sample_id
        check = r / "inputs" / f"{sid}.inputs.json"
        usable = check.exists() and json.loads(check.read_text()).get("status") == "ok"
        qc, hotspots = r / "qc" / f"{sid}.qc.json", r / "hotspots" / f"{sid}.hotspots.tsv"
        calls = r / "calls" / f"{sid}.vcf.gz"
        if s.is_control:
            if not usable and check.exists():
                run_results[sid] = load_run_result(sid, reads=0)
            elif all(f.exists() for f in (qc, hotspots, calls)):
                run_results[sid] = load_run_result(sid, qc_json=qc, hotspots_tsv=hotspots, calls_vcf=calls)
            else:
                run_results[sid] = None
        elif usable and qc.exists():  # patients' reads only: the NTC's ceiling is 1% of their median
            with contextlib.suppress(InputError):  # a QC document without a read count adds nothing
                run_results[sid] = load_run_result(sid, qc_json=qc)
    demux = r / "demux" / samples[0].batch / "demux_report.json" if samples else None
    summary = batch_identity(
        samples, identity_jsons, run_results,
        demux_report=json.loads(demux.read_text()) if demux and demux.exists() else None,
        criteria=load_criteria(criteria),
    )  # fmt: skip
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_batch_identity(out, summary)
    return summary
