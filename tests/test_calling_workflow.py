"""workflow/rules/calling.smk end to end through Snakemake, on the fixture BAMs (tests/data/calling/Snakefile)."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pysam
import pytest

from oncopanel.calling.window import read_windows

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = ROOT / ".venv" / "bin" / "snakemake"
HARNESS = ROOT / "tests" / "data" / "calling" / "Snakefile"
REF = ROOT / "resources" / "reference" / "grch38_panel_masked.fa.gz"


@pytest.mark.skipif(not SNAKEMAKE.exists() or not REF.exists(), reason="needs snakemake and the reference")
def test_calling_rules_lint(tmp_path):
    """calling.smk itself draws no lint (the harness's stand-in rules do, and are not checked)."""
    out = subprocess.run(
        [str(SNAKEMAKE), "-s", str(HARNESS), "--configfile", str(ROOT / "config" / "calling.yaml"),
         "--config", f"results={tmp_path}", f"reference_fasta={REF}", "--lint"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    text = out.stdout + out.stderr
    assert "Lints for rule fixture_bam" in text, text[-2000:]  # lint ran over the harness
    assert "calling.smk" not in text, text


@pytest.mark.long
@pytest.mark.skipif(shutil.which("freebayes") is None, reason="needs freebayes")
def test_calling_rules_end_to_end(tmp_path):
    out = subprocess.run(
        [str(SNAKEMAKE), "-s", str(HARNESS), "--configfile", str(ROOT / "config" / "calling.yaml"),
         "--directory", str(tmp_path), "--config", f"results={tmp_path}/results", f"reference_fasta={REF}",
         "--cores", "2"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    res = tmp_path / "results"
    for sample in ("TUMOUR1", "BLOOD1", "NORMAL1", "NORMAL2", "NORMAL3", "EMPTY1"):
        assert (res / "calls" / f"{sample}.vcf.gz.tbi").exists()
        assert (res / "hotspots" / f"{sample}.hotspots.tsv").exists()
    with pysam.VariantFile(str(res / "calls" / "TUMOUR1.vcf.gz")) as vf:
        recs = {(r.chrom, r.pos, r.ref, r.alts[0]): r for r in vf}
    # freebayes read its regions' own reference (rule calling_regions): those regions' contigs only, each cut past
    # its last region, so a tumour does not load the contigs and lengths of panels it does not carry; and this
    # fixture's few reads were moved to the regions' windows (oncopanel.calling.window), so it read only those
    with gzip.open(res / "calls" / "raw" / "TUMOUR1.freebayes.vcf.gz", "rt") as fh:
        header = [line.strip() for line in fh if line.startswith("##")]
    assert "##reference=windows.fa" in header
    named = next(h for h in header if h.startswith("##oncopanel_freebayes_windows=")).split("=", 1)[1]
    window_tsv = next(t for t in (res / "calls" / "regions").glob("*.somatic.window.tsv")
                      if ",".join(f"{c}:{s + 1}-{e}" for c, (s, e) in read_windows(t).items()) == named)  # fmt: skip
    fb_ref = window_tsv.with_name(window_tsv.name.replace(".window.tsv", ".fa"))
    regions = [line.split("\t") for line in fb_ref.with_suffix(".bed").read_text().splitlines()]
    kept = dict(line.split("\t")[:2] for line in Path(f"{fb_ref}.fai").read_text().splitlines())
    assert set(kept) == {r[0] for r in regions}
    assert all(int(kept[c]) <= max(int(r[2]) for r in regions if r[0] == c) + 100_000 for c in kept)
    windows = read_windows(window_tsv)
    assert set(windows) == set(kept)
    for c, (start, end) in windows.items():  # each window is its contig's regions and 10 kb either side
        assert start == max(0, min(int(r[1]) for r in regions if r[0] == c) - 10_000)
        assert end == min(int(kept[c]), max(int(r[2]) for r in regions if r[0] == c) + 10_000)
    kras = recs[("chr12", 25245350, "C", "T")]
    assert list(kras.filter.keys()) == ["PASS"] and kras.info["HOTSPOT"] == "KRAS_G12"
    assert list(recs[("chr7", 140753300, "T", "C")].filter.keys()) == ["pon"]  # 4 blood/saliva normals in B1
    with pysam.VariantFile(str(res / "calls" / "EMPTY1.vcf.gz")) as vf:
        assert list(vf) == [] and "EMPTY1" in vf.header.samples
    summary = json.loads((res / "calls" / "EMPTY1.calling.json").read_text())
    assert summary["records"] == 0
    hot = (res / "hotspots" / "EMPTY1.hotspots.tsv").read_text().splitlines()[1:]
    assert hot and all("\tnot_assessable\t" in line for line in hot)
