"""Reporting: the versioned result document, the clinician PDF (zh/en) and the lab's batch summary.

build_sample_result(...) -> SampleResult   the typed model (oncopanel.report.model), reporting decisions made
build_result(...) -> dict                  the same as JSON (schema: workflow/schemas/result.schema.json, "1.1")
load_result(path) -> SampleResult          any supported schema version ("1.0", "1.1"), validated
decided(result) -> SampleResult            its decisions; a 1.0 result decided with the default policy
write_result(result, path) -> sha256
render_pdf(result, out_pdf, language="en"|"zh", identity=None, centre=None, amends=None)
render_batch_summary(results, out_html, costs=None)
"""

from oncopanel.report.batch import render_batch_summary
from oncopanel.report.decisions import DEFAULT_POLICY, ReportingPolicy, decide, decided
from oncopanel.report.identity import load_identity_manifest
from oncopanel.report.model import SampleResult
from oncopanel.report.pdf import render_pdf
from oncopanel.report.result import (
    build_result,
    build_sample_result,
    load_result,
    result_sha256,
    validate_result,
    write_result,
)

__all__ = [
    "DEFAULT_POLICY",
    "ReportingPolicy",
    "SampleResult",
    "build_result",
    "build_sample_result",
    "decide",
    "decided",
    "load_identity_manifest",
    "load_result",
    "render_batch_summary",
    "render_pdf",
    "result_sha256",
    "validate_result",
    "write_result",
]
