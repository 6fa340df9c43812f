"""Snakemake adapter: the batch's provenance (pipeline, reference, knowledge base, annotation data, tools)."""

import json
from pathlib import Path

from oncopanel.annotate.transcripts import data_version
from oncopanel.provenance import pipeline_version, tool_versions

smk = snakemake  # noqa: F821 (injected by Snakemake)
checksums = json.loads(Path(smk.input.checksums).read_text())
kb_meta = json.loads(Path(smk.input.kb[1]).read_text())
provenance = {
    "pipeline_version": pipeline_version(),
    "reference": {"name": Path(smk.params.reference).name, "checksum": checksums["sequence_digest"]},
    "knowledge_base": {"version": kb_meta["version"], "checksum": kb_meta["checksum_sha256"]},
    "annotation": {"version": data_version()},
    "tools": tool_versions(),
}
tmp = Path(smk.output[0] + ".tmp")
tmp.write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
tmp.replace(smk.output[0])
Path(smk.log[0]).write_text(json.dumps(provenance["tools"]) + "\n")
