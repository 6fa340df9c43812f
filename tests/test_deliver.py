"""A batch's results and PDFs come from one process, one sample's error never stops the others, and a delivered
result is never overwritten: re-runs are offered for release and only change what is provisional."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from oncopanel import paths
from oncopanel.deliver import Settings, deliver_batch, finalize_failed_run, plan_delivery, stage_paths
from oncopanel.release import Release, delivery_paths, draft_paths
from oncopanel.samplesheet import Lane, Sample

ROOT = Path(__file__).resolve().parent.parent


def _sample(sid: str) -> Sample:
    return Sample(sid, f"P-{sid}", "B1", "Anxian County", "tumour_ffpe", 40.0, "LUAD", ("EGFR_KRAS",),
                  lanes=[Lane("L001", f"{sid}_R1.fq.gz", f"{sid}_R2.fq.gz")])  # fmt: skip


def _stage_files(results: Path, sid: str, check_ok: bool, vcf_text: str) -> None:
    for d in ("qc", "inputs", "calls", "hotspots"):
        (results / d).mkdir(parents=True, exist_ok=True)
    problems = [] if check_ok else [f"sample {sid}: {sid}_R1.fq.gz: truncated gzip stream"]
    check = {"sample_id": sid, "status": "ok" if check_ok else "failed", "problems": problems, "files": []}
    (results / "inputs" / f"{sid}.inputs.json").write_text(json.dumps(check))
    qc = {"status": "pass" if check_ok else "failed", "failure_stage": "" if check_ok else "input",
          "reasons": problems, "metrics": {}, "gates": [], "genes": {}}  # fmt: skip
    (results / "qc" / f"{sid}.qc.json").write_text(json.dumps(qc))
    (results / "calls" / f"{sid}.vcf.gz").write_text(vcf_text)


def _complete_stages(results: Path, sid: str) -> None:
    """A sample whose every stage finished: input check and QC passed, a bgzipped VCF, a hotspot table."""
    import pysam

    from oncopanel.hotspots import write_hotspot_table

    _stage_files(results, sid, check_ok=True, vcf_text="")
    vcf = results / "calls" / f"{sid}.vcf.gz"
    vcf.unlink()
    pysam.tabix_compress(str(ROOT / "tests/data/annotate/calls.vcf"), str(vcf))
    write_hotspot_table({sid: []}, results / "hotspots" / f"{sid}.hotspots.tsv")


def _pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())


def _batch_identity(results: Path) -> Path:
    path = results / "identity" / "B1.batch_identity.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"batch": "B1", "batch_held": False, "held_samples": [], "reasons": []}))
    return path


def _settings(results: Path, identity: Path | None = None, date: str = "2026-11-25") -> Settings:
    provenance = results / "provenance.json"
    if not provenance.exists():
        provenance.write_text(json.dumps({"pipeline_version": "0.1.0", "reference": {"name": "grch38"}}))
    return Settings(
        formulary=ROOT / "config/formulary.tsv", provenance=provenance, centre={"language": "en", "name": "Centre"},
        results=results, identity_manifest=identity, reported_date=date,
    )  # fmt: skip


def test_one_broken_sample_gets_a_failed_report_and_the_batch_goes_on(tmp_path):
    results = tmp_path / "results"
    _stage_files(results, "S1", check_ok=False, vcf_text="")  # failed its input check
    _stage_files(results, "S2", check_ok=True, vcf_text="this is not a VCF\n")  # crashes the annotation
    batch_identity = _batch_identity(results)
    identity = tmp_path / "identity.yaml"
    identity.write_text(
        "- {sample_id: S1, patient: P-S1, name: Li Hua, sex: F, birth_date: '1960-03-07',"
        " resident_id: '990101196003070312', hospital: Anxian, record_number: AX-1, ordering_clinician: Dr Zhao,"
        " collection_date: '2026-11-10', receipt_date: '2026-11-16', germline_consent: 'no'}\n"
    )
    settings = _settings(results, identity)
    deliveries = [plan_delivery(str(results), _sample(s), str(batch_identity)) for s in ("S1", "S2")]
    lines = deliver_batch(deliveries, settings)

    assert lines[0] == "S1: failed analysis_incomplete → released as v1"  # a truncated file: a transfer fault
    assert lines[1] == "S2: failed analysis_incomplete → released as v1"
    assert lines[2].startswith("S2: results assembly: ")  # the error, for the lab's log only
    for sid in ("S1", "S2"):
        for path in [*delivery_paths(str(results), sid).values(), *draft_paths(str(results), sid).values()]:
            assert Path(path).exists(), path
    s1 = json.loads((results / "result/S1.result.json").read_text())
    assert s1["failure"]["stage"] == "input" and "truncated gzip stream" in s1["failure"]["reasons"][0]
    s2 = json.loads((results / "result/S2.result.json").read_text())
    assert s2["status"] == "failed" and s2["failure"] == {
        "stage": "pipeline", "kind": "analysis_incomplete", "reasons": ["the result could not be assembled"],
        "gates_failed": [], "next_report_date": "2026-11-27",
    }  # fmt: skip
    text = _pdf_text(results / "reports/S2.pdf")
    assert "ANALYSIS INCOMPLETE" in text and "No new specimen is needed" in text and "Error" not in text
    # the release's anchor in the audit chain, in the result and printed in its report
    anchor = s2["provenance"]
    assert (anchor["report_version"], anchor["audit_entry_index"]) == (1, 1)
    assert anchor["audit_head_sha256"] in text.replace(" ", "")
    assert "report version 1; audit log entry 1" in text
    # identity joins at rendering only: in S1's PDF, never in its result files
    assert "Li Hua" in _pdf_text(results / "reports/S1.pdf")
    for path in delivery_paths(str(results), "S1").values():
        if not path.endswith((".pdf", ".parquet")):
            assert "Li Hua" not in Path(path).read_text(), path
    status = Release(results, "S2").index["versions"][0]
    assert status["provisional"] and status["lab_detail"][0].startswith("results assembly: ")


def _deliver_s1(results: Path, date: str, check_ok: bool) -> list[str]:
    _stage_files(results, "S1", check_ok=check_ok, vcf_text="")
    plan = plan_delivery(str(results), _sample("S1"), str(_batch_identity(results)))
    return deliver_batch([plan], _settings(results, date=date))


def test_a_rerun_that_says_the_same_changes_no_byte(tmp_path):
    results = tmp_path / "results"
    _deliver_s1(results, "2026-11-25", check_ok=False)
    before = {p: Path(p).read_bytes() for p in delivery_paths(str(results), "S1").values()}
    lines = _deliver_s1(results, "2026-12-03", check_ok=False)  # another day: only the date would differ
    assert lines == ["S1: failed analysis_incomplete → unchanged (v1 stands)"]
    assert {p: Path(p).read_bytes() for p in before} == before


def test_a_delivered_file_edited_or_lost_is_restored_from_its_version(tmp_path):
    results = tmp_path / "results"
    _deliver_s1(results, "2026-11-25", check_ok=False)
    pdf = results / "reports/S1.pdf"
    original = pdf.read_bytes()
    pdf.write_bytes(b"%PDF-1.4 forged")
    (results / "result/S1.result.json").unlink()
    _deliver_s1(results, "2026-11-25", check_ok=False)
    assert pdf.read_bytes() == original and (results / "result/S1.result.json").exists()


def test_a_provisional_result_is_replaced_as_a_new_version_and_the_old_one_kept(tmp_path):
    results = tmp_path / "results"
    _deliver_s1(results, "2026-11-25", check_ok=False)  # analysis incomplete
    v1 = (results / "result/S1.result.json").read_bytes()
    _complete_stages(results, "S1")
    plan = plan_delivery(str(results), _sample("S1"), str(_batch_identity(results)))
    lines = deliver_batch([plan], _settings(results, date="2026-11-27"))
    assert lines[0].endswith("→ released as v2"), lines
    v2 = json.loads((results / "result/S1.result.json").read_text())
    assert v2["amendment"] == {"supersedes": "OP-B1-S1 v1",
                               "reason": "the analysis, incomplete in the earlier report, was completed"}  # fmt: skip
    assert v2["provenance"]["report_version"] == 2
    assert (results / "release/S1/v1/result.json").read_bytes() == v1
    index = Release(results, "S1").index
    assert [v["version"] for v in index["versions"]] == [1, 2] and index["versions"][0]["superseded_by"] == 2
    assert "AMENDED REPORT — supersedes report OP-B1-S1 v1" in _pdf_text(results / "reports/S1.pdf")
    # both versions are anchored in the audit chain; cutting its last entry (v2's release) is detected
    from oncopanel.audit import verify_results

    assert verify_results(results).ok
    log = results / "audit.log"
    log.write_text("".join(log.read_text().splitlines(keepends=True)[:-1]))
    verdict = verify_results(results)
    assert not verdict.ok
    assert any(line.startswith("result/S1.result.json (sample S1): audit anchor missing") for line in verdict.lines)


def test_a_final_result_changes_only_by_amendment(tmp_path):
    results = tmp_path / "results"
    _complete_stages(results, "S1")
    plan = plan_delivery(str(results), _sample("S1"), str(_batch_identity(results)))
    deliver_batch([plan], _settings(results))
    released = {p: Path(p).read_bytes() for p in delivery_paths(str(results), "S1").values()}
    assert json.loads(released[str(results / "result/S1.result.json")])["status"] == "reported"
    # a re-run finds something else (here: the input now fails) — the delivered report stays as it was
    _stage_files(results, "S1", check_ok=False, vcf_text="")
    lines = deliver_batch([plan], _settings(results))
    assert lines == ["S1: failed analysis_incomplete → differs from the released v1; kept, pending amendment"]
    assert {p: Path(p).read_bytes() for p in released} == released
    assert Release(results, "S1").index["pending"]["kind"] == "analysis_incomplete"
    # the lab decides: an explicit amendment releases it as v2, with its reason
    # its configuration is read by the settings layer, as the workflow reads it: a misspelt key is refused
    workflow_config = str(paths.CONFIG / "config.yaml")
    config = tmp_path / "config.yaml"
    config.write_text("centre: {langauge: en, name: Centre}\n")
    amend = [
        str(Path(sys.executable).parent / "oncopanel"),
        "amend",
        "--results",
        str(results),
        "--sample",
        "S1",
        "--reason",
        "input files found corrupt on re-check",
        "--configfile",
        workflow_config,
        str(config),
    ]
    refused = subprocess.run(amend, capture_output=True, text=True)
    assert refused.returncode == 2
    assert f"{config}: centre.langauge: unknown key (closest known key: language)" in refused.stderr
    assert Release(results, "S1").index["pending"]  # nothing released
    config.write_text("centre: {language: en, name: Centre}\n")
    out = subprocess.run(amend, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "S1: released v2 (amends v1: input files found corrupt on re-check)"
    assert "Reason for amendment: input files found corrupt on re-check" in _pdf_text(results / "reports/S1.pdf")
    assert (results / "release/S1/v1/report.pdf").read_bytes() == released[str(results / "reports/S1.pdf")]
    again = subprocess.run(
        [str(Path(sys.executable).parent / "oncopanel"), "amend", "--results", str(results), "--sample", "S1",
         "--reason", "again", "--configfile", workflow_config, str(config)], capture_output=True, text=True,
    )  # fmt: skip
    assert again.returncode == 2
    assert again.stderr.strip() == "oncopanel: error: sample S1: no pending re-run result differs from released v2"


def test_batch_input_check_isolates_an_unexpected_error(tmp_path, monkeypatch):
    import oncopanel.inputs as inputs

    real = inputs.check_sample_inputs

    def flaky(sample, fai, realign, root=Path(".")):
        if sample.sample_id == "S2":
            raise PermissionError(13, "Permission denied", sample.lanes[0].fastq_1)
        return real(sample, fai, realign, root)

    monkeypatch.setattr(inputs, "check_sample_inputs", flaky)
    checks = inputs.check_batch_inputs([_sample("S1"), _sample("S2")], tmp_path / "ref.fa.fai", False, threads=2)
    assert list(checks) == ["S1", "S2"]
    assert not checks["S1"].ok and "S1_R1.fq.gz" in checks["S1"].problems[0]  # missing file: the usual reason
    assert checks["S2"].problems == [
        "sample S2: S2_R1.fq.gz, S2_R2.fq.gz: unreadable ([Errno 13] Permission denied: 'S2_R1.fq.gz')"
    ]


def test_samples_a_failed_run_left_without_a_draft_get_one_and_complete_samples_their_real_result(tmp_path):
    results = tmp_path / "results"
    _complete_stages(results, "S1")  # S1's stages all finished before the run failed
    settings = _settings(results)
    criteria = ROOT / "tests/data/controls_not_required.yaml"
    samples = [_sample("S1"), _sample("S2")]
    lines = finalize_failed_run(samples, {"S2": ["markdup"]}, settings, criteria=criteria, log_dir="results/logs")

    assert lines[0] == "S1: released as v1 (complete)"
    assert lines[1] == "S2: released as v1 (the analysis stopped at markdup; see results/logs/)"
    s1 = json.loads((results / "result/S1.result.json").read_text())
    assert s1["status"] == "reported"  # the batch step never ran, but S1's own result is whole
    assert "batch_identity" in s1["provenance"]["batch_inputs"]  # computed from what the run left
    s2 = json.loads((results / "result/S2.result.json").read_text())
    assert s2["failure"]["kind"] == "analysis_incomplete"
    assert s2["failure"]["reasons"] == ["the analysis did not complete"]
    assert s2["provenance"]["pipeline_version"]
    assert Release(results, "S2").index["versions"][0]["lab_detail"] == [
        "the analysis stopped at markdup; see results/logs/"
    ]
    text = _pdf_text(results / "reports/S2.pdf")
    assert "ANALYSIS INCOMPLETE" in text and "markdup" not in text


@pytest.mark.parametrize("sid", ["S1"])
def test_delivery_paths_are_by_pseudonym(sid):
    paths = [*delivery_paths("results", sid).values(), *stage_paths("results", sid).values()]
    assert all(sid in p and "P-" not in p for p in paths)


def test_a_full_disk_while_releasing_leaves_the_delivered_version_as_it_was(tmp_path, monkeypatch, observe):
    """No space left while the next version is written: the delivered files and the release record are untouched,
    the sample is named in the error, and the next run (with space again) releases it."""
    import errno

    import oncopanel.deliver as deliver

    results = tmp_path / "results"
    _deliver_s1(results, "2026-11-25", check_ok=False)  # v1: analysis incomplete (provisional)
    before = {p: Path(p).read_bytes() for p in delivery_paths(str(results), "S1").values()}
    index = (results / "release/S1/index.json").read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(deliver, "render_report", full_disk)
    _complete_stages(results, "S1")
    plan = plan_delivery(str(results), _sample("S1"), str(_batch_identity(results)))
    no_space = r"samples left without a released result: S1: OSError: .*No space left"
    with pytest.raises(RuntimeError, match=no_space) as err:
        deliver_batch([plan], _settings(results))
    unchanged = {p: Path(p).read_bytes() for p in before} == before
    observe("disk full while the next version of a result is released",
            "the delivered version and its record untouched; the next run releases it",
            f"delivered files unchanged: {unchanged}", str(err.value))  # fmt: skip
    assert {p: Path(p).read_bytes() for p in before} == before
    assert (results / "release/S1/index.json").read_bytes() == index
    monkeypatch.undo()
    assert deliver_batch([plan], _settings(results))[0].endswith("→ released as v2")


def test_stated_lod_is_the_calling_record_else_the_same_rule(tmp_path):
    """The LoD a result states is the one its hotspot statuses were decided against (calling.json, rule
    calling_finalize); where calling did not run, the same rule (calling.lod per specimen type), not the panels'
    lowest LoD: a plasma sample states 0.5%, never the tissue panel's 5%."""
    from dataclasses import replace as _replace

    from oncopanel.calling import settings as calling_settings
    from oncopanel.deliver import _stated_lod
    from oncopanel.panels import load_panels

    settings = Settings(formulary=tmp_path / "f.json", provenance=tmp_path / "p.json", centre={}, results=tmp_path)
    shared = {"panels": load_panels()}
    tissue = _sample("S1")
    plasma = _replace(_sample("S2"), specimen_type="plasma_cfdna")
    calling = calling_settings.load()
    assert _stated_lod(tissue, settings, shared) == calling.stated_lod("tumour_ffpe") == 0.05
    assert _stated_lod(plasma, settings, shared) == calling.stated_lod("plasma_cfdna") == 0.005
    (tmp_path / "calls").mkdir()
    (tmp_path / "calls" / "S2.calling.json").write_text(json.dumps({"stated_lod": 0.0025}))
    assert _stated_lod(plasma, settings, shared) == 0.0025  # the value the statuses were decided against
    panel_lods = [shared["panels"][p].stated_lod for p in tissue.panels]
    assert calling.sample_stated_lod("plasma_cfdna", panel_lods) == 0.005
    assert calling.sample_stated_lod("no_entry_type", [0.04, 0.03]) == 0.03
