"""Sample-sheet validation: every problem at once, each naming file, row, column and the rule broken."""

from __future__ import annotations

import pytest
from conftest import run_workflow, write_sheet

from oncopanel.errors import ValidationError
from oncopanel.samplesheet import read_sample_sheet, validate_config

FQ = {
    "fastq_1": "demo/real_reads/NA12878_BRCA1/BRCA1_R1.fastq.gz",
    "fastq_2": "demo/real_reads/NA12878_BRCA1/BRCA1_R2.fastq.gz",
}


def problems_of(path) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        read_sample_sheet(path)
    return exc.value.problems


def test_valid_sheet_groups_lanes_into_samples(tmp_path):
    sheet = write_sheet(
        tmp_path / "s.tsv",
        [
            {"sample_id": "T1", "specimen_type": "tumour_ffpe", "tumour_content": "40", "oncotree_code": "LUAD",
             "panels": "EGFR_KRAS,BRCA", "lane": "L001", **FQ},
            {"sample_id": "T1", "specimen_type": "tumour_ffpe", "tumour_content": "40", "oncotree_code": "LUAD",
             "panels": "EGFR_KRAS,BRCA", "lane": "L002", **FQ},
        ],
    )  # fmt: skip
    samples = read_sample_sheet(sheet)
    assert list(samples) == ["T1"]
    t1 = samples["T1"]
    assert [lane.lane for lane in t1.lanes] == ["L001", "L002"]
    assert t1.panels == ("EGFR_KRAS", "BRCA")
    assert t1.tumour_content == 40.0


def test_all_problems_listed_at_once_with_row_and_column(tmp_path):
    sheet = write_sheet(
        tmp_path / "bad.tsv",
        [
            {"sample_id": "S1", **FQ},
            {"sample_id": "S1", **FQ},  # duplicate id + lane
            {"sample_id": "S2", "panels": "BRCA,LUNGX", **FQ},  # unknown panel
            {"sample_id": "S3", "specimen_type": "urine", **FQ},  # unknown specimen type
            {"sample_id": "S4", "fastq_1": "../../etc/passwd", "fastq_2": FQ["fastq_2"]},  # traversal
            {"sample_id": "S5", "tumour_content": "high", **FQ},
            {"sample_id": "S6"},  # no input
            {"sample_id": "S7", "panels": "EGFR_KRAS", **FQ},  # somatic panel on blood
        ],
    )
    problems = problems_of(sheet)
    text = "\n".join(problems)
    assert f"{sheet}: row 3: duplicate sample_id 'S1' with lane 'L001' (first at row 2)" in problems
    assert f"{sheet}: row 4 (sample S2): column panels: unknown panel 'LUNGX'" in text
    assert f"{sheet}: row 5 (sample S3): column specimen_type: 'urine' is not one of" in text
    assert f"{sheet}: row 6 (sample S4): column fastq_1: path traversal ('..') is not allowed" in problems
    assert f"{sheet}: row 7 (sample S5): column tumour_content: 'high' is not a number" in problems
    assert (
        f"{sheet}: row 8 (sample S6): no input: give fastq_1 and fastq_2, or bam, "
        "or list batch 'B1' under pooled_runs in the config"
    ) in problems
    assert "row 9 (sample S7): column panels: EGFR_KRAS is a somatic panel" in text
    assert len(problems) >= 7


def test_index_collision_in_a_lane_is_refused(tmp_path):
    sheet = write_sheet(
        tmp_path / "idx.tsv",
        [
            {"sample_id": "S1", "i7": "ACGTACGT", "i5": "TTGCAAGC", **FQ},
            {"sample_id": "S2", "i7": "ACGTACGT", "i5": "TTGCAAGC", **FQ},
        ],
    )
    assert any("index pair ACGTACGT+TTGCAAGC collides with sample S1" in p for p in problems_of(sheet))


def test_non_utf8_bytes_named_by_line(tmp_path):
    sheet = write_sheet(tmp_path / "enc.tsv", [{"sample_id": "S1", **FQ}])
    sheet.write_bytes(sheet.read_bytes().replace(b"Anxian", b"An\xe9xian"))
    assert problems_of(sheet) == [f"{sheet}: line 2: column site: bytes that are not UTF-8 (byte 15)"]


def test_missing_column_named(tmp_path):
    sheet = tmp_path / "cols.tsv"
    sheet.write_text("sample_id\tbatch\nS1\tB1\n")
    problems = problems_of(sheet)
    assert problems[0].startswith(f"{sheet}: header: missing required column(s): patient, site, specimen_type")


def test_config_schema_names_key(repo_root):
    import yaml

    config = yaml.safe_load((repo_root / "config" / "config.yaml").read_text())
    validate_config(config)
    config["aligner"] = "bowtie"
    config["qc"]["gates"]["default"][0]["op"] = "~"
    with pytest.raises(ValidationError) as exc:
        validate_config(config)
    assert exc.value.problems == [
        "config: aligner: 'bowtie' is not allowed (known values: bwa, minimap2)",
        "config: qc.gates.default[0].op: '~' is not allowed (known values: <, <=, ==, >, >=)",
    ]


# --- run controls: no patient fields, a reference material by name ----------------------------------------------
NO_PATIENT = {"patient": "", "site": "", "specimen_type": "", "oncotree_code": ""}


def fq(n: int) -> dict:
    """A row's own (fictional) FASTQ pair: one file cannot belong to two samples."""
    return {"fastq_1": f"runs/S{n}_R1.fastq.gz", "fastq_2": f"runs/S{n}_R2.fastq.gz"}


def test_control_rows_need_no_patient_fields(tmp_path):
    sheet = write_sheet(
        tmp_path / "controls.tsv",
        [
            {"sample_id": "T1", "specimen_type": "tumour_ffpe", "oncotree_code": "LUAD", "panels": "EGFR_KRAS",
             **fq(1)},
            {"sample_id": "NTC", **NO_PATIENT, "control": "no_template_control", "panels": "EGFR_KRAS", **fq(2)},
            {"sample_id": "PC1", **NO_PATIENT, "control": "positive_control", "reference_material": "COLO829",
             "panels": "EGFR_KRAS,EXTENDED", **fq(3)},
            {"sample_id": "NA12878", **NO_PATIENT, "control": "negative_control", "reference_material": "NA12878",
             **fq(4)},
        ],
    )  # fmt: skip
    samples = read_sample_sheet(sheet)
    assert [(s.sample_id, s.is_control, s.is_patient, s.reference_material) for s in samples.values()] == [
        ("T1", False, True, ""),
        ("NTC", True, False, ""),
        ("PC1", True, False, "COLO829"),
        ("NA12878", True, False, "NA12878"),
    ]
    assert (samples["PC1"].patient, samples["PC1"].specimen_type, samples["PC1"].oncotree_code) == ("", "", "")
    assert samples["PC1"].panels == ("EGFR_KRAS", "EXTENDED")


def test_patient_rows_still_need_patient_fields(tmp_path):
    sheet = write_sheet(tmp_path / "p.tsv", [{"sample_id": "T1", **NO_PATIENT, **fq(5)}])
    needs = "empty; a patient's sample needs it (only a run control, named in the control column, may leave it empty)"
    assert sorted(problems_of(sheet)) == [
        f"{sheet}: row 2 (sample T1): column {column}: {needs}"
        for column in ("oncotree_code", "patient", "site", "specimen_type")
    ]


def test_control_material_must_be_known_and_fit_the_control(tmp_path):
    sheet = write_sheet(
        tmp_path / "m.tsv",
        [
            {"sample_id": "PC1", **NO_PATIENT, "control": "positive_control", "reference_material": "HD701", **fq(6)},
            {"sample_id": "PC2", **NO_PATIENT, "control": "positive_control", **fq(7)},
            {"sample_id": "NC1", **NO_PATIENT, "control": "negative_control", "reference_material": "COLO829", **fq(8)},
            {"sample_id": "NTC", **NO_PATIENT, "control": "no_template_control", "reference_material": "NA12878",
             **fq(9)},
            {"sample_id": "T1", "reference_material": "NA12878", **fq(10)},
        ],
    )  # fmt: skip
    problems = problems_of(sheet)
    where = f"{sheet}: row {{}} (sample {{}}): column reference_material"
    assert problems == [
        where.format(6, "T1") + ": 'NA12878' on a patient's sample; only run controls name a reference material",
        where.format(2, "PC1") + ": unknown reference material 'HD701' (known: COLO829, SIMREF)",
        where.format(3, "PC2") + ": a positive control must name its reference material (known: COLO829, SIMREF)",
        where.format(4, "NC1") + ": 'COLO829' carries expected variants; a negative control is wild type "
        "(known: COLO829BL, NA12878, GIAB)",
        where.format(5, "NTC") + ": 'NA12878' on a no-template control, which holds no material; leave it empty",
    ]
    assert all("\n" not in p for p in problems)


def test_materials_come_from_the_controls_file_given(tmp_path, repo_root):
    """The sheet is checked against the workflow's controls file (config `controls`), not a fixed list."""
    text = (repo_root / "config" / "controls.yaml").read_text().replace("    SIMREF:", "    HD701:")
    controls = tmp_path / "controls.yaml"
    controls.write_text(text)
    row = {"sample_id": "PC1", **NO_PATIENT, "control": "positive_control", "reference_material": "HD701", **fq(11)}
    sheet = write_sheet(tmp_path / "s.tsv", [row])
    assert read_sample_sheet(sheet, controls=controls)["PC1"].reference_material == "HD701"
    assert "unknown reference material 'HD701' (known: COLO829, SIMREF)" in problems_of(sheet)[0]


def test_example_sheet_is_complete(repo_root):
    """config/samples.tsv: an NTC, a positive control with its material, and consent filled in for patients."""
    samples = read_sample_sheet(repo_root / "config" / "samples.tsv")
    controls = {s.control: s for s in samples.values() if s.is_control}
    assert set(controls) >= {"no_template_control", "positive_control"}
    assert controls["positive_control"].reference_material
    patients = [s for s in samples.values() if s.is_patient]
    assert patients and all(s.germline_consent in ("yes", "no") for s in patients)
    for s in samples.values():
        assert all((repo_root / f).exists() for f in s.input_files), s.sample_id


def test_one_file_under_two_samples_is_refused_naming_both(tmp_path):
    """Two patients pointing at one pair of FASTQ files; lanes of one sample may share nothing either way."""
    sheet = write_sheet(
        tmp_path / "dup.tsv",
        [
            {"sample_id": "PA", "patient": "P1", **FQ},
            {"sample_id": "PB", "patient": "P2", "fastq_1": "./" + FQ["fastq_1"], "fastq_2": FQ["fastq_2"]},
        ],
    )
    assert problems_of(sheet) == [
        f"{sheet}: row 3 (sample PB): column fastq_1: ./{FQ['fastq_1']} is also the fastq_1 of sample PA (row 2); "
        "one sequencing file cannot belong to two samples",
        f"{sheet}: row 3 (sample PB): column fastq_2: {FQ['fastq_2']} is also the fastq_2 of sample PA (row 2); "
        "one sequencing file cannot belong to two samples",
    ]


def test_workflow_refuses_a_bad_sheet_with_its_problems_and_no_traceback(tmp_path):
    """The README command on a refused sheet: a headline, one line a problem, exit 1, no Snakemake traceback."""
    sheet = write_sheet(
        tmp_path / "bad.tsv",
        [
            {"sample_id": "PA", "patient": "P1", **FQ},
            {"sample_id": "PB", "patient": "P2", "panels": "LUNGX", **FQ},
        ],
    )
    proc = run_workflow(sheet, tmp_path / "results")
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if "is extended by additional config" not in line]
    assert lines == [
        "Refused before any step ran: 3 problems in the configuration or sample sheet:",
        f"{sheet}: row 3 (sample PB): column panels: unknown panel 'LUNGX' (known: BRCA, EGFR_KRAS, EXTENDED)",
        f"{sheet}: row 3 (sample PB): column fastq_1: {FQ['fastq_1']} is also the fastq_1 of sample PA (row 2); "
        "one sequencing file cannot belong to two samples",
        f"{sheet}: row 3 (sample PB): column fastq_2: {FQ['fastq_2']} is also the fastq_2 of sample PA (row 2); "
        "one sequencing file cannot belong to two samples",
    ]
    assert not (tmp_path / "results").exists()


def test_line_of_therapy_is_an_optional_checked_column(tmp_path):
    row = {"sample_id": "T1", "specimen_type": "tumour_ffpe", "tumour_content": "40", "oncotree_code": "LUAD",
           "panels": "EGFR_KRAS", "lane": "L001", **FQ}
    good = write_sheet(tmp_path / "good.tsv", [{**row, "line_of_therapy": "progressed_on:osimertinib"}])
    assert read_sample_sheet(good)["T1"].line_of_therapy == "progressed_on:osimertinib"
    assert read_sample_sheet(write_sheet(tmp_path / "none.tsv", [row]))["T1"].line_of_therapy == ""
    bad = write_sheet(tmp_path / "bad.tsv", [{**row, "line_of_therapy": "second line"}])
    assert any("line_of_therapy" in p for p in problems_of(bad))
