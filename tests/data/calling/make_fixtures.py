"""Build the tiny calling fixtures (BAMs + target BEDs) in this directory. Deterministic (seeded).

Reads are written straight from the reference with known alleles, read orientations and clips (no aligner, no
simulator), so each fixture site tests one behaviour:

  tumour.bam   KRAS G12D 10% (PASS, hotspot), EGFR E746_A750del 20% (PASS), FFPE-like C>T 4% in F1R2 reads only
               (orientation_bias), oxoG-like G>T 4% on forward-strand reads only (strand_bias), BRCA1 rs1799966
               50% (PASS + LIKELY_GERMLINE), a 3-read SNV at 150x (low_alt_reads), a PTEN SNV on clipped,
               mate-unmapped reads (paralogue), a BRAF SNV 5% also in two normals (pon), a 1-bp deletion in an
               8-A homopolymer at 5% (homopolymer)
  blood.bam    BRCA1 rs1799966 het, BRCA2 c.7397T>C hom, BRCA1 c.68_69del het (germline, 60x)
  normal1-3    200x over the PoN site; normal1 and normal2 carry it at 4%
  empty.bam    header only

Run: .venv/bin/python tests/data/calling/make_fixtures.py  (from the repository root)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import pysam

HERE = Path(__file__).resolve().parent
REF = HERE.parents[2] / "resources" / "reference" / "grch38_panel_masked.fa.gz"
READ_LEN = 100
FRAG_LEN = 260
QUAL = 35


@dataclass(frozen=True)
class Site:
    name: str
    chrom: str
    pos: int  # VCF position (1-based; the anchor base for indels)
    ref: str
    alt: str
    vaf: float
    depth: int
    mode: str = "balanced"  # balanced | f1r2_only | forward_only | paralogue
    exact_alt: int | None = None  # exact alt read count instead of vaf


TUMOUR_SITES = [
    Site("KRAS_G12D", "chr12", 25245350, "C", "T", 0.10, 400),
    Site("EGFR_E746_A750del", "chr7", 55174771, "AGGAATTAAGAGAAGC", "A", 0.20, 400),
    Site("EGFR_ffpe_CT", "chr7", 55181397, "C", "T", 0.04, 400, "f1r2_only"),
    Site("EGFR_oxog_GT", "chr7", 55191845, "G", "T", 0.04, 400, "forward_only"),
    Site("BRCA1_rs1799966", "chr17", 43071077, "T", "C", 0.50, 400),
    Site("KRAS_low_count", "chr12", 25227280, "A", "G", 0.0, 150, exact_alt=3),
    Site("PTEN_paralogue", "chr10", 87952198, "G", "A", 0.10, 400, "paralogue"),
    Site("BRAF_pon", "chr7", 140753300, "T", "C", 0.05, 400),
    Site("BRCA2_homopolymer_del", "chr13", 32333283, "", "", 0.05, 400),  # alleles filled from the reference
]
BLOOD_SITES = [
    Site("BRCA1_rs1799966", "chr17", 43071077, "T", "C", 0.5, 60),
    Site("BRCA2_c7397", "chr13", 32355250, "T", "C", 1.0, 60),
    Site("BRCA1_c68_69del", "chr17", 43124027, "ACT", "A", 0.5, 60),
]
PON_SITE = Site("BRAF_pon", "chr7", 140753300, "T", "C", 0.04, 200)


def complete(site: Site, fasta: pysam.FastaFile) -> Site:
    if site.ref:
        assert fasta.fetch(site.chrom, site.pos - 1, site.pos - 1 + len(site.ref)).upper() == site.ref, site
        return site
    ref = fasta.fetch(site.chrom, site.pos - 1, site.pos + 1).upper()  # anchor + first homopolymer base
    return Site(site.name, site.chrom, site.pos, ref, ref[0], site.vaf, site.depth, site.mode)


def haplotype(fasta: pysam.FastaFile, site: Site, start0: int, end0: int, alt: bool) -> tuple[str, list[int | None]]:
    """Sequence of the window with or without the allele, and each base's reference position (None: inserted)."""
    seq = fasta.fetch(site.chrom, start0, end0).upper()
    refpos: list[int | None] = list(range(start0, end0))
    if not alt:
        return seq, refpos
    i = site.pos - 1 - start0
    new_seq = seq[:i] + site.alt + seq[i + len(site.ref) :]
    if len(site.ref) == len(site.alt):
        return new_seq, refpos
    if len(site.ref) > len(site.alt):  # deletion: positions after the anchor skip the deleted bases
        return new_seq, refpos[: i + 1] + refpos[i + len(site.ref) :]
    return new_seq, refpos[: i + 1] + [None] * (len(site.alt) - 1) + refpos[i + 1 :]


def cigar_for(positions: list[int | None]) -> tuple[int, list[tuple[int, int]]] | None:
    """Reference start and CIGAR for a read whose bases map to ``positions``; None if an indel is at an end."""
    if positions[0] is None or positions[-1] is None:
        return None
    ops: list[tuple[int, int]] = []
    prev = None
    for p in positions:
        if p is None:
            op, n = 1, 1
        elif prev is not None and p > prev + 1:
            ops.append((2, p - prev - 1))
            op, n = 0, 1
        else:
            op, n = 0, 1
        if ops and ops[-1][0] == op:
            ops[-1] = (op, ops[-1][1] + n)
        else:
            ops.append((op, n))
        if p is not None:
            prev = p
    if ops[0][0] != 0 or ops[-1][0] != 0 or min(n for op, n in ops if op == 0) < 10:
        return None  # an aligner would clip an indel this close to a read end
    return positions[0], ops


def make_read(header, name, seq, positions, reverse, read1, mate_start, chrom_id, clip=0, rng=None):
    placed = cigar_for(positions)
    if placed is None:
        return None
    start, ops = placed
    if clip:  # junction read of a processed pseudogene: the first bases belong to the neighbouring exon
        seq = "".join(rng.choice("ACGT") for _ in range(clip)) + seq[clip:]
        ops = [(4, clip), (0, ops[0][1] - clip), *ops[1:]]
        start += clip
    a = pysam.AlignedSegment(header)
    a.query_name = name
    a.query_sequence = seq
    a.flag = 0x1 | (0x40 if read1 else 0x80) | (0x10 if reverse else 0x20)
    a.reference_id = chrom_id
    a.reference_start = start
    a.mapping_quality = 60
    a.cigartuples = ops
    a.next_reference_id = chrom_id
    a.next_reference_start = mate_start
    a.query_qualities = pysam.qualitystring_to_array(chr(QUAL + 33) * len(seq))
    a.set_tag("RG", "rg1")
    return a


def site_reads(fasta, header, site: Site, rng: random.Random, prefix: str):
    """Fragments over one site: each covering read carries the allele per the site's mode."""
    site = complete(site, fasta)
    chrom_id = header.get_tid(site.chrom)
    w0, w1 = site.pos - FRAG_LEN - 50, site.pos + FRAG_LEN + 50
    n_frag = int(site.depth * (w1 - w0 - FRAG_LEN) / (2 * READ_LEN))
    frags = []
    for k in range(n_frag):
        f0 = rng.randint(w0, w1 - FRAG_LEN)
        strand_rev = rng.random() < 0.5  # fragment orientation: which mate reads the left end
        covers = f0 <= site.pos - 1 < f0 + READ_LEN or f0 + FRAG_LEN - READ_LEN <= site.pos - 1 < f0 + FRAG_LEN
        left_is_read1 = not strand_rev
        frags.append((k, f0, left_is_read1, covers))
    covering = [f for f in frags if f[3]]

    def eligible(f) -> bool:
        _, f0, left_is_read1, _ = f
        left = f0 <= site.pos - 1 < f0 + READ_LEN
        read1 = left == left_is_read1
        reverse = not left
        if site.mode == "f1r2_only":
            return (read1 and not reverse) or (not read1 and reverse)
        if site.mode == "forward_only":
            return not reverse
        return True

    pool = [f for f in covering if eligible(f)]
    n_alt = site.exact_alt if site.exact_alt is not None else round(site.vaf * len(covering))
    alt_ids = {f[0] for f in rng.sample(pool, min(n_alt, len(pool)))}
    out = []
    for k, f0, left_is_read1, _ in frags:
        is_alt = k in alt_ids
        seq, positions = haplotype(fasta, site, w0 - 100, w1 + 100, is_alt)
        i0 = next(i for i, p in enumerate(positions) if p == f0)
        frag_seq, frag_pos = seq[i0 : i0 + FRAG_LEN], positions[i0 : i0 + FRAG_LEN]
        name = f"{prefix}:{site.name}:{k}"
        left_start = frag_pos[0]
        right_start = frag_pos[FRAG_LEN - READ_LEN]
        left = make_read(header, name, frag_seq[:READ_LEN], frag_pos[:READ_LEN], False, left_is_read1,
                         right_start, chrom_id)  # fmt: skip
        right = make_read(header, name, frag_seq[-READ_LEN:], frag_pos[-READ_LEN:], True, not left_is_read1,
                          left_start, chrom_id)  # fmt: skip
        if left is None or right is None:
            continue
        if is_alt and site.mode == "paralogue":
            # pseudogene fragment: the read with the allele is clipped at an exon junction, its mate unplaced
            carrier = left if left.reference_start <= site.pos - 1 < left.reference_end else right
            clipped = make_read(header, name, carrier.query_sequence, list(
                range(carrier.reference_start, carrier.reference_end)), carrier.is_reverse, carrier.is_read1,
                carrier.reference_start, chrom_id, clip=12, rng=rng)  # fmt: skip
            if clipped is None:
                continue
            clipped.flag |= 0x8
            clipped.flag &= ~0x20
            clipped.next_reference_start = clipped.reference_start
            out.append(clipped)
            continue
        for a, mate in ((left, right), (right, left)):
            a.flag |= 0x2
            a.template_length = (mate.reference_end - a.reference_start) if a is left else -(
                a.reference_end - left.reference_start)  # fmt: skip
            out.append(a)
    return out


def set_nm(reads, fasta, chrom):
    for a in reads:
        ref = fasta.fetch(chrom, a.reference_start, a.reference_end).upper()
        nm = sum(
            1 for q, r in a.get_aligned_pairs(matches_only=True) if a.query_sequence[q] != ref[r - a.reference_start]
        )
        nm += sum(n for op, n in a.cigartuples if op in (1, 2))
        a.set_tag("NM", nm)


def write_bam(path: Path, sample: str, sites: list[Site], seed: int) -> None:
    fasta = pysam.FastaFile(str(REF))
    sq = [{"SN": c, "LN": n} for c, n in zip(fasta.references, fasta.lengths, strict=True)]
    header = pysam.AlignmentHeader.from_dict(
        {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": sq, "RG": [{"ID": "rg1", "SM": sample, "PL": "ILLUMINA"}]}
    )
    rng = random.Random(seed)
    reads = []
    for site in sites:
        these = site_reads(fasta, header, site, rng, sample)
        set_nm(these, fasta, site.chrom)
        reads += these
    reads.sort(key=lambda a: (a.reference_id, a.reference_start))
    unsorted = path.with_suffix(".tmp.bam")
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        for a in reads:
            out.write(a)
    pysam.sort("-o", str(path), str(unsorted))
    unsorted.unlink()
    pysam.index(str(path))


def write_targets(path: Path, sites: list[Site], gene_of: dict[str, str]) -> None:
    rows = sorted(
        (s.chrom, s.pos - 60, s.pos + 60 + len(s.ref), f"{gene_of.get(s.name, s.name.split('_')[0])}_exon1")
        for s in sites
    )
    path.write_text("".join(f"{c}\t{a}\t{b}\t{n}\n" for c, a, b, n in rows))


def main() -> None:
    write_bam(HERE / "tumour.bam", "TUMOUR1", TUMOUR_SITES, 1)
    write_bam(HERE / "blood.bam", "BLOOD1", BLOOD_SITES, 2)
    write_bam(HERE / "normal1.bam", "NORMAL1", [PON_SITE], 3)
    write_bam(HERE / "normal2.bam", "NORMAL2", [PON_SITE], 4)
    write_bam(HERE / "normal3.bam", "NORMAL3", [Site(**{**PON_SITE.__dict__, "vaf": 0.0})], 5)
    write_bam(HERE / "empty.bam", "EMPTY1", [], 6)
    write_targets(HERE / "tumour.targets.bed", TUMOUR_SITES, {})
    write_targets(HERE / "blood.targets.bed", BLOOD_SITES, {})


if __name__ == "__main__":
    main()
