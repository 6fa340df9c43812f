"""A synthesised results tree for the application's tests and benchmark: N patient samples cloned from the shipped
report examples (reports/examples/*.result.json, real workflow results), each released as version 1 through the
release record (``oncopanel.release.Release.offer``) with its draft PDF, plus a fake identity manifest and the
batch's run-control verdicts. No reads: the viewer is exercised on the demo batch (`make demo`).
"""

from __future__ import annotations

import copy
import json
from functools import partial
from pathlib import Path

import yaml

from oncopanel.paths import REPORTS

EXAMPLES = ("DEMO-T01", "DEMO-T02", "DEMO-T03", "DEMO-T04")


def example(name: str) -> dict:
    return json.loads((REPORTS / "examples" / f"demo_{name}.result.json").read_text())


def synthesise_tree(out: Path, n: int, *, batch: str = "SYN-01", sites: tuple[str, ...] = ("Anxian County",
                    "Beiling County"), held: bool = False, render: bool = True) -> dict[str, dict]:
    """Write a results tree of ``n`` patient samples under ``out``; returns sample_id → its identity record (the
    manifest written to ``out/identity.yaml``). ``held``: the batch's run controls failed (every sample held)."""
    from oncopanel.deliver import render_report
    from oncopanel.release import Release, draft_paths

    sources = [example(name) for name in EXAMPLES]
    identities: dict[str, dict] = {}
    out.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        doc = copy.deepcopy(sources[(i - 1) % len(sources)])
        sid, patient = f"{batch}-S{i:03d}", f"P{i:05d}"
        site = sites[(i - 1) % len(sites)]
        doc["sample"].update(sample_id=sid, patient=patient, batch=batch, site=site, language="en")
        doc["report_id"] = f"OP-{batch}-{sid}"
        for key in ("audit_head_sha256", "audit_entry_index", "report_version"):
            doc["provenance"].pop(key, None)
        if held:
            doc["status"] = "failed"
            doc["failure"] = {"stage": "held", "kind": "held", "reasons": ["positive control failed"],
                              "gates_failed": []}  # fmt: skip
            doc["somatic"], doc["hotspots"], doc["therapies"] = [], [], []
            doc.pop("negative_biomarkers", None)
        draft = {k: Path(v) for k, v in draft_paths(out, sid).items()}
        for key, path in draft.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            if key == "result":
                from oncopanel.report.decisions import decide

                path.write_text(json.dumps(decide(doc).to_dict() if held else doc, indent=2, ensure_ascii=False))
            else:
                path.write_text("")
        identities[sid] = {
            "sample_id": sid, "patient": patient, "name": f"Synth Patient {i:05d}", "sex": "F",
            "birth_date": "1960-01-01", "resident_id": f"99010119600101{i:04d}", "hospital": f"{site} hospital",
            "record_number": f"MRN-{i:06d}", "ordering_clinician": "Dr Synth", "collection_date": "2026-11-10",
            "receipt_date": doc["sample"]["received_date"], "germline_consent": doc["germline"]["consent"],
        }  # fmt: skip
        renderer = partial(render_report, language="en", centre={}, identity=None) if render else _no_pdf
        Release(out, sid).offer(draft, renderer, out / "audit.log")
    (out / "identity.yaml").write_text(yaml.safe_dump(list(identities.values()), allow_unicode=True))
    (out / "identity.yaml").chmod(0o600)
    ident = out / "identity"
    ident.mkdir(exist_ok=True)
    (ident / f"{batch}.batch_identity.json").write_text(json.dumps({
        "batch": batch, "batch_held": held, "held_samples": [],
        "reasons": ["positive control COLO829T: BRAF V600E not detected"] if held else [],
        "controls": {"controls": {"COLO829T": "fail" if held else "pass", "NTC": "pass"}},
    }))  # fmt: skip
    return identities


def _no_pdf(result_json: Path, pdf: Path) -> None:
    pdf.write_bytes(b"%PDF-1.4\n% placeholder: the benchmark's draft, not rendered\n")


def claim_installed_knowledge_base(tree: Path) -> None:
    """The synthesised drafts claim the installed knowledge base, as a fresh run of the workflow would (the
    examples may predate it; a rejection's re-matching needs the draft's version installed)."""
    from oncopanel.knowledge import KnowledgeBase

    version = KnowledgeBase.load().version
    for path in list(tree.glob("release/*/v1/result.json")):
        doc = json.loads(path.read_text())
        doc["provenance"]["knowledge_base"]["version"] = version
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False))
