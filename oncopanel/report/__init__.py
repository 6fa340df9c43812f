"""Reporting: the versioned result document, the clinician PDF (zh/en) and the lab's batch summary.

build_result(...) -> dict            oncopanel.report.result (schema: workflow/schemas/result.schema.json)
write_result(result, path) -> sha256
render_pdf(result, out_pdf, language="en"|"zh", identity=None, centre=None, amends=None)
render_batch_summary(results, out_html, costs=None)
"""

from oncopanel.report.batch import render_batch_summary
from oncopanel.report.identity import load_identity_manifest
from oncopanel.report.pdf import render_pdf
from oncopanel.report.result import build_result, load_result, result_sha256, validate_result, write_result

__all__ = [
    "build_result",
    "load_identity_manifest",
    "load_result",
    "render_batch_summary",
    "render_pdf",
    "result_sha256",
    "validate_result",
    "write_result",
]
