"""Therapy knowledge base: build from sources, versioning and changelog, matching, formulary.

Public interface (everything else is internal):

Tumour types (``oncopanel.knowledge.oncotree``, OncoTree 2025-10-03):
    load_oncotree(path=None) -> OncoTree
    is_valid_code(code: str) -> bool
    closest_codes(code: str, n: int = 3) -> list[str]
    ancestors(code: str) -> list[str]            parent first, up to TISSUE
    name(code: str) -> str
    check_code(code: str) -> str                 InputError naming the code and the closest codes

Knowledge base (``oncopanel.knowledge.kb``; built by scripts/build_knowledge.py into annotation/knowledge/):
    KnowledgeBase.load(path=None) -> KnowledgeBase
    KnowledgeBase.version: str                   "<build date>+<first 12 hex of the table's SHA-256>"
    KnowledgeBase.evidence_for(annotation, oncotree_code, germline_class=None) -> list[KBEvidence]
        KBEvidence is an oncopanel.model.Evidence with tumour_match ("same" | "parent" | "other" | "excluded" |
        "unplaced"), .on_label (same or parent), disease, regimen, approval status and dates. level is CIViC "A".."E"
        or "approved"; source is CIViC, FDA, EMA or NMPA; oncotree_code is the evidence's own tumour type.
        Tiering and matching read it through matching.evidence_for_finding.

Matching (``oncopanel.knowledge.matching``; rules as cited data, ``oncopanel.knowledge.rules``):
    match_therapies(findings, oncotree_code, kb, formulary=None, germline=None, line_of_therapy="") -> list[Therapy]
        findings: a SampleFindings (variants, germline classes, hotspot statuses, phases; copy number later) or the
        annotated variants alone; whole-sample: resistance demotes what it defeats, negative biomarkers from the
        hotspot table, guideline order by setting, one verdict per drug (Therapy.status / reason / setting).
        Ranked; never empty: [Therapy(regimen=NO_MATCHED_THERAPY, ...)] when nothing matches (see is_no_match)
    evidence_for_finding(kb, annotation, oncotree_code, germline_class=None) -> list[KBEvidence]
        the rows that may reach a variant (oncogenic / P/LP only); somatic tiering reads the same list
    negative_results(findings, rules=None, oncotree_code="", kb=None) -> list[NegativeResult]
    load_formulary(path=None) -> dict[str, FormularyEntry]     config/formulary.tsv

Output (``oncopanel.knowledge.output``):
    sample_document(sample_id, oncotree_code, therapies, kb) -> dict;  write_sample_json(document, path)
    batch_table(results, kb) -> pandas.DataFrame;                     write_batch_parquet(table, path)
"""

from __future__ import annotations

from oncopanel.lazy import lazy_names

# The names above are loaded from their modules when first asked: the sample sheet's tumour-type check (oncotree)
# and the command line's parser should not pay for the knowledge base's tables (pandas, ~0.4 CPU-s; issue 21)
__getattr__, __all__ = lazy_names(
    __name__,
    {
        "kb": ("KBEvidence", "KnowledgeBase"),
        "matching": ("NO_MATCHED_THERAPY", "FormularyEntry", "is_no_match", "load_formulary", "match_therapies"),
        "oncotree": ("ancestors", "check_code", "closest_codes", "is_valid_code", "load_oncotree", "name"),
        "output": ("batch_table", "sample_document", "write_batch_parquet", "write_sample_json"),
    },
)
