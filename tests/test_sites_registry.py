"""The sample sheet's site against the centre's site registry (issue 19): `oncopanel sites export` writes it, the
config key `sites` names it, the workflow's input check refuses a sample naming another site with one line (the
rest of the batch goes on); empty key: no registry, no check."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fixtures import reads_from_region

import oncopanel.inputs as inputs
from oncopanel.cli import main
from oncopanel.errors import InputError, ValidationError
from oncopanel.failures import FailureKind, kind_of_input_problems
from oncopanel.samplesheet import Lane, Sample
from oncopanel.settings import load_config

ROOT = Path(__file__).resolve().parents[1]
FAI = ROOT / "tests" / "data" / "grch38_panel_masked.fa.gz.fai"


def _sample(sid: str, site: str, r1: Path, r2: Path) -> Sample:
    return Sample(sid, f"P-{sid}", "B1", site, "tumour_ffpe", 50.0, "LUAD", ("EGFR_KRAS",),
                  lanes=[Lane("L001", str(r1), str(r2))])  # fmt: skip


@pytest.fixture()
def registry(tmp_path, capsys) -> Path:
    """The registry exported from the review application's database."""
    db = ["--db", f"sqlite:///{tmp_path / 'sites.sqlite'}"]
    assert main(["sites", *db, "add", "Anxian County", "--name", "Anxian County People's  Hospital"]) == 0
    assert main(["sites", *db, "add", "安化县", "--name", "安化县人民医院"]) == 0
    capsys.readouterr()
    assert main(["sites", *db, "export"]) == 0
    out = capsys.readouterr().out
    assert out == "code\tname\nAnxian County\tAnxian County People's Hospital\n安化县\t安化县人民医院\n"
    path = tmp_path / "sites.tsv"
    assert main(["sites", *db, "export", "--out", str(path)]) == 0
    assert path.read_text(encoding="utf-8") == out
    return path


def test_export_reads_back_as_the_registry(registry):
    reg = inputs.SiteRegistry.read(registry, "config/samples.tsv")
    assert reg.codes == {"Anxian County", "安化县"}


def test_an_unknown_site_fails_that_sample_alone_with_one_line(tmp_path, registry):
    a1, a2 = reads_from_region(tmp_path / "a", "chr12", 25245000, 25245700, n_pairs=20)
    b1, b2 = reads_from_region(tmp_path / "b", "chr12", 25245000, 25245700, n_pairs=20, seed=5)
    ntc1, ntc2 = reads_from_region(tmp_path / "n", "chr12", 25245000, 25245700, n_pairs=20, seed=9)
    ntc = replace(_sample("NTC", "", ntc1, ntc2), patient="", control="no_template_control")
    samples = [_sample("S1", "安化县", a1, a2), _sample("S2", "Beiling County", b1, b2), ntc]
    sites = inputs.SiteRegistry.read(registry, "config/samples.tsv")
    checks = inputs.check_batch_inputs(samples, FAI, False, sites=sites)
    assert checks["S1"].ok and checks["NTC"].ok  # the rest of the batch goes on; a run control has no site
    assert checks["S2"].problems == [
        f"sample S2: config/samples.tsv: site 'Beiling County' is not a code of the site registry ({registry})"
    ]
    assert checks["S2"].problem_codes == ["unknown_site"]
    assert checks["S2"].as_dict()["status"] == "failed"
    # the sheet is corrected and the sample re-run: not a specimen fault
    assert kind_of_input_problems(["unknown_site"]) == FailureKind("analysis_incomplete")
    # without a registry (the demo): no check
    assert inputs.check_batch_inputs(samples, FAI, False)["S2"].ok


def test_an_unusable_registry_is_refused_before_any_step(tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text("code\tname\n", encoding="utf-8")
    with pytest.raises(InputError, match="no site codes"):
        inputs.SiteRegistry.read(empty)
    with pytest.raises(InputError, match="not readable"):
        inputs.SiteRegistry.read(tmp_path / "missing.tsv")


def test_the_sites_config_key(tmp_path, registry):
    config = tmp_path / "config.yaml"
    base = (ROOT / "config" / "config.yaml").read_text(encoding="utf-8")
    assert load_config([ROOT / "config" / "config.yaml"])["sites"] == ""  # the demo: no registry
    config.write_text(base.replace('\nsites: ""', f"\nsites: {registry}"), encoding="utf-8")
    assert load_config([config])["sites"] == str(registry)
    config.write_text(base.replace('\nsites: ""', f"\nsites: {tmp_path / 'nowhere.tsv'}"), encoding="utf-8")
    with pytest.raises(ValidationError) as refused:
        load_config([config])
    assert [p for p in refused.value.problems if "sites:" in p] == [
        f"{config}: sites: site registry {tmp_path / 'nowhere.tsv'}: not readable as `oncopanel sites export` "
        f"writes it ([Errno 2] No such file or directory: '{tmp_path / 'nowhere.tsv'}')"
    ]
