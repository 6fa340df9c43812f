"""Snakemake adapter: the run's provenance (code revision, reference, knowledge base, annotation data,
configuration checksums, the run-level jobs' tool versions); oncopanel.provenance.build_provenance."""

import json
from pathlib import Path

from oncopanel.annotate.transcripts import data_version
from oncopanel.provenance import build_provenance, file_checksums

smk = snakemake  # noqa: F821 (injected by Snakemake)
checksums = json.loads(Path(smk.input.checksums).read_text())
kb_meta = json.loads(Path(smk.input.kb[1]).read_text())
provenance = build_provenance(
    reference={"name": Path(smk.params.reference).name, "checksum": checksums["sequence_digest"]},
    knowledge_base={"version": kb_meta["version"], "checksum": kb_meta["checksum_sha256"]},
    annotation_version=data_version(),
    config_checksums=file_checksums(smk.input.configuration),
    effective_config_sha256=smk.params.config_sha256,
    run_tool_logs=smk.params.tool_logs,
)
tmp = Path(smk.output[0] + ".tmp")
tmp.write_text(json.dumps(provenance, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
tmp.replace(smk.output[0])
summary = {key: provenance[key] for key in ("code_revision", "tools")}
Path(smk.log[0]).write_text(json.dumps(summary) + "\n")
