"""One sample's result from the stage files: calls → HGVS → classification and tiers → therapies → result JSON.

Reads the contract files (QC JSON, input check, normalised VCF, hotspot table) and writes the annotated table,
the therapy document and the result JSON. Identity never enters here: the result references the pseudonym only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from oncopanel.annotate import Annotator
from oncopanel.annotate.vcf import AnnotatedRecord, annotate_vcf, write_table
from oncopanel.classify import classify_germline, somatic_tier
from oncopanel.clinical import COVERAGE_THRESHOLD, GERMLINE_GENES, INFORMATIONAL_FILTERS, REPORTED_GERMLINE
from oncopanel.cnv.naming import call_annotation
from oncopanel.cnv.records import CnvTable, read_tsv
from oncopanel.cnv.settings import ClassificationSettings
from oncopanel.cnv.settings import load_settings as load_cnv_settings
from oncopanel.failures import FailureKind, kind_of_input_problems
from oncopanel.hotspots import load_hotspots, read_hotspot_table
from oncopanel.hotspots.phasing import phase_snvs
from oncopanel.knowledge import KnowledgeBase, ancestors, match_therapies, name, sample_document
from oncopanel.knowledge.matching import (
    CopyNumberLoss,
    SampleFindings,
    evidence_for_finding,
    negative_results,
    phase_pairs,
    standard_drugs,
)
from oncopanel.model import GERMLINE_SPECIMENS, Annotation, Call, Variant
from oncopanel.provenance import sha256_file
from oncopanel.report.plasma import plasma_block
from oncopanel.report.result import build_result, write_result
from oncopanel.samplesheet import Sample


@dataclass
class SampleFiles:
    qc: Path
    input_check: Path
    vcf: Path | None = None
    hotspots: Path | None = None
    batch_identity: Path | None = None
    pon: Path | None = None  # the batch's panel of normals, when one filtered this sample's calls
    bam: Path | None = None  # the sample's reads: phase of variant pairs the report states (C797S with T790M)
    cnv: Path | None = None  # the sample's copy-number table (oncopanel.cnv.records)
    # the batch's per-allele background (oncopanel.calling.background); its header names the store versions used
    background: Path | None = None
    umi: Path | None = None  # plasma with UMIs: the consensus summary (rule umi_consensus), when it exists

    def batch_inputs(self) -> dict[str, str]:
        """SHA-256 of the batch-level files this result uses: recorded in it, so they are frozen for it."""
        named = {"batch_identity": self.batch_identity, "panel_of_normals": self.pon, "copy_number": self.cnv,
                 "calling_background": self.background}  # fmt: skip
        return {name: sha256_file(path) for name, path in named.items() if path is not None and path.exists()}


def hold_reasons(batch_identity: dict, sample_id: str) -> list[str]:
    """Why this sample's results may not be released: the batch's controls, or its own identity/contamination."""
    if batch_identity.get("batch_held"):
        return list(batch_identity.get("reasons", [])) or ["batch held"]
    if sample_id in batch_identity.get("held_samples", []):
        mine = [r for r in batch_identity.get("reasons", []) if sample_id in r]
        return mine or [f"sample {sample_id} held by the identity check"]
    return []


@dataclass
class Assembled:
    result: dict
    annotated: list[AnnotatedRecord] = field(default_factory=list)
    therapy_document: dict = field(default_factory=dict)


def call_of(record: AnnotatedRecord, sample_id: str) -> Call:
    """The Call behind one annotated VCF allele (FORMAT DP/AD/AF of the sample's column)."""
    values = next(iter(record.samples.values()), {}) if record.samples else {}
    ad = [int(x) for x in values.get("AD", "").split(",") if x.isdigit()]
    depth = int(values["DP"]) if values.get("DP", ".").isdigit() else sum(ad)
    alt_depth = ad[1] if len(ad) > 1 else 0
    af = values.get("AF", "")
    vaf = float(af) if af not in ("", ".") else (alt_depth / depth if depth else 0.0)
    gq = values.get("GQ", "")
    return Call(
        variant=record.annotation.variant,
        sample_id=sample_id,
        origin=record.info.get("ORIGIN", "somatic"),  # type: ignore[arg-type]
        depth=depth,
        alt_depth=alt_depth,
        vaf=vaf,
        genotype=values.get("GT", "./."),
        qual=record.qual or 0.0,
        gq=int(float(gq)) if gq not in ("", ".") else None,
        filters=record.filters or ("PASS",),
    )


def is_reportable_call(call: Call) -> bool:
    return all(f in INFORMATIONAL_FILTERS for f in call.filters)


def sample_block(sample: Sample, consent: str) -> dict:
    return {
        **sample.as_dict(),
        "tumour_type": name(sample.oncotree_code) or sample.oncotree_code,
        "germline_consent": consent,
    }


def assemble(
    sample: Sample,
    files: SampleFiles,
    kb: KnowledgeBase,
    formulary: dict,
    provenance: dict,
    *,
    annotator: Annotator | None = None,
    consent: str = "unknown",
    stated_lod: float = 0.05,
    report_benign: bool = False,
    reported_date: str = "",
) -> Assembled:
    qc = json.loads(files.qc.read_text())
    check = json.loads(files.input_check.read_text())
    # a file that could not be read has no checksum to record (the failure reason names it)
    inputs = {Path(f["path"]).name: f["sha256"] for f in check.get("files", []) if f.get("sha256")}
    provenance = {**provenance, "inputs": inputs, "batch_inputs": files.batch_inputs()}
    block = sample_block(sample, consent)
    assay = {"stated_lod": stated_lod, "coverage_threshold": COVERAGE_THRESHOLD}
    held = hold_reasons(json.loads(files.batch_identity.read_text()), sample.sample_id) if files.batch_identity else []
    if held and check["status"] == "ok" and qc.get("status") == "pass":
        failure = {"stage": "held", "kind": FailureKind.HELD, "reasons": held}
        return Assembled(
            build_result(block, qc, provenance=provenance, assay=assay, failure=failure, reported_date=reported_date)
        )
    if check["status"] != "ok" or files.vcf is None:
        kind = kind_of_input_problems(check.get("problem_codes") or [])
        failure = {"stage": "input", "kind": kind, "reasons": check.get("problems") or ["no usable reads"]}
        return Assembled(
            build_result(block, qc, provenance=provenance, assay=assay, failure=failure, reported_date=reported_date)
        )

    annotator = annotator or Annotator()
    records = annotate_vcf(files.vcf, annotator)
    somatic, germline, germline_classes = [], [], {}
    lineage = ancestors(sample.oncotree_code)
    for record in records:
        ann, call = record.annotation, call_of(record, sample.sample_id)
        if not ann.gene or not is_reportable_call(call):
            continue
        classification = None
        if ann.gene in GERMLINE_GENES:
            classification = classify_germline(ann)
            germline_classes[ann.variant.key] = classification
            if classification.classification not in ("benign", "likely_benign") or report_benign:
                germline.append({"annotation": ann, "call": call, "classification": classification})
        if sample.specimen_type in GERMLINE_SPECIMENS and not sample.control:
            continue  # a germline test reports constitutional findings only
        known_benign = classification is not None and classification.classification in ("benign", "likely_benign")
        # the rows matching may use (oncogenic variants, P/LP germline classes): tiers and therapies read the same
        evidence = evidence_for_finding(kb, ann, sample.oncotree_code,
                                        classification.classification if classification else None)
        tier = somatic_tier(ann, evidence, sample.oncotree_code, tumour_lineage=lineage, known_benign=known_benign,
                            standard_drugs=standard_drugs(sample.oncotree_code, kb, ann.gene))
        somatic.append({"annotation": ann, "call": call, "tier": tier.tier, "tier_reason": tier.reason})

    actionable: list[Annotation] = [s["annotation"] for s in somatic if s["tier"] in ("I-A", "I-B", "II-C", "II-D")]
    if consent == "yes":  # without consent no germline finding reaches the therapies (their JSON is delivered too)
        actionable += [
            g["annotation"] for g in germline if g["classification"].classification in REPORTED_GERMLINE
        ]
    hotspots = read_hotspot_table(files.hotspots).get(sample.sample_id, []) if files.hotspots else []
    # a hotspot outside the sample's panels was not tested: it is not "not assessable" either
    tested = {h.hotspot_id for h in load_hotspots() if h.panel in sample.panels}
    hotspots = [h for h in hotspots if h.hotspot_id in tested]
    if qc.get("status") != "pass":  # a failed sample carries no therapy rows anywhere
        result = build_result(block, qc, provenance=provenance, assay=assay, reported_date=reported_date)
        return Assembled(result, records)
    annotations = tuple(_unique(actionable))
    cnv = read_tsv(files.cnv) if files.cnv is not None and files.cnv.exists() else None
    findings = SampleFindings(
        annotations=annotations, germline=germline_classes, hotspots=tuple(hotspots),
        copy_number=amplified_genes(cnv), copy_number_losses=germline_losses(cnv, sample.specimen_type, consent),
        specimen_type=sample.specimen_type, stated_lod=stated_lod,
        phases=phases_from_reads(files.bam, phase_pairs(annotations, sample.oncotree_code, kb)),
    )
    therapies = match_therapies(findings, sample.oncotree_code, kb, formulary,
                                line_of_therapy=sample.line_of_therapy)
    result = build_result(
        block, qc, somatic=somatic, germline=germline, hotspots=hotspots, therapies=therapies,
        provenance=provenance, assay=assay, reported_date=reported_date,
        negative_biomarkers=negative_results(findings, oncotree_code=sample.oncotree_code, kb=kb), copy_number=cnv,
    )  # fmt: skip
    if sample.specimen_type == "plasma_cfdna":  # molecules, cfDNA input, ctDNA detected or not, CH genes
        result["plasma"] = plasma_block(sample, files.umi, result)
    document = sample_document(sample.sample_id, sample.oncotree_code, therapies, kb)
    return Assembled(result, records, document)


def amplified_genes(cnv: CnvTable | None) -> tuple[str, ...]:
    """Genes the sample's copy-number table calls amplified (matched through the knowledge base)."""
    if cnv is None or cnv.header.get("amplification_status") != "amplified":
        return ()
    return (cnv.header["amplification_gene"],)


def germline_losses(cnv: CnvTable | None, specimen_type: str, consent: str,
                    rules: ClassificationSettings | None = None) -> tuple[CopyNumberLoss, ...]:
    """The loss-of-function calls (config/cnv.yaml classification.loss_of_function: deletions, never duplications)
    of the sample's copy-number table, classified like a deletion of the same exons from a VCF. None from a tumour
    sample (BRCA copy number not tested) or without germline consent (no germline finding reaches the therapies)."""
    if cnv is None or specimen_type not in GERMLINE_SPECIMENS or consent != "yes":
        return ()
    kinds = (rules or load_cnv_settings().classification).loss_of_function
    losses = []
    for call in cnv.calls:
        if call.kind in kinds:
            annotation = call_annotation(call)
            losses.append(CopyNumberLoss(call.name, annotation, classify_germline(annotation).classification))
    return tuple(losses)


def phases_from_reads(bam: Path | None, pairs: list[tuple[Annotation, Annotation]]) -> dict[tuple[str, str], str]:
    """Phase of each pair from the reads spanning both ("not determined" without a BAM or a spanning read)."""
    if bam is None or not bam.exists() or not pairs:
        return {}
    return {tuple(sorted((a.variant.key, b.variant.key))): phase_snvs(bam, a.variant, b.variant).status  # type: ignore
            for a, b in pairs}


def _unique(annotations: list[Annotation]) -> list[Annotation]:
    seen: set[Variant] = set()
    out = []
    for a in annotations:
        if a.variant not in seen:
            seen.add(a.variant)
            out.append(a)
    return out


def write_outputs(assembled: Assembled, sample_id: str, result_json: Path, table_tsv: Path, table_parquet: Path,
                  therapies_json: Path) -> str:
    """Write the annotated table, the therapy document and the result JSON (atomically); returns its SHA-256."""
    for path in (result_json, table_tsv, table_parquet, therapies_json):
        path.parent.mkdir(parents=True, exist_ok=True)
    write_table(assembled.annotated, tsv=table_tsv, parquet=table_parquet, sample_id=sample_id)
    document = assembled.therapy_document or {  # a failed or held sample: no therapy is matched, and it says why
        "sample_id": sample_id,
        "oncotree_code": assembled.result["sample"]["oncotree_code"],
        "status": assembled.result["status"],
        "no_matched_therapy": True,
        "therapies": [],
    }
    tmp = therapies_json.with_name(therapies_json.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    tmp.replace(therapies_json)
    return write_result(assembled.result, result_json)


def failed_rules(snakemake_log: str) -> dict[str, list[str]]:
    """{sample: [rules that failed for it]} from a Snakemake log.

    Snakemake 9's "Error in rule X:" block names the job id but not its wildcards; those are in the block that
    started the job ("jobid: N" ... "wildcards: sample=S"), so the sample is looked up by job id (a wildcards
    line inside the error block, as older versions wrote, is read too)."""
    failed: dict[str, list[str]] = {}
    sample_of_job: dict[str, str] = {}
    rule = jobid = None  # rule: the failed rule whose sample is still to be found

    def record(sample: str) -> None:
        nonlocal rule
        failed.setdefault(sample, []).append(rule)
        rule = None

    for line in (raw.strip() for raw in snakemake_log.splitlines()):
        if line.startswith("Error in rule "):
            rule, jobid = line.removeprefix("Error in rule ").rstrip(":"), None
        elif line.startswith("jobid:"):
            jobid = line.removeprefix("jobid:").strip()
            if rule and jobid in sample_of_job:
                record(sample_of_job[jobid])
        elif line.startswith("wildcards:"):
            values = dict(item.strip().partition("=")[::2] for item in line.removeprefix("wildcards:").split(","))
            if "sample" in values:
                if jobid:
                    sample_of_job[jobid] = values["sample"]
                if rule:
                    record(values["sample"])
    return failed


def failed_result(sample: Sample, reasons: list[str], provenance: dict | None = None, reported_date: str = "") -> dict:
    """The result of a sample whose analysis stopped (a tool, the software, the disk): the analysis is incomplete
    and the lab re-runs it; no new specimen. ``reasons`` are what the clinician may read (no exception text)."""
    qc = {"status": "fail", "failure_stage": "pipeline", "reasons": reasons, "metrics": {}, "gates": [], "genes": {}}
    failure = {"stage": "pipeline", "kind": FailureKind.ANALYSIS_INCOMPLETE, "reasons": reasons}
    return build_result(sample_block(sample, sample.germline_consent), qc, provenance=provenance or {},
                        failure=failure, reported_date=reported_date)  # fmt: skip
