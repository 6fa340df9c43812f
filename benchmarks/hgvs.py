"""HGVS naming accuracy and speed of oncopanel.annotate against public truth sets.

    .venv/bin/python benchmarks/hgvs.py          # prints the markdown report, writes benchmarks/latest/hgvs.md
    .venv/bin/python benchmarks/hgvs.py --quick  # CI: every truth set and check on a sample, one timing run;
                                                 # writes results/benchmarks/quick/hgvs.md

Truth sets (copies in annotation/, provenance in annotation/*/SOURCES.md):
- BRCA Exchange, 4,000 GRCh38 alleles: HGVS c. from the `pyhgvs_cDNA` column (3'-shifted; the deleted or
  duplicated bases it spells out are dropped before comparing, as current HGVS does).
- ENIGMA expert classifications (ClinVar submissions): c. and p. where given (p.? and empty p. excluded
  and counted).
- CIViC 01-Aug-2021 EGFR/KRAS variants carrying an NP_ p. expression: p. only (counts).

Names are compared without the transcript accession: the truth is on NM_000059.3 / NM_007294.3, whose coding
numbering equals the MANE versions'. Nothing here knows any single variant; mismatches are grouped by cause.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from oncopanel import paths
from oncopanel.annotate.annotator import Annotator
from oncopanel.annotate.protein import ONE, translate
from oncopanel.annotate.transcripts import Transcript
from oncopanel.errors import InputError
from oncopanel.model import Variant
from oncopanel.sequence import reverse_complement as revcomp

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "latest" / "hgvs.md"
QUICK = ROOT / "results" / "benchmarks" / "quick" / "hgvs.md"
GERMLINE = paths.ANNOTATION / "germline"
CIVIC = paths.ANNOTATION / "knowledge" / "sources" / "civic" / "01-Aug-2021-VariantSummaries.fixed.tsv"
BRCA2_DIFFERENCE = "c.7397"  # GRCh38 has T where NM_000059.3 has C (SOURCES.md)
CLASSES = ("SNV", "deletion", "duplication", "insertion", "delins", "intronic", "UTR")


def drop_spelled_bases(name: str) -> str:
    """c.68_69delAG -> c.68_69del; c.7dupA -> c.7dup; c.-26_-25delGCinsAG -> c.-26_-25delinsAG."""
    name = name.split(":")[-1]
    return re.sub(r"(del|dup)(?:[ACGTN]+|\d+)", r"\1", name)


def name_classes(c: str) -> list[str]:
    """Type class from the truth name, plus intronic / UTR location classes."""
    kind = (
        "delins"
        if "delins" in c
        else "deletion"
        if "del" in c
        else "duplication"
        if "dup" in c
        else "insertion"
        if "ins" in c
        else "SNV"
    )
    out = [kind]
    positions = re.match(r"c\.([-*\d+_]+)", c).group(1) if re.match(r"c\.([-*\d+_]+)", c) else ""
    if re.search(r"\d[-+]\d", positions):
        out.append("intronic")
    if re.search(r"(^|_)[-*]", positions):
        out.append("UTR")
    return out


@dataclass
class Tally:
    total: Counter = field(default_factory=Counter)
    exact: Counter = field(default_factory=Counter)
    outside: Counter = field(default_factory=Counter)
    mismatches: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, classes: list[str], ok: bool, cause: str = "", line: str = "") -> None:
        for c in ["overall", *classes]:
            self.total[c] += 1
            self.exact[c] += ok
            self.outside[c] += cause == OUTSIDE
        if not ok:
            self.mismatches[cause].append(line)


OUTSIDE = (
    "outside the MANE Select transcript (the truth names it on a longer, older RefSeq version or continues "
    "c.-N / c.*N numbering into the flanking genome; the annotator calls it intergenic by design)"
)


def mismatch_cause(annotator: Annotator, gene: str, truth: str, got: str, v: Variant) -> str:
    """Sort a mismatch into a cause by checking it against the reference, never by its identity."""
    if not got:
        return OUTSIDE
    positions = re.match(r"c\.([-*\d+_]+)", truth)
    if gene == "BRCA2" and positions and re.search(r"(^|_)7397($|_)", positions.group(1)):
        return "GRCh38 base differs from NM_000059.3 at BRCA2 c.7397 (T vs C)"
    try:
        same = annotator.same_allele(annotator.variant_from_c(gene, truth), v)
    except InputError:
        return "truth name cannot be mapped back to GRCh38"
    if not same:
        return "truth name denotes a different allele from the VCF record"
    if "ins" in truth and "dup" in got:
        return "same allele: the truth writes a duplication as an insertion (HGVS: dup)"
    return "same allele: the truth is not at the most 3' position (HGVS 3' rule)"


def brca_exchange(annotator: Annotator) -> tuple[Tally, Counter, int]:
    tally, excluded, rows = Tally(), Counter({"no pyhgvs_cDNA name": 0}), 0
    with open(GERMLINE / "brca_exchange_grch38_hgvs_c_sample4000.tsv") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            rows += 1
            truth_raw = row["pyhgvs_cDNA"].strip()
            if not truth_raw or truth_raw == "-":
                excluded["no pyhgvs_cDNA name"] += 1
                continue
            truth = drop_spelled_bases(truth_raw)
            v = Variant("chr" + row["Chr"], int(row["Pos"]), row["Ref"], row["Alt"])
            try:
                got = annotator.annotate(v).hgvs_c
            except InputError as exc:
                excluded[f"not annotatable: {str(exc).split(': ', 1)[1]}"] += 1
                continue
            ok = got == truth
            cause = "" if ok else mismatch_cause(annotator, row["Gene_Symbol"], truth, got, v)
            tally.add(
                name_classes(truth), ok, cause, f"`{v.key}` truth `{truth}` got `{got or '(intergenic)'}`"
            )
    return tally, excluded, rows


def p_class(p: str) -> str:
    if p.endswith("=)"):
        return "synonymous"
    if "fs" in p:
        return "frameshift"
    if p.endswith("Ter)"):
        return "nonsense"
    if re.search(r"(del|dup|ins)", p):
        return "in-frame indel"
    return "missense"


def enigma(annotator: Annotator) -> tuple[Tally, Tally, Counter]:
    c_tally, p_tally, excluded = Tally(), Tally(), Counter()
    with open(GERMLINE / "enigma_brca12_expert_classifications_2015_2016.tsv") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if not row["grch38_pos"]:
                excluded["no GRCh38 position"] += 1
                continue
            v = Variant(
                "chr" + row["grch38_chrom"], int(row["grch38_pos"]), row["grch38_ref"], row["grch38_alt"]
            )
            a = annotator.annotate(v)
            truth_c = drop_spelled_bases(row["hgvs_c"])
            ok = a.hgvs_c == truth_c
            line = f"`{v.key}` truth `{truth_c}` got `{a.hgvs_c or '(intergenic)'}`"
            cause = "" if ok else mismatch_cause(annotator, row["gene"], truth_c, a.hgvs_c, v)
            c_tally.add(name_classes(truth_c), ok, cause, line)
            truth_p = row["hgvs_p"].strip()
            if truth_p in ("", "p.?"):
                excluded[f"p. {truth_p or 'empty'}"] += 1
                continue
            # ENIGMA writes a silent change as p.(=); current HGVS names the residue: p.(Leu858=)
            got_p = re.sub(r"\(\w{3}\d+=\)", "(=)", a.hgvs_p) if truth_p == "p.(=)" else a.hgvs_p
            ok = got_p == truth_p
            cause = "" if ok else mismatch_cause(annotator, row["gene"], truth_c, a.hgvs_c, v)
            p_tally.add([p_class(truth_p)], ok, cause, f"`{v.key}` {truth_c} truth `{truth_p}` got `{a.hgvs_p}`")
    return c_tally, p_tally, excluded


def civic(annotator: Annotator) -> tuple[Tally, Counter]:
    tally, skipped = Tally(), Counter()
    with open(CIVIC) as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["gene"] not in ("EGFR", "KRAS"):
                continue
            exprs = row["hgvs_expressions"].split(",")
            p = next((e.split(":")[1] for e in exprs if e.startswith("NP_") and ":p." in e), None)
            if p is None:
                skipped["no p. expression"] += 1
                continue
            c = next((e.split(":")[1] for e in exprs if e.startswith(("NM_", "ENST")) and ":c." in e), None)
            if c is None:
                skipped["p. without a c. expression"] += 1
                continue
            try:
                v = annotator.variant_from_c(row["gene"], c)
            except InputError:
                skipped["c. not mappable"] += 1
                continue
            a = annotator.annotate(v)
            # CIViC writes p. without the parentheses of a predicted change
            got = a.hgvs_p.replace("p.(", "p.").removesuffix(")")
            ok = got == p
            cause = ""
            if not ok:
                cause = (
                    "CIViC's p. expression disagrees with its own variant name and the reference protein; "
                    "ours matches the name"
                    if a.protein_change == row["variant"]
                    else "other"
                )
            tally.add(
                [row["gene"]], ok, cause, f"{row['gene']} {row['variant']} `{c}` CIViC `{p}` got `{a.hgvs_p}`"
            )
    return tally, skipped


def retranslate(annotator: Annotator, t: Transcript, v: Variant) -> str:
    """The variant protein by editing the genome, splicing and translating from c.1 until a stop.

    Independent of the annotator's windowed path; for alleles inside one exon only.
    """
    flank = 1000
    lo, hi = t.start - 1 - (flank if t.minus else 0), t.end + (0 if t.minus else flank)
    genome = annotator.sequence.fetch(t.chrom, lo, hi)
    i = v.pos - 1 - lo
    edited = genome[:i] + v.alt + genome[i + len(v.ref) :]
    d = len(v.alt) - len(v.ref)
    pieces = []
    for s, e in sorted(t.exons):
        s0, e0 = s - 1 - lo, e - lo
        s0, e0 = (s0 + d if s0 > i else s0), (e0 + d if e0 > i else e0)
        pieces.append(edited[s0:e0])
    first, last = sorted(t.exons)[0], sorted(t.exons)[-1]
    if t.minus:
        tx = revcomp("".join(pieces)) + revcomp(edited[: first[0] - 1 - lo])
    else:
        tx = "".join(pieces) + edited[last[1] - lo + d :]
    return translate(tx[t.cds_first_index :])


def apply_p(ref: str, hgvs_p: str) -> str | None:
    """Rebuild the variant protein from a p. name (substitution, del, dup, ins, delins); None otherwise."""
    m = re.fullmatch(
        r"p\.\(([A-Z][a-z]{2})(\d+)(?:_([A-Z][a-z]{2})(\d+))?(delins|del|dup|ins)?([A-Za-z]*|=)\)", hgvs_p
    )
    if not m:
        return None
    a1, p1, _a2, p2, kind, rest = m.groups()
    p1, p2 = int(p1), int(p2 or p1)
    if ONE[a1] != ref[p1 - 1]:
        return None
    new = "".join(ONE[rest[i : i + 3]] for i in range(0, len(rest), 3)) if rest != "=" else ""
    if kind is None:
        return ref if rest == "=" else ref[: p1 - 1] + new + ("" if new == "*" else ref[p1:])
    if kind == "del":
        return ref[: p1 - 1] + ref[p2:]
    if kind == "dup":
        return ref[:p2] + ref[p1 - 1 : p2] + ref[p2:]
    if kind == "ins":
        return ref[:p1] + new + ref[p1:]
    return ref[: p1 - 1] + new + ("" if new.endswith("*") else ref[p2:])


def p_consistent(ref: str, alt: str, hgvs_p: str) -> bool:
    """Does the p. name state exactly the change between the proteins, at the most C-terminal position?"""
    fs = re.fullmatch(r"p\.\(([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2})fsTer(\d+|\?)\)", hgvs_p)
    if fs:
        k = int(fs.group(2)) - 1
        stop = alt.find("*")
        n = str(stop - k + 1) if stop >= 0 else "?"
        return alt[:k] == ref[:k] and alt[k] == ONE[fs.group(3)] != ref[k] and fs.group(4) == n
    rebuilt = apply_p(ref, hgvs_p)
    if rebuilt is None:
        return False
    if rebuilt.endswith("*") and "*" in rebuilt[:-1]:
        rebuilt = rebuilt[: rebuilt.index("*") + 1]
    if "*" in rebuilt[:-1] or rebuilt != alt[: len(rebuilt)] or (rebuilt != alt and not rebuilt.endswith("*")):
        return False
    shifted = re.fullmatch(r"p\.\([A-Z][a-z]{2}(\d+)(?:_[A-Z][a-z]{2}(\d+))?(?:del|dup)\)", hgvs_p)
    if shifted:
        p1, p2 = int(shifted.group(1)), int(shifted.group(2) or shifted.group(1))
        return not (p2 < len(ref) and ref[p2] == ref[p1 - 1] != "*")  # could it move one residue further?
    return True


def random_coding(annotator: Annotator, n: int = 5000) -> Tally:
    """Seeded random coding alleles: their p. must rebuild the re-translated protein exactly."""
    rng = random.Random(2466)
    tally = Tally()
    while sum(tally.total[c] for c in ("SNV", "deletion", "duplication", "insertion", "delins")) < n:
        t = rng.choice(annotator.transcripts)
        s, e = rng.choice(t.exons)
        lo, hi = max(s, t.cds_start) + 10, min(e, t.cds_end) - 10
        if hi <= lo:
            continue
        pos, size = rng.randint(lo, hi), rng.choice([1, 1, 2, 3, 3, 4, 6, 9])
        seq = annotator.sequence.fetch(t.chrom, pos - 1, pos + size + 1)
        kind = rng.choice(["SNV", "deletion", "insertion", "duplication", "delins"])
        if kind == "SNV":
            v = Variant(t.chrom, pos, seq[0], rng.choice([b for b in "ACGT" if b != seq[0]]))
        elif kind == "deletion":
            v = Variant(t.chrom, pos, seq[: size + 1], seq[0])
        elif kind == "insertion":
            v = Variant(t.chrom, pos, seq[0], seq[0] + "".join(rng.choice("ACGT") for _ in range(size)))
        elif kind == "duplication":
            v = Variant(t.chrom, pos, seq[0], seq[: size + 1])
        else:
            alt = "".join(rng.choice("ACGT") for _ in range(rng.choice([1, 2, 3, 4, 6])))
            if alt == seq[:size]:
                continue
            v = Variant(t.chrom, pos, seq[:size], alt)
        a = annotator.annotate(v)
        if a.intron or not a.hgvs_p or a.hgvs_p == "p.(Met1?)" or "ext" in a.hgvs_p:
            continue  # shifted into an intron, or start/stop changes: not rebuilt here
        ref = annotator.transcript_sequence(t).protein
        ok = p_consistent(ref, retranslate(annotator, t, v), a.hgvs_p)
        tally.add([kind], ok, "" if ok else "p. does not restate the re-translated protein", f"`{v.key}` {a.hgvs_p}")
    return tally


def speed_set(annotator: Annotator, n: int = 10_000) -> list[Variant]:
    """The BRCA Exchange alleles plus seeded random SNVs over the ten transcripts (exons and introns)."""
    out = []
    with open(GERMLINE / "brca_exchange_grch38_hgvs_c_sample4000.tsv") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if set(row["Ref"] + row["Alt"]) <= set("ACGT"):
                out.append(Variant("chr" + row["Chr"], int(row["Pos"]), row["Ref"], row["Alt"]))
    rng = random.Random(4)
    while len(out) < n:
        t = rng.choice(annotator.transcripts)
        pos = rng.randint(t.start, t.end)
        ref = annotator.sequence.fetch(t.chrom, pos - 1, pos)
        out.append(Variant(t.chrom, pos, ref, rng.choice([b for b in "ACGT" if b != ref])))
    return out[:n]


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.2f}%" if b else "–"


def rate(t: Tally, c: str) -> str:
    """exact | rows | rate | rows on a MANE transcript | rate there."""
    on_tx = t.total[c] - t.outside[c]
    cells = (t.exact[c], t.total[c], _pct(t.exact[c], t.total[c]), on_tx, _pct(t.exact[c], on_tx))
    return "| " + " | ".join(str(x) for x in cells) + " |"


def mismatch_section(t: Tally) -> list[str]:
    lines = []
    for cause, items in sorted(t.mismatches.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"- **{cause}** ({len(items)})")
        lines += [f"  - {x}" for x in items]
    return lines or ["- none"]


TABLE_HEAD = "| class | exact | rows | rate | rows on a MANE transcript | rate on a MANE transcript |"
TABLE_RULE = "|---|---|---|---|---|---|"


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="CI: 300 random alleles, 1,000 timed, one timing run")
    ap.add_argument("--out", type=Path, help="default benchmarks/latest/hgvs.md (--quick: results/benchmarks/quick/)")
    args = ap.parse_args(argv)
    results = args.out or (QUICK if args.quick else RESULTS)
    t0 = time.perf_counter()
    annotator = Annotator()
    for t in annotator.transcripts:
        annotator.transcript_sequence(t)
    setup = time.perf_counter() - t0

    be, be_excluded, rows = brca_exchange(annotator)
    en_c, en_p, excluded = enigma(annotator)
    cv, skipped = civic(annotator)
    rnd = random_coding(annotator, 300 if args.quick else 5000)

    variants = speed_set(annotator, 1000 if args.quick else 10_000)
    runs = []
    for _ in range(1 if args.quick else 3):
        fresh = Annotator(transcripts=annotator.transcripts, sequence=annotator.sequence)
        t0 = time.perf_counter()
        for v in variants:
            fresh.annotate(v)
        runs.append(time.perf_counter() - t0)
    elapsed = sorted(runs)[len(runs) // 2]  # median of three: the machine is shared
    per_1000 = 1000 * elapsed / len(variants) * 1000

    out = [
        "# HGVS naming benchmark (oncopanel.annotate)",
        "",
        f"Command: `{' '.join(['.venv/bin/python', *sys.argv])}`",
        "",
        "Names compared without the transcript accession (truth on NM_007294.3 / NM_000059.3, same coding",
        "numbering as the MANE versions). A row counts in its type class and, where it applies, in",
        "`intronic` and `UTR` too (so class counts add up to more than the total).",
        "",
        "Notes:",
        "",
        "- GRCh38 has T at chr13:32355250 (BRCA2 c.7397, codon 2466) where NM_000059.3 has C. No BRCA Exchange",
        "  row of this sample names c.7397, and the one ENIGMA row that does (c.7397C>T p.(Ala2466Val)) has no",
        "  GRCh38 position, so it is excluded; on GRCh38 the common allele is named c.7397T>C p.(Val2466Ala)",
        "  (tests/test_annotate.py). A mismatch naming c.7397 would be listed under its own cause below.",
        "- The shared models' CDS rows include the stop codon; the models are read that way (c.* starts after it).",
        "",
        f"## BRCA Exchange: HGVS c. ({rows} alleles)",
        "",
        "Excluded: " + (", ".join(f"{k}: {v}" for k, v in sorted(be_excluded.items())) or "none") + ".",
        "",
        TABLE_HEAD,
        TABLE_RULE,
        *[f"| {c} {rate(be, c)}" for c in ("overall", *CLASSES)],
        "",
        "Mismatches by cause:",
        "",
        *mismatch_section(be),
        "",
        "## ENIGMA (ClinVar SCV submissions): HGVS c.",
        "",
        TABLE_HEAD,
        TABLE_RULE,
        *[f"| {c} {rate(en_c, c)}" for c in ("overall", *CLASSES)],
        "",
        "Mismatches by cause:",
        "",
        *mismatch_section(en_c),
        "",
        "## ENIGMA: HGVS p.",
        "",
        "Excluded: " + ", ".join(f"{k}: {v}" for k, v in sorted(excluded.items())) + ".",
        "ENIGMA's `p.(=)` is compared with our `p.(Xaa123=)` as the same statement.",
        "",
        TABLE_HEAD,
        TABLE_RULE,
        *[f"| {c} {rate(en_p, c)}" for c in ("overall", "missense", "synonymous", "nonsense", "frameshift",
                                              "in-frame indel")],
        "",
        "Mismatches by cause:",
        "",
        *mismatch_section(en_p),
        "",
        "## CIViC EGFR/KRAS: HGVS p. (counts)",
        "",
        "Each variant's own c. expression is mapped to GRCh38 and annotated; CIViC's p. has no parentheses.",
        "Not compared: " + ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items())) + ".",
        "",
        TABLE_HEAD.replace("class", "gene"),
        TABLE_RULE,
        *[f"| {c} {rate(cv, c)}" for c in ("overall", "EGFR", "KRAS")],
        "",
        "Mismatches by cause:",
        "",
        *mismatch_section(cv),
        "",
        f"## Self-consistency of p. on {300 if args.quick else 5000:,} random coding alleles",
        "",
        "Seeded random SNVs, deletions, insertions, duplications and delins inside coding exons of the ten",
        "transcripts. The variant protein is rebuilt independently (edit the genome, splice, translate from c.1) and",
        "the p. name must restate it exactly (and a protein del/dup must not be movable one residue further).",
        "",
        TABLE_HEAD,
        TABLE_RULE,
        *[f"| {c} {rate(rnd, c)}" for c in ("overall", "SNV", "deletion", "duplication", "insertion", "delins")],
        "",
        "Mismatches:",
        "",
        *mismatch_section(rnd),
        "",
        "## Speed",
        "",
        f"- {len(variants):,} variants (the BRCA Exchange alleles + seeded random SNVs over the ten",
        f"  transcripts) annotated in {elapsed:.2f} s: **{per_1000:.0f} ms per 1,000 variants**",
        f"  (median of {len(runs)} runs in one process, each with a fresh Annotator, so it includes splicing the",
        "  transcripts; runs: " + ", ".join(f"{r:.2f} s" for r in runs) + ").",
        f"- One-off setup (read the embedded loci FASTA, load models, splice the ten transcripts): {setup:.2f} s.",
        "",
    ]
    text = "\n".join(out)
    if args.quick:
        title = "# HGVS naming benchmark (oncopanel.annotate)"
        text = text.replace(title, f"{title}: QUICK MODE (CI smoke run, not a measurement)", 1)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(text)
    return text


if __name__ == "__main__":
    print(main())
