"""Per-sample JSON document and batch Parquet table of matched therapies, each carrying the knowledge-base version."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path

import pandas as pd

from oncopanel.knowledge.kb import KBEvidence, KnowledgeBase
from oncopanel.knowledge.matching import is_no_match
from oncopanel.model import Therapy

SCHEMA = "oncopanel.therapy_match/2"  # 2: status, reason, setting, guideline, evidence tumour, conflicts
EVIDENCE_FIELDS = tuple(f.name for f in fields(KBEvidence))


def evidence_record(evidence: KBEvidence) -> dict:
    record = {name: getattr(evidence, name) for name in EVIDENCE_FIELDS}  # flat: str and tuple fields only
    record["drugs"] = list(evidence.drugs)
    record["on_label"] = evidence.on_label
    return record


# a therapy's plain fields, in the order both outputs (the sample JSON and the batch table) write them
_HEAD = ("rank", "regimen")
_BIOMARKER = ("gene", "biomarker", "significance", "level", "on_label", "resistance")


def _fields(therapy: Therapy, names: tuple[str, ...]) -> dict:
    return {name: getattr(therapy, name) for name in names}


def therapy_record(therapy: Therapy) -> dict:
    return {
        **_fields(therapy, _HEAD),
        "drugs": list(therapy.drugs),
        **_fields(therapy, _BIOMARKER),
        "formulary": dict(therapy.formulary),
        # an on-label approval whose label asks for a germline variant (gBRCAm): confirm germline origin
        "label_requires_germline_variant": any(
            isinstance(e, KBEvidence) and e.is_approval and e.on_label and e.variant_origin == "germline"
            for e in therapy.evidence
        ),
        "evidence": [evidence_record(e) for e in therapy.evidence],  # type: ignore[arg-type]
        "status": therapy.status,
        "reason": therapy.reason,
        "setting": therapy.setting,
        "settings": list(therapy.settings),
        "guideline": therapy.guideline,
        "evidence_tumour": therapy.evidence_tumour,
        "finding_keys": list(therapy.finding_keys),
        # another verdict on the same drugs, lost to the precedence of oncopanel.knowledge.matching: kept here
        "conflicts": [evidence_record(e) for e in therapy.conflicts],  # type: ignore[arg-type]
    }


def sample_document(sample_id: str, oncotree_code: str, therapies: list[Therapy], kb: KnowledgeBase) -> dict:
    """JSON-ready result for one sample: therapies with their evidence rows and citations, and the KB version."""
    no_match = is_no_match(therapies)
    return {
        "schema": SCHEMA,
        "sample_id": sample_id,
        "oncotree_code": oncotree_code,
        "oncotree_name": kb.tree.name(oncotree_code),
        "knowledge_base": {"version": kb.version, "sources": kb.meta.get("sources", {})},
        "no_matched_therapy": no_match,
        "therapies": [] if no_match else [therapy_record(t) for t in therapies],
    }


def write_sample_json(document: dict, path: Path | str) -> Path:
    path = Path(path)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path


BATCH_COLUMNS = (
    "sample_id", "oncotree_code", "rank", "regimen", "drugs", "gene", "biomarker", "significance", "level",
    "on_label", "resistance", "status", "setting", "sources", "citations", "formulary_available",
    "formulary_reimbursed", "monthly_cost_cny", "kb_version",
)


def batch_table(results: Mapping[str, tuple[str, list[Therapy]]], kb: KnowledgeBase) -> pd.DataFrame:
    """One row per sample x therapy (one 'no matched therapy' row for a sample without any)."""
    rows = []
    for sample_id, (oncotree_code, therapies) in results.items():
        for therapy in therapies:
            rows.append({
                "sample_id": sample_id,
                "oncotree_code": oncotree_code,
                **_fields(therapy, _HEAD),
                "drugs": " + ".join(therapy.drugs),
                **_fields(therapy, _BIOMARKER),
                "status": therapy.status,
                "setting": therapy.setting,
                "sources": ",".join(sorted({e.source for e in therapy.evidence})),
                "citations": " | ".join(dict.fromkeys(e.citation for e in therapy.evidence)),
                "formulary_available": therapy.formulary.get("available", ""),
                "formulary_reimbursed": therapy.formulary.get("reimbursed", ""),
                "monthly_cost_cny": therapy.formulary.get("monthly_cost_cny", ""),
                "kb_version": kb.version,
            })
    return pd.DataFrame(rows, columns=list(BATCH_COLUMNS))


def write_batch_parquet(table: pd.DataFrame, path: Path | str) -> Path:
    path = Path(path)
    table.to_parquet(path, index=False)
    return path
