"""HGVS-style names of exon copy-number changes on MANE Select, the exons in words, and classification as data.

A read-depth call knows which exons changed, not where the breakpoints are: a deletion of MANE exons 13-22 of BRCA1
is ``NM_007294.4:c.4358-?_5467+?del`` (the first base of exon 13 minus an unknown intronic stretch to the last base
of exon 22 plus one). An exon-1 or last-exon call takes the c. of the transcript's first or last base (c.-N, c.*N),
as ClinVar names exon-1 and last-exon deletions. A deletion given with exact bounds (a VCF allele) is named from
its bounds on the transcript, which may lie beyond the gene (c.*N past the last base).
"""

from __future__ import annotations

from oncopanel.annotate.transcripts import Transcript
from oncopanel.cnv.records import CnvCall
from oncopanel.cnv.settings import ClassificationSettings
from oncopanel.cnv.targets import legacy_exon, transcripts_by_gene
from oncopanel.model import Annotation, Variant

KIND_SUFFIX = {"het_deletion": "del", "hom_deletion": "del", "duplication": "dup"}


def _exon_bounds(tx: Transcript, exon: int) -> tuple[int, int]:
    """Genomic positions of the exon's first and last base in transcript order."""
    s, e = tx.exons[exon - 1]
    return (e, s) if tx.minus else (s, e)


def exon_range_name(gene: str, first_exon: int, last_exon: int, kind: str) -> str:
    """``NM_007294.4:c.4358-?_5467+?del`` for a change of MANE exons first..last (inclusive, 1-based)."""
    tx = transcripts_by_gene()[gene]
    first, _ = _exon_bounds(tx, first_exon)
    _, last = _exon_bounds(tx, last_exon)
    c5 = tx.c_number(tx.locate(first))
    c3 = tx.c_number(tx.locate(last))
    return f"{tx.accession}:c.{c5}-?_{c3}+?{KIND_SUFFIX[kind]}"


def exons_in_words(gene: str, first_exon: int, last_exon: int, kind: str) -> str:
    """ "heterozygous deletion of exons 13–22 (legacy 14–23) of BRCA1", with the whole-gene and last-exon cases."""
    tx = transcripts_by_gene()[gene]
    what = {"het_deletion": "heterozygous deletion", "hom_deletion": "homozygous deletion",
            "duplication": "duplication"}[kind]  # fmt: skip
    span = f"exon {first_exon}" if first_exon == last_exon else f"exons {first_exon}–{last_exon}"
    lf, ll = legacy_exon(gene, first_exon), legacy_exon(gene, last_exon)
    if (lf, ll) != (first_exon, last_exon):
        span += f" (legacy {lf})" if first_exon == last_exon else f" (legacy {lf}–{ll})"
    n = len(tx.exons)
    notes = []
    if first_exon == 1 and last_exon == n:
        notes.append("whole gene")
    elif last_exon == n:
        notes.append("includes the last exon; may extend beyond the gene's 3′ end")
    elif first_exon == 1:
        notes.append("includes the first exon; may extend beyond the gene's 5′ end")
    tail = f" ({'; '.join(notes)})" if notes else ""
    return f"{what} of {span} of {gene} {tx.accession}{tail}"


def exact_deletion_name(gene: str, start: int, end: int) -> tuple[str, str, tuple[int, int] | None]:
    """A deletion with known bounds (1-based inclusive genomic positions, e.g. a VCF allele's deleted bases):
    its c. name on MANE Select, the exons in words, and (first, last) MANE exons removed (None when none is)."""
    tx = transcripts_by_gene()[gene]
    five, three = (end, start) if tx.minus else (start, end)
    name = f"{tx.accession}:c.{tx.c_number(tx.locate(five))}_{tx.c_number(tx.locate(three))}del"
    removed = [k for k, (s, e) in enumerate(tx.exons, start=1) if s >= start and e <= end]
    partial = [k for k, (s, e) in enumerate(tx.exons, start=1) if s <= end and e >= start and k not in removed]
    if not removed:
        words = f"deletion within {gene} {tx.accession}" + (f" (part of exon {partial[0]})" if partial else "")
        return name, words, None
    words = exons_in_words(gene, removed[0], removed[-1], "het_deletion").replace("heterozygous deletion", "deletion")
    if removed[-1] == len(tx.exons) and (start < tx.start if tx.minus else end > tx.end):
        words = words.replace("may extend beyond the gene's 3′ end", "extends beyond the gene's 3′ end")
    if removed[0] == 1 and (end > tx.end if tx.minus else start < tx.start):
        words = words.replace("may extend beyond the gene's 5′ end", "extends beyond the gene's 5′ end")
    return name, words, (removed[0], removed[-1])


def classify(gene: str, first_exon: int, last_exon: int, kind: str, rules: ClassificationSettings) -> str:
    """Deletion -> PVS1 at the strength the rules give (critical exons vs only non-critical ones); duplication ->
    the rules' class unless shown in tandem (read depth cannot show it)."""
    if kind == "duplication":
        return f"{rules.duplication_class} (duplication; not shown to be in tandem)"
    strength = deletion_strength(gene, first_exon, last_exon, rules)
    if strength is None:
        return "not classified (no deletion rule for this gene)"
    return f"PVS1 ({strength.replace('_', ' ')})"


def call_annotation(call: CnvCall) -> Annotation:
    """A deletion call as the annotation a deletion of the same exons arriving as a VCF allele gets (whole exons
    lost; the germline classifier reads the exons), named by the call's HGVS-style name."""
    tx = transcripts_by_gene()[call.gene]
    whole = call.first_exon == 1 and call.last_exon == len(tx.exons)
    exons = f"{call.first_exon}-{call.last_exon}" if call.last_exon > call.first_exon else str(call.first_exon)
    return Annotation(Variant(call.chrom, call.start, "N", "<DEL>"), call.gene, tx.accession,
                      ("transcript_ablation" if whole else "exon_loss_variant",), call.name.partition(":")[2],
                      exon=f"{exons}/{len(tx.exons)}")


def deletion_strength(gene: str, first_exon: int, last_exon: int, rules: ClassificationSettings) -> str | None:
    """PVS1 strength (very_strong, strong...) of deleting MANE exons first..last; None without a rule for the gene."""
    strengths = rules.deletion_pvs1.get(gene)
    if strengths is None:
        return None
    only_minor = set(range(first_exon, last_exon + 1)) <= set(rules.not_critical_exons.get(gene, ()))
    return strengths["other_exons_strength" if only_minor else "critical_exons_strength"]


def vcf_deletion_span(pos: int, ref: str, alt: str, end: int | None = None) -> tuple[int, int] | None:
    """Deleted bases (1-based inclusive) of a VCF deletion: an explicit allele with its anchor base, or a symbolic
    ``<DEL>`` with INFO END. None when the allele is not a deletion."""
    if alt == "<DEL>" and end is not None and end > pos:
        return pos + 1, end
    if len(ref) > len(alt) >= 1 and ref.upper().startswith(alt.upper()):
        return pos + len(alt), pos + len(ref) - 1
    return None


def name_vcf_deletion(chrom: str, pos: int, ref: str, alt: str, end: int | None = None) -> list[tuple[str, str]]:
    """(name, exons in words) on each MANE Select transcript a VCF deletion overlaps (large deletions whose start
    lies outside the gene included)."""
    span = vcf_deletion_span(pos, ref, alt, end)
    if span is None:
        return []
    start, stop = span
    out = []
    for gene, tx in transcripts_by_gene().items():
        if tx.chrom == chrom and start <= tx.end and stop >= tx.start:
            name, words, _ = exact_deletion_name(gene, start, stop)
            out.append((name, words))
    return out
