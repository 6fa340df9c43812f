"""The built knowledge base, loaded for matching: ``KnowledgeBase.load(path=None)``, ``.version``,
``.evidence_for(annotation, oncotree_code) -> list[KBEvidence]``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from oncopanel.knowledge.biomarker import Biomarker, matches, parse_biomarker, variant_features
from oncopanel.knowledge.build import KB_DIR, read_tsv
from oncopanel.knowledge.oncotree import OncoTree, check_code_in, load_oncotree
from oncopanel.model import Annotation, Evidence

LEVEL_ORDER = {"approved": 0, "A": 1, "B": 2, "C": 3, "D": 4, "E": 5}
SPECIFICITY = {"exact": 0, "codon": 1, "exon": 2, "class": 3, "gene": 4}
_MATCH_KIND = {"exact": "exact", "wild_type": "exact", "codon": "codon", "frameshift": "codon", "exon_deletion": "exon",
               "exon_insertion": "exon", "exon_mutation": "exon"}


def variant_match(biomarker: Biomarker) -> str:
    if biomarker.kind == "class":
        return "gene" if biomarker.value == "Mutation" else "class"
    return _MATCH_KIND[biomarker.kind]
ON_LABEL = ("same", "parent")


@dataclass(frozen=True)
class KBEvidence(Evidence):
    """An Evidence row with what matching adds.

    tumour_match: "same" (evidence for this OncoTree code), "parent" (for an ancestor type, so it applies),
    "other" (another tumour type: off-label), "excluded" (the label excludes this type: off-label),
    "unplaced" (CIViC disease with no OncoTree placement: off-label).
    variant_match: how specific the biomarker match is: "exact" (protein change), "codon" (e.g. G12),
    "exon" (Exon 19 Deletion), "class" (Loss-of-function, Pathogenic Variant, Truncating, Non-V600) or
    "gene" (any protein-altering Mutation).
    level: CIViC "A".."E", or "approved" for an active FDA/EMA/NMPA indication ("withdrawn" rows are only returned
    on request). status / label_date / status_date / nrdl_* are set for approval rows.
    document_id / url / revision_date: the label document (FDA application number or label set id, EMA product
    number, NMPA approval number), its address and the label revision consulted; blank when not known here.
    verified: every fact of the row was checked against the label here; unverified names the fields that were not
    (never to be printed as fact). biomarker_required: False for an approval of the tumour type regardless of this
    biomarker (e.g. niraparib maintenance in ovarian cancer regardless of BRCA status): never a biomarker match.
    """

    disease: str = ""
    tumour_match: str = ""
    variant_match: str = ""
    regimen: str = ""
    drug_interaction: str = ""
    variant_origin: str = ""
    variant_name: str = ""
    status: str = ""
    label_date: str = ""
    status_date: str = ""
    nrdl_status: str = ""
    nrdl_year: str = ""
    document_id: str = ""
    url: str = ""
    revision_date: str = ""
    verified: bool = False
    unverified: tuple[str, ...] = ()
    biomarker_required: bool = True

    @property
    def on_label(self) -> bool:
        return self.tumour_match in ON_LABEL

    @property
    def is_approval(self) -> bool:
        return self.source in ("FDA", "EMA", "NMPA")


@dataclass(frozen=True)
class KBRow:
    evidence: KBEvidence
    biomarkers: tuple[Biomarker, ...]
    excluded: tuple[str, ...]


def row_evidence(row: dict[str, str]) -> KBEvidence:
    return KBEvidence(
        source=row["source"], gene=row["gene"], biomarker=row["biomarker"], oncotree_code=row["oncotree_code"],
        drugs=tuple(d for d in row["drugs"].split("|") if d), level=row["level"], direction=row["direction"],
        significance=row["significance"], evidence_type=row["evidence_type"], citation=row["citation"],
        setting=row["setting"], row_id=row["row_id"], disease=row["disease"], regimen=row["regimen"],
        drug_interaction=row["drug_interaction"], variant_origin=row["variant_origin"],
        variant_name=row["variant_name"], status=row["status"], label_date=row["label_date"],
        status_date=row["status_date"], nrdl_status=row["nrdl_status"], nrdl_year=row["nrdl_year"],
        document_id=row["document_id"], url=row["url"], revision_date=row["revision_date"],
        verified=row["verified"] == "True", unverified=tuple(f for f in row["unverified_fields"].split(",") if f),
        biomarker_required=row["biomarker_required"] != "False",
    )


def tumour_match(row: KBRow, oncotree_code: str, lineage: tuple[str, ...]) -> str:
    code = row.evidence.oncotree_code
    if not code:
        return "unplaced"
    if any(c in row.excluded for c in lineage):
        return "excluded"
    if code == oncotree_code:
        return "same"
    return "parent" if code in lineage else "other"


# Knowledge-base biomarkers of copy number (CIViC variant names), matched from oncopanel.cnv's results
COPY_NUMBER_BIOMARKERS = ("AMPLIFICATION",)


def evidence_order(evidence: KBEvidence) -> tuple:
    return (not evidence.on_label, LEVEL_ORDER.get(evidence.level, 9), SPECIFICITY.get(evidence.variant_match, 9),
            evidence.row_id)


class KnowledgeBase:
    """Rows of the built knowledge base, indexed by gene."""

    def __init__(self, rows: list[KBRow], version: str, meta: dict, tree: OncoTree):
        self.version = version
        self.meta = meta
        self.tree = tree
        self.rows = rows
        self._flagged: dict[tuple[str, str, str], KBEvidence] = {}  # (row_id, tumour_match, variant_match)
        self._by_gene: dict[str, list[KBRow]] = defaultdict(list)
        for row in rows:
            self._by_gene[row.evidence.gene].append(row)

    @classmethod
    def load(cls, path: Path | str | None = None) -> KnowledgeBase:
        """Load kb.tsv and kb_meta.json from a directory (default annotation/knowledge) or a kb.tsv path."""
        base = Path(path) if path else KB_DIR
        kb_path = base / "kb.tsv" if base.is_dir() else base
        meta = json.loads((kb_path.parent / "kb_meta.json").read_text())
        rows = [
            KBRow(row_evidence(r), tuple(parse_biomarker(r["variant_name"])),
                  tuple(c for c in r["excluded_oncotree_codes"].split(",") if c))
            for r in read_tsv(kb_path).to_dict("records")
            # copy-number rows are not matchable to a small variant (the column) but to the sample's copy number
            if r["matchable"] == "True" or r["variant_name"].strip().upper() in COPY_NUMBER_BIOMARKERS
        ]
        return cls(rows, meta["version"], meta, load_oncotree())

    def _flag(self, row: KBRow, tumour: str, variant: str) -> KBEvidence:
        key = (row.evidence.row_id, tumour, variant)
        if key not in self._flagged:
            self._flagged[key] = replace(row.evidence, tumour_match=tumour, variant_match=variant)
        return self._flagged[key]

    def evidence_for(self, annotation: Annotation, oncotree_code: str, germline_class: str | None = None,
                     include_withdrawn: bool = False) -> list[KBEvidence]:
        """Every matchable row for this variant, flagged by how its tumour type relates to ``oncotree_code``.

        germline_class: the variant's germline classification ("pathogenic", "likely_pathogenic", ...), when
        known; it decides Loss-of-function / Pathogenic Variant matches (else the consequence does).
        Raises InputError for an unknown OncoTree code, naming the closest codes.
        """
        code = check_code_in(self.tree, oncotree_code)
        lineage = (code, *self.tree.ancestors(code))
        features = variant_features(annotation, germline_class)
        found = []
        for row in self._by_gene.get(annotation.gene, []):
            if row.evidence.status == "withdrawn" and not include_withdrawn:
                continue
            matched = [b for b in row.biomarkers if matches(b, features)]
            if matched:
                found.append(self._flag(row, tumour_match(row, code, lineage), variant_match(matched[0])))
        return sorted(found, key=evidence_order)

    def evidence_for_negative(self, biomarker: str, oncotree_code: str) -> list[KBEvidence]:
        """Rows for a wild-type biomarker ("RAS Wild Type") shown in this sample, flagged like evidence_for."""
        code = check_code_in(self.tree, oncotree_code)
        lineage = (code, *self.tree.ancestors(code))
        found = [
            self._flag(row, tumour_match(row, code, lineage), "exact")
            for rows in self._by_gene.values() for row in rows
            if row.evidence.status != "withdrawn"
            and any(b.kind == "wild_type" and b.name.lower() == biomarker.lower() for b in row.biomarkers)
        ]
        return sorted(found, key=evidence_order)

    def evidence_for_copy_number(self, gene: str, biomarker: str, oncotree_code: str) -> list[KBEvidence]:
        """Rows for a copy-number finding of the gene (``biomarker`` one of COPY_NUMBER_BIOMARKERS), flagged like
        evidence_for."""
        code = check_code_in(self.tree, oncotree_code)
        lineage = (code, *self.tree.ancestors(code))
        found = [self._flag(row, tumour_match(row, code, lineage), "exact") for row in self._by_gene.get(gene, [])
                 if row.evidence.status != "withdrawn"
                 and any(b.name.upper() == biomarker.upper() for b in row.biomarkers)]  # fmt: skip
        return sorted(found, key=evidence_order)

    def approvals_regardless_of_biomarker(self, oncotree_code: str) -> list[KBEvidence]:
        """Active approvals of this tumour type that need no biomarker (biomarker_required False), on-label here,
        one per indication (the table repeats one for each gene whose status it ignores, e.g. BRCA1 and BRCA2)."""
        code = check_code_in(self.tree, oncotree_code)
        lineage = (code, *self.tree.ancestors(code))
        found: dict[tuple[str, ...], KBEvidence] = {}
        for row in self.rows:
            evidence = row.evidence
            if evidence.biomarker_required or evidence.status == "withdrawn":
                continue
            where = tumour_match(row, code, lineage)
            key = (evidence.source, evidence.regimen, evidence.setting, evidence.disease)
            if where in ON_LABEL and key not in found:
                found[key] = self._flag(row, where, "")
        return sorted(found.values(), key=evidence_order)
