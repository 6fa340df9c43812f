"""The output contract VCF: header definitions and the finalising pass over freebayes' calls.

freebayes -> bcftools norm -f ref -m- (rule calling_freebayes) -> finalize() here (DP/AD/AF recounted as
fragments by oncopanel.counting, the rule the hotspot table uses; filters, ORIGIN,
PoN, paralogue and likely-germline flags, hotspot force-in) -> bcftools norm -f ref -m- | bcftools sort,
bgzip, tabix (oncopanel.calling.run.index_vcf, in rule calling_finalize; the second normalisation left-aligns the
forced-in hotspot alleles).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from oncopanel import __version__
from oncopanel.annotate.normalise import vcf_form
from oncopanel.calling.background import BackgroundModel
from oncopanel.calling.evidence import (
    ReadEvidence,
    RecordEvidence,
    from_freebayes,
    homopolymer_run,
    read_evidence,
)
from oncopanel.calling.filters import FILTERS, germline_reasons, likely_germline, somatic_reasons
from oncopanel.calling.pon import PanelOfNormals
from oncopanel.calling.settings import CallingSettings, ParalogueRegion
from oncopanel.counting import (
    WINDOW_MARGIN,
    AlleleDepth,
    CountRules,
    ReadWindows,
    count_supports,
    haplotypes,
    read_supports,
)
from oncopanel.model import Variant

Mode = Literal["germline", "somatic"]

INFO_DEFS: list[tuple[str, str, str, str]] = [
    ("ORIGIN", "1", "String", "germline (constitutional calling, blood/saliva) | somatic (tumour-only "
     "low-fraction calling) | hotspot (detected by hotspot genotyping, absent from freebayes' calls, "
     "forced in with its counts)"),
    ("LIKELY_GERMLINE", "0", "Flag", "Tumour-only call at a germline-like fraction (calling.somatic.filters."
     "likely_germline): flagged, not dropped; confirm on a blood sample"),
    ("HOTSPOT", "1", "String", "Hotspot id(s) from annotation/hotspots.tsv matching this allele"),
    ("PARALOGUE", "1", "String", "Pseudogene whose reads carry this allele (FILTER paralogue)"),
    ("PARALOGUE_REGION", "0", "Flag", "In a region with a pseudogene copy (calling.somatic.paralogues)"),
    ("HOMOPOLYMER", "1", "Integer", "Reference homopolymer run length at an indel"),
    ("PON_NORMALS", "1", "Integer", "Normals of the batch panel of normals carrying this allele"),
    ("ORIENT", "2", "Integer", "Alt fragments in F1R2,F2R1 pair orientation (oncopanel.counting)"),
    ("END_DIST", "1", "Float", "Median over alt fragments of the alt base's distance to the nearer read end "
     "(oncopanel.counting)"),
    ("BG", "1", "String", "Background the allele was tested against: model:<rate> (learnt at this allele from "
     "normals, ##oncopanel_background) or global:<rate> (calling.somatic.filters.background: no model evidence)"),
    ("BG_DEPTH", "1", "Integer", "Normal fragments behind the allele's learnt background rate"),
]  # fmt: skip
# freebayes' INFO AF is the genotype-estimated allele frequency (0.5 for a 4% allele): dropped so that nobody
# mistakes it for the read fraction, which is FORMAT AF.
DROPPED_INFO = ("AF",)
FORMAT_AF = (
    "AF", "A", "Float",
    "Alt allele fraction computed by oncopanel (oncopanel.counting): alt fragments / fragments covering the "
    "locus (FORMAT DP); the hotspot table counts the same way",
)  # fmt: skip
# freebayes' DP/AD count reads its own way (overlapping mates twice, indel reads partly): replaced by fragments
FORMAT_COUNTS = (
    ("DP", "1", "Integer", "Fragments covering the locus (oncopanel.counting: overlapping mates once)"),
    ("AD", "R", "Integer", "Fragments per allele (ref, alt; oncopanel.counting)"),
)


@dataclass(frozen=True)
class HotspotAllele:
    """A hotspot allele detected by oncopanel.hotspots, with its counts (oncopanel.counting, as every record)."""

    hotspot_id: str
    variant: Variant
    depth: int
    alt_count: int


@dataclass
class Summary:
    records: int = 0
    passed: int = 0
    forced: list[str] = field(default_factory=list)
    unforced: list[str] = field(default_factory=list)  # detected hotspots with no usable VCF allele


@dataclass(frozen=True)
class SampleContext:
    sample_id: str
    mode: Mode
    reference: str  # indexed FASTA (bgzipped is fine for pysam)
    bam: str | None = None
    pon: PanelOfNormals | None = None
    hotspots: tuple[HotspotAllele, ...] = ()
    background: BackgroundModel | None = None  # per-allele error rates (oncopanel.calling.background)


def build_header(src: Any, ctx: SampleContext, settings: CallingSettings) -> Any:
    """Output header: freebayes' definitions and contigs, our INFO/FORMAT/FILTER, provenance lines."""
    import pysam

    hdr = pysam.VariantHeader()
    for rec in src.records:
        if rec.key in ("reference", "source", "commandline", "fileDate"):  # fileDate: outputs must not change by day
            continue
        if rec.key == "INFO" and rec.get("ID") in DROPPED_INFO:
            continue
        if rec.key == "FORMAT" and rec.get("ID") in ("DP", "AD"):  # ours: fragments (FORMAT_COUNTS)
            continue
        hdr.add_record(rec)
    hdr.add_line(f"##oncopanel_version={__version__}")
    hdr.add_line(f"##reference={ctx.reference}")
    hdr.add_line(f"##oncopanel_calling_mode={ctx.mode}")
    hdr.add_line("##source=freeBayes v1.3.6 + oncopanel.calling")
    if ctx.mode == "somatic":
        pon = ctx.pon.status(settings.pon) if ctx.pon else "not_applied (no panel of normals given)"
        hdr.add_line(f"##oncopanel_pon={pon}")
        hdr.add_line(f"##oncopanel_background={background_provenance(ctx)}")
    for fid, desc in FILTERS.items():
        hdr.filters.add(fid, None, None, desc)
    for iid, number, typ, desc in INFO_DEFS:
        if iid not in hdr.info:
            hdr.info.add(iid, number, typ, desc)
    if "AF" not in hdr.formats:
        hdr.formats.add(*FORMAT_AF)
    for fid, number, typ, desc in (("GT", "1", "String", "Genotype"), *FORMAT_COUNTS):
        if fid not in hdr.formats:
            hdr.formats.add(fid, number, typ, desc)
    hdr.add_sample(ctx.sample_id)
    return hdr


def background_provenance(ctx: SampleContext) -> str:
    """What the sample's alleles were tested against: the model's sources and version, or the global rate."""
    if ctx.background is None or not ctx.background.sites:
        return "global rate only (calling.somatic.filters.background: no normals or stored background)"
    return f"{ctx.background.version}; alleles without enough evidence: global rate"


def left_align(v: Variant, fetch: Any) -> Variant:
    """bcftools norm's form of an allele (oncopanel.annotate.normalise.vcf_form), so keys match freebayes'
    normalised records. ``fetch(chrom, start0, end)`` returns reference bases."""
    return vcf_form(v, _Upper(_Fetch(fetch)))


@dataclass(frozen=True)
class _Fetch:
    """A fetch(chrom, start0, end) callable as a SequenceSource."""

    fetch: Any


def _paralogue(settings: CallingSettings, chrom: str, pos: int) -> ParalogueRegion | None:
    return next((p for p in settings.paralogues if p.contains(chrom, pos)), None)


def _copy_record(out: Any, rec: Any) -> Any:
    new = out.header.new_record(
        contig=rec.chrom, start=rec.start, stop=rec.stop, alleles=rec.alleles, qual=rec.qual, id=rec.id
    )
    for key, value in rec.info.items():
        if key in out.header.info and key not in DROPPED_INFO:
            new.info[key] = value
    if len(rec.samples):
        src = rec.samples[0]
        dst = new.samples[0]
        for key, value in src.items():
            if key == "GT":
                dst["GT"] = value
            elif value is not None and key in out.header.formats:
                dst[key] = value
    return new


def _fill_format(new: Any, ev: RecordEvidence, mode: Mode, settings: CallingSettings) -> None:
    s = new.samples[0]
    if mode == "somatic":  # pooled-continuous GT is no genotype (0/0 at low fractions): present = 0/1
        hom = ev.vaf >= settings.somatic_filters.likely_germline.hom_min_vaf
        s["GT"] = (1, 1) if hom else (0, 1)
    elif s.get("GT") is None or all(a is None for a in s["GT"]):
        s["GT"] = (0, 1)
    s["DP"] = ev.depth
    s["AD"] = (ev.ref_reads, ev.alt_reads)
    s["AF"] = (round(ev.vaf, 5),)


def _somatic_annotate(
    new: Any, ev: RecordEvidence, ctx: SampleContext, settings: CallingSettings, fasta: Any,
    supports: list | None = None, counted: AlleleDepth | None = None,
) -> list[str]:  # fmt: skip
    """``supports``: the record's reads with their calls (oncopanel.counting.read_supports), ``counted`` their count."""
    f = settings.somatic_filters
    reads: ReadEvidence | None = None
    orientation = (counted.alt_f1r2, counted.alt_f2r1) if counted is not None else None
    if supports is not None and counted is not None:
        pr = settings.paralogue_read
        reads = read_evidence(supports, counted, ev.ref, ev.alt, pr.min_soft_clip, pr.min_extra_mismatches)
        if reads.alt_reads:
            new.info["ORIENT"] = (reads.alt_f1r2, reads.alt_f2r1)
        if reads.alt_median_end_distance is not None:
            new.info["END_DIST"] = float(reads.alt_median_end_distance)
    run = 0
    if ev.is_indel:
        start0 = max(0, ev.pos - 30)
        window = fasta.fetch(ev.chrom, start0, ev.pos + 30)
        run = homopolymer_run(window, ev.pos - start0)  # the base right after the VCF anchor
        new.info["HOMOPOLYMER"] = run
    allele_bg = ctx.background.allele(f"{ev.chrom}:{ev.pos}:{ev.ref}>{ev.alt}") if ctx.background else None
    if allele_bg is not None:
        new.info["BG"] = f"model:{allele_bg.rate:.3g}"
        new.info["BG_DEPTH"] = allele_bg.depth
    else:
        rate = f.background.snv_error_rate if len(ev.ref) == len(ev.alt) else f.background.indel_error_rate
        new.info["BG"] = f"global:{rate:.3g}"
    reasons = somatic_reasons(ev, f, reads, run, allele_bg, settings.background_model, orientation)
    depth = max(ev.depth, ev.ref_reads + ev.alt_reads)
    reasons += _sample_level(new, ev.chrom, ev.pos, ev.ref, ev.alt, (ev.alt_reads, depth), ctx, settings, reads)
    return reasons


def _sample_level(
    new: Any, chrom: str, pos: int, ref: str, alt: str, counts: tuple[int, int],
    ctx: SampleContext, settings: CallingSettings, reads: ReadEvidence | None,
) -> list[str]:  # fmt: skip
    """Flags that need the batch or the region, shared by freebayes calls and forced hotspots."""
    reasons = []
    key = f"{chrom}:{pos}:{ref}>{alt}"
    if ctx.pon is not None:
        n = ctx.pon.counts.get(key, 0)
        if n:
            new.info["PON_NORMALS"] = n
        if ctx.pon.flags(key, settings.pon):
            reasons.append("pon")
    region = _paralogue(settings, chrom, pos)
    if region is not None:
        new.info["PARALOGUE_REGION"] = True
        if reads is not None and reads.paralogue_excess() >= settings.paralogue_read.min_fraction:
            reasons.append("paralogue")
            new.info["PARALOGUE"] = region.paralogue
    if likely_germline(*counts, settings.somatic_filters.likely_germline):
        new.info["LIKELY_GERMLINE"] = True
    return reasons


def _hotspot_ids(hotspots: Iterable[HotspotAllele]) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for h in hotspots:
        ids.setdefault(h.variant.key, []).append(h.hotspot_id)
    return ids


def finalize(raw_vcf: Path | str, out_vcf: Path | str, ctx: SampleContext, settings: CallingSettings) -> Summary:
    """Write the contract VCF (uncompressed, unsorted) from freebayes' split, normalised calls."""
    import pysam

    summary = Summary()
    written: set[str] = set()
    pysam.set_verbosity(0)  # freebayes' bgzipped output has no index and needs none: silence htslib's notice
    fb = settings.somatic_freebayes if ctx.mode == "somatic" else settings.germline_freebayes
    rules = CountRules(fb.min_mapping_quality, fb.min_base_quality)
    with (
        pysam.VariantFile(str(raw_vcf)) as src,
        pysam.FastaFile(ctx.reference) as fasta,
        contextlib.ExitStack() as stack,
    ):
        bam = None
        if ctx.bam:
            # the reads around the records, decoded once for the records near each other (issue 21)
            with pysam.VariantFile(str(raw_vcf)) as records:
                regions = [(r.chrom, r.pos - 1 - WINDOW_MARGIN, r.pos + len(r.ref) + WINDOW_MARGIN)
                           for r in records]  # fmt: skip
            bam = ReadWindows(stack.enter_context(pysam.AlignmentFile(ctx.bam)), regions)
        sequence = _Upper(fasta)
        hotspots = tuple(
            HotspotAllele(h.hotspot_id, left_align(h.variant, fasta.fetch), h.depth, h.alt_count) for h in ctx.hotspots
        )
        hotspot_ids = _hotspot_ids(hotspots)
        hdr = build_header(src.header, ctx, settings)
        with pysam.VariantFile(str(out_vcf), "w", header=hdr) as out:
            for rec in src:
                for alt in rec.alts or ():
                    if len(rec.alts) > 1:  # normally split upstream; tolerate an unsplit input
                        continue
                    key = f"{rec.chrom}:{rec.pos}:{rec.ref}>{alt}"
                    if key in written:  # one allele, one record (overlapping targets would repeat it)
                        continue
                    ev = from_freebayes(rec)
                    supports = None
                    counted = None
                    if bam is not None:  # one counting rule for every table: fragments (oncopanel.counting)
                        hap = haplotypes(Variant(rec.chrom, rec.pos, rec.ref, alt), sequence)
                        fetched = bam.fetch(hap.chrom, max(0, hap.start0 - 1), hap.end0 + 1)
                        # each read's call made once, for the count and the read evidence (issue 21)
                        supports = read_supports(fetched, hap, rules)
                        counted = count_supports(supports)
                        ev = ev.with_counts(counted)
                    new = _copy_record(out, rec)
                    _fill_format(new, ev, ctx.mode, settings)
                    if ctx.mode == "germline":
                        reasons = germline_reasons(ev, settings.germline_filters)
                        new.info["ORIGIN"] = "germline"
                    else:
                        reasons = _somatic_annotate(new, ev, ctx, settings, fasta, supports, counted)
                        new.info["ORIGIN"] = "somatic"
                    if key in hotspot_ids:
                        new.info["HOTSPOT"] = ",".join(hotspot_ids[key])
                    _set_filter(new, reasons)
                    out.write(new)
                    written.add(key)
                    summary.records += 1
                    summary.passed += not reasons
            if ctx.mode == "somatic" and settings.force_hotspots:
                _force_hotspots(out, hotspots, ctx, settings, fasta, written, summary)
    return summary


class _Upper:
    """pysam.FastaFile as a SequenceSource (uppercase: soft-masked bases compare like any other)."""

    def __init__(self, fasta: Any):
        self.fasta = fasta

    def fetch(self, chrom: str, start0: int, end: int) -> str:
        return self.fasta.fetch(chrom, start0, end).upper()


def _set_filter(new: Any, reasons: list[str]) -> None:
    new.filter.clear()
    for r in dict.fromkeys(reasons) or ["PASS"]:
        new.filter.add(r)


def _force_hotspots(
    out: Any,
    hotspots: tuple[HotspotAllele, ...],
    ctx: SampleContext,
    settings: CallingSettings,
    fasta: Any,
    written: set[str],
    summary: Summary,
) -> None:
    """Write detected hotspot alleles freebayes missed, with their counts (ORIGIN=hotspot)."""
    for h in hotspots:
        v = h.variant
        if v.key in written:
            continue
        if fasta.fetch(v.chrom, v.pos - 1, v.pos - 1 + len(v.ref)).upper() != v.ref:
            summary.unforced.append(h.hotspot_id)
            continue
        new = out.header.new_record(
            contig=v.chrom, start=v.pos - 1, stop=v.pos - 1 + len(v.ref), alleles=(v.ref, v.alt)
        )
        new.info["ORIGIN"] = "hotspot"
        new.info["HOTSPOT"] = h.hotspot_id
        vaf = round(h.alt_count / h.depth, 5) if h.depth else 0.0
        s = new.samples[0]
        s["GT"] = (0, 1)
        s["DP"] = h.depth
        s["AD"] = (max(0, h.depth - h.alt_count), h.alt_count)
        s["AF"] = (vaf,)
        reasons = _sample_level(new, v.chrom, v.pos, v.ref, v.alt, (h.alt_count, h.depth), ctx, settings, None)
        # the reporting floor of every somatic record: a minor form of a hotspot (an MNV made of the hotspot SNV
        # plus a read error beside it, a few reads) is kept in the VCF, never reported as a second finding
        floors = settings.somatic_filters
        reasons = [*(["low_alt_reads"] if h.alt_count < floors.min_alt_reads else []),
                   *(["low_vaf"] if vaf < floors.min_vaf else []), *reasons]  # fmt: skip
        _set_filter(new, reasons)
        out.write(new)
        written.add(v.key)
        summary.forced.append(v.key)
        summary.records += 1
        summary.passed += not reasons
