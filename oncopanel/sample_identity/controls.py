"""Batch run controls: a no-template control (NTC) and a positive reference sample, judged by config/controls.yaml.

A batch whose controls fail, or that lacks a required control, is held: none of its reports may be released.
Each reason names the control sample and the criterion it missed.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from oncopanel.errors import InputError
from oncopanel.model import Call, HotspotResult
from oncopanel.sample_identity.criteria import ControlCriteria, ExpectedVariant, ReferenceMaterial
from oncopanel.sample_identity.crosstalk import CrossTalkReport


@dataclass
class RunResult:
    """What the controls need from one sample's outputs."""

    sample_id: str
    reads: int  # raw reads (qc.json metrics.raw_reads, or 2 x demultiplexed pairs when no qc.json exists)
    hotspots: dict[str, HotspotResult] = field(default_factory=dict)  # hotspot_id -> result
    calls: dict[str, Call] = field(default_factory=dict)  # variant key -> PASS call

    @property
    def detected_hotspots(self) -> list[HotspotResult]:
        return [h for h in self.hotspots.values() if h.status == "detected"]


@dataclass
class BatchControlVerdict:
    batch: str
    held: bool
    reasons: list[str] = field(default_factory=list)
    controls: dict[str, str] = field(default_factory=dict)  # control sample -> "pass" | "fail"

    def as_dict(self) -> dict:
        return {"batch": self.batch, "held": self.held, "reasons": self.reasons, "controls": self.controls}


def load_run_result(sample_id: str, qc_json: Path | str | None = None, hotspots_tsv: Path | str | None = None,
                    calls_vcf: Path | str | None = None, reads: int | None = None) -> RunResult:  # fmt: skip
    """A RunResult from the workflow's per-sample files; `reads` overrides qc.json (an empty NTC has none)."""
    if reads is None:
        if qc_json is None:
            raise InputError(f"sample {sample_id}: no read count (neither qc.json nor reads given)")
        try:
            reads = int(json.loads(Path(qc_json).read_text())["metrics"]["raw_reads"])
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise InputError(f"sample {sample_id}: {qc_json}: no metrics.raw_reads ({exc})") from exc
    result = RunResult(sample_id, reads)
    if hotspots_tsv is not None:
        from oncopanel.hotspots import read_hotspot_table

        result.hotspots = {h.hotspot_id: h for h in read_hotspot_table(hotspots_tsv).get(sample_id, [])}
    if calls_vcf is not None:
        result.calls = read_pass_calls(calls_vcf, sample_id)
    return result


def read_pass_calls(path: Path | str, sample_id: str) -> dict[str, Call]:
    """PASS records of the contract VCF (FORMAT DP/AD/AF), keyed chrom:pos:ref>alt."""
    import pysam

    from oncopanel.model import Variant

    out: dict[str, Call] = {}
    with pysam.VariantFile(str(path)) as vcf:
        name = sample_id if sample_id in vcf.header.samples else vcf.header.samples[0]
        for rec in vcf:
            if set(rec.filter.keys()) - {"PASS"}:
                continue
            fmt = rec.samples[name]
            for i, alt in enumerate(rec.alts or ()):
                variant = Variant(rec.chrom, rec.pos, rec.ref, alt)
                af = fmt.get("AF")
                af = af[i] if isinstance(af, tuple) else af
                dp = fmt.get("DP") or 0
                ad = fmt.get("AD")
                alt_depth = ad[i + 1] if ad and len(ad) > i + 1 and ad[i + 1] is not None else 0
                vaf = float(af) if af is not None else (alt_depth / dp if dp else 0.0)
                out[variant.key] = Call(variant, sample_id, "somatic", int(dp), int(alt_depth), vaf)
    return out


CONTROL_NAMES = {"no_template_control": "no-template control", "negative_control": "negative control",
                 "positive_control": "positive control"}  # fmt: skip


def _material_for(sample_id: str, materials: Sequence[ReferenceMaterial]) -> ReferenceMaterial | None:
    hits = [m for m in materials if re.search(m.sample_id_pattern, sample_id)]
    return hits[0] if hits else None


def _observed(expected: ExpectedVariant, result: RunResult) -> tuple[float, int] | None:
    """(VAF, depth) of an expected variant: the PASS call if present, else a detected hotspot."""
    call = result.calls.get(expected.variant)
    if call is not None:
        return call.vaf, call.depth
    hotspot = result.hotspots.get(expected.hotspot_id) if expected.hotspot_id else None
    if (hotspot is not None and hotspot.status == "detected" and hotspot.vaf is not None
            and expected.hotspot_form in hotspot.observed.split(";")):  # fmt: skip
        return hotspot.vaf, hotspot.depth
    return None


def check_positive_control(sample_id: str, result: RunResult, material: ReferenceMaterial) -> list[str]:
    problems = []
    for exp in material.expected:
        seen = _observed(exp, result)
        what = f"positive control {sample_id} ({material.name}): {exp.label} ({exp.variant})"
        if seen is None:
            problems.append(f"{what} not detected (expected VAF {exp.expected_vaf:.2f})")
            continue
        vaf, depth = seen
        if depth < exp.min_depth:
            problems.append(f"{what} depth {depth} below {exp.min_depth}")
        if abs(vaf - exp.expected_vaf) > exp.tolerance:
            problems.append(f"{what} VAF {vaf:.3f} outside {exp.expected_vaf:.2f} ± {exp.tolerance:.2f}")
    return problems


def check_ntc(sample_id: str, result: RunResult, median_sample_reads: float | None, c: ControlCriteria) -> list[str]:
    problems = []
    ceiling = (c.ntc_max_reads_fraction_of_median_sample * median_sample_reads
               if median_sample_reads else float(c.ntc_max_reads))  # fmt: skip
    if result.reads > ceiling:
        basis = (f"{c.ntc_max_reads_fraction_of_median_sample:.0%} of the median sample's {median_sample_reads:.0f}"
                 if median_sample_reads else "the absolute ceiling")  # fmt: skip
        problems.append(f"no-template control {sample_id}: {result.reads} reads, above {ceiling:.0f} ({basis})")
    detected = result.detected_hotspots
    if len(detected) > c.ntc_max_detected_hotspots:
        names = ", ".join(f"{h.gene} {h.label}" for h in detected)
        problems.append(f"no-template control {sample_id}: hotspot(s) detected: {names}")
    if len(result.calls) > c.ntc_max_pass_calls:
        problems.append(f"no-template control {sample_id}: {len(result.calls)} PASS variant call(s): "
                        f"{', '.join(sorted(result.calls)[:5])}")  # fmt: skip
    return problems


def check_negative_control(sample_id: str, result: RunResult, c: ControlCriteria) -> list[str]:
    detected = result.detected_hotspots
    if len(detected) > c.negative_max_detected_hotspots:
        names = ", ".join(f"{h.gene} {h.label}" for h in detected)
        return [f"negative control {sample_id}: hotspot(s) detected: {names}"]
    return []


def evaluate_controls(
    samples: Sequence,
    results: Mapping[str, RunResult | None],
    criteria: ControlCriteria | None = None,
    cross_talk: CrossTalkReport | None = None,
) -> BatchControlVerdict:
    """Judge one batch's controls. `samples` are samplesheet.Sample records of a single batch; `results` maps
    sample_id to its RunResult (None or absent: the sample produced no result)."""
    c = criteria or ControlCriteria()
    batches = sorted({s.batch for s in samples})
    if len(batches) != 1:
        raise InputError(f"evaluate_controls: samples of one batch expected, got batches {batches or 'none'}")
    verdict = BatchControlVerdict(batches[0], held=False)
    patient_reads = [results[s.sample_id].reads for s in samples
                     if not s.control and results.get(s.sample_id) is not None]  # fmt: skip
    median_reads = statistics.median(patient_reads) if patient_reads else None
    present = {s.control for s in samples if s.control}
    for kind in c.required:
        if kind not in present:
            verdict.reasons.append(f"batch {verdict.batch}: no {CONTROL_NAMES.get(kind, kind)} in the batch")
    for s in samples:
        if not s.control:
            continue
        result = results.get(s.sample_id)
        if result is None:
            problems = [f"{CONTROL_NAMES.get(s.control, s.control)} {s.sample_id}: no result to evaluate"]
        elif s.control == "no_template_control":
            problems = check_ntc(s.sample_id, result, median_reads, c)
        elif s.control == "negative_control":
            problems = check_negative_control(s.sample_id, result, c)
        else:
            material = _material_for(s.sample_id, c.materials)
            problems = (check_positive_control(s.sample_id, result, material) if material else
                        [f"positive control {s.sample_id}: no reference material in config/controls.yaml matches "
                         "its sample id; expected variants unknown"])  # fmt: skip
        verdict.controls[s.sample_id] = "fail" if problems else "pass"
        verdict.reasons.extend(problems)
    if cross_talk is not None and not cross_talk.acceptable and c.hold_on_cross_talk_failure:
        verdict.reasons.extend(f"cross-talk: {r}" for r in cross_talk.reasons)
    verdict.held = bool(verdict.reasons)
    return verdict
