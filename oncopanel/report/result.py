"""The per-sample result document: the contract between analysis and rendering (and the hospital system).

``build_sample_result(...)`` assembles one result as the typed model (``oncopanel.report.model.SampleResult``) with
its reporting decisions made (``oncopanel.report.decisions``); ``build_result(...)`` is the same as a JSON-ready dict,
valid against ``workflow/schemas/result.schema.json`` (``schema_version`` "1.1"). ``load_result`` reads a result
file of any supported version back into the model. A result never carries patient identity: the patient is
referenced by pseudonym only; name, resident ID and the like live in the protected identity manifest
(``workflow/schemas/identity.schema.yaml``) and are given to the PDF renderer separately.

Input shapes (plain dicts; the dataclasses of ``oncopanel.model`` are accepted wherever a record is named):

``sample``
    ``{"sample_id", "patient", "batch", "site", "specimen_type": tumour_ffpe|tumour_fresh|blood_germline|
    plasma_cfdna|saliva, "tumour_content": percent|None, "oncotree_code", "tumour_type": name, "panels": [str] or
    "A,B", "received_date": "YYYY-MM-DD"|"", "germline_consent": "yes"|"no"|"unknown", "language": "zh"|"en"|""}``
``qc``
    the QC JSON of ``oncopanel.qc.summarise``: ``{"status": "pass"|"fail"|"failed", "failure_stage", "reasons":
    [str], "metrics": {name: value}, "gates": [{"metric", "op", "threshold", "value", "pass"}], "genes": {gene:
    {"mean_depth", "fraction_ge_<N>x", ...}}}`` (``targets`` is dropped).
``assay`` (optional)
    ``{"stated_lod": 0.05, "genes_tested": [gene], "coverage_threshold": 100, "reference": "GRCh38 ..."}``
``somatic``
    items ``{"annotation": Annotation|dict, "call": Call|dict, "tier": "IA"|"IB"|"IIC"|"IID"|"III"|"IV"}``
``germline``
    items ``{"annotation": Annotation|dict, "call": Call|dict|None, "classification": GermlineClassification|dict}``
``hotspots``
    ``HotspotResult`` or its dict
``therapies``
    ``Therapy`` or its dict; optionally with ``"approvals": [{"agency", "indication", "date", "status"}]`` and
    ``"finding_ids"``; ``formulary`` is ``{"available", "reimbursed", "monthly_cost", "note"}``
``copy_number`` (optional)
    the sample's copy-number table read back (``oncopanel.cnv.records.CnvTable``, ``read_tsv``); absent: no
    copy-number section (results of runs before the copy-number step)
``provenance``
    ``{"pipeline_version", "reference": {"name", "checksum"}, "knowledge_base": {"version", "checksum"},
    "annotation": {"version"}, "tools": {name: version}, "inputs": {file name: sha256}}``

A failed sample (QC ``fail``/``failed``, or ``failure`` given) gets ``status: "failed"`` with the stage and reasons,
and carries no findings, hotspot statuses or therapies, so nothing in it can be read as a negative result.
Germline findings are kept only when ``germline_consent`` is "yes".
What the report shows of each finding, hotspot and therapy is decided here too (``reporting``), under the
``policy`` given (``decisions.DEFAULT_POLICY`` by default).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from oncopanel import __version__
from oncopanel.clinical import COVERAGE_THRESHOLD, INFORMATIONAL_FILTERS, REPORTED_GERMLINE
from oncopanel.cnv.records import DUPLICATION_NOT_EXCLUDED
from oncopanel.errors import InputError
from oncopanel.failures import FailureKind, kind_of_gates, kind_of_qc_reasons, next_report_date
from oncopanel.model import GERMLINE_SPECIMENS, HotspotResult
from oncopanel.paths import SCHEMAS
from oncopanel.report.decisions import DEFAULT_POLICY, ReportingPolicy, decide
from oncopanel.report.model import SCHEMA_VERSION, SampleResult, as_result

# The PDF's Keywords metadata carries this prefix + the SHA-256 of the result document it was rendered from.
RESULT_SHA_KEYWORD = "oncopanel-result-sha256:"
SCHEMA_PATH = SCHEMAS / "result.schema.json"
REGULATORS = ("NMPA", "FDA", "EMA")
# Provenance carried when known: the code revision, configuration checksums and the tools each rule ran with
# (oncopanel.provenance), the batch-level files the result used (frozen for it), and, once released, its version
# and its anchor in the batch's audit chain (oncopanel.release, oncopanel.audit).
OPTIONAL_PROVENANCE = (
    "code_revision", "config_checksums", "effective_config_sha256", "tools_by_rule", "batch_inputs", "report_version",
    "audit_head_sha256", "audit_entry_index",
)  # fmt: skip
# A specific protein change (links to that change only), as opposed to a class such as "Exon 19 Deletion".
PROTEIN_CHANGE = re.compile(r"^[A-Z]\d+(?:_[A-Z]\d+)?(?:[A-Z*]|del|ins[A-Z]+|delins[A-Z]+|dup|[A-Z]?fs\*?\d*)$")
EXON_CLASS = re.compile(r"^Exon (\d+) (Deletion|Insertion)$", re.IGNORECASE)
CODON_CLASS = re.compile(r"^([A-Z]\d+)X?$")


def _plain(obj: Any) -> Any:
    """Dataclasses, tuples and mappings → JSON-ready dicts and lists."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _plain(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, float):
        return round(obj, 6)
    return obj


def _panels(value: str | Iterable[str]) -> list[str]:
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return list(value)


def sample_block(sample: Mapping) -> dict:
    consent = str(sample.get("germline_consent") or "unknown").lower()
    return {
        "sample_id": sample["sample_id"],
        "patient": sample["patient"],
        "batch": sample["batch"],
        "site": sample["site"],
        "specimen_type": sample["specimen_type"],
        "tumour_content": sample.get("tumour_content"),
        "oncotree_code": sample["oncotree_code"],
        "tumour_type": sample.get("tumour_type") or sample["oncotree_code"],
        "panels": _panels(sample["panels"]),
        "received_date": sample.get("received_date") or "",
        "germline_consent": consent if consent in ("yes", "no") else "unknown",
        "language": sample.get("language") or "",
        # optional (schema 1.2): only when the order states it, so results without it keep their checksums
        **({"line_of_therapy": sample["line_of_therapy"]} if sample.get("line_of_therapy") else {}),
    }


def qc_block(qc: Mapping, assay: Mapping) -> dict:
    status = qc.get("status", "pass")
    return {
        "status": "pass" if status == "pass" else "fail",
        "failure_stage": qc.get("failure_stage", "") or ("" if status == "pass" else "qc"),
        "reasons": list(qc.get("reasons", [])),
        "metrics": _plain(dict(qc.get("metrics", {}))),
        "gates": _plain(list(qc.get("gates", []))),
        "genes": _plain(dict(qc.get("genes", {}))),
        "coverage_threshold": int(assay.get("coverage_threshold", COVERAGE_THRESHOLD)),
    }


def _variant_fields(item: Mapping) -> dict:
    ann = _plain(item["annotation"])
    call = _plain(item.get("call") or {})
    variant = ann.get("variant") or call.get("variant") or {}
    return {
        "gene": ann["gene"],
        "transcript": ann.get("transcript", ""),
        "hgvs_c": ann["hgvs_c"],
        "hgvs_p": ann.get("hgvs_p", ""),
        "hgvs_g": ann.get("hgvs_g", ""),
        "protein_change": ann.get("protein_change", ""),
        "exon": ann.get("exon", ""),
        "intron": ann.get("intron", ""),
        "consequence": list(ann.get("consequence", [])),
        "variant": {k: variant[k] for k in ("chrom", "pos", "ref", "alt")} if variant else None,
        "vaf": call.get("vaf"),
        "depth": call.get("depth"),
        "alt_depth": call.get("alt_depth"),
        "genotype": call.get("genotype", ""),
        "filters": [f for f in call.get("filters", []) if f],
    }


def somatic_block(items: Iterable[Mapping]) -> list[dict]:
    out = []
    for n, item in enumerate(items, start=1):
        row = _variant_fields(item)
        row["id"] = f"S{n}"
        row["tier"] = str(item.get("tier", "III")).replace("-", "")  # the classifier writes AMP's "I-A"
        row["reported"] = row["tier"] != "IV" and all(f in INFORMATIONAL_FILTERS for f in row["filters"])
        out.append(row)
    return out


def germline_block(items: Iterable[Mapping], sample: dict) -> dict:
    consent = sample["germline_consent"]
    confirmed = sample["specimen_type"] in GERMLINE_SPECIMENS
    if consent != "yes":
        return {"consent": consent, "reported": False, "origin_confirmed": confirmed, "findings": []}
    findings = []
    for n, item in enumerate(items, start=1):
        row = _variant_fields(item)
        cls = _plain(item["classification"])
        row.update(
            id=f"G{n}",
            classification=cls["classification"],
            source=cls.get("source", ""),
            classification_date=cls.get("date", ""),
            criteria=list(cls.get("criteria", [])),
            citation=cls.get("citation", ""),
            origin_confirmed=confirmed,
        )
        findings.append(row)
    return {"consent": consent, "reported": True, "origin_confirmed": confirmed, "findings": findings}


def hotspot_block(items: Iterable[Any]) -> list[dict]:
    """The hotspot engine's results (HotspotResult, its fields in order) as the result document's rows."""
    keys = [f.name for f in dataclasses.fields(HotspotResult)]
    out = []
    for item in items:
        h = _plain(item)
        row = {k: h.get(k) for k in keys}
        row["observed"] = h.get("observed", "") or ""
        row["reason"] = h.get("reason", "") or ""
        out.append(row)
    return out


def _approval(therapy: Mapping) -> dict:
    agencies = sorted(
        {
            e["source"]
            for e in therapy.get("evidence", [])
            if e.get("source") in REGULATORS and e.get("level") == "approved"
        }
        | {a["agency"] for a in therapy.get("approvals", []) if a.get("agency")},
        key=lambda a: (REGULATORS.index(a) if a in REGULATORS else 99, a),
    )
    status = "not_approved" if not agencies else "approved_here" if therapy.get("on_label") else "off_label"
    # schema 1.2: an agency whose every label row is still unverified is named as such, never printed as fact
    rows = [e for e in therapy.get("evidence", []) if e.get("level") == "approved" and "verified" in e]
    unverified = [a for a in agencies if rows and not any(e["verified"] for e in rows if e["source"] == a)
                  and any(e["source"] == a for e in rows)]
    return {"status": status, "agencies": agencies, **({"unverified": unverified} if unverified else {})}


def copy_number_block(table: Any, sample: Mapping) -> dict:
    """The result's ``copy_number`` from the sample's CNV table (``oncopanel.cnv.records.CnvTable``): the calls, the
    not-assessable exons grouped by gene and reason, and the tumour's amplification. A germline finding without
    consent is not carried (as for small variants)."""
    h = table.header
    germline = sample["specimen_type"] in GERMLINE_SPECIMENS
    status, reason = h.get("status", "not_assessable"), h.get("reason", "")
    events = [
        {"id": f"CNV{n}", **{k: v for k, v in dataclasses.asdict(c).items()
                             if k not in ("sample", "references", "reference_version")}}
        for n, c in enumerate(table.calls, start=1)
    ]  # fmt: skip
    if germline and sample["germline_consent"] != "yes" and status == "assessed":
        status, reason, events = "withheld", "germline copy number not reported without consent", []
    groups: dict[tuple[str, str], dict] = {}
    for r in table.rows:
        if r.status == "not_assessable":
            g = groups.setdefault((r.gene, r.reason), {"gene": r.gene, "exons": [], "legacy_exons": [],
                                                       "reason": r.reason})  # fmt: skip
            g["exons"].append(r.mane_exon)
            g["legacy_exons"].append(r.legacy_exon)
    for g in groups.values():
        order = sorted(range(len(g["exons"])), key=lambda i: g["exons"][i])
        g["exons"], g["legacy_exons"] = [g["exons"][i] for i in order], [g["legacy_exons"][i] for i in order]
    # normal exons whose count excludes a deletion but not a duplication (oncopanel.cnv.model)
    dup_open: dict[str, dict] = {}
    for r in sorted(table.rows, key=lambda r: (r.gene, r.mane_exon)):
        if r.status == "normal" and r.reason == DUPLICATION_NOT_EXCLUDED:
            g = dup_open.setdefault(r.gene, {"gene": r.gene, "exons": [], "legacy_exons": []})
            g["exons"].append(r.mane_exon)
            g["legacy_exons"].append(r.legacy_exon)
    refs = [x for x in h.get("references", "").split(",") if x]
    block: dict[str, Any] = {
        "status": status, "reason": reason, "genes": sorted({r.gene for r in table.rows}),
        "reference_version": h.get("reference_version", ""), "references": len(refs),
        "exons_assessed": sum(r.status != "not_assessable" for r in table.rows),
        "events": events, "not_assessable": list(groups.values()),
    }  # fmt: skip
    if status == "assessed":
        block["duplication_not_excluded"] = list(dup_open.values())
    if "amplification_status" in h:
        a = {k.removeprefix("amplification_"): (None if v == "." else v) for k, v in h.items()
             if k.startswith("amplification_")}  # fmt: skip
        number = lambda k: None if a.get(k) is None else float(a[k])  # noqa: E731
        block["amplification"] = {
            "id": f"AMP-{a['gene']}", "gene": a["gene"], "status": a["status"], "ratio": number("ratio"),
            "copy_number": number("copy_number"), "tumour_content": number("tumour_content"),
            "extent": a.get("extent") or "", "references": int(a.get("references") or 0), "text": a.get("text") or "",
        }  # fmt: skip
    return block


def _variant_key(v: Mapping | None) -> str:
    return f"{v['chrom']}:{v['pos']}:{v['ref']}>{v['alt']}" if v else ""


def _links(therapy: Mapping, findings: list[dict]) -> list[str]:
    """The findings a therapy follows from: given ids, else the variants matching named (finding_keys), else the
    same variant, else the same protein change, else, for a class biomarker ("Mutation", "Exon 19 Deletion",
    "Loss-of-function"), every finding in the gene."""
    if therapy.get("finding_ids"):
        return list(therapy["finding_ids"])
    if therapy.get("finding_keys"):  # a negative biomarker ("RAS Wild Type") links to no variant
        keys = set(therapy["finding_keys"])
        return [f["id"] for f in findings if _variant_key(f["variant"]) in keys or f.get("key") in keys]
    key = therapy.get("variant_key") or _variant_key(therapy.get("variant"))
    if key:
        return [f["id"] for f in findings if _variant_key(f["variant"]) == key]
    same_gene = [f for f in findings if f["gene"] == therapy["gene"] and "key" not in f]  # variants only
    biomarker = therapy.get("biomarker", "")
    exon = EXON_CLASS.match(biomarker)
    if exon:  # "Exon 19 Deletion", "Exon 20 Insertion": in-frame change of that kind in that exon
        number, kind = exon.group(1), exon.group(2).lower()
        return [
            f["id"]
            for f in same_gene
            if f.get("exon", "").split("/")[0] == number and any(kind in c for c in f.get("consequence", []))
        ]
    codon = CODON_CLASS.match(biomarker)
    if codon:  # "G12", "G719X": any change at that codon
        return [f["id"] for f in same_gene if re.match(rf"{codon.group(1)}(?!\d)", f.get("protein_change", ""))]
    exact = [f for f in same_gene if f.get("protein_change") and f["protein_change"] == biomarker]
    if exact or PROTEIN_CHANGE.match(biomarker):
        return [f["id"] for f in exact]
    return [f["id"] for f in same_gene]


def therapy_block(items: Iterable[Any], findings: list[dict], withheld_genes: set[str]) -> list[dict]:
    out = []
    for item in items:
        t = _plain(item)
        if t.get("status") == "no_match":  # the matcher's explicit "no matched therapy": no therapy row
            continue
        links = _links(t, findings)
        if not links and t["gene"] in withheld_genes and t.get("status") != "agnostic":
            continue  # would reveal a germline finding the patient did not consent to (an approval regardless
            # of the gene's status reveals nothing)
        formulary = t.get("formulary") or {}
        out.append(
            {
                "regimen": t["regimen"],
                "drugs": list(t.get("drugs", [])),
                "gene": t["gene"],
                "biomarker": t.get("biomarker", ""),
                "significance": t.get("significance", ""),
                "level": t.get("level", ""),
                "on_label": bool(t.get("on_label")),
                "resistance": bool(t.get("resistance")),
                "approval": _approval(t),
                "formulary": {k: str(v) for k, v in formulary.items()},
                "evidence": [
                    {
                        k: e.get(k, "")
                        for k in (
                            "source",
                            "level",
                            "citation",
                            "oncotree_code",
                            "significance",
                            "direction",
                            "setting",
                            "row_id",
                            *(k for k in EVIDENCE_DETAIL if k in e and "status" in t),  # schema 1.2
                        )
                    }
                    for e in t.get("evidence", [])
                ],
                "rank": int(t.get("rank", 0)),
                "finding_ids": links,
                **_matching_fields(t),
            }
        )
    return sorted(out, key=lambda t: (t["rank"], t["resistance"], t["regimen"]))


EVIDENCE_DETAIL = ("disease", "tumour_match", "variant_match", "biomarker", "gene", "verified", "unverified")


def _matching_fields(t: Mapping) -> dict:
    """Schema 1.2: what the whole-sample matching decided (absent from a therapy given without it)."""
    if "status" not in t:
        return {}
    return {
        "status": t["status"], "reason": t.get("reason", ""), "setting": t.get("setting", ""),
        "settings": list(t.get("settings", [])), "guideline": t.get("guideline", ""),
        "evidence_tumour": t.get("evidence_tumour", ""),
        "conflicts": [{k: e.get(k, "") for k in ("source", "level", "citation", "oncotree_code", "significance",
                                                  "direction", "row_id", *EVIDENCE_DETAIL) if k in e}
                      for e in t.get("conflicts", [])],
        **({"reasons": [dict(r) for r in t["reasons"]]} if t.get("reasons") else {}),
    }  # fmt: skip


def negative_block(items: Iterable[Any]) -> list[dict]:
    return [{k: _plain(n)[k] for k in ("biomarker", "status", "assessed", "not_assessed", "not_tested", "reason",
                                       "citation")} for n in items]


def provenance_block(provenance: Mapping | None) -> dict:
    p = dict(provenance or {})
    return {
        "pipeline_version": p.get("pipeline_version", __version__),
        "reference": {"name": "", "checksum": "", **p.get("reference", {})},
        "knowledge_base": {"version": "", "checksum": "", **p.get("knowledge_base", {})},
        "annotation": {"version": "", **p.get("annotation", {})},
        "tools": dict(sorted(p.get("tools", {}).items())),
        "inputs": dict(sorted(p.get("inputs", {}).items())),
        **{k: _plain(p[k]) for k in OPTIONAL_PROVENANCE if k in p},
    }


def build_result(*args: Any, **kwargs: Any) -> dict:
    """One sample's result document as JSON-ready dict (``build_sample_result``'s arguments)."""
    return build_sample_result(*args, **kwargs).to_dict()


def build_sample_result(
    sample: Mapping,
    qc: Mapping,
    somatic: Iterable[Mapping] = (),
    germline: Iterable[Mapping] = (),
    hotspots: Iterable[Any] = (),
    therapies: Iterable[Any] = (),
    provenance: Mapping | None = None,
    *,
    assay: Mapping | None = None,
    report_id: str | None = None,
    reported_date: str = "",
    failure: Mapping | None = None,
    amendment: Mapping | None = None,
    policy: ReportingPolicy = DEFAULT_POLICY,
    negative_biomarkers: Iterable[Any] = (),
    copy_number: Any = None,
) -> SampleResult:
    """One sample's result, decided under ``policy`` (see the module docstring for the input shapes)."""
    assay = dict(assay or {})
    s = sample_block(sample)
    q = qc_block(qc, assay)
    failed = failure is not None or q["status"] == "fail"
    result: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "report_id": report_id or f"OP-{s['batch']}-{s['sample_id']}",
        "status": "failed" if failed else "reported",
        "reported_date": reported_date,
        "sample": s,
        "assay": {
            "stated_lod": assay.get("stated_lod"),
            "genes_tested": list(assay.get("genes_tested") or sorted(q["genes"])),
            "reference": assay.get("reference", ""),
        },
        "qc": q,
        "failure": None,
        "somatic": [],
        "germline": {"consent": s["germline_consent"], "reported": False, "origin_confirmed": False, "findings": []},
        "hotspots": [],
        "therapies": [],
        "provenance": provenance_block(provenance),
        "amendment": _plain(dict(amendment)) if amendment else None,
    }
    if failed:
        f = dict(failure or {})
        gates_failed = [g for g in q["gates"] if not g.get("pass")]
        stage = f.get("stage") or q["failure_stage"] or "qc"
        kind = FailureKind(f.get("kind") or ("held" if stage == "held" else failure_kind_of_qc(qc, gates_failed)))
        result["failure"] = {
            "stage": stage,
            "kind": kind.value,
            "reasons": list(f.get("reasons") or q["reasons"]),
            "gates_failed": gates_failed,
            "next_report_date": next_report_date(kind, reported_date),
        }
        return decide(result, policy)
    germline_items = list(germline)
    result["somatic"] = somatic_block(somatic)
    result["germline"] = germline_block(germline_items, s)
    withheld = (
        {_plain(g["annotation"])["gene"] for g in germline_items} if not result["germline"]["reported"] else set()
    )
    findings = [v for v in result["somatic"] if v["reported"]] + [
        g for g in result["germline"]["findings"] if g["classification"] in REPORTED_GERMLINE
    ]
    result["hotspots"] = hotspot_block(hotspots)
    if copy_number is not None:
        result["copy_number"] = copy_number_block(copy_number, s)
        amp = result["copy_number"].get("amplification")
        if amp and amp["status"] == "amplified":  # matched like any biomarker: its therapies link to it by id
            key = f"{amp['gene']} Amplification"  # the matcher's finding key (oncopanel.knowledge.matching)
            findings.append({"id": amp["id"], "gene": amp["gene"], "variant": None, "key": key})
        for event in result["copy_number"]["events"]:  # a germline exon deletion's therapies link to it by name
            findings.append({"id": event["id"], "gene": event["gene"], "variant": None, "key": event["name"]})
    result["therapies"] = therapy_block(therapies, findings, withheld)
    negatives = negative_block(negative_biomarkers)
    if negatives:  # absent when the panels test none (the key is optional, as in results before 1.2)
        result["negative_biomarkers"] = negatives
    return decide(result, policy)


def failure_kind_of_qc(qc: Mapping, gates_failed: list[dict]) -> FailureKind:
    """The kind of a sample that failed before any finding: from its QC reason codes (input problems, failed
    gates, no reads left), else its failed gates; an analysis that stopped for any other reason is incomplete."""
    if qc.get("reason_codes"):
        return kind_of_qc_reasons(qc["reason_codes"])
    if gates_failed:
        return kind_of_gates(g["metric"] for g in gates_failed)
    return FailureKind.ANALYSIS_INCOMPLETE


def canonical_json(result: Mapping | SampleResult) -> bytes:
    """The one serialisation of a result: sorted keys, 2-space indent, UTF-8, trailing newline."""
    if isinstance(result, SampleResult):
        result = result.to_dict()
    return (json.dumps(result, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def result_sha256(result: Mapping | SampleResult) -> str:
    """SHA-256 of the canonical JSON; equals `sha256sum` of the file written by ``write_result``."""
    return hashlib.sha256(canonical_json(result)).hexdigest()


def write_result(result: Mapping | SampleResult, path: str | Path) -> str:
    """Validate, write atomically, return the SHA-256 of the bytes written."""
    if isinstance(result, SampleResult):
        result = result.to_dict()
    validate_result(result)
    path = Path(path)
    data = canonical_json(result)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return hashlib.sha256(data).hexdigest()


def load_result(path: str | Path) -> SampleResult:
    """A result file of any supported schema version, validated, as the typed model (``to_dict()`` gives the
    document back exactly, so its checksum is the file's)."""
    result = json.loads(Path(path).read_text(encoding="utf-8"))
    validate_result(result, source=str(path))
    return as_result(result)


@functools.cache
def _validator():
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def validate_result(result: Mapping | SampleResult, source: str = "result") -> None:
    """Raise InputError naming every schema violation."""
    if isinstance(result, SampleResult):
        result = result.to_dict()
    validator = _validator()
    problems = [
        f"{source}: /{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in sorted(validator.iter_errors(result), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if problems:
        raise InputError("result does not match result.schema.json:\n  " + "\n  ".join(problems))
