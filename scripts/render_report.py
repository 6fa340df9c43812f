"""Snakemake adapter: render one clinician PDF; identity joins here, from the protected manifest, and nowhere else."""

from pathlib import Path

from oncopanel.report import load_identity_manifest, load_result, render_pdf

smk = snakemake  # noqa: F821 (injected by Snakemake)
result = load_result(smk.input.result)
identity = None
if hasattr(smk.input, "identity"):
    identity = load_identity_manifest(smk.input.identity).get(smk.wildcards.sample)
tmp = Path(smk.output[0] + ".tmp.pdf")
render_pdf(result, tmp, language=smk.params.language, identity=identity, centre=dict(smk.params.centre))
tmp.replace(smk.output[0])
# The log names the sample by pseudonym only.
Path(smk.log[0]).write_text(
    f"{smk.wildcards.sample}: {result['status']} report ({smk.params.language}), identity joined: {bool(identity)}\n"
)
