"""Plasma cfDNA with UMIs: molecules, PCR families, sequencing (issue 18).

A plasma library, molecule by molecule:
- fragments of cfDNA length (mostly mono-nucleosomal, mode ~167 bp, some di-nucleosomal ~330 bp) drawn so that
  about ``molecules`` of them cover each position of the regions; each carries a spiked variant with the
  variant's VAF (a binomial draw per molecule: the molecule count is what limits plasma, so it is not smoothed);
- each molecule gets two random UMIs, one per end; its top strand is read as F1R2 (read 1 forward, UMI a on read 1)
  and its bottom strand as F2R1 (read 1 reverse, UMI b on read 1), so duplex pairing is possible;
- PCR makes a family of read pairs per strand (total family size ~ Poisson(``mean_family_size``)): a polymerase
  error at cycle c is carried by 1/2^c of the family's reads (early errors by many reads, late errors by few);
- sequencing gives each base a quality (Q37/Q25/Q12 mix) and an error at that quality's rate; UMI bases get
  errors too (``umi_error_rate``).

Output: gzipped FASTQ with the UMIs inline at the start of each read (``both:<len>+<skip>`` layout, as the
sample sheet declares it), or (for benchmarks) a BAM of the reads already placed where they come from (a perfect
aligner; substitutions only), with the UMI in the read name as fastp would put it. Helpers of oncosim.reads are
reused for windows, variants, read names and gzip output.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from oncopanel.errors import InputError
from oncopanel.sequence import SequenceSource, reverse_complement
from oncosim.reads import ReadFormat, Spike, apply_variants, read_name, subseed, write_fastq_gz

_BASES = "ACGT"
_LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)
_CODE = np.full(256, 4, dtype=np.uint8)
_CODE[np.frombuffer(b"ACGT", dtype=np.uint8)] = np.arange(4, dtype=np.uint8)
_QUALS = np.array([37, 25, 12])
_QUAL_P = np.array([0.88, 0.09, 0.03])


@dataclass(frozen=True)
class PlasmaLibrary:
    molecules: int = 3500  # molecules covering each position (genome equivalents reaching the library)
    mean_family_size: float = 4.0  # read pairs per molecule (both strands) after PCR and sequencing
    read_length: int = 100
    fragment_mode: int = 167
    fragment_sd: float = 12.0
    dinucleosome_fraction: float = 0.05
    umi_length: int = 8
    umi_skip: int = 2
    umi_error_rate: float = 0.003  # per UMI base
    pcr_error_rate: float = 2e-5  # per base per cycle
    pcr_cycles: int = 12


@dataclass
class SimRead:
    """One read pair of one molecule strand, in reference orientation, with its UMI (read 1's, read 2's)."""

    chrom: str
    start0: int  # fragment start (forward mate start)
    length: int  # fragment length
    fwd_seq: str  # forward-mapping mate (fragment start)
    fwd_qual: np.ndarray
    rev_seq: str  # reverse-mapping mate (ends at fragment end), reference orientation
    rev_qual: np.ndarray
    read1_forward: bool
    umi1: str
    umi2: str
    alt: tuple[str, ...]  # keys of the spiked variants the molecule carries


def fragment_lengths(rng: np.random.Generator, n: int, lib: PlasmaLibrary) -> np.ndarray:
    di = rng.random(n) < lib.dinucleosome_fraction
    mono = rng.normal(lib.fragment_mode, lib.fragment_sd, n)
    double = rng.normal(2 * lib.fragment_mode, 2 * lib.fragment_sd, n)
    return np.clip(np.where(di, double, mono), 90, 500).astype(int)


def _umi(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list(_BASES), n))


def _read_umi(umi: str, rate: float, rng: np.random.Generator) -> str:
    out = list(umi)
    for i in np.nonzero(rng.random(len(umi)) < rate)[0]:
        out[i] = rng.choice([b for b in _BASES if b != out[i]])
    return "".join(out)


def simulate_molecules(
    regions: Iterable[Sequence[object]],
    spikes: Sequence[Spike],
    lib: PlasmaLibrary,
    seed: int,
    sequence: SequenceSource,
) -> Iterator[SimRead]:
    """Every read pair of the library over ``regions`` ((chrom, start0, end) rows), molecule by molecule."""
    rng = np.random.default_rng(subseed(seed, "plasma"))
    for spike in spikes:
        if len(spike.variant.ref) != len(spike.variant.alt):
            raise InputError(f"{spike.variant.key}: plasma simulation spikes substitutions only")
    for region in regions:
        chrom, start0, end = str(region[0]), int(region[1]), int(region[2])
        span_lo, span_hi = start0 - 2 * lib.fragment_mode, end + 2 * lib.fragment_mode
        ref = sequence.fetch(chrom, span_lo, span_hi).upper()
        here = [s for s in spikes if s.variant.chrom == chrom and span_lo < s.variant.pos <= span_hi]
        # fragments starting up to one fragment before the region: ~molecules cover each of its positions
        n = round(lib.molecules * (end - start0 + lib.fragment_mode) / lib.fragment_mode)
        lengths = fragment_lengths(rng, n, lib)
        starts = rng.integers(start0 - lengths + 1, end)
        starts = np.clip(starts, span_lo, span_hi - lengths)
        for fs, fl in zip(starts.tolist(), lengths.tolist(), strict=True):
            carried = [s.variant for s in here if fs < s.variant.pos <= fs + fl and rng.random() < s.vaf]
            frag = ref[fs - span_lo : fs - span_lo + fl]
            if carried:
                frag = apply_variants(frag, fs, carried)
            keys = tuple(v.key for v in carried)
            ua, ub = _umi(rng, lib.umi_length), _umi(rng, lib.umi_length)
            size = rng.poisson(lib.mean_family_size)
            top = rng.binomial(size, 0.5)
            code = np.frombuffer(frag.encode(), dtype=np.uint8)
            for strand_top, k in ((True, top), (False, size - top)):
                if not k:
                    continue
                # the strand's k copies, as base codes 0-3 (N stays N: code 4)
                fam = np.tile(_CODE[code], (k, 1))
                # polymerase errors of this strand's PCR tree: an error of cycle c is in each copy with p 1/2^c
                n_err = rng.poisson(lib.pcr_error_rate * lib.pcr_cycles * fl)
                for _ in range(n_err):
                    pos, cycle = int(rng.integers(0, fl)), int(rng.integers(1, lib.pcr_cycles + 1))
                    carriers = rng.random(k) < 0.5**cycle
                    fam[carriers, pos] = (fam[carriers, pos] + int(rng.integers(1, 4))) % 4
                rl = min(lib.read_length, fl)
                fwd, rev = fam[:, :rl].copy(), fam[:, fl - rl :].copy()
                fq = rng.choice(_QUALS, (k, rl), p=_QUAL_P)
                rq = rng.choice(_QUALS, (k, rl), p=_QUAL_P)
                for mate, q in ((fwd, fq), (rev, rq)):
                    wrong = rng.random((k, rl)) < np.power(10.0, -q / 10.0)
                    mate[wrong] = (mate[wrong] + rng.integers(1, 4, int(wrong.sum()))) % 4
                u1, u2 = (ua, ub) if strand_top else (ub, ua)
                for j in range(k):
                    yield SimRead(
                        chrom, fs, fl, _LETTERS[fwd[j]].tobytes().decode(), fq[j],
                        _LETTERS[rev[j]].tobytes().decode(), rq[j], strand_top,
                        _read_umi(u1, lib.umi_error_rate, rng), _read_umi(u2, lib.umi_error_rate, rng), keys,
                    )  # fmt: skip


def _qual_text(q: np.ndarray) -> str:
    return "".join(chr(int(x) + 33) for x in q)


def write_fastq(
    out_prefix: Path | str, reads: Sequence[SimRead], lib: PlasmaLibrary, seed: int, fmt: ReadFormat | None = None
) -> tuple[Path, Path]:
    """Shuffled read pairs with the UMI (and ``umi_skip`` spacer bases) inline at the start of each read."""
    fmt = fmt or ReadFormat()
    order = np.random.default_rng(subseed(seed, "plasma-shuffle")).permutation(len(reads))
    spacer = "T" * lib.umi_skip

    def mates(mate: int) -> Iterator[str]:
        for i, j in enumerate(order.tolist()):
            r = reads[j]
            fwd = (r.fwd_seq, _qual_text(r.fwd_qual))
            rev = (reverse_complement(r.rev_seq), _qual_text(r.rev_qual)[::-1])
            first = mate == 1
            seq, qual = fwd if first == r.read1_forward else rev
            umi = r.umi1 if first else r.umi2
            prefix = umi + spacer
            yield f"@{read_name(i, fmt)} {mate}:N:0:{fmt.index}\n{prefix}{seq}\n+\n{'I' * len(prefix)}{qual}\n"

    out_prefix = Path(out_prefix)
    r1 = out_prefix.with_name(out_prefix.name + "_R1.fastq.gz")
    r2 = out_prefix.with_name(out_prefix.name + "_R2.fastq.gz")
    write_fastq_gz(r1, mates(1))
    write_fastq_gz(r2, mates(2))
    return r1, r2


def write_placed_bam(path: Path | str, reads: Sequence[SimRead], reference_fai: Path | str) -> Path:
    """The reads as a name-grouped BAM placed at their origin (MAPQ 60), UMIs in the names as fastp writes them
    (``name:UMI1_UMI2``): what an aligner gives for substitution-only reads, without running one."""
    import pysam

    contigs = [line.split("\t")[:2] for line in Path(reference_fai).read_text().splitlines() if line]
    header = {"HD": {"VN": "1.6", "SO": "unsorted"}, "SQ": [{"SN": c, "LN": int(n)} for c, n in contigs]}
    tids = {c: i for i, (c, _n) in enumerate(contigs)}
    path = Path(path)
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i, r in enumerate(reads):
            name = f"SIM:1:FC:1:{1101 + i // 50_000}:{i % 50_000}:0:{r.umi1}_{r.umi2}"
            rl_f, rl_r = len(r.fwd_seq), len(r.rev_seq)
            fpos, rpos = r.start0, r.start0 + r.length - rl_r
            for is_fwd in (True, False):
                a = pysam.AlignedSegment(out.header)
                a.query_name = name
                a.reference_id = a.next_reference_id = tids[r.chrom]
                a.reference_start = fpos if is_fwd else rpos
                a.next_reference_start = rpos if is_fwd else fpos
                a.cigartuples = [(0, rl_f if is_fwd else rl_r)]
                a.mapping_quality = 60
                read1 = is_fwd == r.read1_forward
                a.flag = 0x1 | 0x2 | (0x40 if read1 else 0x80) | (0x20 if is_fwd else 0x10)
                a.template_length = r.length if is_fwd else -r.length
                a.query_sequence = r.fwd_seq if is_fwd else r.rev_seq
                a.query_qualities = pysam.qualitystring_to_array(_qual_text(r.fwd_qual if is_fwd else r.rev_qual))
                out.write(a)
    return path
