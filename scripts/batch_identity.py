"""Snakemake adapter: the batch's concordance, cross-talk and run-control verdicts (held or released)."""

import contextlib
import json
from pathlib import Path

from oncopanel.errors import InputError
from oncopanel.sample_identity.controls import load_run_result
from oncopanel.sample_identity.criteria import load_criteria
from oncopanel.sample_identity.summary import batch_identity, write_batch_identity

smk = snakemake  # noqa: F821 (injected by Snakemake)
inp = smk.input
with_bam = set(smk.params.with_bam)
identity_jsons = {Path(p).name.removesuffix(".identity.json"): p for p in inp.identity}
run_results = {}
for sid in smk.params.controls:
    if sid in with_bam:
        files = {Path(p).name: p for p in inp.control_files}  # the control's own qc, hotspots and calls
        run_results[sid] = load_run_result(
            sid, qc_json=files[f"{sid}.qc.json"], hotspots_tsv=files[f"{sid}.hotspots.tsv"],
            calls_vcf=files[f"{sid}.vcf.gz"],
        )  # fmt: skip
    else:  # no usable reads at all: an empty no-template control is exactly that
        run_results[sid] = load_run_result(sid, reads=0)
for path in getattr(inp, "patient_qc", []):  # patients' reads only: the NTC's ceiling is 1% of their median
    sid = Path(path).name.removesuffix(".qc.json")
    with contextlib.suppress(InputError):  # a QC document without a read count adds nothing to the median
        run_results[sid] = load_run_result(sid, qc_json=path)
demux = json.loads(Path(inp.demux).read_text()) if hasattr(inp, "demux") else None
summary = batch_identity(
    smk.params.samples, identity_jsons, run_results, demux_report=demux, criteria=load_criteria(inp.criteria)
)
write_batch_identity(smk.output[0], summary)
Path(smk.log[0]).write_text(json.dumps({"batch_held": summary["batch_held"], "held": summary["held_samples"]}) + "\n")
