"""Germline classification of BRCA1/BRCA2 variants.

Order of authority: an ENIGMA expert-panel classification (matched on the normalised GRCh38 allele, else on
the HGVS c. name) first; otherwise the conservative PVS1-only rules in
``annotation/germline/germline_rules.yaml`` (ACMG/AMP 2015 read as Bayesian points, PVS1 as specified by the
ClinGen ENIGMA BRCA1/2 VCEP). Anything the rules cannot call stays uncertain significance.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from oncopanel import paths, settings
from oncopanel.annotate.normalise import vcf_form
from oncopanel.classify.hgvs_names import (
    CPosition,
    c_positions,
    canonical_c,
    first_altered_codon,
    stop_codon_position,
)
from oncopanel.clinical import GERMLINE_GENES, REPORTED_GERMLINE
from oncopanel.errors import InputError, ValidationError
from oncopanel.model import Annotation, GermlineClassification, Variant
from oncopanel.sequence import SequenceSource

GERMLINE_DIR = paths.ANNOTATION / "germline"
ENIGMA_TABLE = GERMLINE_DIR / "enigma_brca12_expert_classifications_2015_2016.tsv"
RULES_FILE = GERMLINE_DIR / "germline_rules.yaml"
RULES_SCHEMA = "germline_rules.schema.yaml"

ENIGMA_SOURCE = "ENIGMA"
ENIGMA_CLASSES = {
    "Pathogenic": "pathogenic",
    "Likely pathogenic": "likely_pathogenic",
    "Uncertain": "uncertain_significance",
    "Likely benign": "likely_benign",
    "Benign": "benign",
}
BENIGN_SIDE = ("likely_benign", "benign")


# ---------------------------------------------------------------- rules as data


@dataclass(frozen=True)
class TruncationRegion:
    c_start: int
    c_end: int
    exons: str
    strength: str
    why: str


@dataclass(frozen=True)
class SpliceSiteRule:
    strength: str
    why: str
    allele_strengths: dict[str, str] = field(default_factory=dict)  # "-1A" -> strength for c.N-1>A

    def strength_for(self, offset: int, alt: str) -> str:
        return self.allele_strengths.get(f"{offset:+d}{alt}", self.strength)


@dataclass(frozen=True)
class GeneRules:
    gene: str
    transcript: str
    legacy_exon_numbers_skip: tuple[int, ...]
    nmd_escape_from_c: int
    last_pathogenic_ptc_codon: int
    truncation_regions: tuple[TruncationRegion, ...]
    start_loss_strength: str
    splice_sites: dict[str, SpliceSiteRule]


@dataclass(frozen=True)
class ReferenceDifference:
    gene: str
    grch38: Variant
    mane_hgvs_c: str
    enigma_hgvs_c: str
    note: str


@dataclass(frozen=True)
class GermlineRules:
    rule_set: str
    version: str
    citation: str
    points: dict[str, int]
    thresholds: tuple[tuple[int, str], ...]
    pvs1_labels: dict[str, str]
    truncating: frozenset[str]
    canonical_splice: frozenset[str]
    start_loss: frozenset[str]
    genes: dict[str, GeneRules]
    utr_splice_site_strength: str
    donor_plus2_t_to_c_strength: str
    reference_differences: tuple[ReferenceDifference, ...]

    @property
    def source(self) -> str:
        return f"{self.rule_set} v{self.version}"


def _gene_rules(gene: str, raw: dict) -> GeneRules:
    return GeneRules(
        gene=gene,
        transcript=raw["transcript"],
        legacy_exon_numbers_skip=tuple(raw["legacy_exon_numbers_skip"]),
        nmd_escape_from_c=int(raw["nmd_escape_from_c"]),
        last_pathogenic_ptc_codon=int(raw["last_pathogenic_ptc_codon"]),
        truncation_regions=tuple(TruncationRegion(**r) for r in raw["truncation_regions"]),
        start_loss_strength=raw["start_loss_strength"],
        splice_sites={site: SpliceSiteRule(**r) for site, r in raw["splice_sites"].items()},
    )


def parse_germline_rules(raw: dict, source: str = "germline rules") -> GermlineRules:
    """Typed rules from the YAML mapping, checked by the settings layer; strengths are checked against the point
    table and every germline gene of the reporting policy must have rules."""
    raw = settings.check(raw, RULES_SCHEMA, source)
    points = {k: int(v) for k, v in raw["points"].items()}
    rules = GermlineRules(
        rule_set=raw["rule_set"],
        version=str(raw["version"]),
        citation=" ".join(raw["citation"].split()),
        points=points,
        thresholds=tuple((int(t["min_points"]), t["classification"]) for t in raw["classification_thresholds"]),
        pvs1_labels=dict(raw["pvs1_labels"]),
        truncating=frozenset(raw["consequences"]["truncating"]),
        canonical_splice=frozenset(raw["consequences"]["canonical_splice"]),
        start_loss=frozenset(raw["consequences"]["start_loss"]),
        genes={gene: _gene_rules(gene, g) for gene, g in raw["genes"].items()},
        utr_splice_site_strength=raw["utr_splice_site_strength"],
        donor_plus2_t_to_c_strength=raw["donor_plus2_t_to_c_strength"],
        reference_differences=tuple(
            ReferenceDifference(
                gene=d["gene"],
                grch38=Variant(**d["grch38"]),
                mane_hgvs_c=d["mane_hgvs_c"],
                enigma_hgvs_c=d["enigma_hgvs_c"],
                note=" ".join(d["note"].split()),
            )
            for d in raw["reference_differences"]
        ),
    )
    used = {rules.utr_splice_site_strength, rules.donor_plus2_t_to_c_strength}
    for g in rules.genes.values():
        used |= {g.start_loss_strength, *(r.strength for r in g.truncation_regions)}
        used |= {s.strength for s in g.splice_sites.values()}
        used |= {a for s in g.splice_sites.values() for a in s.allele_strengths.values()}
    problems = [
        f"{source}: points: no points for strength {name!r}{settings.hint(name, points, 'strength')}"
        for name in sorted(used - points.keys())
    ]
    problems += [
        f"{source}: genes.{gene}: missing (a germline gene of reports/reporting.yaml needs rules)"
        for gene in GERMLINE_GENES
        if gene not in rules.genes
    ]
    if problems:
        raise ValidationError(problems)
    return rules


@functools.cache
def load_germline_rules(path: Path = RULES_FILE) -> GermlineRules:
    return parse_germline_rules(settings.read_yaml(path), str(path))


# ---------------------------------------------------------------- ENIGMA expert classifications


@dataclass(frozen=True)
class EnigmaRecord:
    gene: str
    transcript: str
    hgvs_c: str
    hgvs_p: str
    classification: str
    date: str  # ISO date last evaluated
    scv: str
    batch: str
    assertion_method: str
    comment: str
    variant: Variant | None  # normalised GRCh38 allele; None for the rows the source gives no position

    @property
    def citation(self) -> str:
        where = f"ClinVar {self.scv}" if self.scv else "ClinVar accession not given in source"
        name = f"{self.transcript}:{self.hgvs_c}"
        return f"ENIGMA expert panel, {where}; {name}; via BRCA Exchange ({self.batch})"


@dataclass(frozen=True)
class EnigmaIndex:
    by_variant: dict[Variant, EnigmaRecord]
    by_hgvs: dict[tuple[str, str], EnigmaRecord]


def normalise_variant(variant: Variant, sequence: SequenceSource) -> Variant:
    """Left-align and trim an allele against the reference, keeping VCF's anchor base (the one normaliser)."""
    return vcf_form(variant, sequence)


def _iso_date(text: str) -> str:
    """ENIGMA dates are US month/day/year ('4/22/2016')."""
    return datetime.strptime(text.strip(), "%m/%d/%Y").date().isoformat() if text else ""


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value).strip()


def read_enigma(path: Path, sequence: SequenceSource) -> EnigmaIndex:
    """Index the ENIGMA table by normalised GRCh38 allele and by (gene, canonical c. name)."""
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    by_variant: dict[Variant, EnigmaRecord] = {}
    by_hgvs: dict[tuple[str, str], EnigmaRecord] = {}
    for row in table.itertuples(index=False):
        if row.clinical_significance not in ENIGMA_CLASSES:
            raise InputError(f"{path}: {row.hgvs_c}: unknown classification {row.clinical_significance!r}")
        variant = None
        if _text(row.grch38_pos):
            raw = Variant(_text(row.grch38_chrom), int(row.grch38_pos), row.grch38_ref, row.grch38_alt)
            variant = normalise_variant(raw, sequence)
        record = EnigmaRecord(
            gene=row.gene,
            transcript=row.refseq_transcript,
            hgvs_c=row.hgvs_c,
            hgvs_p=_text(row.hgvs_p),
            classification=ENIGMA_CLASSES[row.clinical_significance],
            date=_iso_date(_text(row.date_last_evaluated)),
            scv=_text(row.clinvar_scv),
            batch=_text(row.enigma_batch),
            assertion_method=_text(row.assertion_method),
            comment=_text(row.comment),
            variant=variant,
        )
        if variant is not None:
            _keep_latest(by_variant, variant, record)
        _keep_latest(by_hgvs, (row.gene, canonical_c(row.hgvs_c)), record)
    return EnigmaIndex(by_variant, by_hgvs)


def _keep_latest(index: dict, key: object, record: EnigmaRecord) -> None:
    """A variant evaluated twice keeps its latest evaluation (BRCA2 c.476-2A>G: P in 2015, VUS in 2016)."""
    held = index.get(key)
    if held is None or record.date > held.date:
        index[key] = record


@functools.cache
def load_enigma(path: Path = ENIGMA_TABLE) -> EnigmaIndex:
    """The shipped ENIGMA table, normalised against the embedded GRCh38 panel slices (loaded once)."""
    from oncopanel.reference import SliceSequence

    return read_enigma(Path(path), SliceSequence())


def _same_transcript(a: str, b: str) -> bool:
    """NM_000059.3 and NM_000059.4 share coding numbering (per the data sources); compare accessions only."""
    return a.split(".")[0] == b.split(".")[0]


def enigma_match(
    annotation: Annotation, index: EnigmaIndex, rules: GermlineRules, sequence: SequenceSource | None = None
) -> tuple[EnigmaRecord, str] | None:
    """The ENIGMA row for this allele and how it was matched, or None."""
    variant = annotation.variant
    if not variant.chrom.startswith("chr"):
        variant = Variant(f"chr{variant.chrom}", variant.pos, variant.ref, variant.alt)
    if sequence is not None:
        with contextlib.suppress(InputError):  # outside the embedded loci: match on the allele as given
            variant = normalise_variant(variant, sequence)
    record = index.by_variant.get(variant)
    if record is not None:
        return record, f"GRCh38 allele {variant.key}"
    name = canonical_c(annotation.hgvs_c) if annotation.hgvs_c else ""
    for diff in rules.reference_differences:
        if diff.gene == annotation.gene and (variant == diff.grch38 or name == diff.mane_hgvs_c):
            record = index.by_hgvs.get((diff.gene, canonical_c(diff.enigma_hgvs_c)))
            if record is not None:
                return record, f"reference difference: {diff.note}"
    if name:
        record = index.by_hgvs.get((annotation.gene, name))
        transcript = annotation.transcript or (record.transcript if record else "")
        if record is not None and _same_transcript(record.transcript, transcript):
            return record, f"HGVS {transcript}:{name}"
    return None


def from_enigma(record: EnigmaRecord, matched_on: str) -> GermlineClassification:
    criteria = [record.assertion_method, f"matched on {matched_on}"]
    if record.comment:
        criteria.append(f"ENIGMA: {record.comment}")
    return GermlineClassification(
        classification=record.classification,  # type: ignore[arg-type]
        source=ENIGMA_SOURCE,
        date=record.date,
        criteria=tuple(criteria),
        citation=record.citation,
    )


# ---------------------------------------------------------------- PVS1 rules


@dataclass(frozen=True)
class Pvs1Call:
    strength: str  # a key of GermlineRules.points
    reason: str


def _truncation(annotation: Annotation, gene: GeneRules) -> Pvs1Call:
    codon = first_altered_codon(annotation.hgvs_p, annotation.hgvs_c)
    starts = c_positions(annotation.hgvs_c)
    c_start = starts[0].cds_number if starts and starts[0].in_cds else None
    if codon is None or c_start is None:
        return Pvs1Call("not_applicable", f"truncation position not readable from {annotation.hgvs_c}")
    for region in gene.truncation_regions:
        if region.c_start <= c_start <= region.c_end:
            return Pvs1Call(region.strength, f"truncation in exon {region.exons}: {region.why}")
    stop = stop_codon_position(annotation.hgvs_p)
    if stop is not None and (stop - 1) * 3 + 1 < gene.nmd_escape_from_c:
        reason = f"premature stop at codon {stop}, 5' of c.{gene.nmd_escape_from_c}: NMD predicted"
        return Pvs1Call("very_strong", reason)
    # Without the new stop, NMD escape is certain only when the change starts in the NMD-escaping 3' part.
    if stop is None and c_start < gene.nmd_escape_from_c:
        shown = annotation.hgvs_p or "no p. name"
        return Pvs1Call("not_applicable", f"new stop position not given ({shown}): NMD not assessable")
    last = gene.last_pathogenic_ptc_codon
    if codon <= last:
        return Pvs1Call(
            "strong",
            f"NMD not predicted; truncation from codon {codon} removes the region up to the last known "
            f"pathogenic truncation (codon {last})",
        )
    return Pvs1Call(
        "not_applicable",
        f"NMD not predicted and truncation starts 3' of codon {last}, the last known pathogenic truncation",
    )


def _snv_alt(hgvs_c: str) -> str:
    """'c.4097-1G>A' -> 'A'; '' for anything but a substitution."""
    head, _, alt = hgvs_c.partition(">")
    return alt.strip() if head and len(alt.strip()) == 1 else ""


def _splice_position(hgvs_c: str) -> CPosition | None:
    for position in c_positions(hgvs_c):
        if abs(position.offset) in (1, 2):
            return position
    return None


def _canonical_splice(annotation: Annotation, gene: GeneRules, rules: GermlineRules) -> Pvs1Call:
    position = _splice_position(annotation.hgvs_c)
    if position is None:
        return Pvs1Call("not_applicable", f"no canonical +/-1,2 position in {annotation.hgvs_c}")
    if position.in_utr:
        return Pvs1Call(rules.utr_splice_site_strength, "splice site of a UTR intron: coding sequence intact")
    if position.offset == 2 and annotation.hgvs_c.endswith("+2T>C"):
        return Pvs1Call(rules.donor_plus2_t_to_c_strength, "GT>GC donor may still splice; needs RNA evidence")
    site = f"{position.base}{'+' if position.offset > 0 else '-'}"
    rule = gene.splice_sites.get(site)
    if rule is not None:
        strength = rule.strength_for(position.offset, _snv_alt(annotation.hgvs_c))
        why = rule.why if strength == rule.strength else "allele-specific outcome in the VCEP splice-site table"
        return Pvs1Call(strength, f"c.{site}{abs(position.offset)}: {why}")
    where = f"c.{site}{abs(position.offset)}"
    return Pvs1Call("very_strong", f"canonical splice site {where}: frameshift or loss of a critical region")


# A large deletion of whole exons (a VCF allele named by oncopanel.cnv.naming, see Annotator.annotate_large_deletion)
EXON_DELETION = frozenset({"exon_loss_variant", "transcript_ablation"})


def _exon_deletion(annotation: Annotation) -> list[Pvs1Call]:
    """PVS1 of deleting whole exons at the strength config/cnv.yaml gives (the same rule as a read-depth call:
    critical exons vs only the non-coding first or the last exon)."""
    from oncopanel.cnv.naming import deletion_strength
    from oncopanel.cnv.settings import load_settings

    first, _, last = annotation.exon.split("/")[0].partition("-")
    strength = deletion_strength(annotation.gene, int(first), int(last or first), load_settings().classification)
    if strength is None:
        return []
    return [Pvs1Call(strength, f"deletion of whole exons {annotation.exon.split('/')[0]} ({annotation.hgvs_c})")]


def assess_pvs1(annotation: Annotation, rules: GermlineRules) -> Pvs1Call | None:
    """PVS1 at the strongest strength any null mechanism of the variant reaches; None if not null."""
    gene = rules.genes.get(annotation.gene)
    if gene is None:
        return None
    consequences = set(annotation.consequence)
    calls = []
    if consequences & rules.truncating:
        calls.append(_truncation(annotation, gene))
    if consequences & rules.canonical_splice:
        calls.append(_canonical_splice(annotation, gene, rules))
    if consequences & rules.start_loss:
        calls.append(Pvs1Call(gene.start_loss_strength, "initiation codon lost"))
    if consequences & EXON_DELETION and annotation.exon:
        calls += _exon_deletion(annotation)
    if not calls:
        return None
    return max(calls, key=lambda call: rules.points[call.strength])


def classification_for_points(points: int, rules: GermlineRules) -> str:
    for minimum, classification in rules.thresholds:
        if points >= minimum:
            return classification
    return rules.thresholds[-1][1]


def classify_by_rules(annotation: Annotation, rules: GermlineRules) -> GermlineClassification:
    if annotation.gene not in rules.genes:
        where = annotation.gene or "this locus"
        return GermlineClassification(
            "uncertain_significance", rules.source, criteria=(f"no germline rules for {where}",)
        )
    gene = rules.genes[annotation.gene]
    if annotation.transcript and not _same_transcript(annotation.transcript, gene.transcript):
        return GermlineClassification(
            "uncertain_significance",
            rules.source,
            criteria=(f"named on {annotation.transcript}, rules are written for {gene.transcript}",),
            citation=rules.citation,
        )
    call = assess_pvs1(annotation, rules)
    if call is None:
        return GermlineClassification(
            "uncertain_significance",
            rules.source,
            criteria=("no ENIGMA classification; not a null variant; no other evidence reaches this stage",),
            citation=rules.citation,
        )
    points = rules.points[call.strength]
    classification = classification_for_points(points, rules)
    label = rules.pvs1_labels[call.strength]
    return GermlineClassification(
        classification,  # type: ignore[arg-type]
        rules.source,
        criteria=(f"{label} ({points} points): {call.reason}", f"total {points} points -> {classification}"),
        citation=rules.citation,
    )


def classify_germline(
    annotation: Annotation,
    *,
    rules: GermlineRules | None = None,
    enigma: EnigmaIndex | None = None,
    sequence: SequenceSource | None = None,
) -> GermlineClassification:
    """ENIGMA where the variant is known, else the PVS1 rules, else uncertain significance.

    ``sequence`` normalises the query allele before the ENIGMA lookup; VCF records from the calling stage are
    normalised already, so it is optional.
    """
    rules = rules or load_germline_rules()
    enigma = enigma if enigma is not None else load_enigma()
    match = enigma_match(annotation, enigma, rules, sequence)
    if match is not None:
        return from_enigma(*match)
    return classify_by_rules(annotation, rules)


# ---------------------------------------------------------------- exon naming


def _number(field_value: str) -> int | None:
    """'10/23' -> 10 (None when empty)."""
    head = field_value.split("/")[0].strip() if field_value else ""
    return int(head) if head.isdigit() else None


def legacy_exon_label(gene: str, mane_exon: int, rules: GermlineRules | None = None) -> str:
    """Legacy (BIC) number of a MANE exon: BRCA1 MANE exon 10 -> '11'; the same where numbering agrees."""
    rules = rules or load_germline_rules()
    skipped = rules.genes[gene].legacy_exon_numbers_skip if gene in rules.genes else ()
    legacy = 0
    for _ in range(mane_exon):
        legacy += 1
        while legacy in skipped:
            legacy += 1
    return str(legacy)


def exon_label(annotation: Annotation, rules: GermlineRules | None = None) -> str:
    """'exon 10 of NM_007294.4 (MANE Select; legacy exon 11)', or the intron likewise, for a report line.

    A legacy intron takes the legacy number of the exon 5' of it (BRCA1 MANE intron 10 = legacy IVS11).
    """
    for kind, value in (("exon", annotation.exon), ("intron", annotation.intron)):
        number = _number(value)
        if number is not None:
            label = f"{kind} {number} of {annotation.transcript} (MANE Select"
            legacy = legacy_exon_label(annotation.gene, number, rules)
            return f"{label}; legacy {kind} {legacy})" if legacy != str(number) else f"{label})"
    return ""


# ---------------------------------------------------------------- what the report shows


@dataclass(frozen=True)
class GermlineFinding:
    annotation: Annotation
    classification: GermlineClassification


@dataclass(frozen=True)
class GermlineReport:
    """Main result (P/LP), VUS listed apart, benign side shown only on request (the count is always kept)."""

    main: tuple[GermlineFinding, ...] = ()
    vus: tuple[GermlineFinding, ...] = ()
    benign: tuple[GermlineFinding, ...] = ()
    benign_not_reported: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)


def classify_findings(annotations: Iterable[Annotation], **kwargs) -> list[GermlineFinding]:
    return [GermlineFinding(a, classify_germline(a, **kwargs)) for a in annotations]


def reportable_germline(findings: Iterable[GermlineFinding], report_benign: bool = False) -> GermlineReport:
    main, vus, benign = [], [], []
    for finding in findings:
        kind = finding.classification.classification
        (main if kind in REPORTED_GERMLINE else benign if kind in BENIGN_SIDE else vus).append(finding)
    notes = []
    if any(f.classification.source == ENIGMA_SOURCE for f in main + vus + benign):
        notes.append("ENIGMA classifications date from 2015-2016; the date of each travels with it")
    return GermlineReport(
        main=tuple(main),
        vus=tuple(vus),
        benign=tuple(benign) if report_benign else (),
        benign_not_reported=0 if report_benign else len(benign),
        notes=tuple(notes),
    )
