"""Snakemake adapter: the per-sample QC JSON from the tools' outputs and the config's gates."""

import json
from pathlib import Path

from oncopanel.qc import Gate, summarise

smk = snakemake  # noqa: F821 (injected by Snakemake)
inp = smk.input
check = json.loads(Path(inp.check).read_text())
summary = summarise(
    smk.wildcards.sample,
    check,
    gates=[Gate(g["metric"], g["op"], float(g["threshold"])) for g in smk.params.gates],
    thresholds=list(smk.params.thresholds),
    fastp_jsons=[Path(p) for p in getattr(inp, "fastp", [])],
    samtools_stats=Path(inp.stats) if hasattr(inp, "stats") else None,
    regions_bed=Path(inp.regions) if hasattr(inp, "regions") else None,
    thresholds_bed=Path(inp.thresholds) if hasattr(inp, "thresholds") else None,
    bam_input_stats=[Path(p) for p in getattr(inp, "bam_stats", [])],
)
tmp = Path(smk.output[0] + ".tmp")
tmp.write_text(json.dumps(summary, indent=2) + "\n")
tmp.replace(smk.output[0])
Path(smk.log[0]).write_text(f"{smk.wildcards.sample}: QC {summary['status']}\n" + "\n".join(summary["reasons"]))
