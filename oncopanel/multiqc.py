"""oncopanel's own QC as MultiQC custom content: `*_mqc.tsv` files MultiQC picks up beside fastp and samtools, so
the batch's MultiQC report (and its `multiqc_data/`, which lab scripts parse) carries what decides a report: the QC
gates per sample, the cumulative coverage of the targets (a line graph), per-gene coverage at the gate's depth,
hotspot assessability, sample identity and contamination, demultiplexing, and the run controls. Copy number has its
own table (oncopanel.cnv.batch).

Every value comes from the workflow's own files (QC JSON, coverage depth distributions, hotspot tables, batch
identity JSON, demultiplexing report); nothing is recomputed here. Section ids start with `oncopanel_` (MultiQC saves
each table as `multiqc_data/multiqc_oncopanel_<section>_table.txt`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from oncopanel.coverage import fraction_at_or_above, read_distribution
from oncopanel.hotspots import read_hotspot_table

SECTIONS = ("gates", "coverage", "gene_coverage", "hotspots", "identity", "demultiplexing", "run_controls")
MISSING = "."  # a value the sample has no data for (e.g. failed its input check): never shown as 0


def _cell(value: object) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("\t", " ").replace("\n", " ") or MISSING


@dataclass(frozen=True)
class Table:
    """One MultiQC custom-content table: a section with rows keyed by sample (or run)."""

    section: str  # one of SECTIONS: the file is oncopanel_<section>_mqc.tsv, the MultiQC id oncopanel_<section>
    name: str
    description: str
    columns: list[str]
    rows: list[list[object]]  # first cell: the row's sample (or run) name

    def text(self) -> str:
        quote = lambda s: "'" + s.replace("'", "''") + "'"  # noqa: E731 (YAML single-quoted scalar)
        lines = [
            f"# id: 'oncopanel_{self.section}'",
            f"# section_name: {quote(self.name)}",
            f"# description: {quote(self.description)}",
            "# plot_type: 'table'",
            "# pconfig:",
            f"#     id: 'oncopanel_{self.section}_table'",
            f"#     namespace: {quote('oncopanel')}",
            "\t".join(self.columns),
            *("\t".join(_cell(v) for v in row) for row in self.rows),
        ]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        """The table as a self-contained HTML page (no scripts, no external resources)."""
        cells = lambda row, tag: "".join(f"<{tag}>{escape(_cell(v))}</{tag}>" for v in row)  # noqa: E731
        body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in self.rows)
        return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(self.name)}</title>"
                "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
                "td,th{border:1px solid #999;padding:2px 6px;text-align:right}</style></head><body>"
                f"<h1>{escape(self.name)}</h1><p>{escape(self.description)}</p>"
                f"<table><tr>{cells(self.columns, 'th')}</tr>{body}</table></body></html>\n")  # fmt: skip


def _gate_label(gate: Mapping) -> str:
    return f"{gate['metric']} {gate['op']} {gate['threshold']:g}"


def gates_table(qc: Mapping[str, Mapping]) -> Table:
    """Per sample: its QC status, each gate's value (column named by the gate) and the failed gates."""
    labels: list[str] = []
    for doc in qc.values():
        for gate in doc.get("gates", []):
            if _gate_label(gate) not in labels:
                labels.append(_gate_label(gate))
    rows = []
    for sample, doc in sorted(qc.items()):
        values = {_gate_label(g): g["value"] for g in doc.get("gates", [])}
        failed = [_gate_label(g) for g in doc.get("gates", []) if not g["pass"]]
        reasons = "; ".join(doc.get("reasons", []))
        rows.append([sample, doc["status"], doc.get("failure_stage") or MISSING,
                     *(values.get(label) for label in labels), ", ".join(failed) or MISSING, reasons])  # fmt: skip
    return Table(
        "gates", "oncopanel QC gates",
        "Each sample's pass/fail QC gates (config qc.gates) with the measured values, from its QC JSON "
        "(qc/<sample>.qc.json). A sample that failed its input check has no values; failed samples get a "
        "'test failed' report, never a negative result.",
        ["Sample", "Status", "Failure stage", *labels, "Failed gates", "Reasons"], rows,
    )  # fmt: skip


def _gate_depth(qc: Mapping[str, Mapping]) -> int | None:
    """The depth the coverage gate asks for (fraction_target_bases_ge_<N>x), else the smallest threshold."""
    levels = set()
    for doc in qc.values():
        for gate in doc.get("gates", []):
            metric = gate["metric"]
            if metric.startswith("fraction_target_bases_ge_") and metric.endswith("x"):
                return int(metric.removeprefix("fraction_target_bases_ge_").removesuffix("x"))
        for gene in doc.get("genes", {}).values():
            levels |= {int(k.removeprefix("fraction_ge_").removesuffix("x"))
                       for k in gene if k.startswith("fraction_ge_")}  # fmt: skip
    return min(levels) if levels else None


def gene_coverage_table(qc: Mapping[str, Mapping]) -> Table:
    """Per sample and gene of its panels: mean depth and the fraction of target bases at the gate's depth."""
    level = _gate_depth(qc)
    genes = sorted({g for doc in qc.values() for g in doc.get("genes", {})})
    columns = ["Sample"]
    for gene in genes:
        columns += [f"{gene} mean depth"] + ([f"{gene} fraction >= {level}x"] if level else [])
    rows = []
    for sample, doc in sorted(qc.items()):
        row: list[object] = [sample]
        for gene in genes:
            cov = doc.get("genes", {}).get(gene)
            row.append(cov["mean_depth"] if cov else None)
            if level:
                row.append(cov.get(f"fraction_ge_{level}x") if cov else None)
        rows.append(row)
    return Table(
        "gene_coverage", "oncopanel per-gene coverage",
        f"Length-weighted mean depth over each gene's targets and the fraction of target bases at >= {level}x "
        "(the coverage step: MAPQ and duplicate filtered; qc/<sample>.qc.json genes). '.' = gene not on the sample's "
        "panels or no reads.",
        columns, rows,
    )  # fmt: skip


def hotspot_table(hotspot_tables: Iterable[Path], panel_genes: Mapping[str, Iterable[str]] | None = None) -> Table:
    """Per sample: hotspots detected, not detected and not assessable (with which and why), and their depths.

    `panel_genes`: each sample's genes (its QC JSON's genes, i.e. its panels' targets); the engine also lists the
    hotspots of genes the sample was not tested for, as not assessable at depth 0, which are left out here."""
    rows = []
    for path in sorted(hotspot_tables):
        for sample, all_results in sorted(read_hotspot_table(path).items()):
            genes = set((panel_genes or {}).get(sample) or ())
            results = [r for r in all_results if not genes or r.gene in genes]
            by_status = {s: [r for r in results if r.status == s]
                         for s in ("detected", "not_detected", "not_assessable")}  # fmt: skip
            depths = sorted(r.depth for r in results)
            unassessed = ", ".join(f"{r.gene} {r.label} ({r.cause or 'depth'})" for r in by_status["not_assessable"])
            rows.append([sample, len(results), len(by_status["detected"]), len(by_status["not_detected"]),
                         len(by_status["not_assessable"]), depths[0] if depths else None,
                         depths[len(depths) // 2] if depths else None, unassessed or MISSING])  # fmt: skip
    return Table(
        "hotspots", "oncopanel hotspot coverage",
        "Actionable hotspots of the genes on each sample's panels (hotspots/<sample>.hotspots.tsv): a hotspot is "
        "'not detected' only where the depth could show it at the stated limit of detection; otherwise it is not "
        "assessable, with the cause.",
        ["Sample", "Hotspots", "Detected", "Not detected", "Not assessable", "Min depth", "Median depth",
         "Not assessable (cause)"], rows,
    )  # fmt: skip


def identity_table(batch_identity: Mapping[str, Mapping]) -> Table:
    """Per sample with identity genotypes: contamination estimate and verdict, identity flags, held or not."""
    rows = []
    for batch, doc in sorted(batch_identity.items()):
        held = set(doc.get("held_samples", []))
        flags = doc.get("identity", {}).get("flags", [])
        for sample, est in sorted((doc.get("contamination") or {}).items()):
            est = est or {}
            acceptable = est.get("acceptable")
            sample_flags = "; ".join(f for f in flags if sample in f)
            rows.append([sample, batch, est.get("fraction"), est.get("ci_high"),
                         {True: "yes", False: "no"}.get(acceptable, "not estimable"),
                         "yes" if est.get("gating") else "no", sample_flags or MISSING,
                         "held" if sample in held else
                         ("batch held" if doc.get("batch_held") else "released")])  # fmt: skip
    return Table(
        "identity", "oncopanel identity and contamination",
        "Identity SNP genotypes per sample (identity/<batch>.batch_identity.json): estimated contamination with "
        "its upper confidence bound, whether it is within the limit (gating for blood and plasma), tumour/blood "
        "concordance flags, and whether the sample's report is held for review.",
        ["Sample", "Batch", "Contamination", "Contamination upper CI", "Within limit", "Gating", "Identity flags",
         "Release"], rows,
    )  # fmt: skip


def run_controls_table(batch_identity: Mapping[str, Mapping]) -> Table:
    """Per run control: its kind, material, verdict and each criterion with what the run showed."""
    rows = []
    for batch, doc in sorted(batch_identity.items()):
        controls = doc.get("controls", {})
        for verdict in controls.get("run_controls", []):
            checks = "; ".join(f"{c['criterion']}: {c['observed']} (required {c['required']})"
                               for c in verdict["checks"])  # fmt: skip
            failed = "; ".join(c["reason"] for c in verdict["checks"] if not c["passed"])
            rows.append([verdict["sample_id"], batch, verdict["control"], verdict["material"] or MISSING,
                         verdict["verdict"], checks or MISSING, failed or MISSING,
                         "held" if controls.get("held") else "released"])  # fmt: skip
        for kind in controls.get("missing", []):
            rows.append([f"{batch} ({kind} missing)", batch, kind, MISSING, "missing", MISSING,
                         f"the batch has no {kind}", "held" if controls.get("held") else "released"])  # fmt: skip
    return Table(
        "run_controls", "oncopanel run controls",
        "Each run control judged on its own acceptance criteria (config controls.yaml): the no-template control's "
        "reads and calls, the positive reference material's expected variants. A failed or missing required "
        "control holds the whole batch.",
        ["Control", "Batch", "Kind", "Material", "Verdict", "Criteria (observed, required)", "Failed", "Batch release"],
        rows,
    )  # fmt: skip


def _share(n: int, total: int) -> float | None:
    return n / total if total else None


def demultiplexing_table(reports: Mapping[str, Mapping]) -> Table:
    """Per pooled run and sample: read pairs assigned, of which corrected, and the run's undetermined and hopped."""
    rows = []
    for run, rep in sorted(reports.items()):
        total = rep["read_pairs"]
        for sample, n in sorted(rep["assigned"].items()):
            rows.append([sample, run, n, rep.get("corrected", {}).get(sample, 0), _share(n, total)])
        hopped = sum(rep.get("hopped_pairs", {}).values())
        rows.append([f"{run} undetermined", run, rep["undetermined"], None, _share(rep["undetermined"], total)])
        rows.append([f"{run} index-hopped", run, hopped, None, _share(hopped, total)])
    return Table(
        "demultiplexing", "oncopanel demultiplexing",
        "Read pairs of each pooled run assigned to each sample (demux/<run>/demux_report.json), those with a "
        "corrected index mismatch, and the run's undetermined pairs, of which the index-hopped ones (an i7 of one "
        "sample with the i5 of another).",
        ["Sample", "Run", "Read pairs", "Corrected", "Fraction of run"], rows,
    )  # fmt: skip


COVERAGE_POINTS = 200  # depths plotted per sample at most: the curve's shape, in a file MultiQC reads quickly


def coverage_plot(distributions: Mapping[str, Path | str]) -> str:
    """MultiQC custom content (a line graph, one line per sample): the % of target bases at depth >= x, from each
    sample's ``coverage/{sample}.depth_distribution.tsv`` (oncopanel.coverage). x runs from 0 to the batch's
    deepest base in equal steps; each point is exact at its depth. Empty when no sample has a distribution.
    MultiQC 1.14 keeps the points in multiqc_data.json (report_saved_raw_data); its .txt export of a custom-content
    line graph leaves the cells empty (it looks float x values up by their text), this file has them."""
    dists = {sample: read_distribution(path) for sample, path in sorted(distributions.items())}
    if not dists:
        return ""
    deepest = max((max(d) for d in dists.values() if d), default=0)
    step = max(1, -(-deepest // COVERAGE_POINTS))  # ceiling division
    depths = list(range(0, deepest + step + 1, step))  # >= 2 points, so MultiQC reads a multi-sample line graph
    lines = [
        "# id: 'oncopanel_coverage'",
        "# section_name: 'oncopanel target coverage'",
        "# description: 'Cumulative coverage of each sample''s panel targets: the percentage of target bases at or "
        "above each depth (MAPQ and duplicate filters as the QC gates; coverage/<sample>.depth_distribution.tsv).'",
        "# plot_type: 'linegraph'",
        "# pconfig:",
        "#     id: 'oncopanel_coverage_plot'",
        "#     title: 'oncopanel: cumulative target coverage'",
        "#     xlab: 'Depth (reads)'",
        "#     ylab: '% of target bases >= depth'",
        "#     ymin: 0",
        "#     ymax: 100",
        "\t".join(["", *(str(x) for x in depths)]),
    ]
    for sample, dist in dists.items():
        fractions = fraction_at_or_above(dist, depths)
        lines.append("\t".join([sample, *(f"{100 * fractions[x]:.2f}" for x in depths)]))
    return "\n".join(lines) + "\n"


def write_custom_content(
    out_dir: Path | str,
    qc_jsons: Sequence[Path | str],
    hotspot_tables: Sequence[Path | str] = (),
    batch_identity_jsons: Sequence[Path | str] = (),
    demux_reports: Mapping[str, Path | str] | None = None,
    depth_distributions: Mapping[str, Path | str] | None = None,
) -> list[Path]:
    """Write the tables that have rows into `out_dir` as oncopanel_<section>_mqc.tsv, and the coverage plot when a
    sample has a depth distribution (``depth_distributions``: sample -> its file); returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    qc = {(doc := json.loads(Path(p).read_text()))["sample_id"]: doc for p in qc_jsons}
    identity = {(doc := json.loads(Path(p).read_text())).get("batch") or Path(p).name.split(".")[0]: doc
                for p in batch_identity_jsons}  # fmt: skip
    reports = {run: json.loads(Path(p).read_text()) for run, p in (demux_reports or {}).items()}
    tables = [
        gates_table(qc), gene_coverage_table(qc),
        hotspot_table((Path(p) for p in hotspot_tables), {sid: list(doc.get("genes", {})) for sid, doc in qc.items()}),
        identity_table(identity), demultiplexing_table(reports), run_controls_table(identity),
    ]  # fmt: skip
    written = []
    for table in tables:
        if table.rows:  # MultiQC shows no section for an empty table; a run without pooled runs has none
            path = out / f"oncopanel_{table.section}_mqc.tsv"
            path.write_text(table.text())
            written.append(path)
    plot = coverage_plot(depth_distributions or {})
    if plot:
        path = out / "oncopanel_coverage_mqc.tsv"
        path.write_text(plot)
        written.append(path)
    return written
