"""The lab's batch summary: one static HTML page over the batch's result documents (pseudonymous only).

Per patient sample: QC pass/fail (or HELD, when the run controls or the sample's identity stop its release), the
findings in one line, turnaround (received → reported, when both dates are given), receipt → signature (the centre's
promise to the county hospitals: days from receipt to the signed report, read from the signed version's ``signoff``
block; "not signed yet" otherwise, never an estimate) and the cost per sample (when the batch ledger gives it);
grouped by site/county with a count per site and, per site and for the batch, the median and longest days to
signature and how many were signed within the promise.

The workflow writes the summary before anyone signs; ``oncopanel summary --results DIR`` writes it again from the
delivered (current, signed once signed) results, and the ledger's signature columns with it.

Run controls are not patients: they appear once, in the run-controls section, with their verdicts and the
criteria behind them, read from each batch's identity JSON (oncopanel.sample_identity) and their QC JSON. They are
never counted as QC failures and have no tumour type, report or price.

Results are read as the typed model; the findings line names what the PDF's summary names (the result's
reporting decisions), so the lab and the clinician see the same selection.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from itertools import groupby
from pathlib import Path

from oncopanel.report.decisions import decided
from oncopanel.report.model import GermlineFinding, SampleResult
from oncopanel.report.pdf import cnv_event_words, gate_text, pct, tier_text, tumour_type_text
from oncopanel.report.text import Text, load_text

CSS = """
body { font-family: "DejaVu Sans", "WenQuanYi Zen Hei", sans-serif; font-size: 13px; margin: 24px; color: #222; }
h1 { color: #1F4E79; font-size: 20px; } h2 { color: #1F4E79; font-size: 15px; margin-top: 22px; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #9AA5B1; padding: 3px 6px; vertical-align: top; }
th { background: #EEF2F6; text-align: left; } td.num { text-align: right; }
tr.failed td { background: #FDE2E4; } .fail { color: #B00020; font-weight: bold; } .pass { color: #1B5E20; }
tr.held td { background: #FFF4CE; } .held { color: #8A5300; font-weight: bold; }
p.note { color: #555; font-size: 12px; }
"""


def turnaround_days(received: str, reported: str) -> int | None:
    if not received or not reported:
        return None
    return (date.fromisoformat(reported) - date.fromisoformat(received)).days


def signed_date(result: SampleResult) -> str:
    """The date the sample's current report was signed (its ``signoff`` block, written by the review
    application, oncopanel.web.review), "" when it is not signed yet."""
    signoff = result.extra.get("signoff") or {}
    at = signoff.get("signed_at") if isinstance(signoff, Mapping) else None
    return datetime.fromisoformat(at).date().isoformat() if at else ""


def signature_days(result: SampleResult) -> int | None:
    """Whole days from receipt to signature (the same count the review application shows); None when not signed
    yet or without a receipt date."""
    return turnaround_days(result.sample.received_date, signed_date(result))


@dataclass(frozen=True)
class SignatureTurnaround:
    """Receipt → signature of a group of samples (a site, a batch), against the centre's promise if it has one."""

    samples: int
    days: tuple[int, ...]  # of the signed samples with a receipt date
    promised_days: int | None = None

    @classmethod
    def of(cls, results: list[SampleResult], promised_days: int | None = None) -> SignatureTurnaround:
        return cls(len(results), tuple(d for r in results if (d := signature_days(r)) is not None), promised_days)

    @property
    def on_time(self) -> int | None:
        return None if self.promised_days is None else sum(d <= self.promised_days for d in self.days)

    def line(self, t: Text) -> str:
        if not self.days:
            return t("batch.signature_none", n=self.samples)
        text = t("batch.signature_line", signed=len(self.days), n=self.samples,
                 median=f"{statistics.median(self.days):g}", max=max(self.days))  # fmt: skip
        if self.promised_days is not None:
            text += t("batch.signature_on_time", on_time=self.on_time, signed=len(self.days), days=self.promised_days)
        return text


def is_held(result: SampleResult | Mapping) -> bool:
    """Held for the run controls or identity: not released, and not a specimen or QC failure."""
    return decided(result).held


def findings_line(result: SampleResult | Mapping, t: Text) -> str:
    """Everything a lab scientist needs to know about one sample, in one line."""
    r = decided(result)
    if r.held:
        return f"{t('batch.held')}: " + "; ".join(r.failure.reasons if r.failure else [])
    if r.failed and r.failure:
        why = [gate_text(g, t) for g in r.failure.gates_failed] or r.failure.reasons
        return f"{t('batch.failed')}: " + "; ".join(why)
    parts = []
    for item in r.summary_findings():
        if isinstance(item, GermlineFinding):
            parts.append(f"{item.gene} {item.hgvs_c} {t('classification.' + item.classification)}")
        else:
            name = item.hgvs_p or item.hgvs_c
            parts.append(f"{item.gene} {name} {pct(item.vaf)} [{tier_text(item.tier, t)}]")
    if not parts:
        parts.append(t("batch.no_findings"))
    na = sum(1 for h in r.hotspots if h.reporting and h.reporting.in_summary)
    if na:
        parts.append(t("batch.not_assessable", n=na))
    if not r.germline.reported and r.sample.germline_specimen:
        parts.append(t("batch.germline_withheld"))
    return "; ".join(parts)


def copy_number_line(result: SampleResult | Mapping, t: Text) -> str:
    """The CNV column: the called events, "none called", "not assessable" (never read as a negative), or for a
    tumour its amplification with BRCA exon copy number not tested; "—" without a copy-number section."""
    r = decided(result)
    cn = r.copy_number
    if cn is None or r.failed or cn.status == "withheld":
        return "—"
    if cn.status == "not_assessable":
        parts = [t("cnv.batch_not_assessable")]
    elif cn.status == "not_tested":
        parts = [t("cnv.batch_not_tested")]
    else:
        parts = [f"{e.name} ({cnv_event_words(e, t)})" for e in cn.events] or [t("cnv.batch_none")]
    a = cn.amplification
    if a is not None and a.status == "amplified":
        parts.append(t("cnv.summary_amplification", gene=a.gene, ratio=f"{a.ratio:.2f}"))
    elif a is not None and a.status == "not_assessable":
        parts.append(t("cnv.summary_amp_not_assessable", gene=a.gene))
    elif a is not None:
        parts.append(f"{a.gene}: {t('cnv.batch_none')}")
    return "; ".join(parts)


def _cost(costs: Mapping | None, sample_id: str) -> float | None:
    if not costs or sample_id not in costs:
        return None
    value = costs[sample_id]
    return float(value["total"] if isinstance(value, Mapping) else value)


def _qc_cell(result: SampleResult, t: Text) -> tuple[str, str]:
    """(cell HTML, row class) of the QC column."""
    if result.held:
        return f'<span class="held">{escape(t("batch.qc_held"))}</span>', "held"
    if result.failed:
        return f'<span class="fail">{escape(t("qc.fail"))}</span>', "failed"
    return f'<span class="pass">{escape(t("qc.pass"))}</span>', "ok"


def _criteria_text(checks: list[Mapping]) -> str:
    return "; ".join(f"{c['criterion']}: {c['observed']} (required {c['required']})" for c in checks)


def run_controls_section(
    batch_identities: list[Mapping], control_qc: Mapping[str, Mapping], t: Text, costs_spread: bool = False
) -> list[str]:
    """The run-controls page: per batch, released or held, and each control with its material, verdict and
    criteria against the values observed."""
    out = [f'<h2 id="run-controls">{escape(t("batch.run_controls"))}</h2>']
    header = ["sample", "control_kind", "material", "verdict", "reads", "criteria"]
    for doc in sorted(batch_identities, key=lambda d: d.get("batch", "")):
        ctl = doc.get("controls") or {}
        batch = doc.get("batch", "")
        state = t("batch.batch_held", batch=batch) if doc.get("batch_held") else t("batch.batch_released", batch=batch)
        out.append(f'<p><strong class="{"held" if doc.get("batch_held") else "pass"}">{escape(state)}</strong></p>')
        if doc.get("batch_held"):
            out.append("<ul>" + "".join(f"<li>{escape(r)}</li>" for r in doc.get("reasons", [])) + "</ul>")
        if not ctl.get("run_controls") and not ctl.get("missing"):
            out.append(f"<p>{escape(t('batch.no_controls'))}</p>")  # controls.required is empty: a validation run
            continue
        out.append("<table><tr>" + "".join(f"<th>{escape(t(f'batch.{h}'))}</th>" for h in header) + "</tr>")
        for v in ctl.get("run_controls", []):
            qc = control_qc.get(v["sample_id"]) or {}
            reads = (qc.get("metrics") or {}).get("raw_reads")
            passed = v["verdict"] == "pass"
            verdict = t("batch.control_pass") if passed else t("batch.control_fail")
            cells = [
                escape(v["sample_id"]),
                escape(t.get(f"batch.control_kinds.{v['control']}", v["control"])),
                escape(v["material"] or "—"),
                f'<span class="{"pass" if passed else "fail"}">{escape(verdict)}</span>',
                f'<td class="num">{"—" if reads is None else f"{int(reads):,}"}</td>',
                escape(_criteria_text(v["checks"])),
            ]
            row = "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells)
            out.append(f'<tr class="control">{row}</tr>')
        for kind in ctl.get("missing", []):
            name = t.get(f"batch.control_kinds.{kind}", kind)
            missing = f'<span class="fail">{escape(t("batch.control_missing"))}</span>'
            cells = ["—", escape(name), "—", missing, "—", "—"]
            out.append('<tr class="failed">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        out.append("</table>")
    note = t("batch.controls_note" if costs_spread else "batch.controls_note_no_cost")
    out.append(f'<p class="note">{escape(note)}</p>')
    return out


def render_batch_summary(
    results: list[SampleResult] | list[dict],
    out_html: str | Path,
    costs: dict | None = None,
    language: str = "en",
    currency: str = "¥",
    batch_identities: list[Mapping] | None = None,
    control_qc: Mapping[str, Mapping] | None = None,
    promised_days: int | None = None,
) -> Path:
    """Write the batch summary; `costs` maps sample_id → cost (a number, or {"total": number, ...}).

    `results` are the patients' result documents (a control's, if one is passed, is left out: controls are
    shown only in the run-controls section). `batch_identities`: each batch's identity JSON, whose
    controls.run_controls carry the control verdicts; `control_qc`: the controls' QC JSON by sample id;
    `promised_days`: the lab's routine turnaround, drawn on the turnaround picture (oncopanel.report.batch_charts).
    """
    from oncopanel.report.batch_charts import charts_section  # it reads this module's turnaround_days

    t = load_text(language)
    models = [decided(r) for r in results]
    models = [r for r in models if not r.sample.extra.get("control")]
    ordered = sorted(models, key=lambda r: (r.sample.site, r.sample.sample_id))
    batches = sorted({r.sample.batch for r in models} | {d.get("batch", "") for d in batch_identities or []})
    cols = ("sample", "patient", "specimen", "tumour_type", "qc", "findings", "received", "reported", "turnaround",
            "signed", "to_signature")
    header = [t(f"batch.{c}") for c in cols] + ([t("batch.cost")] if costs else [])
    header.insert(cols.index("findings") + 1, t("cnv.batch_column"))
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{language}"><head><meta charset="utf-8">',
        f"<title>{escape(t('batch.title', batch=', '.join(batches)))}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(t('batch.title', batch=', '.join(batches)))}</h1>",
    ]
    tats: list[int] = []
    total_cost = 0.0
    for site, group in groupby(ordered, key=lambda r: r.sample.site):
        rows = list(group)
        out.append(f"<h2>{escape(t('batch.site'))}: {escape(site)} — {escape(t('batch.samples', n=len(rows)))}</h2>")
        out.append("<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>")
        for r in rows:
            s = r.sample
            tat = turnaround_days(s.received_date, r.reported_date)
            if tat is not None:
                tats.append(tat)
            qc, row_class = _qc_cell(r, t)
            cells = [
                escape(s.sample_id),
                escape(s.patient),
                escape(t.get(f"specimen_types.{s.specimen_type}", s.specimen_type)),
                escape(tumour_type_text(s, t)),
                qc,
                escape(findings_line(r, t)),
                escape(copy_number_line(r, t)),
                escape(s.received_date or "—"),
                escape(r.reported_date or "—"),
                f'<td class="num">{"—" if tat is None else tat}</td>',
                escape(signed_date(r) or t("batch.not_signed")),
                f'<td class="num">{"—" if (sig := signature_days(r)) is None else sig}</td>',
            ]
            if costs:
                cost = _cost(costs, s.sample_id)
                total_cost += cost or 0.0
                cells.append(f'<td class="num">{"—" if cost is None else f"{currency}{cost:,.2f}"}</td>')
            row = "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells)
            out.append(f'<tr class="{row_class}">{row}</tr>')
        out.append("</table>")
        out.append(f'<p class="signature">{escape(SignatureTurnaround.of(rows, promised_days).line(t))}</p>')
    n_held = sum(r.held for r in models)
    n_failed = sum(r.failed and not r.held for r in models)
    totals = t(
        "batch.totals",
        n=len(models),
        passed=len(models) - n_failed - n_held,
        failed=n_failed,
        held=n_held,
        tat=f"{statistics.median(tats):g}" if tats else "—",
        cost=f"{currency}{total_cost:,.2f}" if costs else "—",
    )
    out.append(f"<p><strong>{escape(totals)}</strong></p>")
    batch_signature = SignatureTurnaround.of(ordered, promised_days).line(t)
    out.append(f'<p class="signature"><strong>{escape(batch_signature)}</strong></p>')
    out += charts_section(ordered, t, promised_days)
    if batch_identities:
        out += run_controls_section(list(batch_identities), control_qc or {}, t, costs_spread=bool(costs))
    out += [
        f'<p class="note">{escape(t("batch.generated_from"))}</p>',
        "</body></html>",
    ]
    out_html = Path(out_html)
    out_html.write_text("\n".join(out) + "\n", encoding="utf-8")
    return out_html


def signed_dates(results: list[SampleResult]) -> dict[str, date]:
    """sample_id → signature date of the signed ones (the ledger's receipt → signature)."""
    return {r.sample.sample_id: date.fromisoformat(d) for r in results if (d := signed_date(r))}


def delivered_results(results_dir: str | Path) -> list[SampleResult]:
    """A results tree's patients as released now: each sample's delivered result (the current version, the signed
    one once signed, oncopanel.release), else its workflow draft (a sample never released)."""
    from oncopanel.release import delivery_paths, draft_paths
    from oncopanel.report.result import load_result

    root = Path(results_dir)
    out = []
    for draft in sorted(Path(draft_paths(root, "_")["result"]).parent.glob("*.result.json")):
        sid = draft.name.removesuffix(".result.json")
        delivered = Path(delivery_paths(root, sid)["result"])
        out.append(load_result(delivered if delivered.exists() else draft))
    return out


def regenerate_summary(results_dir: str | Path, lab_path: str | Path | None = None,
                       language: str | None = None) -> tuple[Path, Path | None]:  # fmt: skip
    """The batch summary and ledger of a finished results tree written again after signatures: the summary from
    the delivered results, the workflow's ledger (its costs unchanged) with receipt → signature filled.

    The language defaults to the one the workflow wrote the summary in. Returns (summary, ledger or None)."""
    import json
    import re

    from oncopanel.batch.lab import load_lab_config
    from oncopanel.batch.ledger import read_ledger, with_signatures, write_ledger
    from oncopanel.errors import InputError

    root = Path(results_dir)
    results = delivered_results(root)
    if not results:
        raise InputError(f"{root}: no result documents (drafts/result/*.result.json): not a finished results tree")
    html = root / "batch" / "summary.html"
    if language is None:
        found = re.search(r'<html lang="(\w+)"', html.read_text(encoding="utf-8")) if html.exists() else None
        language = found.group(1) if found else "en"
    identities = [json.loads(p.read_text()) for p in sorted((root / "identity").glob("*.batch_identity.json"))]
    controls = [v["sample_id"] for d in identities for v in (d.get("controls") or {}).get("run_controls", [])]
    control_qc = {c: json.loads((root / "qc" / f"{c}.qc.json").read_text())
                  for c in controls if (root / "qc" / f"{c}.qc.json").exists()}  # fmt: skip
    ledger_path: Path | None = root / "batch" / "ledger.tsv"
    costs = None
    if ledger_path.exists():
        rows = with_signatures(read_ledger(ledger_path), signed_dates(results))
        write_ledger(rows, ledger_path)
        costs = {r.sample_id: {"total": r.total, "run_share": r.run_share, "compute": r.compute} for r in rows}
    else:
        ledger_path = None
    lab = load_lab_config(lab_path)
    html.parent.mkdir(parents=True, exist_ok=True)
    summary = render_batch_summary(results, html, costs=costs, language=language, batch_identities=identities,
                                   control_qc=control_qc, promised_days=lab.turnaround_days.get("routine"))  # fmt: skip
    return summary, ledger_path
