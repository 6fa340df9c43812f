"""Calling's cost per sample and per target base, freebayes' options against sensitivity and PPV, and the panel of
normals from counts against a second freebayes pass over every normal (issue 21).

    .venv/bin/python benchmarks/calling_cost.py            # 2 tumours x (30 SNVs + 10 indels) at 1%, 2 normals
    .venv/bin/python benchmarks/calling_cost.py --quick    # CI: 1 tumour, 6 SNVs + 2 indels, 1000x, 2 settings

Samples are benchmarks/low_vaf.py's (its design and simulation, imported): 1% SNVs and indels in panel coding
exons, 1-4% FFPE C>T / oxoG G>T damage in one pair orientation, capture CV 0.3, 15% PCR duplicates marked; the
tumour simulated once at the top depth and downsampled. Normals (blood) are simulated over every tumour's regions
and carry the first tumour's damage sites (recurrent library damage, as benchmarks/calling.py's PoN experiment), so
the panel of normals has something to flag.

CPU-seconds are user + system time: of the child processes (freebayes, bcftools, tabix: getrusage(CHILDREN)
deltas) and of this process for the package's Python steps (finalize, counting the normals). Wall time is not
reported: on a shared machine it measures the neighbours.

1. Cost per sample at each depth: freebayes (somatic and germline settings on the same BAM, freebayes alone),
   bcftools norm, finalize (the contract VCF with the per-allele model and PoN, index_vcf included); read pairs of
   the BAM and kb of merged targets, for per-pair and per-kb figures.
2. The panel of normals two ways on the same batch: each normal called by freebayes in somatic mode over the
   tumours' targets (the removed rule calling_pon_normal; sites = records with >= pon.min_alt_reads alt reads) and
   the counts rule calling_background makes anyway (oncopanel.calling.pon.carries); the tumour records each flags
   and the PASS calls after finalize with each.
3. freebayes settings at the sweep depth: each variant of the somatic block called on every tumour, its candidate
   alleles counted in the normals (the counts are kept per normal, so the background of each variant is built
   from exactly its own candidates, as rule calling_background would), finalized with the model: CPU, records,
   truths that became candidates, PASS sensitivity and PPV.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pysam

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import calling as cb  # noqa: E402  (benchmarks/calling.py: alignment, downsampling, matching)
import low_vaf as lv  # noqa: E402  (benchmarks/low_vaf.py: the 1% design and its simulation)

from oncopanel.calling import background as bgm  # noqa: E402
from oncopanel.calling import pon  # noqa: E402
from oncopanel.calling import settings as calling_settings  # noqa: E402
from oncopanel.calling.freebayes import freebayes_args  # noqa: E402
from oncopanel.calling.run import (  # noqa: E402
    hotspot_alleles,
    index_vcf,
    plain_fasta,
    regions_fasta_beside,
    regions_reference,
    select_targets,
)
from oncopanel.calling.settings import FreebayesSettings  # noqa: E402
from oncopanel.calling.vcf import SampleContext, finalize  # noqa: E402

BATCH = "COSTBATCH"
pysam.set_verbosity(0)  # whole-file passes need no index: silence htslib's notices


log, rate = lv.log, lv.rate  # the low-VAF benchmark's progress lines and proportions with intervals


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_cpu(cmd: str) -> float:
    """CPU-s (user + sys) of one shell command's processes."""
    c0 = children_cpu()
    subprocess.run(["bash", "-c", f"set -euo pipefail; {cmd}"], check=True, stderr=subprocess.DEVNULL)
    return children_cpu() - c0


def freebayes_cpu(bam: Path, regions: Path, fb: FreebayesSettings, fb_fasta: Path, out_vcf_gz: Path) -> dict:
    """freebayes alone, then bcftools norm -m- on its output (the two halves of rule calling_freebayes' pipe)."""
    raw = out_vcf_gz.with_suffix(".fb.vcf")
    q = shlex.quote
    fb_cmd = shlex.join(["freebayes", "-f", str(fb_fasta), "-t", str(regions), *freebayes_args(fb), str(bam)])
    t_fb = run_cpu(f"{fb_cmd} > {q(str(raw))}")
    norm = shlex.join(["bcftools", "norm", "--no-version", "-f", str(cb.REF), "-m-", "-Oz", "-o", str(out_vcf_gz),
                       str(raw)])  # fmt: skip
    t_norm = run_cpu(norm)
    raw.unlink()
    with pysam.VariantFile(str(out_vcf_gz)) as vf:
        records = sum(1 for _ in vf)
    return {"freebayes": t_fb, "norm": t_norm, "records": records}


def records_of(vcf: Path) -> list[tuple]:
    """A VCF's records without QUAL: freebayes' QUAL near 0 under --pooled-continuous moves in its third digit
    with nothing but the reference's path string (3.405e-15 / 3.375e-15 at one record; benchmarks' notes)."""
    with pysam.VariantFile(str(vcf)) as vf:
        return [(r.chrom, r.pos, r.ref, r.alts, str(r.info.items()), str(r.samples[0].items())) for r in vf]


def pairs_in(bam: Path) -> int:
    out = subprocess.run(["samtools", "view", "-c", "-f", "64", "-F", "0x904", str(bam)], check=True,
                         capture_output=True, text=True)  # fmt: skip
    return int(out.stdout.strip())


def target_kb(bed: Path) -> float:
    return sum(int(f[2]) - int(f[1]) for f in (line.split("\t") for line in bed.read_text().splitlines())) / 1000


@dataclass
class NormalCounts:
    """Every normal's count at every allele counted so far (the observe hook of count_normals)."""

    counts: dict[tuple[str, str], object]

    def sites(self, keys: set[str], max_normal_vaf: float) -> dict[str, bgm.SiteErrors]:
        """What count_normals returns for exactly these alleles: the batch background of one candidate set."""
        out: dict[str, bgm.SiteErrors] = {}
        for (_normal, key), c in self.counts.items():
            if key not in keys or c.depth == 0 or c.vaf >= max_normal_vaf:
                continue
            one = bgm.SiteErrors(c.depth, c.alt_f1r2, c.alt_f2r1, 1)
            out[key] = out[key] + one if key in out else one
        return out

    def carriers(self, keys: set[str], settings) -> dict[str, int]:
        out: dict[str, int] = {}
        for (_normal, key), c in self.counts.items():
            if key in keys and pon.carries(c.alt, c.depth, settings.pon, settings.somatic_freebayes):
                out[key] = out.get(key, 0) + 1
        return out


def count_more(normals: dict[str, Path], alleles, store: NormalCounts, settings) -> float:
    """Count the normals at the alleles not counted yet; returns this process's CPU-s."""
    todo = sorted({v for v in alleles if all((n, v.key) not in store.counts for n in normals)})
    if not todo:
        return 0.0
    fb = settings.somatic_freebayes

    def observe(normal, v, c) -> None:
        store.counts[(normal, v.key)] = c

    t0 = self_cpu()
    bgm.count_normals(normals, todo, str(cb.REF), fb.min_mapping_quality, fb.min_base_quality,
                      settings.background_model.max_normal_vaf, observe)  # fmt: skip
    return self_cpu() - t0


def finalize_cpu(raw: Path, bam: Path, sample: str, settings, model, panel, out: Path) -> float:
    """The contract VCF (finalize + index_vcf): this process's CPU plus its children's (bcftools, tabix)."""
    t0, c0 = self_cpu(), children_cpu()
    unsorted = out.with_suffix(".unsorted.vcf")
    finalize(raw, unsorted, SampleContext(sample, "somatic", str(cb.REF), str(bam), panel, (), model), settings)
    index_vcf(unsorted, str(cb.REF), out)
    unsorted.unlink()
    return (self_cpu() - t0) + (children_cpu() - c0)


def score(truths, vcf: Path) -> dict:
    calls = cb.pass_calls(vcf)
    hit, fps, _ = cb.match(truths, calls)
    return {"tp": len(hit), "fp": len(fps), "n": len(truths), "snv_tp": sum(1 for i in hit if truths[i].kind == "snv"),
            "snv_n": sum(1 for t in truths if t.kind == "snv"), "passed": {(c["chrom"], c["pos"], c["ref"], c["alt"])
            for c in calls if c["filter"] == ["PASS"]}}  # fmt: skip


def candidates(raw: Path, truths) -> int:
    """Truth alleles with a raw freebayes record (any representation within 10 bp for indels)."""
    with pysam.VariantFile(str(raw)) as vf:
        recs = [(r.chrom, r.pos, r.ref, a) for r in vf for a in r.alts or ()]
    keys = set(recs)
    n = 0
    for t in truths:
        v = t.variant
        if (v.chrom, v.pos, v.ref, v.alt) in keys or (t.kind == "indel" and any(
                c == v.chrom and abs(p - v.pos) <= 10 and len(r) != len(a) for c, p, r, a in recs)):  # fmt: skip
            n += 1
    return n


def sweep_settings(base: FreebayesSettings, quick: bool) -> list[tuple[str, FreebayesSettings]]:
    """The somatic block and one change at a time."""
    variants = [
        ("config (somatic block)", base),
        ("-F 0.003", replace(base, min_alternate_fraction=0.003)),
        ("-F 0.002", replace(base, min_alternate_fraction=0.002)),
        ("-C 2", replace(base, min_alternate_count=2)),
        ("--limit-coverage 1000", replace(base, limit_coverage=1000)),
        ("--use-best-n-alleles 2", replace(base, use_best_n_alleles=2)),
        ("--haplotype-length -1 (no clumping)", replace(base, extra=f"{base.extra} --haplotype-length -1")),
        ("allele-balance priors on", replace(base, extra=base.extra.replace("--allele-balance-priors-off", ""))),
        ("--min-coverage 100", replace(base, extra=f"{base.extra} --min-coverage 100")),
    ]
    return variants[:2] if quick else variants


def chosen(variants: list[tuple[str, FreebayesSettings]], names: str) -> list[tuple[str, FreebayesSettings]]:
    """--settings: comma-separated indices into the sweep list (0 = the config block)."""
    if not names:
        return variants
    return [variants[int(i)] for i in names.split(",")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="default benchmarks/latest/calling_cost.md (--quick: under results/)")
    ap.add_argument("--workdir", type=Path, help="default results/benchmarks/calling_cost (--quick: .../quick/...)")
    ap.add_argument("--tumours", type=int, default=2)
    ap.add_argument("--snvs", type=int, default=30, help="1%% SNVs per tumour")
    ap.add_argument("--indels", type=int, default=10, help="1%% indels per tumour")
    ap.add_argument("--artefacts", type=int, default=6, help="damage sites per kind (FFPE, oxoG) per tumour")
    ap.add_argument("--normals", type=int, default=3, help="blood normals (>= pon.min_normals for the PoN to apply)")
    ap.add_argument("--normal-depth", type=int, default=1000)
    ap.add_argument("--depths", default="2000,1000,500,200", help="usable depths; the first is simulated")
    ap.add_argument("--sweep-depth", type=int, default=1000)
    ap.add_argument("--settings", default="", help="sweep only these (indices, 0 = config block; default all)")
    ap.add_argument("--seed", type=int, default=23)
    ap.add_argument("--whole-reference", type=Path, default=ROOT / "resources/reference/grch38_panel_masked.plain.fa",
                    help="a plain copy with every contig whole (the copy before the cut), for the comparison")
    ap.add_argument("--quick", action="store_true", help="CI: 1 tumour, 6 SNVs + 2 indels, 1000x, 2 settings")
    args = ap.parse_args()
    if args.quick:
        args.tumours, args.snvs, args.indels, args.artefacts, args.normals = 1, 6, 2, 2, 3
        args.depths, args.sweep_depth, args.normal_depth = "1000", 1000, 700
    depths = [int(d) for d in args.depths.split(",")]
    if args.sweep_depth not in depths:
        ap.error("--sweep-depth must be one of --depths")
    scratch = ROOT / "results" / "benchmarks" / ("quick" if args.quick else "")
    latest = ROOT / "benchmarks" / "latest"
    out = args.out or (scratch if args.quick else latest) / "calling_cost.md"
    work = args.workdir or scratch / "calling_cost"
    work.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/calling_cost.py " + " ".join(sys.argv[1:])
    settings = calling_settings.load()
    som, germ = settings.somatic_freebayes, settings.germline_freebayes
    fb_fasta = plain_fasta(cb.REF, ROOT / settings.plain_fasta)
    mmi = cb.mm2_index(work)
    fasta = pysam.FastaFile(str(cb.REF))
    seq = cb.fasta_source()
    from oncosim.reads import Spike

    # --- samples ---------------------------------------------------------------------------------------------
    designs = lv.design_tumours(fasta, seq, args.tumours, args.snvs, args.indels, args.artefacts, args.seed, margin=0)
    tumours = [(truths, regions, [a for _, a in arts]) for truths, regions, arts in designs]
    all_regions = sorted(r for _, regions, _ in tumours for r in regions)
    all_regions = [(c, s, e, f"N{i}_exon1") for i, (c, s, e, _) in enumerate(all_regions)]
    union_bed = work / "union.targets.bed"
    union_bed.write_text("".join(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in all_regions))
    recurrent = tumours[0][2]  # the first tumour's damage, in every normal's library too
    normals = {}
    for n in range(args.normals):
        d = work / f"normal{n}_d{args.normal_depth}_s{args.seed}_t{args.tumours}"
        d.mkdir(exist_ok=True)
        normals[f"NORMAL{n}"] = lv.simulate(d / "sim", all_regions, [], args.normal_depth, args.seed * 7 + n,
                                            recurrent, mmi, f"NORMAL{n}")  # fmt: skip
    top = depths[0]
    samples = []  # (tumour index, depth, bam, regions bed)
    for t, (truths, regions, arts) in enumerate(tumours):
        d = work / f"tumour{t}_s{args.seed}_n{len(truths)}_a{args.artefacts}_top{top}"
        d.mkdir(exist_ok=True)
        targets = d / "targets.bed"
        targets.write_text("".join(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in regions))
        regions_bed = d / "regions.bed"
        select_targets(targets, None, regions_bed)  # merged, as call_raw writes them
        # freebayes' own reference, as rule calling_regions writes it
        regions_reference(regions_bed, fb_fasta, regions_fasta_beside(regions_bed))
        top_bam = lv.simulate(d / f"sim{top}", regions, [Spike(x.variant, x.vaf) for x in truths],
                              round(top / lv.USABLE), args.seed * 10 + t, arts, mmi, f"TUMOUR{t}")  # fmt: skip
        for depth in depths:
            bam = top_bam if depth == top else d / f"sim{depth}.bam"
            if not Path(f"{bam}.bai").exists():
                cb.downsample(top_bam, depth / top, args.seed + t, bam)
            samples.append((t, depth, bam, regions_bed, d))

    # --- 1. cost per sample by depth ---------------------------------------------------------------------------
    cost_rows = []
    for t, depth, bam, regions_bed, d in samples:
        som_raw = d / f"{depth}.somatic.vcf.gz"
        own = regions_fasta_beside(regions_bed)
        s = freebayes_cpu(bam, regions_bed, som, own, som_raw)
        g = freebayes_cpu(bam, regions_bed, germ, own, d / f"{depth}.germline.vcf.gz")
        whole = {}
        if args.whole_reference and args.whole_reference.exists():  # the copy as it was: every contig, whole
            whole = freebayes_cpu(bam, regions_bed, som, args.whole_reference, d / f"{depth}.somatic.whole.vcf.gz")
            whole["same_records"] = records_of(som_raw) == records_of(d / f"{depth}.somatic.whole.vcf.gz")
        cost_rows.append({"tumour": t, "depth": depth, "pairs": pairs_in(bam), "kb": target_kb(regions_bed),
                          "somatic_freebayes": s["freebayes"], "somatic_norm": s["norm"],
                          "somatic_records": s["records"],
                          "germline_freebayes": g["freebayes"], "germline_norm": g["norm"],
                          "germline_records": g["records"], "whole_freebayes": whole.get("freebayes"),
                          "whole_same_records": whole.get("same_records")})  # fmt: skip
        log(f"tumour {t} {depth}x: freebayes somatic {s['freebayes']:.1f} CPU-s, germline {g['freebayes']:.1f}")

    # --- 2. the batch at each depth: background + PoN from counts, PoN the old way, finalize ---------------------
    store = NormalCounts({})
    hot = set(hotspot_alleles())
    pon_rows, fin_rows = [], []
    old_sites: dict[str, set[str]] = {}
    old_cpu = {}
    for name, bam in normals.items():  # the removed rule calling_pon_normal: somatic freebayes over the union
        vcf = work / f"{name}.pon_old.vcf.gz"
        merged = work / "union.regions.bed"
        select_targets(union_bed, None, merged)
        r = freebayes_cpu(bam, merged, som, fb_fasta, vcf)
        old_cpu[name] = r["freebayes"] + r["norm"]
        sites = set()
        with pysam.VariantFile(str(vcf)) as vf:
            for rec in vf:
                ad = rec.samples[0].get("AD")
                if ad and len(ad) > 1 and ad[1] is not None and ad[1] >= settings.pon.min_alt_reads:
                    sites |= {f"{rec.chrom}:{rec.pos}:{rec.ref}>{a}" for a in rec.alts or ()}
        old_sites[name] = sites
    old_counts: dict[str, int] = {}
    for sites in old_sites.values():
        for k in sites:
            old_counts[k] = old_counts.get(k, 0) + 1
    old_pon = pon.PanelOfNormals(BATCH, tuple(sorted(normals)), old_counts)
    model_settings = settings.background_model
    for depth in depths:
        raws = {t: d / f"{depth}.somatic.vcf.gz" for t, dep, _b, _r, d in samples if dep == depth}
        alleles = set(bgm.candidate_alleles(list(raws.values()))) | hot
        count_s = count_more(normals, alleles, store, settings)
        keys = {v.key for v in alleles}
        model = bgm.BackgroundModel(store.sites(keys, model_settings.max_normal_vaf), model_settings,
                                    f"batch {BATCH}", tuple(sorted(normals)))  # fmt: skip
        new_pon = pon.from_counts(BATCH, normals, store.carriers(keys, settings))
        for t, dep, bam, _r, d in samples:
            if dep != depth:
                continue
            truths = tumours[t][0]
            arms = {}
            for arm, panel in (("counts", new_pon), ("freebayes", old_pon)):
                vcf = d / f"{depth}.final.{arm}.vcf.gz"
                cpu = finalize_cpu(raws[t], bam, f"TUMOUR{t}_{depth}x", settings, model, panel, vcf)
                arms[arm] = (cpu, score(truths, vcf), vcf)
            flagged = {}
            for arm, (_cpu, _s, vcf) in arms.items():
                with pysam.VariantFile(str(vcf)) as vf:
                    flagged[arm] = {(r.chrom, r.pos, r.ref, r.alts[0]) for r in vf if "pon" in r.filter}
            a, b = arms["counts"][1], arms["freebayes"][1]
            pon_rows.append({"tumour": t, "depth": depth, "flag_counts": len(flagged["counts"]),
                             "flag_freebayes": len(flagged["freebayes"]),
                             "flag_both": len(flagged["counts"] & flagged["freebayes"]),
                             "tp_counts": a["tp"], "fp_counts": a["fp"],
                             "tp_freebayes": b["tp"], "fp_freebayes": b["fp"],
                             "n": a["n"], "pass_equal": a["passed"] == b["passed"]})  # fmt: skip
            fin_rows.append({"tumour": t, "depth": depth, "finalize": arms["counts"][0]})
        fin_rows.append({"depth": depth, "count_normals": count_s, "alleles": len(keys)})
        log(f"{depth}x: counted normals at {len(keys)} alleles in {count_s:.1f} CPU-s")

    # --- 3. freebayes settings at the sweep depth --------------------------------------------------------------
    sweep_rows = []
    for label, fb in chosen(sweep_settings(som, args.quick), args.settings):
        raws, cpu, records, cands = {}, 0.0, 0, 0
        for t, dep, bam, regions_bed, d in samples:
            if dep != args.sweep_depth:
                continue
            tag = "".join(ch if ch.isalnum() else "_" for ch in label)
            raw = d / f"{dep}.sweep.{tag}.vcf.gz"
            r = freebayes_cpu(bam, regions_bed, fb, regions_fasta_beside(regions_bed), raw)
            cpu += r["freebayes"] + r["norm"]
            records += r["records"]
            cands += candidates(raw, tumours[t][0])
            raws[t] = (raw, bam, d, tag)
        alleles = set(bgm.candidate_alleles([raw for raw, *_ in raws.values()])) | hot
        count_more(normals, alleles, store, settings)
        keys = {v.key for v in alleles}
        model = bgm.BackgroundModel(store.sites(keys, model_settings.max_normal_vaf), model_settings,
                                    f"batch {BATCH}", tuple(sorted(normals)))  # fmt: skip
        panel = pon.from_counts(BATCH, normals, store.carriers(keys, settings))
        tp = fp = n = snv_tp = snv_n = 0
        fin = 0.0
        for t, (raw, bam, d, tag) in raws.items():
            vcf = d / f"{args.sweep_depth}.sweep.{tag}.final.vcf.gz"
            fin += finalize_cpu(raw, bam, f"TUMOUR{t}", settings, model, panel, vcf)
            s = score(tumours[t][0], vcf)
            tp, fp, n, snv_tp, snv_n = tp + s["tp"], fp + s["fp"], n + s["n"], snv_tp + s["snv_tp"], snv_n + s["snv_n"]
        sweep_rows.append({"setting": label, "freebayes_cpu": cpu, "finalize_cpu": fin, "records": records,
                           "candidates": cands, "tp": tp, "fp": fp, "n": n, "snv_tp": snv_tp, "snv_n": snv_n,
                           "tumours": len(raws)})  # fmt: skip
        log(f"sweep {label}: {cpu:.1f} CPU-s, {records} records, {cands}/{n} candidates, {tp} TP {fp} FP")

    (work / "rows.json").write_text(json.dumps({"cost": cost_rows, "pon": pon_rows, "finalize": fin_rows,
                                                "sweep": sweep_rows, "pon_old_cpu": old_cpu}, indent=0))  # fmt: skip
    write_report(out, command, args, depths, cost_rows, pon_rows, fin_rows, sweep_rows, old_cpu, normals)
    log(f"wrote {out}")


def write_report(out: Path, command: str, args, depths, cost_rows, pon_rows, fin_rows, sweep_rows, old_cpu,
                 normals) -> None:  # fmt: skip
    lines = [
        "# Calling cost (benchmarks/calling_cost.py)",
        "",
        f"Command: `{command.strip()}`  ",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {args.tumours} tumours ({args.snvs} SNVs + "
        f"{args.indels} indels at 1%, {args.artefacts} FFPE + {args.artefacts} oxoG damage sites each), "
        f"{args.normals} normals at {args.normal_depth}x carrying tumour 0's damage sites. CPU-s = user + sys.",
        "",
        "## 1. Cost per sample by depth (median usable depth; mean over tumours)",
        "",
        "| depth | read pairs | targets (kb, merged) | freebayes somatic | freebayes somatic, whole-contig copy "
        "(records equal) | bcftools norm | finalize (model + PoN, index) | somatic CPU-s per 100k pairs | somatic "
        "CPU-s per kb of targets | freebayes germline settings | records somatic / germline |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for depth in depths:
        rows = [r for r in cost_rows if r["depth"] == depth]
        fins = [r["finalize"] for r in fin_rows if r.get("depth") == depth and "finalize" in r]
        if not rows:
            continue

        def mean(key: str, rows=rows) -> float:
            return sum(r[key] for r in rows) / len(rows)

        fin = sum(fins) / len(fins) if fins else 0.0
        som = mean("somatic_freebayes") + mean("somatic_norm") + fin
        wholes = [r["whole_freebayes"] for r in rows if r.get("whole_freebayes") is not None]
        same = all(r.get("whole_same_records") for r in rows if r.get("whole_freebayes") is not None)
        whole = f"{sum(wholes) / len(wholes):.2f} ({'yes' if same else 'NO'})" if wholes else "–"
        lines.append(
            f"| {depth}x | {mean('pairs'):,.0f} | {mean('kb'):.1f} | {mean('somatic_freebayes'):.2f} | {whole} | "
            f"{mean('somatic_norm'):.2f} | {fin:.2f} | {som / mean('pairs') * 1e5:.2f} | {som / mean('kb'):.3f} | "
            f"{mean('germline_freebayes'):.2f} | {mean('somatic_records'):.0f} / {mean('germline_records'):.0f} |"
        )
    counts = [r for r in fin_rows if "count_normals" in r]
    lines += ["", "Counting the batch's normals at the candidate alleles (rule calling_background, background and "
              "PoN together; alleles new at each depth only, the rest reused): "
              + "; ".join(f"{r['depth']}x {r['alleles']} alleles {r['count_normals']:.1f} CPU-s" for r in counts)]
    lines += ["", "## 2. Panel of normals: from calling_background's counts vs a somatic freebayes pass per normal", "",
              "The removed pass (rule calling_pon_normal, one per normal over the batch's tumour targets): "
              + ", ".join(f"{k} {v:.2f}" for k, v in old_cpu.items())
              + f" CPU-s ({sum(old_cpu.values()):.2f} in all for {len(normals)} normals). From the counts: no "
              "freebayes run; the PoN rides on counts the background model makes anyway.", "",
              "| tumour | depth | records flagged pon: counts / freebayes / both | PASS truths: counts / freebayes | "
              "false PASS: counts / freebayes | PASS records identical |", "|---|---|---|---|---|---|"]  # fmt: skip
    for r in pon_rows:
        lines.append(f"| {r['tumour']} | {r['depth']}x | {r['flag_counts']} / {r['flag_freebayes']} / "
                     f"{r['flag_both']} | {r['tp_counts']}/{r['n']} / {r['tp_freebayes']}/{r['n']} | "
                     f"{r['fp_counts']} / {r['fp_freebayes']} | {'yes' if r['pass_equal'] else 'no'} |")  # fmt: skip
    lines += ["", f"## 3. freebayes somatic settings at {args.sweep_depth}x (all tumours; one change at a time)", "",
              "| setting | freebayes + norm CPU-s | finalize CPU-s | raw records | truths proposed by freebayes | "
              "SNV sensitivity (PASS) | all sensitivity (PASS) | PPV |",
              "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in sweep_rows:
        lines.append(f"| {r['setting']} | {r['freebayes_cpu']:.1f} | {r['finalize_cpu']:.1f} | {r['records']} | "
                     f"{r['candidates']}/{r['n']} | {rate(r['snv_tp'], r['snv_n'])} | {rate(r['tp'], r['n'])} | "
                     f"{rate(r['tp'], r['tp'] + r['fp'])} |")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    lines += ["", f"Peak memory: this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
              f"largest child {peak:.0f} MB. Machine: {os.cpu_count()} cores, shared.", ""]  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
