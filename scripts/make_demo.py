"""Build the demo batch: simulated county samples with spiked real variants, plus the bundled real reads.

    python scripts/make_demo.py [--out demo/generated] [--seed 7] [--no-artefacts]
    python scripts/make_demo.py --simref DIR [--simref-id SIMREF-B01] [--seed 7]   # a simulated positive control

Writes, under --out (git-ignored):
  fastq/<sample>_R1/_R2.fastq.gz   ART reads from the embedded GRCh38 over the sample's panel targets
  truth/<sample>.vcf.gz(+.tbi)     the spiked variants with their VAF, normalised with bcftools norm
  truth/<sample>.artefacts.tsv     library artefacts injected into the sample (what a filter must remove)
  samples.tsv                      the workflow sample sheet (one row per lane; paths from the repo root)
  identity.yaml                     protected manifest (mode 600): FAKE patient identities keyed by pseudonym
  simulation.tsv                   per simulated sample: depth, read pairs, spikes, artefacts, seed

Same --seed, same bytes on the same day: the receipt and collection dates are set relative to the day the batch is
built (--today), so the demo's reports are on time the day anyone tries it. Every name, ID number and hospital in
identity.yaml is invented. The run controls (the NTC and the real reference materials) are sheet rows without
patient fields and have no identity record.

--simref writes the reads of a simulated positive control for your own batch (reference material SIMREF in
config/controls.yaml): DIR/<id>_R1/_R2.fastq.gz, its truth VCF, and DIR/<id>.samples.tsv, the sheet row to add.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
import yaml

from oncopanel import paths
from oncopanel.batch.indexes import assign_indexes, load_kit
from oncopanel.model import Variant
from oncopanel.panels import genes_for, target_bed_rows
from oncopanel.samplesheet import SAMPLE_COLUMNS
from oncosim import reads as simulate
from oncosim.batch import pool_fastqs
from oncosim.reads import (
    Artefact,
    CaptureProfile,
    CopyNumberEvent,
    ReadFormat,
    Spike,
    pick_artefact_sites,
    planned_pairs,
    replace_if_changed,
    simulate_sample,
    subseed,
    write_artefact_table,
    write_truth_vcf,
)

BATCH = "DEMO-2026-11"
# The samples' receipt and the patients' collection dates below are written as they fall before DEMO_DAY, and the
# demo moves them so that DEMO_DAY is the day the batch is built (`make demo`'s report date, the same day):
# received 1-4 days, collected 5-10 days before it, within the lab's 7-day routine turnaround (config/lab.yaml).
# Birth dates do not move.
DEMO_DAY = date(2026, 11, 20)


def on_demo_day(iso: str, today: date | None = None) -> str:
    """A date written relative to DEMO_DAY, moved to the same distance before `today` (default: the real today)."""
    if not iso:
        return iso
    return (date.fromisoformat(iso) + ((today or date.today()) - DEMO_DAY)).isoformat()

TARGET_PADDING = 20
SHEET_COLUMNS = SAMPLE_COLUMNS

# Real variants, left-normalised VCF forms (reference bases checked when the haplotypes are built).
EGFR_L858R = Variant("chr7", 55191822, "T", "G")  # c.2573T>G p.(Leu858Arg)
EGFR_E746_A750DEL = Variant("chr7", 55174771, "AGGAATTAAGAGAAGC", "A")  # c.2235_2249del p.(Glu746_Ala750del)
KRAS_G12C = Variant("chr12", 25245351, "C", "A")  # c.34G>T p.(Gly12Cys)
KRAS_G12D = Variant("chr12", 25245350, "C", "T")  # c.35G>A p.(Gly12Asp)
BRAF_V600E = Variant("chr7", 140753336, "A", "T")  # c.1799T>A p.(Val600Glu)
BRCA1_C68_69DEL = Variant("chr17", 43124027, "ACT", "A")  # c.68_69del p.(Glu23ValfsTer17)
BRCA2_C5946DEL = Variant("chr13", 32340300, "GT", "G")  # c.5946del p.(Ser1982ArgfsTer22)


@dataclass(frozen=True)
class DemoSample:
    sample_id: str
    patient: str
    site: str
    specimen_type: str
    tumour_content: float | None
    oncotree_code: str
    panels: tuple[str, ...]
    received_date: str
    depth: int = 0  # simulated samples only
    spikes: tuple[Spike, ...] = ()
    i7: str = ""
    i5: str = ""
    control: str = ""
    reference_material: str = ""  # a control's material, by name in config/controls.yaml
    ffpe: bool = False  # gets FFPE deamination artefacts (and shares the batch's recurrent sites)
    lanes: tuple[tuple[str, str, str], ...] = ()  # real reads: (lane, fastq_1, fastq_2) relative to the repo
    captured: bool = False  # capture-like depth (CNV_CAPTURE: per-target efficiency, this sample's GC curve)
    copy_number: tuple[CopyNumberEvent, ...] = ()  # copy-number events at read level


# The no-template control of the pooled run: indexed, sequenced, and (if the run is clean) empty.
NTC_ID = "DEMO-NTC"

LUNG, BRCA_ONLY, WIDE = ("EGFR_KRAS",), ("BRCA",), ("EGFR_KRAS", "EXTENDED")

SIMULATED = [
    DemoSample(
        "DEMO-T01", "P0001", "Anxian County", "tumour_ffpe", 30, "LUAD", LUNG, "2026-11-16",
        depth=1000, spikes=(Spike(EGFR_L858R, 0.08),), ffpe=True,
    ),
    DemoSample(
        "DEMO-T02", "P0002", "Beiling County", "tumour_ffpe", 40, "LUAD", LUNG, "2026-11-16",
        depth=1000, spikes=(Spike(EGFR_E746_A750DEL, 0.15),), ffpe=True,
    ),
    DemoSample(
        "DEMO-T03", "P0003", "Chengxi County", "tumour_fresh", 50, "LUAD", LUNG, "2026-11-17",
        depth=1000, spikes=(Spike(KRAS_G12C, 0.20),),
    ),
    # Wild type; EXTENDED too (RAS/BRAF matter in colorectal cancer): KRAS and NRAS codons 12, 13, 59, 61, 117,
    # 146 all assessed make it "RAS wild type" (cetuximab / panitumumab); 400x keeps it under ~80k read pairs.
    DemoSample(
        "DEMO-T04", "P0004", "Dongshan County", "tumour_ffpe", 60, "COAD", WIDE, "2026-11-17",
        depth=400, ffpe=True,
    ),
    DemoSample(
        "DEMO-G01", "P0005", "Anxian County", "blood_germline", None, "BRCA", BRCA_ONLY, "2026-11-18",
        depth=300, spikes=(Spike(BRCA1_C68_69DEL, 0.5, "germline"),),
    ),
    DemoSample(
        "DEMO-G02", "P0006", "Beiling County", "blood_germline", None, "HGSOC", BRCA_ONLY, "2026-11-18",
        depth=300, spikes=(Spike(BRCA2_C5946DEL, 0.5, "germline"),),
    ),
    # The same patient's ovarian tumour: her germline BRCA2 variant at 0.5 (no loss of the wild-type allele).
    DemoSample(
        "DEMO-T05", "P0006", "Beiling County", "tumour_ffpe", 70, "HGSOC", BRCA_ONLY, "2026-11-18",
        depth=600, spikes=(Spike(BRCA2_C5946DEL, 0.5, "germline"),), ffpe=True,
    ),
]  # fmt: skip

# --- copy-number samples (issue 17) -------------------------------------------------------------------------
# Enough samples of one capture design for the copy-number engine (config/cnv.yaml): >= 6 germline references for
# a germline sample and >= 4 same-panel references for a tumour's EGFR ratio. These samples have capture-like depth
# (oncosim.reads.CaptureProfile: per-target efficiency log-normal SD 0.5, the same in every one of them, fold-80
# 1.76 as Picard HsMetrics reports 1.5-2 for hybrid capture; plus each sample's own GC curve). The samples above
# keep ART's uniform depth and their bytes: a uniform sample's exon profile correlates ~0.88 with a captured one's
# and is not summed in as their reference (config/cnv.yaml spread_tolerance). Cheap on purpose: BRCA-only germline
# samples at 250x, EGFR_KRAS tumours at 330x (after trimming and duplicates ~200x / ~270x on target: >= 80% of bases
# >= 100x, the QC gate; at 250x three of the six tumours missed it, 77-78%).
# One germline heterozygous BRCA1 deletion of MANE exons 13-22 (legacy 14-23; NM_007294.4:c.4358-?_5467+?del),
# breakpoints mid-intron 12 and mid-intron 22; one EGFR amplification (10 copies in 50% tumour: ratio 3.0).
CNV_CAPTURE_DESIGN = 17  # the bait design: every captured sample draws the same per-target efficiencies
CNV_DEPTH = 250
CNV_TUMOUR_DEPTH = 330


def exon_span_event(gene: str, first: int, last: int, copy_number: float, cell_fraction: float = 1.0,
                    flank: int = 10_000) -> CopyNumberEvent:  # fmt: skip
    """A copy-number event over MANE exons first..last of ``gene``, its breakpoints mid-way into the flanking
    introns (``flank`` bases beyond the gene where the event reaches its first or last exon)."""
    from oncopanel.cnv.targets import exon_targets

    exons = sorted(exon_targets([gene]), key=lambda t: t.start)
    inside = [t for t in exons if first <= t.mane_exon <= last]
    lo, hi = min(t.start for t in inside), max(t.end for t in inside)
    before = [t.end for t in exons if t.end < lo]
    after = [t.start for t in exons if t.start > hi]
    start = (max(before) + lo) // 2 if before else lo - flank
    end = (hi + min(after)) // 2 if after else hi + flank
    return CopyNumberEvent(exons[0].chrom, start, end, copy_number, cell_fraction, f"{gene} exons {first}-{last}")


BRCA1_EX13_22_DEL = exon_span_event("BRCA1", 13, 22, 1)
EGFR_AMPLIFIED = exon_span_event("EGFR", 1, 28, 10, 0.5)

CNV_SAMPLES = [
    # Germline: the carrier (breast cancer, consent given) and six CNV-free references.
    DemoSample(
        "DEMO-G03", "P0007", "Chengxi County", "blood_germline", None, "BRCA", BRCA_ONLY, "2026-11-18",
        depth=CNV_DEPTH, captured=True, copy_number=(BRCA1_EX13_22_DEL,),
    ),
    *[
        DemoSample(
            f"DEMO-G{n:02d}", f"P{n + 4:04d}", site, "blood_germline", None, code, BRCA_ONLY, "2026-11-19",
            depth=CNV_DEPTH, captured=True,
        )
        for n, site, code in [(4, "Dongshan County", "HGSOC"), (5, "Anxian County", "BRCA"),
                              (6, "Beiling County", "BRCA"), (7, "Chengxi County", "PAAD"),
                              (8, "Dongshan County", "PRAD"), (9, "Anxian County", "HGSOC")]
    ],
    # Tumours on EGFR_KRAS: one EGFR-amplified lung adenocarcinoma and five without a copy-number change (each
    # tumour's references are the others of the same panel and capture).
    DemoSample(
        "DEMO-T06", "P0014", "Beiling County", "tumour_fresh", 50, "LUAD", LUNG, "2026-11-19",
        depth=CNV_TUMOUR_DEPTH, captured=True, copy_number=(EGFR_AMPLIFIED,),
    ),
    *[
        DemoSample(
            f"DEMO-T{n:02d}", f"P{n + 8:04d}", site, "tumour_fresh", tc, "LUAD", LUNG, "2026-11-19",
            depth=CNV_TUMOUR_DEPTH, captured=True,
        )
        for n, site, tc in [(7, "Chengxi County", 40), (8, "Dongshan County", 60), (9, "Anxian County", 30),
                            (10, "Beiling County", 70), (11, "Chengxi County", 50)]
    ],
]  # fmt: skip
SIMULATED = SIMULATED + CNV_SAMPLES
# --- end of copy-number samples -----------------------------------------------------------------------------
# The pooled run's indexes come from the centre's kit, assigned as `oncopanel assign-indexes` does.
UDI = assign_indexes([s.sample_id for s in SIMULATED] + [NTC_ID], load_kit(paths.ANNOTATION / "index_kits" /
                                                                          "oncopanel_udi96.tsv"))  # fmt: skip
SIMULATED = [replace(s, i7=UDI[s.sample_id].i7, i5=UDI[s.sample_id].i5) for s in SIMULATED]
# Run controls carry no patient, site, specimen type or tumour type: they are judged as controls, not reported.
NTC = DemoSample(
    NTC_ID, "", "", "", None, "", WIDE, "2026-11-16",
    i7=UDI[NTC_ID].i7, i5=UDI[NTC_ID].i5, control="no_template_control",
)  # fmt: skip


def _colo829_lanes(prefix: str, s_number: str) -> tuple[tuple[str, str, str], ...]:
    base = f"demo/real_reads/COLO829/{prefix}_AHHKYHDSXX_{s_number}"
    return tuple((f"L00{n}", f"{base}_L00{n}_R1_001.fastq.gz", f"{base}_L00{n}_R2_001.fastq.gz") for n in range(1, 5))


def _giab_lane(name: str) -> tuple[tuple[str, str, str], ...]:
    base = f"demo/real_reads/GIAB_negative/{name}_HJJLGCCXX_S1_L001"
    return (("L001", f"{base}_R1_001.fastq.gz", f"{base}_R2_001.fastq.gz"),)


NA12878_READS = "demo/real_reads/NA12878_BRCA1/BRCA1"
# Reference materials, each a run control named by its material (config/controls.yaml reference_materials).
REAL = [
    # GIAB germline reference on the BRCA panel: a negative control (no somatic hotspot may be detected).
    DemoSample(
        "NA12878", "", "", "", None, "", BRCA_ONLY, "2026-11-19", control="negative_control",
        reference_material="NA12878",
        lanes=(("L001", f"{NA12878_READS}_R1.fastq.gz", f"{NA12878_READS}_R2.fastq.gz"),),
    ),
    # The run's positive control: BRAF V600E at its expected fraction.
    DemoSample(
        "COLO829T", "", "", "", None, "", WIDE, "2026-11-19", control="positive_control",
        reference_material="COLO829", lanes=_colo829_lanes("COLO829T", "S12"),
    ),
    # The matched normal of COLO829, run on the tumour's panels as the negative control for BRAF V600E.
    DemoSample(
        "COLO829BL", "", "", "", None, "", WIDE, "2026-11-19", control="negative_control",
        reference_material="COLO829BL", lanes=_colo829_lanes("COLO829BL", "S13"),
    ),
    # Two unrelated GIAB individuals' cancer-panel reads, wild type: negative controls.
    DemoSample(
        "GIABNEG-A", "", "", "", None, "", WIDE, "2026-11-19", control="negative_control",
        reference_material="GIAB", lanes=_giab_lane("GIABNEG-A"),
    ),
    DemoSample(
        "GIABNEG-B", "", "", "", None, "", WIDE, "2026-11-19", control="negative_control",
        reference_material="GIAB", lanes=_giab_lane("GIABNEG-B"),
    ),
]  # fmt: skip

# The simulated positive control (--simref): the spikes config/controls.yaml expects of material SIMREF, at a
# depth that clears its min_depth (300) with room for capture unevenness.
SIMREF_SPIKES = (Spike(KRAS_G12D, 0.10), Spike(BRAF_V600E, 0.20))
SIMREF_DEPTH = 600


# --- fake identities ----------------------------------------------------------------------------------------


# Invented hospitals, keyed by the record-number prefix.
HOSPITALS = {
    "AX": ("安县人民医院（演示）", "Anxian County People's Hospital (demo)"),
    "BL": ("北岭县中医院（演示）", "Beiling County Hospital of TCM (demo)"),
    "CX": ("城西县人民医院（演示）", "Chengxi County People's Hospital (demo)"),
    "DS": ("东山县人民医院（演示）", "Dongshan County People's Hospital (demo)"),
}


@dataclass(frozen=True)
class Patient:
    """An invented person: given names are words like 示例 'example' and 测试 'test' (nobody real)."""

    pseudonym: str
    name_zh: str
    name_pinyin: str
    sex: str  # F / M
    birth_date: str  # ISO
    area_code: str  # 6 digits; 99xxxx is no real province, so no ID here can be a real person's
    order: int  # 3-digit order code before the check digit: odd for men, even for women
    record_number: str  # <hospital key>-<year>-<number>
    clinician: str
    collection_date: str
    germline_consent: str  # yes / no

    @property
    def hospital(self) -> tuple[str, str]:
        return HOSPITALS[self.record_number.split("-")[0]]


PATIENTS = [
    Patient("P0001", "张示例", "Zhang Shili", "M", "1958-03-14", "990101", 31, "AX-2026-00412",
            "赵演示 Zhao Yanshi", "2026-11-10", "no"),
    Patient("P0002", "李测试", "Li Ceshi", "F", "1966-07-02", "990102", 42, "BL-2026-01877",
            "钱演示 Qian Yanshi", "2026-11-11", "yes"),
    Patient("P0003", "王演示", "Wang Yanshi", "M", "1949-12-25", "990103", 17, "CX-2026-00093",
            "孙演示 Sun Yanshi", "2026-11-14", "no"),
    Patient("P0004", "赵样本", "Zhao Yangben", "F", "1971-05-30", "990104", 86, "DS-2026-00655",
            "李演示 Li Yanshi", "2026-11-12", "yes"),
    Patient("P0005", "陈虚构", "Chen Xugou", "F", "1983-09-09", "990101", 24, "AX-2026-00520",
            "周演示 Zhou Yanshi", "2026-11-15", "yes"),
    Patient("P0006", "刘假名", "Liu Jiaming", "F", "1962-01-18", "990102", 58, "BL-2026-02011",
            "吴演示 Wu Yanshi", "2026-11-15", "yes"),
]  # fmt: skip

# --- copy-number patients (issue 17): invented like those above ---------------------------------------------
PATIENTS += [
    Patient("P0007", "孙示范", "Sun Shifan", "F", "1975-04-21", "990103", 46, "CX-2026-00131",
            "孙演示 Sun Yanshi", "2026-11-15", "yes"),
    Patient("P0008", "周例证", "Zhou Lizheng", "F", "1968-10-03", "990104", 62, "DS-2026-00702",
            "李演示 Li Yanshi", "2026-11-16", "yes"),
    Patient("P0009", "吴模拟", "Wu Moni", "F", "1980-02-11", "990101", 28, "AX-2026-00544",
            "周演示 Zhou Yanshi", "2026-11-16", "yes"),
    Patient("P0010", "郑演练", "Zheng Yanlian", "F", "1972-08-08", "990102", 64, "BL-2026-02046",
            "吴演示 Wu Yanshi", "2026-11-16", "yes"),
    Patient("P0011", "冯试样", "Feng Shiyang", "M", "1955-06-17", "990103", 13, "CX-2026-00158",
            "孙演示 Sun Yanshi", "2026-11-17", "yes"),
    Patient("P0012", "何假设", "He Jiashe", "M", "1951-11-29", "990104", 75, "DS-2026-00731",
            "李演示 Li Yanshi", "2026-11-17", "yes"),
    Patient("P0013", "许范例", "Xu Fanli", "F", "1964-03-05", "990101", 36, "AX-2026-00561",
            "周演示 Zhou Yanshi", "2026-11-17", "yes"),
    Patient("P0014", "马虚拟", "Ma Xuni", "M", "1960-12-12", "990102", 19, "BL-2026-02058",
            "钱演示 Qian Yanshi", "2026-11-17", "no"),
    Patient("P0015", "朱测例", "Zhu Celi", "F", "1957-07-23", "990103", 52, "CX-2026-00166",
            "孙演示 Sun Yanshi", "2026-11-18", "no"),
    Patient("P0016", "胡样例", "Hu Yangli", "M", "1948-01-30", "990104", 91, "DS-2026-00744",
            "李演示 Li Yanshi", "2026-11-18", "no"),
    Patient("P0017", "林拟名", "Lin Niming", "F", "1969-09-14", "990101", 40, "AX-2026-00577",
            "赵演示 Zhao Yanshi", "2026-11-18", "no"),
    Patient("P0018", "高示意", "Gao Shiyi", "M", "1953-05-06", "990102", 27, "BL-2026-02063",
            "钱演示 Qian Yanshi", "2026-11-18", "no"),
    Patient("P0019", "罗设例", "Luo Sheli", "F", "1977-12-01", "990103", 88, "CX-2026-00171",
            "孙演示 Sun Yanshi", "2026-11-18", "no"),
]  # fmt: skip
# --- end of copy-number patients ----------------------------------------------------------------------------

CONSENT = {p.pseudonym: p.germline_consent for p in PATIENTS}
# The centre writes Chinese reports; these samples ask for English (e.g. a patient referred from abroad).
ENGLISH_REPORTS = ("DEMO-T03", "DEMO-G02")
# The oncologist's question, where the order says it (sheet column line_of_therapy): the summary leads with it.
LINE_OF_THERAPY = {"DEMO-T01": "first_line", "DEMO-T04": "first_line"}


# --- plasma cfDNA with UMIs (issue 18): one plasma sample, its own block -------------------------------------
# DEMO-P01: a lung cancer patient with no tissue; plasma with EGFR T790M at 0.5% of molecules. Reads from
# oncosim.plasma (not ART): cfDNA fragments, PCR families, inline UMIs on both reads (layout both:8+2, duplex).
# Not in the pooled run: its own FASTQ, like a plasma library sequenced apart. Depth: PLASMA_MOLECULES over the
# panel (QC and the other hotspots) plus PLASMA_HOTSPOT_MOLECULES more over EGFR codon 790, so the demo stays
# fast (~100,000 read pairs) while T790M has a plasma assay's ~3,000 molecules.
EGFR_T790M = Variant("chr7", 55181378, "C", "T")  # c.2369C>T p.(Thr790Met); reference C checked when simulated
PLASMA = DemoSample(
    "DEMO-P01", "P0020", "Anxian County", "plasma_cfdna", None, "LUAD", LUNG, "2026-11-19",
    spikes=(Spike(EGFR_T790M, 0.005),),
)  # fmt: skip
PLASMA_UMI = "both:8+2"
PLASMA_CFDNA_NG = 20.0  # cfDNA into the library: 6,061 haploid genome equivalents
PLASMA_MOLECULES, PLASMA_HOTSPOT_MOLECULES, PLASMA_FAMILY_SIZE = 500, 3500, 3.0
PATIENTS.append(
    Patient("P0020", "郑模拟", "Zheng Moni", "M", "1955-06-21", "990101", 53, "AX-2026-00733",
            "赵演示 Zhao Yanshi", "2026-11-18", "no")
)  # fmt: skip
CONSENT[PLASMA.patient] = "no"


def build_plasma(out: Path, seed: int) -> dict[str, str]:
    """DEMO-P01's reads (R1/R2 with inline UMIs) and truth VCF; returns its simulation.tsv row."""
    from oncopanel.reference import SliceSequence
    from oncosim.plasma import PlasmaLibrary, simulate_molecules, write_fastq

    started = time.monotonic()
    sample_seed = subseed(seed, PLASMA.sample_id)
    lib = PlasmaLibrary(molecules=PLASMA_MOLECULES, mean_family_size=PLASMA_FAMILY_SIZE)
    sequence = SliceSequence()
    targets = target_bed_rows(genes_for(PLASMA.panels), TARGET_PADDING)
    reads = list(simulate_molecules(targets, PLASMA.spikes, lib, sample_seed, sequence))
    t790 = [("chr7", 55181376, 55181379)]  # codon 790, 0-based half-open
    extra = replace(lib, molecules=PLASMA_HOTSPOT_MOLECULES)
    reads += simulate_molecules(t790, PLASMA.spikes, extra, subseed(sample_seed, "t790"), sequence)
    write_fastq(out / "fastq" / PLASMA.sample_id, reads, lib, sample_seed,
                ReadFormat(flowcell="HDEMOPLS1", lane=1))  # fmt: skip
    write_truth_vcf(out / "truth" / f"{PLASMA.sample_id}.vcf.gz", PLASMA.spikes, PLASMA.sample_id)
    print(f"{PLASMA.sample_id}: {len(reads)} pairs in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return {
        "sample_id": PLASMA.sample_id, "panels": ",".join(PLASMA.panels),
        "depth": f"{PLASMA_MOLECULES}+{PLASMA_HOTSPOT_MOLECULES} molecules", "read_pairs": str(len(reads)),
        "spikes": ";".join(f"{sp.variant.key}@{sp.vaf:g}" for sp in PLASMA.spikes), "artefacts": "0",
        "seed": str(sample_seed),
    }  # fmt: skip


def plasma_rows(fastq_dir: Path, today: date | None = None) -> list[dict[str, str]]:
    """DEMO-P01's sheet row: its own FASTQ, its UMI layout and cfDNA input."""
    row = sheet_rows([PLASMA], fastq_dir, today=today)[0]
    return [{**row, "umi": PLASMA_UMI, "cfdna_input_ng": f"{PLASMA_CFDNA_NG:g}"}]


# --- end of the plasma block --------------------------------------------------------------------------------

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def resident_id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a Chinese resident identity number (GB 11643-1999)."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError(f"need 17 digits, got {first17!r}")
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def is_valid_resident_id(number: str) -> bool:
    return len(number) == 18 and number[:17].isdigit() and resident_id_check_digit(number[:17]) == number[17]


def resident_id(p: Patient) -> str:
    if (p.order % 2 == 1) != (p.sex == "M"):
        raise ValueError(f"{p.pseudonym}: order code {p.order} does not match sex {p.sex}")
    first17 = f"{p.area_code}{p.birth_date.replace('-', '')}{p.order:03d}"
    return first17 + resident_id_check_digit(first17)


def write_identity(
    path: Path, patients: Sequence[Patient], samples: Sequence[DemoSample], today: date | None = None
) -> None:
    """The protected manifest (workflow/schemas/identity.schema.yaml), one record per sample, created mode 600."""
    records = []
    by_patient = {p.pseudonym: p for p in patients}
    for s in samples:
        p = by_patient[s.patient]
        records.append({
            "sample_id": s.sample_id, "patient": p.pseudonym, "name": f"{p.name_zh} ({p.name_pinyin})",
            "sex": p.sex, "birth_date": p.birth_date, "resident_id": resident_id(p), "hospital": p.hospital[0],
            "record_number": p.record_number, "ordering_clinician": p.clinician,
            "collection_date": on_demo_day(p.collection_date, today),
            "receipt_date": on_demo_day(s.received_date, today),
            "germline_consent": p.germline_consent,
        })  # fmt: skip
    text = yaml.safe_dump(records, allow_unicode=True, sort_keys=False)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)  # whatever the umask
    replace_if_changed(tmp, path)
    os.chmod(path, 0o600)  # an older copy may have been more open


# --- artefacts ----------------------------------------------------------------------------------------------


def hotspot_windows() -> list[tuple[str, int, int]]:
    """Actionable hotspot windows (1-based) from annotation/hotspots.tsv, kept free of demo artefacts."""
    path = paths.ANNOTATION / "hotspots.tsv"
    if not path.exists():
        return []
    with open(path) as fh:
        return [(r["chrom"], int(r["window_start"]), int(r["window_end"])) for r in csv.DictReader(fh, delimiter="\t")]


def excluded_sites(samples: Sequence[DemoSample], margin: int = 10) -> list[tuple[str, int]]:
    """Positions near a spike or inside a hotspot window: artefacts there would blur what the demo shows."""
    out: list[tuple[str, int]] = []
    for chrom, start, end in hotspot_windows():
        out.extend((chrom, p) for p in range(start - margin, end + margin + 1))
    for s in samples:
        for spike in s.spikes:
            v = spike.variant
            out.extend((v.chrom, p) for p in range(v.pos - margin, v.pos + len(v.ref) + margin))
    return out


def demo_artefacts(samples: Sequence[DemoSample], seed: int) -> dict[str, list[Artefact]]:
    """FFPE deamination at sites recurring across the FFPE samples plus sites unique to each; one 8-oxoG site
    unique to each tumour (oxidation happens at shearing, fresh or fixed)."""
    exclude = excluded_sites(samples)
    shared_targets = target_bed_rows(genes_for(["EGFR_KRAS"]), 0)
    recurrent = pick_artefact_sites(shared_targets, 3, "ffpe_deamination", subseed(seed, "recurrent"), exclude=exclude)
    out: dict[str, list[Artefact]] = {}
    for s in samples:
        if s.specimen_type not in ("tumour_ffpe", "tumour_fresh"):
            continue
        coding = target_bed_rows(genes_for(s.panels), 0)
        mine: list[Artefact] = []
        if s.ffpe:
            if "EGFR_KRAS" in s.panels:
                # the batch's recurrent sites, at this sample's own fraction (damage varies with fixation)
                rng = np.random.default_rng(subseed(seed, s.sample_id, "recurrent"))
                mine += [replace(a, fraction=round(float(rng.uniform(0.01, 0.04)), 4)) for a in recurrent]
            mine += pick_artefact_sites(coding, 2, "ffpe_deamination", subseed(seed, s.sample_id, "ffpe"),
                                        exclude=exclude)  # fmt: skip
        mine += pick_artefact_sites(coding, 1, "oxog", subseed(seed, s.sample_id, "oxog"), exclude=exclude)
        out[s.sample_id] = mine
    return out


# --- the batch ----------------------------------------------------------------------------------------------


def repo_relative(path: Path) -> str:
    """Repository-relative when inside the repository (the workflow runs from its root), else absolute."""
    path = path.resolve()
    try:
        return str(path.relative_to(paths.ROOT))
    except ValueError:
        return str(path)


def sheet_rows(
    samples: Sequence[DemoSample], fastq_dir: Path, pooled: bool = False, today: date | None = None
) -> list[dict[str, str]]:
    """Sheet rows; with ``pooled`` the simulated samples name only their indexes (the workflow demultiplexes)."""
    rows = []
    for s in samples:
        if pooled and (not s.lanes) and s.i7:
            lanes = (("L001", "", ""),)
        elif s.lanes:
            lanes = s.lanes
            missing = [f for _lane, *fqs in lanes for f in fqs if not (paths.ROOT / f).exists()]
            if missing:
                raise FileNotFoundError(f"{s.sample_id}: real reads missing: {', '.join(missing)}")
        else:
            r1, r2 = (repo_relative(fastq_dir / f"{s.sample_id}_R{m}.fastq.gz") for m in (1, 2))
            lanes = (("L001", r1, r2),)
        for lane, fq1, fq2 in lanes:
            rows.append({
                "sample_id": s.sample_id, "patient": s.patient, "batch": BATCH, "site": s.site,
                "specimen_type": s.specimen_type,
                "tumour_content": "" if s.tumour_content is None else f"{s.tumour_content:g}",
                "oncotree_code": s.oncotree_code, "panels": ",".join(s.panels), "lane": lane,
                "fastq_1": fq1, "fastq_2": fq2, "bam": "", "i7": s.i7, "i5": s.i5,
                "received_date": on_demo_day(s.received_date, today), "control": s.control,
                "reference_material": s.reference_material,
                "language": "en" if s.sample_id in ENGLISH_REPORTS else "",
                "germline_consent": CONSENT.get(s.patient, ""),
                "line_of_therapy": LINE_OF_THERAPY.get(s.sample_id, ""),
            })  # fmt: skip
    return rows


def write_tsv(path: Path, columns: Sequence[str], rows: Sequence[dict[str, str]]) -> None:
    lines = ["\t".join(columns)] + ["\t".join(str(r.get(c, "")) for c in columns) for r in rows]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    replace_if_changed(tmp, path)


def build_key(seed: int, artefacts: bool) -> str:
    """Everything the batch's bytes depend on: a rerun with the same key has nothing to do."""
    digest = hashlib.sha256(f"{seed}:{artefacts}".encode())
    inputs = [
        Path(__file__), Path(simulate.__file__), paths.ANNOTATION / "panels" / "panels.yaml",
        paths.ANNOTATION / "transcripts" / "mane_select_panel_grch38.tsv",
        paths.ANNOTATION / "reference" / "grch38_panel10_slices.fa", paths.ANNOTATION / "hotspots.tsv",
        Path(f"{simulate.DEFAULT_REFERENCE}.fai"), paths.ROOT / "oncosim" / "plasma.py",
    ]  # fmt: skip
    for path in inputs:
        digest.update(path.read_bytes() if path.exists() else b"-")
    art = subprocess.run(["art_illumina"], capture_output=True, text=True)
    digest.update(art.stdout.encode()[:300])  # its banner carries the version
    return digest.hexdigest()


def outputs(out: Path) -> list[Path]:
    files = [out / "samples.tsv", out / "identity.yaml", out / "simulation.tsv", out / "demo_config.yaml"]
    files += [out / "pooled" / f"{BATCH}_R{m}.fastq.gz" for m in (1, 2)]
    for s in SIMULATED:
        files += [out / "fastq" / f"{s.sample_id}_R{m}.fastq.gz" for m in (1, 2)]
        files += [out / "truth" / f"{s.sample_id}{ext}" for ext in (".vcf.gz", ".vcf.gz.tbi", ".artefacts.tsv")]
    files += [out / "fastq" / f"{PLASMA.sample_id}_R{m}.fastq.gz" for m in (1, 2)]  # the plasma block
    return files


def build(out: Path, seed: int, artefacts: bool = True, today: date | None = None) -> list[dict[str, str]]:
    """Simulate every demo sample and write the sheet, truth and manifests. Returns the simulation summary.

    Files whose bytes do not change keep their modification time."""
    fastq_dir, truth_dir = out / "fastq", out / "truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    injected = demo_artefacts(SIMULATED, seed) if artefacts else {}
    summary = []
    for s in SIMULATED:
        started = time.monotonic()
        targets = target_bed_rows(genes_for(s.panels), TARGET_PADDING)
        mine = injected.get(s.sample_id, [])
        sample_seed = subseed(seed, s.sample_id)
        r1, _r2 = simulate_sample(
            fastq_dir / s.sample_id, targets, s.spikes, s.depth, sample_seed, artefacts=mine,
            read_format=ReadFormat(flowcell="HDEMOSIM1", lane=1, i7=s.i7, i5=s.i5),
            capture=cnv_capture(s, seed), copy_number=s.copy_number,
        )  # fmt: skip
        write_truth_vcf(truth_dir / f"{s.sample_id}.vcf.gz", s.spikes, s.sample_id)
        write_artefact_table(truth_dir / f"{s.sample_id}.artefacts.tsv", mine)
        summary.append({
            "sample_id": s.sample_id, "panels": ",".join(s.panels), "depth": str(s.depth),
            "read_pairs": str(fastq_pairs(r1) if s.captured or s.copy_number else planned_pairs(targets, s.depth)),
            "spikes": ";".join(f"{sp.variant.key}@{sp.vaf:g}" for sp in s.spikes),
            "artefacts": str(len(mine)), "seed": str(sample_seed),
        })  # fmt: skip
        print(
            f"{s.sample_id}: {summary[-1]['read_pairs']} pairs in {time.monotonic() - started:.1f} s",
            file=sys.stderr,
        )
    summary.append(build_plasma(out, seed))  # the plasma block
    write_tsv(out / "simulation.tsv", list(summary[0]), summary)
    write_pooled_run(out, fastq_dir)
    write_dated_manifests(out, today)
    return summary


def write_dated_manifests(out: Path, today: date | None = None) -> None:
    """The sample sheet and identity manifest, whose dates count back from the day the batch is built
    (on_demo_day). Kept as built while the batch is up to date: a later re-run of the workflow then finds the same
    receipt dates as the released results (changing them would make every result a pending amendment)."""
    rows = sheet_rows([*SIMULATED, NTC, *REAL], out / "fastq", pooled=True, today=today)
    rows += plasma_rows(out / "fastq", today)  # the plasma block: its own FASTQ, not in the pooled run
    write_tsv(out / "samples.tsv", SHEET_COLUMNS, rows)
    patients = [s for s in [*SIMULATED, *REAL, PLASMA] if not s.control]
    write_identity(out / "identity.yaml", PATIENTS, patients, today)


def cnv_capture(s: DemoSample, seed: int) -> CaptureProfile | None:
    """The capture profile of a captured sample: the design's target efficiencies and the sample's own GC curve
    (slope ~ N(0, 1), curvature ~ N(-6, 3), as oncosim/cnv.py draws them for a library-preparation group)."""
    if not s.captured:
        return None
    rng = np.random.default_rng(subseed(seed, s.sample_id, "gc"))
    return CaptureProfile(CNV_CAPTURE_DESIGN, 0.5, float(rng.normal(0, 1)), float(rng.normal(-6, 3)))


def fastq_pairs(r1: Path) -> int:
    with gzip.open(r1, "rt") as fh:
        return sum(1 for _ in fh) // 4


def write_pooled_run(out: Path, fastq_dir: Path) -> dict[str, int]:
    """The simulated samples as the sequencer delivers a pooled run: undetermined FASTQ with index errors, hopped
    pairs and unknown barcodes (oncosim.batch), plus the config block that tells the workflow."""
    pooled = out / "pooled"
    pooled.mkdir(parents=True, exist_ok=True)
    r1, r2 = (pooled / f"{BATCH}_R{m}.fastq.gz" for m in (1, 2))
    for m in (1, 2):  # the NTC: no library molecules, so no reads of its own
        with gzip.GzipFile(fastq_dir / f"{NTC_ID}_R{m}.fastq.gz", "wb", mtime=0):
            pass
    members = [(s.sample_id, fastq_dir / f"{s.sample_id}_R1.fastq.gz", fastq_dir / f"{s.sample_id}_R2.fastq.gz",
                s.i7, s.i5) for s in [*SIMULATED, NTC]]  # fmt: skip
    expected = pool_fastqs(members, r1, r2, platform="illumina", i5_orientation="forward")
    config = {
        "samples": repo_relative(out / "samples.tsv"),
        "identity": repo_relative(out / "identity.yaml"),
        "pooled_runs": {
            BATCH: {"r1": repo_relative(r1), "r2": repo_relative(r2), "platform": "illumina",
                    "i5_orientation": "forward", "max_mismatches": 1},
        },
    }  # fmt: skip
    (out / "demo_config.yaml").write_text(
        "# Written by scripts/make_demo.py: the demo batch's sheet, identity manifest and pooled run.\n"
        + yaml.safe_dump(config, sort_keys=False)
    )
    write_tsv(out / "pooled" / "expected_read_pairs.tsv", ["sample_id", "read_pairs"],
              [{"sample_id": k, "read_pairs": str(v)} for k, v in expected.items()])  # fmt: skip
    return expected


def make_simref(out: Path, sample_id: str = "SIMREF", seed: int = 7, batch: str = "BATCH01") -> Path:
    """A simulated positive control (material SIMREF) for your own batch; returns the one-row sheet to add.

    Reads over the EGFR_KRAS and EXTENDED targets at SIMREF_DEPTH with KRAS G12D at 0.10 and BRAF V600E at 0.20,
    the fractions controls.yaml expects. Give each batch's positive control its own id (and --seed) so that two
    batches never share input files."""
    out.mkdir(parents=True, exist_ok=True)
    targets = target_bed_rows(genes_for(WIDE), TARGET_PADDING)
    r1, r2 = simulate_sample(out / sample_id, targets, SIMREF_SPIKES, SIMREF_DEPTH, subseed(seed, sample_id))
    write_truth_vcf(out / f"{sample_id}.truth.vcf.gz", SIMREF_SPIKES, sample_id)
    row = {
        "sample_id": sample_id, "batch": batch, "panels": ",".join(WIDE), "lane": "L001",
        "fastq_1": repo_relative(r1), "fastq_2": repo_relative(r2), "control": "positive_control",
        "reference_material": "SIMREF",
    }  # fmt: skip
    sheet = out / f"{sample_id}.samples.tsv"
    write_tsv(sheet, SHEET_COLUMNS, [row])
    return sheet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=paths.ROOT / "demo" / "generated")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-artefacts", action="store_true", help="clean reads: no FFPE/8-oxoG artefacts")
    parser.add_argument("--force", action="store_true", help="rebuild even when nothing it depends on changed")
    parser.add_argument("--today", type=date.fromisoformat, default=None,
                        help="the day the demo's dates count back from (default: today; YYYY-MM-DD)")  # fmt: skip
    parser.add_argument("--simref", type=Path, metavar="DIR",
                        help="only write a simulated positive control (material SIMREF) into DIR")  # fmt: skip
    parser.add_argument("--simref-id", default="SIMREF", help="its sample id (default SIMREF)")
    parser.add_argument("--simref-batch", default="BATCH01", help="its batch in the sheet row (default BATCH01)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.simref:
        sheet = make_simref(args.simref, args.simref_id, args.seed, args.simref_batch)
        print(f"simulated positive control {args.simref_id}: add the row of {sheet} to your sheet", file=sys.stderr)
        return 0
    key, stamp = build_key(args.seed, not args.no_artefacts), args.out / ".build_key"
    if not args.force and stamp.exists() and stamp.read_text() == key and all(p.exists() for p in outputs(args.out)):
        print(f"demo batch in {args.out} is up to date", file=sys.stderr)
        return 0
    stamp.unlink(missing_ok=True)
    build(args.out, args.seed, artefacts=not args.no_artefacts, today=args.today)
    stamp.write_text(key)
    print(f"demo batch in {args.out} ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
