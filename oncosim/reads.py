"""Read simulation for the demo batch and the calling benchmark.

ART reads from the embedded GRCh38 with spiked variants at known allele fractions, and optional library
artefacts (FFPE deamination, 8-oxoG) on one read orientation.

How a sample is built:
- each target region is padded by about a fragment length and overlapping ones merged into *windows*, so the
  targets themselves keep full depth (ART draws whole fragments inside the sequence it is given);
- each window gets a reference haplotype and one alternate haplotype per spiked variant inside it; ART
  simulates read pairs separately per haplotype with an exact pair count (``-c``), so the alternate share of
  fragments is the requested VAF (a heterozygous germline variant is 0.5);
- artefacts change bases in a chosen fraction of the fragments covering a site, only in fragments of one pair
  orientation (F1R2 or F2R1), which is how pre-library DNA damage shows up in real tumour data;
- optional capture unevenness and copy-number events (``CaptureProfile``, ``CopyNumberEvent``): each window is
  simulated at its highest local depth and fragments are then kept with probability (local depth / highest), the
  local depth of a fragment being its target's capture efficiency x the sample's GC factor x the copy ratio at the
  fragment's midpoint (a het deletion keeps half the fragments there, an amplification more);
- optional (off by default, used by benchmarks/low_vaf.py): capture efficiency varying between windows
  (``capture_cv``: each window's pair count times a log-normal factor of mean 1, as baits capture unequally) and
  PCR duplicates (``duplicate_fraction``: that share of pairs written again as exact copies, after damage, since
  damage precedes amplification; the aligner's markdup removes them, so usable depth is below the nominal);
- reads are renamed in Illumina style (nothing about haplotype, window or truth survives), shuffled with the
  seed, and written as gzip with mtime 0: the same seed gives byte-identical FASTQ.
"""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from oncopanel import paths
from oncopanel.errors import InputError
from oncopanel.model import Variant
from oncopanel.sequence import SequenceSource, reverse_complement

ArtefactKind = Literal["ffpe_deamination", "oxog", "sequencing_error"]
Orientation = Literal["F1R2", "F2R1"]
# the non-damage error families of pick_error_sites (benchmarks/low_vaf.py): what a looser balance test lets in
ErrorFamily = Literal["oriented_lesion", "strand_error", "read2_error", "read_end_error"]
ERROR_FAMILIES: tuple[str, ...] = ("oriented_lesion", "strand_error", "read2_error", "read_end_error")
# damage-class substitutions (deamination, 8-oxoG): a non-damage error never reads as one of these
_DAMAGE_CLASS = {("C", "T"), ("G", "A"), ("G", "T"), ("C", "A")}
Origin = Literal["somatic", "germline"]

DEFAULT_REFERENCE = paths.RESOURCES / "reference" / "grch38_panel_masked.fa.gz"
ART_PROFILES = ("HS25", "HSXt", "MSv3", "HSXn", "NS50")

# (kind, reference base on the plus strand) -> base read instead
_ARTEFACT_ALT = {
    ("ffpe_deamination", "C"): "T",
    ("ffpe_deamination", "G"): "A",
    ("oxog", "G"): "T",
    ("oxog", "C"): "A",
}


@dataclass(frozen=True)
class Spike:
    """A variant to simulate at an allele fraction (share of fragments carrying it)."""

    variant: Variant
    vaf: float
    origin: Origin = "somatic"


@dataclass(frozen=True)
class Artefact:
    """Library damage at one site: the changed base is in ``fraction`` of the fragments covering it, all of
    one pair orientation.

    F1R2 = read 1 maps to the forward strand and read 2 to the reverse (the fragment came from the original
    plus strand). Damage on the plus strand (C>T deamination at a reference C, 8-oxoG G>T at a reference G)
    shows in F1R2 fragments only; its reverse-complement forms (G>A, C>A) come from the minus strand and show
    in F2R1. ``mates="both"`` changes every mate that covers the site (DNA damage, present in the template);
    ``"read1"`` / ``"read2"`` changes that mate only, like a read-specific sequencing error.

    Non-damage errors (kind ``"sequencing_error"``) read as ``alt`` (any base but the reference); they may sit on
    both pair orientations (``orientation="any"``), on reads of one strand only (``strand``: a sequence-specific
    error after GGC-like motifs shows on the reads that run through the motif in one direction) and only within
    ``read_end`` bases of a mate's aligned end (end-repair / adapter artefacts; 0 = anywhere). A mate changed
    while its overlapping mate is not makes the fragment disagree, and the allele engine leaves it out, as
    real data does.
    """

    chrom: str
    pos: int  # 1-based
    kind: ArtefactKind
    fraction: float
    orientation: Orientation | Literal["any"]
    mates: Literal["both", "read1", "read2"] = "both"
    alt: str = ""  # sequencing_error only: the base read instead
    strand: Literal["any", "plus", "minus"] = "any"
    read_end: int = 0


@dataclass(frozen=True)
class Window:
    """A stretch of reference simulated as one ART sequence (0-based, half-open)."""

    chrom: str
    start0: int
    end: int
    targets: tuple[str, ...] = ()

    @property
    def length(self) -> int:
        return self.end - self.start0

    def contains(self, chrom: str, pos: int, length: int = 1) -> bool:
        return chrom == self.chrom and self.start0 < pos and pos - 1 + length <= self.end


@dataclass(frozen=True)
class Haplotype:
    """One window's sequence carrying zero or more variants, and the read pairs to draw from it."""

    window: Window
    variants: tuple[Variant, ...]
    seq: str
    pairs: int


@dataclass
class Mate:
    """One simulated read as ART aligned it to its haplotype (sequence in reference orientation)."""

    pos0: int
    cigar: str
    reverse: bool
    seq: str
    qual: str

    def fastq_seq(self) -> str:
        return reverse_complement(self.seq) if self.reverse else self.seq

    def fastq_qual(self) -> str:
        return self.qual[::-1] if self.reverse else self.qual


@dataclass
class ReadPair:
    haplotype: int  # index into the plan
    read1: Mate
    read2: Mate

    @property
    def orientation(self) -> Orientation:
        return "F2R1" if self.read1.reverse else "F1R2"

    def read1_covers(self, off: int) -> bool:
        return query_offset(self.read1, off) is not None

    def read2_covers(self, off: int) -> bool:
        return query_offset(self.read2, off) is not None

    @property
    def span(self) -> tuple[int, int]:
        starts = (self.read1.pos0, self.read2.pos0)
        ends = (
            self.read1.pos0 + _ref_length(self.read1.cigar),
            self.read2.pos0 + _ref_length(self.read2.cigar),
        )
        return min(starts), max(ends)


@dataclass(frozen=True)
class ReadFormat:
    """Illumina-style read header fields: @SIM:1:<flowcell>:<lane>:<tile>:<x>:<y> <mate>:N:0:<index>."""

    flowcell: str = "SIMFC0001"
    lane: int = 1
    i7: str = ""
    i5: str = ""
    instrument: str = "SIM"
    run: int = 1

    @property
    def index(self) -> str:
        if self.i7 and self.i5:
            return f"{self.i7}+{self.i5}"
        return self.i7 or "1"


@dataclass(frozen=True)
class ArtSettings:
    profile: str = "HS25"
    read_length: int = 150
    fragment_mean: int = 300
    fragment_sd: int = 50


@dataclass(frozen=True)
class CopyNumberEvent:
    """A copy-number change over ``chrom:start-end`` (1-based, inclusive; breakpoints where the event's DNA ends,
    e.g. in the introns flanking the deleted exons) in a share ``cell_fraction`` of the sample's cells: 1 for a
    germline event, the tumour content for a somatic one. Copy ratio against a diploid sample:
    1 + cell_fraction x (copy_number - 2) / 2 (a germline het deletion 0.5, EGFR at 10 copies in 60% tumour 3.4)."""

    chrom: str
    start: int
    end: int
    copy_number: float
    cell_fraction: float = 1.0
    label: str = ""

    @property
    def ratio(self) -> float:
        return 1 + self.cell_fraction * (self.copy_number - 2) / 2

    def covers(self, chrom: str, pos: int) -> bool:
        return chrom == self.chrom and self.start <= pos <= self.end


@dataclass(frozen=True)
class CaptureProfile:
    """Hybrid-capture unevenness of one sample.

    ``target_sd``: per-target capture efficiency, log-normal (natural-log SD) with mean 1, drawn from
    (``design_seed``, target name) only, so every sample captured with the same design shares it. 0.5 as in the
    count-level simulator (oncosim/cnv.py): fold-80 base penalty exp(0.8416 x SD + SD^2 / 2) = 1.76, within the
    1.5-2 Picard HsMetrics reports for hybrid-capture panels.
    ``gc_slope``, ``gc_curvature``: this sample's GC bias exp(b (GC - 0.45) + c (GC - 0.45)^2) over the target's GC
    (unimodal per-sample curves, Benjamini & Speed 2012, Nucleic Acids Res 40:e72; magnitudes as oncosim/cnv.py).
    """

    design_seed: int
    target_sd: float = 0.5
    gc_slope: float = 0.0
    gc_curvature: float = 0.0

    def efficiency(self, target: str) -> float:
        rng = np.random.default_rng(subseed(self.design_seed, "capture-efficiency", target))
        return float(np.exp(rng.normal(-(self.target_sd**2) / 2, self.target_sd)))

    def gc_factor(self, gc: float) -> float:
        d = gc - 0.45
        return float(np.exp(self.gc_slope * d + self.gc_curvature * d * d))


# --- windows and haplotypes ---------------------------------------------------------------------------------


def sequencing_windows(regions: Iterable[Sequence[object]], padding: int) -> list[Window]:
    """Pad each (chrom, start0, end[, name]) region; merge overlaps, per chromosome, in coordinate order."""
    rows = sorted(
        (str(r[0]), max(0, int(r[1]) - padding), int(r[2]) + padding, str(r[3]) if len(r) > 3 else "") for r in regions
    )
    windows: list[Window] = []
    for chrom, start0, end, name in rows:
        last = windows[-1] if windows else None
        if last and last.chrom == chrom and start0 <= last.end:
            windows[-1] = Window(chrom, last.start0, max(last.end, end), (*last.targets, name))
        else:
            windows.append(Window(chrom, start0, end, (name,)))
    return windows


def apply_variants(seq: str, start0: int, variants: Iterable[Variant]) -> str:
    """Apply VCF-style variants to a sequence beginning at 0-based ``start0``; reference bases are checked."""
    out = seq
    # right to left, so earlier offsets stay valid
    for v in sorted(variants, key=lambda v: v.pos, reverse=True):
        off = v.pos - 1 - start0
        found = out[off : off + len(v.ref)] if off >= 0 else ""
        if found != v.ref:
            raise InputError(f"{v.key}: reference has {found or 'nothing'} at {v.chrom}:{v.pos}, not {v.ref}")
        out = out[:off] + v.alt + out[off + len(v.ref) :]
    return out


def haplotype_offset(window: Window, variants: Iterable[Variant], pos: int) -> int | None:
    """0-based offset in a haplotype of reference position ``pos``; None where a variant replaced the base."""
    off = pos - 1 - window.start0
    for v in variants:
        ref_end = v.pos + len(v.ref) - 1
        if ref_end < pos:
            off += len(v.alt) - len(v.ref)
        elif v.pos <= pos and not (pos == v.pos and v.ref[0] == v.alt[0]):
            return None
    return off


def pairs_for_depth(depth: float, window: Window, art: ArtSettings) -> int:
    """Read pairs giving ``depth`` away from the window edges (fragments start anywhere in L - fragment)."""
    usable = max(window.length - art.fragment_mean, art.read_length)
    return max(1, round(depth * usable / (2 * art.read_length)))


def _overlap(a: Variant, b: Variant) -> bool:
    return a.chrom == b.chrom and a.pos <= b.pos + len(b.ref) - 1 and b.pos <= a.pos + len(a.ref) - 1


def haplotype_shares(spikes: Sequence[Spike]) -> list[tuple[tuple[Variant, ...], float]]:
    """Alternate haplotypes of one window as (variants carried, share of fragments).

    Independent haplotypes, one per spike, while the VAFs add up to at most 1. Beyond that (e.g. a heterozygous
    germline variant beside a somatic one) the spikes are nested in cis: haplotype k carries the k highest-VAF
    spikes with share vaf_k - vaf_(k+1), so every spike's fragments still add up to its VAF.
    """
    if sum(s.vaf for s in spikes) <= 1 + 1e-9:
        return [((s.variant,), s.vaf) for s in spikes]
    ranked = sorted(spikes, key=lambda s: (-s.vaf, s.variant))
    for i, a in enumerate(ranked):
        for b in ranked[i + 1 :]:
            if _overlap(a.variant, b.variant):
                raise InputError(f"{a.variant.key} and {b.variant.key} overlap and their VAFs add up to more than 1")
    shares = []
    for k, spike in enumerate(ranked):
        below = ranked[k + 1].vaf if k + 1 < len(ranked) else 0.0
        carried = tuple(sorted(s.variant for s in ranked[: k + 1]))
        if spike.vaf - below > 0:
            shares.append((carried, spike.vaf - below))
    return shares


def plan_haplotypes(
    windows: Sequence[Window],
    spikes: Sequence[Spike],
    depth: float,
    sequence: SequenceSource,
    art: ArtSettings,
    depth_scale: Sequence[float] | None = None,
) -> list[Haplotype]:
    """Reference and alternate haplotypes per window, with pair counts split by VAF; ``depth_scale`` multiplies
    each window's depth (the highest local depth of a capture profile or copy-number event)."""
    placed: dict[int, list[Spike]] = {}
    for spike in spikes:
        v = spike.variant
        if not 0 < spike.vaf <= 1:
            raise InputError(f"{v.key}: VAF {spike.vaf} is not in (0, 1]")
        hits = [i for i, w in enumerate(windows) if w.contains(v.chrom, v.pos, len(v.ref))]
        if not hits:
            raise InputError(f"{v.key}: outside the simulated regions")
        placed.setdefault(hits[0], []).append(spike)
    plan: list[Haplotype] = []
    for i, w in enumerate(windows):
        ref_seq = sequence.fetch(w.chrom, w.start0, w.end).upper()
        total = pairs_for_depth(depth * (depth_scale[i] if depth_scale is not None else 1.0), w, art)
        alts = [
            Haplotype(w, variants, apply_variants(ref_seq, w.start0, variants), round(share * total))
            for variants, share in haplotype_shares(placed.get(i, []))
        ]
        plan.append(Haplotype(w, (), ref_seq, total - sum(h.pairs for h in alts)))
        plan.extend(alts)
    return plan


# --- ART ----------------------------------------------------------------------------------------------------


def subseed(seed: int, *keys: object) -> int:
    """A stable per-run seed (Python's hash() is salted per process)."""
    digest = hashlib.sha256(repr((seed, *keys)).encode()).digest()
    return int.from_bytes(digest[:4], "big") % 2_147_483_647


def _ref_length(cigar: str) -> int:
    n, total = "", 0
    for ch in cigar:
        if ch.isdigit():
            n += ch
        else:
            if ch in "M=XDN":
                total += int(n)
            n = ""
    return total


def query_offset(mate: Mate, ref_off: int) -> int | None:
    """Index in the read (reference orientation) of haplotype offset ``ref_off``; None if absent/deleted."""
    ref, query, n = mate.pos0, 0, ""
    for ch in mate.cigar:
        if ch.isdigit():
            n += ch
            continue
        length, n = int(n), ""
        if ch in "M=X":
            if ref <= ref_off < ref + length:
                return query + ref_off - ref
            ref += length
            query += length
        elif ch in "DN":
            if ref <= ref_off < ref + length:
                return None
            ref += length
        elif ch in "IS":
            query += length
    return None


def parse_art_sam(text: str, haplotype: int) -> list[ReadPair]:
    """Pair ART's SAM records by name, in the order ART wrote them."""
    mates: dict[str, dict[int, Mate]] = {}
    for line in text.splitlines():
        if not line or line.startswith("@"):
            continue
        f = line.split("\t")
        flag = int(f[1])
        mate = Mate(pos0=int(f[3]) - 1, cigar=f[5], reverse=bool(flag & 16), seq=f[9], qual=f[10])
        mates.setdefault(f[0], {})[1 if flag & 64 else 2] = mate
    return [ReadPair(haplotype, m[1], m[2]) for m in mates.values() if 1 in m and 2 in m]


def run_art(hap: Haplotype, index: int, seed: int, art: ArtSettings, workdir: Path) -> list[ReadPair]:
    if hap.pairs <= 0:
        return []
    fasta = workdir / f"h{index}.fa"
    fasta.write_text(f">h{index}\n{hap.seq}\n")
    prefix = workdir / f"h{index}_"
    cmd = [
        "art_illumina", "-ss", art.profile, "-p", "-l", str(art.read_length), "-m", str(art.fragment_mean),
        "-s", str(art.fragment_sd), "-c", str(hap.pairs), "-rs", str(seed), "-sam",
        "-i", str(fasta), "-o", str(prefix),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"art_illumina failed on {hap.window.chrom}:{hap.window.start0 + 1}: {proc.stderr[-500:]}")
    pairs = parse_art_sam(Path(f"{prefix}.sam").read_text(), index)
    for suffix in (".sam", "1.fq", "2.fq", "1.aln", "2.aln"):
        Path(f"{prefix}{suffix}").unlink(missing_ok=True)
    fasta.unlink()
    return pairs


# --- artefacts ----------------------------------------------------------------------------------------------


def check_artefact(a: Artefact) -> None:
    where = f"artefact {a.chrom}:{a.pos}"
    if a.kind not in ("ffpe_deamination", "oxog", "sequencing_error"):
        raise InputError(f"{where}: kind {a.kind!r} is not ffpe_deamination, oxog or sequencing_error")
    if a.orientation not in ("F1R2", "F2R1", "any"):
        raise InputError(f"{where}: orientation {a.orientation!r} is not F1R2, F2R1 or any")
    if a.mates not in ("both", "read1", "read2"):
        raise InputError(f"{where}: mates {a.mates!r} is not both, read1 or read2")
    if a.strand not in ("any", "plus", "minus"):
        raise InputError(f"{where}: strand {a.strand!r} is not any, plus or minus")
    if (a.kind == "sequencing_error") != (a.alt in ("A", "C", "G", "T")):
        raise InputError(f"{where}: alt {a.alt!r}: a sequencing_error needs a base, damage takes none")
    if a.read_end < 0:
        raise InputError(f"{where}: read_end {a.read_end} < 0")
    if not 0 < a.fraction < 1:
        raise InputError(f"{where}: fraction {a.fraction} not in (0, 1)")


def artefact_alt(kind: str, ref_base: str, alt: str = "") -> str:
    if kind == "sequencing_error":
        if alt.upper() == ref_base.upper():
            raise InputError(f"a sequencing error reads {alt} at a reference {ref_base}: no change")
        return alt.upper()
    try:
        return _ARTEFACT_ALT[(kind, ref_base.upper())]
    except KeyError:
        raise InputError(f"a {kind} artefact needs a C or G reference base, not {ref_base}") from None


def natural_orientation(kind: ArtefactKind, ref_base: str) -> Orientation:
    """Orientation real damage shows in: plus-strand damage (C>T, G>T) in F1R2, its complement in F2R1."""
    plus_strand_base = "C" if kind == "ffpe_deamination" else "G"
    return "F1R2" if ref_base.upper() == plus_strand_base else "F2R1"


def artefact_variant(artefact: Artefact, sequence: SequenceSource) -> Variant:
    ref = sequence.fetch(artefact.chrom, artefact.pos - 1, artefact.pos).upper()
    return Variant(artefact.chrom, artefact.pos, ref, artefact_alt(artefact.kind, ref, artefact.alt))


def apply_artefact(
    pairs: list[ReadPair],
    plan: Sequence[Haplotype],
    artefact: Artefact,
    alt_base: str,
    rng: np.random.Generator,
) -> int:
    """Change the base in round(fraction x fragments covering the site) fragments of one orientation.

    Returns how many fragments were changed (fewer than asked only when that orientation runs out).
    """
    covering: list[tuple[ReadPair, int]] = []
    for pair in pairs:
        hap = plan[pair.haplotype]
        if not hap.window.contains(artefact.chrom, artefact.pos):
            continue
        off = haplotype_offset(hap.window, hap.variants, artefact.pos)
        start, end = pair.span
        if off is not None and start <= off < end:
            covering.append((pair, off))
    constrained = artefact.strand != "any" or artefact.read_end > 0 or artefact.mates == "read2"
    if constrained:
        # a read-specific error: its fraction is of the fragments READ at the site (a mate covers it), and only
        # those with a mate of the named read / strand / end zone there can carry it
        covering = [(p, off) for p, off in covering if p.read1_covers(off) or p.read2_covers(off)]
    eligible = [
        i for i, (p, off) in enumerate(covering)
        if artefact.orientation in ("any", p.orientation) and (not constrained or _mates_hit(p, off, artefact))
    ]  # fmt: skip
    wanted = min(round(artefact.fraction * len(covering)), len(eligible))
    chosen = sorted(rng.choice(len(eligible), size=wanted, replace=False)) if wanted else []
    for k in chosen:
        pair, off = covering[eligible[k]]
        for mate in _mates_hit(pair, off, artefact):
            q = query_offset(mate, off)
            mate.seq = mate.seq[:q] + alt_base + mate.seq[q + 1 :]
    return wanted


def _mates_hit(pair: ReadPair, off: int, artefact: Artefact) -> list[Mate]:
    """The mates of ``pair`` the artefact changes at haplotype offset ``off`` (none: the pair is not eligible)."""
    named = {"both": (pair.read1, pair.read2), "read1": (pair.read1,), "read2": (pair.read2,)}[artefact.mates]
    out = []
    for mate in named:
        q = query_offset(mate, off)
        if q is None:
            continue
        if artefact.strand != "any" and mate.reverse != (artefact.strand == "minus"):
            continue
        if artefact.read_end and min(q, len(mate.seq) - 1 - q) >= artefact.read_end:
            continue
        out.append(mate)
    return out


def pick_artefact_sites(
    regions: Iterable[Sequence[object]],
    n: int,
    kind: ArtefactKind,
    seed: int,
    sequence: SequenceSource | None = None,
    fraction: tuple[float, float] = (0.01, 0.04),
    exclude: Iterable[tuple[str, int]] = (),
) -> list[Artefact]:
    """``n`` artefact sites at C/G bases inside the regions (not their padding), each with a fraction drawn
    from ``fraction`` and the orientation real damage of that kind shows.

    The same seed gives the same sites: one call makes sites recurring across samples, another (with a
    per-sample seed) sites unique to one sample.
    """
    from oncopanel.reference import SliceSequence

    sequence = sequence or SliceSequence()
    rng = np.random.default_rng(subseed(seed, "artefact-sites", kind))
    skip = set(exclude)
    candidates: list[tuple[str, int, str]] = []
    for r in regions:
        chrom, start0, end = str(r[0]), int(r[1]), int(r[2])
        seq = sequence.fetch(chrom, start0, end).upper()
        candidates.extend(
            (chrom, start0 + i + 1, b) for i, b in enumerate(seq) if b in "CG" and (chrom, start0 + i + 1) not in skip
        )
    candidates = sorted(set(candidates))
    if n > len(candidates):
        raise InputError(f"only {len(candidates)} C/G sites in the regions, {n} artefact sites asked")
    picks = sorted(rng.choice(len(candidates), size=n, replace=False))
    out = []
    for i in picks:
        chrom, pos, base = candidates[i]
        frac = round(float(rng.uniform(*fraction)), 4)
        out.append(Artefact(chrom, pos, kind, frac, natural_orientation(kind, base)))
    return out


def pick_error_sites(
    regions: Iterable[Sequence[object]],
    n: int,
    family: ErrorFamily,
    seed: int,
    sequence: SequenceSource | None = None,
    fraction: tuple[float, float] = (0.005, 0.03),
    exclude: Iterable[tuple[str, int]] = (),
) -> list[Artefact]:
    """``n`` non-damage error sites (kind ``sequencing_error``, never a damage-class substitution) of one family,
    at the contexts where such errors concentrate, each at a fraction drawn from ``fraction``:

    - ``oriented_lesion``: a template-level error in ONE pair orientation (both mates), next to a homopolymer run
      of >= 4; what the damage rule does not cover and only the orientation test can see;
    - ``strand_error``: on the reads of one strand only, after a GG (GGC/GGT-like motifs read in that direction:
      plus-strand reads after GG, minus-strand reads before CC), both pair orientations;
    - ``read2_error``: read 2 only, plus-strand reads after GG: F2R1 fragments and one strand;
    - ``read_end_error``: any base, within 8 bases of a mate's aligned end only.
    """
    from oncopanel.reference import SliceSequence

    if family not in ERROR_FAMILIES:
        raise InputError(f"error family {family!r} is not one of {', '.join(ERROR_FAMILIES)}")
    sequence = sequence or SliceSequence()
    rng = np.random.default_rng(subseed(seed, "error-sites", family))
    skip = set(exclude)
    candidates: list[tuple[str, int, str, str]] = []  # chrom, pos, base, context tag (strand)
    for r in regions:
        chrom, start0, end = str(r[0]), int(r[1]), int(r[2])
        seq = sequence.fetch(chrom, start0 - 6, end + 6).upper()
        for i in range(6, len(seq) - 6):
            pos, base = start0 + i - 5, seq[i]
            if base not in "ACGT" or (chrom, pos) in skip:
                continue
            if family == "oriented_lesion":
                run = max(len(set(seq[i - 4 : i])) == 1 and seq[i - 1] != base,
                          len(set(seq[i + 1 : i + 5])) == 1 and seq[i + 1] != base)  # fmt: skip
                if run:
                    candidates.append((chrom, pos, base, "any"))
            elif family in ("strand_error", "read2_error"):
                if seq[i - 2 : i] == "GG":
                    candidates.append((chrom, pos, base, "plus"))
                elif seq[i + 1 : i + 3] == "CC" and family == "strand_error":
                    candidates.append((chrom, pos, base, "minus"))
            else:
                candidates.append((chrom, pos, base, "any"))
    candidates = sorted(set(candidates))
    if n > len(candidates):
        raise InputError(f"only {len(candidates)} {family} sites in the regions, {n} asked")
    out = []
    for i in sorted(rng.choice(len(candidates), size=n, replace=False)):
        chrom, pos, base, strand = candidates[i]
        alts = [b for b in "ACGT" if b != base and (base, b) not in _DAMAGE_CLASS]
        alt = alts[int(rng.integers(len(alts)))]
        frac = round(float(rng.uniform(*fraction)), 4)
        if family == "oriented_lesion":
            out.append(Artefact(chrom, pos, "sequencing_error", frac, ("F1R2", "F2R1")[int(rng.integers(2))],
                                alt=alt))  # fmt: skip
        elif family == "strand_error":
            out.append(Artefact(chrom, pos, "sequencing_error", frac, "any", alt=alt, strand=strand))
        elif family == "read2_error":
            out.append(Artefact(chrom, pos, "sequencing_error", frac, "any", "read2", alt=alt, strand=strand))
        else:
            out.append(Artefact(chrom, pos, "sequencing_error", frac, "any", alt=alt, read_end=8))
    return out


# --- capture and copy number --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TargetWeight:
    chrom: str
    start0: int
    end: int
    weight: float  # capture efficiency x GC factor


def target_weights(
    regions: Iterable[Sequence[object]], capture: CaptureProfile | None, sequence: SequenceSource
) -> list[_TargetWeight]:
    """Each named region's relative capture (1 without a profile)."""
    out = []
    for r in regions:
        chrom, start0, end, name = str(r[0]), int(r[1]), int(r[2]), str(r[3]) if len(r) > 3 else ""
        weight = 1.0
        if capture is not None:
            seq = sequence.fetch(chrom, start0, end).upper()
            acgt = sum(seq.count(b) for b in "ACGT")
            gc = (seq.count("G") + seq.count("C")) / acgt if acgt else 0.45
            weight = capture.efficiency(name or f"{chrom}:{start0}-{end}") * capture.gc_factor(gc)
        out.append(_TargetWeight(chrom, start0, end, weight))
    return out


def fragment_weight(chrom: str, start0: int, end: int, targets: Sequence[_TargetWeight],
                    events: Sequence[CopyNumberEvent]) -> float:  # fmt: skip
    """Relative depth of a fragment (reference coordinates, 0-based half-open): the capture weight of the target
    it overlaps most (the nearest when none) x the copy ratio at its midpoint."""
    best, best_key = 1.0, None
    for t in targets:
        if t.chrom != chrom:
            continue
        overlap = min(end, t.end) - max(start0, t.start0)
        key = (overlap, 0) if overlap > 0 else (0, -min(abs(start0 - t.end), abs(t.start0 - end)))
        if best_key is None or key > best_key:
            best, best_key = t.weight, key
    mid = (start0 + end) // 2 + 1
    for ev in events:
        if ev.covers(chrom, mid):
            best *= ev.ratio
    return best


def window_peak(window: Window, targets: Sequence[_TargetWeight], events: Sequence[CopyNumberEvent]) -> float:
    """The highest relative depth a fragment of the window can have (the window is simulated at it)."""
    weights = [t.weight for t in targets if t.chrom == window.chrom and t.start0 < window.end and window.start0 < t.end]
    ratios = [ev.ratio for ev in events if ev.chrom == window.chrom and ev.start <= window.end
              and window.start0 < ev.end]  # fmt: skip
    return max(weights or [1.0]) * max([1.0, *ratios])


def thin_pairs(
    pairs: list[ReadPair],
    plan: Sequence[Haplotype],
    peaks: Sequence[float],
    windows: Sequence[Window],
    targets: Sequence[_TargetWeight],
    events: Sequence[CopyNumberEvent],
    rng: np.random.Generator,
) -> list[ReadPair]:
    """Keep each pair with probability (its fragment's relative depth / its window's peak)."""
    window_index = {w: i for i, w in enumerate(windows)}
    draws = rng.random(len(pairs))
    kept = []
    for pair, u in zip(pairs, draws, strict=True):
        w = plan[pair.haplotype].window
        start, end = pair.span  # haplotype offsets; spiked indels shift them by a few bases at most
        weight = fragment_weight(w.chrom, w.start0 + start, w.start0 + end, targets, events)
        if u * peaks[window_index[w]] < weight:
            kept.append(pair)
    return kept


# --- FASTQ --------------------------------------------------------------------------------------------------


def read_name(i: int, fmt: ReadFormat) -> str:
    """Illumina-style name from the read's index in the shuffled output: unique, tells nothing of origin."""
    tile, rem = 1101 + i // 50_000, i % 50_000
    x, y = 1000 + (rem % 250) * 100, 1000 + (rem // 250) * 100
    return f"{fmt.instrument}:{fmt.run}:{fmt.flowcell}:{fmt.lane}:{tile}:{x}:{y}"


def replace_if_changed(tmp: Path, path: Path) -> bool:
    """Move ``tmp`` over ``path`` unless the bytes are the same: a rebuild with the same seed keeps file times,
    so the workflow does not redo a batch whose inputs did not change."""
    if path.exists() and path.stat().st_size == tmp.stat().st_size and path.read_bytes() == tmp.read_bytes():
        tmp.unlink()
        return False
    tmp.replace(path)
    return True


def write_fastq_gz(path: Path, records: Iterable[str]) -> None:
    """gzip with mtime 0 and no file name in the header, written atomically: same records, same bytes.

    Level 1: a fifth of level 6's time for files about a quarter bigger; these are scratch inputs.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with (
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=1) as gz,
    ):
        batch: list[str] = []
        for record in records:
            batch.append(record)
            if len(batch) == 4096:
                gz.write("".join(batch).encode())
                batch.clear()
        gz.write("".join(batch).encode())
    replace_if_changed(tmp, path)


def fastq_records(pairs: Sequence[ReadPair], mate: int, fmt: ReadFormat) -> Iterable[str]:
    for i, pair in enumerate(pairs):
        m = pair.read1 if mate == 1 else pair.read2
        yield f"@{read_name(i, fmt)} {mate}:N:0:{fmt.index}\n{m.fastq_seq()}\n+\n{m.fastq_qual()}\n"


# --- the sample ---------------------------------------------------------------------------------------------


def simulate_sample(
    out_prefix: Path | str,
    regions: Iterable[Sequence[object]],
    spikes: Sequence[Spike],
    depth: float,
    seed: int,
    read_length: int = 150,
    fragment_mean: int = 300,
    fragment_sd: int = 50,
    artefacts: Sequence[Artefact] = (),
    profile: str = "HS25",
    read_format: ReadFormat | None = None,
    sequence: SequenceSource | None = None,
    padding: int | None = None,
    capture: CaptureProfile | None = None,
    copy_number: Sequence[CopyNumberEvent] = (),
    capture_cv: float = 0.0,
    duplicate_fraction: float = 0.0,
) -> tuple[Path, Path]:
    """Simulate one sample's paired reads over ``regions``; returns (R1, R2) = <out_prefix>_R1/_R2.fastq.gz.

    ``depth`` is the read depth over the targets; ``padding`` (default: one fragment length) widens each
    region so fragments overlapping its edges are drawn too, as in a hybrid-capture library. ``capture`` makes
    depth vary between targets (the same way in every sample of the design) and with the sample's GC bias;
    ``copy_number`` events scale the fragments drawn over them. Without either, depth is ART's uniform depth (and
    the output is what it always was for the same seed).
    """
    from oncopanel.reference import SliceSequence

    if profile not in ART_PROFILES:
        raise InputError(f"unknown ART profile {profile}; use one of {', '.join(ART_PROFILES)}")
    art = ArtSettings(profile, read_length, fragment_mean, fragment_sd)
    sequence = sequence or SliceSequence()
    regions = list(regions)
    windows = sequencing_windows(regions, fragment_mean if padding is None else padding)
    shaped = capture is not None or bool(copy_number)
    weights = target_weights(regions, capture, sequence) if shaped else []
    peaks = [window_peak(w, weights, copy_number) for w in windows] if shaped else None
    plan = plan_haplotypes(windows, spikes, depth, sequence, art, peaks)
    if capture_cv > 0:
        plan = vary_capture(plan, capture_cv, np.random.default_rng(subseed(seed, "capture")))
    alts = []
    for artefact in artefacts:  # checked before any simulation runs
        check_artefact(artefact)
        if not any(w.contains(artefact.chrom, artefact.pos) for w in windows):
            raise InputError(f"artefact {artefact.chrom}:{artefact.pos}: outside the simulated regions")
        ref_base = sequence.fetch(artefact.chrom, artefact.pos - 1, artefact.pos)
        alts.append(artefact_alt(artefact.kind, ref_base, artefact.alt))
    pairs: list[ReadPair] = []
    with tempfile.TemporaryDirectory(prefix="oncopanel-art-") as tmp:
        for i, hap in enumerate(plan):
            pairs.extend(run_art(hap, i, subseed(seed, "art", i), art, Path(tmp)))
    if peaks is not None:  # before artefacts: damage is in the captured library's fragments
        pairs = thin_pairs(pairs, plan, peaks, windows, weights, copy_number,
                           np.random.default_rng(subseed(seed, "capture")))  # fmt: skip
    for j, (artefact, alt) in enumerate(zip(artefacts, alts, strict=True)):
        apply_artefact(pairs, plan, artefact, alt, np.random.default_rng(subseed(seed, "artefact", j)))
    if duplicate_fraction > 0:
        pairs = add_duplicates(pairs, duplicate_fraction, np.random.default_rng(subseed(seed, "duplicates")))
    order = np.random.default_rng(subseed(seed, "shuffle")).permutation(len(pairs))
    shuffled = [pairs[i] for i in order]
    fmt = read_format or ReadFormat()
    out_prefix = Path(out_prefix)
    r1 = out_prefix.with_name(out_prefix.name + "_R1.fastq.gz")
    r2 = out_prefix.with_name(out_prefix.name + "_R2.fastq.gz")
    write_fastq_gz(r1, fastq_records(shuffled, 1, fmt))
    write_fastq_gz(r2, fastq_records(shuffled, 2, fmt))
    return r1, r2


def vary_capture(plan: Sequence[Haplotype], cv: float, rng: np.random.Generator) -> list[Haplotype]:
    """Every window's pairs times one log-normal factor (mean 1, coefficient of variation ``cv``): capture
    efficiency differs between baits; a window's haplotypes share the factor, so VAFs are kept."""
    from dataclasses import replace

    sigma = float(np.sqrt(np.log(1 + cv * cv)))
    factor: dict[Window, float] = {}
    out = []
    for hap in plan:
        if hap.window not in factor:
            factor[hap.window] = float(rng.lognormal(-sigma * sigma / 2, sigma))
        out.append(replace(hap, pairs=max(0, round(hap.pairs * factor[hap.window]))))
    return out


def add_duplicates(pairs: list[ReadPair], fraction: float, rng: np.random.Generator) -> list[ReadPair]:
    """``fraction`` of the pairs again as exact copies (PCR duplicates of the same fragment)."""
    n = round(fraction * len(pairs))
    picks = rng.choice(len(pairs), size=n, replace=True) if n else []
    copies = [ReadPair(pairs[i].haplotype, Mate(**vars(pairs[i].read1)), Mate(**vars(pairs[i].read2))) for i in picks]
    return pairs + copies


def planned_pairs(
    regions: Iterable[Sequence[object]], depth: float, read_length: int = 150, fragment_mean: int = 300
) -> int:
    """How many read pairs simulate_sample will write for these regions and depth (for budgeting a batch)."""
    art = ArtSettings(read_length=read_length, fragment_mean=fragment_mean)
    return sum(pairs_for_depth(depth, w, art) for w in sequencing_windows(regions, fragment_mean))


# --- truth --------------------------------------------------------------------------------------------------


def _contig_lines(reference: Path) -> list[str]:
    fai = Path(str(reference) + ".fai")
    if not fai.exists():
        raise InputError(f"{reference}: no .fai index next to the reference")
    rows = [line.split("\t") for line in fai.read_text().splitlines() if line]
    return [f"##contig=<ID={r[0]},length={r[1]}>" for r in rows]


def truth_vcf_text(spikes: Sequence[Spike], sample: str, reference: Path) -> str:
    """The spiked variants as a VCF (before normalisation), one record per spike with its VAF and origin."""
    header = [
        "##fileformat=VCFv4.2",
        "##source=oncosim.reads",
        f"##reference={reference.name}",
        *_contig_lines(reference),
        '##INFO=<ID=VAF,Number=1,Type=Float,Description="Simulated allele fraction (share of fragments)">',
        '##INFO=<ID=ORIGIN,Number=1,Type=String,Description="somatic or germline">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Simulated allele fraction">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", sample]),
    ]
    order = _contig_order(reference)
    body = []
    for s in sorted(spikes, key=lambda s: (order.get(s.variant.chrom, 999), s.variant.pos, s.variant.alt)):
        v = s.variant
        gt = "1/1" if s.vaf >= 0.99 else "0/1"
        vaf = f"{s.vaf:.4g}"
        body.append(f"{v.chrom}\t{v.pos}\t.\t{v.ref}\t{v.alt}\t.\tPASS\tVAF={vaf};ORIGIN={s.origin}\tGT:AF\t{gt}:{vaf}")
    return "\n".join(header + body) + "\n"


def _contig_order(reference: Path) -> dict[str, int]:
    fai = Path(str(reference) + ".fai")
    return {line.split("\t")[0]: i for i, line in enumerate(fai.read_text().splitlines()) if line}


def write_truth_vcf(path: Path | str, spikes: Sequence[Spike], sample: str, reference: Path | None = None) -> Path:
    """bgzipped, tabix-indexed truth VCF, left-aligned and split by ``bcftools norm`` on the reference."""
    reference = Path(reference or DEFAULT_REFERENCE)
    if not reference.exists():
        raise InputError(f"{reference}: reference missing (build it with `oncopanel reference prepare`)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.vcf.gz")
    cmd = [
        "bcftools", "norm", "--no-version", "-c", "e", "-m", "-any", "-f", str(reference), "-Oz", "-o", str(tmp),
    ]  # fmt: skip
    proc = subprocess.run(cmd, input=truth_vcf_text(spikes, sample, reference), capture_output=True, text=True)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{path}: bcftools norm refused the truth set: {proc.stderr.strip()}")
    if replace_if_changed(tmp, path) or not Path(f"{path}.tbi").exists():
        subprocess.run(["tabix", "-f", "-p", "vcf", str(path)], check=True)
    return path


def write_artefact_table(
    path: Path | str, artefacts: Sequence[Artefact], sequence: SequenceSource | None = None
) -> Path:
    """The injected artefacts as a TSV (what a filter should remove), with the base they read as."""
    from oncopanel.reference import SliceSequence

    sequence = sequence or SliceSequence()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["chrom\tpos\tref\talt\tkind\tfraction\torientation\tmates"]
    for a in sorted(artefacts, key=lambda a: (a.chrom, a.pos)):
        v = artefact_variant(a, sequence)
        lines.append(f"{a.chrom}\t{a.pos}\t{v.ref}\t{v.alt}\t{a.kind}\t{a.fraction}\t{a.orientation}\t{a.mates}")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    replace_if_changed(tmp, path)
    return path
