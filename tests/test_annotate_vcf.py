"""VCF in, annotated calls out: every record kept, malformed records named by file and line."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from oncopanel.annotate.annotator import Annotator
from oncopanel.annotate.vcf import CSQ_FIELDS, annotate_vcf, parse_csq, write_annotated_vcf, write_table
from oncopanel.errors import InputError

DATA = Path(__file__).parent / "data" / "annotate"


@pytest.fixture(scope="module")
def annotator() -> Annotator:
    return Annotator()


@pytest.fixture(scope="module")
def records(annotator):
    return annotate_vcf(DATA / "calls.vcf", annotator)


def test_every_allele_annotated_and_off_panel_kept(records):
    names = [(r.line, r.annotation.gene, r.annotation.hgvs_c, r.annotation.hgvs_p) for r in records]
    assert names == [
        (13, "", "", ""),
        (14, "EGFR", "c.2235_2249del", "p.(Glu746_Ala750del)"),
        (15, "EGFR", "c.2573T>G", "p.(Leu858Arg)"),
        (16, "EGFR", "c.2574G>A", "p.(Leu858=)"),
        (17, "KRAS", "c.35G>T", "p.(Gly12Val)"),
        (17, "KRAS", "c.35G>A", "p.(Gly12Asp)"),
        (18, "BRCA1", "c.68_69del", "p.(Glu23ValfsTer17)"),
    ]
    assert records[0].annotation.consequence == ("intergenic_variant",)


def test_malformed_record_names_file_and_line(annotator):
    with pytest.raises(InputError, match=r"malformed\.vcf:14: POS 'fifty' is not a positive integer"):
        annotate_vcf(DATA / "malformed.vcf", annotator)


def test_wrong_build_names_file_and_line(annotator):
    with pytest.raises(InputError, match=r"wrong_ref\.vcf:13: .*does not match GRCh38"):
        annotate_vcf(DATA / "wrong_ref.vcf", annotator)


def test_csq_field_in_vcf(tmp_path, annotator):
    out = tmp_path / "annotated.vcf.gz"
    assert write_annotated_vcf(DATA / "calls.vcf", out, annotator) == 6
    with gzip.open(out, "rt") as fh:
        lines = fh.read().splitlines()
    header = [x for x in lines if x.startswith("##")]
    info = next(x for x in header if x.startswith("##INFO=<ID=ONCOPANEL_CSQ,"))
    assert "Format: " + "|".join(CSQ_FIELDS) in info
    assert any(x.startswith("##ONCOPANEL_transcripts=") and "EGFR:NM_005228.5" in x for x in header)
    assert any(x.startswith("##ONCOPANEL_annotation_data=mane_select_panel_grch38.tsv:md5=") for x in header)
    records = [x.split("\t") for x in lines if not x.startswith("#")]
    assert len(records) == 6
    synonymous = records[3][7]
    assert synonymous.startswith("ORIGIN=germline;ONCOPANEL_CSQ=")
    assert "p.(Leu858%3D)" in synonymous  # '=' percent-encoded inside INFO
    csq = parse_csq(synonymous.split("ONCOPANEL_CSQ=")[1])
    assert csq == [
        {
            "Allele": "A",
            "Gene": "EGFR",
            "Transcript": "NM_005228.5",
            "Consequence": "synonymous_variant",
            "Exon": "21/28",
            "Intron": "",
            "HGVSc": "c.2574G>A",
            "HGVSp": "p.(Leu858=)",
            "Protein_change": "L858=",
            "HGVSg": "NC_000007.14:g.55191823G>A",
        }
    ]
    kras = parse_csq(records[4][7].split("ONCOPANEL_CSQ=")[1])
    assert [x["Protein_change"] for x in kras] == ["G12V", "G12D"]
    # annotating again replaces the field rather than appending a second one
    again = tmp_path / "again.vcf"
    write_annotated_vcf(out, again, annotator)
    text = again.read_text()
    assert text.count("##INFO=<ID=ONCOPANEL_CSQ,") == 1
    assert all(x.count("ONCOPANEL_CSQ=") == 1 for x in text.splitlines() if not x.startswith("#"))


def test_table_tsv_and_parquet(tmp_path, records):
    import pyarrow.parquet as pq

    columns = write_table(records, tmp_path / "calls.tsv", tmp_path / "calls.parquet")
    assert columns == [
        "sample_id", "chrom", "pos", "ref", "alt", "gene", "transcript", "exon", "intron", "consequence",
        "hgvs_c", "hgvs_p", "protein_change", "hgvs_g", "filter", "depth", "ref_depth", "alt_depth", "vaf", "origin",
    ]  # fmt: skip
    with open(tmp_path / "calls.tsv") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) == 7
    g12d = rows[5]
    assert (g12d["sample_id"], g12d["protein_change"], g12d["ref_depth"], g12d["alt_depth"], g12d["vaf"]) == (
        "TUMOUR1", "G12D", "200", "40", "0.133",
    )  # fmt: skip
    assert rows[0]["consequence"] == "intergenic_variant" and rows[0]["origin"] == "somatic"
    table = pq.read_table(tmp_path / "calls.parquet")
    assert table.column_names == columns
    assert table.column("depth").to_pylist()[1] == 812
    assert table.column("vaf").to_pylist()[1] == pytest.approx(0.261)
    meta = table.schema.metadata
    assert b"oncopanel.annotation_data" in meta and b"NM_007294.4" in meta[b"oncopanel.transcripts"]


def test_table_without_call_columns(tmp_path, annotator):
    vcf = tmp_path / "sites.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr12\t25245351\t.\tC\tA\t.\t.\t.\n")
    columns = write_table(annotate_vcf(vcf, annotator), tmp_path / "t.tsv", sample_id="S1")
    assert columns[-2:] == ["hgvs_g", "filter"]
    assert (tmp_path / "t.tsv").read_text().splitlines()[1].startswith("S1\tchr12\t25245351\tC\tA\tKRAS")


def test_table_carries_each_record_filter(tmp_path, annotator):
    import pyarrow.parquet as pq

    vcf = tmp_path / "filtered.vcf"
    head = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT1\n"
    vcf.write_text(
        head
        + "chr12\t25245351\t.\tC\tA\t60\tPASS\tORIGIN=somatic\tGT:AF\t0/1:0.2\n"
        + "chr7\t55191822\t.\tT\tG\t9\tstrand_bias;pon\tORIGIN=somatic\tGT:AF\t0/1:0.01\n"
        + "chr7\t55181378\t.\tC\tT\t.\t.\t.\tGT:AF\t0/1:0.4\n"
    )
    records = annotate_vcf(vcf, annotator)
    write_table(records, tmp_path / "t.tsv", tmp_path / "t.parquet")
    with open(tmp_path / "t.tsv") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert [(r["protein_change"], r["filter"], r.get("origin")) for r in rows] == [
        ("G12C", "PASS", "somatic"),
        ("L858R", "strand_bias;pon", "somatic"),
        ("T790M", ".", ""),
    ]
    assert pq.read_table(tmp_path / "t.parquet").column("filter").to_pylist() == ["PASS", "strand_bias;pon", "."]


def test_placeholder_alleles_skipped_symbolic_rejected(tmp_path, annotator):
    head = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    vcf = tmp_path / "alleles.vcf"
    vcf.write_text(head + "chr12\t25245351\t.\tC\tA,*\t.\t.\t.\nchr12\t25245350\t.\tC\t.\t.\t.\t.\n")
    assert [r.annotation.hgvs_c for r in annotate_vcf(vcf, annotator)] == ["c.34G>T"]
    vcf.write_text(head + "chr12\t25245351\t.\tC\t<INV>\t.\t.\t.\n")
    with pytest.raises(InputError, match=r"alleles\.vcf:3: ALT '<INV>'"):
        annotate_vcf(vcf, annotator)
    vcf.write_text(head + "chr12\t25245351\t.\tC\t<DEL>\t.\t.\t.\n")  # a large deletion needs its END
    with pytest.raises(InputError, match=r"alleles\.vcf:3: symbolic <DEL> without INFO END"):
        annotate_vcf(vcf, annotator)
