"""Snakemake adapter: the lab's batch summary (HTML) and the batch therapy table (Parquet)."""

import json
from pathlib import Path

import pandas as pd

from oncopanel.report import load_result, render_batch_summary

smk = snakemake  # noqa: F821 (injected by Snakemake)
results = [load_result(p) for p in smk.input.results]
render_batch_summary(results, Path(smk.output.html), language=smk.params.language)
rows = []
for path in smk.input.therapies:
    doc = json.loads(Path(path).read_text())
    for therapy in doc["therapies"] or [{"regimen": "no matched therapy"}]:
        rows.append(
            {
                "sample_id": doc["sample_id"],
                "oncotree_code": doc["oncotree_code"],
                "kb_version": doc["knowledge_base"]["version"],
                **{k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v for k, v in therapy.items()},
            }
        )
pd.DataFrame(rows).to_parquet(smk.output.therapies, index=False)
Path(smk.log[0]).write_text(f"{len(results)} results, {len(rows)} therapy rows\n")
