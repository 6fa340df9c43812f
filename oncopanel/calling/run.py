"""The calling steps, run by the workflow's rules, the tests and the calling benchmark alike.

The rules of workflow/rules/calling.smk are thin adapters over these functions (scripts/calling_plain_reference.py
for calling_plain_reference, scripts/calling_background.py for calling_background (which also writes the batch's
panel of normals), oncopanel.steps calling_regions, calling_freebayes (oncopanel.calling.window.call_freebayes) and
calling_finalize for those rules), so what the tests and benchmarks/calling.py measure is what the workflow runs:

- :func:`plain_fasta`: the calling copy of the bgzipped reference (freebayes 1.3.6 cannot read bgzip, and loads
  whole contigs: the copy stops past the panels' last transcript on each);
- :func:`calling_regions`, :func:`call_raw`: target selection (the mode's genes),
  interval merging, the regions' own cut of the calling copy (:func:`regions_reference`), freebayes | bcftools
  norm -m-: each sample is called once, in its own mode (a normal's panel-of-normals evidence is counted, not
  called again: :func:`build_batch_background`);
- :func:`index_vcf`, :func:`genotype_sample_hotspots`: the finalize step's tools and hotspot genotyping;
- :func:`call_sample`: one sample end to end (raw calls, finalize, index), for tests and benchmarks.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from oncopanel import clinical
from oncopanel.calling import pon
from oncopanel.calling.background import (
    BackgroundModel,
    batch_bounds,
    candidate_alleles,
    count_normals,
    load_store,
    write_bounds,
    write_sites,
)
from oncopanel.calling.freebayes import freebayes_args, target_name_regex
from oncopanel.calling.settings import CallingSettings, FreebayesSettings, HotspotRule
from oncopanel.calling.shell import run_shell as _run_shell
from oncopanel.calling.vcf import SampleContext, Summary, finalize
from oncopanel.calling.window import REGION_MARGIN, call_freebayes, fai_lengths, region_windows, window_files
from oncopanel.coverage import read_targets
from oncopanel.errors import InputError
from oncopanel.hotspots.detection import BackgroundError
from oncopanel.model import Variant
from oncopanel.provenance import write_tool_versions

if TYPE_CHECKING:
    from oncopanel.counting import AlleleDepth

PathLike = Path | str
# the tools each step runs, in the order their version lines are written to the step's log
PLAIN_REFERENCE_TOOLS = ("bgzip", "samtools")
FREEBAYES_TOOLS = ("freebayes", "bcftools")


# freebayes 1.3.6 reads the WHOLE sequence of every contig it calls on (about 7 ns a base: 1.8 CPU-s for chr1),
# however small the targets: at panel sizes that was most of a sample's freebayes time (BENCHMARKS.md, calling
# cost). Its plain copy of the reference therefore stops this far past the last panel transcript of each contig
# (reads, fragments and freebayes' haplotype windows reach a few hundred bases beyond a target).
REACH_MARGIN = 100_000


def panel_reach(margin: int = REACH_MARGIN) -> dict[str, int]:
    """Contig -> bases of it the calling copy keeps: the end of its last panel transcript (annotation/transcripts,
    every gene a panel can carry) plus ``margin``."""
    from oncopanel.panels import load_transcripts

    reach: dict[str, int] = {}
    for tx in load_transcripts().values():
        reach[tx.chrom] = max(reach.get(tx.chrom, 0), tx.tx_end + margin)
    return reach


def plain_fasta(
    bgzipped: PathLike, out: PathLike, log: PathLike | None = None, rule: str | None = None,
    reach: dict[str, int] | None = None,
) -> Path:  # fmt: skip
    """The calling copy of a bgzipped FASTA with its .fai (freebayes cannot read bgzip); reused when both exist.
    Only the contigs of ``reach`` (default :func:`panel_reach`), each cut after its reach (:func:`cut_fasta`).
    With ``rule``, ``log`` starts with the step's tool-version lines (provenance)."""
    out = Path(out)
    if rule and log:
        write_tool_versions(log, rule, PLAIN_REFERENCE_TOOLS)
    if not (out.exists() and Path(f"{out}.fai").exists()):
        cut_fasta(bgzipped, out, panel_reach() if reach is None else reach, log)
    return out


def cut_fasta(
    source: PathLike, out: PathLike, reach: Mapping[str, int], log: PathLike | None = None, *, atomic: bool = True
) -> Path:
    """``out`` (+ .fai): the contigs of ``reach`` from ``source`` (bgzipped or plain, indexed), each cut after its
    reach, with their own names and coordinates (freebayes loads whole contigs). Always written anew. ``atomic``:
    through a temporary name beside it, for a copy that is reused when it exists (:func:`plain_fasta`); without,
    straight to ``out``, for a job's output whose partial file Snakemake removes if the job is killed (a
    temporary name would be left behind in the results)."""
    return cut_spans(source, out, {c: (0, end) for c, end in reach.items()}, log, atomic=atomic)


def cut_spans(
    source: PathLike, out: PathLike, spans: Mapping[str, tuple[int, int]], log: PathLike | None = None, *,
    atomic: bool = True,
) -> Path:  # fmt: skip
    """:func:`cut_fasta` for spans (0-based start, end) of the contigs: each record named as its contig, its
    sequence from the span's start (the windows' reference, oncopanel.calling.window)."""
    out = Path(out)
    lengths = fai_lengths(source)
    regions = [f"{c}:{spans[c][0] + 1}-{min(n, spans[c][1])}" for c, n in lengths.items() if c in spans]
    if not regions:
        raise InputError(f"{source}: none of the panel contigs ({', '.join(sorted(spans))})")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}") if atomic else out
    q = shlex.quote
    # samtools names each record after its region (chr1:1-N): the copy keeps the contig's own name
    rename = "sed -E 's/^>(.+):[0-9]+-[0-9]+$/>\\1/'"
    move = f"&& mv {q(str(tmp))} {q(str(out))} " if atomic else ""
    _run_shell(f"samtools faidx {q(str(source))} {shlex.join(regions)} | {rename} > {q(str(tmp))} "
               f"{move}&& samtools faidx {q(str(out))}", log)  # fmt: skip
    return out


def check_reach(regions_bed: PathLike, fb_fasta: PathLike, reference: PathLike) -> None:
    """Every region inside the calling copy (:func:`plain_fasta`), REGION_MARGIN short of a cut contig's end: a
    target beyond the copy's reach (a gene no panel transcript names) must fail, never be called on a stump."""
    cut, whole = fai_lengths(fb_fasta), fai_lengths(reference)
    for line in Path(regions_bed).read_text().splitlines():
        c, _s, e = line.split("\t")[:3]
        n = cut.get(c, 0)
        if n < whole.get(c, 0) and int(e) + REGION_MARGIN > n:
            raise InputError(f"{regions_bed}: {c}:{e} is beyond the calling reference {fb_fasta} ({c} kept to {n:,} "
                             "bases, oncopanel.calling.run.panel_reach): rebuild it from the panels' transcripts")


def merge_intervals(rows: Iterable[tuple[str, int, int, str]]) -> list[tuple[str, int, int, str]]:
    """Merge overlapping or touching BED rows per chromosome (the first row's name is kept)."""
    out: list[tuple[str, int, int, str]] = []
    for c, s, e, n in sorted(rows):
        if out and out[-1][0] == c and s <= out[-1][2]:
            out[-1] = (c, out[-1][1], max(out[-1][2], e), out[-1][3])
        else:
            out.append((c, s, e, n))
    return out


def select_targets(
    targets_beds: PathLike | Iterable[PathLike], genes: tuple[str, ...] | None, out_bed: PathLike
) -> bool:
    """Write the rows of ``genes`` (all rows when None) from one or more target BEDs, overlaps merged; False when
    none remain.

    Overlapping targets must be merged: freebayes -t calls an overlapped stretch once per target. A normal of the
    panel of normals is called over the union of its batch's tumour targets (several BEDs).
    """
    beds = [targets_beds] if isinstance(targets_beds, (str, Path)) else list(targets_beds)
    regex = re.compile(target_name_regex(genes)) if genes else None
    rows = []
    for bed in beds:
        for line in Path(bed).read_text().splitlines():
            f = line.split("\t")
            if line.strip() and (regex is None or regex.search(f[3])):
                rows.append((f[0], int(f[1]), int(f[2]), f[3]))
    merged = merge_intervals(rows)
    Path(out_bed).parent.mkdir(parents=True, exist_ok=True)
    Path(out_bed).write_text("".join(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in merged))
    return bool(merged)


def calling_regions(
    targets_beds: PathLike | Iterable[PathLike],
    mode: str,
    fb_fasta: PathLike,
    reference: PathLike,
    out_bed: PathLike,
    out_fasta: PathLike | None = None,
) -> Path:
    """The regions freebayes calls in ``mode`` (rule calling_regions, one file per target set and mode): the mode's
    targets (germline: the germline genes'; somatic: all), merged, each checked inside the calling copy's reach.
    With ``out_fasta``, freebayes' reference for these regions (:func:`regions_reference`) and, beside it, the
    windows' reference for reads moved to windows (:func:`window_reference`).

    No target left (a blood sample whose panels carry no germline gene): a 1-bp region at the start of the first
    contig (telomeric N), which gives a header-only VCF.
    """
    genes = clinical.GERMLINE_GENES if mode == "germline" else None
    if select_targets(targets_beds, genes, out_bed):
        check_reach(out_bed, fb_fasta, reference)
    else:
        first = Path(f"{fb_fasta}.fai").read_text().split("\t", 1)[0]
        Path(out_bed).write_text(f"{first}\t0\t1\tno_{mode}_target\n")
    if out_fasta is not None:
        regions_reference(out_bed, fb_fasta, out_fasta)
        window_reference(out_bed, out_fasta)
    return Path(out_bed)


def regions_reference(regions_bed: PathLike, fb_fasta: PathLike, out: PathLike) -> Path:
    """freebayes' reference for one regions file: only the contigs it names, each cut REACH_MARGIN past its last
    region (:func:`cut_fasta` of the calling copy). The calling copy keeps every panel contig to the farthest
    panel's reach, so an EGFR/KRAS sample's freebayes loaded chr7 to BRAF: DEMO-T02 2.98 -> 1.92 CPU-s and 477 ->
    222 MB with its own copy, the same records (BENCHMARKS.md, Scale §7)."""
    reach: dict[str, int] = {}
    for line in Path(regions_bed).read_text().splitlines():
        c, _s, e = line.split("\t")[:3]
        reach[c] = max(reach.get(c, 0), int(e) + REACH_MARGIN)
    return cut_fasta(fb_fasta, out, reach, atomic=False)  # rule calling_regions' output


def window_reference(regions_bed: PathLike, regions_fasta: PathLike) -> tuple[Path, Path]:
    """The windows' reference beside the regions' reference (oncopanel.calling.window): each contig's window
    (:func:`cut_spans`, named as the contig, starting at the window's start) and the windows (contig, start, end)."""
    out_fa, out_tsv = window_files(regions_fasta)
    windows = region_windows(read_targets(regions_bed), fai_lengths(regions_fasta))
    cut_spans(regions_fasta, out_fa, windows, atomic=False)  # rule calling_regions' output
    out_tsv.write_text("".join(f"{c}\t{s}\t{e}\n" for c, (s, e) in windows.items()))
    return out_fa, out_tsv


def regions_fasta_beside(regions_bed: PathLike) -> Path:
    """Where call_raw keeps freebayes' reference for its regions: beside the BED, as ``.fa`` (the workflow's
    ``calls/regions/{targets}.{mode}.bed`` and ``.fa``)."""
    return Path(regions_bed).with_suffix(".fa")


def call_raw(
    bam: PathLike,
    targets_beds: PathLike | Iterable[PathLike],
    mode: str,
    freebayes: FreebayesSettings,
    fb_fasta: PathLike,
    reference: PathLike,
    regions_bed: PathLike,
    out_vcf_gz: PathLike,
    log: PathLike | None = None,
    rule: str | None = None,
) -> None:
    """A BAM's raw calls as rules calling_regions and calling_freebayes make them: the mode's regions
    (:func:`calling_regions`) written to ``regions_bed`` and their references beside it (``.fa``, ``.window.fa``),
    then oncopanel.calling.window.call_freebayes under the mode's ``freebayes`` settings
    (``CallingSettings.freebayes(mode)``).
    With ``rule``, ``log`` starts with the step's tool-version lines (provenance), as the rule's shell writes them."""
    if rule and log:
        write_tool_versions(log, rule, FREEBAYES_TOOLS)
    regions_fasta = regions_fasta_beside(regions_bed)
    calling_regions(targets_beds, mode, fb_fasta, reference, regions_bed, regions_fasta)
    call_freebayes(bam, regions_bed, freebayes_args(freebayes), regions_fasta, reference, out_vcf_gz, log)


def index_vcf(unsorted_vcf: PathLike, reference: PathLike, out_vcf_gz: PathLike, log: PathLike | None = None) -> None:
    """bcftools norm -f ref -m- | bcftools sort, bgzip, tabix; the tools' messages go to `log` (else discarded).

    The second normalisation left-aligns the forced-in hotspot alleles like freebayes' own.
    """
    q = shlex.quote
    with tempfile.TemporaryDirectory() as tmp:
        _run_shell(
            f"bcftools norm --no-version -f {q(str(reference))} -m- -Ou {q(str(unsorted_vcf))} "
            f"| bcftools sort -T {q(tmp)} -Oz -o {q(str(out_vcf_gz))} && tabix -f -p vcf {q(str(out_vcf_gz))}",
            log,
        )


def call_sample(
    bam: PathLike,
    targets_bed: PathLike,
    ctx: SampleContext,
    settings: CallingSettings,
    fb_fasta: PathLike,
    workdir: PathLike,
) -> tuple[Path, Summary]:
    """One sample end to end (the rules calling_freebayes then calling_finalize's VCF part): returns the contract
    VCF and the summary."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    sid = ctx.sample_id
    raw = workdir / f"{sid}.freebayes.vcf.gz"
    regions = workdir / f"{sid}.regions.bed"
    call_raw(bam, targets_bed, ctx.mode, settings.freebayes(ctx.mode), fb_fasta, ctx.reference, regions, raw)
    unsorted = workdir / f"{sid}.unsorted.vcf"
    summary = finalize(raw, unsorted, ctx, settings)
    out = workdir / f"{sid}.vcf.gz"
    index_vcf(unsorted, ctx.reference, out)
    unsorted.unlink()
    return out, summary


def hotspot_alleles() -> list:
    """The single-base alleles of every codon/base hotspot: counted in the normals by the batch background, so
    each hotspot's LoD can come from the rates learnt at its position."""
    from oncopanel.hotspots import load_hotspots, single_base_alleles

    return sorted({v for h in load_hotspots() for v, _ in single_base_alleles(h)})


def learnt_background(rule: HotspotRule, model: BackgroundModel | None) -> BackgroundError:
    """The hotspot rule's background with the rates the model learnt at hotspot alleles (none without a model)."""
    if model is None or not model.sites:
        return rule.background
    learnt = {}
    for v in hotspot_alleles():
        allele = model.allele(v.key)
        if allele is not None:
            learnt[v.key] = allele.rate
    return replace(rule.background, learnt=learnt, source=model.version)


def build_batch_background(
    batch: str,
    normal_bams: Mapping[str, PathLike],
    tumour_vcfs: Iterable[PathLike],
    reference: str,
    settings: CallingSettings,
    out_tsv: PathLike,
    panels: Iterable[str] = (),
    out_pon: PathLike | None = None,
    out_bounds: PathLike | None = None,
    panel_sets: Iterable[Iterable[str]] = (),
) -> int:
    """Rule calling_background: the batch's normals counted at every candidate allele of its tumours' raw calls
    and at every hotspot single-base allele (oncopanel.calling.background); returns the alleles written.

    The header pins the store versions of the tumours' ``panels`` in use now (``store_versions``): every tumour of
    the batch is tested against the same ones, and the file's SHA-256 in a result's provenance names them.

    ``out_pon``: the batch's panel of normals from the same counts (oncopanel.calling.pon.carries), written where
    a second freebayes pass over each normal used to put it: the PoN is only ever asked about these alleles.

    ``out_bounds``: the rates' beta bounds at these alleles in the model of each of ``panel_sets`` (the tumours'
    panels), computed here once rather than in every tumour's job (oncopanel.calling.background.batch_bounds)."""
    fb = settings.somatic_freebayes
    m = settings.background_model
    alleles = sorted(set(candidate_alleles(tumour_vcfs)) | set(hotspot_alleles()))
    carriers: Counter[str] = Counter()

    def observe(_normal: str, v: Variant, c: AlleleDepth) -> None:
        if pon.carries(c.alt, c.depth, settings.pon, fb):
            carriers[v.key] += 1

    sites = count_normals(normal_bams, alleles, reference, fb.min_mapping_quality, fb.min_base_quality,
                          m.max_normal_vaf, observe)  # fmt: skip
    _, used = load_store(m.store, panels, m.store_version)
    header = {"batch": batch, "normals": ",".join(sorted(normal_bams)), "store_versions": ",".join(used)}
    write_sites(sites, out_tsv, header)
    if out_pon is not None:
        pon.write(pon.from_counts(batch, normal_bams, carriers), out_pon)
    if out_bounds is not None:
        bounds = batch_bounds(out_tsv, panel_sets, (v.key for v in alleles), m)
        write_bounds(bounds, out_bounds, m.confidence)
    return len(sites)


def genotype_sample_hotspots(
    bam: PathLike,
    sample_id: str,
    reference: str,
    stated_lod: float,
    rule: HotspotRule,
    background: BackgroundModel | None = None,
) -> tuple[list, tuple]:
    """Hotspot genotyping (oncopanel.hotspots) for one BAM under the rule of calling.yaml (``settings.hotspots``):
    (HotspotResult list, detected HotspotAlleles). With ``background`` (the batch's per-allele model), an allele's
    test and a hotspot's LoD use the rates learnt at its position where the model has them.

    The detected alleles feed HOTSPOT annotations and ORIGIN=hotspot force-ins of the contract VCF.
    """
    from oncopanel.calling.vcf import HotspotAllele
    from oncopanel.hotspots import evaluate_hotspots
    from oncopanel.reference import FastaSequence

    evaluations = evaluate_hotspots(
        bam,
        sample_id,
        thresholds=rule.thresholds(stated_lod),
        background_error=learnt_background(rule, background),
        reference=FastaSequence(reference),
    )
    detected = tuple(
        HotspotAllele(a.hotspot_id, a.variant, a.depth, a.alt_count)
        for e in evaluations
        if e.result.status == "detected"
        for a in e.alleles
        if a.detected and a.variant is not None
    )
    return [e.result for e in evaluations], detected
