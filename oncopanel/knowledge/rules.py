"""The clinical rule tables matching reads, each a cited TSV in annotation/knowledge/ (facts are data, not code):

    resistance.tsv           resistance scoped to regimens, applied to the whole sample
    guidelines.tsv           guideline preference per tumour type and setting (orders the options)
    oncogenic.tsv            what a somatic variant must be to reach matching
    non_drug.tsv             knowledge-base "drugs" that are never a therapy option
    negative_biomarkers.tsv  the positions a wild-type result needs assessed
    phase.tsv                compound biomarkers whose options depend on cis / trans phase (C797S with T790M)
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

from oncopanel.errors import InputError
from oncopanel.knowledge.biomarker import Biomarker, parse_biomarker
from oncopanel.paths import ANNOTATION

RULES_DIR = ANNOTATION / "knowledge"
SETTINGS = ("first_line", "maintenance", "after_progression", "adjuvant", "any_line")
PREFERENCES = ("preferred", "other_recommended", "certain_circumstances")


def read_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """A '#'-commented TSV with these columns; InputError naming the file and what is missing."""
    with open(path, newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t")
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    return [{k: (v or "").strip() for k, v in row.items()} for row in reader]


def _codes(text: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in text.split(",") if c.strip())


def _drugs(text: str, sep: str = "|") -> frozenset[str]:
    return frozenset(d.strip().lower() for d in text.split(sep) if d.strip())


def regimen_drugs(regimen: str) -> frozenset[str]:
    return _drugs(regimen, "+")


@dataclass(frozen=True)
class ResistanceRule:
    rule_id: str
    gene: str
    biomarkers: tuple[Biomarker, ...]
    oncotree_codes: tuple[str, ...]  # () = any tumour type
    defeated: frozenset[str]
    spared: tuple[frozenset[str], ...]  # drug sets approved for the resistant biomarker itself
    reason: str
    citation: str
    verified: bool
    phase_with: str = ""  # a second variant whose cis / trans phase the reason states (C797S with T790M)

    def applies_in(self, lineage: tuple[str, ...]) -> bool:
        return not self.oncotree_codes or bool(set(self.oncotree_codes) & set(lineage))

    def defeats(self, drugs: tuple[str, ...]) -> bool:
        own = frozenset(d.lower() for d in drugs)
        return bool(own & self.defeated) and own not in self.spared


@dataclass(frozen=True)
class GuidelineRow:
    guideline_id: str
    oncotree_codes: tuple[str, ...]
    setting: str
    gene: str
    biomarkers: tuple[Biomarker, ...]
    regimen: str
    drugs: frozenset[str]
    preference: str
    order: int
    guideline: str
    version: str
    year: str
    category: str
    unverified: tuple[str, ...]

    @property
    def citation(self) -> str:
        known = ", ".join(x for x in (self.version, self.year) if x)
        listed = self.preference.replace("_", " ")
        return f"{self.guideline}{f' ({known})' if known else ''}: {listed}, {self.setting.replace('_', ' ')}"

    @property
    def preference_rank(self) -> tuple[int, int]:
        return (PREFERENCES.index(self.preference), self.order)


@dataclass(frozen=True)
class OncogenicRule:
    rule_id: str
    kind: str  # panel_hotspot | truncating | exon_class | exact_level_ab
    gene: str
    biomarker: Biomarker | None
    citation: str


@dataclass(frozen=True)
class NegativeDefinition:
    biomarker: str  # "RAS Wild Type"
    hotspot_ids: tuple[str, ...]
    citation: str


@dataclass(frozen=True)
class PhaseRule:
    phase_id: str
    gene: str
    biomarker: Biomarker
    partner: str  # the partner variant's protein change (T790M)
    phase: str  # cis | trans
    oncotree_codes: tuple[str, ...]
    setting: str
    regimen: str  # "" = no regimen: the note joins the demotion reason
    drugs: frozenset[str]
    level: str
    note: str
    citation: str
    verified: bool

    def applies_in(self, lineage: tuple[str, ...]) -> bool:
        return not self.oncotree_codes or bool(set(self.oncotree_codes) & set(lineage))


@dataclass(frozen=True)
class Rules:
    resistance: tuple[ResistanceRule, ...]
    guidelines: tuple[GuidelineRow, ...]
    oncogenic: tuple[OncogenicRule, ...]
    non_drug: frozenset[str]
    negative: tuple[NegativeDefinition, ...]
    phase: tuple[PhaseRule, ...] = ()


def read_resistance(path: Path) -> tuple[ResistanceRule, ...]:
    cols = ("rule_id", "gene", "biomarker", "oncotree_codes", "defeated_drugs", "spared_regimens", "reason",
            "citation", "verified", "phase_with")
    return tuple(
        ResistanceRule(r["rule_id"], r["gene"], tuple(parse_biomarker(r["biomarker"])), _codes(r["oncotree_codes"]),
                       _drugs(r["defeated_drugs"]), tuple(regimen_drugs(x) for x in r["spared_regimens"].split("|")
                                                          if x.strip()),
                       r["reason"], r["citation"], r["verified"] == "yes", r["phase_with"])
        for r in read_rows(path, cols)
    )


def read_guidelines(path: Path) -> tuple[GuidelineRow, ...]:
    cols = ("guideline_id", "oncotree_codes", "setting", "gene", "biomarker", "regimen", "preference", "order",
            "guideline", "version", "year", "category", "unverified")
    out = []
    for line, r in enumerate(read_rows(path, cols), start=2):
        if r["setting"] not in SETTINGS or r["preference"] not in PREFERENCES:
            raise InputError(f"{path}: {r['guideline_id']}: setting must be one of {SETTINGS} and preference one "
                             f"of {PREFERENCES}")
        out.append(GuidelineRow(
            r["guideline_id"], _codes(r["oncotree_codes"]), r["setting"], r["gene"],
            tuple(parse_biomarker(r["biomarker"])), r["regimen"], regimen_drugs(r["regimen"]), r["preference"],
            int(r["order"] or line), r["guideline"], r["version"], r["year"], r["category"],
            tuple(x for x in r["unverified"].split("|") if x),
        ))
    return tuple(out)


def read_oncogenic(path: Path) -> tuple[OncogenicRule, ...]:
    return tuple(
        OncogenicRule(r["rule_id"], r["kind"], r["gene"], parse_biomarker(r["value"])[0] if r["value"] else None,
                      r["citation"])
        for r in read_rows(path, ("rule_id", "kind", "gene", "value", "citation"))
    )


def read_negative(path: Path) -> tuple[NegativeDefinition, ...]:
    return tuple(
        NegativeDefinition(r["biomarker"], _codes(r["hotspot_ids"]), r["citation"])
        for r in read_rows(path, ("biomarker", "hotspot_ids", "citation"))
    )


def read_phase(path: Path) -> tuple[PhaseRule, ...]:
    cols = ("phase_id", "gene", "biomarker", "partner", "phase", "oncotree_codes", "setting", "regimen", "level",
            "note", "citation", "verified")
    out = []
    for r in read_rows(path, cols):
        if r["phase"] not in ("cis", "trans") or r["setting"] not in SETTINGS:
            raise InputError(f"{path}: {r['phase_id']}: phase must be cis or trans and setting one of {SETTINGS}")
        out.append(PhaseRule(
            r["phase_id"], r["gene"], parse_biomarker(r["biomarker"])[0], r["partner"], r["phase"],
            _codes(r["oncotree_codes"]), r["setting"], r["regimen"], regimen_drugs(r["regimen"]), r["level"],
            r["note"], r["citation"], r["verified"] == "yes",
        ))
    return tuple(out)


@functools.cache
def load_rules(directory: Path = RULES_DIR) -> Rules:
    return Rules(
        resistance=read_resistance(directory / "resistance.tsv"),
        guidelines=read_guidelines(directory / "guidelines.tsv"),
        oncogenic=read_oncogenic(directory / "oncogenic.tsv"),
        non_drug=frozenset(r["term"].lower() for r in read_rows(directory / "non_drug.tsv", ("term", "kind"))),
        negative=read_negative(directory / "negative_biomarkers.tsv"),
        phase=read_phase(directory / "phase.tsv"),
    )
