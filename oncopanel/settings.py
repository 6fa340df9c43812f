"""One settings layer: every YAML the workflow and the package read is checked here against its schema.

Each file has a schema in ``workflow/schemas/`` (defaults and descriptions live there, the Snakemake catalog
convention; unknown keys are refused). ``load`` reads a file, fills the schema's defaults and raises one
``ValidationError`` carrying every problem, one line each::

    config/config.yaml: relaign: unknown key (closest known key: realign)

The typed records each loader builds (calling settings, controls criteria, lab config, panels, germline rules,
failure kinds, QC gates) are made from the validated mapping, so no code default repeats a value of the data.
"""

from __future__ import annotations

import copy
import difflib
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oncopanel import paths
from oncopanel.errors import OncopanelError, ValidationError
from oncopanel.qc import Gate, metric_names

if TYPE_CHECKING:
    import jsonschema

# yaml and jsonschema are imported where a file is read or a document checked: a per-sample step given settings the
# workflow already checked (rule params) then pays for neither (issue 21).

# jsonschema's type names, as a person editing YAML reads them.
_TYPE_WORDS = {
    "object": "a mapping", "array": "a list", "string": "text", "integer": "a whole number",
    "number": "a number", "boolean": "true or false", "null": "empty",
}  # fmt: skip


@functools.cache
def schema(name: str) -> dict:
    """A schema of ``workflow/schemas/`` by file name."""
    import yaml

    return yaml.safe_load((paths.SCHEMAS / name).read_text())


def read_yaml(path: Path | str) -> Any:
    """The parsed file, or a one-line problem naming it (missing, unreadable, not YAML)."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ValidationError([f"{path}: not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError([f"{path}: cannot be read ({exc})"]) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise ValidationError([f"{path}: not valid YAML: {where}{getattr(exc, 'problem', None) or exc}"]) from None


def load(path: Path | str, schema_name: str, key: str | None = None) -> dict:
    """A file's validated mapping with the schema's defaults filled (under top-level ``key`` when given)."""
    doc = read_yaml(path)
    if key is not None:
        if not isinstance(doc, dict) or key not in doc:
            raise ValidationError([f"{path}: {key}: missing (the file's settings sit under a top-level '{key}:')"])
        extra = sorted(set(doc) - {key})
        if extra:
            raise ValidationError([f"{path}: {k}: unknown key (closest known key: {key})" for k in extra])
        doc = doc[key]
        return check(doc, schema_name, str(path), prefix=key)
    return check(doc, schema_name, str(path))


def check(doc: Any, schema_name: str, source: str, prefix: str = "") -> dict:
    """Validate a parsed document; return a copy with the schema's defaults filled, or raise every problem."""
    if doc is None:
        doc = {}
    root = schema(schema_name)
    filled = fill_defaults(copy.deepcopy(doc), root, root)
    found = problems(filled, root, source, prefix)
    if found:
        raise ValidationError(found)
    return filled


def problems(doc: Any, root: dict, source: str, prefix: str = "") -> list[str]:
    """Every schema violation of ``doc`` as ``source: key.path: problem``, one line each."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(root)
    errors = validator.iter_errors(doc)
    # sorted by key path, so an unknown key and the missing one it was meant to be stand side by side
    return sorted({line for err in errors for line in _describe(err, source, prefix)})


def key_path(parts: Iterable[Any], prefix: str = "") -> str:
    """``qc.gates.default[0].metric`` from a jsonschema path."""
    text = prefix
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def closest(word: str, known: Iterable[str]) -> str:
    """The known name closest to ``word`` (a misspelling's likely intent), or "" when none is close."""
    known = sorted(str(k) for k in known)
    match = difflib.get_close_matches(str(word), known, n=1, cutoff=0.5)
    return match[0] if match else ""


def hint(word: Any, known: Iterable[Any], what: str) -> str:
    """`` (closest known key: x)``; the known ones when none is close and they are few enough to list."""
    known = [str(k) for k in known]
    match = closest(str(word), known)
    if match:
        return f" (closest known {what}: {match})"
    return f" (known {what}s: {', '.join(sorted(known))})" if len(known) <= 12 else ""


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _describe(err: jsonschema.ValidationError, source: str, prefix: str) -> list[str]:
    where = f"{source}: {key_path(err.absolute_path, prefix)}"
    kind, value, inst = err.validator, err.validator_value, err.instance
    if kind == "additionalProperties" and isinstance(inst, dict):
        known = list(err.schema.get("properties", {}))
        extra = [k for k in inst if k not in known]
        return [
            f"{source}: {key_path([*err.absolute_path, k], prefix)}: unknown key{hint(k, known, 'key')}"
            for k in extra
        ]
    if kind == "required":
        missing = [k for k in value if isinstance(inst, dict) and k not in inst]
        return [f"{source}: {key_path([*err.absolute_path, k], prefix)}: missing" for k in missing]
    if kind == "enum":
        return [f"{where}: {_got(inst)} is not allowed{hint(inst, value, 'value')}"]
    if kind == "const":
        return [f"{where}: must be {value!r} (got {_got(inst)})"]
    if kind == "type":
        types = [value] if isinstance(value, str) else value
        return [f"{where}: must be {' or '.join(_TYPE_WORDS.get(t, t) for t in types)} (got {_got(inst)})"]
    bounds = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
    if kind in bounds:
        return [f"{where}: must be {bounds[kind]} {value} (got {_got(inst)})"]
    if kind == "pattern":
        return [f"{where}: {_got(inst)} does not match {value}"]
    if kind in ("minItems", "minProperties"):
        return [f"{where}: give at least {value}"]
    if kind in ("maxItems", "maxProperties"):
        return [f"{where}: give at most {value}"]
    if kind == "minLength":
        return [f"{where}: empty"]
    if kind == "uniqueItems":
        return [f"{where}: repeated item"]
    if kind == "propertyNames" and err.context:
        return [f"{where}: key {_got(c.instance)}: {c.message}" for c in err.context]
    return [f"{where}: {err.message.splitlines()[0][:120]}"]


def _resolve(node: dict, root: dict) -> dict:
    ref = node.get("$ref", "")
    if ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def fill_defaults(doc: Any, node: dict, root: dict) -> Any:
    """Put each missing key's schema ``default`` into ``doc``, recursively (Snakemake's set_default)."""
    node = _resolve(node, root)
    if isinstance(doc, dict) and node.get("type") == "object":
        props = node.get("properties", {})
        for key, sub in props.items():
            sub = _resolve(sub, root)
            if key not in doc and "default" in sub:
                doc[key] = copy.deepcopy(sub["default"])
            if key in doc:
                doc[key] = fill_defaults(doc[key], sub, root)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            for key in doc:
                if key not in props:
                    doc[key] = fill_defaults(doc[key], extra, root)
    elif isinstance(doc, list) and isinstance(node.get("items"), dict):
        return [fill_defaults(item, node["items"], root) for item in doc]
    return doc


# ---------------------------------------------------------------- the workflow configuration (config/config.yaml)


def config_source(configfiles: Iterable[str | Path]) -> str:
    """How messages name the merged workflow configuration: its config files."""
    shown: dict[Path, str] = {}
    for f in configfiles:
        path = Path(f).resolve()
        # one file named twice (the Snakefile's configfile: and --configfile) is one file, shown as typed
        shown.setdefault(path, str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(f))
    return " + ".join(shown.values()) or "config"


# Settings files the workflow ships, by config key. Left empty in the config, a key names the workflow's own file
# (package data: found from any working directory, in a snakedeploy'd project and in a wheel install); a centre's own
# file is a path relative to the working directory (Snakemake's convention, as for samples) or absolute.
SHIPPED_FILES = {
    "panels": paths.ANNOTATION / "panels" / "panels.yaml",
    "controls": paths.CONFIG / "controls.yaml",
    "lab": paths.CONFIG / "lab.yaml",
    "formulary": paths.CONFIG / "formulary.tsv",
}


def merge_config(base: dict, update: Mapping) -> dict:
    """``update`` merged into ``base`` key by key, nested mappings merged too (Snakemake's order of --configfile)."""
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge_config(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def load_config(configfiles: Iterable[str | Path]) -> dict:
    """The workflow configuration from its config files, merged in order and checked as the workflow checks it
    (``check_config``: every problem at once, defaults filled). For commands run outside Snakemake."""
    config: dict = {}
    files = list(configfiles)
    for path in files:
        doc = read_yaml(path)
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ValidationError([f"{path}: must be a mapping of settings (got {_got(doc)})"])
        merge_config(config, doc)
    return check_config(config, config_source(files))


def check_config(config: Mapping, source: str = "config") -> dict:
    """The workflow configuration checked (config.schema.yaml, the calling block against calling.schema.yaml, the
    QC gates' metrics against those QC computes); every problem at once. Returns it with the defaults filled and
    the shipped settings files (:data:`SHIPPED_FILES`) named by absolute path where the config leaves them empty."""
    found: list[str] = []
    filled: dict = dict(config)
    try:
        filled = check(filled, "config.schema.yaml", source)
    except ValidationError as exc:
        found += exc.problems
    # every stage reads the shipped panel definitions (oncopanel.panels): another file would be checked into the
    # provenance but used by no step, so it is refused rather than silently ignored
    own_panels = filled.get("panels")
    if own_panels and Path(own_panels).resolve() != SHIPPED_FILES["panels"].resolve():
        found.append(f"{source}: panels: a centre's own panel file is not supported yet (every step reads "
                     f"{SHIPPED_FILES['panels']}); leave it empty and edit that file")  # fmt: skip
    filled.update({key: str(path) for key, path in SHIPPED_FILES.items() if not filled.get(key)})
    found += gate_metric_problems(filled.get("qc"), source)
    found += coverage_threshold_problems(filled.get("qc"), source)
    centre = filled.get("centre")
    if isinstance(centre, dict) and isinstance(centre.get("language"), str):
        found += language_problem(centre["language"], f"{source}: centre.language")
    if isinstance(filled.get("sites"), str) and filled["sites"]:  # the site registry: read now, refused before any step
        from oncopanel.inputs import SiteRegistry

        try:
            SiteRegistry.read(filled["sites"])
        except OncopanelError as exc:
            found.append(f"{source}: sites: {exc}")
    if isinstance(filled.get("calling"), dict):
        try:
            filled["calling"] = check(filled["calling"], "calling.schema.yaml", source, prefix="calling")
        except ValidationError as exc:
            found += exc.problems
    if found:
        raise ValidationError(sorted(found))
    return filled


# ---------------------------------------------------------------- QC gates: a default block plus overrides


@dataclass(frozen=True)
class QcSettings:
    """The ``qc:`` block: gates as a default list plus overrides per specimen type and per input kind."""

    min_mapping_quality: int
    depth_thresholds: tuple[int, ...]
    default: tuple[Gate, ...]
    specimen_type: dict[str, tuple[Gate, ...]]
    input_kind: dict[str, tuple[Gate, ...]]

    @classmethod
    def from_config(cls, qc: Mapping, source: str = "config") -> QcSettings:
        """From the checked ``qc:`` block (``check_config``); a gate metric QC does not compute is refused."""
        found = gate_metric_problems(qc, source)
        if found:
            raise ValidationError(found)
        gates = qc["gates"]

        def specs(rows: list[dict]) -> tuple[Gate, ...]:
            return tuple(Gate(g["metric"], g["op"], float(g["threshold"])) for g in rows)

        return cls(
            min_mapping_quality=qc["min_mapping_quality"],
            depth_thresholds=tuple(qc["depth_thresholds"]),
            default=specs(gates["default"]),
            specimen_type={k: specs(v) for k, v in gates.get("specimen_type", {}).items()},
            input_kind={k: specs(v) for k, v in gates.get("input_kind", {}).items()},
        )

    def gates_for(self, specimen_type: str, input_kind: str) -> tuple[Gate, ...]:
        """The one place gates are merged: the default list, then the specimen type's overrides, then the input
        kind's (fastq or bam). An override replaces the gate of the same metric, or adds one."""
        merged = {g.metric: g for g in self.default}
        for override in (self.specimen_type.get(specimen_type, ()), self.input_kind.get(input_kind, ())):
            merged.update({g.metric: g for g in override})
        return tuple(merged.values())


def gate_metric_problems(qc: Any, source: str = "config") -> list[str]:
    """A gate naming a metric QC does not compute would fail every sample: refused here, with the closest name.
    Reads whatever parts of the block are well formed (their shape is the schema's to report)."""
    if not isinstance(qc, dict) or not isinstance(qc.get("gates"), dict):
        return []
    levels = qc.get("depth_thresholds")
    known = metric_names([x for x in levels if isinstance(x, int)] if isinstance(levels, list) else [])
    blocks: list[tuple[str, Any]] = [("qc.gates.default", qc["gates"].get("default"))]
    for group in ("specimen_type", "input_kind"):
        overrides = qc["gates"].get(group)
        if isinstance(overrides, dict):
            blocks += [(f"qc.gates.{group}.{name}", rows) for name, rows in overrides.items()]
    found = []
    for where, rows in blocks:
        for i, gate in enumerate(rows if isinstance(rows, list) else []):
            metric = gate.get("metric") if isinstance(gate, dict) else None
            if isinstance(metric, str) and metric not in known:
                suggestion = hint(metric, known, "metric")
                found.append(f"{source}: {where}[{i}].metric: unknown QC metric {metric!r}{suggestion}")
    return found


def coverage_threshold_problems(qc: Any, source: str = "config") -> list[str]:
    """The report judges gene coverage at the reporting policy's threshold: QC must measure that depth."""
    from oncopanel.clinical import COVERAGE_THRESHOLD  # clinical reads its own file through this module

    levels = qc.get("depth_thresholds") if isinstance(qc, dict) else None
    if not isinstance(levels, list) or COVERAGE_THRESHOLD in levels:
        return []
    return [f"{source}: qc.depth_thresholds: must include {COVERAGE_THRESHOLD}, the report's coverage threshold "
            "(reports/reporting.yaml coverage_threshold)"]  # fmt: skip


# ---------------------------------------------------------------- report languages


@functools.cache
def report_fonts() -> dict:
    """reports/fonts.yaml, checked: the fonts and each report language's fonts and line breaking."""
    return load(paths.REPORTS / "fonts.yaml", "fonts.schema.yaml")


def report_languages() -> tuple[str, ...]:
    """The report languages: the ones reports/fonts.yaml gives fonts (each has its text set reports/text/<lang>.yaml).
    Adding a language is data: a text set and a fonts.yaml entry."""
    return tuple(report_fonts()["languages"])


def language_problem(language: str, where: str) -> list[str]:
    """A report language (empty = the default) that has no text set and fonts, as one message line."""
    if not language or language in report_languages():
        return []
    return [f"{where}: unknown report language {language!r}{hint(language, report_languages(), 'language')}"]


def input_kind(from_bam: bool) -> str:
    """The input kind gates are overridden by: a sample with any BAM lane is judged as BAM input."""
    return "bam" if from_bam else "fastq"
