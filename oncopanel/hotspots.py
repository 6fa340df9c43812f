"""Hotspot genotyping: read counts at actionable hotspots, VAF with a confidence interval, a test against the
background error rate, the limit of detection (LoD) reached, and a status per hotspot.

A hotspot is *detected* when its alternate reads pass the detection rule (at least ``min_alt`` reads AND
a one-sided binomial test against the background error rate below ``alpha``), *not detected* only when the
depth reached a LoD at or below the panel's stated LoD, and *not assessable* otherwise. The LoD at a depth
is the smallest VAF the same rule detects with probability ``power`` (95%), so "not detected" always means
"could have been seen".

Hotspots are data (annotation/hotspots.tsv): codons (any missense, or listed amino acids), single bases,
and two classes found from the CIGAR whatever their breakpoints: in-frame deletions (EGFR exon 19) and
in-frame insertions (EGFR exon 20). Coordinates are GRCh38, 1-based inclusive.

Counting is per fragment: duplicate, secondary, supplementary, QC-fail and low-MAPQ reads are skipped, bases
below the base-quality threshold are not evidence, overlapping mates count once and mates that disagree are
left out. An allele whose reads carry >= 2 other differences from the reference far more often than the
reference reads do is set aside as paralogue/pseudogene reads (on the panel-masked reference, reads of e.g.
the chr22 PIK3CA pseudogene land on PIK3CA). Background rates can be raised per allele from the batch's other
samples (``genotype_batch``).

Entry points: ``genotype_hotspots`` (one BAM -> HotspotResult per hotspot), ``evaluate_hotspots`` (the same
with the allele tests, for VCF force-in), ``genotype_batch``, ``write_hotspot_table`` / ``read_hotspot_table``,
``limit_of_detection`` and ``required_depth``.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal

from oncopanel import paths
from oncopanel.errors import InputError
from oncopanel.model import HotspotResult, Variant
from oncopanel.sequence import CODONS, SequenceSource, complement, reverse_complement

HotspotKind = Literal["codon", "snv", "deletion_class", "insertion_class"]

SUBSTITUTION_CLASSES = ("C>A", "C>G", "C>T", "T>A", "T>C", "T>G")  # pyrimidine-normalised
CODON_TABLE = CODONS
Z95 = 1.959963984540054
# Mismatches this close to an indel belong to the same event (aligners split a delins into del + mismatches).
EVENT_MERGE_GAP = 3
REFERENCE_FLANK = 300


# ------------------------------------------------------------------------------------------
# Hotspot definitions


@dataclass(frozen=True)
class Hotspot:
    """One row of annotation/hotspots.tsv."""

    hotspot_id: str
    gene: str
    transcript: str
    label: str
    kind: HotspotKind
    aa_start: int
    aa_end: int
    ref_aa: str  # "." for classes
    alt_aa: tuple[str, ...]  # () = any missense change (codons) / any base (snv); classes: ()
    chrom: str
    start: int  # codon span or class region, 1-based inclusive
    end: int
    strand: str
    ref: str  # reference codon/base in transcript orientation; "." for classes
    c_start: int  # c. position of the 5' (transcript) base of start..end
    window_start: int  # a read must span this window to count toward depth
    window_end: int
    panel: str
    note: str = ""
    source: str = ""

    @property
    def is_class(self) -> bool:
        return self.kind in ("deletion_class", "insertion_class")

    @property
    def plus_ref(self) -> str:
        return self.ref if self.strand == "+" else reverse_complement(self.ref)

    def c_position(self, pos: int) -> int:
        """c. position of a genomic position inside start..end (the table keeps each region in one exon)."""
        return self.c_start + (pos - self.start if self.strand == "+" else self.end - pos)


def translate(codon: str) -> str:
    return CODON_TABLE.get(codon.upper(), "X")


def load_hotspots(path: Path | None = None) -> list[Hotspot]:
    """Hotspots from the TSV (default annotation/hotspots.tsv)."""
    path = path or paths.ANNOTATION / "hotspots.tsv"
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("##")]
    header = lines[0].lstrip("#").split("\t")
    out = []
    for n, line in enumerate(lines[1:], start=2):
        row = dict(zip(header, line.split("\t"), strict=True))
        try:
            out.append(
                Hotspot(
                    **{k: row[k] for k in ("hotspot_id", "gene", "transcript", "label", "chrom", "strand")},
                    kind=row["kind"],  # type: ignore[arg-type]
                    aa_start=int(row["aa_start"]),
                    aa_end=int(row["aa_end"]),
                    ref_aa=row["ref_aa"],
                    alt_aa=() if row["alt_aa"] in ("any", ".", "") else tuple(row["alt_aa"].split(",")),
                    start=int(row["start"]),
                    end=int(row["end"]),
                    ref=row["ref"],
                    c_start=int(row["c_start"]),
                    window_start=int(row["window_start"]),
                    window_end=int(row["window_end"]),
                    panel=row["panel"],
                    note=row.get("note", ""),
                    source=row.get("source", ""),
                )
            )
        except (KeyError, ValueError) as err:
            raise InputError(f"{path}: line {n}: bad hotspot row ({err})") from err
    return out


# ------------------------------------------------------------------------------------------
# Binomial maths (no scipy): pmf in log space, tails, Wilson interval, detection threshold, LoD


def _log_pmf(k: int, n: int, p: float) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p).

    One log-space term, then the ratio recurrence walking away from the mode (terms only shrink): the shorter
    side is summed, so both tiny tails (p-values) and tails near 1 (detection power) stay accurate and cheap.
    """
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    odds = p / (1 - p)
    if k - 1 < n * p:  # lower tail P(X <= k-1), summed downwards from its largest term
        term = math.exp(_log_pmf(k - 1, n, p))
        total = 0.0
        for i in range(k - 1, -1, -1):
            total += term
            if term < total * 1e-17:
                break
            term *= i / ((n - i + 1) * odds)
        return max(0.0, 1.0 - total)
    term = math.exp(_log_pmf(k, n, p))
    total = 0.0
    for i in range(k, n + 1):  # upper tail summed upwards from its largest term
        total += term
        if term < total * 1e-17:
            break
        term *= (n - i) / (i + 1) * odds
    return min(1.0, total)


def wilson_interval(alt: int, depth: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for alt/depth (95% by default); (0, 1) when depth is 0."""
    if depth <= 0:
        return 0.0, 1.0
    if alt == 0 or alt == depth:  # closed-form ends, free of rounding
        edge = z * z / (depth + z * z)
        return (0.0, edge) if alt == 0 else (1.0 - edge, 1.0)
    p = alt / depth
    denom = 1 + z * z / depth
    centre = (p + z * z / (2 * depth)) / denom
    half = z * math.sqrt(p * (1 - p) / depth + z * z / (4 * depth * depth)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@lru_cache(maxsize=65536)
def min_alt_reads(depth: int, background: float, min_alt: int = 3, alpha: float = 1e-3) -> int | None:
    """Fewest alternate reads the detection rule accepts at this depth (None: none can be enough)."""
    for k in range(max(1, min_alt), depth + 1):
        if binom_sf(k, depth, background) < alpha:
            return k
    return None


@lru_cache(maxsize=65536)
def limit_of_detection(
    depth: int, background: float, min_alt: int = 3, alpha: float = 1e-3, power: float = 0.95
) -> float | None:
    """Smallest VAF detected with probability >= power at this depth under the rule (None: never)."""
    k = min_alt_reads(depth, background, min_alt, alpha)
    if k is None:
        return None
    lo, hi = 0.0, 1.0  # P(X >= k | f) rises with f: bisect
    for _ in range(60):
        mid = (lo + hi) / 2
        if binom_sf(k, depth, mid) >= power:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-7:
            break
    return hi


@lru_cache(maxsize=1024)
def required_depth(
    stated_lod: float,
    background: float = 0.002,
    *,
    min_alt: int = 3,
    alpha: float = 1e-3,
    power: float = 0.95,
    max_depth: int = 200_000,
) -> int | None:
    """Smallest depth from which the LoD stays at or below stated_lod (None if not reached by max_depth).

    The LoD is a saw-tooth in depth (each extra read the threshold demands makes it jump up a little), so the
    answer is the depth after the last crossing found within twice the first one, not just the first crossing.
    """

    def ok(n: int) -> bool:
        lod = limit_of_detection(n, background, min_alt, alpha, power)
        return lod is not None and lod <= stated_lod

    lo, hi = 1, 1
    while not ok(hi):  # exponential search for a first depth that works, then scan down to the first one
        lo, hi = hi, hi * 2
        if hi > max_depth:
            return None
    first = next(n for n in range(lo, hi + 1) if ok(n))
    last_bad = max((n for n in range(first, 2 * first + 1) if not ok(n)), default=first - 1)
    return last_bad + 1


# ------------------------------------------------------------------------------------------
# Thresholds and background error


@dataclass(frozen=True)
class Thresholds:
    """The calling rule, kept together so the LoD is computed under exactly the rule that calls."""

    min_base_quality: int = 20
    min_mapping_quality: int = 20
    min_alt: int = 3
    alpha: float = 1e-3  # one-sided binomial test against the background error rate
    power: float = 0.95  # the LoD is the VAF detected with this probability
    stated_lod: float = 0.05
    # alt fragments with >= 2 other differences from the reference, in excess of the reference fragments' share,
    # above which the allele is taken for paralogue/pseudogene reads (e.g. PIK3CA exon 9-13 pseudogene on chr22)
    paralog_excess: float = 0.3


def _default_substitution_rates() -> dict[str, float]:
    return dict.fromkeys(SUBSTITUTION_CLASSES, 0.002)


@dataclass(frozen=True)
class BackgroundError:
    """Per-read error rates the alternate count is tested against.

    ``substitution`` is per pyrimidine-normalised class (raise C>T for FFPE deamination, C>A for
    oxidation G>T); ``mnv`` applies to codons changed at 2-3 bases; indel rates apply to the class hotspots
    (in-frame indels of 3+ bases are rare as sequencing errors). ``site`` holds rates estimated for one
    allele of one hotspot (key ``(hotspot_id, form)``; form ``"*"`` for a whole class), e.g. from the
    batch's other samples.
    """

    substitution: Mapping[str, float] = field(default_factory=_default_substitution_rates)
    mnv: float = 1e-4
    deletion: float = 1e-4
    insertion: float = 1e-4
    site: Mapping[tuple[str, str], float] = field(default_factory=dict)

    def rate(self, hotspot_id: str, form: str, error_class: str) -> float:
        if (hotspot_id, form) in self.site:
            return self.site[(hotspot_id, form)]
        if error_class in ("mnv", "deletion", "insertion"):
            return getattr(self, error_class)
        return self.substitution.get(error_class, max(self.substitution.values()))


def substitution_class(ref: str, alt: str) -> str:
    """Pyrimidine-normalised class of a plus-strand base change: G>A is C>T."""
    if ref in "GA":
        ref, alt = complement(ref), complement(alt)
    return f"{ref}>{alt}"


# ------------------------------------------------------------------------------------------
# Read evidence


@dataclass(frozen=True)
class AlleleCount:
    """One alternate allele seen at a hotspot."""

    form: str  # "G12C", "c.2236_2250del"
    variant: Variant  # plus-strand VCF-style allele (indels anchored, not yet left-normalised)
    error_class: str  # a substitution class, "mnv", "deletion" or "insertion"
    alt_count: int
    paralog_like: int = 0  # of alt_count: fragments with >= 2 other differences from the reference


@dataclass(frozen=True)
class HotspotCounts:
    """Fragment counts at one hotspot in one sample."""

    hotspot: Hotspot
    depth: int  # informative fragments (overlapping mates counted once)
    alleles: tuple[AlleleCount, ...]  # hotspot alleles only, most reads first
    discordant: int = 0  # fragments whose mates disagree: left out of depth
    note: str = ""  # why nothing could be counted (e.g. contig absent from the BAM)
    ref_count: int = 0  # fragments without a hotspot allele
    ref_paralog_like: int = 0  # of those, fragments with >= 2 differences from the reference

    @property
    def class_alt_count(self) -> int:
        return sum(a.alt_count for a in self.alleles)


def _usable(read, min_mapping_quality: int) -> bool:
    return (
        not (read.is_unmapped or read.is_duplicate or read.is_secondary or read.is_supplementary or read.is_qcfail)
        and read.mapping_quality >= min_mapping_quality
    )


def _aligned_bases(read, start0: int, end: int) -> list[int] | None:
    """Query positions of reference positions start0..end-1, or None if any is not an aligned base or an
    insertion falls inside the span (such reads say nothing clean about a codon)."""
    qpos, rpos = 0, read.reference_start
    out: list[int] = []
    for op, length in read.cigartuples:
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


def _codon_observation(read, hotspot: Hotspot, min_bq: int) -> str | None:
    """Plus-strand bases of the read over the hotspot span, or None if unusable there."""
    qpos = _aligned_bases(read, hotspot.start - 1, hotspot.end)
    if qpos is None:
        return None
    quals = read.query_qualities
    if quals is not None and min(quals[q] for q in qpos) < min_bq:
        return None
    bases = "".join(read.query_sequence[q] for q in qpos).upper()
    return None if "N" in bases else bases


@dataclass(frozen=True)
class _Event:
    """A difference from the reference: ref span [start0, end0) replaced by alt (insertions: empty span)."""

    start0: int
    end0: int
    alt: str
    is_indel: bool


def _read_events(read, ref: str, ref_start0: int, min_bq: int) -> list[_Event] | None:
    """Indels within the fetched sequence, plus the mismatches near them (a delins is often written as an
    indel next to mismatches); None if an insertion is low quality. Reads without indels cost one CIGAR pass."""
    seq, quals = read.query_sequence, read.query_qualities
    qpos, rpos = 0, read.reference_start
    ref_end = ref_start0 + len(ref)
    events: list[_Event] = []
    blocks: list[tuple[int, int]] = []  # (ref start, query start) of aligned blocks, with their lengths below
    lengths: list[int] = []
    for op, length in read.cigartuples:
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


def _shift_3prime(start0: int, end0: int, alt: str, ref: str, ref_start0: int, strand: str) -> tuple[int, int, str]:
    """Move a pure deletion or insertion as far 3' (transcript orientation) as the sequence allows."""
    i, j = start0 - ref_start0, end0 - ref_start0
    if alt and i == j:  # insertion before ref[i]
        if strand == "+":
            while i < len(ref) and alt[0] == ref[i]:
                alt, i = alt[1:] + ref[i], i + 1
        else:
            while i > 0 and alt[-1] == ref[i - 1]:
                alt, i = ref[i - 1] + alt[:-1], i - 1
        return i + ref_start0, i + ref_start0, alt
    if not alt and j > i:
        if strand == "+":
            while j < len(ref) and ref[i] == ref[j]:
                i, j = i + 1, j + 1
        else:
            while i > 0 and ref[i - 1] == ref[j - 1]:
                i, j = i - 1, j - 1
    return i + ref_start0, j + ref_start0, alt


def _hgvs_span(hotspot: Hotspot, first: int, last: int) -> str:
    """'c.A_B' (transcript order) when inside the hotspot region, else 'chrom:g.A_B'."""
    if hotspot.start <= first and last <= hotspot.end:
        a, b = sorted((hotspot.c_position(first), hotspot.c_position(last)))
        return f"c.{a}" if a == b else f"c.{a}_{b}"
    return f"{hotspot.chrom}:g.{first}" if first == last else f"{hotspot.chrom}:g.{first}_{last}"


def indel_form(hotspot: Hotspot, start0: int, end0: int, alt: str, ref: str, ref_start0: int) -> str:
    """HGVS-style name of a normalised allele (ref span [start0, end0) replaced by alt), 3'-shifted."""
    start0, end0, alt = _shift_3prime(start0, end0, alt, ref, ref_start0, hotspot.strand)
    tx_alt = alt if hotspot.strand == "+" else reverse_complement(alt)
    if start0 == end0:  # insertion between 1-based positions start0 and start0 + 1
        n = len(alt)
        i = start0 - ref_start0
        if hotspot.strand == "+" and ref[max(0, i - n) : i] == alt:
            return _hgvs_span(hotspot, start0 - n + 1, start0) + "dup"
        if hotspot.strand == "-" and ref[i : i + n] == alt:
            return _hgvs_span(hotspot, start0 + 1, start0 + n) + "dup"
        return _hgvs_span(hotspot, start0, start0 + 1) + f"ins{tx_alt}"
    span = _hgvs_span(hotspot, start0 + 1, end0)
    return span + ("del" if not alt else f"delins{tx_alt}")


def _indel_variant(chrom: str, start0: int, end0: int, alt: str, ref: str, ref_start0: int) -> Variant:
    """VCF-style allele; pure indels carry the preceding base as anchor."""
    ref_seq = ref[start0 - ref_start0 : end0 - ref_start0]
    if ref_seq and alt:
        return Variant(chrom, start0 + 1, ref_seq, alt)
    anchor = ref[start0 - 1 - ref_start0]
    return Variant(chrom, start0, anchor + ref_seq, anchor + alt)


def _class_observation(
    read, hotspot: Hotspot, ref: str, ref_start0: int, min_bq: int
) -> tuple[str, tuple[str, Variant, int] | None] | None:
    """('alt', (form, variant, edit distance of the event)) for an in-frame event of the class, ('ref', None)
    for a read spanning the window without one, None when the read is not informative."""
    events = _read_events(read, ref, ref_start0, min_bq)
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
            form = indel_form(hotspot, start0, end0, alt, ref, ref_start0)
            edits = sum(max(e.end0 - e.start0, len(e.alt)) for e in group)  # as NM counts them
            return "alt", (form, _indel_variant(hotspot.chrom, start0, end0, alt, ref, ref_start0), edits)
    spans = read.reference_start <= hotspot.window_start - 1 and read.reference_end >= hotspot.window_end
    return ("ref", None) if spans else None


def _codon_allele(hotspot: Hotspot, plus_bases: str) -> tuple[str, Variant, str] | None:
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
        return f"c.{hotspot.c_start}{hotspot.ref}>{tx_bases}", variant, error_class
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


def count_hotspot(
    bam,
    hotspot: Hotspot,
    reference: SequenceSource,
    *,
    min_base_quality: int = 20,
    min_mapping_quality: int = 20,
) -> HotspotCounts:
    """Fragment counts at one hotspot (duplicate, secondary, supplementary, QC-fail, low-MAPQ reads out)."""
    if hotspot.chrom not in bam.references:
        return HotspotCounts(hotspot, 0, (), note=f"{hotspot.chrom} absent from the BAM header")
    fetch0 = min(hotspot.start, hotspot.window_start) - 1
    fetch_end = max(hotspot.end, hotspot.window_end)
    ref_start0 = max(0, fetch0 - REFERENCE_FLANK)
    ref = reference.fetch(hotspot.chrom, ref_start0, fetch_end + REFERENCE_FLANK).upper() if hotspot.is_class else ""
    # reads from a paralogue or pseudogene forced onto the masked reference differ at several places
    per_read: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    alleles: dict[str, tuple[str, Variant, str]] = {}
    for read in bam.fetch(hotspot.chrom, fetch0, fetch_end):
        if not _usable(read, min_mapping_quality) or read.cigartuples is None:
            continue
        if hotspot.is_class:
            obs = _class_observation(read, hotspot, ref, ref_start0, min_base_quality)
            if obs is None:
                continue
            key, own = "ref", 0
            if obs[1] is not None:
                form, variant, own = obs[1]
                key = f"alt:{form}"  # the normalised name: mates whose aligner placed the event differently agree
                alleles[key] = (
                    form,
                    variant,
                    "deletion" if hotspot.kind == "deletion_class" else "insertion",
                )
        else:
            bases = _codon_observation(read, hotspot, min_base_quality)
            if bases is None:
                continue
            allele = _codon_allele(hotspot, bases)
            key = "ref" if allele is None else allele[1].key  # synonymous/other changes count as non-hotspot
            if allele is not None:
                alleles[key] = allele
            own = sum(a != b for a, b in zip(bases, hotspot.plus_ref, strict=True))
        per_read[read.query_name].append((key, _other_edits(read, own) >= 2))
    counts, paralog_like, discordant = _fragment_calls(per_read)
    found = sorted(
        (AlleleCount(*alleles[k], alt_count=n, paralog_like=paralog_like[k]) for k, n in counts.items() if k != "ref"),
        key=lambda a: (-a.alt_count, a.form),
    )
    return HotspotCounts(
        hotspot, sum(counts.values()), tuple(found), discordant,
        ref_count=counts["ref"], ref_paralog_like=paralog_like["ref"],
    )  # fmt: skip


# ------------------------------------------------------------------------------------------
# Calling


@dataclass(frozen=True)
class AlleleCall:
    """The test of one allele (codons) or of the whole class (class hotspots)."""

    hotspot_id: str
    form: str
    variant: Variant | None
    alt_count: int
    depth: int
    vaf: float
    p_value: float
    background: float
    passes_rule: bool  # min_alt and the binomial test
    paralog_like: int  # alt fragments with >= 2 other differences from the reference
    paralog_suspect: bool  # alt reads look like a paralogue/pseudogene forced onto the masked reference
    detected: bool  # passes_rule and not paralog_suspect


@dataclass(frozen=True)
class HotspotEvaluation:
    result: HotspotResult
    # the tests behind the result; detected ones feed origin=hotspot VCF records
    alleles: tuple[AlleleCall, ...]


def candidate_error_classes(hotspot: Hotspot) -> set[str]:
    """Error classes of the single-read artefacts that could mimic this hotspot (for its LoD)."""
    if hotspot.kind == "deletion_class":
        return {"deletion"}
    if hotspot.kind == "insertion_class":
        return {"insertion"}
    ref_plus = hotspot.plus_ref
    out = set()
    for i, ref_base in enumerate(ref_plus):
        for base in "ACGT":
            if base != ref_base:
                alt = ref_plus[:i] + base + ref_plus[i + 1 :]
                if _codon_allele(hotspot, alt) is not None:
                    out.add(substitution_class(ref_base, base))
    return out or {"mnv"}  # alleles reachable only through 2-3 changes


def hotspot_background(hotspot: Hotspot, background: BackgroundError) -> float:
    """Highest background among this hotspot's plausible alleles: the LoD must hold for each of them."""
    rates = [background.rate(hotspot.hotspot_id, "", c) for c in candidate_error_classes(hotspot)]
    rates += [r for (hid, _form), r in background.site.items() if hid == hotspot.hotspot_id]
    return max(rates)


def _call(
    hotspot_id: str,
    form: str,
    variant: Variant | None,
    alt: int,
    depth: int,
    rate: float,
    th: Thresholds,
    *,
    paralog_like: int,
    ref_paralog_rate: float,
) -> AlleleCall:
    p = binom_sf(alt, depth, rate)
    passes = alt >= th.min_alt and p < th.alpha
    # a real somatic allele sits on reads that otherwise look like reference reads
    paralog = paralog_like >= 2 and paralog_like / alt - ref_paralog_rate >= th.paralog_excess
    vaf = alt / depth if depth else 0.0
    return AlleleCall(
        hotspot_id, form, variant, alt, depth, vaf, p, rate, passes, paralog_like, paralog, passes and not paralog
    )


def _describe(call: AlleleCall) -> str:
    text = f"{call.form} {call.alt_count}/{call.depth} (p={call.p_value:.2g})"
    if call.paralog_suspect:
        text += f" set aside: {call.paralog_like} of its fragments look paralogous"
    return text


def assess_hotspot(counts: HotspotCounts, thresholds: Thresholds, background: BackgroundError) -> HotspotEvaluation:
    """Status, VAF with Wilson 95% CI, and LoD for one hotspot from its counts."""
    hs, depth = counts.hotspot, counts.depth
    ref_paralog_rate = counts.ref_paralog_like / counts.ref_count if counts.ref_count else 0.0
    if hs.is_class:
        total = counts.class_alt_count
        rate = background.rate(hs.hotspot_id, "*", "deletion" if hs.kind == "deletion_class" else "insertion")
        top = counts.alleles[0] if counts.alleles else None
        forms = [a.form for a in counts.alleles if a.alt_count >= max(2, 0.1 * total)] or ([top.form] if top else [])
        paralog_like = sum(a.paralog_like for a in counts.alleles)
        variant = top.variant if top else None
        calls = (
            (
                _call(hs.hotspot_id, ";".join(forms), variant, total, depth, rate, thresholds,
                      paralog_like=paralog_like, ref_paralog_rate=ref_paralog_rate),
            )
            if total
            else ()
        )  # fmt: skip
    else:
        calls = tuple(
            _call(
                hs.hotspot_id,
                a.form,
                a.variant,
                a.alt_count,
                depth,
                background.rate(hs.hotspot_id, a.form, a.error_class),
                thresholds,
                paralog_like=a.paralog_like,
                ref_paralog_rate=ref_paralog_rate,
            )
            for a in counts.alleles
        )
    lod = limit_of_detection(
        depth, hotspot_background(hs, background), thresholds.min_alt, thresholds.alpha, thresholds.power
    )
    detected = [c for c in calls if c.detected]
    paralog = [c for c in calls if c.passes_rule and c.paralog_suspect]
    lead = detected[0] if detected else paralog[0] if paralog else (calls[0] if calls else None)
    alt = lead.alt_count if lead else 0
    ci = wilson_interval(alt, depth) if depth else (None, None)
    vaf = alt / depth if depth else None
    lod_text = f"{lod:.2%}" if lod is not None else "none"
    seen = ", ".join(_describe(c) for c in calls) or "no alternate reads"
    extra = f"; {counts.discordant} discordant overlapping fragments left out" if counts.discordant else ""
    if detected:
        status, observed = "detected", ";".join(dict.fromkeys(c.form for c in detected))
        reason = f"{seen}; LoD {lod_text} at {depth}x{extra}"
    elif paralog:
        status, observed = "not_assessable", ""
        c = paralog[0]
        reason = (
            f"{c.form} {c.alt_count}/{depth}, but {c.paralog_like} of those fragments carry >= 2 other differences "
            f"from the reference ({counts.ref_paralog_like}/{counts.ref_count} reference fragments do): reads of a "
            f"paralogue or pseudogene, not evidence of {hs.label}; LoD {lod_text} at {depth}x{extra}"
        )
    elif lod is not None and lod <= thresholds.stated_lod:
        status, observed = "not_detected", ""
        reason = f"{seen}; LoD {lod_text} at {depth}x reached (stated {thresholds.stated_lod:.0%}){extra}"
    else:
        status, observed = "not_assessable", ""
        need = required_depth(
            thresholds.stated_lod,
            hotspot_background(hs, background),
            min_alt=thresholds.min_alt,
            alpha=thresholds.alpha,
            power=thresholds.power,
        )
        why = counts.note or ("no reads" if depth == 0 else seen)
        reason = (
            f"depth {depth}x below the {need}x needed for the stated LoD {thresholds.stated_lod:.0%} "
            f"(LoD here {lod_text}); {why}{extra}"
        )
    result = HotspotResult(
        hotspot_id=hs.hotspot_id,
        gene=hs.gene,
        label=hs.label,
        status=status,
        depth=depth,
        alt_count=alt,
        vaf=vaf,
        vaf_ci_low=ci[0],
        vaf_ci_high=ci[1],
        lod=lod,
        observed=observed,
        reason=reason,
    )
    return HotspotEvaluation(result, calls)


# ------------------------------------------------------------------------------------------
# Per-sample and per-batch entry points


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
    min_base_quality: int = 20,
    min_mapping_quality: int = 20,
) -> list[HotspotCounts]:
    """Counts at every hotspot of one BAM (indexed)."""
    from oncopanel.reference import SliceSequence

    hotspots = load_hotspots() if hotspots is None else hotspots
    reference = reference or SliceSequence()
    with _open_bam(bam_path, sample_id) as bam:
        if not bam.has_index():
            raise InputError(f"sample {sample_id}: BAM {bam_path} has no index (.bai/.csi)")
        return [
            count_hotspot(
                bam, hs, reference, min_base_quality=min_base_quality, min_mapping_quality=min_mapping_quality
            )
            for hs in hotspots
        ]


def evaluate_hotspots(
    bam_path: Path | str,
    sample_id: str,
    hotspots: Sequence[Hotspot] | None = None,
    *,
    thresholds: Thresholds | None = None,
    background_error: BackgroundError | None = None,
    reference: SequenceSource | None = None,
) -> list[HotspotEvaluation]:
    """Results with the allele tests behind them (what the VCF writer needs for origin=hotspot records)."""
    th = thresholds or Thresholds()
    counts = count_hotspots(
        bam_path,
        sample_id,
        hotspots,
        reference=reference,
        min_base_quality=th.min_base_quality,
        min_mapping_quality=th.min_mapping_quality,
    )
    return [assess_hotspot(c, th, background_error or BackgroundError()) for c in counts]


def genotype_hotspots(
    bam_path: Path | str,
    sample_id: str,
    hotspots: Sequence[Hotspot] | None = None,
    *,
    min_base_quality: int = 20,
    min_mapping_quality: int = 20,
    min_alt: int = 3,
    alpha: float = 1e-3,
    power: float = 0.95,
    stated_lod: float = 0.05,
    background_error: BackgroundError | None = None,
    reference: SequenceSource | None = None,
) -> list[HotspotResult]:
    """Status of every hotspot in one sample's BAM: detected / not_detected (with LoD) / not_assessable."""
    th = Thresholds(min_base_quality, min_mapping_quality, min_alt, alpha, power, stated_lod)
    evaluations = evaluate_hotspots(
        bam_path, sample_id, hotspots, thresholds=th, background_error=background_error, reference=reference
    )
    return [e.result for e in evaluations]


def estimate_background(
    counts_by_sample: Mapping[str, Sequence[HotspotCounts]],
    exclude: str,
    base: BackgroundError | None = None,
    *,
    min_samples: int = 3,
    min_depth: int = 100,
    max_error_fraction: float = 0.05,
) -> BackgroundError:
    """Site rates from the batch's other samples, so an artefact recurring across the batch (FFPE C>T, a
    systematic error) is not called in one more sample.

    Per allele (per class for class hotspots): the median alt fraction over the other samples with depth >=
    min_depth, zeros included. Fractions >= max_error_fraction are taken for real variants and left out (a
    batch of EGFR-positive tumours must not teach that exon 19 deletions are noise), and the median ignores a
    minority of carriers below that. Rates are only raised above ``base``, never lowered, and need at least
    ``min_samples`` usable samples.
    """
    base = base or BackgroundError()
    fractions: dict[tuple[str, str], list[float]] = defaultdict(list)
    error_classes: dict[tuple[str, str], str] = {}
    n_samples: Counter[str] = Counter()
    for sample, counts in counts_by_sample.items():
        if sample == exclude:
            continue
        for c in counts:
            if c.depth < min_depth:
                continue
            hid = c.hotspot.hotspot_id
            n_samples[hid] += 1
            if c.hotspot.is_class:
                key = (hid, "*")
                fractions[key].append(c.class_alt_count / c.depth)
                error_classes[key] = "deletion" if c.hotspot.kind == "deletion_class" else "insertion"
            else:
                for a in c.alleles:
                    fractions[(hid, a.form)].append(a.alt_count / c.depth)
                    error_classes[(hid, a.form)] = a.error_class
    site = dict(base.site)
    for key, values in fractions.items():
        # batch-mates without the allele saw 0 reads; likely carriers are not noise
        values = values + [0.0] * (n_samples[key[0]] - len(values))
        values = [v for v in values if v < max_error_fraction]
        if len(values) < min_samples:
            continue
        median = statistics.median(values)
        if median > base.rate(*key, error_classes[key]):
            site[key] = median
    return replace(base, site=site)


def genotype_batch(
    bam_paths: Mapping[str, Path | str],
    hotspots: Sequence[Hotspot] | None = None,
    *,
    thresholds: Thresholds | None = None,
    background_error: BackgroundError | None = None,
    estimate_from_batch: bool = True,
    reference: SequenceSource | None = None,
) -> dict[str, list[HotspotEvaluation]]:
    """Every sample of a batch; with estimate_from_batch, each sample is tested against error rates raised by
    what its batch-mates show at the same allele (recurrent artefacts)."""
    from oncopanel.reference import SliceSequence

    th = thresholds or Thresholds()
    hotspots = load_hotspots() if hotspots is None else hotspots
    reference = reference or SliceSequence()
    counts = {
        s: count_hotspots(
            p,
            s,
            hotspots,
            reference=reference,
            min_base_quality=th.min_base_quality,
            min_mapping_quality=th.min_mapping_quality,
        )
        for s, p in bam_paths.items()
    }
    base = background_error or BackgroundError()
    out = {}
    for sample, sample_counts in counts.items():
        bg = estimate_background(counts, sample, base) if estimate_from_batch else base
        out[sample] = [assess_hotspot(c, th, bg) for c in sample_counts]
    return out


# ------------------------------------------------------------------------------------------
# Output contract: hotspot table (TSV + Parquet)

RESULT_COLUMNS = ["sample_id"] + [f.name for f in fields(HotspotResult)]
_FLOAT_COLUMNS = ("vaf", "vaf_ci_low", "vaf_ci_high", "lod")


def _rows(results: Mapping[str, Sequence[HotspotResult]] | Sequence[HotspotResult], sample_id: str) -> list[dict]:
    by_sample = results if isinstance(results, Mapping) else {sample_id: results}
    return [{"sample_id": s, **asdict(r)} for s, rs in by_sample.items() for r in rs]


def _tsv_cell(value: object) -> str:
    # the text pandas' to_csv gave before (shortest round-trip float text, empty for missing): tables stay comparable
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def write_hotspot_table(
    results: Mapping[str, Sequence[HotspotResult]] | Sequence[HotspotResult],
    tsv_path: Path | str,
    parquet_path: Path | str | None = None,
    *,
    sample_id: str = "",
) -> None:
    """One row per sample and hotspot; results: one sample's list (named by sample_id) or {sample: list}.

    Written with the csv module, and the Parquet copy read back from that TSV by pyarrow's CSV reader with every
    column typed: this runs once per sample, and pandas (or pyarrow's array builders, which load pandas) cost more
    CPU to import than the hotspot genotyping itself."""
    import csv

    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    rows = _rows(results, sample_id)
    Path(tsv_path).parent.mkdir(parents=True, exist_ok=True)
    with open(tsv_path, "w", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(RESULT_COLUMNS)
        writer.writerows([_tsv_cell(row[c]) for c in RESULT_COLUMNS] for row in rows)
    if parquet_path is not None:
        types = {"depth": pa.int64(), "alt_count": pa.int64(), **dict.fromkeys(_FLOAT_COLUMNS, pa.float64())}
        table = pa_csv.read_csv(
            tsv_path,
            parse_options=pa_csv.ParseOptions(delimiter="\t", newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(column_types={c: types.get(c, pa.string()) for c in RESULT_COLUMNS}),
        )
        pq.write_table(table, parquet_path)


def read_hotspot_table(path: Path | str) -> dict[str, list[HotspotResult]]:
    """{sample_id: results} from a table written by write_hotspot_table (TSV or Parquet, by suffix)."""
    import pandas as pd

    path = Path(path)
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(
            path,
            sep="\t",
            dtype={"sample_id": str, "observed": str, "reason": str},
            keep_default_na=False,
            na_values={c: [""] for c in _FLOAT_COLUMNS},
        )
    missing = set(RESULT_COLUMNS) - set(df.columns)
    if missing:
        raise InputError(f"{path}: not a hotspot table (missing columns {sorted(missing)})")
    out: dict[str, list[HotspotResult]] = defaultdict(list)
    for row in df.to_dict("records"):
        values = {k: row[k] for k in RESULT_COLUMNS[1:]}
        for k in _FLOAT_COLUMNS:
            values[k] = None if values[k] is None or math.isnan(values[k]) else float(values[k])
        values["depth"], values["alt_count"] = int(values["depth"]), int(values["alt_count"])
        values["observed"], values["reason"] = str(values["observed"] or ""), str(values["reason"] or "")
        out[str(row["sample_id"])].append(HotspotResult(**values))
    return dict(out)


def results_by_id(results: Iterable[HotspotResult]) -> dict[str, HotspotResult]:
    return {r.hotspot_id: r for r in results}
