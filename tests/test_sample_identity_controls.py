"""Batch run controls (NTC, positive reference) and index-hopping cross-talk, judged by config/controls.yaml."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pysam
import pytest

from oncopanel.model import Call, HotspotResult, Variant
from oncopanel.reference import SliceSequence
from oncopanel.sample_identity import evaluate_controls, index_hopping_rate, load_criteria, load_run_result
from oncopanel.sample_identity.controls import RunResult
from oncopanel.sample_identity.criteria import CrossTalkCriteria

CRITERIA = load_criteria()
BRAF_V600E = Variant("chr7", 140753336, "A", "T")


@dataclass
class Sample:  # the fields evaluate_controls reads from samplesheet.Sample
    sample_id: str
    patient: str
    batch: str
    control: str = ""
    reference_material: str = ""


def _hotspot(hotspot_id: str, gene: str, label: str, vaf: float, depth: int, form: str) -> HotspotResult:
    alt = round(vaf * depth)
    return HotspotResult(hotspot_id, gene, label, "detected", depth, alt, vaf, vaf - 0.03, vaf + 0.03, 0.01, form)


def _batch(colo_vaf: float | None = 0.66, ntc_reads: int = 1200, ntc_hotspot: bool = False):
    samples = [Sample("S001", "P1", "B7"), Sample("S002", "P2", "B7"), Sample("S003", "P3", "B7"),
               Sample("NTC-B7", "", "B7", "no_template_control"),
               Sample("COLO829-B7", "", "B7", "positive_control", "COLO829")]  # fmt: skip
    colo = RunResult("COLO829-B7", 560_000)
    if colo_vaf is not None:
        colo.calls[BRAF_V600E.key] = Call(BRAF_V600E, "COLO829-B7", "somatic", 900, round(900 * colo_vaf), colo_vaf)
    ntc = RunResult("NTC-B7", ntc_reads)
    if ntc_hotspot:
        ntc.hotspots["KRAS_G12"] = _hotspot("KRAS_G12", "KRAS", "G12X", 0.5, 8, "G12D")
    results = {"S001": RunResult("S001", 580_000), "S002": RunResult("S002", 600_000),
               "S003": RunResult("S003", 420_000), "NTC-B7": ntc, "COLO829-B7": colo}  # fmt: skip
    return samples, results


def test_batch_with_passing_controls_is_released():
    samples, results = _batch()
    verdict = evaluate_controls(samples, results, CRITERIA.controls)
    assert verdict.held is False and verdict.reasons == []
    assert verdict.controls == {"NTC-B7": "pass", "COLO829-B7": "pass"}


def test_ntc_with_reads_over_the_ceiling_holds_the_batch():
    samples, results = _batch(ntc_reads=6_500)  # median sample 580,000 reads: ceiling 5,800
    verdict = evaluate_controls(samples, results, CRITERIA.controls)
    assert verdict.held is True and verdict.controls["NTC-B7"] == "fail"
    assert verdict.reasons == ["no-template control NTC-B7: 6500 reads, above 5800 (1% of the median sample's 580000)"]


def test_ntc_with_a_detected_hotspot_holds_the_batch():
    samples, results = _batch(ntc_hotspot=True)
    verdict = evaluate_controls(samples, results, CRITERIA.controls)
    assert verdict.held and verdict.reasons == ["no-template control NTC-B7: hotspot(s) detected: KRAS G12X"]


def test_positive_control_missing_its_variant_holds_the_batch():
    samples, results = _batch(colo_vaf=None)
    verdict = evaluate_controls(samples, results, CRITERIA.controls)
    assert verdict.held and verdict.controls["COLO829-B7"] == "fail"
    assert verdict.reasons == [
        "positive control COLO829-B7 (COLO829): BRAF V600E (chr7:140753336:A>T) not detected (expected VAF 0.68)"
    ]


def test_positive_control_at_the_wrong_vaf_holds_the_batch():
    samples, results = _batch(colo_vaf=0.41)
    verdict = evaluate_controls(samples, results, CRITERIA.controls)
    assert verdict.held and "VAF 0.410 outside 0.68 ± 0.10" in verdict.reasons[0]


def test_positive_control_found_through_the_hotspot_table_when_the_vcf_lacks_it():
    samples, results = _batch(colo_vaf=None)
    results["COLO829-B7"].hotspots["BRAF_V600"] = _hotspot("BRAF_V600", "BRAF", "V600X", 0.70, 850, "V600E")
    assert evaluate_controls(samples, results, CRITERIA.controls).held is False
    results["COLO829-B7"].hotspots["BRAF_V600"] = _hotspot("BRAF_V600", "BRAF", "V600X", 0.70, 850, "V600K")
    assert evaluate_controls(samples, results, CRITERIA.controls).held is True  # another allele is not V600E


def test_batch_without_required_controls_is_held_and_says_so():
    samples, results = _batch()
    verdict = evaluate_controls([s for s in samples if not s.control], results, CRITERIA.controls)
    assert verdict.held
    assert verdict.missing == ["no_template_control", "positive_control"]
    assert verdict.reasons == [
        "batch B7: no no-template control in the batch, and controls.required asks for one: add a row with control "
        "no_template_control (README: Running your own batch)",
        "batch B7: no positive control in the batch, and controls.required asks for one: add a row with control "
        "positive_control (README: Running your own batch)",
    ]


def test_control_without_a_result_holds_the_batch():
    samples, results = _batch()
    results["NTC-B7"] = None
    verdict = evaluate_controls(samples, results, CRITERIA.controls)
    assert verdict.held and verdict.reasons == ["no-template control NTC-B7: no result to evaluate"]


def test_unknown_positive_control_material_holds_the_batch():
    samples, results = _batch()
    samples[-1] = Sample("HD701-B7", "", "B7", "positive_control", "HD701")
    results["HD701-B7"] = results.pop("COLO829-B7")
    verdict = evaluate_controls(samples, results, CRITERIA.controls)
    assert verdict.held and verdict.reasons == [
        "positive control HD701-B7: reference material 'HD701' is not in controls.yaml (known: COLO829, SIMREF)"
    ]


def test_the_material_comes_from_the_column_not_the_sample_id():
    """A positive control named like nothing in particular is judged by its reference_material."""
    samples, results = _batch(colo_vaf=None)
    samples[-1] = Sample("PC-0042", "", "B7", "positive_control", "SIMREF")
    pc = RunResult("PC-0042", 600_000)
    kras_g12d = Variant("chr12", 25245350, "C", "T")
    pc.calls[kras_g12d.key] = Call(kras_g12d, "PC-0042", "somatic", 520, 57, 57 / 520)
    pc.calls[BRAF_V600E.key] = Call(BRAF_V600E, "PC-0042", "somatic", 480, 91, 91 / 480)
    results["PC-0042"] = pc
    del results["COLO829-B7"]
    verdict = evaluate_controls(samples, results, CRITERIA.controls)
    assert verdict.held is False and verdict.controls["PC-0042"] == "pass"
    judged = next(v for v in verdict.run_controls if v.sample_id == "PC-0042")
    assert judged.material == "SIMREF"
    assert [(c.criterion, c.observed, c.required) for c in judged.checks] == [
        ("KRAS G12D", "VAF 0.110, depth 520", "VAF 0.10 ± 0.04, depth ≥ 300"),
        ("BRAF V600E", "VAF 0.190, depth 480", "VAF 0.20 ± 0.05, depth ≥ 300"),
    ]
    # the same reads called COLO829 miss COLO829's expected fraction (0.68): the material decides the verdict
    samples[-1] = Sample("PC-0042", "", "B7", "positive_control", "COLO829")
    verdict = evaluate_controls(samples, results, CRITERIA.controls)
    assert verdict.controls["PC-0042"] == "fail"
    assert verdict.reasons == [
        "positive control PC-0042 (COLO829): BRAF V600E (chr7:140753336:A>T) VAF 0.190 outside 0.68 ± 0.10"
    ]


def test_negative_control_reference_material_na12878():
    """NA12878 (germline reference) as a negative control: no hotspot may be detected in it."""
    samples, results = _batch()
    samples.append(Sample("NA12878", "", "B7", "negative_control", "NA12878"))
    results["NA12878"] = RunResult("NA12878", 19_724)
    verdict = evaluate_controls(samples, results, CRITERIA.controls)
    judged = next(v for v in verdict.run_controls if v.sample_id == "NA12878")
    assert (verdict.held, judged.verdict, judged.material) == (False, "pass", "NA12878")
    assert judged.as_dict()["checks"] == [{"criterion": "hotspots detected", "required": "≤ 0", "observed": "none",
                                           "passed": True, "reason": ""}]  # fmt: skip
    results["NA12878"].hotspots["KRAS_G12"] = _hotspot("KRAS_G12", "KRAS", "G12X", 0.04, 400, "G12D")
    verdict = evaluate_controls(samples, results, CRITERIA.controls)
    assert verdict.held and verdict.reasons == ["negative control NA12878: hotspot(s) detected: KRAS G12X"]


def test_ntc_verdict_lists_each_criterion_with_its_observed_value():
    samples, results = _batch(ntc_reads=1200)
    verdict = evaluate_controls(samples, results, CRITERIA.controls)
    ntc = verdict.as_dict()["run_controls"][0]
    assert (ntc["sample_id"], ntc["control"], ntc["material"], ntc["verdict"]) == ("NTC-B7", "no_template_control",
                                                                                   "", "pass")  # fmt: skip
    assert [(c["criterion"], c["observed"], c["required"]) for c in ntc["checks"]] == [
        ("reads", "1200", "≤ 5800 (1% of the median sample's 580000)"),
        ("hotspots detected", "none", "≤ 0"),
        ("PASS variant calls", "0", "≤ 0"),
    ]


def test_run_result_from_workflow_files(tmp_path):
    qc = tmp_path / "COLO829-B7.qc.json"
    qc.write_text(json.dumps({"sample_id": "COLO829-B7", "metrics": {"raw_reads": 560000}}))
    vcf_path = tmp_path / "COLO829-B7.vcf.gz"
    header = pysam.VariantHeader()
    header.add_line("##contig=<ID=chr7,length=159345973>")
    header.add_line('##FILTER=<ID=strand_bias,Description="x">')
    for line in ('##FORMAT=<ID=GT,Number=1,Type=String,Description="g">',
                 '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="d">',
                 '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="a">',
                 '##FORMAT=<ID=AF,Number=A,Type=Float,Description="f">'):  # fmt: skip
        header.add_line(line)
    header.add_sample("COLO829-B7")
    with pysam.VariantFile(str(vcf_path), "wz", header=header) as out:
        records = ((140753336, "A", "T", "PASS", (300, 600)), (140753400, "C", "G", "strand_bias", (890, 10)))
        for pos, ref, alt, filt, ad in records:
            rec = out.new_record(contig="chr7", start=pos - 1, alleles=(ref, alt), filter=filt)
            rec.samples["COLO829-B7"]["DP"] = sum(ad)
            rec.samples["COLO829-B7"]["AD"] = ad
            rec.samples["COLO829-B7"]["AF"] = (ad[1] / sum(ad),)
            out.write(rec)
    result = load_run_result("COLO829-B7", qc_json=qc, calls_vcf=vcf_path)
    assert result.reads == 560000 and list(result.calls) == [BRAF_V600E.key]
    assert result.calls[BRAF_V600E.key].vaf == pytest.approx(2 / 3) and result.calls[BRAF_V600E.key].depth == 900


def test_expected_control_variants_match_grch38():
    seq = SliceSequence()
    for material in CRITERIA.controls.materials:
        for exp in material.expected:
            chrom, pos, change = exp.variant.split(":")
            assert seq.fetch(chrom, int(pos) - 1, int(pos)) == change.split(">")[0], exp.label


# --- index hopping ------------------------------------------------------------------------------------------------

DEMUX_REPORT = {  # the shape oncopanel.batch.demux writes to demux_report.json
    "platform": "illumina", "read_pairs": 1_003_000,
    "assigned": {"S001": 400_000, "S002": 400_000, "S003": 200_000},
    "hopped_pairs": {"AAAAAAAA+CCCCCCCC (S001 i7, S002 i5)": 1500, "GGGGGGGG+TTTTTTTT (S002 i7, S003 i5)": 1000,
                     "ACACACAC+GTGTGTGT (S003 i7, S001 i5)": 500},
    "hopped": 3000, "undetermined": 3000,
}  # fmt: skip


def test_index_hopping_rate_from_a_demux_report():
    report = index_hopping_rate(DEMUX_REPORT, CRITERIA.cross_talk)
    assert report.index_hopping_rate == pytest.approx(3000 / 1_000_000)
    assert report.acceptable and report.reasons == []
    per = {s.sample_id: s for s in report.samples}
    assert {sid: s.hopped_pairs_involving for sid, s in per.items()} == {"S001": 2000, "S002": 2500, "S003": 1500}
    # h = 3000 / (2 * 1,003,000 * (1 - (0.16 + 0.16 + 0.04))); S003 receives (800,000) * h^2 * 0.2^2 pairs
    h = 3000 / (2 * 1_003_000 * 0.64)
    assert report.per_index_hop_probability == pytest.approx(h)
    assert per["S003"].expected_foreign_pairs == pytest.approx(800_000 * h * h * 0.04)
    assert per["S003"].expected_foreign_fraction < 1e-5


def test_high_index_hopping_fails_the_cross_talk_check_and_holds_the_batch():
    heavy = {**DEMUX_REPORT, "hopped_pairs": {"AAAAAAAA+CCCCCCCC (S001 i7, S002 i5)": 40_000}, "hopped": 40_000}
    report = index_hopping_rate(heavy, CRITERIA.cross_talk)
    assert not report.acceptable and report.reasons[0] == "index hopping 4.00% of assigned pairs (limit 2%)"
    strict = index_hopping_rate(heavy, CrossTalkCriteria(max_index_hopping_rate=0.05, max_foreign_fraction=1e-5))
    assert [r.split(":")[0] for r in strict.reasons] == ["sample S001", "sample S002", "sample S003"]
    samples, results = _batch()
    verdict = evaluate_controls(samples, results, CRITERIA.controls, cross_talk=report)
    assert verdict.held and verdict.reasons == ["cross-talk: index hopping 4.00% of assigned pairs (limit 2%)"]
