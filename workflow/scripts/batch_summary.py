"""Snakemake adapter: the lab's batch summary (HTML, with the run controls), the ledger, the therapy table and the
hotspot table (every called sample's, one Parquet file)."""

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import pandas as pd

from oncopanel.batch.lab import load_lab_config
from oncopanel.batch.ledger import batch_ledger, write_ledger
from oncopanel.hotspots import write_hotspot_parquet
from oncopanel.report import load_result, render_batch_summary
from oncopanel.report.batch import signed_dates

smk = snakemake  # noqa: F821 (injected by Snakemake)
results = [load_result(p) for p in smk.input.results]  # patients only: run controls have no result document
identities = [json.loads(Path(p).read_text()) for p in smk.input.batch_identity]
control_qc = {Path(p).name.removesuffix(".qc.json"): json.loads(Path(p).read_text()) for p in smk.input.control_qc}
reported = {r.sample.sample_id: dt.date.fromisoformat(r.reported_date) for r in results if r.reported_date}
lab = load_lab_config(smk.input.lab)
benchmarks = sorted(Path(smk.params.benchmarks).rglob("*.tsv"))
by_batch = defaultdict(list)
for s in smk.params.samples:
    by_batch[s.batch].append((s.sample_id, s.site, s.received_date, s.panels))
controls = {s.sample_id for s in smk.params.samples if s.is_control}
signed = signed_dates(results)  # drafts: none yet; `oncopanel summary --results DIR` after sign-off fills them
ledger = []
for batch, members in sorted(by_batch.items()):
    ids = {m[0] for m in members}
    mine = [b for b in benchmarks if ids & {*b.parts, b.stem, b.name.split(".")[0]}]
    ledger += batch_ledger(
        members, batch, lab, mine, {k: v for k, v in reported.items() if k in ids}, controls=controls & ids,
        signed={k: v for k, v in signed.items() if k in ids},
    )
write_ledger(ledger, smk.output.ledger)
costs = {row.sample_id: {"total": row.total, "run_share": row.run_share, "compute": row.compute} for row in ledger}
render_batch_summary(
    results, Path(smk.output.html), costs=costs, language=smk.params.language,
    batch_identities=identities, control_qc=control_qc,
    promised_days=lab.turnaround_days.get("routine"),  # the turnaround picture's line
)  # fmt: skip
rows = []
for path in smk.input.therapies:
    doc = json.loads(Path(path).read_text())
    if doc.get("status") in ("failed", "held"):  # a failed or held sample carries no therapy row, not even "none"
        continue
    for therapy in doc.get("therapies") or [{"regimen": "no matched therapy"}]:
        rows.append(
            {
                "sample_id": doc["sample_id"],
                "oncotree_code": doc["oncotree_code"],
                "kb_version": doc.get("knowledge_base", {}).get("version", ""),
                **{k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
                   for k, v in therapy.items()},
            }
        )
pd.DataFrame(rows).to_parquet(smk.output.therapies, index=False)
write_hotspot_parquet(smk.input.hotspots, smk.output.hotspots)
Path(smk.log[0]).write_text(f"{len(results)} results, {len(rows)} therapy rows\n")
