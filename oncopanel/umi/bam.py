"""Aligned raw reads -> one consensus read pair per molecule, placed where its reads aligned (no realignment:
every read of a family was aligned already, and the consensus keeps the family's most common alignment).

Fragment position: the unclipped 5' start of the forward-mapping mate and the unclipped 5' end of the reverse one
(both ends of the cfDNA fragment). Families: reads of one position grouped by UMI (oncopanel.umi.grouping). The
single-strand key also holds the pair orientation (F1R2: read 1 on the forward strand, the original top strand;
F2R1 the bottom one). In a duplex layout each read carries the UMI of its own end of the molecule, so the UMIs
read off the forward-mapping and reverse-mapping mates are the same pair for both strands: the molecule key is
(position, forward UMI, reverse UMI) and its F1R2 and F2R1 reads are its two strands.

Reads used: primary, paired, both mates mapped to one chromosome in opposite orientations. Output records carry
``RX`` (UMI), ``MI`` (molecule id), ``cD`` (read pairs in the family) and, for duplex reads, ``aD``/``bD``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pysam

from oncopanel.errors import InputError
from oncopanel.umi.consensus import FamilyConsensus, duplex_consensus, strand_consensus
from oncopanel.umi.grouping import directional_groups
from oncopanel.umi.layout import split_umi, umi_from_name
from oncopanel.umi.settings import UmiSettings

_CLIP = (4, 5)  # soft, hard


@dataclass
class Mate:
    tid: int
    pos: int
    cigar: tuple[tuple[int, int], ...]
    reverse: bool
    seq: str
    qual: tuple[int, ...]
    mapq: int
    unclipped5: int  # forward: unclipped start; reverse: unclipped end (0-based, exclusive)


@dataclass
class ConsensusSummary:
    """What the consensus step did to one sample (the QC and the report's family counts read it)."""

    read_pairs: int = 0
    pairs_used: int = 0
    pairs_without_umi: int = 0
    families: int = 0  # molecules with a consensus read (>= min_family_size read pairs)
    families_below_min_size: int = 0
    duplex_families: int = 0
    umi_corrected_pairs: int = 0  # pairs whose UMI was merged into a neighbour's (one mismatch)
    family_size_histogram: dict[int, int] = field(default_factory=dict)

    @property
    def mean_family_size(self) -> float:
        total = sum(self.family_size_histogram.values())
        return sum(k * v for k, v in self.family_size_histogram.items()) / total if total else 0.0


def _mate(r: pysam.AlignedSegment) -> Mate:
    cig = tuple(r.cigartuples or ())
    if r.is_reverse:
        end = r.reference_end + (cig[-1][1] if cig and cig[-1][0] in _CLIP else 0)
        five = end
    else:
        five = r.reference_start - (cig[0][1] if cig and cig[0][0] in _CLIP else 0)
    return Mate(r.reference_id, r.reference_start, cig, r.is_reverse, r.query_sequence or "",
                tuple(r.query_qualities or ()), r.mapping_quality, five)  # fmt: skip


def read_pairs(bam: pysam.AlignmentFile, summary: ConsensusSummary) -> Iterable[tuple[str, Mate, Mate, str | None]]:
    """(name, read 1, read 2, UMI) of every usable pair; mates are held until their partner comes."""
    waiting: dict[str, tuple[pysam.AlignedSegment, Mate]] = {}
    for r in bam.fetch(until_eof=True):
        if r.is_secondary or r.is_supplementary or not r.is_paired:
            continue
        name = r.query_name
        if name in waiting:
            other, om = waiting.pop(name)
            summary.read_pairs += 1
            if r.is_unmapped or other.is_unmapped or r.reference_id != other.reference_id:
                continue
            m = _mate(r)
            r1, r2 = (om, m) if other.is_read1 else (m, om)
            if r1.reverse == r2.reverse:
                continue
            umi = r.get_tag("RX") if r.has_tag("RX") else umi_from_name(name)
            yield name, r1, r2, umi
        else:
            waiting[name] = (r, _mate(r))


def _majority(mates: list[Mate]) -> list[Mate]:
    """The mates sharing the family's most common alignment (start and CIGAR)."""
    top = Counter((m.pos, m.cigar) for m in mates).most_common(1)[0][0]
    return [m for m in mates if (m.pos, m.cigar) == top]


def _strand(mates: list[Mate], settings: UmiSettings) -> tuple[Mate, FamilyConsensus]:
    kept = _majority(mates)
    c = strand_consensus([m.seq for m in kept], [m.qual for m in kept], settings.consensus)
    return kept[0], FamilyConsensus(c.seq, c.qual, len(mates))


def _record(header, name, mate: Mate, other: Mate, cons: FamilyConsensus, read1: bool, tags) -> pysam.AlignedSegment:
    a = pysam.AlignedSegment(header)
    a.query_name = name
    a.reference_id, a.reference_start = mate.tid, mate.pos
    a.cigartuples = mate.cigar
    a.mapping_quality = mate.mapq
    a.next_reference_id, a.next_reference_start = other.tid, other.pos
    flag = 0x1 | 0x2 | (0x40 if read1 else 0x80)
    flag |= 0x10 if mate.reverse else 0
    flag |= 0x20 if other.reverse else 0
    a.flag = flag
    fwd, rev = (other, mate) if mate.reverse else (mate, other)
    tlen = rev.unclipped5 - fwd.unclipped5  # the fragment, 5' end to 5' end
    a.template_length = -tlen if mate.reverse else tlen
    a.query_sequence = cons.seq
    a.query_qualities = pysam.qualitystring_to_array("".join(chr(q + 33) for q in cons.qual))
    for k, v in tags:
        a.set_tag(k, v)
    return a


def build_consensus(
    in_bam: Path | str, out_bam: Path | str, settings: UmiSettings, duplex: bool = False, sample_id: str = ""
) -> ConsensusSummary:
    """Write the consensus BAM (coordinate-sorted, indexed) of one sample; return what was done."""
    summary = ConsensusSummary()
    g = settings.grouping
    min_size = settings.consensus.min_family_size
    # position key -> UMI key -> [(r1, r2)]
    by_pos: dict[tuple, dict[str, list[tuple[Mate, Mate]]]] = defaultdict(lambda: defaultdict(list))
    with pysam.AlignmentFile(str(in_bam), "rb") as bam:
        header = bam.header.to_dict()
        for _name, r1, r2, umi in read_pairs(bam, summary):
            if not umi:
                summary.pairs_without_umi += 1
                continue
            fwd, rev = (r1, r2) if not r1.reverse else (r2, r1)
            pos = (r1.tid, fwd.unclipped5, rev.unclipped5)
            if duplex:
                parts = split_umi(umi)
                if len(parts) != 2:
                    raise InputError(f"{in_bam}: duplex layout, but read UMI {umi!r} is not two UMIs")
                # read 1 carries parts[0]; the forward-mapping mate's UMI first, for both strands
                key_umi = parts[0] + parts[1] if not r1.reverse else parts[1] + parts[0]
            else:
                key_umi = umi.replace("+", "").replace("_", "").replace("-", "")
                pos = (*pos, r1.reverse)
            by_pos[pos][key_umi].append((r1, r2))
            summary.pairs_used += 1
    if summary.pairs_used == 0 and summary.read_pairs:
        raise InputError(f"{in_bam}: none of {summary.read_pairs} read pairs carries a UMI (RX tag or read name)")
    header.setdefault("PG", []).append(
        {"ID": "oncopanel.umi", "PN": "oncopanel", "CL": f"consensus {'duplex' if duplex else 'single-strand'}"}
    )
    # one read group for the consensus reads (a family may span lanes), with the sample of the input's groups:
    # callers (freebayes) need every read in a read group
    samples = {rg.get("SM") for rg in header.get("RG", []) if rg.get("SM")}
    rg_id = f"{sample_id or 'sample'}.consensus"
    header["RG"] = [{"ID": rg_id, "SM": next(iter(samples)) if len(samples) == 1 else (sample_id or "sample"),
                     "LB": f"{sample_id or 'sample'}.umi", "PL": "ILLUMINA"}]  # fmt: skip
    out_bam = Path(out_bam)
    unsorted = out_bam.with_name(out_bam.name + ".unsorted.bam")
    sizes: Counter = Counter()
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        hdr = out.header
        mol = 0
        for pos in sorted(by_pos):
            umis = by_pos[pos]
            owner = directional_groups({u: len(v) for u, v in umis.items()}, g.max_umi_mismatches, g.directional_ratio)
            families: dict[str, list[tuple[Mate, Mate]]] = defaultdict(list)
            for u, pairs in umis.items():
                families[owner[u]].extend(pairs)
                if owner[u] != u:
                    summary.umi_corrected_pairs += len(pairs)
            for umi, pairs in sorted(families.items()):
                strands = {False: [p for p in pairs if not p[0].reverse], True: [p for p in pairs if p[0].reverse]}
                if len(pairs) < min_size:
                    summary.families_below_min_size += 1
                    continue
                mol += 1
                name = f"{sample_id or 'cons'}:{mol}"
                sizes[len(pairs)] += 1
                # consensus of each strand present, by mate orientation (forward-mapping, reverse-mapping)
                cons = {}
                for rev1, sp in strands.items():
                    if sp:
                        fwd = [p[1] if rev1 else p[0] for p in sp]
                        rv = [p[0] if rev1 else p[1] for p in sp]
                        cons[rev1] = (_strand(fwd, settings), _strand(rv, settings), len(sp))
                tags = [("RG", rg_id), ("RX", umi), ("MI", str(mol)), ("cD", len(pairs))]
                need = settings.consensus.min_duplex_strand_reads
                both = duplex and len(cons) == 2 and min(c[2] for c in cons.values()) >= need
                if both:
                    (fa, fca), (ra, rca), na = cons[False]
                    (fb, fcb), (rb, rcb), nb = cons[True]
                    if (fa.pos, fa.cigar, ra.pos, ra.cigar) == (fb.pos, fb.cigar, rb.pos, rb.cigar):
                        fc = duplex_consensus(fca, fcb, settings.consensus)
                        rc = duplex_consensus(rca, rcb, settings.consensus)
                        fm, rm = fa, ra
                        tags += [("aD", na), ("bD", nb)]
                        summary.duplex_families += 1
                        # a duplex read was seen in both pair orientations: written as F1R2 or F2R1 by the
                        # molecule's number, so duplex reads split evenly between the orientations the
                        # library-damage test compares (damage, on one strand, gives a duplex N instead)
                        read1_forward = mol % 2 == 1
                    else:
                        both = False
                if not both:
                    rev1 = max(cons, key=lambda k: cons[k][2])  # the strand with more reads
                    (fm, fc), (rm, rc), _n = cons[rev1]
                    read1_forward = not rev1
                fcons = FamilyConsensus(fc.seq, fc.qual, len(pairs), both)
                rcons = FamilyConsensus(rc.seq, rc.qual, len(pairs), both)
                out.write(_record(hdr, name, fm, rm, fcons, read1_forward, tags))
                out.write(_record(hdr, name, rm, fm, rcons, not read1_forward, tags))
        summary.families = mol
    summary.family_size_histogram = dict(sorted(sizes.items()))
    pysam.sort("-o", str(out_bam), str(unsorted))
    unsorted.unlink()
    pysam.index(str(out_bam))
    return summary


def write_summary(summary: ConsensusSummary, path: Path | str) -> None:
    doc = asdict(summary)
    doc["mean_family_size"] = round(summary.mean_family_size, 2)
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")


def hotspot_depths(consensus_bam: Path | str, hotspots: Iterable) -> list[dict]:
    """Per hotspot: consensus families (molecules) whose reads span its window, and the raw read pairs behind them
    (their ``cD``): the depth a plasma report states both ways."""
    out = []
    with pysam.AlignmentFile(str(consensus_bam), "rb") as bam:
        for h in hotspots:
            families: dict[str, int] = {}
            for r in bam.fetch(h.chrom, h.window_start - 1, h.window_end):
                if r.is_unmapped or r.is_secondary or r.is_supplementary:
                    continue
                if r.reference_start <= h.window_start - 1 and r.reference_end >= h.window_end:
                    families[r.query_name] = r.get_tag("cD") if r.has_tag("cD") else 1
            out.append({"hotspot_id": h.hotspot_id, "families": len(families), "read_pairs": sum(families.values())})
    return out
