"""Build the knowledge base from its sources: the newest CIViC release in sources/civic/, the curated approvals table
and the DOID -> OncoTree crosswalk, for the genes of the panels (annotation/panels/panels.yaml). The built table
(kb.tsv) is never edited by hand.

Updating CIViC: place a newer release's ClinicalEvidenceSummaries.tsv beside the current one, named as CIViC names
it (<DD-Mon-YYYY>-ClinicalEvidenceSummaries.tsv, or <YYYY-MM-DD>-...), and rebuild: the newest release is used and
the changelog lists the rows it adds, changes and removes.

Versioning: version = build date + the first 12 hex digits of the SHA-256 of the built table. A rebuild that changes
nothing keeps the previous version. Every new version gets a CHANGELOG.md section (rows added, removed, changed).
A biomarker-drug-tumour match of the previous version that disappears fails the build unless
acknowledged_removals.tsv (the changelog's hand-written part) lists it.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from oncopanel.errors import OncopanelError, ValidationError
from oncopanel.knowledge.biomarker import normalised_name, parse_biomarker
from oncopanel.knowledge.oncotree import OncoTree, read_oncotree
from oncopanel.panels import PANELS_YAML, load_panels
from oncopanel.paths import ANNOTATION

KB_DIR = ANNOTATION / "knowledge"
CIVIC_DIR = KB_DIR / "sources" / "civic"
CIVIC_EVIDENCE_SUFFIX = "-ClinicalEvidenceSummaries.tsv"
CIVIC_DATE_FORMATS = ("%d-%b-%Y", "%Y-%m-%d")  # CIViC's own release names, and ISO dates
# the columns of CIViC's gene/variant evidence export that the build reads
CIVIC_COLUMNS = (
    "gene", "variant", "disease", "doid", "drugs", "drug_interaction_type", "evidence_type", "evidence_direction",
    "evidence_level", "clinical_significance", "citation_id", "source_type", "asco_abstract_id", "citation",
    "evidence_status", "evidence_id", "variant_origin",
)
ONCOTREE_FLAT = KB_DIR / "sources" / "oncotree" / "oncotree_2025_10_03_flat.tsv"
APPROVALS = KB_DIR / "approvals.tsv"
CROSSWALK = KB_DIR / "doid_oncotree_crosswalk.tsv"
ACKNOWLEDGED = KB_DIR / "acknowledged_removals.tsv"

KB_COLUMNS = (
    "row_id", "source", "gene", "biomarker", "variant_name", "matchable", "evidence_type", "direction",
    "significance", "level", "drugs", "drug_interaction", "regimen", "disease", "doid", "oncotree_code",
    "placement", "excluded_oncotree_codes", "variant_origin", "setting", "status", "label_date", "status_date",
    "nrdl_status", "nrdl_year", "citation", "source_release", "document_id", "url", "revision_date", "verified",
    "unverified_fields", "biomarker_required",
)
# what a label row may leave unchecked; a row is verified only when it names none of them
CHECKABLE_FIELDS = ("document_id", "url", "revision_date", "label_date", "status", "status_date", "indication",
                    "setting", "oncotree_codes", "excluded_oncotree_codes", "variant_origin", "nrdl_status",
                    "nrdl_year")
BOOLEANS = ("True", "False")
APPROVAL_COLUMNS = (
    "approval_id", "agency", "gene", "biomarker", "variant_origin", "regimen", "oncotree_codes",
    "excluded_oncotree_codes", "significance", "setting", "status", "label_date", "status_date", "nrdl_status",
    "nrdl_year", "indication", "citation", "document_id", "url", "revision_date", "verified", "unverified_fields",
    "biomarker_required",
)
MATCH_KEY = ("gene", "biomarker", "regimen", "oncotree_code", "significance")
AGENCIES = ("FDA", "EMA", "NMPA")
APPROVAL_STATUSES = ("approved", "accelerated", "conditional", "narrowed", "withdrawn")
ACTIVE_STATUSES = ("approved", "accelerated", "conditional", "narrowed")
SIGNIFICANCES = ("Sensitivity/Response", "Resistance")
ORIGINS = ("somatic", "germline", "germline or somatic")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class KnowledgeBuildError(OncopanelError):
    """The knowledge base cannot be built (bad source, or a match of the previous version silently lost)."""


@dataclass(frozen=True)
class Crosswalk:
    """DOID -> (OncoTree code or '' when unplaced, relation or 'unplaced: why', OncoTree codes under the placed code
    that the disease does not cover, e.g. borderline tumours under epithelial ovarian tumours)."""

    codes: dict[str, str]
    placement: dict[str, str]
    excluded: dict[str, str] = field(default_factory=dict)


@dataclass
class BuildResult:
    table: pd.DataFrame
    version: str
    checksum: str
    previous_version: str = ""
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    lost_matches: list[tuple[str, ...]] = field(default_factory=list)
    acknowledged: list[tuple[str, ...]] = field(default_factory=list)
    new_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # source changes: CIViC release, panel genes
    unverified: pd.DataFrame | None = None

    @property
    def unchanged(self) -> bool:
        """Same table as before, columns included (a new column with no changed row is still a new version)."""
        return bool(self.previous_version) and self.version == self.previous_version


def read_tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)


@dataclass(frozen=True)
class CivicRelease:
    name: str  # as CIViC names it: "01-Aug-2021"
    date: datetime.date
    path: Path


def civic_release_of(path: Path) -> CivicRelease:
    """The release a ClinicalEvidenceSummaries file belongs to, from its name. A file with no dated name (a test
    fixture) is its own release, named by the file and dated 0001-01-01, so any dated release is newer."""
    path = Path(path)
    name = path.name.removesuffix(CIVIC_EVIDENCE_SUFFIX)
    for fmt in CIVIC_DATE_FORMATS:
        try:
            return CivicRelease(name, datetime.datetime.strptime(name, fmt).date(), path)
        except ValueError:
            continue
    return CivicRelease(path.name, datetime.date.min, path)


def civic_releases(directory: Path = CIVIC_DIR) -> list[CivicRelease]:
    """The CIViC evidence releases in a directory, oldest first."""
    return sorted((civic_release_of(p) for p in Path(directory).glob(f"*{CIVIC_EVIDENCE_SUFFIX}")),
                  key=lambda r: (r.date, r.name))


def latest_civic_release(directory: Path = CIVIC_DIR) -> CivicRelease:
    releases = [r for r in civic_releases(directory) if r.date != datetime.date.min]
    if not releases:
        raise KnowledgeBuildError(f"{directory}: no dated CIViC release (<DD-Mon-YYYY>{CIVIC_EVIDENCE_SUFFIX})")
    return releases[-1]


def panel_genes(panels_path: Path | None = None) -> tuple[str, ...]:
    """The genes of the panels, their one home: a gene added to panels.yaml gets its CIViC rows and label rows."""
    return tuple(dict.fromkeys(gene for panel in load_panels(panels_path).values() for gene in panel.genes))


# CIViC's export since molecular profiles (2023) names these columns differently and joins gene and variant
MOLECULAR_PROFILE_RENAMES = {"therapies": "drugs", "therapy_interaction_type": "drug_interaction_type",
                             "significance": "clinical_significance"}


def from_molecular_profiles(evidence: pd.DataFrame) -> pd.DataFrame:
    """A molecular-profile export in the gene/variant layout: "EGFR L858R" -> gene EGFR, variant L858R. A compound
    profile ("EGFR L858R AND EGFR T790M") keeps its text as the variant, which no small variant matches."""
    out = evidence.rename(columns=MOLECULAR_PROFILE_RENAMES)
    parts = out["molecular_profile"].str.split(" ", n=1, expand=True).reindex(columns=[0, 1]).fillna("")
    out["gene"], out["variant"] = parts[0], parts[1]
    return out


def read_civic(path: Path, genes: tuple[str, ...]) -> pd.DataFrame:
    evidence = read_tsv(path)
    if "molecular_profile" in evidence.columns and "gene" not in evidence.columns:
        evidence = from_molecular_profiles(evidence)
    missing = [c for c in CIVIC_COLUMNS if c not in evidence.columns]
    if missing:
        raise ValidationError([f"{path}: not a CIViC gene/variant evidence export: missing column(s) "
                               f"{', '.join(missing)}"])
    return evidence[evidence["gene"].isin(genes) & (evidence["evidence_status"] == "accepted")]


def read_crosswalk(path: Path, tree: OncoTree) -> Crosswalk:
    table = read_tsv(path)
    problems = [
        f"{path}: row {i + 2}: OncoTree code {code!r} not in OncoTree {tree.release}"
        for i, codes in enumerate(table["oncotree_code"] + "," + table["excluded_oncotree_codes"])
        for code in codes.split(",")
        if code and not tree.is_valid_code(code)
    ]
    problems += [
        f"{path}: row {i + 2}: unplaced DOID {doid} must say why in the note"
        for i, (doid, code, note) in enumerate(zip(table["doid"], table["oncotree_code"], table["note"], strict=True))
        if not code and not note.startswith("unplaced")
    ]
    if problems:
        raise ValidationError(problems)
    placement = {
        doid: relation if code else note
        for doid, code, relation, note in zip(
            table["doid"], table["oncotree_code"], table["relation"], table["note"], strict=True
        )
    }
    return Crosswalk(dict(zip(table["doid"], table["oncotree_code"], strict=True)), placement,
                     dict(zip(table["doid"], table["excluded_oncotree_codes"], strict=True)))


def validate_approvals(table: pd.DataFrame, tree: OncoTree, path: Path, genes: tuple[str, ...]) -> list[str]:
    problems: list[str] = []
    for i, row in enumerate(table.to_dict("records")):
        where = f"{path}: row {i + 2} ({row['approval_id']})"
        if row["agency"] not in AGENCIES:
            problems.append(f"{where}: agency {row['agency']!r} not one of {AGENCIES}")
        if row["status"] not in APPROVAL_STATUSES:
            problems.append(f"{where}: status {row['status']!r} not one of {APPROVAL_STATUSES}")
        if row["significance"] not in SIGNIFICANCES:
            problems.append(f"{where}: significance {row['significance']!r} not one of {SIGNIFICANCES}")
        if row["variant_origin"] not in ORIGINS:
            problems.append(f"{where}: variant_origin {row['variant_origin']!r} not one of {ORIGINS}")
        if not _DATE.match(row["label_date"]) and not (row["label_date"] == "" and "label_date" in unverified(row)):
            problems.append(f"{where}: label_date {row['label_date']!r} is not YYYY[-MM[-DD]] "
                            "(leave it blank only when unverified_fields names it)")
        if row["status"] in ("withdrawn", "narrowed") and not _DATE.match(row["status_date"]):
            problems.append(f"{where}: a {row['status']} indication needs its status_date")
        if row["gene"] not in genes:
            problems.append(f"{where}: gene {row['gene']!r} is not a panel gene")
        if not all(b.matchable for b in parse_biomarker(row["biomarker"])):
            problems.append(f"{where}: biomarker {row['biomarker']!r} cannot be matched to a small variant")
        for code in filter(None, (row["oncotree_codes"] + "," + row["excluded_oncotree_codes"]).split(",")):
            if not tree.is_valid_code(code):
                problems.append(f"{where}: OncoTree code {code!r} not in OncoTree {tree.release}")
        if not row["citation"].startswith(row["agency"]):
            problems.append(f"{where}: citation must name the {row['agency']} label")
        problems += traceability_problems(row, where)
    duplicated = table["approval_id"][table["approval_id"].duplicated()].tolist()
    problems += [f"{path}: approval_id {dup} used twice" for dup in duplicated]
    return problems


def unverified(row: dict[str, str]) -> list[str]:
    return [f for f in row["unverified_fields"].split(",") if f]


def traceability_problems(row: dict[str, str], where: str) -> list[str]:
    """A row says which of its facts were not checked here; a verified row checked them all."""
    problems = [f"{where}: {name} {row[name]!r} is not True or False"
                for name in ("verified", "biomarker_required") if row[name] not in BOOLEANS]
    unverified = [f for f in row["unverified_fields"].split(",") if f]
    problems += [f"{where}: unverified field {f!r} is not one of {', '.join(CHECKABLE_FIELDS)}"
                 for f in unverified if f not in CHECKABLE_FIELDS]
    if row["verified"] == "True" and unverified:
        problems.append(f"{where}: verified, yet lists unverified fields {row['unverified_fields']}")
    if row["verified"] == "False" and not unverified:
        problems.append(f"{where}: not verified, so unverified_fields must name what was not checked")
    if row["revision_date"] and not _DATE.match(row["revision_date"]):
        problems.append(f"{where}: revision_date {row['revision_date']!r} is not YYYY[-MM[-DD]]")
    if row["url"] and not row["url"].startswith("https://"):
        problems.append(f"{where}: url {row['url']!r} is not an https:// address")
    return problems


def read_approvals(path: Path, tree: OncoTree, genes: tuple[str, ...]) -> pd.DataFrame:
    table = read_tsv(path)
    missing = [c for c in APPROVAL_COLUMNS if c not in table.columns]
    if missing:
        raise ValidationError([f"{path}: missing column(s) {', '.join(missing)}"])
    problems = validate_approvals(table, tree, path, genes)
    if problems:
        raise ValidationError(problems)
    return table


def civic_regimen(drugs: list[str], interaction: str) -> str:
    if interaction == "Combination":
        return " + ".join(drugs)
    if interaction == "Sequential":
        return ", then ".join(drugs)
    return drugs[0] if len(drugs) == 1 else ""  # Substitutes: one regimen per drug, made at matching time


def civic_citation(row: dict[str, str]) -> str:
    if row["source_type"] == "PubMed":
        return f"{row['citation']}, PMID:{row['citation_id']}"
    return f"{row['citation']}, {row['source_type']} abstract {row['asco_abstract_id'] or row['citation_id']}"


def civic_rows(evidence: pd.DataFrame, crosswalk: Crosswalk, release: str) -> list[dict[str, str]]:
    rows = []
    for row in evidence.to_dict("records"):
        doid = f"DOID:{row['doid']}" if row["doid"] else ""
        place_key = doid or f"name:{row['disease']}"  # a few CIViC diseases carry no DOID
        drugs = [d.strip().lower() for d in row["drugs"].split(",") if d.strip()]
        parsed = parse_biomarker(row["variant"])
        rows.append({
            "row_id": f"CIViC:EID{row['evidence_id']}",
            "source": "CIViC",
            "gene": row["gene"],
            "biomarker": normalised_name(row["variant"]),
            "variant_name": row["variant"],
            "matchable": str(all(b.matchable for b in parsed)),
            "evidence_type": row["evidence_type"],
            "direction": row["evidence_direction"],
            "significance": row["clinical_significance"],
            "level": row["evidence_level"],
            "drugs": "|".join(drugs),
            "drug_interaction": row["drug_interaction_type"],
            "regimen": civic_regimen(drugs, row["drug_interaction_type"]) if drugs else "",
            "disease": row["disease"],
            "doid": doid,
            "oncotree_code": crosswalk.codes.get(place_key, ""),
            "placement": crosswalk.placement.get(place_key, "unplaced: DOID not in the crosswalk"),
            "excluded_oncotree_codes": crosswalk.excluded.get(place_key, ""),
            "variant_origin": row["variant_origin"],
            "setting": "",
            "status": row["evidence_status"],
            "label_date": "",
            "status_date": "",
            "nrdl_status": "",
            "nrdl_year": "",
            "citation": civic_citation(row),
            "source_release": f"CIViC {release}",
            # a CIViC row is the release's own text, taken as it stands
            "document_id": "", "url": "", "revision_date": "", "verified": "True", "unverified_fields": "",
            "biomarker_required": "True",
        })
    return rows


def approval_rows(approvals: pd.DataFrame, tree: OncoTree) -> list[dict[str, str]]:
    rows = []
    for row in approvals.to_dict("records"):
        codes = [c for c in row["oncotree_codes"].split(",") if c]
        drugs = [d.strip() for d in row["regimen"].split(" + ")]
        for code in codes:
            rows.append({
                "row_id": f"{row['approval_id']}:{code}" if len(codes) > 1 else row["approval_id"],
                "source": row["agency"],
                "gene": row["gene"],
                "biomarker": normalised_name(row["biomarker"]),
                "variant_name": row["biomarker"],
                "matchable": "True",
                "evidence_type": "Predictive",
                "direction": "Supports",
                "significance": row["significance"],
                "level": "approved" if row["status"] in ACTIVE_STATUSES else row["status"],
                "drugs": "|".join(drugs),
                "drug_interaction": "Combination" if len(drugs) > 1 else "",
                "regimen": row["regimen"],
                "disease": row["indication"],
                "doid": "",
                "oncotree_code": code,
                "placement": "label",
                "excluded_oncotree_codes": row["excluded_oncotree_codes"],
                "variant_origin": row["variant_origin"],
                "setting": row["setting"],
                "status": row["status"],
                "label_date": row["label_date"],
                "status_date": row["status_date"],
                "nrdl_status": row["nrdl_status"],
                "nrdl_year": row["nrdl_year"],
                "citation": row["citation"],
                "source_release": "curated approvals table",
                **{name: row[name] for name in ("document_id", "url", "revision_date", "verified",
                                                 "unverified_fields", "biomarker_required")},
            })
    return rows


def build_table(civic: pd.DataFrame, approvals: pd.DataFrame, crosswalk: Crosswalk, tree: OncoTree,
                release: str) -> pd.DataFrame:
    rows = civic_rows(civic, crosswalk, release) + approval_rows(approvals, tree)
    table = pd.DataFrame(rows, columns=list(KB_COLUMNS))
    return table.sort_values("row_id", kind="stable").reset_index(drop=True)


def table_bytes(table: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    table.to_csv(buffer, sep="\t", index=False, lineterminator="\n", quoting=csv.QUOTE_NONE, escapechar="\\")
    return buffer.getvalue().encode()


def content_checksum(table: pd.DataFrame) -> str:
    return hashlib.sha256(table_bytes(table)).hexdigest()


def match_keys(table: pd.DataFrame) -> set[tuple[str, ...]]:
    """Biomarker-drug-tumour matches a table offers: supporting, matchable, active, with a drug.

    CIViC 'Substitutes' rows (no regimen) offer one match per drug.
    """
    usable = table[
        (table["direction"] == "Supports")
        & (table["matchable"] == "True")
        & (table["drugs"] != "")
        & (table["status"] != "withdrawn")
    ]
    keys = set()
    for row in usable.to_dict("records"):
        for regimen in [row["regimen"]] if row["regimen"] else row["drugs"].split("|"):
            keys.add((row["gene"], row["biomarker"], regimen, row["oncotree_code"], row["significance"]))
    return keys


def read_acknowledged(path: Path) -> set[tuple[str, ...]]:
    if not Path(path).exists():
        return set()
    table = read_tsv(path)
    return {tuple(key) for key in table[list(MATCH_KEY)].itertuples(index=False, name=None)}


def diff_rows(previous: pd.DataFrame, table: pd.DataFrame) -> tuple[list[str], list[str], list[str]]:
    """Row ids added, removed and changed; a new source release alone changes no row (the changelog names it)."""
    columns = [c for c in KB_COLUMNS if c not in ("row_id", "source_release") and c in previous.columns]
    before = {r["row_id"]: tuple(r[c] for c in columns) for r in previous.to_dict("records")}
    after = {r["row_id"]: tuple(r[c] for c in columns) for r in table.to_dict("records")}
    added = sorted(after.keys() - before.keys())
    removed = sorted(before.keys() - after.keys())
    changed = sorted(r for r in after.keys() & before.keys() if after[r] != before[r])
    return added, removed, changed


def compare(previous: pd.DataFrame | None, previous_version: str, table: pd.DataFrame, date: str,
            acknowledged: set[tuple[str, ...]]) -> BuildResult:
    """Version the new table against the previous one; raise when a match is lost without acknowledgement."""
    checksum = content_checksum(table)
    if previous is None:
        return BuildResult(table, f"{date}+{checksum[:12]}", checksum, added=sorted(table["row_id"]))
    added, removed, changed = diff_rows(previous, table)
    lost = sorted(match_keys(previous) - match_keys(table))
    silent = [key for key in lost if key not in acknowledged]
    if silent:
        lines = [" | ".join(key) for key in silent]
        raise KnowledgeBuildError(
            f"{len(silent)} biomarker-drug-tumour match(es) of knowledge base {previous_version} would disappear; "
            f"list each in {ACKNOWLEDGED.name} (columns {', '.join(MATCH_KEY)}, reason) to acknowledge:\n"
            + "\n".join(lines)
        )
    unchanged = list(previous.columns) == list(KB_COLUMNS) and content_checksum(previous) == checksum
    version = previous_version if unchanged else f"{date}+{checksum[:12]}"
    return BuildResult(table, version, checksum, previous_version, added, removed, changed, lost,
                       [key for key in lost if key in acknowledged],
                       [c for c in table.columns if c not in previous.columns])


def changelog_section(result: BuildResult) -> str:
    lines = [f"## {result.version}", ""]
    if not result.previous_version:
        lines.append(f"Initial version: {len(result.table)} rows.")
    else:
        lines.append(f"Changes from {result.previous_version}: {len(result.added)} rows added, "
                     f"{len(result.removed)} removed, {len(result.changed)} changed.")
        lines += [f"- {note}" for note in result.notes]
        if result.new_columns:
            lines.append(f"- New columns: {', '.join(result.new_columns)}")
        for title, ids in (("Added", result.added), ("Removed", result.removed), ("Changed", result.changed)):
            if ids:
                lines.append(f"- {title}: {', '.join(ids)}")
        for key in result.acknowledged:
            lines.append(f"- Acknowledged removal of match: {' | '.join(key)}")
    return "\n".join(lines) + "\n"


def source_checksums(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


UNVERIFIED_REPORT = "unverified_facts.tsv"
UNVERIFIED_COLUMNS = ("approval_id", "agency", "gene", "biomarker", "regimen", "field", "value")


def unverified_facts(approvals: pd.DataFrame) -> pd.DataFrame:
    """One line per label fact not checked here (the build's report): never to be printed as fact."""
    lines = [
        {"approval_id": row["approval_id"], "agency": row["agency"], "gene": row["gene"],
         "biomarker": row["biomarker"], "regimen": row["regimen"], "field": name,
         "value": row.get(name, "")}
        for row in approvals.to_dict("records")
        for name in unverified(row)
    ]
    return pd.DataFrame(lines, columns=list(UNVERIFIED_COLUMNS))


def source_notes(previous_meta: dict, release: CivicRelease, genes: tuple[str, ...]) -> list[str]:
    """What changed in the sources themselves: the CIViC release, the panel genes."""
    notes = []
    before = previous_meta.get("civic_release", "")
    if before and before != release.name:
        notes.append(f"CIViC release {before} -> {release.name}")
    if "panel_genes" in previous_meta:
        added = [g for g in genes if g not in previous_meta["panel_genes"]]
        removed = [g for g in previous_meta["panel_genes"] if g not in genes]
        notes += [f"Panel gene added: {g}" for g in added] + [f"Panel gene removed: {g}" for g in removed]
    return notes


def build_knowledge(out_dir: Path = KB_DIR, date: str = "", civic_path: Path | None = None,
                    approvals_path: Path = APPROVALS, crosswalk_path: Path = CROSSWALK,
                    oncotree_path: Path = ONCOTREE_FLAT, acknowledged_path: Path | None = None,
                    panels_path: Path | None = None, civic_dir: Path = CIVIC_DIR) -> BuildResult:
    """Build kb.tsv, kb_meta.json, the changelog and the report of unverified label facts in out_dir; nothing is
    written when the build fails. civic_path: one evidence file; default the newest dated release in civic_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    date = date or pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d")
    release = civic_release_of(civic_path) if civic_path else latest_civic_release(civic_dir)
    panels_path = Path(panels_path or PANELS_YAML)
    genes = panel_genes(panels_path)
    tree = read_oncotree(oncotree_path)
    approvals = read_approvals(approvals_path, tree, genes)
    table = build_table(read_civic(release.path, genes), approvals, read_crosswalk(crosswalk_path, tree), tree,
                        release.name)
    kb_path, meta_path = out_dir / "kb.tsv", out_dir / "kb_meta.json"
    previous = read_tsv(kb_path) if kb_path.exists() else None
    previous_meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    acknowledged = read_acknowledged(acknowledged_path or out_dir / ACKNOWLEDGED.name)
    result = compare(previous, previous_meta.get("version", ""), table, date, acknowledged)
    result.unverified = unverified_facts(approvals)
    if result.unchanged:
        return result
    result.notes = source_notes(previous_meta, release, genes)
    kb_path.write_bytes(table_bytes(table))
    (out_dir / UNVERIFIED_REPORT).write_bytes(table_bytes(result.unverified))
    civic_table = table[table["source"] == "CIViC"]
    labels = table[table["source"] != "CIViC"]
    meta = {
        "version": result.version,
        "previous_version": result.previous_version,
        "checksum_sha256": result.checksum,
        "built": date,
        "rows": len(table),
        "civic_release": release.name,
        "civic_rows": len(civic_table),
        "civic_rows_unplaced": int((civic_table["oncotree_code"] == "").sum()),
        "approval_rows": len(labels),
        "approval_indications": len(approvals),
        "approval_indications_unverified": int((approvals["verified"] != "True").sum()),
        "panel_genes": list(genes),
        "sources": {
            "CIViC": f"{release.name} (CC0 1.0)",
            "OncoTree": f"{tree.release} (CC BY 4.0)",
            "approvals": "curated FDA/EMA/NMPA label table (public facts; each row cites its label; rows need a "
                         "pharmacist's check before clinical use)",
        },
        "source_sha256": source_checksums([release.path, approvals_path, crosswalk_path, oncotree_path,
                                           panels_path]),
    }
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    changelog = out_dir / "CHANGELOG.md"
    header = "# Knowledge-base changelog (written by scripts/build_knowledge.py; newest first)\n\n"
    old = changelog.read_text().removeprefix(header) if changelog.exists() else ""
    changelog.write_text(header + changelog_section(result) + ("\n" + old if old else ""))
    return result
