"""Snakemake adapter: one sample's annotated calls, therapies and result JSON."""

import json
from datetime import date
from pathlib import Path

from oncopanel.assemble import SampleFiles, assemble, write_outputs
from oncopanel.knowledge import KnowledgeBase, load_formulary
from oncopanel.panels import load_panels

smk = snakemake  # noqa: F821 (injected by Snakemake)
sample = smk.params.sample
inp = smk.input
files = SampleFiles(
    qc=Path(inp.qc),
    input_check=Path(inp.check),
    vcf=Path(inp.vcf) if hasattr(inp, "vcf") else None,
    hotspots=Path(inp.hotspots) if hasattr(inp, "hotspots") else None,
    batch_identity=Path(inp.batch_identity),
)
panels = load_panels()
assembled = assemble(
    sample,
    files,
    KnowledgeBase.load(),
    load_formulary(Path(smk.params.formulary)),
    json.loads(Path(inp.provenance).read_text()),
    consent=sample.germline_consent,
    stated_lod=min(panels[p].stated_lod for p in sample.panels),
    report_benign=smk.params.report_benign,
    reported_date=smk.params.report_date or date.today().isoformat(),
)
sha = write_outputs(
    assembled,
    sample.sample_id,
    Path(smk.output.result),
    Path(smk.output.table_tsv),
    Path(smk.output.table_parquet),
    Path(smk.output.therapies),
)
Path(smk.log[0]).write_text(f"{sample.sample_id}: {assembled.result['status']} result sha256 {sha}\n")
