"""Batch run controls: a no-template control (NTC), positive and negative reference materials, judged by
config/controls.yaml. Each control's reference material comes from the sheet's reference_material column.

A batch whose controls fail, or that lacks a required control, is held: none of its reports may be released.
Each reason names the control sample and the criterion it missed.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from oncopanel.errors import InputError
from oncopanel.model import Call, HotspotResult
from oncopanel.sample_identity.criteria import ControlCriteria, ExpectedVariant, ReferenceMaterial, default_criteria
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


@dataclass(frozen=True)
class CriterionCheck:
    """One acceptance criterion of one control: what it requires, what the run showed, and the reason if not met."""

    criterion: str
    required: str
    observed: str
    passed: bool
    reason: str = ""  # the held batch's reason when not passed


@dataclass
class ControlVerdict:
    """A run control's verdict on its own criteria (never a patient QC status)."""

    sample_id: str
    control: str  # no_template_control | positive_control | negative_control
    material: str  # reference material name ("" for an NTC)
    checks: list[CriterionCheck] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return "pass" if all(c.passed for c in self.checks) else "fail"

    @property
    def reasons(self) -> list[str]:
        return [c.reason for c in self.checks if not c.passed]

    def as_dict(self) -> dict:
        return {"sample_id": self.sample_id, "control": self.control, "material": self.material,
                "verdict": self.verdict, "checks": [asdict(c) for c in self.checks]}  # fmt: skip


@dataclass
class BatchControlVerdict:
    batch: str
    held: bool
    reasons: list[str] = field(default_factory=list)
    controls: dict[str, str] = field(default_factory=dict)  # control sample -> "pass" | "fail"
    run_controls: list[ControlVerdict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # required control kinds the batch lacks

    def as_dict(self) -> dict:
        return {"batch": self.batch, "held": self.held, "reasons": self.reasons, "controls": self.controls,
                "run_controls": [v.as_dict() for v in self.run_controls], "missing": self.missing}  # fmt: skip


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


def _check(criterion: str, required: str, observed: str, passed: bool, reason: str) -> CriterionCheck:
    return CriterionCheck(criterion, required, observed, passed, "" if passed else reason)


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


def check_positive_control(sample_id: str, result: RunResult, material: ReferenceMaterial) -> list[CriterionCheck]:
    """Each expected variant detected, at its expected fraction and depth."""
    checks = []
    for exp in material.expected:
        seen = _observed(exp, result)
        what = f"positive control {sample_id} ({material.name}): {exp.label} ({exp.variant})"
        required = f"VAF {exp.expected_vaf:.2f} ± {exp.tolerance:.2f}, depth ≥ {exp.min_depth}"
        if seen is None:
            checks.append(_check(exp.label, required, "not detected", False,
                                 f"{what} not detected (expected VAF {exp.expected_vaf:.2f})"))  # fmt: skip
            continue
        vaf, depth = seen
        problems = []
        if depth < exp.min_depth:
            problems.append(f"depth {depth} below {exp.min_depth}")
        if abs(vaf - exp.expected_vaf) > exp.tolerance:
            problems.append(f"VAF {vaf:.3f} outside {exp.expected_vaf:.2f} ± {exp.tolerance:.2f}")
        reason = f"{what} " + ", ".join(problems)
        checks.append(_check(exp.label, required, f"VAF {vaf:.3f}, depth {depth}", not problems, reason))
    return checks


def _hotspot_names(result: RunResult) -> str:
    return ", ".join(f"{h.gene} {h.label}" for h in result.detected_hotspots) or "none"


def check_ntc(sample_id: str, result: RunResult, median_sample_reads: float | None,
              c: ControlCriteria) -> list[CriterionCheck]:  # fmt: skip
    """The NTC is empty: few reads, no hotspot, no PASS call."""
    ceiling = (c.ntc_max_reads_fraction_of_median_sample * median_sample_reads
               if median_sample_reads else float(c.ntc_max_reads))  # fmt: skip
    basis = (f"{c.ntc_max_reads_fraction_of_median_sample:.0%} of the median sample's {median_sample_reads:.0f}"
             if median_sample_reads else "the absolute ceiling")  # fmt: skip
    calls = ", ".join(sorted(result.calls)[:5])
    return [
        _check("reads", f"≤ {ceiling:.0f} ({basis})", str(result.reads), result.reads <= ceiling,
               f"no-template control {sample_id}: {result.reads} reads, above {ceiling:.0f} ({basis})"),
        _check("hotspots detected", f"≤ {c.ntc_max_detected_hotspots}", _hotspot_names(result),
               len(result.detected_hotspots) <= c.ntc_max_detected_hotspots,
               f"no-template control {sample_id}: hotspot(s) detected: {_hotspot_names(result)}"),
        _check("PASS variant calls", f"≤ {c.ntc_max_pass_calls}", str(len(result.calls)),
               len(result.calls) <= c.ntc_max_pass_calls,
               f"no-template control {sample_id}: {len(result.calls)} PASS variant call(s): {calls}"),
    ]  # fmt: skip


def check_negative_control(sample_id: str, result: RunResult, c: ControlCriteria) -> list[CriterionCheck]:
    """Wild-type material: no hotspot detected."""
    return [
        _check("hotspots detected", f"≤ {c.negative_max_detected_hotspots}", _hotspot_names(result),
               len(result.detected_hotspots) <= c.negative_max_detected_hotspots,
               f"negative control {sample_id}: hotspot(s) detected: {_hotspot_names(result)}"),
    ]  # fmt: skip


def _material_problem(sample, material: ReferenceMaterial | None, c: ControlCriteria) -> str:
    """Why a control's reference_material cannot be judged ("" when it can); the sheet check refuses these first."""
    name = getattr(sample, "reference_material", "")
    kind = CONTROL_NAMES[sample.control]
    known = ", ".join(m.name for m in c.materials if m.is_positive or sample.control != "positive_control")
    if sample.control == "positive_control" and not name:
        return f"{kind} {sample.sample_id}: no reference_material given (known: {known})"
    if name and material is None:
        return f"{kind} {sample.sample_id}: reference material '{name}' is not in controls.yaml (known: {known})"
    if sample.control == "positive_control" and not material.is_positive:
        return f"{kind} {sample.sample_id}: reference material '{name}' has no expected variants (known: {known})"
    return ""


def judge_control(sample, result: RunResult | None, median_reads: float | None,
                  c: ControlCriteria) -> ControlVerdict:  # fmt: skip
    """One control's verdict on its own criteria; `sample` is a samplesheet.Sample with a control kind."""
    name = getattr(sample, "reference_material", "")
    material = c.material(name) if name else None
    verdict = ControlVerdict(sample.sample_id, sample.control, name)
    kind = CONTROL_NAMES.get(sample.control, sample.control)
    problem = _material_problem(sample, material, c) if sample.control != "no_template_control" else ""
    if problem:
        verdict.checks.append(_check("reference material", "known to controls.yaml", name or "—", False, problem))
    elif result is None:
        verdict.checks.append(_check("result", "QC, hotspots and calls", "none", False,
                                     f"{kind} {sample.sample_id}: no result to evaluate"))  # fmt: skip
    elif sample.control == "no_template_control":
        verdict.checks = check_ntc(sample.sample_id, result, median_reads, c)
    elif sample.control == "negative_control":
        verdict.checks = check_negative_control(sample.sample_id, result, c)
    else:
        verdict.checks = check_positive_control(sample.sample_id, result, material)
    return verdict


def missing_control_reason(batch: str, kind: str) -> str:
    return (f"batch {batch}: no {CONTROL_NAMES.get(kind, kind)} in the batch, and controls.required asks for one: "
            f"add a row with control {kind} (README: Running your own batch)")  # fmt: skip


def evaluate_controls(
    samples: Sequence,
    results: Mapping[str, RunResult | None],
    criteria: ControlCriteria | None = None,
    cross_talk: CrossTalkReport | None = None,
) -> BatchControlVerdict:
    """Judge one batch's controls. `samples` are samplesheet.Sample records of a single batch; `results` maps
    sample_id to its RunResult (None or absent: the sample produced no result)."""
    c = criteria or default_criteria().controls
    batches = sorted({s.batch for s in samples})
    if len(batches) != 1:
        raise InputError(f"evaluate_controls: samples of one batch expected, got batches {batches or 'none'}")
    verdict = BatchControlVerdict(batches[0], held=False)
    patient_reads = [results[s.sample_id].reads for s in samples
                     if not s.control and results.get(s.sample_id) is not None]  # fmt: skip
    median_reads = statistics.median(patient_reads) if patient_reads else None
    present = {s.control for s in samples if s.control}
    verdict.missing = [kind for kind in c.required if kind not in present]
    verdict.reasons += [missing_control_reason(verdict.batch, kind) for kind in verdict.missing]
    for s in samples:
        if not s.control:
            continue
        judged = judge_control(s, results.get(s.sample_id), median_reads, c)
        verdict.run_controls.append(judged)
        verdict.controls[s.sample_id] = judged.verdict
        verdict.reasons.extend(judged.reasons)
    if cross_talk is not None and not cross_talk.acceptable and c.hold_on_cross_talk_failure:
        verdict.reasons.extend(f"cross-talk: {r}" for r in cross_talk.reasons)
    verdict.held = bool(verdict.reasons)
    return verdict
