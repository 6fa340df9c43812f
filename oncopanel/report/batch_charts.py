"""The batch summary's pictures, as inline SVG (no script, no font or library fetched: the page renders offline):
per-sample target depth against its gate, the gates' pass/fail across the batch, the findings' VAFs, and
turnaround by site against the lab's promise.

Every mark is drawn from the result documents: a sample without the value (its input check failed, no finding
with a VAF, no received date) is shown as having none, never as zero. Each mark carries a <title> with its exact
value, which a browser shows on hover."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from itertools import groupby

from oncopanel.report.batch import signature_days, turnaround_days
from oncopanel.report.model import GermlineFinding, SampleResult
from oncopanel.report.pdf import pct
from oncopanel.report.text import Text

PASS, FAIL, NONE, GATE = "#2E7D32", "#C62828", "#B0BEC5", "#1F4E79"
WIDTH, LABEL, ROW = 760, 180, 18  # px: the chart, the sample-name column, one sample's row
DEPTH_METRIC = "mean_target_depth"


def _svg(height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, WenQuanYi Zen Hei, sans-serif" '
            f'font-size="11"><title>{escape(title)}</title>' + "".join(body) + "</svg>")  # fmt: skip


def _text(x: float, y: float, s: str, anchor: str = "start", fill: str = "#222") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}">{escape(s)}</text>'


def _nice_max(value: float) -> float:
    """A round axis maximum at or above value (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    step = 10 ** len(str(int(value))) / 100
    while True:
        for m in (1, 2, 5):
            if m * step * 10 >= value:
                return m * step * 10
        step *= 10


def _axis(x0: float, x1: float, y: float, top: float, vmax: float, fmt) -> list[str]:
    out = [f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#555"/>']
    for i in range(6):
        x = x0 + (x1 - x0) * i / 5
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{y}" stroke="#E0E0E0"/>')
        out.append(_text(x, y + 13, fmt(vmax * i / 5), "middle", "#555"))
    return out


def depth_chart(results: Sequence[SampleResult], t: Text) -> str | None:
    """Mean target depth per sample as bars, with the sample's own depth gate as a tick (gates can differ by
    specimen type). Green: the gate passed; red: failed; grey label: no depth (input check failed)."""
    rows = []
    for r in results:
        gate = next((g for g in r.qc.gates if g.metric == DEPTH_METRIC), None)
        rows.append((r.sample.sample_id, r.qc.metrics.get(DEPTH_METRIC), gate))
    if not rows:
        return None
    vmax = _nice_max(max([v or 0 for _, v, _ in rows] + [g.threshold for _, _, g in rows if g]))
    x0, x1, top = LABEL, WIDTH - 20, 8
    scale = lambda v: x0 + (x1 - x0) * min(v, vmax) / vmax  # noqa: E731
    body = []
    for i, (sid, depth, gate) in enumerate(rows):
        y = top + i * ROW
        body.append(_text(x0 - 6, y + 12, sid, "end"))
        if depth is None:
            body.append(_text(x0 + 4, y + 12, t("batch_charts.no_data"), fill="#777"))
        else:
            colour = NONE if gate is None else (PASS if gate.passed else FAIL)
            tip = f"{sid}: {depth:,.1f}x"
            if gate:
                tip += f" ({t('batch_charts.gate')} {gate.op} {gate.threshold:g}x)"
            body.append(f'<rect x="{x0}" y="{y + 3}" width="{scale(depth) - x0:.1f}" height="{ROW - 6}" '
                        f'fill="{colour}"><title>{escape(tip)}</title></rect>')  # fmt: skip
        if gate is not None:
            gx = scale(gate.threshold)
            body.append(f'<line x1="{gx:.1f}" y1="{y + 1}" x2="{gx:.1f}" y2="{y + ROW - 1}" stroke="{GATE}" '
                        'stroke-width="2" stroke-dasharray="3,2"/>')  # fmt: skip
    bottom = top + len(rows) * ROW
    body = _axis(x0, x1, bottom, top, vmax, lambda v: f"{v:,.0f}x") + body  # grid under the bars
    return _svg(bottom + 20, body, t("batch_charts.depth_title"))


def gate_grid(results: Sequence[SampleResult], t: Text) -> str | None:
    """Samples by gates: each cell passed (green), failed (red), or not judged for that sample (grey)."""
    metrics: list[str] = []
    for r in results:
        metrics += [g.metric for g in r.qc.gates if g.metric not in metrics]
    if not results or not metrics:
        return None
    cell = min(90, (WIDTH - LABEL - 10) // len(metrics))
    top = 44
    label = lambda m: m.replace("fraction_target_bases_ge_", "bases ≥ ").replace("_", " ")  # noqa: E731
    body = [_text(LABEL + cell * (j + 0.5), top - 6, label(m), "middle") for j, m in enumerate(metrics)]
    for i, r in enumerate(results):
        y = top + i * ROW
        body.append(_text(LABEL - 6, y + 12, r.sample.sample_id, "end"))
        gates = {g.metric: g for g in r.qc.gates}
        for j, m in enumerate(metrics):
            g = gates.get(m)
            colour = NONE if g is None else (PASS if g.passed else FAIL)
            value = "—" if g is None or g.value is None else f"{g.value:.4g}"
            tip = (f"{r.sample.sample_id} {m}: {t('batch_charts.not_judged')}" if g is None else
                   f"{r.sample.sample_id} {m} = {value} ({g.op} {g.threshold:g})")  # fmt: skip
            body.append(f'<rect x="{LABEL + j * cell + 1}" y="{y + 1}" width="{cell - 2}" height="{ROW - 2}" '
                        f'fill="{colour}"><title>{escape(tip)}</title></rect>')  # fmt: skip
    legend_y = top + len(results) * ROW + 14
    body += [f'<rect x="{LABEL}" y="{legend_y - 9}" width="10" height="10" fill="{PASS}"/>',
             _text(LABEL + 14, legend_y, t("batch_charts.passed")),
             f'<rect x="{LABEL + 90}" y="{legend_y - 9}" width="10" height="10" fill="{FAIL}"/>',
             _text(LABEL + 104, legend_y, t("batch_charts.failed")),
             f'<rect x="{LABEL + 180}" y="{legend_y - 9}" width="10" height="10" fill="{NONE}"/>',
             _text(LABEL + 194, legend_y, t("batch_charts.not_judged"))]  # fmt: skip
    return _svg(legend_y + 8, body, t("batch_charts.gates_title"))


def vaf_chart(results: Sequence[SampleResult], t: Text) -> str | None:
    """The VAF of each finding the summary names (as the batch table's findings column), one row per sample."""
    rows = []
    for r in results:
        if r.held or r.failed:
            continue
        points = []
        for f in r.summary_findings():
            if f.vaf is None:
                continue
            name = f"{f.gene} {f.hgvs_c}" if isinstance(f, GermlineFinding) else f"{f.gene} {f.hgvs_p or f.hgvs_c}"
            points.append((f.vaf, name, isinstance(f, GermlineFinding)))
        rows.append((r.sample.sample_id, points))
    if not any(points for _, points in rows):
        return None
    x0, x1, top = LABEL, WIDTH - 20, 8
    body = []
    for i, (sid, points) in enumerate(rows):
        y = top + i * ROW
        body.append(_text(x0 - 6, y + 12, sid, "end"))
        if not points:
            body.append(_text(x0 + 4, y + 12, t("batch_charts.no_finding"), fill="#777"))
        for vaf, name, germline in points:
            x = x0 + (x1 - x0) * vaf
            shape = (f'<rect x="{x - 4:.1f}" y="{y + 5}" width="8" height="8" fill="{GATE}">' if germline else
                     f'<circle cx="{x:.1f}" cy="{y + 9}" r="4.5" fill="{FAIL}">')  # fmt: skip
            close = "</rect>" if germline else "</circle>"
            body.append(f"{shape}<title>{escape(f'{sid}: {name} {pct(vaf)}')}</title>{close}")
    bottom = top + len(rows) * ROW
    body = _axis(x0, x1, bottom, top, 1.0, lambda v: f"{v:.0%}") + body
    body += [f'<circle cx="{x0 + 4}" cy="{bottom + 26}" r="4.5" fill="{FAIL}"/>',
             _text(x0 + 12, bottom + 30, t("batch_charts.somatic")),
             f'<rect x="{x0 + 120}" y="{bottom + 22}" width="8" height="8" fill="{GATE}"/>',
             _text(x0 + 132, bottom + 30, t("batch_charts.germline"))]  # fmt: skip
    return _svg(bottom + 38, body, t("batch_charts.vaf_title"))


def turnaround_chart(results: Sequence[SampleResult], t: Text, promised_days: int | None = None) -> str | None:
    """Turnaround of each sample as a dot on its site's row, with the promised days: a filled dot is receipt to
    signature (the promise); a sample not signed yet is an open circle at receipt to its draft report."""
    by_site = []
    ordered = sorted(results, key=lambda r: (r.sample.site, r.sample.sample_id))
    for site, group in groupby(ordered, key=lambda r: r.sample.site):
        days = []
        for r in group:
            signed = signature_days(r)
            days.append((r.sample.sample_id, signed, True) if signed is not None else
                        (r.sample.sample_id, turnaround_days(r.sample.received_date, r.reported_date), False))
        by_site.append((site, [(sid, d, s) for sid, d, s in days if d is not None]))
    if not any(days for _, days in by_site):
        return None
    vmax = _nice_max(max([d for _, days in by_site for _, d, _ in days] + [promised_days or 0]))
    x0, x1, top, row = LABEL, WIDTH - 20, 22, 24  # the promise's label above the rows
    scale = lambda v: x0 + (x1 - x0) * v / vmax  # noqa: E731
    body = []
    for i, (site, days) in enumerate(by_site):
        y = top + i * row
        body.append(_text(x0 - 6, y + 15, site, "end"))
        if not days:
            body.append(_text(x0 + 4, y + 15, t("batch_charts.no_data"), fill="#777"))
        for k, (sid, d, signed) in enumerate(sorted(days, key=lambda p: p[1])):
            colour = FAIL if promised_days is not None and d > promised_days else PASS
            jitter = (k % 3 - 1) * 4  # samples reported on the same day stay visible side by side
            paint = f'fill="{colour}" fill-opacity="0.8"' if signed else f'fill="none" stroke="{colour}"'
            what = f"{sid}: {d} d" if signed else f"{sid}: {t('batch.not_signed')} ({d} d)"
            body.append(f'<circle cx="{scale(d):.1f}" cy="{y + 11 + jitter}" r="4" {paint}>'
                        f'<title>{escape(what)}</title></circle>')  # fmt: skip
    bottom = top + len(by_site) * row
    if promised_days is not None:
        px = scale(promised_days)
        body.append(f'<line x1="{px:.1f}" y1="{top}" x2="{px:.1f}" y2="{bottom}" stroke="{GATE}" stroke-width="2" '
                    'stroke-dasharray="4,3"/>')  # fmt: skip
        body.append(_text(px, top - 8, t("batch_charts.promised", days=promised_days), "middle", GATE))
    body = _axis(x0, x1, bottom, top, vmax, lambda v: f"{v:g}") + body
    return _svg(bottom + 20, body, t("batch_charts.turnaround_title"))


def charts_section(results: Sequence[SampleResult], t: Text, promised_days: int | None = None) -> list[str]:
    """The HTML of the pictures section (headings and inline SVG); empty when there is nothing to draw."""
    charts = [
        ("batch_charts.depth_title", depth_chart(results, t)),
        ("batch_charts.gates_title", gate_grid(results, t)),
        ("batch_charts.vaf_title", vaf_chart(results, t)),
        ("batch_charts.turnaround_title", turnaround_chart(results, t, promised_days)),
    ]
    out = []
    for key, svg in charts:
        if svg:
            out += [f'<h2 class="chart">{escape(t(key))}</h2>', f'<div class="chart">{svg}</div>']
    return out
