"""Knowledge-base benchmark: row counts by gene and source, label rows by agency and status (and how many are
unverified), the share of label indications the panel can test that the knowledge base carries (counted against
benchmarks/data/label_indications.tsv, written from the label texts, not from kb.tsv), CIViC placement (curated
crosswalk versus the shared phenOncoX DOID map alone), and matching time for a 96-sample batch.

Usage: .venv/bin/python benchmarks/knowledge.py [--out benchmarks/latest/knowledge.md] [--repeats 5]
       .venv/bin/python benchmarks/knowledge.py --quick   # CI: one timing run, results/benchmarks/quick/knowledge.md
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

from oncopanel.knowledge import KnowledgeBase, batch_table, load_formulary, match_therapies, sample_document
from oncopanel.knowledge.build import APPROVALS, KB_DIR, panel_genes, read_tsv
from oncopanel.knowledge.kb import ON_LABEL, tumour_match
from oncopanel.knowledge.oncotree import load_oncotree
from oncopanel.model import Annotation, Variant
from oncopanel.paths import ANNOTATION

COMMAND = "PYTHONHASHSEED=0 .venv/bin/python benchmarks/knowledge.py"
PHENONCOX_MAP = KB_DIR / "sources" / "oncotree" / "oncotree_doid_icd10_map.tsv"
INDICATIONS = Path(__file__).resolve().parent / "data" / "label_indications.tsv"
# the codons a wild-type label result needs assessed (the FDA panitumumab label's RAS definition)
WILD_TYPE_HOTSPOTS = {"RAS Wild Type": [f"{gene}_{codon}" for gene in ("KRAS", "NRAS")
                                        for codon in ("G12", "G13", "A59", "Q61", "K117", "A146")]}

# (gene, protein change, exon, consequence, tumour types it is typically seen in)
VARIANTS = [
    ("EGFR", "L858R", "21/28", "missense_variant", ["LUAD", "NSCLC"]),
    ("EGFR", "E746_A750del", "19/28", "inframe_deletion", ["LUAD"]),
    ("EGFR", "T790M", "20/28", "missense_variant", ["LUAD"]),
    ("EGFR", "C797S", "20/28", "missense_variant", ["LUAD"]),
    ("EGFR", "D770_N771insSVD", "20/28", "inframe_insertion", ["LUAD"]),
    ("KRAS", "G12C", "2/6", "missense_variant", ["LUAD", "COAD", "PAAD"]),
    ("KRAS", "G12D", "2/6", "missense_variant", ["COAD", "PAAD", "READ"]),
    ("KRAS", "G13D", "2/6", "missense_variant", ["COAD"]),
    ("NRAS", "Q61K", "3/7", "missense_variant", ["SKCM", "COAD"]),
    ("BRAF", "V600E", "15/18", "missense_variant", ["SKCM", "COAD", "THPA", "LUAD"]),
    ("PIK3CA", "H1047R", "21/21", "missense_variant", ["IDC", "COAD"]),
    ("PIK3CA", "E545K", "10/21", "missense_variant", ["IDC"]),
    ("TP53", "R273H", "8/11", "missense_variant", ["LUAD", "COAD", "HGSOC", "IDC"]),
    ("TP53", "R175H", "5/11", "missense_variant", ["HGSOC", "COAD"]),
    ("PTEN", "R130*", "5/9", "stop_gained", ["UCEC", "PRAD"]),
    ("BRCA1", "E23Vfs*17", "2/23", "frameshift_variant", ["HGSOC", "IDC"]),
    ("BRCA2", "S1982Rfs*22", "11/27", "frameshift_variant", ["PRAD", "HGSOC", "PAAD"]),
    ("BRCA2", "V2466A", "14/27", "missense_variant", ["IDC", "LUAD", "COAD"]),
    ("ALK", "F1174L", "23/29", "missense_variant", ["NBL"]),
    ("EGFR", "L858=", "21/28", "synonymous_variant", ["LUAD"]),
]


def synthetic_batch(samples: int = 100, seed: int = 7) -> list[tuple[str, str, list[Annotation]]]:
    """100 samples, each with a tumour type and 1-6 annotated variants drawn from VARIANTS."""
    rng = random.Random(seed)
    batch = []
    for i in range(samples):
        chosen = rng.sample(VARIANTS, rng.randint(1, 6))
        oncotree_code = rng.choice(chosen[0][4])
        annotations = [
            Annotation(Variant("chr1", 1000 + j, "A", "C"), gene, "NM_bench", (consequence,), "c.bench", "p.bench",
                       exon=exon, protein_change=change)
            for j, (gene, change, exon, consequence, _) in enumerate(chosen)
        ]
        batch.append((f"S{i + 1:03d}", oncotree_code, annotations))
    return batch


def run_batch(kb: KnowledgeBase, batch, formulary) -> tuple[pd.DataFrame, list[dict]]:
    results, documents = {}, []
    for sample_id, oncotree_code, sample_annotations in batch:
        therapies = match_therapies(sample_annotations, oncotree_code, kb, formulary)
        documents.append(sample_document(sample_id, oncotree_code, therapies, kb))
        results[sample_id] = (oncotree_code, therapies)
    return batch_table(results, kb), documents


def counts_by_gene_and_source(table: pd.DataFrame) -> pd.DataFrame:
    counts = table.pivot_table(index="gene", columns="source", values="row_id", aggfunc="count", fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts.loc["total"] = counts.sum()
    return counts.astype(int)


def phenoncox_placement(civic: pd.DataFrame) -> int:
    """CIViC rows a DOID lookup in the shared phenOncoX map alone would place on a 2025 OncoTree code."""
    tree = load_oncotree()
    mapping = read_tsv(PHENONCOX_MAP)
    placed = {d for d, c in zip(mapping["do_id"], mapping["ot_code"], strict=True) if d and tree.is_valid_code(c)}
    return int(civic["doid"].isin(placed).sum())


def label_counts(approvals: pd.DataFrame) -> pd.DataFrame:
    """Label indications (approvals.tsv rows) by agency and status, with how many are not verified here."""
    counts = approvals.pivot_table(index="agency", columns="status", values="approval_id", aggfunc="count",
                                   fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts["unverified"] = approvals[approvals["verified"] != "True"].groupby("agency").size()
    counts["biomarker-agnostic"] = approvals[approvals["biomarker_required"] == "False"].groupby("agency").size()
    counts = counts.fillna(0)
    counts.loc["total"] = counts.sum()
    return counts.astype(int)


def read_indications(path: Path = INDICATIONS) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", comment="#", dtype=str, keep_default_na=False)


def panel_can_test(indication: dict, genes: tuple[str, ...], hotspot_ids: set[str]) -> bool:
    if indication["kind"] == "variant":
        return indication["gene"] in genes
    if indication["kind"] == "wild_type":
        return set(WILD_TYPE_HOTSPOTS[indication["biomarker"]]) <= hotspot_ids
    return indication["kind"] == "tumour_type"


def label_row_found(kb: KnowledgeBase, indication: dict) -> bool:
    """Whether the knowledge base has an active, on-label row of this agency and drug for the indication."""
    agency, code = indication["agency"], indication["oncotree_code"]
    drugs = {d.strip().lower() for d in indication["regimen"].split(" + ")}
    if indication["kind"] == "tumour_type":
        return any(e.source == agency and set(e.drugs) == drugs for e in kb.approvals_regardless_of_biomarker(code))
    if indication["kind"] == "wild_type":
        lineage = (code, *kb.tree.ancestors(code))
        return any(row.evidence.source == agency and {d.lower() for d in row.evidence.drugs} == drugs
                   and row.evidence.status != "withdrawn"
                   and any(b.kind == "wild_type" and b.name == indication["biomarker"] for b in row.biomarkers)
                   and tumour_match(row, code, lineage) in ON_LABEL for row in kb.rows)
    gene = indication["gene"]
    annotation = Annotation(Variant("chr1", 1, "A", "C"), gene, "NM_bench", (indication["consequence"],),
                            "c.bench", "p.bench", exon=indication["exon"], protein_change=indication["biomarker"])
    germline_class = "pathogenic" if gene in ("BRCA1", "BRCA2") else None
    return any(e.source == agency and {d.lower() for d in e.drugs} == drugs and e.on_label and e.biomarker_required
               and e.direction == "Supports" and e.significance == "Sensitivity/Response"
               for e in kb.evidence_for(annotation, code, germline_class))


def label_coverage(kb: KnowledgeBase, indications: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """Per agency and kind: indications the panel can test, and how many of them have a label row."""
    genes = panel_genes()
    hotspot_ids = set(read_tsv(ANNOTATION / "hotspots.tsv")["hotspot_id"])
    lines, missing = [], []
    for indication in indications.to_dict("records"):
        testable = panel_can_test(indication, genes, hotspot_ids)
        found = testable and label_row_found(kb, indication)
        lines.append({"agency": indication["agency"], "kind": indication["kind"], "testable": testable,
                      "found": found})
        if testable and not found:
            missing.append(indication)
    frame = pd.DataFrame(lines)
    summary = frame.groupby(["agency", "kind"]).agg(listed=("testable", "size"), testable=("testable", "sum"),
                                                   with_label_row=("found", "sum"))
    return summary.astype(int), missing


def coverage_lines(summary: pd.DataFrame, missing: list[dict]) -> list[str]:
    rows = ["| agency | kind | indications listed | panel can test | with a label row | share |",
            "|---|---|---|---|---|---|"]
    for (agency, kind), row in summary.iterrows():
        share = f"{row.with_label_row / row.testable:.0%}" if row.testable else "-"
        rows.append(f"| {agency} | {kind} | {row.listed} | {row.testable} | {row.with_label_row} | {share} |")
    testable = summary[summary.index.get_level_values("kind") != "not_testable"].sum()
    for kind in ("variant", "wild_type", "tumour_type"):
        part = summary[summary.index.get_level_values("kind") == kind].sum()
        if part.testable:
            rows.append(f"| all | {kind} | {part.listed} | {part.testable} | {part.with_label_row} | "
                        f"{part.with_label_row / part.testable:.0%} |")
    rows.append(f"| **all** | testable | {testable.listed} | {testable.testable} | {testable.with_label_row} | "
                f"**{testable.with_label_row / testable.testable:.0%}** |")
    rows += ["", "Testable indications with no label row in the knowledge base:", ""]
    rows += [f"- {m['agency']} {m['regimen']}: {m['gene']} {m['biomarker']} in {m['oncotree_code']} ({m['citation']})"
             for m in missing]
    return rows


def markdown_table(frame: pd.DataFrame, index_name: str) -> str:
    columns = [index_name, *map(str, frame.columns)]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for index, row in frame.iterrows():
        lines.append("| " + " | ".join([str(index), *map(str, row.tolist())]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="default benchmarks/latest/knowledge.md (--quick: under results/)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="CI: one timing run, written under results/")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats = 1
    root = Path(__file__).resolve().parent.parent
    default = root / "results" / "benchmarks" / "quick" if args.quick else root / "benchmarks" / "latest"
    args.out = args.out or default / "knowledge.md"

    start = time.perf_counter()
    kb = KnowledgeBase.load()
    load_seconds = time.perf_counter() - start
    table = read_tsv(KB_DIR / "kb.tsv")
    approvals = read_tsv(APPROVALS)
    unverified = read_tsv(KB_DIR / "unverified_facts.tsv")
    coverage, missing = label_coverage(kb, read_indications())
    civic = table[table["source"] == "CIViC"]
    unplaced = civic[civic["oncotree_code"] == ""]
    matchable = civic[civic["matchable"] == "True"]

    formulary = load_formulary()
    batch = synthetic_batch()
    timings = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        therapy_table, _ = run_batch(kb, batch, formulary)
        timings.append(time.perf_counter() - start)
    median = statistics.median(timings)
    no_match = int((therapy_table["regimen"] == "no matched therapy").sum())
    variants = sum(len(a) for _, _, a in batch)
    entries = therapy_table[therapy_table["regimen"] != "no matched therapy"]
    by_status = entries["status"].value_counts()
    # what the PDF lists in full: approvals and level A/B (decisions.DEFAULT_POLICY), never a non-option
    shown = entries[entries["level"].isin(["approved", "A", "B"]) & (entries["status"] != "not_option")]

    report = [
        "# Knowledge base: contents and matching speed",
        "",
        f"Command: `{COMMAND}` (writes this file). Knowledge base `{kb.version}`.",
        "",
        "## Rows by gene and source",
        "",
        f"CIViC {kb.meta['civic_release']} evidence rows for the ten panel genes (all evidence types) and curated "
        "approval rows (one per biomarker x regimen x indication x agency x OncoTree code).",
        "",
        markdown_table(counts_by_gene_and_source(table), "gene"),
        "",
        "## Label indications by agency and status",
        "",
        f"Rows of `annotation/knowledge/approvals.tsv` (one per biomarker x regimen x indication x agency; "
        f"{len(approvals)} in all, {int((table['source'] != 'CIViC').sum())} knowledge-base rows once placed on "
        f"OncoTree codes). Unverified: at least one fact (document id, URL, revision date, label date, status, "
        f"indication wording, OncoTree scope) not checked on this machine.",
        "",
        markdown_table(label_counts(approvals), "agency"),
        "",
        f"Unverified facts (built report `annotation/knowledge/unverified_facts.tsv`): {len(unverified)}, by field: "
        + ", ".join(f"{field} {n}" for field, n in unverified["field"].value_counts().items()) + ".",
        "",
        "## Label indications the panel can test that the knowledge base carries",
        "",
        "Counted against `benchmarks/data/label_indications.tsv`: indications written from the label texts (FDA PI "
        "section 1, EMA SmPC 4.1, NMPA label), each with a representative variant, not derived from kb.tsv. An "
        "indication counts when the knowledge base has an active row of the same agency and drug that matches "
        "the variant (or the wild-type result, or the tumour type for biomarker-agnostic approvals) on-label in "
        "that OncoTree type.",
        "",
        *coverage_lines(coverage, missing),
        "",
        "## CIViC placement on OncoTree 2025-10-03",
        "",
        f"- CIViC panel-gene rows: {len(civic)}; matchable by a small-variant panel: {len(matchable)} "
        f"(the rest are fusions, copy number, expression or compound genotypes).",
        f"- Placed by a DOID lookup in the shared phenOncoX map alone (OncoTree 2021 codes still valid in 2025): "
        f"{phenoncox_placement(civic)} ({phenoncox_placement(civic) / len(civic):.0%}).",
        f"- Placed by the curated crosswalk (`annotation/knowledge/doid_oncotree_crosswalk.tsv`): "
        f"{len(civic) - len(unplaced)} ({(len(civic) - len(unplaced)) / len(civic):.0%}); "
        f"**unplaced: {len(unplaced)}** ({len(unplaced) / len(civic):.1%}), shown as off-label in every tumour type.",
        "",
        "| unplaced CIViC disease | rows |",
        "|---|---|",
        *[f"| {disease} | {n} |" for disease, n in unplaced["disease"].value_counts().items()],
        "",
        f"## Matching time and therapy entries, {len(batch)}-sample batch",
        "",
        f"- {len(batch)} samples, {variants} annotated variants, {len({c for _, c, _ in batch})} tumour types; "
        f"whole-sample match_therapies + JSON document "
        f"+ batch table per sample, formulary applied.",
        f"- Therapy entries per sample: {len(entries) / len(batch):.1f} in the JSON; by status per sample: "
        + ", ".join(f"{status} {n / len(batch):.1f}" for status, n in by_status.items())
        + f" (recommended options are `option`; `not_option` rows stay in the JSON only); at the levels the PDF "
        f"lists in full (approved, A, B): {len(shown) / len(batch):.1f} per sample, one verdict per drug.",
        f"- Knowledge-base load: {load_seconds * 1000:.0f} ms (once per batch).",
        f"- Batch: median {median * 1000:.0f} ms over {args.repeats} runs "
        f"({median / len(batch) * 1000:.1f} ms per sample); {len(therapy_table)} therapy rows, "
        f"{no_match} samples with no matched therapy.",
        "",
    ]
    if args.quick:
        report.insert(0, "QUICK MODE (CI smoke run, not a measurement)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(report))
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
