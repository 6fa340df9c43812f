"""The settings layer: every YAML checked against its schema, one line a problem, unknown keys refused, QC gates
merged per specimen type and input kind in one place."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import run_workflow, write_sheet

from oncopanel import paths, settings
from oncopanel.batch.lab import load_lab_config
from oncopanel.calling import settings as calling_settings
from oncopanel.classify.germline import parse_germline_rules
from oncopanel.errors import ValidationError
from oncopanel.qc import Gate, summarise
from oncopanel.sample_identity.criteria import load_criteria
from oncopanel.samplesheet import validate_config
from oncopanel.settings import QcSettings, check_config

CONFIG = yaml.safe_load((paths.CONFIG / "config.yaml").read_text())
CALLING_YAML = (paths.CONFIG / "calling.yaml").read_text()


def config(**changes) -> dict:
    doc = copy.deepcopy(CONFIG)
    doc.update(changes)
    return doc


def problems(fn, *args) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        fn(*args)
    return exc.value.problems


# ---------------------------------------------------------------- every file has a schema and passes it

SHIPPED = [
    ("config/config.yaml", "config.schema.yaml", None),
    ("config/calling.yaml", "calling.schema.yaml", "calling"),
    ("config/controls.yaml", "controls.schema.yaml", None),
    ("tests/data/controls_not_required.yaml", "controls.schema.yaml", None),
    ("config/lab.yaml", "lab.schema.yaml", None),
    ("annotation/panels/panels.yaml", "panels.schema.yaml", None),
    ("reports/failure_kinds.yaml", "failure_kinds.schema.yaml", None),
    ("reports/reporting.yaml", "reporting.schema.yaml", None),
    ("reports/fonts.yaml", "fonts.schema.yaml", None),
    ("annotation/germline/germline_rules.yaml", "germline_rules.schema.yaml", None),
    ("config/cnv.yaml", "cnv.schema.yaml", None),
    ("config/umi.yaml", "umi.schema.yaml", None),
]


@pytest.mark.parametrize(("path", "schema", "key"), SHIPPED)
def test_every_shipped_yaml_passes_its_schema(path, schema, key):
    settings.load(paths.ROOT / path, schema, key=key)


@pytest.mark.parametrize("schema", sorted({s for _, s, _ in SHIPPED}))
def test_schemas_are_valid_refuse_unknown_keys_and_describe_themselves(schema):
    doc = settings.schema(schema)
    jsonschema.Draft202012Validator.check_schema(doc)
    assert doc["additionalProperties"] is False and doc["description"]


def test_the_shipped_config_passes_and_gets_the_schemas_defaults():
    minimal = {k: CONFIG[k] for k in ("samples", "centre", "reference", "qc")}
    filled = check_config(minimal, "config/config.yaml")
    assert filled["aligner"] == "minimap2" and filled["realign"] is False and filled["pooled_runs"] == {}
    # plasma cfDNA with UMIs is duplicated by design (issue 18): its one override
    plasma = [{"metric": "duplicate_rate", "op": "<=", "threshold": 0.95}]
    assert filled["qc"]["gates"]["specimen_type"] == {"plasma_cfdna": plasma}
    assert filled["report"] == {"report_benign": False, "date": ""}


def test_the_specimen_types_are_one_list():
    """The sheet's specimen types, the gate overrides the config accepts and the model's are the same five."""
    from typing import get_args

    from oncopanel.model import GERMLINE_SPECIMENS, TUMOUR_SPECIMENS, SpecimenType

    sheet = set(settings.schema("samples.schema.yaml")["properties"]["specimen_type"]["enum"]) - {""}
    gates = settings.schema("config.schema.yaml")["properties"]["qc"]["properties"]["gates"]["properties"]
    assert sheet == set(gates["specimen_type"]["properties"]) == set(get_args(SpecimenType))
    assert sheet == set(GERMLINE_SPECIMENS) | set(TUMOUR_SPECIMENS)


# ---------------------------------------------------------------- one message style


def test_unknown_key_refused_with_the_closest_known_key():
    assert problems(check_config, config(relaign=True), "config/config.yaml") == [
        "config/config.yaml: relaign: unknown key (closest known key: realign)"
    ]


def test_nested_unknown_key_and_unknown_value_name_the_known_ones():
    doc = config(aligner="bowtie")
    doc["qc"] = {**doc["qc"], "gates": {**doc["qc"]["gates"], "specimen_type": {"blood": []}}}
    assert problems(validate_config, doc, "config/config.yaml") == [
        "config/config.yaml: aligner: 'bowtie' is not allowed (known values: bwa, minimap2)",
        "config/config.yaml: qc.gates.specimen_type.blood: unknown key (closest known key: blood_germline)",
    ]


def test_wrong_type_in_the_calling_block_is_one_line(tmp_path):
    """Snakemake's validate printed the first error and a 32-line schema dump; now one line a problem, all at once."""
    bad = tmp_path / "calling.yaml"
    bad.write_text(
        CALLING_YAML.replace("min_vaf: 0.01", "min_vaf: one percent").replace("min_normals: 3", "min_normal: 3")
    )
    assert problems(calling_settings.load, bad) == [
        f"{bad}: calling.somatic.filters.min_vaf: must be a number (got 'one percent')",
        f"{bad}: calling.somatic.pon.min_normal: unknown key (closest known key: min_normals)",
        f"{bad}: calling.somatic.pon.min_normals: missing",
    ]


def test_the_calling_block_a_config_file_carries_is_checked_with_the_config():
    block = yaml.safe_load(CALLING_YAML)["calling"]
    block["relaign"] = True
    assert problems(check_config, config(calling=block), "run.yaml") == [
        "run.yaml: calling.relaign: unknown key (known keys: force_hotspots, germline, hotspots, lod, plain_fasta, "
        "somatic)"
    ]


def test_calling_load_validates_and_fills_the_schema_defaults(tmp_path):
    path = tmp_path / "calling.yaml"
    path.write_text(CALLING_YAML.replace("force_hotspots: true", ""))
    loaded = calling_settings.load(path)
    assert loaded.force_hotspots is True and loaded.germline_genes == ("BRCA1", "BRCA2")


def test_the_hotspot_rule_is_read_from_calling_yaml(tmp_path):
    """calling.hotspots is the one home of the hotspot detection rule: its values reach the thresholds the
    hotspot engine runs with; a misspelt key is refused with the closest one."""
    path = tmp_path / "calling.yaml"
    line = "min_alt_reads: 3         # at"  # the hotspots block's line
    assert CALLING_YAML.count(line) == 1
    path.write_text(CALLING_YAML.replace(line, "min_alt_reads: 7 #").replace(
        "deletion_error_rate: 0.0001", "deletion_error_rate: 0.0003"))  # fmt: skip
    rule = calling_settings.load(path).hotspots
    th = rule.thresholds(0.05)
    assert (th.min_alt, th.alpha, th.power, th.stated_lod) == (7, 0.001, 0.95, 0.05)
    assert rule.background.deletion == 0.0003 and rule.background.substitution["C>T"] == 0.002
    assert (th.min_base_quality, th.min_mapping_quality) == (20, 20)  # the VCF's counting floors
    assert th.damage_classes == {"C>T", "C>A"} and th.min_reads_per_orientation == 2  # somatic.filters.damage
    path.write_text(CALLING_YAML.replace(line, "min_alt_read: 3 #"))
    assert problems(calling_settings.load, path) == [
        f"{path}: calling.hotspots.min_alt_read: unknown key (closest known key: min_alt_reads)"
    ]


def test_hotspot_rule_schema_defaults_are_calling_yaml_values():
    """The schema's defaults (used when a config file's calling: block has no hotspots:) are the values chosen in
    config/calling.yaml, so a run without the block does not silently use another rule."""
    chosen = yaml.safe_load(CALLING_YAML)["calling"]["hotspots"]
    block = yaml.safe_load(CALLING_YAML)["calling"]
    del block["hotspots"]
    assert calling_settings.check_block(block)["hotspots"] == chosen


def test_not_yaml_and_missing_file_are_one_line(tmp_path):
    broken = tmp_path / "lab.yaml"
    broken.write_text("run_types: [\n")
    assert problems(load_lab_config, broken) == [
        f"{broken}: not valid YAML: line 2: expected the node content, but found '<stream end>'"
    ]
    assert problems(load_lab_config, tmp_path / "none.yaml") == [f"{tmp_path / 'none.yaml'}: not found"]


def test_a_misspelt_controls_section_is_refused_not_replaced_by_code_defaults(tmp_path):
    path = tmp_path / "controls.yaml"
    text = (paths.CONFIG / "controls.yaml").read_text()
    path.write_text(text.replace("\ncontamination:", "\ncontaminaton:"))
    assert problems(load_criteria, path) == [
        f"{path}: contamination: missing",
        f"{path}: contaminaton: unknown key (closest known key: contamination)",
    ]


def test_germline_rules_name_an_unknown_strength_and_a_missing_gene():
    raw = yaml.safe_load((paths.ANNOTATION / "germline/germline_rules.yaml").read_text())
    raw["genes"]["BRCA1"]["start_loss_strength"] = "moderat"
    del raw["genes"]["BRCA2"]
    assert problems(parse_germline_rules, raw, "rules.yaml") == [
        "rules.yaml: points: no points for strength 'moderat' (closest known strength: moderate)",
        "rules.yaml: genes.BRCA2: missing (a germline gene of reports/reporting.yaml needs rules)",
    ]


# ---------------------------------------------------------------- QC gates: data, checked, merged in one place


def test_a_misspelt_gate_metric_is_refused_at_load_with_the_closest_name():
    doc = config()
    doc["qc"] = copy.deepcopy(doc["qc"])
    doc["qc"]["gates"]["default"][0]["metric"] = "mean_target_dept"
    doc["qc"]["gates"]["input_kind"] = {"bam": [{"metric": "q30", "op": ">=", "threshold": 0.7}]}
    assert problems(check_config, doc, "config/config.yaml") == [
        "config/config.yaml: qc.gates.default[0].metric: unknown QC metric 'mean_target_dept' "
        "(closest known metric: mean_target_depth)",
        "config/config.yaml: qc.gates.input_kind.bam[0].metric: unknown QC metric 'q30' "
        "(closest known metric: q30_rate)",
    ]


def test_a_breadth_gate_and_the_report_need_their_depth_among_the_thresholds():
    doc = config()
    doc["qc"] = {**doc["qc"], "depth_thresholds": [250, 500]}
    assert problems(check_config, doc, "c.yaml") == [
        "c.yaml: qc.depth_thresholds: must include 100, the report's coverage threshold "
        "(reports/reporting.yaml coverage_threshold)",
        "c.yaml: qc.gates.default[1].metric: unknown QC metric 'fraction_target_bases_ge_100x' "
        "(closest known metric: fraction_target_bases_ge_500x)",
    ]


BLOOD_50X = {"blood_germline": [{"metric": "mean_target_depth", "op": ">=", "threshold": 50}]}
BAM_NO_Q30 = {"bam": [{"metric": "q30_rate", "op": ">=", "threshold": 0.0}]}


def qc_settings() -> QcSettings:
    doc = config()
    doc["qc"] = copy.deepcopy(doc["qc"])
    doc["qc"]["gates"].update(specimen_type=BLOOD_50X, input_kind=BAM_NO_Q30)
    return QcSettings.from_config(check_config(doc)["qc"])


def test_per_specimen_and_per_input_overrides_are_merged_over_the_default():
    qc = qc_settings()
    depth = {s: {g.metric: g for g in qc.gates_for(s, "fastq")}["mean_target_depth"] for s in
             ("blood_germline", "tumour_ffpe", "tumour_fresh", "saliva")}  # fmt: skip
    assert depth["blood_germline"] == Gate("mean_target_depth", ">=", 50.0)
    assert depth["tumour_ffpe"] == depth["tumour_fresh"] == depth["saliva"] == Gate("mean_target_depth", ">=", 100.0)
    # the override replaces its metric's gate in place; the others stay as the default gives them
    assert [g.metric for g in qc.gates_for("blood_germline", "bam")] == [g.metric for g in qc.default]
    bam = {g.metric: g.threshold for g in qc.gates_for("blood_germline", "bam")}
    assert bam["q30_rate"] == 0.0 and bam["mean_target_depth"] == 50.0
    assert {g.metric: g.threshold for g in qc.gates_for("tumour_ffpe", "fastq")}["q30_rate"] == 0.75


def _coverage(tmp_path: Path, depth: float) -> tuple[Path, Path]:
    regions, thresholds = tmp_path / "regions.bed", tmp_path / "thresholds.bed"
    regions.write_text(f"chr1\t0\t1000\tBRCA1_exon2\t{depth}\n")
    thresholds.write_text("#chrom\tstart\tend\tregion\t100X\t250X\t500X\nchr1\t0\t1000\tBRCA1_exon2\t0\t0\t0\n")
    return regions, thresholds


def test_qc_judges_a_60x_blood_sample_a_pass_and_a_60x_tumour_a_fail(tmp_path):
    qc = qc_settings()
    regions, thresholds = _coverage(tmp_path, 60.0)

    def depth_gate(specimen: str) -> dict:
        gates = [g for g in qc.gates_for(specimen, "fastq") if g.metric == "mean_target_depth"]
        summary = summarise("S1", {"status": "ok"}, gates, [100, 250, 500], regions_bed=regions,
                            thresholds_bed=thresholds)  # fmt: skip
        return summary["gates"][0]

    assert depth_gate("blood_germline") == {
        "metric": "mean_target_depth", "op": ">=", "threshold": 50.0, "value": 60.0, "pass": True
    }  # fmt: skip
    assert depth_gate("tumour_ffpe")["pass"] is False


def test_every_metric_name_is_one_qc_computes(tmp_path):
    """metric_names, which the gates are checked against, is exactly what a QC JSON carries."""
    from oncopanel.qc import metric_names

    fastp = tmp_path / "fastp.json"
    fastp.write_text(json.dumps({"summary": {
        "before_filtering": {"total_reads": 10},
        "after_filtering": {"total_reads": 10, "total_bases": 1000, "q30_bases": 900},
    }}))  # fmt: skip
    stats = tmp_path / "stats.txt"
    stats.write_text("SN\traw total sequences:\t10\nSN\treads mapped:\t10\nIS\t150\t5\n")
    regions, thresholds = _coverage(tmp_path, 120.0)
    summary = summarise("S1", {"status": "ok"}, [], [100, 250, 500], fastp_jsons=[fastp], samtools_stats=stats,
                        regions_bed=regions, thresholds_bed=thresholds)  # fmt: skip
    assert sorted(summary["metrics"]) == sorted(metric_names([100, 250, 500]))


def test_the_workflow_refuses_a_bad_config_before_any_step_with_one_line_each(tmp_path):
    """The README command with an overlay carrying a misspelt key and a misspelt gate metric: exit 1, no traceback,
    no schema dump, nothing written."""
    gates = copy.deepcopy(CONFIG["qc"]["gates"])
    gates["default"][0]["metric"] = "mean_target_dept"
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(yaml.safe_dump({"relaign": True, "qc": {**CONFIG["qc"], "gates": gates}}))
    sheet = write_sheet(tmp_path / "samples.tsv", [{"sample_id": "S1", "patient": "P1"}])
    extra = ("--configfile", "config/config.yaml", str(overlay), "--dry-run")
    proc = run_workflow(sheet, tmp_path / "results", extra=extra)
    lines = [line for line in proc.stderr.splitlines() if "is extended by additional config" not in line]
    source = f"config/config.yaml + {overlay}"
    assert (proc.returncode, lines) == (1, [
        "Refused before any step ran: 2 problems in the configuration or sample sheet:",
        f"{source}: qc.gates.default[0].metric: unknown QC metric 'mean_target_dept' "
        "(closest known metric: mean_target_depth)",
        f"{source}: relaign: unknown key (closest known key: realign)",
    ])  # fmt: skip
    assert not (tmp_path / "results").exists()


def test_a_panel_file_no_step_would_read_is_refused():
    doc = settings.read_yaml(paths.CONFIG / "config.yaml")
    doc["panels"] = "my/panels.yaml"
    with pytest.raises(ValidationError) as err:
        settings.check_config(doc, "config/config.yaml")
    assert any(p.startswith("config/config.yaml: panels: a centre's own panel file is not supported yet")
               for p in err.value.problems)  # fmt: skip
    doc["panels"] = str(paths.ANNOTATION / "panels" / "panels.yaml")
    settings.check_config(doc, "config/config.yaml")
