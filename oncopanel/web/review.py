"""From a reviewed result to the signed version: decisions applied, matching re-run, released, rendered, audited.

A rejected finding leaves the released result (and so the report); the therapies are matched again on the findings
that remain with the knowledge base of the draft (``oncopanel.knowledge.match_therapies``: the same matcher the
workflow ran, refused when the installed knowledge base is not the draft's version), linked and decided by the
same result code (``oncopanel.report.result.therapy_block``, ``oncopanel.report.decisions.decide``) under the
policy the draft recorded. The reviewer's and signer's names and times, every decision with its reason and the
interpretation comments go into the result's ``signoff`` block, so the signed version's checksum (printed on its
PDF, anchored in the audit log, checked by `oncopanel verify`) covers them.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from oncopanel import audit
from oncopanel.errors import OncopanelError
from oncopanel.failures import is_provisional
from oncopanel.model import Annotation, HotspotResult, Variant
from oncopanel.release import VERSION_FILES, Release, _atomic_copy, _now, clinical_digest
from oncopanel.report.decisions import ReportingPolicy, decide
from oncopanel.report.model import SampleResult, as_result
from oncopanel.report.result import therapy_block, write_result

# The somatic tiers the workflow matches therapies on (oncopanel.assemble, result tier spelling).
ACTIONABLE_TIERS = ("IA", "IB", "IIC", "IID", "I-A", "I-B", "II-C", "II-D")


class ReviewError(OncopanelError):
    """A review action that cannot be carried out as asked (the page says why)."""


@dataclass(frozen=True)
class Decision:
    finding_id: str
    finding: str
    decision: str  # confirmed | rejected
    reason: str
    by: str
    at: str


@dataclass(frozen=True)
class Note:
    language: str
    text: str
    by: str
    at: str


@dataclass(frozen=True)
class Finding:
    """A finding the reviewer decides on: its id in the result, what it is, and in which section."""

    id: str
    name: str
    section: str  # somatic | germline | copy_number | amplification
    negative: bool = False  # nothing to act on (not reported, benign, below reporting)


def findings_of(result: SampleResult) -> list[Finding]:
    """Every finding of a result the reviewer confirms or rejects."""
    out = [Finding(v.id, f"{v.name} ({v.tier})", "somatic", negative=not v.reported) for v in result.somatic]
    out += [Finding(g.id, f"{g.name} ({g.classification})", "germline",
                    negative=g.classification in ("benign", "likely_benign")) for g in result.germline.findings]
    cn = result.copy_number
    if cn is not None:
        out += [Finding(e.id, f"{e.gene} {e.description} ({e.classification})", "copy_number") for e in cn.events]
        if cn.amplification is not None and cn.amplification.status == "amplified":
            out.append(Finding(cn.amplification.id, f"{cn.amplification.gene} amplification", "amplification"))
    return out


def _annotation(v: Mapping) -> Annotation:
    locus = v["variant"]
    return Annotation(
        variant=Variant(locus["chrom"], int(locus["pos"]), locus["ref"], locus["alt"]), gene=v["gene"],
        transcript=v["transcript"], consequence=tuple(v["consequence"]), hgvs_c=v["hgvs_c"],
        hgvs_p=v.get("hgvs_p", ""), exon=v.get("exon") or "", intron=v.get("intron") or "",
        hgvs_g=v.get("hgvs_g") or "", protein_change=v.get("protein_change") or "",
    )  # fmt: skip


def _hotspot(h: Mapping) -> HotspotResult:
    names = {f.name for f in dataclasses.fields(HotspotResult)}
    return HotspotResult(**{k: v for k, v in h.items() if k in names})


def rematch(doc: dict, *, bam: Path | None, cnv_table: Path | None) -> dict:
    """Therapies matched again on the findings ``doc`` still has, with the draft's knowledge-base version."""
    from oncopanel.assemble import germline_losses, phases_from_reads
    from oncopanel.clinical import REPORTED_GERMLINE
    from oncopanel.cnv.records import read_tsv
    from oncopanel.knowledge import KnowledgeBase, match_therapies
    from oncopanel.knowledge.matching import SampleFindings, load_formulary, phase_pairs

    kb = KnowledgeBase.load()
    wanted = doc["provenance"]["knowledge_base"].get("version", "")
    if kb.version != wanted:
        raise ReviewError(
            f"the draft was matched with knowledge base {wanted}, this installation has {kb.version}: matching "
            "cannot be re-run with the draft's version (re-run the workflow, then review the new draft)"
        )
    s = doc["sample"]
    consent = doc["germline"]["consent"]
    somatic = [v for v in doc["somatic"] if v.get("variant") and v["tier"] in ACTIONABLE_TIERS and v["reported"]]
    germline = doc["germline"]["findings"]
    annotations = [_annotation(v) for v in somatic]
    if consent == "yes":
        annotations += [_annotation(g) for g in germline if g["classification"] in REPORTED_GERMLINE and g["variant"]]
    annotations = list(dict.fromkeys(annotations))
    germline_classes = {_annotation(g).variant.key: g["classification"] for g in germline if g.get("variant")}
    cn = doc.get("copy_number") or {}
    amp = cn.get("amplification") or {}
    amplified = (amp["gene"],) if amp.get("status") == "amplified" else ()
    kept_events = {e["name"] for e in cn.get("events", [])}
    cnv = read_tsv(cnv_table) if cnv_table is not None else None
    losses = tuple(x for x in germline_losses(cnv, s["specimen_type"], consent) if x.name in kept_events)
    findings = SampleFindings(
        annotations=tuple(annotations), germline=germline_classes,
        hotspots=tuple(_hotspot(h) for h in doc["hotspots"]), copy_number=amplified, copy_number_losses=losses,
        specimen_type=s["specimen_type"], stated_lod=doc["assay"].get("stated_lod"),
        phases=phases_from_reads(bam, phase_pairs(tuple(annotations), s["oncotree_code"], kb)),
    )  # fmt: skip
    therapies = match_therapies(findings, s["oncotree_code"], kb, load_formulary(),
                                line_of_therapy=s.get("line_of_therapy", ""))
    links = [v for v in doc["somatic"] if v["reported"]] + [g for g in germline
                                                           if g["classification"] in REPORTED_GERMLINE]
    if amplified:
        links.append({"id": amp["id"], "gene": amp["gene"], "variant": None, "key": f"{amp['gene']} Amplification"})
    links += [{"id": e["id"], "gene": e["gene"], "variant": None, "key": e["name"]} for e in cn.get("events", [])]
    withheld = {g["gene"] for g in germline} if not doc["germline"]["reported"] else set()
    doc["therapies"] = therapy_block(therapies, links, withheld)
    return doc


def apply_decisions(base: SampleResult, decisions: Sequence[Decision], *, bam: Path | None = None,
                    cnv_table: Path | None = None) -> dict:
    """The base result without its rejected findings, therapies matched again when any was rejected, and every
    reporting decision made again under the draft's own policy."""
    doc = copy.deepcopy(base.to_dict())
    for key in (audit.ANCHOR_HEAD, audit.ANCHOR_INDEX, "report_version"):
        doc["provenance"].pop(key, None)
    rejected = {d.finding_id for d in decisions if d.decision == "rejected"}
    if not rejected or base.failed:
        return doc
    doc["somatic"] = [v for v in doc["somatic"] if v["id"] not in rejected]
    doc["germline"]["findings"] = [g for g in doc["germline"]["findings"] if g["id"] not in rejected]
    cn = doc.get("copy_number")
    if cn:
        cn["events"] = [e for e in cn["events"] if e["id"] not in rejected]
        if cn.get("amplification") and cn["amplification"]["id"] in rejected:
            del cn["amplification"]
    doc = rematch(doc, bam=bam, cnv_table=cnv_table)
    policy = base.reporting.policy.to_dict() if base.reporting else None
    decided = decide(doc, ReportingPolicy(**{k: tuple(v) if isinstance(v, list) else v for k, v in policy.items()})
                     if policy else ReportingPolicy())  # fmt: skip
    return decided.to_dict()


def turnaround_days(received_date: str, signed_at: datetime) -> int | None:
    """Whole days from the sample's receipt to its signature (the centre's promise to the county hospitals)."""
    try:
        received = date.fromisoformat(received_date)
    except (TypeError, ValueError):
        return None
    return (signed_at.date() - received).days


@dataclass(frozen=True)
class Signing:
    reviewer: str
    reviewed_at: datetime
    signer: str
    signed_at: datetime
    decisions: Sequence[Decision]
    notes: Sequence[Note]
    based_on_version: int
    amend_reason: str = ""  # set for a change after a signed release


def signoff_block(s: Signing, received_date: str) -> dict:
    return {
        "reviewed_by": s.reviewer, "reviewed_at": s.reviewed_at.isoformat(),
        "signed_by": s.signer, "signed_at": s.signed_at.isoformat(),
        "based_on_version": s.based_on_version,
        "decisions": [dataclasses.asdict(d) for d in s.decisions],
        "comments": [dataclasses.asdict(n) for n in s.notes],
        "turnaround_days": turnaround_days(received_date, s.signed_at),
    }  # fmt: skip


def release_signed(record: Release, base: SampleResult, signing: Signing, render: Callable[[Path, Path], None],
                   audit_log: Path, *, bam: Path | None = None, cnv_table: Path | None = None,
                   actor: str = "") -> tuple[int, str]:
    """Release the signed version of a sample as the next version of its release record; returns (version, the
    result's SHA-256). The workflow's version stays kept, and is marked superseded by this one."""
    doc = apply_decisions(base, signing.decisions, bam=bam, cnv_table=cnv_table)
    current = record.current
    if current is None:
        raise ReviewError(f"sample {record.sample_id}: nothing released to sign")
    version = len(record.versions) + 1
    doc["signoff"] = signoff_block(signing, doc["sample"].get("received_date", ""))
    if signing.amend_reason:
        doc["amendment"] = {"supersedes": f"{doc['report_id']} v{current['version']}", "reason": signing.amend_reason}
    else:  # the first signature replaces the unsigned draft version: not an amendment of a released report
        doc["amendment"] = None
    doc["reported_date"] = signing.signed_at.date().isoformat()
    doc["provenance"]["report_version"] = version
    anchor = audit.record_release(
        audit_log, record.sample_id, audit.result_digest(doc), report_id=doc["report_id"], version=version,
        web_user=actor, signed_by=signing.signer, reviewed_by=signing.reviewer,
        rejected=[d.finding_id for d in signing.decisions if d.decision == "rejected"],
        amendment_reason=signing.amend_reason,
    )  # fmt: skip
    doc = audit.with_anchor(doc, anchor)
    kept = record.version_dir(version)
    kept.mkdir(parents=True, exist_ok=True)
    try:
        sha = write_result(doc, kept / "result.json")
        base_dir = record.version_dir(signing.based_on_version)
        for name, key in VERSION_FILES.items():
            if key not in ("result", "pdf") and (base_dir / name).exists():
                _atomic_copy(base_dir / name, kept / name)
        if any(d.decision == "rejected" for d in signing.decisions):
            (kept / "therapies.json").write_text(json.dumps({"sample_id": record.sample_id, "note":
                "therapies re-matched after review: see result.json", "therapies": doc["therapies"]},
                indent=2, ensure_ascii=False, sort_keys=True) + "\n")  # fmt: skip
        render(kept / "result.json", kept / "report.pdf")
    except BaseException as exc:
        # no half-written version stays: the index never listed it; the log says the release did not complete
        shutil.rmtree(kept, ignore_errors=True)
        audit.append(audit_log, "web_release_abandoned", {"sample_id": record.sample_id, "version": version,
                                                          "web_user": actor, "error": type(exc).__name__})
        raise
    bare = {k: v for k, v in doc.items() if k != "signoff"}
    current["superseded_by"] = version
    record.versions.append({
        "version": version, "released_at": _now(), "status": doc["status"], "kind": as_result(doc).failure_kind,
        "provisional": is_provisional(doc), "result_sha256": sha, "clinical_sha256": clinical_digest(bare),
        "amendment_reason": signing.amend_reason, "lab_detail": [],
        "signoff": {"signed_by": signing.signer, "signed_at": signing.signed_at.isoformat()},
    })  # fmt: skip
    record.index["pending"] = None
    record.save()
    record.restore()
    return version, sha
