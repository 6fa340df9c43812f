"""Name a normalised VCF allele on its MANE Select transcript: consequence (SO terms), HGVS g./c./p.

Conventions followed (HGVS 21.x recommendations, as ClinVar writes them):
- indels are shifted to the most 3' position on the transcript strand (genomic plus strand for g.),
  also across exon/intron borders, as pyhgvs and ClinVar do;
- an insertion equal to the bases just 5' of it is a duplication; deleted/duplicated bases are not
  spelled out;
- p. is predicted, so it is written in parentheses with three-letter codes; protein-level indels are
  shifted to the most C-terminal position as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from oncopanel.annotate.normalise import NC_GRCH38, Edit, Window, shift, trim
from oncopanel.annotate.protein import one_letter, three, translate
from oncopanel.annotate.transcripts import Transcript, TxPos, load_transcripts
from oncopanel.errors import InputError
from oncopanel.model import Annotation, Variant
from oncopanel.sequence import SequenceSource as Sequence
from oncopanel.sequence import reverse_complement as revcomp

# most severe first (Ensembl VEP's order)
SEVERITY = (
    "transcript_ablation",  # a large deletion removing every exon (oncopanel.cnv.naming names it)
    "exon_loss_variant",  # a large deletion removing whole exons or reaching past the transcript's end
    "splice_acceptor_variant",
    "splice_donor_variant",
    "stop_gained",
    "frameshift_variant",
    "stop_lost",
    "start_lost",
    "inframe_insertion",
    "inframe_deletion",
    "missense_variant",
    "protein_altering_variant",
    "splice_region_variant",
    "stop_retained_variant",
    "synonymous_variant",
    "coding_sequence_variant",
    "5_prime_UTR_variant",
    "3_prime_UTR_variant",
    "intron_variant",
)
_RANK = {term: i for i, term in enumerate(SEVERITY)}
FLANK_READ = 3000  # genomic bases past the transcript's 3' end read for frameshifts and stop losses
_C_POS = r"[-*]?\d+(?:[-+]\d+)?"
_C_NAME = re.compile(rf"c\.({_C_POS})(?:_({_C_POS}))?(delins|del|dup|ins|[ACGTN]>)(.*)")


@dataclass
class _TxSeq:
    """A transcript's spliced sequence (transcript strand), its 3' genomic flank and reference protein."""

    tx: str  # exons only
    ext: str  # tx followed by genomic sequence past the 3' end (read-through for stop loss / frameshift)
    cds: str  # c.1 .. last base of the stop codon
    protein: str  # translation of cds, '*' included


def _range(a: str, b: str) -> str:
    return a if a == b else f"{a}_{b}"


def hgvs_g(edit: Edit, window: Window | None) -> str:
    """g. name on the GRCh38 RefSeq chromosome, shifted 3' on the plus strand."""
    acc = NC_GRCH38.get(edit.chrom, edit.chrom)
    if window is not None:
        edit = shift(edit, window, to_right=True)
    s, e, ref, alt = edit.start0, edit.end0, edit.ref, edit.alt
    if len(ref) == 1 and len(alt) == 1:
        return f"{acc}:g.{e}{ref}>{alt}"
    if not alt:
        return f"{acc}:g.{_range(str(s + 1), str(e))}del"
    if not ref:
        before = window.span(s - len(alt), s) if window is not None else None
        if before == alt:
            return f"{acc}:g.{_range(str(s - len(alt) + 1), str(s))}dup"
        return f"{acc}:g.{s}_{s + 1}ins{alt}"
    return f"{acc}:g.{_range(str(s + 1), str(e))}delins{alt}"


class Annotator:
    """Annotates variants on the MANE Select models; sequence from the embedded GRCh38 loci by default."""

    def __init__(self, transcripts: list[Transcript] | None = None, sequence: Sequence | None = None):
        if sequence is None:
            from oncopanel.reference import SliceSequence

            sequence = SliceSequence()
        self.sequence = sequence
        self.transcripts = transcripts if transcripts is not None else load_transcripts()
        self._by_chrom: dict[str, list[Transcript]] = {}
        for t in self.transcripts:
            self._by_chrom.setdefault(t.chrom, []).append(t)
        self._seqs: dict[str, _TxSeq] = {}

    # ---- data
    def transcript_sequence(self, t: Transcript) -> _TxSeq:
        cached = self._seqs.get(t.accession)
        if cached is None:
            parts = [self.sequence.fetch(t.chrom, s - 1, e) for s, e in sorted(t.exons)]
            genomic = "".join(parts)
            tx = revcomp(genomic) if t.minus else genomic
            flank = ""
            for size in (FLANK_READ, 1000, 300, 100):
                # as much 3' flank as the available sequence holds
                try:
                    if t.minus:
                        lo = max(t.start - 1 - size, 0)
                        flank = revcomp(self.sequence.fetch(t.chrom, lo, t.start - 1))
                    else:
                        flank = self.sequence.fetch(t.chrom, t.end, t.end + size)
                    break
                except InputError:
                    continue
            cds = tx[t.cds_first_index : t.cds_last_index + 1]
            cached = _TxSeq(tx, tx + flank, cds, translate(cds, stop=False))
            self._seqs[t.accession] = cached
        return cached

    def transcript_at(self, edit: Edit) -> Transcript | None:
        for t in self._by_chrom.get(edit.chrom, ()):
            if edit.is_insertion:
                # both flanking bases inside the transcript
                if t.start <= edit.start0 and edit.start0 + 1 <= t.end:
                    return t
            elif edit.start0 < t.end and edit.end0 > t.start - 1:
                return t
        return None

    def transcript(self, name: str) -> Transcript:
        """A model by gene symbol or RefSeq accession (the version may be left off)."""
        for t in self.transcripts:
            if name in (t.gene, t.accession, t.accession.split(".")[0], t.ensembl, t.ensembl.split(".")[0]):
                return t
        raise InputError(f"{name}: not a panel MANE Select transcript")

    def variant_from_c(self, transcript: str, hgvs_c: str) -> Variant:
        """The left-anchored VCF allele of a c. substitution, deletion, duplication, insertion or delins.

        For mapping knowledge-base and hotspot definitions written in c. onto GRCh38.
        """
        t = self.transcript(transcript)
        m = _C_NAME.fullmatch(hgvs_c.split(":")[-1])
        if not m:
            raise InputError(f"{hgvs_c}: not a c. name this mapper reads")
        p1, p2, kind, rest = m.group(1), m.group(2) or m.group(1), m.group(3), m.group(4)
        g1, g2 = t.genomic(p1), t.genomic(p2)
        lo, hi = min(g1, g2), max(g1, g2)
        fetch = self.sequence.fetch
        if kind.endswith(">"):
            ref = fetch(t.chrom, lo - 1, lo)
            if (revcomp(ref) if t.minus else ref) != kind[0]:
                raise InputError(f"{t.accession}:{hgvs_c}: the reference base there is not {kind[0]}")
            alt = rest
            return Variant(t.chrom, lo, fetch(t.chrom, lo - 1, lo), revcomp(alt) if t.minus else alt)
        inserted = "".join(ch for ch in rest if ch in "ACGTN")
        inserted = revcomp(inserted) if t.minus else inserted
        if kind == "ins":
            # between lo and hi: anchor on lo
            base = fetch(t.chrom, lo - 1, lo)
            return Variant(t.chrom, lo, base, base + inserted)
        if kind == "dup":
            dup = fetch(t.chrom, lo - 1, hi)
            base = fetch(t.chrom, lo - 2, lo - 1)
            return Variant(t.chrom, lo - 1, base, base + dup)
        span = fetch(t.chrom, lo - 1, hi)
        if kind == "del":
            base = fetch(t.chrom, lo - 2, lo - 1)
            return Variant(t.chrom, lo - 1, base + span, base)
        return Variant(t.chrom, lo, span, inserted)  # delins

    def same_allele(self, a: Variant, b: Variant) -> bool:
        """Whether two VCF alleles describe the same change once both are trimmed and left-aligned."""
        if a.chrom != b.chrom:
            return False
        ea, eb = trim(a), trim(b)
        ea = shift(ea, Window(self.sequence, ea.chrom, ea.start0), to_right=False)
        eb = shift(eb, Window(self.sequence, eb.chrom, eb.start0), to_right=False)
        return ea == eb

    # ---- annotation
    def annotate_large_deletion(self, variant: Variant, end: int | None = None) -> Annotation | None:
        """A deletion that removes whole exons or reaches past a transcript's end — a VCF allele with a long REF, or
        a symbolic ``<DEL>`` with INFO END — named as the copy-number engine names exon deletions
        (``oncopanel.cnv.naming``: c. bounds on MANE Select, which may lie beyond the gene); None for any other
        allele (the ordinary path names it). Its REF is not checked base by base: a panel-masked reference has no
        sequence between the loci, and the name rests on the bounds alone."""
        from oncopanel.cnv.naming import exact_deletion_name, vcf_deletion_span

        span = vcf_deletion_span(variant.pos, variant.ref, variant.alt, end)
        if span is None:
            return None
        start, stop = span
        for t in self._by_chrom.get(variant.chrom, ()):
            if start > t.end or stop < t.start:
                continue
            name, _words, removed = exact_deletion_name(t.gene, start, stop)
            if removed is None and t.start <= start and stop <= t.end:
                return None  # within the gene, no whole exon removed: an ordinary indel
            whole = removed == (1, len(t.exons))
            exon = "" if removed is None else f"{removed[0]}-{removed[1]}/{len(t.exons)}"
            if removed is not None and removed[0] == removed[1]:
                exon = f"{removed[0]}/{len(t.exons)}"
            g = f"{NC_GRCH38.get(t.chrom, t.chrom)}:g.{start}_{stop}del"
            return Annotation(variant, gene=t.gene, transcript=t.accession,
                              consequence=("transcript_ablation" if whole else "exon_loss_variant",),
                              hgvs_c=name.split(":", 1)[1], hgvs_p="p.?" if not whole else "p.0", exon=exon,
                              hgvs_g=g)  # fmt: skip
        return None

    def annotate(self, variant: Variant) -> Annotation:
        large = self.annotate_large_deletion(variant)
        if large is not None:
            return large
        edit = trim(variant)
        window = Window(self.sequence, edit.chrom, edit.start0)
        if window.text:
            seen = window.span(edit.start0, edit.end0)
            if seen is not None and seen != edit.ref:
                raise InputError(
                    f"{variant.key}: REF {variant.ref} does not match GRCh38 ({seen} at "
                    f"{edit.chrom}:{edit.start0 + 1}); is the VCF on another build?"
                )
        else:
            window = None
        g = hgvs_g(edit, window)
        t = self.transcript_at(edit)
        if t is None or window is None:
            return Annotation(variant, "", "", ("intergenic_variant",), "", hgvs_g=g)
        # 3' rule on the transcript strand
        edit = shift(edit, window, to_right=not t.minus)
        return self._on_transcript(variant, t, edit, window, g)

    def _on_transcript(
        self, variant: Variant, t: Transcript, edit: Edit, window: Window, g: str
    ) -> Annotation:
        ref_t = revcomp(edit.ref) if t.minus else edit.ref
        alt_t = revcomp(edit.alt) if t.minus else edit.alt
        if edit.is_insertion:
            # flanking bases, in transcript order
            a, b = t.locate(edit.start0), t.locate(edit.start0 + 1)
            first, last = (b, a) if t.minus else (a, b)
        else:
            lo, hi = t.locate(edit.start0 + 1), t.locate(edit.end0)
            first, last = (hi, lo) if t.minus else (lo, hi)
        hgvs_c = self._hgvs_c(t, edit, window, first, last, ref_t, alt_t)
        dup = _dup_span(t, edit, window) if edit.is_insertion else None
        if dup is not None and _one_exon(t, *dup):
            # A duplication's copy goes right after the duplicated bases: when those are exonic it lies in the
            # mRNA, even when they end on the exon's last base (c.4986dup is a frameshift, not intronic).
            first, last = dup[1], TxPos(dup[1].index + 1, exon=dup[1].exon)
        exon, intron = _exon_intron(t, *(dup if dup is not None and _one_exon(t, *dup) else (first, last)))
        terms = set(_splice_terms(t, edit))
        inside = first.index >= 0 and last.index < t.length
        exonic = (
            inside
            and first.offset == 0
            and last.offset == 0
            and last.index - first.index == (1 if edit.is_insertion else len(edit.ref) - 1)
        )
        hgvs_p = ""
        if exonic:
            i0 = last.index if edit.is_insertion else first.index
            i1 = last.index if edit.is_insertion else last.index + 1
            region_terms, hgvs_p = self._exonic(t, i0, i1, alt_t)
            terms.update(region_terms)
        else:
            if first.offset or last.offset or edit.is_insertion or first.exon != last.exon:
                terms.add("intron_variant")
            if any(p.offset == 0 for p in (first, last)) and not edit.is_insertion:
                # the change reaches into an exon from an intron: protein effect not predictable
                c1 = self._cds_overlap(t, first, last)
                terms.add("coding_sequence_variant" if c1 else _utr_term(t, first, last))
                hgvs_p = "p.?" if c1 else ""
        consequence = tuple(sorted(terms, key=_RANK.__getitem__))
        return Annotation(
            variant,
            gene=t.gene,
            transcript=t.accession,
            consequence=consequence,
            hgvs_c=hgvs_c,
            hgvs_p=hgvs_p,
            exon=exon,
            intron=intron,
            hgvs_g=g,
            protein_change=one_letter(hgvs_p) if hgvs_p and hgvs_p != "p.?" else "",
        )

    @staticmethod
    def _cds_overlap(t: Transcript, first: TxPos, last: TxPos) -> bool:
        return first.index <= t.cds_last_index and last.index >= t.cds_first_index

    @staticmethod
    def _hgvs_c(
        t: Transcript, edit: Edit, window: Window, first: TxPos, last: TxPos, ref_t: str, alt_t: str
    ) -> str:
        c1, c2 = t.c_number(first), t.c_number(last)
        if len(ref_t) == 1 and len(alt_t) == 1:
            return f"c.{c1}{ref_t}>{alt_t}"
        if not alt_t:
            return f"c.{_range(c1, c2)}del"
        if not ref_t:
            dup = _dup_span(t, edit, window)
            if dup is not None:
                return f"c.{_range(t.c_number(dup[0]), t.c_number(dup[1]))}dup"
            return f"c.{c1}_{c2}ins{alt_t}"
        return f"c.{_range(c1, c2)}delins{alt_t}"

    def _exonic(self, t: Transcript, i0: int, i1: int, alt_t: str) -> tuple[set[str], str]:
        """Terms and p. for a change of transcript bases [i0, i1) to ``alt_t`` (transcript strand)."""
        cs, ce = t.cds_first_index, t.cds_last_index + 1
        insertion = i0 == i1
        if (i1 <= cs and not insertion) or (insertion and i0 <= cs):
            return {"5_prime_UTR_variant"}, ""
        if i0 >= ce:
            return {"3_prime_UTR_variant"}, ""
        terms: set[str] = set()
        if i0 < cs:
            terms.add("5_prime_UTR_variant")
        if i1 > ce:
            terms.add("3_prime_UTR_variant")
        s = self.transcript_sequence(t)
        c0, c1 = i0 - cs, i1 - cs  # CDS coordinates, 0-based half-open
        if c0 < 3 and (c1 > 0 if not insertion else c0 > 0):
            # the initiation codon is changed: the protein cannot be predicted
            return terms | {"start_lost"}, "p.(Met1?)"
        delta = len(alt_t) - (i1 - i0)
        protein = s.protein
        q0 = c0 // 3
        q1 = -(-c1 // 3) if not insertion else (c0 + 2) // 3
        if delta % 3 == 0 and q1 < len(protein):
            mid = s.cds[3 * q0 : c0] + alt_t + s.cds[c1 : 3 * q1]
            x = translate(mid, stop=False)
            new_stop = "*" in x
            if new_stop:
                alt_p, tail = protein[:q0] + x[: x.index("*") + 1], 0
            else:
                alt_p, tail = protein[:q0] + x + protein[q1:], len(protein) - q1
        else:
            new_stop, tail = False, 0
            rest = s.ext[cs + 3 * q0 : i0] + alt_t + s.ext[i1:]
            alt_p = protein[:q0] + translate(rest)
        frameshift = delta % 3 != 0
        p_terms, p = name_protein(protein, alt_p, q0, q1, frameshift, new_stop, tail)
        return terms | p_terms, p


def name_protein(
    ref: str, alt: str, q0: int, q1: int, frameshift: bool, new_stop: bool = False, tail: int = 0
) -> tuple[set[str], str]:
    """HGVS p. and SO terms from reference and variant proteins ('*'-terminated).

    The proteins agree before residue index ``q0``; the change touched reference residues [q0, q1).
    ``new_stop``: the variant protein ends at a stop created by the change (no common C-terminus);
    ``tail``: length of C-terminus known to be shared (saves walking long proteins residue by residue).
    """
    n = min(len(ref), len(alt))
    same = len(ref) == len(alt) and ref[q0 : len(ref) - tail] == alt[q0 : len(alt) - tail]
    k = n if same else q0
    while k < n and ref[k] == alt[k]:
        k += 1
    if k == n and len(ref) == len(alt):
        if frameshift:
            return {"frameshift_variant"}, "p.(=)"
        aa = ref[q0] if q0 < len(ref) else "*"
        if aa == "*":
            return {"stop_retained_variant"}, f"p.(Ter{q0 + 1}=)"
        return {"synonymous_variant"}, f"p.({three(aa)}{q0 + 1}=)"
    if k < len(ref) and ref[k] == "*":
        # the stop codon is lost: extension to the next stop, if any
        new = alt[k] if k < len(alt) else "X"
        stop = alt.find("*", k + 1)
        ext = f"Ter{stop - k}" if stop > 0 else "Ter?"
        terms = {"stop_lost"} | ({"frameshift_variant"} if frameshift else set())
        return terms, f"p.(Ter{k + 1}{three(new)}ext{ext})"
    if k < len(alt) and alt[k] == "*":
        terms = {"stop_gained"} | ({"frameshift_variant"} if frameshift else set())
        return terms, f"p.({three(ref[k])}{k + 1}Ter)"
    if frameshift:
        stop = alt.find("*", k)
        ter = f"Ter{stop - k + 1}" if stop >= 0 else "Ter?"
        return {"frameshift_variant"}, f"p.({three(ref[k])}{k + 1}{three(alt[k])}fs{ter})"
    if new_stop:
        # an in-frame change that creates a stop after the first changed residue
        return {"stop_gained"}, f"p.({_p_range(ref, k, max(q1, k + 1) - 1)}delins{three(alt[k:])})"
    # common suffix, never reaching back past k
    m = min(tail, n - k)
    while m < n - k and ref[-1 - m] == alt[-1 - m]:
        m += 1
    deleted, inserted = ref[k : len(ref) - m], alt[k : len(alt) - m]
    if len(deleted) == 1 and len(inserted) == 1:
        return {"missense_variant"}, f"p.({three(deleted)}{k + 1}{three(inserted)})"
    if not inserted:
        return {"inframe_deletion"}, f"p.({_p_range(ref, k, k + len(deleted) - 1)}del)"
    if not deleted:
        size = len(inserted)
        if k - size >= 0 and ref[k - size : k] == inserted:
            return {"inframe_insertion"}, f"p.({_p_range(ref, k - size, k - 1)}dup)"
        return {"inframe_insertion"}, f"p.({three(ref[k - 1])}{k}_{three(ref[k])}{k + 1}ins{three(inserted)})"
    term = (
        "inframe_insertion"
        if len(inserted) > len(deleted)
        else "inframe_deletion"
        if len(inserted) < len(deleted)
        else "missense_variant"
    )
    return {term}, f"p.({_p_range(ref, k, k + len(deleted) - 1)}delins{three(inserted)})"


def _dup_span(t: Transcript, edit: Edit, window: Window) -> tuple[TxPos, TxPos] | None:
    """First and last duplicated bases (transcript order) when a 3'-shifted insertion repeats the bases just 5'
    of it on the transcript strand; None for other insertions."""
    n = len(edit.alt)
    if t.minus:
        if window.span(edit.start0, edit.start0 + n) != edit.alt:
            return None
        return t.locate(edit.start0 + n), t.locate(edit.start0 + 1)
    if window.span(edit.start0 - n, edit.start0) != edit.alt:
        return None
    return t.locate(edit.start0 - n + 1), t.locate(edit.start0)


def _one_exon(t: Transcript, first: TxPos, last: TxPos) -> bool:
    """Both positions exonic, in the same exon, inside the transcript."""
    return first.offset == 0 and last.offset == 0 and first.exon == last.exon != 0 and last.index < t.length


def _p_range(ref: str, a: int, b: int) -> str:
    first = f"{three(ref[a])}{a + 1}"
    return first if a == b else f"{first}_{three(ref[b])}{b + 1}"


def _exon_intron(t: Transcript, first: TxPos, last: TxPos) -> tuple[str, str]:
    n = len(t.exons)
    exons = sorted({p.exon for p in (first, last) if p.exon})
    introns = sorted({p.intron for p in (first, last) if p.intron})
    exon = "-".join(str(e) for e in exons) + f"/{n}" if exons else ""
    intron = "-".join(str(i) for i in introns) + f"/{n - 1}" if introns else ""
    return exon, intron


def _utr_term(t: Transcript, first: TxPos, last: TxPos) -> str:
    return "5_prime_UTR_variant" if last.index < t.cds_first_index else "3_prime_UTR_variant"


def _splice_terms(t: Transcript, edit: Edit) -> list[str]:
    """splice donor/acceptor (intron ±1-2) and splice region (exon 1-3, intron 3-8) terms by overlap."""
    if edit.is_insertion:
        lo, hi = edit.start0, edit.start0 + 1  # the two flanking bases (1-based)
    else:
        lo, hi = edit.start0 + 1, edit.end0
    out = []
    for k in range(len(t.exons) - 1):
        up, down = t.exons[k], t.exons[k + 1]
        if t.minus:
            # intron lies between down.end+1 .. up.start-1 on the genome
            donor, acceptor = (up[0] - 2, up[0] - 1), (down[1] + 1, down[1] + 2)
            region = [(up[0], up[0] + 2), (up[0] - 8, up[0] - 3)]
            region += [(down[1] - 2, down[1]), (down[1] + 3, down[1] + 8)]
        else:
            donor, acceptor = (up[1] + 1, up[1] + 2), (down[0] - 2, down[0] - 1)
            region = [(up[1] - 2, up[1]), (up[1] + 3, up[1] + 8)]
            region += [(down[0] - 8, down[0] - 3), (down[0], down[0] + 2)]
        if edit.is_insertion:
            # an insertion hits a site only when inserted between two of its bases
            if donor[0] <= lo and hi <= donor[1]:
                out.append("splice_donor_variant")
            elif acceptor[0] <= lo and hi <= acceptor[1]:
                out.append("splice_acceptor_variant")
            elif any(a <= lo <= b or a <= hi <= b for a, b in region):
                out.append("splice_region_variant")
            continue
        if lo <= donor[1] and hi >= donor[0]:
            out.append("splice_donor_variant")
        if lo <= acceptor[1] and hi >= acceptor[0]:
            out.append("splice_acceptor_variant")
        if any(lo <= b and hi >= a for a, b in region):
            out.append("splice_region_variant")
    return out
