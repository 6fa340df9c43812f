"""The calling commands as subprocess calls, for the benchmark and tests: the same arguments the rules use.

The workflow runs these steps as Snakemake rules (workflow/rules/calling.smk); keep the two in step.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from oncopanel.calling.freebayes import mode_args, target_name_regex
from oncopanel.calling.settings import CallingSettings
from oncopanel.calling.vcf import SampleContext, Summary, finalize


def plain_fasta(bgzipped: Path | str, out: Path | str) -> Path:
    """A plain copy of a bgzipped FASTA with .fai (freebayes 1.3.6 cannot read bgzip); reused when present."""
    out = Path(out)
    if not (out.exists() and Path(f"{out}.fai").exists()):
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + f".tmp{id(out)}")
        with open(tmp, "wb") as fh:
            subprocess.run(["bgzip", "-dc", str(bgzipped)], stdout=fh, check=True)
        tmp.rename(out)
        subprocess.run(["samtools", "faidx", str(out)], check=True)
    return out


def select_targets(targets_bed: Path | str, genes: tuple[str, ...] | None, out_bed: Path | str) -> bool:
    """Write the target rows of ``genes`` (all rows when None), overlaps merged; False when none remain.

    Overlapping targets must be merged: freebayes -t calls an overlapped stretch once per target.
    """
    import re

    regex = re.compile(target_name_regex(genes)) if genes else None
    rows = []
    for line in Path(targets_bed).read_text().splitlines():
        f = line.split("\t")
        if line.strip() and (regex is None or regex.search(f[3])):
            rows.append((f[0], int(f[1]), int(f[2]), f[3]))
    merged = merge_intervals(rows)
    Path(out_bed).write_text("".join(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in merged))
    return bool(merged)


def merge_intervals(rows: list[tuple[str, int, int, str]]) -> list[tuple[str, int, int, str]]:
    """Merge overlapping or touching BED rows per chromosome (the first row's name is kept)."""
    out: list[tuple[str, int, int, str]] = []
    for c, s, e, n in sorted(rows):
        if out and out[-1][0] == c and s <= out[-1][2]:
            out[-1] = (c, out[-1][1], max(out[-1][2], e), out[-1][3])
        else:
            out.append((c, s, e, n))
    return out


def run_freebayes(
    bam: Path | str,
    regions_bed: Path | str,
    mode: str,
    settings: CallingSettings,
    fb_fasta: Path | str,
    reference: Path | str,
    out_vcf_gz: Path | str,
) -> None:
    """freebayes | bcftools norm -f ref -m- (rule calling_freebayes)."""
    if Path(regions_bed).stat().st_size:
        where = f"-t {regions_bed}"
    else:
        first = Path(f"{fb_fasta}.fai").read_text().split("\t", 1)[0]
        where = f"-r {first}:1-2"
    cmd = (
        f"set -euo pipefail; freebayes -f {fb_fasta} {where} {mode_args(settings, mode)} {bam} "
        f"| bcftools norm --no-version -f {reference} -m- -Oz -o {out_vcf_gz} 2>/dev/null"
    )
    subprocess.run(["bash", "-c", cmd], check=True)


def index_vcf(
    unsorted_vcf: Path | str, reference: Path | str, out_vcf_gz: Path | str, log: Path | str | None = None
) -> None:
    """bcftools norm -f ref -m- | bcftools sort, bgzip, tabix; the tools' messages go to `log` (else discarded).

    The second normalisation left-aligns the forced-in hotspot alleles like freebayes' own.
    """
    with tempfile.TemporaryDirectory() as tmp, open(log or os.devnull, "a") as err:
        cmd = (
            f"set -euo pipefail; bcftools norm --no-version -f {reference} -m- -Ou {unsorted_vcf} "
            f"| bcftools sort -T {tmp} -Oz -o {out_vcf_gz} && tabix -f -p vcf {out_vcf_gz}"
        )
        subprocess.run(["bash", "-c", cmd], check=True, stderr=err)


def call_sample(
    bam: Path | str,
    targets_bed: Path | str,
    ctx: SampleContext,
    settings: CallingSettings,
    fb_fasta: Path | str,
    workdir: Path | str,
) -> tuple[Path, Summary]:
    """One sample end to end (freebayes, finalize, index): returns the contract VCF and the summary."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    sid = ctx.sample_id
    regions = workdir / f"{sid}.regions.bed"
    genes = settings.germline_genes if ctx.mode == "germline" else None
    select_targets(targets_bed, genes, regions)
    raw = workdir / f"{sid}.freebayes.vcf.gz"
    run_freebayes(bam, regions, ctx.mode, settings, fb_fasta, ctx.reference, raw)
    unsorted = workdir / f"{sid}.unsorted.vcf"
    summary = finalize(raw, unsorted, ctx, settings)
    out = workdir / f"{sid}.vcf.gz"
    index_vcf(unsorted, ctx.reference, out)
    unsorted.unlink()
    return out, summary


def genotype_sample_hotspots(bam: Path | str, sample_id: str, reference: str, stated_lod: float) -> tuple[list, tuple]:
    """Hotspot genotyping (oncopanel.hotspots) for one BAM: (HotspotResult list, detected HotspotAlleles).

    The detected alleles feed HOTSPOT annotations and ORIGIN=hotspot force-ins of the contract VCF.
    """
    from oncopanel.calling.vcf import HotspotAllele
    from oncopanel.hotspots import Thresholds, evaluate_hotspots
    from oncopanel.reference import FastaSequence

    evaluations = evaluate_hotspots(
        bam, sample_id, thresholds=Thresholds(stated_lod=stated_lod), reference=FastaSequence(reference)
    )
    detected = tuple(
        HotspotAllele(a.hotspot_id, a.variant, a.depth, a.alt_count)
        for e in evaluations
        if e.result.status == "detected"
        for a in e.alleles
        if a.detected and a.variant is not None
    )
    return [e.result for e in evaluations], detected
