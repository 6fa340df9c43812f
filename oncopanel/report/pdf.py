"""The clinician PDF: one result document (result.py) → one report in Chinese or English (reportlab platypus).

Wording comes from the text sets (reports/text/<lang>.yaml); layout is here. Rendering is deterministic: reportlab's
invariant mode, no clock, no random ids, so the same result (and identity) renders byte-identical.
Order: header → amendment → result summary → somatic → germline → therapies → relevant negatives (hotspots, gene
coverage, not tested) → QC → methods and limitations → versions → sign-off. A failed sample gets the failure
notice, QC, not-tested list, methods, versions and sign-off, and nothing that can read as a negative result.

What is shown, what the summary names and which genes are flagged are the result's own reporting decisions
(``oncopanel.report.decisions``; a schema-1.0 result is decided when read): nothing here chooses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    CondPageBreak,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from oncopanel.clinical import GERMLINE_GENES
from oncopanel.model import SETTING_ORDER
from oncopanel.report.decisions import decided
from oncopanel.report.identity import check_identity
from oncopanel.report.model import (
    Approval,
    CnvEvent,
    CopyNumber,
    Gate,
    GeneAmplification,
    GermlineFinding,
    Hotspot,
    Reporting,
    Sample,
    SampleResult,
    Therapy,
    as_result,
)
from oncopanel.report.result import RESULT_SHA_KEYWORD, result_sha256
from oncopanel.report.text import Fonts, Text, fonts_for, load_text

PAGE_W, PAGE_H = A4
MARGIN = 15 * mm
FRAME_PADDING = 6  # reportlab Frame default padding (points) on each side
FRAME_W = PAGE_W - 2 * MARGIN - 2 * FRAME_PADDING
ACCENT = colors.HexColor("#1F4E79")
BAND = colors.HexColor("#DCE6F0")
GRID = colors.HexColor("#9AA5B1")
HEAD_BG = colors.HexColor("#EEF2F6")
WARN_BG = colors.HexColor("#FCEBC6")
ALERT = colors.HexColor("#B00020")
ALERT_BG = colors.HexColor("#FDE2E4")


# ---------------------------------------------------------------- formatting helpers (pure)
def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def tumour_content_text(tc: float | None, t: Text) -> str:
    return t("labels.not_stated") if tc is None else f"{tc:g}%"


def tier_text(tier: str, t: Text) -> str:
    return t.get(f"tiers.{tier}", tier)


def drug_text(name: str, t: Text) -> str:
    local = t.raw("drug_names").get(name.strip().lower()) if t.raw("drug_names") else None
    return f"{local}{t('punct.open')}{name}{t('punct.close')}" if local else name


def _drugs(therapy: Therapy) -> list[str]:
    return therapy.drugs or [d.strip() for d in therapy.regimen.split("+")]


def regimen_text(therapy: Therapy, t: Text) -> str:
    drugs = _drugs(therapy)
    return " + ".join(drug_text(d, t) for d in drugs)


def regimen_lines(therapy: Therapy, t: Text) -> list[str]:
    """The regimen in local names, and the international names on a second line when they differ."""
    drugs = _drugs(therapy)
    names = t.raw("drug_names") or {}
    local = " + ".join(names.get(d.strip().lower(), d) for d in drugs)
    english = " + ".join(drugs)
    return [local] if local == english else [local, english]


def tumour_type_text(sample: Sample, t: Text) -> str:
    code = sample.oncotree_code
    name = (t.raw("tumour_types") or {}).get(code) or sample.tumour_type or code
    return f"{name}{t('punct.open')}{code}{t('punct.close')}" if name != code else code


def consequence_text(terms: list[str], t: Text) -> str:
    table = t.raw("consequences")
    return t("punct.list").join(table.get(term, term.replace("_", " ")) for term in terms)


def level_text(level: str, t: Text) -> str:
    if not level:
        return "—"
    return t("therapy.level_approved") if level == "approved" else t("therapy.level_prefix", level=level)


def approval_text(approval: Approval, t: Text) -> str:
    agencies = t("punct.list").join(approval.agencies)
    status = approval.status
    return t(f"therapy.{status}", agencies=agencies) if status != "not_approved" else t("therapy.not_approved")


def therapy_strength(therapy: Therapy, t: Text) -> str:
    """One phrase: the approval when there is one, else the evidence level and 'not approved'."""
    approval = approval_text(therapy.approval, t)
    if therapy.level == "approved" or therapy.approval.status != "not_approved":
        return approval
    return f"{level_text(therapy.level, t)}{t('punct.sep')}{approval}"


def formulary_parts(formulary: Mapping, t: Text) -> list[str]:
    """The formulary facts of one option, one phrase each (a table cell prints one per line)."""
    if not formulary or formulary.get("available") == "not listed":  # not listed is not "unavailable"
        return [t("therapy.formulary_unknown")]
    parts = []
    available = formulary.get("available", "").lower()
    if available:
        parts.append(
            t("therapy.formulary_available" if available in ("yes", "true", "1") else "therapy.formulary_unavailable")
        )
    reimbursed = formulary.get("reimbursed", "").lower()
    if reimbursed:
        parts.append(
            t(
                "therapy.formulary_reimbursed"
                if reimbursed in ("yes", "true", "1")
                else "therapy.formulary_not_reimbursed"
            )
        )
    cost = formulary.get("monthly_cost_cny") or formulary.get("monthly_cost")  # results before 1.2: monthly_cost
    if cost:
        parts.append(t("therapy.formulary_cost", cost=cost))
    if formulary.get("not_listed"):
        drugs = [drug_text(d.strip(), t) for d in formulary["not_listed"].split(",")]
        parts.append(t("therapy.formulary_not_listed", drugs=t("punct.list").join(drugs)))
    if formulary.get("note"):
        parts.append(formulary["note"])
    return parts or [t("therapy.formulary_unknown")]


def approval_parts(approval: Approval, t: Text) -> list[str]:
    """Approval status and, on its own line, the agencies (keeps CJK brackets from wrapping apart); an agency whose
    label rows are not yet verified is marked so."""
    if approval.status == "not_approved":
        return [t("therapy.not_approved")]
    unverified = set(approval.extra.get("unverified", []))
    agencies = [f"{a} {t('therapy.unverified')}" if a in unverified else a for a in approval.agencies]
    return [t(f"therapy.{approval.status}_cell"), t("punct.list").join(agencies)]


def setting_text(therapy: Therapy, t: Text) -> str:
    return t(f"therapy.settings.{therapy.setting}") if therapy.setting else ""


def line_of_therapy_text(line: str, t: Text) -> str:
    """The order's line of therapy (sample sheet), in the report's language; "not stated" when absent."""
    if not line:
        return t("labels.not_stated")
    if line.startswith("progressed_on:"):
        return t("line_of_therapy.progressed_on", drug=drug_text(line.removeprefix("progressed_on:"), t))
    return t.get(f"line_of_therapy.{line}", line)


def biomarker_name(name: str, t: Text) -> str:
    """A negative biomarker ("RAS Wild Type") or the agnostic line's label, in the report's language."""
    return t.get(f"biomarker_names.{name}", name)


def biomarker_cell(therapy: Therapy, t: Text) -> str:
    """Gene and variant ("EGFR L858R"); a wild-type biomarker names its genes itself ("RAS wild type", once)."""
    named = biomarker_name(therapy.biomarker, t)
    if named != therapy.biomarker:
        return named
    return f"{therapy.gene} {therapy.biomarker}".strip()


def by_setting(therapies: list[Therapy], line: str) -> list[tuple[str, list[Therapy]]]:
    """Options grouped under their setting, the order's line of therapy first, then SETTING_ORDER."""
    lead = "after_progression" if line.startswith("progressed_on:") else line
    order = [lead, *[x for x in SETTING_ORDER if x != lead]] if lead else list(SETTING_ORDER)
    groups: dict[str, list[Therapy]] = {}
    for th in therapies:
        groups.setdefault(th.setting if th.setting in order else "", []).append(th)
    return [(x, groups[x]) for x in [*order, ""] if x in groups]


def matching_notes(therapy: Therapy, t: Text) -> list[str]:
    """What the whole-sample matching says beside an option (schema 1.2): its setting, why it is not
    recommended here, that its approval is biomarker-agnostic, the tumour type foreign evidence comes from."""
    notes = []
    if therapy.setting:
        notes.append(setting_text(therapy, t))
    if therapy.status == "demoted":
        notes.append(t("therapy.demoted", reason=demotion_text(therapy, t)))
    if therapy.status == "agnostic":
        notes.append(t("therapy.agnostic", gene=therapy.gene))
    if therapy.evidence_tumour:
        notes.append(t("therapy.evidence_in", tumour=evidence_tumour_text(therapy, t)))
    return notes


def evidence_tumour_text(therapy: Therapy, t: Text) -> str:
    """The tumour type foreign evidence comes from, by its local name where the text set has one (by OncoTree code
    of the rows naming that disease), else as the evidence names it."""
    names = t.raw("tumour_types") or {}
    codes = [e.get("oncotree_code", "") for e in therapy.evidence if e.get("disease") == therapy.evidence_tumour]
    return next((names[c] for c in codes if c in names), therapy.evidence_tumour or "")


def demotion_text(therapy: Therapy, t: Text) -> str:
    """Why an option is not recommended here, in the report's language, from the structured reasons (the rule
    tables' English wording unless the text set words it; results without them: their English sentence)."""
    if not therapy.reasons:
        return therapy.reason or ""
    parts = []
    for r in therapy.reasons:
        if r["kind"] == "progressed_on":
            parts.append(t("demotion.progressed_on", drug=drug_text(r["drug"], t)))
            continue
        parts.append(t("demotion.resistance", finding=r["finding"], citation=r["citation"],
                       text=t.get(f"resistance_rules.{r['rule']}", r["text"])))
        if r.get("phase"):
            phase = {"cis and trans": "both", "not determined": "not_determined"}.get(r["phase"], r["phase"])
            parts.append(t(f"demotion.phase_{phase}", finding=r["finding"], partner=r["partner"]))
        if r.get("note"):
            parts.append(t("demotion.note", citation=r["note_citation"],
                           text=t.get(f"phase_notes.{r['note']}", r["note_text"])))
    return t("punct.sep").join(dict.fromkeys(parts))


def citations_text(evidence: list[Mapping], t: Text, limit: int = 3) -> str:
    cites = list(dict.fromkeys(e["citation"] for e in evidence if e.get("citation")))
    shown = "; ".join(cites[:limit])
    return shown + (f"; {t('therapy.more_citations', n=len(cites) - limit)}" if len(cites) > limit else "") or "—"


def hotspot_detail(h: Hotspot, stated_lod: float | None, t: Text) -> str:
    if h.status == "detected":
        observed = f" {h.observed}" if h.observed else ""
        return t(
            "negatives.detected_detail",
            vaf=pct(h.vaf),
            low=pct(h.vaf_ci_low),
            high=pct(h.vaf_ci_high),
            observed=observed,
        )
    if h.status == "not_detected":
        # the hotspot's own LoD at its own usable depth (oncopanel.hotspots), never a sample-wide figure
        return t("negatives.not_detected_detail", lod=pct(h.lod), depth=h.depth)
    if h.cause in ("library_damage", "paralogue"):
        return t(f"negatives.not_assessable_{h.cause}")
    return t("negatives.not_assessable_detail", stated_lod=pct(stated_lod))


def cause_text(h: Hotspot, t: Text) -> str:
    """Why a hotspot is not assessable, in words (results before the cause was recorded: depth)."""
    return t(f"negatives.cause.{h.cause or 'depth'}")


def gate_text(gate: Gate, t: Text) -> str:
    return t(
        "failure.gate",
        metric=t.get(f"qc.metrics.{gate.metric}", gate.metric),
        value="—" if gate.value is None else f"{gate.value:.4g}",
        op=gate.op.replace(">=", "≥").replace("<=", "≤"),
        threshold=f"{gate.threshold:g}",
    )


# ---------------------------------------------------------------- styles and building blocks
class Kit:
    """Styles and paragraph/table factories bound to one language's text set and fonts."""

    def __init__(self, language: str):
        self.t = load_text(language)
        self.f: Fonts = fonts_for(language)
        base = dict(fontName=self.f.regular, wordWrap=self.f.wrap)
        self.body = ParagraphStyle("body", fontSize=8.5, leading=11.5, spaceAfter=2, **base)
        self.small = ParagraphStyle("small", fontSize=7, leading=9, textColor=colors.HexColor("#333333"), **base)
        self.cell = ParagraphStyle("cell", fontSize=7.5, leading=9.5, **base)
        # HGVS and other long tokens: break anywhere rather than overflow the cell
        self.code = ParagraphStyle("code", fontSize=7.5, leading=9.5, fontName=self.f.regular, wordWrap="CJK")
        self.head = ParagraphStyle("head", fontSize=7.5, leading=9.5, textColor=ACCENT, **base)
        self.title = ParagraphStyle("title", fontSize=15, leading=19, alignment=TA_CENTER, textColor=ACCENT, **base)
        self.centre = ParagraphStyle("centre", fontSize=9.5, leading=12, alignment=TA_CENTER, **base)
        self.section = ParagraphStyle("section", fontSize=10.5, leading=13, textColor=ACCENT, **base)
        self.banner = ParagraphStyle("banner", fontSize=14, leading=18, alignment=TA_CENTER, textColor=ALERT, **base)

    def style(self, commands: list) -> TableStyle:
        """A TableStyle whose plain-string cells use the embedded font (never an unembedded Helvetica)."""
        return TableStyle([("FONTNAME", (0, 0), (-1, -1), self.f.regular), *commands])

    def p(
        self, text: Any, style: ParagraphStyle | None = None, bold: bool = False, color: str | None = None
    ) -> Paragraph:
        markup = self.f.markup(text, bold=bold)
        if color:
            markup = f'<font color="{color}">{markup}</font>'
        return Paragraph(markup, style or self.body)

    def section_head(self, key: str, title: str = "") -> list:
        band = Table([[self.p(title or self.t(f"sections.{key}"), self.section, bold=True)]], colWidths=[FRAME_W])
        band.setStyle(
            self.style(
                [
                    ("BACKGROUND", (0, 0), (-1, -1), BAND),
                    ("LINEBELOW", (0, 0), (-1, -1), 1, ACCENT),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        return [CondPageBreak(30 * mm), Spacer(1, 4 * mm), band, Spacer(1, 2 * mm)]

    def table(
        self, header: list[str], rows: list[list[Any]], widths_mm: list[float], extra: list | None = None
    ) -> Table:
        """A bordered table of Paragraph cells whose header row repeats on every page it spans."""
        scale = FRAME_W / (sum(widths_mm) * mm)
        cells = [[self.p(h, self.head, bold=True) for h in header]]
        cells += [[c if not isinstance(c, str) else self.p(c, self.cell) for c in row] for row in rows]
        tbl = Table(cells, colWidths=[w * mm * scale for w in widths_mm], repeatRows=1, hAlign="LEFT")
        style = [
            ("GRID", (0, 0), (-1, -1), 0.4, GRID),
            ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
        tbl.setStyle(self.style(style + (extra or [])))
        return tbl

    def kv_table(self, pairs: list[tuple[str, Any]], columns: int = 2) -> Table:
        """Label/value pairs laid out in `columns` label-value column pairs, no grid."""
        rows, row = [], []
        for label, value in pairs:
            row += [self.p(label, self.head), self.p(value, self.code)]
            if len(row) == 2 * columns:
                rows.append(row)
                row = []
        if row:
            rows.append(row + [""] * (2 * columns - len(row)))
        label_w, value_w = 0.16 * FRAME_W * 2 / columns, 0.34 * FRAME_W * 2 / columns
        tbl = Table(rows, colWidths=[label_w, value_w] * columns, hAlign="LEFT")
        tbl.setStyle(
            self.style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TOPPADDING", (0, 0), (-1, -1), 1),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                    ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        return tbl

    def boxed(self, flowables: list, background: colors.Color, border: colors.Color) -> Table:
        box = Table([[flowables]], colWidths=[FRAME_W])
        box.setStyle(
            self.style(
                [
                    ("BACKGROUND", (0, 0), (-1, -1), background),
                    ("BOX", (0, 0), (-1, -1), 1, border),
                    ("TOPPADDING", (0, 0), (-1, -1), 4),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ]
            )
        )
        return box


# ---------------------------------------------------------------- sections
def header(k: Kit, result: SampleResult, identity: Mapping | None, centre: Mapping | None, language: str) -> list:
    t, s = k.t, result.sample
    centre = centre or {}
    centre_name = centre.get(f"name_{language}") or centre.get("name", "")
    out: list = []
    if centre_name:
        out.append(k.p(centre_name, k.centre, bold=True))
    out += [k.p(t("title_germline" if s.germline_specimen else "title"), k.title, bold=True), Spacer(1, 3 * mm)]
    pairs = [
        (t("labels.report_id"), result.report_id),
        (t("labels.patient"), s.patient),
        (t("labels.sample_id"), s.sample_id),
        (t("labels.batch"), s.batch),
        (t("labels.site"), s.site),
        (t("labels.specimen"), t.get(f"specimen_types.{s.specimen_type}", s.specimen_type)),
        (t("labels.tumour_content"), tumour_content_text(s.tumour_content, t)),
        (t("labels.tumour_type"), tumour_type_text(s, t)),
        (t("labels.panels"), ", ".join(s.panels)),
        (t("labels.line_of_therapy"), line_of_therapy_text(s.extra.get("line_of_therapy", ""), t)),
        (t("labels.received_date"), s.received_date or "—"),
        (t("labels.report_date"), result.reported_date or "—"),
    ]
    out.append(k.kv_table(pairs))
    if identity:
        ident = [
            (t("labels.name"), identity["name"]),
            (t("labels.sex"), t.get(f"sex.{identity['sex']}", identity["sex"])),
            (t("labels.birth_date"), identity["birth_date"]),
            (t("labels.resident_id"), identity.get("resident_id", "") or "—"),
            (t("labels.hospital"), identity["hospital"]),
            (t("labels.record_number"), identity["record_number"]),
            (t("labels.clinician"), identity["ordering_clinician"]),
            (t("labels.collection_date"), identity.get("collection_date") or "—"),
            (t("labels.receipt_date"), identity.get("receipt_date") or "—"),
            (t("labels.germline_consent"), t(f"consent.{identity['germline_consent']}")),
        ]
        out += [Spacer(1, 2 * mm), k.p(t("labels.identity_heading"), k.small, bold=True), k.kv_table(ident)]
    return out


def amendment_block(k: Kit, result: SampleResult, amends: str | None) -> list:
    supersedes = amends or (result.amendment.supersedes if result.amendment else None)
    if not supersedes:
        return []
    kb = result.provenance.knowledge_base["version"] or "—"
    items = [k.p(k.t("amended_banner", supersedes=supersedes, kb_version=kb), k.body, bold=True, color="#B00020")]
    reason = result.amendment.reason if result.amendment else None
    if reason:
        items.append(k.p(k.t("amended_reason", reason=reason)))
    return [Spacer(1, 3 * mm), k.boxed(items, WARN_BG, ALERT)]


def summary(k: Kit, result: SampleResult) -> list:
    t = k.t
    line = result.sample.extra.get("line_of_therapy", "")
    out = k.section_head("summary")
    plasma = result.plasma  # plasma cfDNA only: the caveat first (oncopanel.report.plasma)
    if plasma is not None:
        out += plasma_box(k, plasma)
    rows = []
    for f in result.summary_findings():
        linked = result.therapies_for(f.id)
        therapies = result.summary_therapies(f.id)
        if isinstance(f, GermlineFinding):
            origin = t("summary.germline_origin")
            if not f.origin_confirmed:
                origin += t("punct.list") + t("summary.germline_unconfirmed")
            tier = t(f"classification.{f.classification}")
        else:
            origin = t("summary.somatic_origin")
            tier = tier_text(f.tier, t)
        vaf = f"VAF {pct(f.vaf)}"
        if plasma and plasma.get("vaf_basis") == "molecules" and f.depth:  # plasma: molecules, counted
            vaf = t("plasma.vaf_molecules", vaf=pct(f.vaf, 2), alt=f.alt_depth, depth=f.depth)
        what = f"{f.name}{t('punct.open')}{origin}{t('punct.sep')}{vaf}{t('punct.close')}"
        lines = []
        for th in therapies:
            if th.resistance:
                text = f"{t('therapy.resistance')}{t('punct.colon')}{regimen_text(th, t)}"
                lines.append(k.p(text, k.cell, color="#B00020"))
        for setting, group in by_setting([th for th in therapies if not th.resistance], line):
            if setting:  # options under per-setting headings, the order's line of therapy first
                lines.append(k.p(t(f"therapy.settings.{setting}"), k.small, bold=True))
            for th in group:
                text = f"{regimen_text(th, t)} — {therapy_strength(th, t)}"
                if th.evidence_tumour:
                    text += f"{t('punct.sep')}{t('therapy.evidence_in', tumour=evidence_tumour_text(th, t))}"
                lines.append(k.p(text, k.cell))
        # options shown in the therapy section but not here (never counts rows the section does not show)
        further = [th for th in linked if th.reporting and th.reporting.shown and th not in therapies
                   and th.recommended]
        if further:
            lines.append(k.p(t("summary.more_options", n=len(further)), k.small))
        rows.append([k.p(what, k.code, bold=True), tier, lines or t("summary.no_therapy")])
    for negative in [n for n in result.negative_biomarkers or [] if n.status != "detected"]:  # a finding says it
        options = [th for th in result.therapies if th.biomarker == negative.biomarker and th.recommended]
        lines = []
        for setting, group in by_setting(options[: _reporting(result).policy.summary_max], line):
            if setting:
                lines.append(k.p(t(f"therapy.settings.{setting}"), k.small, bold=True))
            lines += [k.p(f"{regimen_text(th, t)} — {therapy_strength(th, t)}", k.cell) for th in group]
        rows.append([k.p(negative_text(negative, t), k.cell, bold=True), "", lines or t("summary.no_therapy")])
    rows += cnv_summary_rows(k, result)
    withheld = _reporting(result).germline_section == "withheld"
    if rows:
        out.append(k.table([t("summary.finding"), t("summary.tier"), t("summary.therapies")], rows, [62, 30, 88]))
    elif plasma is not None and not plasma["ctdna_detected"]:  # never negative or wild type from plasma
        out.append(k.p(t("plasma.not_detected"), bold=True))
    elif withheld:  # never "no actionable variant" when germline findings were not looked at for the report
        out.append(k.p(t("summary.no_actionable_somatic")))
    else:
        out.append(k.p(t("summary.no_actionable")))
    notes = []
    for flag in (plasma or {}).get("clonal_haematopoiesis", []):
        finding = next((v.name for v in result.somatic if v.id == flag["finding_id"]), flag["gene"])
        notes.append(k.p(t("plasma.ch_flag", finding=finding, gene=flag["gene"], source=flag["source"]),
                         color="#8A5A00"))  # fmt: skip
    na = [h for h in result.hotspots if h.reporting and h.reporting.in_summary]
    if na:
        names = t("punct.sep").join(f"{h.gene} {h.label}{t('punct.colon')}{cause_text(h, t)}" for h in na)
        notes.append(k.p(t("summary.not_assessable_count", n=len(na), hotspots=names), color="#8A5A00"))
    low = _reporting(result).low_coverage_genes
    if low:
        notes.append(k.p(t("summary.low_coverage_genes", genes=", ".join(low)), color="#8A5A00"))
    notes += cnv_summary_notes(k, result)
    if withheld and result.germline.consent != "yes":
        notes.append(k.p(t("summary.germline_no_consent"), bold=True))
    elif not result.germline.reported:
        notes.append(k.p(t("summary.germline_withheld")))
    return [*out, Spacer(1, 2 * mm), *notes]


def plasma_box(k: Kit, plasma: Mapping) -> list:
    """The plasma caveat with what the calls stand on: molecules (UMI families) and the cfDNA input."""
    t = k.t
    consensus = plasma.get("consensus")
    items = [k.p(t("plasma.caveat" if consensus else "plasma.caveat_no_umi"), bold=True)]
    if consensus:
        text = t("plasma.molecules", families=f"{consensus['families']:,}", min_size=consensus["min_family_size"],
                 duplex=f"{consensus['duplex_families']:,}", read_pairs=f"{consensus['read_pairs']:,}",
                 mean=consensus["mean_family_size"])  # fmt: skip
        items.append(k.p(text, k.small))
    if plasma.get("cfdna_input_ng") is not None:
        ge = f"{plasma['genome_equivalents']:,}"
        items.append(k.p(t("plasma.cfdna_input", ng=f"{plasma['cfdna_input_ng']:g}", ge=ge), k.small))
    else:
        items.append(k.p(t("plasma.cfdna_input_unknown"), k.small))
    return [k.boxed(items, WARN_BG, GRID), Spacer(1, 2 * mm)]


def negative_text(negative, t: Text) -> str:
    """ "RAS Wild Type" with the codons assessed, or "RAS status not determined" with what was not assessed."""
    if negative.status == "wild_type":
        return t("summary.wild_type", biomarker=biomarker_name(negative.biomarker, t),
                 assessed=", ".join(negative.assessed))
    if negative.status == "detected":
        return t("summary.negative_detected", biomarker=biomarker_name(negative.biomarker, t),
                 reason=negative.reason.removeprefix("detected: "))
    gaps = []
    if negative.not_assessed:
        gaps.append(t("summary.not_assessable_positions", positions=", ".join(negative.not_assessed)))
    if negative.not_tested:
        genes = list(dict.fromkeys(i.split("_")[0] for i in negative.not_tested))
        gaps.append(t("summary.genes_not_ordered", genes=", ".join(genes)))
    if not gaps:  # from plasma, or no stated LoD
        gaps.append(t("summary.from_plasma") if "plasma" in negative.reason else t("summary.no_stated_lod"))
    return t("summary.not_determined", subject=negative.biomarker.removesuffix(" Wild Type"),
             reason=t("punct.list").join(gaps))


def somatic_section(k: Kit, result: SampleResult) -> list:
    t = k.t
    out = k.section_head("somatic")
    if result.sample.germline_specimen:
        return [*out, k.p(t("somatic.not_applicable"))]
    shown = [v for v in result.somatic if v.reporting and v.reporting.shown]
    rows = []
    for v in shown:
        gene = [k.p(v.gene, k.cell, bold=True), k.p(v.transcript, k.code)]
        c = [k.p(v.hgvs_c, k.code)]
        if "likely_germline" in v.filters:
            c.append(k.p(t("somatic.flag_likely_germline"), k.small, color="#8A5A00"))
        lod = result.assay.stated_lod
        # (plasma on consensus reads: the stated LoD is the tissue assay's; the hotspot rule's LoD is stated)
        molecules = result.plasma is not None and result.plasma.get("vaf_basis") == "molecules"
        if lod is not None and v.vaf is not None and v.vaf < lod and not molecules:  # reported, said beside it
            c.append(k.p(t("somatic.below_lod", lod=pct(lod)), k.small, color="#8A5A00"))
        if v.gene in GERMLINE_GENES and v.tier in ("IA", "IB", "IIC", "IID") and not result.sample.germline_specimen:
            c.append(k.p(t("somatic.germline_prompt"), k.small, color="#8A5A00"))
        depth = f"{v.alt_depth}/{v.depth}" if v.depth is not None else "—"
        rows.append(
            [
                gene,
                c,
                k.p(v.hgvs_p or "—", k.code),
                consequence_text(v.consequence, t),
                pct(v.vaf),
                depth,
                tier_text(v.tier, t),
            ]
        )
    if rows:
        out.append(
            k.table(
                [t(f"somatic.{c}") for c in ("gene", "hgvs_c", "hgvs_p", "consequence", "vaf", "depth", "tier")],
                rows,
                [24, 34, 32, 24, 14, 19, 33],
            )
        )
    elif result.plasma is not None and not result.plasma["ctdna_detected"]:  # plasma: uninformative, not negative
        out.append(k.p(t("plasma.somatic_none")))
    else:
        out.append(k.p(t("somatic.none")))
    if rows and result.plasma is not None and result.plasma.get("vaf_basis") == "molecules":
        out.append(k.p(t("plasma.vaf_note"), k.small))
    reasons = [v.reporting.reason for v in result.somatic if v.reporting]
    filtered, tier_iv = reasons.count("artefact_filter"), reasons.count("tier_iv")
    if filtered:
        out.append(k.p(t("somatic.filtered", n=filtered), k.small))
    if tier_iv:
        out.append(k.p(t("somatic.tier_iv", n=tier_iv), k.small))
    return out


def _germline_rows(k: Kit, items: list[GermlineFinding]) -> list[list[Any]]:
    t = k.t
    rows = []
    for g in items:
        variant = [
            k.p(f"{g.gene}  {g.transcript}", k.code, bold=True),
            k.p(g.hgvs_c, k.code),
            k.p(g.hgvs_p or "", k.code),
        ]
        evidence = [k.p(t("germline.classified_by", source=g.source, date=g.classification_date or "—"), k.cell)]
        if g.criteria:
            evidence.append(k.p(t("germline.criteria", criteria=", ".join(g.criteria)), k.cell))
        if g.citation:
            evidence.append(k.p(g.citation, k.code))
        zyg = {"0/1": "germline.heterozygous", "1/1": "germline.homozygous"}.get(g.genotype or "")
        zygosity = t("punct.list").join(x for x in ((t(zyg) if zyg else ""), f"VAF {pct(g.vaf)}") if x)
        rows.append([variant, t(f"classification.{g.classification}"), zygosity, evidence])
    return rows


def germline_section(k: Kit, result: SampleResult) -> list:
    t, gl = k.t, result.germline
    out = k.section_head("germline")
    state = _reporting(result).germline_section
    if state == "not_tested":
        return [*out, k.p(t("germline.not_tested"))]
    if state == "withheld":
        return [*out, k.p(t("germline.withheld", consent=t(f"consent.{gl.consent}")))]
    header = [t("germline.hgvs"), t("germline.classification"), t("germline.zygosity"), t("germline.evidence")]
    widths = [58, 30, 27, 65]
    shown = [g for g in gl.findings if g.reporting and g.reporting.shown]
    plp = [g for g in shown if g.reporting and g.reporting.reason == "reported_class"]
    vus = [g for g in shown if g.reporting and g.reporting.reason == "uncertain_significance"]
    if plp:
        out.append(k.table(header, _germline_rows(k, plp), widths))
        out.append(Spacer(1, 1.5 * mm))
        origin = t("germline.confirmed") if gl.origin_confirmed else t("germline.tumour_only")
        out.append(k.boxed([k.p(origin, bold=not gl.origin_confirmed), k.p(t("germline.counselling"))], WARN_BG, GRID))
    else:  # with a copy-number section the statement covers sequence variants only
        out.append(k.p(t("cnv.germline_none_small" if result.copy_number else "germline.none")))
    out.append(Spacer(1, 2 * mm))
    out.append(k.p(t("sections.germline_vus"), k.body, bold=True))
    if vus:
        out += [k.table(header, _germline_rows(k, vus), widths), k.p(t("germline.vus_note"), k.small)]
    else:
        out.append(k.p(t("germline.none_vus")))
    return out


# ---------------------------------------------------------------- copy number (oncopanel.cnv, result.copy_number)
# The engine's reasons (oncopanel.cnv.model / amplification) by their opening words -> cnv.reasons.<key>
CNV_REASONS = (
    ("exon not captured", "not_captured"), ("pseudogene", "pseudogene"), ("coverage too low", "low_coverage"),
    ("coverage variable", "variable_coverage"), ("coverage too uneven", "uneven"),
    ("too few references", "too_few_references"), ("references poorly correlated", "poorly_correlated"),
    ("equivocal", "equivocal"), ("count cannot exclude", "cannot_exclude"), ("no coverage to count", "no_reads"),
    ("not on the sample's panel", "not_on_panel"), ("too few exons of other loci", "too_few_loci"),
)  # fmt: skip


def cnv_reason_text(reason: str, t: Text) -> str:
    """The reason in the report's language; English reports keep the engine's numbers."""
    bare = reason.split(": ", 1)[1] if reason.startswith(("EGFR amplification not assessable", "tumour sample")) \
        else reason  # fmt: skip
    key = next((k for opening, k in CNV_REASONS if opening in bare), "")
    if not key:
        return reason
    return bare if t("language") == "en" else t(f"cnv.reasons.{key}")


def exon_numbers(numbers: list[int]) -> str:
    """[1, 2, 5, 6, 7] -> "1–2, 5–7"."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)


def exon_span_text(first: int, last: int, legacy_first: int, legacy_last: int, t: Text) -> str:
    span = t("cnv.span_one", first=first) if first == last else t("cnv.span_many", first=first, last=last)
    if (legacy_first, legacy_last) != (first, last):
        legacy = str(legacy_first) if first == last else f"{legacy_first}–{legacy_last}"
        span += t("cnv.legacy", legacy=legacy)
    return span


def cnv_event_words(e: CnvEvent, t: Text) -> str:
    span = exon_span_text(e.first_exon, e.last_exon, e.legacy_first_exon, e.legacy_last_exon, t)
    return t("cnv.event_words", kind=t(f"cnv.kinds.{e.kind}"), gene=e.gene, span=span)


def cnv_confirm_text(e: CnvEvent, t: Text) -> str:
    """ "confirm by MLPA (orthogonal method) before reporting" (the call's words) -> the report's sentence."""
    return t("cnv.confirm", method=e.confirmation.removeprefix("confirm by ").split(" (")[0])


def cnv_class_text(classification: str, t: Text) -> str:
    if classification.startswith("PVS1 ("):
        strength = classification[len("PVS1 (") :].split(")")[0].replace(" ", "_")
        return t("cnv.class_pvs1", strength=t.get(f"cnv.strengths.{strength}", strength))
    if classification.startswith("VUS"):
        return t("cnv.class_vus")
    return classification


def amplification_text(a: GeneAmplification, t: Text) -> str:
    if a.status == "not_assessable":
        return t("cnv.amplification.not_assessable", gene=a.gene, reason=cnv_reason_text(a.text, t))
    ratio = f"{a.ratio:.2f}" if a.ratio is not None else "—"
    if a.copy_number is not None and a.tumour_content:
        measure = t("cnv.amplification.measure_cn", ratio=ratio, cn=f"{a.copy_number:.1f}", tc=pct(a.tumour_content, 0))
    else:
        measure = t("cnv.amplification.measure_no_cn", ratio=ratio)
    if a.status != "amplified":
        return t("cnv.amplification.not_amplified", gene=a.gene, measure=measure)
    extent = t(f"cnv.amplification.{a.extent.replace(' ', '_')}") if a.extent else ""
    return t("cnv.amplification.amplified", gene=a.gene, measure=measure, extent=extent)


def copy_number_section(k: Kit, result: SampleResult) -> list:
    """Called events (HGVS-style name, exons in words with legacy numbers, copy number, quality, confirmation),
    the exons not assessable with the reason, and a tumour's amplification. Never "no deletion" for an exon that
    was not assessed."""
    cn, t = result.copy_number, k.t
    if cn is None or (cn.reporting is not None and not cn.reporting.shown):
        return []
    out = k.section_head("", title=t("cnv.title_germline" if result.sample.germline_specimen else "cnv.title"))
    if cn.status == "not_tested":
        out.append(k.p(t("cnv.tumour_not_tested")))
    elif cn.status == "not_assessable":
        out.append(k.p(t("cnv.not_assessable_sample", reason=cnv_reason_text(cn.reason, t)), bold=True,
                       color="#8A5A00"))  # fmt: skip
    else:
        version = t("cnv.this_batch") if cn.reference_version in ("", "this batch") else cn.reference_version
        out.append(k.p(t("cnv.germline_intro", references=cn.references, version=version)))
        shown = [e for e in cn.events if e.reporting is None or e.reporting.shown]
        if shown:
            rows = []
            for e in shown:
                event = [k.p(e.name, k.code, bold=True), k.p(cnv_event_words(e, t), k.cell)]
                rows.append([event, f"{e.copy_number} ({e.ratio:.2f})", f"{e.quality:.0f}",
                             [k.p(cnv_class_text(e.classification, t), k.cell),
                              k.p(cnv_confirm_text(e, t), k.cell, bold=True)]])  # fmt: skip
            header = [t("cnv.event"), t("cnv.copy_number"), t("cnv.quality"), t("cnv.classification")]
            out.append(k.table(header, rows, [78, 22, 16, 64]))
            out.append(k.p(t("cnv.quality_note"), k.small))
        else:
            out.append(k.p(t("cnv.none_called", n=cn.exons_assessed)))
        out += duplication_scope(k, cn)
    if cn.not_assessable and cn.status != "not_tested":
        out.append(Spacer(1, 1.5 * mm))
        out.append(k.p(t("cnv.not_assessable_head"), k.body, bold=True))
        rows = []
        for u in cn.not_assessable:
            exons = exon_numbers(u.exons)
            if u.legacy_exons != u.exons:
                exons += t("cnv.legacy", legacy=exon_numbers(u.legacy_exons))
            rows.append([u.gene, exons, cnv_reason_text(u.reason, t)])
        out.append(k.table([t("cnv.gene"), t("cnv.exons"), t("cnv.reason")], rows, [18, 50, 112]))
    if cn.amplification is not None:
        out.append(Spacer(1, 1.5 * mm))
        a = cn.amplification
        color = {"amplified": "#B00020", "not_assessable": "#8A5A00"}.get(a.status)
        out.append(k.p(amplification_text(a, t), bold=a.status != "not_amplified", color=color))
    return out


def duplication_scope(k: Kit, cn: CopyNumber) -> list:
    """What "normal" excludes: a deletion always; a duplication except at the exons listed (results from before
    the list was carried say nothing more than the none_called text)."""
    if cn.duplication_not_excluded is None:
        return []
    t = k.t
    if not cn.duplication_not_excluded:
        return [k.p(t("cnv.duplication_excluded"), k.small)]
    parts = []
    for g in cn.duplication_not_excluded:
        exons = exon_numbers(g.exons)
        if g.legacy_exons != g.exons:
            exons += t("cnv.legacy", legacy=exon_numbers(g.legacy_exons))
        parts.append(f"{g.gene} {exons}")
    return [k.p(t("cnv.duplication_not_excluded", exons="; ".join(parts)), k.small)]


def cnv_summary_rows(k: Kit, result: SampleResult) -> list[list[Any]]:
    """Summary rows of called events and of an amplification (with its summarised therapies)."""
    cn, t = result.copy_number, k.t
    if cn is None:
        return []
    rows = []
    for e in cn.events:
        if e.reporting and e.reporting.in_summary:
            what = t("cnv.summary_finding", name=e.name, words=cnv_event_words(e, t))
            options = [k.p(f"{regimen_text(th, t)} — {therapy_strength(th, t)}", k.cell)
                       for th in result.summary_therapies(e.id)]  # fmt: skip
            rows.append([k.p(what, k.code, bold=True), cnv_class_text(e.classification, t),
                         [*options, k.p(cnv_confirm_text(e, t), k.cell)]])  # fmt: skip
    a = cn.amplification
    if a is not None and a.status == "amplified" and a.reporting and a.reporting.in_summary:
        lines = [k.p(f"{regimen_text(th, t)} — {therapy_strength(th, t)}", k.cell)
                 for th in result.summary_therapies(a.id)]  # fmt: skip
        what = t("cnv.summary_amplification", gene=a.gene, ratio=f"{a.ratio:.2f}")
        rows.append([k.p(what, k.code, bold=True), "", lines or t("summary.no_therapy")])
    return rows


def cnv_summary_notes(k: Kit, result: SampleResult) -> list:
    cn, t = result.copy_number, k.t
    if cn is None:
        return []
    notes = []
    if cn.reporting and cn.reporting.in_summary:
        notes.append(k.p(t("cnv.summary_not_assessable"), color="#8A5A00"))
    a = cn.amplification
    if a is not None and a.status == "not_assessable":
        notes.append(k.p(t("cnv.summary_amp_not_assessable", gene=a.gene), color="#8A5A00"))
    return notes


def cnv_not_tested(result: SampleResult, t: Text) -> list[str]:
    """The "not tested" lines on copy number: by the sample's copy-number section (none before it existed)."""
    cn = result.copy_number
    if cn is None:
        return list(t.raw("cnv.not_tested.without_copy_number"))
    return list(t.raw("cnv.not_tested.tumour" if cn.status == "not_tested" else "cnv.not_tested.germline"))


def therapy_section(k: Kit, result: SampleResult) -> list:
    t = k.t
    out = k.section_head("therapies")
    if not result.therapies:
        out.append(k.p(t("therapy.none")))
        if _reporting(result).germline_section == "withheld" and result.germline.consent != "yes":
            out.append(k.p(t("summary.germline_no_consent")))
    else:
        rows, extra = [], []
        shown = [th for th in result.therapies if th.reporting and th.reporting.shown]
        for i, th in enumerate(shown, start=1):
            first, *rest = regimen_lines(th, t)
            regimen = [k.p(first, k.cell, bold=True), *[k.p(x, k.small) for x in rest]]
            regimen += [k.p(x, k.small, color="#B00020" if th.status == "demoted" else None)
                        for x in matching_notes(th, t)]
            if th.status == "demoted":
                extra.append(("BACKGROUND", (0, i), (-1, i), WARN_BG))
            if th.resistance:
                regimen.append(k.p(t("therapy.resistance"), k.cell, color="#B00020"))
                extra.append(("BACKGROUND", (0, i), (-1, i), ALERT_BG))
            biomarker = biomarker_cell(th, t)
            rows.append(
                [
                    regimen,
                    k.p(biomarker, k.cell),
                    level_text(th.level, t),
                    [k.p(x, k.cell) for x in approval_parts(th.approval, t)],
                    [k.p(x, k.cell) for x in formulary_parts(th.formulary, t)],
                    k.p(citations_text(th.evidence, t), k.cell),
                ]
            )
        cols = ("regimen", "biomarker", "level", "approval", "formulary", "citations")
        out.append(k.table([t(f"therapy.{c}") for c in cols], rows, [28, 25, 17, 34, 34, 42], extra))
        hidden = sum(1 for th in result.therapies if th.reporting and th.reporting.reason == "below_shown_levels")
        if hidden:
            out.append(k.p(t("therapy.lower_levels", n=hidden), k.small))
    kb = result.provenance.knowledge_base["version"] or "—"
    out.append(k.p(t("therapy.kb_note", kb_version=kb), k.small))
    return out


def negatives_section(k: Kit, result: SampleResult) -> list:
    t, s = k.t, result.sample
    out = k.section_head("negatives")
    specimen = t.get(f"specimen_types.{s.specimen_type}", s.specimen_type)
    if s.germline_specimen:
        expected = t("negatives.germline_specimen")
    elif s.tumour_content is None:
        expected = t("negatives.expected_unknown")
    else:
        expected = t("negatives.expected_vaf", vaf=pct(s.tumour_content / 200))
    out.append(
        k.p(
            t(
                "negatives.context",
                specimen=specimen,
                tumour_content=tumour_content_text(s.tumour_content, t),
                expected=expected,
            )
        )
    )
    stated = result.assay.stated_lod
    if stated is not None:
        out.append(k.p(t("negatives.stated_lod", lod=pct(stated))))
    hotspots = [h for h in result.hotspots if h.reporting and h.reporting.shown]
    if not hotspots:
        out.append(k.p(t("negatives.none")))
    else:
        rows, extra = [], []
        plasma = result.plasma or {}
        reads = {d["hotspot_id"]: d["read_pairs"] for d in (plasma.get("consensus") or {}).get("hotspot_depths", [])}
        for i, h in enumerate(hotspots, start=1):
            status = t(f"negatives.{h.status}")
            if plasma and h.status == "not_detected":  # plasma: never a negative
                status = t("plasma.hotspot_not_detected")
            if h.status == "detected":
                status_cell = k.p(status, k.cell, bold=True, color="#B00020")
            elif h.status == "not_assessable":
                status_cell = k.p(status, k.cell, bold=True, color="#8A5A00")
                extra.append(("BACKGROUND", (0, i), (-1, i), WARN_BG))
            else:
                status_cell = k.p(status, k.cell)
            depth = f"{h.depth}×"
            if h.hotspot_id in reads:  # plasma with UMIs: molecules and the read pairs behind them
                depth = k.p(t("plasma.depth_cell", families=h.depth, read_pairs=f"{reads[h.hotspot_id]:,}"), k.cell)
            rows.append([h.gene, k.p(h.label, k.code), status_cell, depth, hotspot_detail(h, stated, t)])
        cols = ("gene", "hotspot", "status", "depth", "detail")
        out.append(k.table([t(f"negatives.{c}") for c in cols], rows, [18, 44, 26, 16, 76], extra))
    out.append(Spacer(1, 3 * mm))
    out += coverage_block(k, result)
    out += not_tested_block(k, result)
    return out


def coverage_block(k: Kit, result: SampleResult) -> list:
    t, qc = k.t, result.qc
    out = [k.p(t("sections.coverage"), k.section, bold=True)]
    genes = qc.genes
    if not genes:
        return [*out, k.p(t("coverage.none"))]
    levels = sorted(
        {int(key[len("fraction_ge_") : -1]) for c in genes.values() for key in c if key.startswith("fraction_ge_")}
    )
    low = set(_reporting(result).low_coverage_genes)
    header = [
        t("coverage.gene"),
        t("coverage.mean_depth"),
        *[t("coverage.fraction", threshold=lv) for lv in levels],
        t("coverage.flag"),
    ]
    rows, extra = [], []
    for i, (gene, c) in enumerate(sorted(genes.items()), start=1):
        rows.append(
            [
                gene,
                f"{c['mean_depth']:.0f}×",
                *[pct(c.get(f"fraction_ge_{lv}x")) for lv in levels],
                t("coverage.low") if gene in low else "",
            ]
        )
        if gene in low:
            extra.append(("BACKGROUND", (0, i), (-1, i), WARN_BG))
    widths = [24, 24, *[28] * len(levels), 40]
    return [*out, k.table(header, rows, widths, extra)]


def not_tested_block(k: Kit, result: SampleResult) -> list:
    t = k.t
    items = [k.p(t("not_tested.intro"), k.body)]
    listed = list(t.raw("not_tested.items"))
    listed[2:2] = cnv_not_tested(result, t)
    items += [k.p(f"• {item}", k.body) for item in listed]
    tested = set(result.assay.genes_tested)
    all_genes = set(result.qc.genes) | tested
    missing = sorted(all_genes - tested)
    if missing:
        items.append(k.p(t("not_tested.genes_not_on_panels", genes=", ".join(missing))))
    return [
        Spacer(1, 3 * mm),
        KeepTogether([k.p(t("sections.not_tested"), k.section, bold=True), k.boxed(items, colors.white, ACCENT)]),
    ]


def qc_section(k: Kit, result: SampleResult) -> list:
    t, qc = k.t, result.qc
    out = k.section_head("qc")
    status = t("qc.pass") if qc.status == "pass" else t("qc.fail")
    out.append(
        k.p(
            f"{t('qc.status')}{t('punct.colon')}{status}",
            bold=True,
            color=None if qc.status == "pass" else "#B00020",
        )
    )
    rows, extra = [], []
    for i, g in enumerate(qc.gates, start=1):
        rows.append(
            [
                t.get(f"qc.metrics.{g.metric}", g.metric),
                "—" if g.value is None else f"{g.value:.4g}",
                f"{g.op.replace('>=', '≥').replace('<=', '≤')} {g.threshold:g}",
                t("qc.pass") if g.passed else t("qc.fail"),
            ]
        )
        if not g.passed:
            extra.append(("BACKGROUND", (0, i), (-1, i), ALERT_BG))
    if rows:
        out.append(
            k.table([t("qc.metric"), t("qc.value"), t("qc.requirement"), t("qc.result")], rows, [70, 35, 45, 30], extra)
        )
    return out


def failure_section(k: Kit, result: SampleResult) -> list:
    """No clinical result: the kind's banner and next step (reports/failure_kinds.yaml). The specimen's own failed
    gates are listed for a new specimen or a re-test; technical detail (steps, errors) stays in the lab's logs."""
    t, f = k.t, result.failure
    assert f is not None  # a failed result carries its failure (schema)
    kind = f.kind or ("held" if f.stage == "held" else "new_specimen")  # results of schema 1.0 before kinds
    out = [
        Spacer(1, 4 * mm),
        k.boxed(
            [
                k.p(t(f"failure.kinds.{kind}.banner"), k.banner, bold=True),
                Spacer(1, 2 * mm),
                k.p(t("failure.not_negative"), bold=True),
            ],
            ALERT_BG,
            ALERT,
        ),
    ]
    out += k.section_head("failure")
    out.append(k.p(t("failure.stage", stage=t.get(f"failure.stages.{f.stage}", f.stage))))
    if kind in ("new_specimen", "retest"):
        reasons = [gate_text(g, t) for g in f.gates_failed] or f.reasons
        out += [k.p(f"• {r}") for r in reasons]
    out.append(Spacer(1, 2 * mm))
    date = f.next_report_date or t("failure.no_date")
    out.append(k.p(t(f"failure.kinds.{kind}.next_step", date=date), bold=True))
    return out


def methods_section(k: Kit, result: SampleResult) -> list:
    reference = result.assay.reference or result.provenance.reference["name"] or "GRCh38"
    out = k.section_head("methods")
    return out + [k.p(p.format(reference=reference)) for p in k.t.raw("methods.paragraphs")]


def versions_section(k: Kit, result: SampleResult, sha: str) -> list:
    t, pv = k.t, result.provenance
    out = k.section_head("versions")
    ref = pv.reference
    kb = pv.knowledge_base
    pairs = [
        (t("versions.pipeline"), f"oncopanel {pv.pipeline_version}"),
        (t("versions.reference"), " ".join(x for x in (ref["name"], ref["checksum"]) if x) or "—"),
        (t("versions.knowledge_base"), " ".join(x for x in (kb["version"], kb["checksum"]) if x) or "—"),
        (t("versions.annotation"), pv.annotation["version"] or "—"),
    ]
    out.append(k.kv_table(pairs, columns=1))
    if pv.tools:
        tools = ", ".join(f"{name} {ver}" for name, ver in pv.tools.items())
        out.append(k.kv_table([(t("versions.tools"), tools)], columns=1))
    if pv.inputs:
        inputs = [k.p(f"{name}  {digest}", k.code) for name, digest in pv.inputs.items()]
        out.append(k.kv_table([(t("versions.inputs"), "")], columns=1))
        out += inputs
    if pv.audit_head_sha256:  # a released version: its anchor in the batch's audit chain
        out.append(k.kv_table([(t("versions.release"), t("versions.release_value", version=pv.report_version,
                                                          entry=pv.audit_entry_index))], columns=1))  # fmt: skip
        out.append(k.p(pv.audit_head_sha256, k.code))
    out.append(Spacer(1, 2 * mm))
    out.append(k.p(t("labels.result_sha256"), k.small, bold=True))
    out.append(k.p(sha, k.code))
    return out


def _reporting(result: SampleResult) -> Reporting:
    if result.reporting is None:  # render_pdf decides a schema-1.0 result before laying it out
        raise ValueError(f"{result.report_id}: result carries no reporting decisions")
    return result.reporting


def signoff_section(k: Kit, result: SampleResult | None = None) -> list:
    """Who reviewed and signed, when, what the review removed and its interpretation (the result's ``signoff``,
    written by oncopanel serve); a draft without one keeps blank lines and says it is a draft."""
    t = k.t
    line = "_" * 28
    signoff = (result.extra.get("signoff") if result is not None else None) or {}
    if signoff:
        rows = [
            [k.p(t("signoff.performed"), k.cell), k.p(signoff["reviewed_by"], k.cell), k.p(t("signoff.date"), k.cell),
             k.p(signoff["reviewed_at"][:16].replace("T", " ") + " UTC", k.cell)],
            [k.p(t("signoff.reviewed"), k.cell), k.p(signoff["signed_by"], k.cell), k.p(t("signoff.date"), k.cell),
             k.p(signoff["signed_at"][:16].replace("T", " ") + " UTC", k.cell)],
        ]  # fmt: skip
    else:
        rows = [
            [k.p(t("signoff.performed"), k.cell), line, k.p(t("signoff.date"), k.cell), "_" * 14],
            [k.p(t("signoff.reviewed"), k.cell), line, k.p(t("signoff.date"), k.cell), "_" * 14],
        ]
    tbl = Table(
        rows, colWidths=[0.22 * FRAME_W, 0.40 * FRAME_W, 0.12 * FRAME_W, 0.26 * FRAME_W], rowHeights=[12 * mm] * 2
    )
    tbl.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("FONTNAME", (0, 0), (-1, -1), k.f.regular)]))
    notes = []
    rejected = [d for d in signoff.get("decisions", []) if d["decision"] == "rejected"]
    if rejected:
        notes.append(k.p(t("signoff.rejected"), k.small, bold=True))
        notes += [k.p(f"{d['finding']}: {d['reason']}", k.small) for d in rejected]
    notes += [k.p(f"{t('signoff.comments')} {c['text']}", k.small) for c in signoff.get("comments", [])]
    if signoff.get("turnaround_days") is not None:
        notes.append(k.p(t("signoff.turnaround", days=signoff["turnaround_days"]), k.small))
    note = t("signoff.note") if signoff else f"{t('signoff.draft_note')} {t('signoff.note')}"
    return [KeepTogether([*k.section_head("signoff"), tbl, Spacer(1, 2 * mm), *notes, k.p(note, k.small)])]


# ---------------------------------------------------------------- page furniture and document
def numbered_canvas(font: str, left: str, page_label: Callable[[int, int], str], mark: str = "") -> type:
    """A canvas that writes 'page x of y', the report id and the result checksum on every page (two passes), and
    ``mark`` (a draft's "DRAFT — not signed") at the top of every page."""

    class NumberedCanvas(rl_canvas.Canvas):
        def __init__(self, *args: Any, **kwargs: Any):
            kwargs["initialFontName"] = kwargs.get("initialFontName") or font  # no unembedded Helvetica
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setStrokeColor(GRID)
                self.setLineWidth(0.5)
                self.line(MARGIN, 12 * mm, PAGE_W - MARGIN, 12 * mm)
                self.setFont(font, 7)
                self.setFillColor(colors.HexColor("#333333"))
                self.drawString(MARGIN, 8 * mm, left)
                self.drawRightString(PAGE_W - MARGIN, 8 * mm, page_label(number, total))
                if mark:
                    self.setFont(font, 9)
                    self.setFillColor(ALERT)
                    self.drawCentredString(PAGE_W / 2, PAGE_H - 8 * mm, mark)
                super().showPage()
            super().save()

    return NumberedCanvas


def story(
    result: SampleResult, language: str, identity: Mapping | None, centre: Mapping | None, amends: str | None, sha: str
) -> list:
    k = Kit(language)
    flow = header(k, result, identity, centre, language) + amendment_block(k, result, amends)
    if result.failed:
        flow += failure_section(k, result) + qc_section(k, result) + not_tested_block(k, result)
    else:
        flow += summary(k, result) + somatic_section(k, result) + germline_section(k, result)
        flow += copy_number_section(k, result)
        flow += therapy_section(k, result) + negatives_section(k, result) + qc_section(k, result)
    return flow + methods_section(k, result) + versions_section(k, result, sha) + signoff_section(k, result)


def render_pdf(
    result: SampleResult | Mapping,
    out_pdf: str | Path,
    language: str = "en",
    identity: dict | None = None,
    centre: dict | None = None,
    amends: str | None = None,
) -> Path:
    """Render one result (the model, or its JSON dict) to a PDF; identity (protected manifest record) is printed
    only when given. The checksum printed and put in the metadata is the document's as given: a schema-1.0 result
    is decided for the layout only."""
    document = result.to_dict() if isinstance(result, SampleResult) else result
    if identity is not None:
        check_identity(identity, document)
    t = load_text(language)
    fonts = fonts_for(language)
    sha = result_sha256(document)
    result = decided(as_result(result))
    out_pdf = Path(out_pdf)
    colon = t("punct.colon")
    left = (
        f"{t('labels.report_id')}{colon}{result.report_id}   {t('labels.patient')}{colon}"
        f"{result.sample.patient}   {t('labels.result_sha256_short')}{colon}{sha[:16]}"
    )
    doc = SimpleDocTemplate(
        str(out_pdf),
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=18 * mm,
        title=f"{t('title')} {result.report_id}",
        author="oncopanel",
        subject=result.report_id,
        keywords=f"{RESULT_SHA_KEYWORD}{sha}",  # `oncopanel verify` reads it back
        creator="oncopanel",
        producer="oncopanel",
        invariant=1,
    )
    doc.build(
        story(result, language, identity, centre, amends, sha),
        canvasmaker=numbered_canvas(fonts.regular, left, lambda n, total: t("labels.page", page=n, pages=total),
                                    mark="" if result.extra.get("signoff") else t("signoff.draft")),
    )
    return out_pdf
