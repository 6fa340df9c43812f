"""Finding the alleles at a hotspot in one BAM: which codon changes or in-frame indels reads carry, and how
many fragments carry each (counted by oncopanel.counting, the one counting definition shared with the VCF).

Discovery reads each read once: codon bases over the hotspot span, or the read's indels (with the mismatches
beside them: aligners split a delins into del + mismatches) inside a class region. Each allele found is then
named by the annotator (one normaliser, one HGVS path) and counted with ``count_allele``. Fragments whose other
differences from the reference (NM) are >= 2 are tallied as paralogue-like (on the panel-masked reference,
reads of e.g. the chr22 PIK3CA pseudogene land on PIK3CA).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from oncopanel.annotate.annotator import Annotator
from oncopanel.annotate.protein import translate
from oncopanel.counting import WINDOW_MARGIN, CountRules, ReadWindows, count_allele
from oncopanel.errors import InputError
from oncopanel.hotspots.definitions import Hotspot, load_hotspots
from oncopanel.hotspots.detection import substitution_class
from oncopanel.model import Variant
from oncopanel.sequence import SequenceSource, reverse_complement, usable

# Mismatches this close to an indel belong to the same event (aligners split a delins into del + mismatches).
EVENT_MERGE_GAP = 3
REFERENCE_FLANK = 300


@dataclass(frozen=True)
class AlleleCount:
    """One alternate allele seen at a hotspot."""

    form: str  # "G12C", "c.2236_2250del"
    variant: Variant  # plus-strand VCF-style allele (indels anchored, not yet left-normalised)
    error_class: str  # a substitution class, "mnv", "deletion" or "insertion"
    alt_count: int  # fragments carrying the allele (oncopanel.counting)
    paralog_like: int = 0  # of the fragments found carrying it: those with >= 2 other differences from the reference
    depth: int | None = None  # fragments covering the allele (oncopanel.counting); None: the hotspot's depth
    alt_f1r2: int | None = None  # alt fragments by pair orientation (oncopanel.counting); None: not counted
    alt_f2r1: int | None = None


@dataclass(frozen=True)
class HotspotCounts:
    """Fragment counts at one hotspot in one sample."""

    hotspot: Hotspot
    depth: int  # fragments covering the hotspot span (overlapping mates counted once)
    alleles: tuple[AlleleCount, ...]  # hotspot alleles only, most fragments first
    discordant: int = 0  # fragments whose mates disagree: left out of depth
    note: str = ""  # why nothing could be counted (e.g. contig absent from the BAM)
    ref_count: int = 0  # fragments without a hotspot allele
    ref_paralog_like: int = 0  # of those, fragments with >= 2 differences from the reference

    @property
    def class_alt_count(self) -> int:
        return sum(a.alt_count for a in self.alleles)


def _aligned_bases(read, start0: int, end: int, cigar=None) -> list[int] | None:
    """Query positions of reference positions start0..end-1, or None if any is not an aligned base or an
    insertion falls inside the span (such reads say nothing clean about a codon). ``cigar``: the read's
    cigartuples when the caller has them (pysam builds the list at every access)."""
    qpos, rpos = 0, read.reference_start
    out: list[int] = []
    for op, length in read.cigartuples if cigar is None else cigar:
        if op in (0, 7, 8):  # M, =, X
            for i in range(max(start0, rpos), min(end, rpos + length)):
                out.append(qpos + i - rpos)
            qpos += length
            rpos += length
        elif op in (1, 4):  # I, S
            if op == 1 and start0 < rpos < end:
                return None
            qpos += length
        elif op in (2, 3):  # D, N
            if rpos < end and rpos + length > start0:
                return None
            rpos += length
        if rpos >= end:
            break
    return out if len(out) == end - start0 else None


def _codon_observation(read, hotspot: Hotspot, min_bq: int, cigar=None) -> str | None:
    """Plus-strand bases of the read over the hotspot span, or None if unusable there."""
    qpos = _aligned_bases(read, hotspot.start - 1, hotspot.end, cigar)
    if qpos is None:
        return None
    quals = read.query_qualities
    if quals is not None and min(quals[q] for q in qpos) < min_bq:
        return None
    seq = read.query_sequence  # decoded once, not once a base
    bases = "".join(seq[q] for q in qpos).upper()
    return None if "N" in bases else bases


@dataclass(frozen=True)
class _Event:
    """A difference from the reference: ref span [start0, end0) replaced by alt (insertions: empty span)."""

    start0: int
    end0: int
    alt: str
    is_indel: bool


def _read_events(read, ref: str, ref_start0: int, min_bq: int, cigar=None) -> list[_Event] | None:
    """Indels within the fetched sequence, plus the mismatches near them (a delins is often written as an
    indel next to mismatches); None if an insertion is low quality. Reads without indels cost one CIGAR pass."""
    seq, quals = read.query_sequence, read.query_qualities
    qpos, rpos = 0, read.reference_start
    ref_end = ref_start0 + len(ref)
    events: list[_Event] = []
    blocks: list[tuple[int, int]] = []  # (ref start, query start) of aligned blocks, with their lengths below
    lengths: list[int] = []
    for op, length in read.cigartuples if cigar is None else cigar:
        if op in (0, 7, 8):
            blocks.append((rpos, qpos))
            lengths.append(length)
            qpos += length
            rpos += length
        elif op == 1:
            if ref_start0 < rpos < ref_end:
                if quals is not None and statistics.fmean(quals[qpos : qpos + length]) < min_bq:
                    return None
                events.append(_Event(rpos, rpos, seq[qpos : qpos + length].upper(), True))
            qpos += length
        elif op == 4:
            qpos += length
        elif op == 2:
            if ref_start0 <= rpos and rpos + length <= ref_end:
                events.append(_Event(rpos, rpos + length, "", True))
            rpos += length
        elif op == 3:
            rpos += length
    if not events:
        return events
    margin = 4 * EVENT_MERGE_GAP
    near = [(e.start0 - margin, e.end0 + margin) for e in events]
    for (r0, q0), length in zip(blocks, lengths, strict=True):
        for lo, hi in near:
            for r in range(max(r0, lo, ref_start0), min(r0 + length, hi, ref_end)):
                q = q0 + r - r0
                base = seq[q].upper()
                if (quals is None or quals[q] >= min_bq) and base != "N" and base != ref[r - ref_start0]:
                    events.append(_Event(r, r + 1, base, False))
    return list(dict.fromkeys(events))  # a mismatch near two indels is found twice


def _clusters(events: list[_Event]) -> list[list[_Event]]:
    """Group differences lying within EVENT_MERGE_GAP bases of each other; keep groups holding an indel."""
    groups: list[list[_Event]] = []
    for ev in sorted(events, key=lambda e: (e.start0, e.end0)):
        if groups and ev.start0 - max(e.end0 for e in groups[-1]) <= EVENT_MERGE_GAP:
            groups[-1].append(ev)
        else:
            groups.append([ev])
    return [g for g in groups if any(e.is_indel for e in g)]


def _cluster_allele(group: list[_Event], ref: str, ref_start0: int) -> tuple[int, int, str]:
    """(start0, end0, alt) of a group of differences, with bases shared by ref and alt trimmed off."""
    start0 = min(e.start0 for e in group)
    end0 = max(e.end0 for e in group)
    inserted = {e.start0: e.alt for e in group if e.is_indel and e.start0 == e.end0}
    deleted = {p for e in group if e.is_indel for p in range(e.start0, e.end0)}
    mismatch = {e.start0: e.alt for e in group if not e.is_indel}
    alt = []
    for p in range(start0, end0):
        alt.append(inserted.get(p, ""))
        if p not in deleted:
            alt.append(mismatch.get(p, ref[p - ref_start0]))
    alt.append(inserted.get(end0, ""))
    alt_seq = "".join(alt)
    ref_seq = ref[start0 - ref_start0 : end0 - ref_start0]
    while ref_seq and alt_seq and ref_seq[-1] == alt_seq[-1]:
        ref_seq, alt_seq, end0 = ref_seq[:-1], alt_seq[:-1], end0 - 1
    while ref_seq and alt_seq and ref_seq[0] == alt_seq[0]:
        ref_seq, alt_seq, start0 = ref_seq[1:], alt_seq[1:], start0 + 1
    return start0, end0, alt_seq


def _indel_variant(chrom: str, start0: int, end0: int, alt: str, ref: str, ref_start0: int) -> Variant:
    """VCF-style allele; pure indels carry the preceding base as anchor."""
    ref_seq = ref[start0 - ref_start0 : end0 - ref_start0]
    if ref_seq and alt:
        return Variant(chrom, start0 + 1, ref_seq, alt)
    anchor = ref[start0 - 1 - ref_start0]
    return Variant(chrom, start0, anchor + ref_seq, anchor + alt)


def _class_observation(
    read, hotspot: Hotspot, ref: str, ref_start0: int, min_bq: int, cigar=None
) -> tuple[str, tuple[Variant, int] | None] | None:
    """('alt', (variant, edit distance of the event)) for an in-frame event of the class, ('ref', None)
    for a read spanning the window without one, None when the read is not informative."""
    events = _read_events(read, ref, ref_start0, min_bq, cigar)
    if events is None:
        return None
    region0, region_end = hotspot.start - 1, hotspot.end
    for group in _clusters(events):
        start0, end0, alt = _cluster_allele(group, ref, ref_start0)
        net = (end0 - start0) - len(alt)  # > 0: net deletion
        if hotspot.kind == "deletion_class":
            hit = net > 0 and net % 3 == 0 and start0 < region_end and end0 > region0
        else:
            hit = net < 0 and net % 3 == 0 and region0 <= start0 and end0 <= region_end
        if hit:
            edits = sum(max(e.end0 - e.start0, len(e.alt)) for e in group)  # as NM counts them
            return "alt", (_indel_variant(hotspot.chrom, start0, end0, alt, ref, ref_start0), edits)
    spans = read.reference_start <= hotspot.window_start - 1 and read.reference_end >= hotspot.window_end
    return ("ref", None) if spans else None


def codon_allele(hotspot: Hotspot, plus_bases: str) -> tuple[str, Variant, str] | None:
    """(form, variant, error class) when plus_bases is a hotspot allele; None for ref/synonymous/other."""
    ref_plus = hotspot.plus_ref
    if plus_bases == ref_plus:
        return None
    diffs = [i for i, (a, b) in enumerate(zip(ref_plus, plus_bases, strict=True)) if a != b]
    first, last = diffs[0], diffs[-1]
    variant = Variant(hotspot.chrom, hotspot.start + first, ref_plus[first : last + 1], plus_bases[first : last + 1])
    error_class = substitution_class(ref_plus[first], plus_bases[first]) if len(diffs) == 1 else "mnv"
    tx_bases = plus_bases if hotspot.strand == "+" else reverse_complement(plus_bases)
    if hotspot.kind == "snv":
        if hotspot.alt_aa and tx_bases not in hotspot.alt_aa:
            return None
        return f"{hotspot.ref}>{tx_bases}", variant, error_class  # named on the transcript by count_hotspot
    aa = translate(tx_bases)
    if aa in (hotspot.ref_aa, "*", "X") or (hotspot.alt_aa and aa not in hotspot.alt_aa):
        return None
    return f"{hotspot.ref_aa}{hotspot.aa_start}{aa}", variant, error_class


def _other_edits(read, own: int) -> int:
    """Differences from the reference besides the hotspot allele (NM tag; 0 when the aligner wrote none)."""
    return read.get_tag("NM") - own if read.has_tag("NM") else 0


def _fragment_calls(per_read: Mapping[str, list[tuple[str, bool]]]) -> tuple[Counter[str], Counter[str], int]:
    """One observation per fragment: mates that agree count once; mates that disagree are left out.
    Returns fragment counts per allele key, how many of them look paralogous (either mate), and discordant."""
    counts: Counter[str] = Counter()
    paralog_like: Counter[str] = Counter()
    discordant = 0
    for observations in per_read.values():
        keys = {key for key, _ in observations}
        if len(keys) == 1:
            key = keys.pop()
            counts[key] += 1
            paralog_like[key] += any(multi for _, multi in observations)
        else:
            discordant += 1
    return counts, paralog_like, discordant


def allele_name(annotator: Annotator, variant: Variant) -> str:
    """The HGVS c. name of an allele (the annotator's: 3' rule on the transcript strand, dup where it repeats)."""
    a = annotator.annotate(variant)
    return a.hgvs_c or a.hgvs_g


def count_hotspot(
    bam,
    hotspot: Hotspot,
    reference: SequenceSource,
    *,
    min_base_quality: int,
    min_mapping_quality: int,
    annotator: Annotator | None = None,
) -> HotspotCounts:
    """Alleles at one hotspot and their fragment counts (duplicate, secondary, supplementary, QC-fail, low-MAPQ
    reads out); each allele found is counted by oncopanel.counting.count_allele, as the VCF counts it."""
    if hotspot.chrom not in bam.references:
        return HotspotCounts(hotspot, 0, (), note=f"{hotspot.chrom} absent from the BAM header")
    fetch0 = min(hotspot.start, hotspot.window_start) - 1
    fetch_end = max(hotspot.end, hotspot.window_end)
    ref_start0 = max(0, fetch0 - REFERENCE_FLANK)
    ref = reference.fetch(hotspot.chrom, ref_start0, fetch_end + REFERENCE_FLANK).upper() if hotspot.is_class else ""
    # reads from a paralogue or pseudogene forced onto the masked reference differ at several places
    per_read: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    alleles: dict[str, tuple[str, Variant, str]] = {}
    names: dict[Variant, str] = {}
    annotator = annotator or Annotator(sequence=reference)
    for read in bam.fetch(hotspot.chrom, fetch0, fetch_end):
        if not usable(read, min_mapping_quality):
            continue
        cigar = read.cigartuples
        if cigar is None:
            continue
        if hotspot.is_class:
            obs = _class_observation(read, hotspot, ref, ref_start0, min_base_quality, cigar)
            if obs is None:
                continue
            key, own = "ref", 0
            if obs[1] is not None:
                variant, own = obs[1]
                if variant not in names:
                    names[variant] = allele_name(annotator, variant)
                form = names[variant]
                key = f"alt:{form}"  # the normalised name: mates whose aligner placed the event differently agree
                alleles[key] = (
                    form,
                    variant,
                    "deletion" if hotspot.kind == "deletion_class" else "insertion",
                )
        else:
            bases = _codon_observation(read, hotspot, min_base_quality, cigar)
            if bases is None:
                continue
            allele = codon_allele(hotspot, bases)
            key = "ref" if allele is None else allele[1].key  # synonymous/other changes count as non-hotspot
            if allele is not None and key not in alleles:
                form, variant, error_class = allele
                if hotspot.kind == "snv":  # a c. name: the annotator's
                    form = allele_name(annotator, variant)
                alleles[key] = (form, variant, error_class)
            own = sum(a != b for a, b in zip(bases, hotspot.plus_ref, strict=True))
        per_read[read.query_name].append((key, _other_edits(read, own) >= 2))
    counts, paralog_like, discordant = _fragment_calls(per_read)
    rules = CountRules(min_mapping_quality, min_base_quality)
    recounted = {k: count_allele(bam, alleles[k][1], reference, rules) for k in counts if k != "ref"}
    found = sorted(
        (
            AlleleCount(
                *alleles[k],
                alt_count=n.alt,
                paralog_like=paralog_like[k],
                depth=n.depth,
                alt_f1r2=n.alt_f1r2,
                alt_f2r1=n.alt_f2r1,
            )
            for k, n in recounted.items()
            if n.alt
        ),
        key=lambda a: (-a.alt_count, a.form),
    )
    return HotspotCounts(
        hotspot, sum(counts.values()), tuple(found), discordant,
        ref_count=counts["ref"], ref_paralog_like=paralog_like["ref"],
    )  # fmt: skip


def _open_bam(bam_path: Path | str, sample_id: str):
    import pysam

    try:
        return pysam.AlignmentFile(str(bam_path), "rb")
    except (OSError, ValueError) as err:
        raise InputError(f"sample {sample_id}: cannot open BAM {bam_path}: {err}") from err


def count_hotspots(
    bam_path: Path | str,
    sample_id: str,
    hotspots: Sequence[Hotspot] | None = None,
    *,
    reference: SequenceSource | None = None,
    min_base_quality: int,
    min_mapping_quality: int,
) -> list[HotspotCounts]:
    """Counts at every hotspot of one BAM (indexed)."""
    from oncopanel.reference import SliceSequence

    hotspots = load_hotspots() if hotspots is None else hotspots
    reference = reference or SliceSequence()
    with _open_bam(bam_path, sample_id) as bam:
        if not bam.has_index():
            raise InputError(f"sample {sample_id}: BAM {bam_path} has no index (.bai/.csi)")
        annotator = Annotator(sequence=reference)
        # each exon's reads decoded once for its hotspots and the alleles found there, visited in order
        windows = ReadWindows(bam, [(h.chrom, min(h.start, h.window_start) - 1 - WINDOW_MARGIN,
                                     max(h.end, h.window_end) + WINDOW_MARGIN) for h in hotspots])  # fmt: skip
        counts: dict[int, HotspotCounts] = {}
        for i in sorted(range(len(hotspots)), key=lambda i: (hotspots[i].chrom, hotspots[i].start)):
            counts[i] = count_hotspot(
                windows, hotspots[i], reference, min_base_quality=min_base_quality,
                min_mapping_quality=min_mapping_quality, annotator=annotator,
            )  # fmt: skip
        return [counts[i] for i in range(len(hotspots))]
