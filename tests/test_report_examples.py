"""The shipped report examples (reports/examples/, rendered by `make demo` and copied by `make examples`): one VAF per
variant in every PDF, and each still verifies against its result."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from oncopanel.report import load_result
from oncopanel.report.model import SCHEMA_VERSION
from oncopanel.report.pdf import pct
from oncopanel.report.result import result_sha256
from oncopanel.report.text import load_text
from oncopanel.verify import pdf_result_sha256

EXAMPLES = Path(__file__).parent.parent / "reports" / "examples"
PDFS = sorted(EXAMPLES.glob("demo_*.pdf"))


def flat_text(pdf: Path) -> str:
    raw = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return re.sub(r"\s+", "", raw)


def flat(s: str) -> str:
    return re.sub(r"\s+", "", s)


def test_the_examples_are_there():
    assert {p.name for p in PDFS} >= {"demo_DEMO-T01.pdf", "demo_DEMO-T03.pdf"}


@pytest.mark.parametrize("pdf", PDFS, ids=lambda p: p.stem)
def test_each_variant_shows_one_vaf(pdf):
    """A somatic finding at a hotspot prints the same fragments, depth and VAF in the findings table as in the
    hotspot table (both counted by oncopanel.counting); no other VAF of it appears."""
    result = load_result(pdf.with_suffix(".result.json"))
    texts = [load_text(lang) for lang in ("en", "zh")]  # a sample without a language gets the centre's
    text = flat_text(pdf)
    paired = 0
    for h in (h for h in result.hotspots if h.status == "detected"):
        forms = set(h.observed.split(";"))
        matches = [
            f for f in result.somatic
            if f.gene == h.gene and f.reported and ({f.protein_change, f.hgvs_c} & forms)
        ]  # fmt: skip
        assert matches, f"{pdf.name}: hotspot {h.hotspot_id} detected ({h.observed}) but no finding shown for it"
        for f in matches:
            paired += 1
            assert (f.alt_depth, f.depth) == (h.alt_count, h.depth), f"{pdf.name}: {f.gene} {f.protein_change}"
            assert pct(f.vaf) == pct(h.vaf)
            # what the PDF prints: the findings row (VAF, alt/total) and the hotspot row (VAF, its interval)
            assert flat(f"{pct(f.vaf)} {f.alt_depth}/{f.depth}") in text
            rows = [
                t("negatives.detected_detail", vaf=pct(h.vaf), low=pct(h.vaf_ci_low), high=pct(h.vaf_ci_high),
                  observed=f" {h.observed}")
                for t in texts
            ]  # fmt: skip
            assert any(flat(row) in text for row in rows), rows
    if result.status == "reported" and any(h.status == "detected" for h in result.hotspots):
        assert paired


@pytest.mark.parametrize("pdf", PDFS, ids=lambda p: p.stem)
def test_each_example_was_rendered_from_its_result(pdf):
    """The PDF carries the SHA-256 of the result beside it (what `oncopanel verify` checks first; the demo's audit
    log is not shipped, so the anchor check of a 1.1 result cannot run here)."""
    result = load_result(pdf.with_suffix(".result.json"))
    assert result.schema_version == SCHEMA_VERSION
    assert pdf_result_sha256(pdf) == result_sha256(result)
