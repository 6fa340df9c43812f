"""Build the small BAMs the hotspot tests read (run from the repository root; deterministic for a given seed).

    .venv/bin/python tests/data/hotspots/make_fixtures.py [--mmi resources/index/grch38_panel_masked.mmi]

Two kinds of fixture:
- written directly with pysam (ungapped, error-free alignments), so every count is known exactly: KRAS G12C at
  20% of 1000 fragments, KRAS wild type at 30x, and a BRAF V600E set that exercises every read filter
  (duplicates, MAPQ, secondary, supplementary, QC-fail, base quality, overlapping and discordant mates), and
  PIK3CA E545A on pseudogene-like reads (two extra mismatches each) beside a clean E545K;
- error-free 2x150 reads of EGFR exon 19/20 haplotypes aligned by minimap2 against the panel-masked GRCh38,
  so the tests see how a real aligner writes exon 19 deletions, a delins and exon 20 insertions/duplications.

Expected counts live in EXPECTED below and are asserted by tests/test_hotspots_bam.py.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
from pathlib import Path

import pysam

from oncopanel import paths
from oncopanel.reference import SliceSequence, read_chromosome_lengths, read_slices

OUT = Path(__file__).resolve().parent
READ_LEN = 100
QUAL = 37
COMP = str.maketrans("ACGT", "TGCA")

# KRAS G12 codon on the plus strand is chr12:25245349-25245351 (ACC); c.34G>T (G12C) is 25245351 C>A and
# c.35G>A (G12D) is 25245350 C>T. BRAF c.1799T>A (V600E) is chr7:140753336 A>T.
KRAS_G12C = ("chr12", 25245351, "A")
KRAS_G12D = ("chr12", 25245350, "T")
BRAF_V600E = ("chr7", 140753336, "T")
# PIK3CA c.1634A>C (E545A) is chr3:179218304 A>C. Reads of the chr22 PIK3CA pseudogene, forced onto a reference
# without chr22, show it together with other differences: mimicked here by two extra mismatches per read.
PIK3CA_E545A = ("chr3", 179218304, "C")
PSEUDOGENE_EXTRA = ((179218280, "T"), (179218330, "A"))

EXPECTED = {
    "kras_g12c_1000x": {"depth": 1000, "G12C": 200, "G12D": 2},
    "kras_wt_30x": {"depth": 30},
    # clean: 100 ref + 50 alt one-mate fragments; 40 overlapping fragments (20 alt) counted once; 6
    # discordant overlapping fragments left out; every filtered read carries the alt base.
    "braf_filters": {"depth": 190, "alt": 70, "discordant": 6},
    # 180 reference fragments; 20 E545A fragments with pseudogene-like extra differences, 6 clean E545K ones
    "pik3ca_pseudogene": {"depth": 206, "E545A": 20, "E545K": 6},
}


def revcomp(seq: str) -> str:
    return seq.translate(COMP)[::-1]


def header() -> dict:
    lengths = read_chromosome_lengths()["GRCh38"]
    chroms = {s.chrom for s in read_slices()}
    sq = [{"SN": c, "LN": n} for c, n in lengths.items() if c in chroms]
    return {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": sq, "RG": [{"ID": "fixture", "SM": "fixture"}]}


class PairWriter:
    """Collects ungapped read pairs from the reference with chosen substitutions; writes a sorted, indexed BAM."""

    def __init__(self, seq: SliceSequence):
        self.seq = seq
        self.hdr = pysam.AlignmentHeader.from_dict(header())
        self.reads: list[pysam.AlignedSegment] = []

    def _read(self, name, chrom, start0, subs, *, reverse, first, mapq, flags, low_q_at) -> pysam.AlignedSegment:
        bases = list(self.seq.fetch(chrom, start0, start0 + READ_LEN))
        n_diff = 0
        for pos, alt in subs:
            if start0 < pos <= start0 + READ_LEN:
                bases[pos - 1 - start0] = alt
                n_diff += 1
        quals = [QUAL] * READ_LEN
        if low_q_at and start0 < low_q_at <= start0 + READ_LEN:
            quals[low_q_at - 1 - start0] = 10
        a = pysam.AlignedSegment(self.hdr)
        a.query_name = name
        a.query_sequence = "".join(bases)
        a.query_qualities = pysam.qualitystring_to_array("".join(chr(q + 33) for q in quals))
        a.reference_name = chrom
        a.reference_start = start0
        a.mapping_quality = mapq
        a.cigarstring = f"{READ_LEN}M"
        a.flag = 0x1 | 0x2 | (0x10 if reverse else 0x20) | (0x40 if first else 0x80) | flags
        a.set_tag("RG", "fixture")
        a.set_tag("NM", n_diff)
        return a

    def pair(self, name, chrom, left0, right0, left_subs=(), right_subs=(), *, mapq=60, flags=0, low_q_at=0):
        """Left mate forward, right mate reverse; mate fields filled in."""
        r1_left = random.random() < 0.5
        left = self._read(name, chrom, left0, left_subs, reverse=False, first=r1_left, mapq=mapq,
                          flags=flags, low_q_at=low_q_at)  # fmt: skip
        right = self._read(name, chrom, right0, right_subs, reverse=True, first=not r1_left, mapq=mapq,
                           flags=flags, low_q_at=low_q_at)  # fmt: skip
        tlen = right0 + READ_LEN - left0
        for a, b, sign in ((left, right, 1), (right, left, -1)):
            a.next_reference_name = chrom
            a.next_reference_start = b.reference_start
            a.template_length = sign * tlen
        self.reads += [left, right]

    def single(self, name, chrom, start0, subs, *, flags, mapq=60):
        a = self._read(name, chrom, start0, subs, reverse=False, first=True, mapq=mapq, flags=flags, low_q_at=0)
        a.flag &= ~(0x1 | 0x2 | 0x20 | 0x40)
        self.reads.append(a)

    def write(self, path: Path) -> None:
        self.reads.sort(key=lambda a: (a.reference_id, a.reference_start, a.query_name))
        with pysam.AlignmentFile(str(path), "wb", header=self.hdr) as out:
            for a in self.reads:
                out.write(a)
        pysam.index("-c", str(path))  # CSI: a BAI over a whole GRCh38 chromosome is ~10x the BAM


def covering_pair(w: PairWriter, name: str, site: tuple[str, int, str] | None, pos: int, chrom: str,
                  **kw) -> None:  # fmt: skip
    """A fragment where exactly one mate covers pos (at least 5 bases inside the read), carrying site if given."""
    start0 = random.randint(pos - READ_LEN + 5, pos - 6)
    subs = [(site[1], site[2])] if site else []
    if random.random() < 0.5:  # the covering mate is the left (forward) one
        w.pair(name, chrom, start0, start0 + 250, subs, (), **kw)
    else:
        w.pair(name, chrom, start0 - 250, start0, (), subs, **kw)


def build_pik3ca_pseudogene(seq: SliceSequence) -> None:
    chrom, pos, alt = PIK3CA_E545A
    w = PairWriter(seq)
    for i in range(180):
        covering_pair(w, f"ref{i:03d}", None, pos, chrom)
    for i in range(20):  # every pseudogene read spans both extra differences and the site
        left0 = random.randint(179218330 - READ_LEN + 2, 179218280 - 2)
        w.pair(f"pseudo{i:03d}", chrom, left0, left0 + 250, [(pos, alt), *PSEUDOGENE_EXTRA], ())
    for i in range(6):  # c.1633G>A (E545K), a real allele on otherwise clean reads
        covering_pair(w, f"e545k{i:03d}", (chrom, pos - 1, "A"), pos, chrom)
    w.write(OUT / "pik3ca_pseudogene.bam")


def build_kras(seq: SliceSequence) -> None:
    w = PairWriter(seq)
    for i in range(1000):
        site = KRAS_G12C if i < 200 else KRAS_G12D if i < 202 else None
        covering_pair(w, f"kras{i:04d}", site, 25245350, "chr12")
    w.write(OUT / "kras_g12c_1000x.bam")
    w = PairWriter(seq)
    for i in range(30):
        covering_pair(w, f"kraswt{i:02d}", None, 25245350, "chr12")
    w.write(OUT / "kras_wt_30x.bam")


def build_braf_filters(seq: SliceSequence) -> None:
    chrom, pos, _ = BRAF_V600E
    w = PairWriter(seq)
    for i in range(100):
        covering_pair(w, f"ref{i:03d}", None, pos, chrom)
    for i in range(50):
        covering_pair(w, f"alt{i:03d}", BRAF_V600E, pos, chrom)
    for i in range(20):
        covering_pair(w, f"dup{i:03d}", BRAF_V600E, pos, chrom, flags=0x400)
    for i in range(20):
        covering_pair(w, f"lowmapq{i:03d}", BRAF_V600E, pos, chrom, mapq=10)
    for i in range(10):
        covering_pair(w, f"qcfail{i:03d}", BRAF_V600E, pos, chrom, flags=0x200)
    for i in range(10):
        covering_pair(w, f"lowbq{i:03d}", BRAF_V600E, pos, chrom, low_q_at=pos)
    site = [(pos, BRAF_V600E[2])]
    for i in range(10):
        w.single(f"secondary{i:03d}", chrom, pos - 50, site, flags=0x100)
        w.single(f"suppl{i:03d}", chrom, pos - 40, site, flags=0x800)
    for i in range(40):  # short fragments: both mates cover the site; alt on both mates for the first 20
        left0 = random.randint(pos - READ_LEN + 5, pos - 40)
        subs = site if i < 20 else []
        w.pair(f"overlap{i:03d}", chrom, left0, left0 + 30, subs, subs)
    for i in range(6):  # the mates disagree: an error on one of them, not evidence
        left0 = random.randint(pos - READ_LEN + 5, pos - 40)
        w.pair(f"discordant{i:03d}", chrom, left0, left0 + 30, site, [])
    w.write(OUT / "braf_filters.bam")


# EGFR indels, as (genomic start 1-based, bases deleted, bases inserted) on the plus strand. c.2236 is
# chr7:55174773 (codon 746 GAA); c.2307 is chr7:55181316 (last base of V769); c.2310 is chr7:55181319.
EGFR_C2236 = 55174773
EGFR_C2284 = 55181293
INDELS = {
    "c.2236_2250del": (EGFR_C2236, 15, ""),
    "c.2240_2257del": (EGFR_C2236 + 4, 18, ""),
    "c.2237_2255delinsT": (EGFR_C2236 + 1, 19, "T"),
    # inserted as V769_D770insASV after c.2307: HGVS (3' rule) names it c.2300_2308dup
    "c.2307_2308insGCCAGCGTG": (EGFR_C2284 + 2308 - 2284, 0, "GCCAGCGTG"),
    "c.2310_2311insGGT": (EGFR_C2284 + 2311 - 2284, 0, "GGT"),
}
EGFR_SAMPLES = {
    "egfr_indel_a": ["c.2236_2250del", "c.2307_2308insGCCAGCGTG"],
    "egfr_indel_b": ["c.2240_2257del", "c.2310_2311insGGT"],
    "egfr_indel_c": ["c.2237_2255delinsT"],
}
EGFR_WINDOWS = {"ex19": (55174300, 55175250), "ex20": (55180850, 55181800)}
EGFR_ALT_FRACTION = 0.3
EGFR_FRAGMENTS = 250


def haplotype(seq: SliceSequence, win: tuple[int, int], indel: tuple[int, int, str] | None) -> tuple[str, int]:
    """Sequence of the window (0-based start, end) with the indel applied; and the indel's offset in it."""
    ref = seq.fetch("chr7", *win)
    if indel is None:
        return ref, (win[1] - win[0]) // 2
    start, n_del, ins = indel
    i = start - 1 - win[0]
    return ref[:i] + ins + ref[i + n_del :], i


def egfr_reads(seq: SliceSequence, names: list[str], prefix: str) -> list[tuple[str, str, str]]:
    """(name, read1, read2) error-free 2x150 fragments over exon 19 and exon 20."""
    out = []
    for region, win in EGFR_WINDOWS.items():
        here = [n for n in names if (INDELS[n][0] < 55180000) == (region == "ex19")]
        alt_hap = haplotype(seq, win, INDELS[here[0]]) if here else None
        ref_hap = haplotype(seq, win, None)
        for i in range(EGFR_FRAGMENTS):
            hap, centre = alt_hap if alt_hap and random.random() < EGFR_ALT_FRACTION else ref_hap
            insert = random.randint(260, 340)
            start = random.randint(centre - insert + 40, centre - 40)
            frag = hap[start : start + insert]
            r1, r2 = frag[:150], revcomp(frag[-150:])
            if random.random() < 0.5:
                r1, r2 = r2, r1
            out.append((f"{prefix}_{region}_{i:03d}", r1, r2))
    return out


def align(reads: list[tuple[str, str, str]], mmi: Path, out_bam: Path) -> None:
    qual = "F" * 150
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / mmi.name).symlink_to(mmi.resolve())
        fq = [Path(tmp) / "r1.fq", Path(tmp) / "r2.fq"]
        for k, path in enumerate(fq):
            path.write_text("".join(f"@{n}\n{r[k]}\n+\n{qual}\n" for n, *r in reads))
        rg = f"@RG\\tID:{out_bam.stem}\\tSM:{out_bam.stem}"
        # relative FASTQ names and the index's file name keep minimap2's @PG line the same on every build
        mm = subprocess.Popen(["minimap2", "-ax", "sr", "-t", "1", "-R", rg, mmi.name, "r1.fq", "r2.fq"], cwd=tmp,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
        subprocess.run(["samtools", "sort", "--no-PG", "-o", str(out_bam), "-"], stdin=mm.stdout, check=True)
        if mm.wait() != 0:
            raise RuntimeError("minimap2 failed")
    pysam.index("-c", str(out_bam))


def build_egfr(seq: SliceSequence, mmi: Path) -> None:
    for sample, names in EGFR_SAMPLES.items():
        align(egfr_reads(seq, names, sample), mmi, OUT / f"{sample}.bam")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mmi", type=Path, default=paths.RESOURCES / "index" / "grch38_panel_masked.mmi",
                    help="minimap2 index of the panel-masked GRCh38 (minimap2 -x sr -d)")  # fmt: skip
    ap.add_argument("--seed", type=int, default=20261125)
    args = ap.parse_args()
    random.seed(args.seed)
    seq = SliceSequence()
    build_kras(seq)
    build_braf_filters(seq)
    build_pik3ca_pseudogene(seq)
    build_egfr(seq, args.mmi)
    for bam in sorted(OUT.glob("*.bam")):
        print(f"{bam.name}\t{bam.stat().st_size} bytes")


if __name__ == "__main__":
    main()
