"""Reporting decisions: what the clinician report shows, what its summary names, and why — decided once, here.

The decisions are written into the result (schema 1.1: ``reporting`` on every finding, hotspot and therapy, and
a result-level ``reporting`` block with the policy used), so the PDF, the batch summary and any later consumer
read the same choices and the renderer only lays them out. A schema-1.0 result, written before the decisions
were recorded, is decided at read time with the default policy (the one its PDF was rendered with).

Reason codes (``Decision.reason``):

- somatic: ``actionable_tier`` (Tier I/II: shown, summary), ``therapy_linked`` (Tier III with a therapy: shown,
  summary), ``not_actionable`` (Tier III: shown), ``artefact_filter`` (removed by an artefact filter: counted),
  ``tier_iv`` (benign or likely benign: counted);
- germline: ``reported_class`` (P/LP: shown, summary), ``uncertain_significance`` (VUS table), ``benign_class``;
- hotspot: ``detected``, ``not_detected`` (listed), ``not_assessable`` (listed and named in the summary);
- therapy: ``approval`` (approved here or elsewhere: shown, summary), ``resistance`` (level approved/A
  resistance: shown, summary), ``evidence_level`` (shown level, not in the summary), ``below_shown_levels``
  (in the JSON only, counted in the PDF), ``beyond_summary_max`` (summary-worthy, but each of its findings
  already lists ``summary_max`` options); schema 1.2 adds ``demoted`` (a resistance biomarker in the sample
  defeats it: shown beside the options with the reason, not in the summary) and ``not_option`` (surgery,
  chemotherapy with no biomarker basis: in the JSON only);
- copy number (schema 1.2): a called event ``cnv_deletion`` (shown, summary: a positive, MLPA confirmation
  recommended) or ``cnv_duplication`` (shown: VUS unless shown in tandem); the amplification ``amplified`` (shown,
  summary), ``not_amplified`` (shown), ``not_assessable`` (shown, summary); the section ``assessed``,
  ``not_tested`` (shown), ``not_assessable`` (shown, summary: never read as "no deletion"), ``withheld`` (no
  consent: not shown, as the germline section).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from oncopanel.clinical import GERMLINE_GENES, LOW_COVERAGE_FRACTION, REPORTED_GERMLINE
from oncopanel.report.model import (
    CnvEvent,
    CopyNumber,
    Decision,
    GermlineFinding,
    Hotspot,
    Policy,
    Reporting,
    SampleResult,
    SomaticFinding,
    Therapy,
    TherapyDecision,
    as_result,
)

ACTIONABLE_TIERS = ("IA", "IB", "IIC", "IID")
SUMMARY_APPROVALS = ("approved_here", "off_label")


@dataclass(frozen=True)
class ReportingPolicy:
    """The policy data behind the decisions (recorded in each result's ``reporting.policy``)."""

    # Levels the PDF lists in full: approvals and level A/B evidence. Levels C-E stay in the result JSON (counted
    # in the PDF) so a single KRAS G12C does not fill pages with case reports and preclinical rows.
    shown_levels: tuple[str, ...] = ("approved", "A", "B")
    # Resistance decisive enough for the summary (approvals are always summary-worthy).
    summary_resistance_levels: tuple[str, ...] = ("approved", "A")
    summary_max: int = 6  # therapy lines per finding in the summary; the therapy section has the rest
    low_coverage_fraction: float = LOW_COVERAGE_FRACTION  # a gene below this at the coverage threshold is flagged
    actionable_tiers: tuple[str, ...] = ACTIONABLE_TIERS
    reported_germline: tuple[str, ...] = REPORTED_GERMLINE
    # Without one of these on the panels, the report says germline was not tested rather than "none found".
    germline_genes: tuple[str, ...] = GERMLINE_GENES

    def record(self) -> Policy:
        """The policy as the result records it (lists for the JSON)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return Policy(**{k: list(v) if isinstance(v, tuple) else v for k, v in values.items()})


DEFAULT_POLICY = ReportingPolicy()


def somatic_decision(v: SomaticFinding, linked: set[str], policy: ReportingPolicy) -> Decision:
    if v.tier == "IV":
        return Decision(shown=False, in_summary=False, reason="tier_iv")
    if not v.reported:
        return Decision(shown=False, in_summary=False, reason="artefact_filter")
    if v.tier in policy.actionable_tiers:
        return Decision(shown=True, in_summary=True, reason="actionable_tier")
    if v.id in linked:
        return Decision(shown=True, in_summary=True, reason="therapy_linked")
    return Decision(shown=True, in_summary=False, reason="not_actionable")


def germline_decision(g: GermlineFinding, policy: ReportingPolicy) -> Decision:
    if g.classification in policy.reported_germline:
        return Decision(shown=True, in_summary=True, reason="reported_class")
    if g.classification == "uncertain_significance":
        return Decision(shown=True, in_summary=False, reason="uncertain_significance")
    return Decision(shown=False, in_summary=False, reason="benign_class")


def hotspot_decision(h: Hotspot) -> Decision:
    # Every hotspot is listed: a negative is a result. One that could not be assessed is also named in the summary,
    # so it is never read as "not detected".
    return Decision(shown=True, in_summary=h.status == "not_assessable", reason=h.status)


def cnv_event_decision(e: CnvEvent) -> Decision:
    if e.kind == "duplication":  # VUS unless shown to be in tandem (read depth cannot show it)
        return Decision(shown=True, in_summary=False, reason="cnv_duplication")
    return Decision(shown=True, in_summary=True, reason="cnv_deletion")


def copy_number_decisions(cn: CopyNumber) -> CopyNumber:
    """The copy-number section with its decisions: a section that could not be assessed is named in the summary,
    so it is never read as "no deletion"; a withheld one (no germline consent) is not shown."""
    replace = dataclasses.replace
    amp = cn.amplification
    if amp is not None:
        in_summary = amp.status in ("amplified", "not_assessable")
        amp = replace(amp, reporting=Decision(shown=True, in_summary=in_summary, reason=amp.status))
    section = Decision(shown=cn.status != "withheld", in_summary=cn.status == "not_assessable", reason=cn.status)
    return replace(cn, events=[replace(e, reporting=cnv_event_decision(e)) for e in cn.events], amplification=amp,
                   reporting=section)  # fmt: skip


def _summary_worthy(th: Therapy, policy: ReportingPolicy) -> str:
    """The reason a therapy belongs in the summary, or "" when it does not."""
    if th.status in ("demoted", "not_option", "agnostic"):
        return ""
    if th.status is not None and th.resistance and not th.on_label:  # 1.2: another tumour type's resistance
        return ""
    if th.approval.status in SUMMARY_APPROVALS:
        return "approval"
    if th.resistance and th.level in policy.summary_resistance_levels:
        return "resistance"
    return ""


def therapy_decisions(
    therapies: list[Therapy], summary_ids: list[str], policy: ReportingPolicy
) -> list[TherapyDecision]:
    worthy = [_summary_worthy(th, policy) for th in therapies]
    summary_for: list[list[str]] = [[] for _ in therapies]
    for fid in summary_ids:  # the first summary_max worthy options of each finding, in the therapies' rank order
        linked = [i for i, th in enumerate(therapies) if fid in th.finding_ids and worthy[i]]
        for i in linked[: policy.summary_max]:
            summary_for[i].append(fid)
    out = []
    for th, why, where in zip(therapies, worthy, summary_for, strict=True):
        if th.status in ("demoted", "not_option"):
            shown = th.status == "demoted"
            out.append(TherapyDecision(shown=shown, in_summary=False, reason=th.status, summary_for=[]))
            continue
        shown = bool(why) or th.level in policy.shown_levels
        if why and not where and set(th.finding_ids) & set(summary_ids):
            why = "beyond_summary_max"
        reason = why or ("evidence_level" if shown else "below_shown_levels")
        out.append(TherapyDecision(shown=shown, in_summary=bool(where), reason=reason, summary_for=where))
    return out


def low_coverage_genes(genes: Mapping[str, Mapping[str, Any]], threshold: int, policy: ReportingPolicy) -> list[str]:
    key = f"fraction_ge_{threshold}x"
    return [g for g, c in sorted(genes.items()) if key in c and c[key] < policy.low_coverage_fraction]


def germline_section(result: SampleResult, policy: ReportingPolicy) -> str:
    if result.failed:
        return "not_reported"
    if not set(policy.germline_genes) & set(result.assay.genes_tested):
        return "not_tested"
    return "reported" if result.germline.reported else "withheld"


def decide(result: SampleResult | Mapping[str, Any], policy: ReportingPolicy = DEFAULT_POLICY) -> SampleResult:
    """The result with every reporting decision made under ``policy`` (replacing any it carried)."""
    r = as_result(result)
    replace = dataclasses.replace
    linked = {fid for th in r.therapies for fid in th.finding_ids}
    somatic = [replace(v, reporting=somatic_decision(v, linked, policy)) for v in r.somatic]
    germline = [replace(g, reporting=germline_decision(g, policy)) for g in r.germline.findings]
    summary_ids = [v.id for v in somatic + germline if v.reporting and v.reporting.in_summary]
    copy_number = copy_number_decisions(r.copy_number) if r.copy_number is not None else None
    if copy_number and copy_number.amplification and copy_number.amplification.status == "amplified":
        summary_ids.append(copy_number.amplification.id)  # its therapies are summarised like a variant's
    if copy_number:  # a germline exon deletion's therapies too (oncopanel.knowledge.matching copy_number_losses)
        summary_ids += [e.id for e in copy_number.events if e.reporting and e.reporting.in_summary]
    therapies = [
        replace(th, reporting=d)
        for th, d in zip(r.therapies, therapy_decisions(r.therapies, summary_ids, policy), strict=True)
    ]
    reporting = Reporting(
        policy=policy.record(),
        germline_section=germline_section(r, policy),
        low_coverage_genes=[] if r.failed else low_coverage_genes(r.qc.genes, r.qc.coverage_threshold, policy),
    )
    return replace(
        r,
        somatic=somatic,
        germline=replace(r.germline, findings=germline),
        hotspots=[replace(h, reporting=hotspot_decision(h)) for h in r.hotspots],
        therapies=therapies,
        reporting=reporting,
        copy_number=copy_number,
    )


def decided(result: SampleResult | Mapping[str, Any]) -> SampleResult:
    """The result's own decisions; a schema-1.0 result (none recorded) decided with the default policy."""
    r = as_result(result)
    return r if r.decided else decide(r)
