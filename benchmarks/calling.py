"""Calling benchmark: simulated spike-ins with injected artefacts, germline spike-ins, and the real read sets.

    .venv/bin/python benchmarks/calling.py                 # modest default (2 somatic + 2 germline replicates)
    .venv/bin/python benchmarks/calling.py --full          # full grid: more spike-ins per cell and replicates
    .venv/bin/python benchmarks/calling.py --skip-real     # simulations only
    .venv/bin/python benchmarks/calling.py --full --report-only   # rebuild the Markdown from the saved rows
    .venv/bin/python benchmarks/calling.py --quick         # CI: every step on a tiny design (about a minute);
                                                           # writes results/benchmarks/quick/, not latest/

Somatic: per replicate, ART reads (oncosim.reads, the demo's simulator) at 2000x over small regions around
spike-ins: real variants (KRAS G12D, EGFR L858R/T790M, BRAF V600E, PIK3CA E545K, NRAS Q61R, BRCA1/2 founder
indels, EGFR exon 19 deletions and exon 20 insertions in forms absent from the hotspot table) and random SNVs and
indels in panel coding exons, at VAF 1, 2, 5, 10, 20, 50% plus a 0.5-point grid around the stated 5% LoD; FFPE
C>T and 8-oxoG G>T artefacts on one pair orientation at 1-4% of fragments, at recurrent sites (also put into
the batch's simulated normals by the panel-of-normals experiment) and at sites unique to the tumour.
Reads are aligned with minimap2 -ax sr, downsampled with samtools view -s to 1000,
500 and 200x, and called with oncopanel.calling.run: the functions the workflow's calling rules run through their
script: adapters (target selection and merge, freebayes | bcftools norm, finalize, index; hotspot force-in
included). The grid runs without a panel of normals; a separate experiment simulates 1-4 normals carrying the
recurrent damage sites and counts what the PoN flags.

Germline: ART reads at 200x over BRCA1/BRCA2 coding targets with heterozygous (0.5) and homozygous (1.0) SNVs and
indels, germline mode. Real reads: NA12878 BRCA1, COLO829 tumour/normal, the two GIAB negative controls.
Results are rewritten to benchmarks/latest/calling.md after every step (partial results survive an interrupt).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import pysam

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from oncopanel.calling import settings as calling_settings  # noqa: E402
from oncopanel.calling.run import call_sample, genotype_sample_hotspots, plain_fasta  # noqa: E402
from oncopanel.calling.stats import wilson_interval  # noqa: E402
from oncopanel.calling.vcf import SampleContext, left_align  # noqa: E402
from oncopanel.model import Variant  # noqa: E402
from oncopanel.panels import load_panels, target_bed_rows  # noqa: E402

REF = ROOT / "resources" / "reference" / "grch38_panel_masked.fa.gz"
VAFS = (0.01, 0.02, 0.05, 0.10, 0.20, 0.50)
LOD_GRID = (0.04, 0.045, 0.05, 0.055, 0.06)
DEPTHS = (2000, 1000, 500, 200)
STATED_LOD = min(p.stated_lod for p in load_panels().values())  # annotation/panels/panels.yaml
SOMATIC_GENES = ("EGFR", "KRAS", "BRCA1", "BRCA2", "TP53", "PIK3CA", "BRAF", "NRAS", "ALK")  # PTEN: paralogue
# (name, chrom, pos, ref, alt): real variants; ref is checked against the reference
REAL_VARIANTS = [
    ("KRAS G12D", "chr12", 25245350, "C", "T"),
    ("EGFR L858R", "chr7", 55191822, "T", "G"),
    ("EGFR T790M", "chr7", 55181378, "C", "T"),
    ("BRAF V600E", "chr7", 140753336, "A", "T"),
    ("PIK3CA E545K", "chr3", 179218303, "G", "A"),
    ("NRAS Q61R", "chr1", 114713908, "T", "C"),
    ("BRCA1 c.68_69del", "chr17", 43124027, "ACT", "A"),
    ("BRCA1 c.5266dup", "chr17", 43057062, "T", "TG"),
    ("BRCA2 c.5946del", "chr13", 32340300, "GT", "G"),
]
# exon 19 deletions / exon 20 insertions (c.2236 = chr7:55174772, c.2369 = chr7:55181378); one of each per sample
EX19 = [
    ("EGFR c.2236_2250del", 55174771, 15, ""),
    ("EGFR c.2240_2257del", 55174775, 18, ""),
    ("EGFR c.2237_2255delinsT", 55174772, 19, "T"),
]
EX20 = [
    ("EGFR c.2310_2311insGGT", 55181319, "GGT"),
    ("EGFR c.2319_2320insCACGTGGGG", 55181328, "CACGTGGGG"),
]


# What a PASS record on the real negative controls is, when it is known (explanations, not filters)
EXPLAIN = {
    "chr17:7676154:G>C": "TP53 c.215C>G p.(Pro72Arg), rs1042522: common germline polymorphism",
    "chr7:55181370:G>A": "EGFR c.2361G>A p.(Gln787=), rs1050171: common germline synonymous polymorphism",
}


@dataclass(frozen=True)
class Truth:
    name: str
    variant: Variant  # left-aligned
    vaf: float
    kind: str  # snv | indel
    grid: bool = False


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def sh(cmd: str) -> None:
    subprocess.run(["bash", "-c", "set -euo pipefail; " + cmd], check=True)


# --- spike-ins ------------------------------------------------------------------------------------------------


def kind_of(v: Variant) -> str:
    return "snv" if len(v.ref) == len(v.alt) == 1 else "indel"


def real_spikes(fasta: pysam.FastaFile, rep: int) -> list[tuple[str, Variant]]:
    out = []
    for name, chrom, pos, ref, alt in REAL_VARIANTS:
        if fasta.fetch(chrom, pos - 1, pos - 1 + len(ref)).upper() == ref:
            out.append((name, Variant(chrom, pos, ref, alt)))
        else:
            log(f"skip {name}: reference base differs")
    name, anchor, n, ins = EX19[rep % len(EX19)]
    ref = fasta.fetch("chr7", anchor - 1, anchor + n).upper()
    out.append((name, Variant("chr7", anchor, ref, ref[0] + ins)))
    name, anchor, ins = EX20[rep % len(EX20)]
    base = fasta.fetch("chr7", anchor - 1, anchor).upper()
    out.append((name, Variant("chr7", anchor, base, base + ins)))
    return out


def random_variant(fasta: pysam.FastaFile, chrom: str, pos: int, kind: str, rng: random.Random) -> Variant:
    base = fasta.fetch(chrom, pos - 1, pos).upper()
    if kind == "snv":
        return Variant(chrom, pos, base, rng.choice([b for b in "ACGT" if b != base]))
    n = rng.randint(1, 3)
    if rng.random() < 0.5:
        return Variant(chrom, pos, fasta.fetch(chrom, pos - 1, pos + n).upper(), base)
    return Variant(chrom, pos, base, base + "".join(rng.choice("ACGT") for _ in range(n)))


def candidate_positions(
    genes: tuple[str, ...], rng: random.Random, taken: list[tuple[str, int]], n: int, spacing: int
) -> list[tuple[str, int]]:
    rows = target_bed_rows(list(genes), 0)
    out: list[tuple[str, int]] = []
    tries = 0
    while len(out) < n and tries < 100_000:
        tries += 1
        chrom, s, e, _ = rng.choice(rows)
        if e - s < 20:
            continue
        pos = rng.randint(s + 5, e - 5)
        if all(c != chrom or abs(p - pos) >= spacing for c, p in taken + out):
            out.append((chrom, pos))
    return out


def somatic_design(fasta, rep: int, per_cell: int, seed: int) -> list[Truth]:
    rng = random.Random(seed * 1000 + rep)
    truths: list[Truth] = []
    reals = real_spikes(fasta, rep)
    for i, (name, v) in enumerate(reals):  # real variants rotate over the VAFs across replicates
        truths.append(Truth(name, v, VAFS[(i + rep) % len(VAFS)], kind_of(v)))
    taken = [(v.chrom, v.pos) for _, v in reals]
    cells = [(vaf, k, False) for vaf in VAFS for k in ("snv", "indel")] + [(vaf, "snv", True) for vaf in LOD_GRID]
    positions = candidate_positions(SOMATIC_GENES, rng, taken, per_cell * len(cells), 1000)
    for j, (chrom, pos) in enumerate(positions):
        vaf, k, grid = cells[j % len(cells)]
        v = random_variant(fasta, chrom, pos, k, rng)
        truths.append(Truth(f"random {k}", v, vaf, k, grid))
    return truths


def regions_for(truths: list[Truth], flank: int = 75) -> list[tuple[str, int, int, str]]:
    rows = sorted(
        {(t.variant.chrom, t.variant.pos - flank, t.variant.pos + len(t.variant.ref) + flank) for t in truths}
    )
    return [(c, s, e, f"SPIKE{i}_exon1") for i, (c, s, e) in enumerate(rows)]


# --- reads ----------------------------------------------------------------------------------------------------


def mm2_index(work: Path) -> Path:
    mmi = work / "ref.mmi"
    if not mmi.exists():
        sh(f"minimap2 -x sr -d {mmi} {REF} 2>/dev/null")
    return mmi


def align(mmi: Path, r1: list[Path] | Path, r2: list[Path] | Path, sample: str, out: Path, markdup: bool) -> Path:
    """minimap2 -ax sr with a read group, fixmate, sort, optional markdup, index."""
    r1s = " ".join(str(p) for p in (r1 if isinstance(r1, list) else [r1]))
    r2s = " ".join(str(p) for p in (r2 if isinstance(r2, list) else [r2]))
    rg = f"@RG\\tID:{sample}\\tSM:{sample}\\tPL:ILLUMINA\\tLB:{sample}"
    tmp = out.with_suffix(".tmp")
    part = out.with_name(out.name + ".part.bam")  # renamed only when complete: an interrupted run leaves no BAM
    head = f"minimap2 -ax sr -t 2 -R '{rg}' {mmi} <(cat {r1s}) <(cat {r2s}) 2>/dev/null"
    if markdup:  # real reads carry PCR duplicates: mark them as the workflow's align rules do
        sh(f"{head} | samtools fixmate -m - - | samtools sort -T {tmp} - 2>/dev/null | samtools markdup - {part}")
    else:  # ART reads have no duplicates
        sh(f"{head} | samtools sort -T {tmp} -o {part} - 2>/dev/null")
    sh(f"samtools index {part} {out}.bai && mv {part} {out}")
    return out


def downsample(bam: Path, fraction: float, seed: int, out: Path) -> Path:
    sh(f"samtools view -b -s {seed + fraction:.4f} -o {out} {bam} && samtools index {out}")
    return out


# --- scoring --------------------------------------------------------------------------------------------------


def pass_calls(vcf: Path) -> list[dict]:
    out = []
    with pysam.VariantFile(str(vcf)) as vf:
        for r in vf:
            out.append(
                {
                    "chrom": r.chrom,
                    "pos": r.pos,
                    "ref": r.ref,
                    "alt": r.alts[0],
                    "filter": list(r.filter.keys()),
                    "origin": r.info.get("ORIGIN"),
                    "af": r.samples[0].get("AF", [None])[0],
                    "gt": "/".join("." if a is None else str(a) for a in (r.samples[0].get("GT") or ())),
                    "likely_germline": bool(r.info.get("LIKELY_GERMLINE", False)),
                    "paralogue": r.info.get("PARALOGUE"),
                    "hotspot": r.info.get("HOTSPOT"),
                }
            )
    return out


def match(truths: list[Truth], calls: list[dict]) -> tuple[dict[int, dict], list[dict], dict[int, dict]]:
    """(truth index -> PASS call, unmatched PASS calls, truth index -> filtered call at the site)."""
    passed = [c for c in calls if c["filter"] == ["PASS"]]
    by_key = {(c["chrom"], c["pos"], c["ref"], c["alt"]): c for c in passed}
    hit: dict[int, dict] = {}
    used: set[int] = set()
    for i, t in enumerate(truths):
        v = t.variant
        c = by_key.get((v.chrom, v.pos, v.ref, v.alt))
        if c is None and t.kind == "indel":  # another representation of the same indel (e.g. delins)
            c = next(
                (
                    c
                    for c in passed
                    if c["chrom"] == v.chrom
                    and abs(c["pos"] - v.pos) <= 10
                    and (len(c["ref"]) != len(c["alt"]) or len(c["ref"]) > 1)
                ),
                None,
            )
        if c is not None:
            hit[i] = c
            used.add(id(c))
    fps = [c for c in passed if id(c) not in used]
    filtered = {}
    for i, t in enumerate(truths):
        if i not in hit:
            v = t.variant
            f = next((c for c in calls if c["chrom"] == v.chrom and abs(c["pos"] - v.pos) <= 2), None)
            if f is not None:
                filtered[i] = f
    return hit, fps, filtered


def fmt_rate(k: int, n: int) -> str:
    if n == 0:
        return "–"
    lo, hi = wilson_interval(k, n)
    return f"{k}/{n} = {k / n:.1%} [{lo:.1%}–{hi:.1%}]"


# --- the report -----------------------------------------------------------------------------------------------


class Report:
    def __init__(self, path: Path, command: str):
        self.path = path
        self.command = command
        self.somatic: list[dict] = []  # one row per truth x depth x replicate
        self.fps: list[dict] = []
        self.somatic_calls: dict[tuple[int, int], int] = {}
        self.germline: list[dict] = []
        self.germline_fp: list[dict] = []
        self.real: list[str] = []
        self.pon: list[str] = []
        self.notes: list[str] = []
        self.started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        self.rows_path: Path | None = None

    def write(self, status: str) -> None:
        lines = [
            "# Calling benchmark (benchmarks/calling.py)"
            + (": QUICK MODE (CI smoke run, not a measurement)" if "--quick" in self.command else ""),
            "",
            f"Command: `{self.command}`  ",
            f"Started {self.started}; status: **{status}** "
            f"(updated {time.strftime('%H:%M UTC', time.gmtime())}). Partial results are written as they come.",
            "",
            "Sensitivity = truth spike-ins with a PASS record at the allele (indels: same allele or another "
            "representation within 10 bp). PPV = PASS records matching a spike-in / all PASS records in the "
            "simulated regions (which carry the injected FFPE/oxoG artefacts). 95% Wilson intervals in brackets.",
            "",
        ]
        lines += (
            self._somatic_tables()
            + self._germline_tables()
            + self.pon
            + self.real
            + ["", "## Notes", ""]
            + [f"- {n}" for n in self.notes]
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("\n".join(lines) + "\n")
        if self.rows_path is not None:  # the raw rows, to rebuild the report (--report-only)
            state = {
                k: getattr(self, k)
                for k in ("somatic", "fps", "germline", "germline_fp", "real", "pon", "notes", "started")
            }
            self.rows_path.write_text(json.dumps(state, default=str))

    def _somatic_tables(self) -> list[str]:
        if not self.somatic:
            return ["## Somatic (simulated)", "", "_not yet measured_", ""]
        out = ["## Somatic sensitivity by VAF and depth (simulated, artefacts injected)", ""]
        for kind in ("snv", "indel"):
            out += [
                f"### {kind.upper()}s",
                "",
                "| VAF | " + " | ".join(f"{d}x" for d in DEPTHS) + " |",
                "|---|" + "---|" * len(DEPTHS),
            ]
            for vaf in VAFS:
                cells = []
                for d in DEPTHS:
                    rows = [
                        r
                        for r in self.somatic
                        if r["kind"] == kind and r["vaf"] == vaf and r["depth"] == d and not r["grid"]
                    ]
                    cells.append(fmt_rate(sum(r["detected"] for r in rows), len(rows)))
                out.append(f"| {vaf:.0%} | " + " | ".join(cells) + " |")
            out.append("")
        out += [
            "### Around the stated LoD (5%): SNV detection fraction",
            "",
            "| VAF | " + " | ".join(f"{d}x" for d in DEPTHS) + " |",
            "|---|" + "---|" * len(DEPTHS),
        ]
        for vaf in LOD_GRID:
            cells = []
            for d in DEPTHS:
                rows = [r for r in self.somatic if r["grid"] and r["vaf"] == vaf and r["depth"] == d]
                rows += [
                    r
                    for r in self.somatic
                    if r["kind"] == "snv" and r["vaf"] == vaf and r["depth"] == d and not r["grid"]
                ]
                cells.append(fmt_rate(sum(r["detected"] for r in rows), len(rows)))
            out.append(f"| {vaf:.1%} | " + " | ".join(cells) + " |")
        out += [
            "",
            "### PPV by depth (PASS records; FFPE C>T and oxoG G>T artefacts at 1–4% injected)",
            "",
            "| depth | SNV PPV | indel PPV | all PPV |",
            "|---|---|---|---|",
        ]
        for d in DEPTHS:
            cells = []
            for kind in ("snv", "indel", None):
                tp = sum(1 for r in self.somatic if r["depth"] == d and r["detected"] and kind in (None, r["kind"]))
                fp = sum(1 for f in self.fps if f["depth"] == d and kind in (None, f["kind"]))
                cells.append(fmt_rate(tp, tp + fp))
            out.append(f"| {d}x | " + " | ".join(cells) + " |")
        out += ["", "### Named real variants (each replicate gives each one a different VAF level; detected / tested, "
                "and in brackets at VAF ≥ 5%)", "", "| variant | " + " | ".join(f"{d}x" for d in DEPTHS) + " |",
                "|---|" + "---|" * len(DEPTHS)]  # fmt: skip
        for name in sorted({r["name"] for r in self.somatic if not r["name"].startswith("random")}):
            cells = []
            for d in DEPTHS:
                rows = [r for r in self.somatic if r["name"] == name and r["depth"] == d]
                hi = [r for r in rows if r["vaf"] >= 0.05]
                cells.append(
                    f"{sum(r['detected'] for r in rows)}/{len(rows)} ({sum(r['detected'] for r in hi)}/{len(hi)})"
                )
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        targets = self._targets()
        out += ["", "### Against the targets", "", *targets, ""]
        if self.fps:
            out += [
                "### False-positive PASS records",
                "",
                "| rep | depth | record | AF | artefact site? |",
                "|---|---|---|---|---|",
            ]
            out += [
                f"| {f['rep']} | {f['depth']}x | {f['chrom']}:{f['pos']} {f['ref']}>{f['alt']} | {f['af']:.3f} | "
                f"{f['artefact']} |"
                for f in self.fps[:60]
            ]
            out.append("")
        missed = [r for r in self.somatic if not r["detected"] and r["vaf"] >= 0.05 and r["depth"] >= 500]
        if missed:
            out += [
                "### Missed spike-ins at VAF ≥ 5% and depth ≥ 500x",
                "",
                "| rep | depth | spike-in | VAF | what the VCF has there |",
                "|---|---|---|---|---|",
            ]
            out += [
                f"| {r['rep']} | {r['depth']}x | {r['name']} {r['key']} | {r['vaf']:.1%} | {r['filtered']} |"
                for r in missed[:60]
            ]
            out.append("")
        return out

    def _targets(self) -> list[str]:
        def sens(pred) -> tuple[int, int]:
            rows = [r for r in self.somatic if pred(r)]
            return sum(r["detected"] for r in rows), len(rows)

        k1, n1 = sens(lambda r: r["vaf"] >= 0.05 and r["depth"] >= 500 and not r["grid"])
        k2, n2 = sens(lambda r: r["vaf"] == 0.02 and r["depth"] >= 1000)
        tp = sum(1 for r in self.somatic if r["detected"])
        fp = len(self.fps)
        out = [
            f"- Somatic sensitivity at VAF ≥ 5%, depth ≥ 500x (target ≥ 99%): {fmt_rate(k1, n1)}",
            f"- Somatic sensitivity at VAF 2%, depth ≥ 1000x (target ≥ 95%): {fmt_rate(k2, n2)}",
            f"- PPV over all depths (target ≥ 99%): {fmt_rate(tp, tp + fp)}",
        ]
        for d in DEPTHS:
            det = {}
            for vaf in sorted(set(VAFS) | set(LOD_GRID)):
                rows = [r for r in self.somatic if r["kind"] == "snv" and r["vaf"] == vaf and r["depth"] == d]
                if rows:
                    det[vaf] = sum(r["detected"] for r in rows) / len(rows)
            # observed LoD: the smallest tested VAF from which every higher tested VAF reached 95% detection
            levels = sorted(det)
            first95 = next((v for i, v in enumerate(levels) if all(det[w] >= 0.95 for w in levels[i:])), None)
            out.append(
                f"- {d}x: observed SNV LoD (smallest tested VAF from which all tested VAFs reach ≥ 95% detection): "
                f"{'not reached' if first95 is None else f'{first95:.1%}'} (stated LoD 5%; tested "
                + ", ".join(f"{v:.1%}:{det[v]:.0%}" for v in levels)
                + ")"
            )
        return out

    def _germline_tables(self) -> list[str]:
        if not self.germline:
            return ["## Germline (simulated)", "", "_not yet measured_", ""]
        out = [
            "## Germline BRCA1/BRCA2 (simulated, 200x, germline mode)",
            "",
            "| class | recall | GT concordant |",
            "|---|---|---|",
        ]
        for kind in ("snv", "indel", None):
            rows = [r for r in self.germline if kind in (None, r["kind"])]
            k = sum(r["detected"] for r in rows)
            gt = sum(r["gt_ok"] for r in rows)
            out.append(f"| {kind or 'all'} | {fmt_rate(k, len(rows))} | {fmt_rate(gt, k)} |")
        tp = sum(r["detected"] for r in self.germline)
        out += [
            "",
            "Precision (PASS records matching a spike-in / all PASS records): "
            f"{fmt_rate(tp, tp + len(self.germline_fp))}"
            f" — targets: recall and precision ≥ 99.5%.",
            "",
        ]
        if self.germline_fp:
            out += [
                "False-positive germline PASS records: "
                + ", ".join(
                    f"{f['chrom']}:{f['pos']} {f['ref']}>{f['alt']} (rep {f['rep']})" for f in self.germline_fp[:30]
                ),
                "",
            ]
        missed = [r for r in self.germline if not r["detected"]]
        if missed:
            out += ["Missed germline spike-ins: " + ", ".join(f"{r['key']} ({r['filtered']})" for r in missed[:30]), ""]
        return out


# --- runs -----------------------------------------------------------------------------------------------------


def run_somatic(args, rep: int, work: Path, report: Report, settings, fb_fasta: Path, mmi: Path) -> None:
    from oncosim.reads import Spike, pick_artefact_sites, simulate_sample

    fasta = pysam.FastaFile(str(REF))
    truths = [
        Truth(t.name, left_align(t.variant, fasta.fetch), t.vaf, t.kind, t.grid)
        for t in somatic_design(fasta, rep, args.per_cell, args.seed)
    ]
    regions = regions_for(truths)
    near = {(t.variant.chrom, t.variant.pos + d) for t in truths for d in range(-12, 13)}
    artefacts, recurrent = [], []
    for kind in ("ffpe_deamination", "oxog"):
        # "recurrent" sites are the ones the PoN experiment also puts into the batch's normals; "unique" ones
        # stay in this tumour only (spike-in regions differ per replicate, so replicates do not share sites)
        these = pick_artefact_sites(regions, args.artefacts, kind, args.seed, fasta_source(), exclude=near)
        recurrent += these
        near |= {(a.chrom, a.pos) for a in these}
        artefacts += these + pick_artefact_sites(
            regions, args.artefacts, kind, args.seed * 100 + rep + 1, fasta_source(), exclude=near
        )
        near |= {(a.chrom, a.pos) for a in artefacts}
    artefact_sites = {(a.chrom, a.pos) for a in artefacts}
    d = work / f"somatic_s{args.seed}_pc{args.per_cell}_a{args.artefacts}_rep{rep}"  # cache keyed by design
    d.mkdir(parents=True, exist_ok=True)
    (d / "truth.json").write_text(json.dumps([{**asdict(t), "variant": t.variant.key} for t in truths], indent=1))
    (d / "artefacts.json").write_text(json.dumps({"recurrent": [asdict(a) for a in recurrent],
                                                  "all": [asdict(a) for a in artefacts]}, indent=1))  # fmt: skip
    targets = d / "targets.bed"
    targets.write_text("".join(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in regions))
    top = DEPTHS[0]  # simulated depth; the others are downsampled from it
    bam = d / f"sim{top}.bam"
    if not Path(f"{bam}.bai").exists():
        log(f"somatic rep {rep}: simulating {len(truths)} spike-ins + {len(artefacts)} artefacts at {top}x")
        spikes = [Spike(t.variant, t.vaf) for t in truths]
        r1, r2 = simulate_sample(
            d / "sim", regions, spikes, top, seed=args.seed * 10 + rep, artefacts=artefacts, sequence=fasta_source()
        )
        log(f"somatic rep {rep}: aligning")
        align(mmi, r1, r2, f"SIM{rep}", bam, markdup=False)
        r1.unlink()
        r2.unlink()
    for depth in DEPTHS:
        sample = f"SIM{rep}_{depth}x"
        sub = bam if depth == top else downsample(bam, depth / top, args.seed + rep, d / f"sim{depth}.bam")
        _, detected = genotype_sample_hotspots(sub, sample, str(REF), STATED_LOD, settings.hotspots)
        ctx = SampleContext(sample, "somatic", str(REF), str(sub), None, detected)
        vcf, _ = call_sample(sub, targets, ctx, settings, fb_fasta, d / f"calls{depth}")
        calls = pass_calls(vcf)
        hit, fps, filtered = match(truths, calls)
        for i, t in enumerate(truths):
            report.somatic.append(
                {
                    "rep": rep,
                    "depth": depth,
                    "name": t.name,
                    "key": t.variant.key,
                    "vaf": t.vaf,
                    "kind": t.kind,
                    "grid": t.grid,
                    "detected": i in hit,
                    "filtered": ",".join(filtered[i]["filter"]) if i in filtered else "no record",
                }
            )
        for f in fps:
            report.fps.append(
                {
                    **f,
                    "rep": rep,
                    "depth": depth,
                    "kind": kind_of(Variant(f["chrom"], f["pos"], f["ref"], f["alt"])),
                    "artefact": (f["chrom"], f["pos"]) in artefact_sites,
                }
            )
        log(f"somatic rep {rep} {depth}x: {len(hit)}/{len(truths)} detected, {len(fps)} FP PASS")
        report.write("running")


def fasta_source():
    from oncopanel.reference import FastaSequence

    return FastaSequence(REF)


def run_germline(args, rep: int, work: Path, report: Report, settings, fb_fasta: Path, mmi: Path) -> None:
    from oncosim.reads import Spike, simulate_sample

    fasta = pysam.FastaFile(str(REF))
    rng = random.Random(args.seed * 7 + rep)
    positions = candidate_positions(("BRCA1", "BRCA2"), rng, [], args.germline_variants, 350)
    truths = []
    for j, (chrom, pos) in enumerate(positions):
        kind = "indel" if j % 4 == 3 else "snv"
        v = left_align(random_variant(fasta, chrom, pos, kind, rng), fasta.fetch)
        truths.append(Truth("germline", v, 1.0 if j % 10 in (1, 5, 8) else 0.5, kind))
    regions = target_bed_rows(["BRCA1", "BRCA2"], 20)
    d = work / f"germline_s{args.seed}_n{args.germline_variants}_rep{rep}"
    d.mkdir(parents=True, exist_ok=True)
    targets = d / "targets.bed"
    targets.write_text("".join(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in regions))
    bam = d / "germ.bam"
    if not Path(f"{bam}.bai").exists():
        log(f"germline rep {rep}: simulating {len(truths)} variants at 200x")
        r1, r2 = simulate_sample(
            d / "sim",
            regions,
            [Spike(t.variant, t.vaf, "germline") for t in truths],
            200,
            seed=args.seed * 20 + rep,
            sequence=fasta_source(),
        )
        align(mmi, r1, r2, f"GERM{rep}", bam, markdup=False)
        r1.unlink()
        r2.unlink()
    ctx = SampleContext(f"GERM{rep}", "germline", str(REF), str(bam))
    vcf, _ = call_sample(bam, targets, ctx, settings, fb_fasta, d / "calls")
    calls = pass_calls(vcf)
    hit, fps, filtered = match(truths, calls)
    for i, t in enumerate(truths):
        want = "1/1" if t.vaf == 1.0 else "0/1"
        report.germline.append(
            {
                "rep": rep,
                "key": t.variant.key,
                "kind": t.kind,
                "detected": i in hit,
                "gt_ok": i in hit and hit[i]["gt"] == want,
                "filtered": ",".join(filtered[i]["filter"]) if i in filtered else "no record",
            }
        )
    report.germline_fp += [{**f, "rep": rep} for f in fps]
    log(f"germline rep {rep}: {len(hit)}/{len(truths)} detected, {len(fps)} FP")
    report.write("running")


def explain(c: dict, mode: str) -> str:
    if c["filter"] != ["PASS"] or mode != "somatic":
        return ""
    known = EXPLAIN.get(f"{c['chrom']}:{c['pos']}:{c['ref']}>{c['alt']}")
    if known:
        return known
    if c["hotspot"]:
        return "hotspot allele (true somatic driver in COLO829)"
    return "LIKELY_GERMLINE flag: fraction consistent with a heterozygote" if c["likely_germline"] else "unexplained"


def run_pon(args, work: Path, report: Report, settings, fb_fasta: Path, mmi: Path) -> None:
    """Batch PoN: normals (500x) carrying the tumour's recurrent library-damage sites (shearing oxidation and
    deamination occur in blood DNA libraries too); how many of those sites the PoN flags with 1-4 normals."""
    from oncopanel.calling import pon
    from oncopanel.calling.run import build_batch_background
    from oncopanel.calling.vcf import finalize
    from oncosim.reads import Artefact, simulate_sample

    d = work / f"somatic_s{args.seed}_pc{args.per_cell}_a{args.artefacts}_rep0"
    raw = d / "calls500" / "SIM0_500x.freebayes.vcf.gz"
    if not raw.exists():
        return
    design = json.loads((d / "artefacts.json").read_text())
    recurrent = [Artefact(**a) for a in design["recurrent"]]
    rec_sites = {(a.chrom, a.pos) for a in recurrent}
    uniq_sites = {(a["chrom"], a["pos"]) for a in design["all"]} - rec_sites
    truths = {t["variant"] for t in json.loads((d / "truth.json").read_text())}
    regions = [tuple(line.split("\t")) for line in (d / "targets.bed").read_text().splitlines()]
    regions = [(c, int(s), int(e), n) for c, s, e, n in regions]
    normals = {}
    for i in range(args.pon_normals):
        n = d / f"normal{i}"
        n.mkdir(exist_ok=True)
        bam = n / "normal.bam"
        if not Path(f"{bam}.bai").exists():
            log(f"pon: simulating normal {i}")
            r1, r2 = simulate_sample(n / "sim", regions, [], args.pon_depth, seed=args.seed * 31 + i,
                                     artefacts=recurrent, sequence=fasta_source())  # fmt: skip
            align(mmi, r1, r2, f"NORMAL{i}", bam, markdup=False)
        normals[f"NORMAL{i}"] = bam
    rows = []
    for k in range(1, args.pon_normals + 1):
        # rule calling_background's step: the first k normals counted at the tumour's candidate alleles, the PoN
        # from those counts
        bams = dict(list(normals.items())[:k])
        build_batch_background("SIM", bams, [raw], str(REF), settings, d / f"pon_k{k}.background.tsv",
                               out_pon=d / f"pon_k{k}.tsv")  # fmt: skip
        panel = pon.read(d / f"pon_k{k}.tsv")
        out = d / f"pon_k{k}.vcf"
        finalize(raw, out, SampleContext("SIM0_500x", "somatic", str(REF), str(d / "sim500.bam"), panel), settings)
        calls = pass_calls(out)  # every record, with its FILTER list
        rec = [c for c in calls if (c["chrom"], c["pos"]) in rec_sites]
        uniq = [c for c in calls if (c["chrom"], c["pos"]) in uniq_sites]
        true_calls = [c for c in calls if f"{c['chrom']}:{c['pos']}:{c['ref']}>{c['alt']}" in truths]
        cells = [f"{sum('pon' in c['filter'] for c in cs)}/{len(cs)}" for cs in (rec, uniq, true_calls)]
        rows.append(f"| {k} | {panel.status(settings.pon)} | " + " | ".join(cells) + " |")
    report.pon = [
        "## Batch panel of normals (simulated)", "",
        f"Tumour: somatic replicate 0 at 500x. Normals: {args.pon_depth}x ART reads over the same regions carrying "
        f"the tumour's {len(recurrent)} recurrent damage sites (same fractions, 1-4%), no spike-ins. Counts are "
        "freebayes records at those sites in the tumour (any FILTER) that carry FILTER pon (the PoN from rule "
        "calling_background's counts of the normals at the tumour's candidate alleles).", "",
        "| normals | PoN status | recurrent artefact records flagged pon | tumour-only artefact records flagged pon "
        "| true spike-in records flagged pon |", "|---|---|---|---|---|", *rows, "",
    ]  # fmt: skip
    report.write("running")
    log("pon: done")


def run_real(
    work: Path, report: Report, settings, fb_fasta: Path, mmi: Path, only: tuple[str, ...] | None = None
) -> None:
    reads = ROOT / "demo" / "real_reads"
    d = work / "real"
    d.mkdir(parents=True, exist_ok=True)
    sets = {
        "NA12878_BRCA1": ("germline", sorted((reads / "NA12878_BRCA1").glob("*_R1*.fastq.gz"))),
        "COLO829T": ("somatic", sorted((reads / "COLO829").glob("COLO829T_*_R1_*.fastq.gz"))),
        "COLO829BL": ("somatic", sorted((reads / "COLO829").glob("COLO829BL_*_R1_*.fastq.gz"))),
        "GIABNEG-A": ("somatic", sorted((reads / "GIAB_negative").glob("GIABNEG-A_*_R1_*.fastq.gz"))),
        "GIABNEG-B": ("somatic", sorted((reads / "GIAB_negative").glob("GIABNEG-B_*_R1_*.fastq.gz"))),
    }
    sets = {k: v for k, v in sets.items() if only is None or k in only}
    all_targets = d / "targets_all.bed"
    all_targets.write_text(
        "".join(
            f"{c}\t{s}\t{e}\t{n}\n"
            for c, s, e, n in target_bed_rows(
                ["BRCA1", "BRCA2", "EGFR", "KRAS", "BRAF", "PIK3CA", "NRAS", "TP53", "PTEN", "ALK"], 20
            )
        )
    )
    highconf = ROOT / "annotation" / "truth" / "HG001_NA12878_GIAB_v3.3.2_highconf_GRCh38_panel10.bed"
    hc = [
        (c, int(s), int(e))
        for c, s, e, *_ in (
            line.split("\t") for line in highconf.read_text().splitlines() if line and not line.startswith("#")
        )
    ]
    out = [
        "## Real reads",
        "",
        "Aligned with minimap2 -ax sr, fixmate + markdup; COLO829BL and the GIAB negatives are called in tumour-only "
        "somatic mode on purpose (what a tumour-only run would report for them); no panel of normals.",
        "",
    ]
    for name, (mode, r1s) in sets.items():
        if not r1s:
            out.append(f"- {name}: reads not found")
            continue
        r2s = [Path(str(p).replace("_R1", "_R2")) for p in r1s]
        bam = d / f"{name}.bam"
        if not Path(f"{bam}.bai").exists():
            log(f"real: aligning {name}")
            align(mmi, r1s, r2s, name, bam, markdup=True)
        results, detected = genotype_sample_hotspots(bam, name, str(REF), STATED_LOD, settings.hotspots)
        ctx = SampleContext(name, mode, str(REF), str(bam), None, detected if mode == "somatic" else ())
        vcf, _ = call_sample(bam, all_targets, ctx, settings, fb_fasta, d / name)
        calls = pass_calls(vcf)
        status = defaultdict(list)
        for r in results:
            status[r.status].append(r.hotspot_id)
        out += [f"### {name} ({mode} mode)", ""]
        det = [r for r in results if r.status == "detected"]
        out.append(
            "Hotspots detected: "
            + (
                ", ".join(
                    f"{r.hotspot_id} {r.observed} VAF {r.vaf:.3f} [{r.vaf_ci_low:.3f}–{r.vaf_ci_high:.3f}] "
                    f"({r.alt_count}/{r.depth})"
                    for r in det
                )
                or "none"
            )
        )
        out.append(
            f"; not detected: {len(status['not_detected'])}; not assessable: {len(status['not_assessable'])}"
            f" ({', '.join(status['not_assessable'][:12])}{' …' if len(status['not_assessable']) > 12 else ''})"
        )
        out.append("")
        out += [
            "| record | FILTER | AF | GT | flags | in GIAB high-confidence | explanation (PASS records) |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in calls:
            inhc = (
                any(c["chrom"] == hc_c and s < c["pos"] <= e for hc_c, s, e in hc) if name.startswith("NA12878") else ""
            )
            flags = ",".join(
                x
                for x in (
                    c["origin"],
                    "LIKELY_GERMLINE" if c["likely_germline"] else "",
                    f"PARALOGUE={c['paralogue']}" if c["paralogue"] else "",
                    f"HOTSPOT={c['hotspot']}" if c["hotspot"] else "",
                )
                if x
            )
            out.append(
                f"| {c['chrom']}:{c['pos']} {c['ref']}>{c['alt']} | {';'.join(c['filter'])} | {c['af']:.3f} | "
                f"{c['gt']} | {flags} | {inhc} | {explain(c, mode)} |"
            )
        out.append("")
        report.real = out
        report.write("running")
        log(f"real: {name} done ({len(calls)} records)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="default benchmarks/latest/calling.md (--quick: under results/)")
    ap.add_argument("--workdir", type=Path, help="default results/benchmarks/calling (--quick: .../quick/calling)")
    ap.add_argument("--replicates", type=int, default=2)
    ap.add_argument("--per-cell", type=int, default=2, help="random spike-ins per (VAF, type) cell and replicate")
    ap.add_argument("--artefacts", type=int, default=6, help="artefact sites per kind, recurrent and unique each")
    ap.add_argument("--germline-replicates", type=int, default=2)
    ap.add_argument("--germline-variants", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--full", action="store_true", help="full grid: 6 replicates, 4 per cell, 5 germline replicates")
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--skip-somatic", action="store_true")
    ap.add_argument("--skip-germline", action="store_true")
    ap.add_argument("--skip-pon", action="store_true")
    ap.add_argument("--pon-normals", type=int, default=4, help="normals simulated for the panel-of-normals experiment")
    ap.add_argument("--pon-depth", type=int, default=500)
    ap.add_argument("--report-only", action="store_true", help="rebuild the report from the workdir's rows.json")
    ap.add_argument("--quick", action="store_true", help="CI: every step once on a tiny design (1 replicate, 1 "
                    "spike-in per cell, 500 and 200x, 8 germline variants, COLO829T only, 3 normals at 200x); "
                    "results under results/benchmarks/quick")
    args = ap.parse_args()
    if args.full:
        args.replicates, args.per_cell, args.germline_replicates = 6, 4, 5
    if args.quick:  # 500 and 200x only; 3 normals (the fewest the PoN applies with) at 200x
        global DEPTHS
        DEPTHS = (500, 200)
        args.replicates, args.per_cell, args.artefacts = 1, 1, 2
        args.germline_replicates, args.germline_variants = 1, 8
        args.pon_normals, args.pon_depth = 3, 200
    scratch = ROOT / "results" / "benchmarks" / ("quick" if args.quick else "")
    args.out = args.out or (scratch / "calling.md" if args.quick else ROOT / "benchmarks" / "latest" / "calling.md")
    args.workdir = args.workdir or scratch / "calling"
    command = "python benchmarks/calling.py " + " ".join(a for a in sys.argv[1:] if a != "--report-only")
    report = Report(args.out, command.strip())
    settings = calling_settings.load()
    args.workdir.mkdir(parents=True, exist_ok=True)
    fb_fasta = plain_fasta(REF, ROOT / settings.plain_fasta)
    mmi = mm2_index(args.workdir)
    report.notes += [
        "The calls are made by oncopanel.calling.run, the code the workflow's calling rules run (call_raw through "
        "oncopanel/steps.py for calling_freebayes; build_batch_background for calling_background and the batch's "
        "panel of normals; finalize, index_vcf and genotype_sample_hotspots through oncopanel/steps.py): what is "
        "measured here is what is deployed.",
        "freebayes 1.3.6, bcftools 1.16, minimap2 2.24, ART (HS25, 2x150, fragments 300±50); thresholds from "
        "config/calling.yaml at the time of the run.",
        f"Grid of this run: {args.replicates} somatic replicates x {args.per_cell} random spike-ins per (VAF, type) "
        f"cell and {args.artefacts} artefact sites per kind; {args.germline_replicates} germline replicates x "
        f"{args.germline_variants} variants (--full: 6 x 4 and 5; the default run takes about 10 minutes on 2 cores).",
        "ART errors are uniform and clean; the injected FFPE/oxoG artefacts are the only systematic errors here. "
        "Real FFPE data also has other artefact classes: treat the PPV as an upper bound.",
        "Downsampled depths are nominal (samtools view -s of the 2000x BAM); the realised VAF of each spike-in "
        "varies binomially around the nominal one, as in real sequencing.",
        "Damage filter: C>T/G>A/G>T/C>A calls need >= 2 alt reads in each read orientation "
        "(calling.somatic.filters.damage). It was added after the demo batch showed an injected 1.1% FFPE C>T "
        "(5 F1R2 reads + 1 F2R1 sequencing-error read) passing the balance test. The simulated artefacts follow "
        "the same single-orientation model the filter targets, so the PPV here is an upper bound for real FFPE.",
        "LoD: the stated 5% is conservative at >= 500x (observed 95% point <= 2%; the grid has no point between "
        "1% and 2%, so it is only bracketed there); at 200x the observed 95% point is within about 1 point of 5%. "
        "The '±1 point' criterion therefore holds at 200x only: either state a depth-dependent LoD or keep 5% "
        "as a floor and say so.",
        "Paralogues on real reads: every PTEN call in both GIAB individuals (PTENP1 reads) and every PIK3CA "
        "exon 9-13 call (pseudogene copy on 22q11) is FILTER paralogue. The PIK3CA region was added to "
        "calling.somatic.paralogues after a first run showed 7 PASS PIK3CA calls in both GIAB negatives, one "
        "of them chr3:179218304 A>C = p.(Glu545Ala) at the E545 hotspot codon; the flag fires on read "
        "evidence (alt reads carrying extra mismatches / clips / unplaced mates beyond the ref reads), not on "
        "a tuned threshold, and a true E545K whose reads lack the pseudogene variants stays PASS.",
        "PoN experiment: part of the same run, on somatic replicate 0 (its 500x calls and regions).",
        "COLO829BL: BRAF V600 has 27 reads, so the hotspot engine (oncopanel.hotspots) reports it not assessable "
        "for the 5% LoD rather than not detected; no record of any kind is called in it.",
    ]
    report.rows_path = args.workdir / "rows.json"
    if args.report_only:
        for key, value in json.loads(report.rows_path.read_text()).items():
            if key != "notes":  # notes come from this code
                setattr(report, key, value)
        report.write("complete; report text rebuilt from rows.json (--report-only)")
        return
    report.write("running")
    try:
        if not args.skip_real:  # cheapest first, so an interrupted run still reports every section it can
            run_real(args.workdir, report, settings, fb_fasta, mmi, only=("COLO829T",) if args.quick else None)
        if not args.skip_germline:
            for rep in range(args.germline_replicates):
                run_germline(args, rep, args.workdir, report, settings, fb_fasta, mmi)
        if not args.skip_somatic:
            for rep in range(args.replicates):
                run_somatic(args, rep, args.workdir, report, settings, fb_fasta, mmi)
        if not args.skip_pon and not args.skip_somatic:
            run_pon(args, args.workdir, report, settings, fb_fasta, mmi)
    except BaseException:
        report.write("interrupted (partial)")
        raise
    report.write("complete")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
