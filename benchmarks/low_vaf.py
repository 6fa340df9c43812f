"""Tissue variants at 1% VAF: the per-allele background model (oncopanel.calling.background) against the global rate.

    .venv/bin/python benchmarks/low_vaf.py            # 5 tumours x (30 SNVs + 10 indels) at 1%, 2000/1000/500x
    .venv/bin/python benchmarks/low_vaf.py --seeds 11,12 --depths 2000,1000   # two independent batches, pooled
    .venv/bin/python benchmarks/low_vaf.py --quick    # CI: 1 tumour, 6 SNVs + 2 indels, 1000x, 2 normals
    .venv/bin/python benchmarks/low_vaf.py --reuse-calls   # re-run only the finalising pass (filters) on the
                                                            # work dir's freebayes calls and background files
    .venv/bin/python benchmarks/low_vaf.py --reuse-calls --calling-config other.yaml --out x.md
                                                            # the same calls under other filter settings

Per tumour: 1% SNVs and indels (1-3 bp) spread over panel coding exons (>= 400 bp apart: beyond nearly every
fragment of 300±50), FFPE C>T and 8-oxoG G>T damage at 1-4% of fragments in one pair orientation at other C/G sites
of the same regions, and NON-damage errors (oncosim.reads.pick_error_sites: one-orientation lesions of non-damage
substitutions next to homopolymers, strand-specific and read-2-specific errors after GG motifs, errors within 8
bases of read ends; 0.5-3% each) at further sites, simulated with oncosim.reads (ART HS25 2x150) at a nominal depth
giving 2000x median usable fragment depth, with capture efficiency varying between regions (log-normal, CV 0.3) and
15% PCR duplicates on top (marked by samtools markdup after minimap2 -ax sr), then downsampled (samtools view -s) to
1000 and 500x median usable depth.
Normals (blood: no spikes, no damage) are simulated over every tumour's regions at 1000x the same way; half of
them are written to a background store as an earlier batch (oncopanel.calling.background.add_to_store) and the
other half are this batch's normals, so the model pools both as the workflow does. Every other error site of
each family is recurrent: the odd-numbered normals (one stored, one this batch's) carry it too, as systematic
chemistry errors recur; the rest are the tumour's own, which only the tumour's own tests can reject.

Each tumour at each depth is called once with oncopanel.calling.run.call_raw (freebayes | bcftools norm, the
workflow's rule) and finalised twice with oncopanel.calling.vcf.finalize: with the background model (its
candidate alleles counted in the normals by oncopanel.calling.background.count_normals, as rule calling_background
does) and without (global rate only: what a batch without normals gets). Sensitivity = spikes with a PASS record
(indels: the allele or another representation within 10 bp); PPV = PASS records matching a spike / all PASS
records. 95% Wilson intervals. "Depth" is the usable fragment depth at each spike (FORMAT DP, or counted with
oncopanel.counting when no record was written), reported as its median and 5th-95th percentiles per cell.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import pysam

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import calling as cb  # noqa: E402  (benchmarks/calling.py: aligner, downsampling, spike placement, matching)

from oncopanel.calling import background as bgm  # noqa: E402
from oncopanel.calling import settings as calling_settings  # noqa: E402
from oncopanel.calling.run import call_raw, hotspot_alleles, index_vcf, plain_fasta  # noqa: E402
from oncopanel.calling.vcf import SampleContext, finalize, left_align  # noqa: E402
from oncopanel.counting import CountRules, count_allele  # noqa: E402
from oncopanel.model import Variant  # noqa: E402
from oncopanel.stats import wilson_interval  # noqa: E402

VAF = 0.01
TOP = 2000
# usable fragment depth per nominal read depth in this simulation (overlapping mates count once, duplicates,
# MAPQ/BQ floors): 0.88, the median measured over 120 spikes of the first run (1761 at 2000x nominal). Tumours are
# simulated at TOP / USABLE nominal so that the cells' median usable depth is the depth they are named by.
USABLE = 0.88
CAPTURE_CV = 0.3
DUPLICATES = 0.15
PANEL = "SIMPANEL"


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def rate(k: int, n: int) -> str:
    if not n:
        return "–"
    lo, hi = wilson_interval(k, n)
    return f"{k}/{n} = {k / n:.1%} [{lo:.1%}–{hi:.1%}]"


def design(fasta: pysam.FastaFile, sample: int, snvs: int, indels: int, seed: int, taken: list) -> list[cb.Truth]:
    rng = random.Random(seed * 1000 + sample)
    positions = cb.candidate_positions(cb.SOMATIC_GENES, rng, taken, snvs + indels, 400)
    taken += positions
    out = []
    for j, (chrom, pos) in enumerate(positions):
        kind = "snv" if j < snvs else "indel"
        v = left_align(cb.random_variant(fasta, chrom, pos, kind, rng), fasta.fetch)
        out.append(cb.Truth(f"random {kind}", v, VAF, kind))
    return out


def design_tumours(
    fasta: pysam.FastaFile, seq, tumours: int, snvs: int, indels: int, artefacts: int, seed: int, errors: int = 0,
    margin: int = 12,
) -> list[tuple[list[cb.Truth], list, list]]:
    """Each tumour's design: its true 1% variants (:func:`design`), their regions, and its artefact sites as (kind,
    site): ``artefacts`` FFPE deamination and oxoG damage sites, and ``errors`` sites of each non-damage error
    family; each site at least ``margin`` bases from a truth and from the sites picked before it (benchmarks/
    calling_cost.py keeps its published design: margin 0 between artefact sites, no error families)."""
    from oncosim.reads import ERROR_FAMILIES, pick_artefact_sites, pick_error_sites

    taken: list = []
    out = []
    for t in range(tumours):
        truths = design(fasta, t, snvs, indels, seed, taken)
        regions = cb.regions_for(truths)
        near = {(x.variant.chrom, x.variant.pos + d) for x in truths for d in range(-12, 13)}
        arts = []
        picks = [(k, pick_artefact_sites, artefacts) for k in ("ffpe_deamination", "oxog")]
        picks += [(f, pick_error_sites, errors) for f in ERROR_FAMILIES if errors]
        for kind, pick, n in picks:
            these = pick(regions, n, kind, seed * 100 + t, seq, exclude=near)
            near |= {(a.chrom, a.pos + d) for a in these for d in range(-margin, margin + 1)}
            arts += [(kind, a) for a in these]
        out.append((truths, regions, arts))
    return out


def simulate(prefix: Path, regions, spikes, depth: int, seed: int, artefacts, mmi: Path, name: str) -> Path:
    from oncosim.reads import simulate_sample

    bam = prefix.with_suffix(".bam")
    if Path(f"{bam}.bai").exists():
        return bam
    log(f"{name}: simulating {len(spikes)} spikes + {len(artefacts)} artefacts at {depth}x")
    r1, r2 = simulate_sample(
        prefix, regions, spikes, depth, seed=seed, artefacts=artefacts, sequence=cb.fasta_source(),
        capture_cv=CAPTURE_CV, duplicate_fraction=DUPLICATES,
    )  # fmt: skip
    cb.align(mmi, r1, r2, name, bam, markdup=True)
    r1.unlink()
    r2.unlink()
    return bam


def usable_depth(bam: Path, v: Variant, fasta, rules: CountRules) -> int:
    with pysam.AlignmentFile(str(bam)) as af:
        return count_allele(af, v, fasta, rules).depth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="default benchmarks/latest/low_vaf.md (--quick: under results/)")
    ap.add_argument("--workdir", type=Path, help="default results/benchmarks/low_vaf (--quick: .../quick/low_vaf)")
    ap.add_argument("--tumours", type=int, default=5)
    ap.add_argument("--snvs", type=int, default=30, help="1%% SNVs per tumour")
    ap.add_argument("--indels", type=int, default=10, help="1%% indels per tumour")
    ap.add_argument("--artefacts", type=int, default=6, help="damage sites per kind (FFPE, oxoG) per tumour")
    ap.add_argument("--errors", type=int, default=6, help="non-damage error sites per family per tumour")
    ap.add_argument("--calling-config", type=Path, help="another calling.yaml (counterfactual filter settings)")
    ap.add_argument("--normals", type=int, default=4, help="half stored as an earlier batch, half this batch's")
    ap.add_argument("--normal-depth", type=int, default=1000)
    ap.add_argument("--depths", default="2000,1000,500")
    ap.add_argument("--seeds", default="11", help="one independent batch (tumours, normals, store) per seed, pooled")
    ap.add_argument(
        "--reuse-calls",
        action="store_true",
        help="reuse the work dir's downsampled BAMs, freebayes "
        "calls and batch background files (only the finalising pass, filters included, is re-run: "
        "valid while freebayes' settings and the normals' counting are unchanged)",
    )
    ap.add_argument("--quick", action="store_true", help="CI: 1 tumour, 6 SNVs + 2 indels, 1000x, 2 normals at 2500x")
    args = ap.parse_args()
    if args.quick:
        args.tumours, args.snvs, args.indels, args.artefacts, args.normals, args.errors = 1, 6, 2, 2, 2, 1
        args.depths, args.normal_depth = "1000", 2500  # 2 normals: enough pooled depth for the model to apply
    depths = [int(d) for d in args.depths.split(",")]
    scratch = ROOT / "results" / "benchmarks" / ("quick" if args.quick else "")
    out = args.out or (scratch / "low_vaf.md" if args.quick else ROOT / "benchmarks" / "latest" / "low_vaf.md")
    work = args.workdir or scratch / "low_vaf"
    work.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/low_vaf.py " + " ".join(sys.argv[1:])
    t_start = time.time()
    settings = calling_settings.load(args.calling_config)
    fb = settings.somatic_freebayes
    rules = CountRules(fb.min_mapping_quality, fb.min_base_quality)
    fb_fasta = plain_fasta(cb.REF, ROOT / settings.plain_fasta)
    mmi = cb.mm2_index(work)
    fasta = pysam.FastaFile(str(cb.REF))
    seq = cb.fasta_source()

    timing: dict[str, float] = {}

    def timed(key: str, t0: float) -> None:
        timing[key] = timing.get(key, 0.0) + time.time() - t0

    rows: list[dict] = []
    seeds = [int(x) for x in args.seeds.split(",")]

    def batch(seed: int) -> None:
        """One batch: its tumours' design, normals and store, called and finalised at every depth."""
        tag = f"_s{seed}" if len(seeds) > 1 else ""
        errs = f"_e{args.errors}" if args.errors else ""
        tumours = design_tumours(fasta, seq, args.tumours, args.snvs, args.indels, args.artefacts, seed, args.errors)
        # every other error site of each family recurs in the odd-numbered normals (systematic chemistry errors)
        recurrent = [a for _, _, arts in tumours for i, (f, a) in enumerate(arts)
                     if f not in ("ffpe_deamination", "oxog") and i % 2 == 0]  # fmt: skip
        all_regions = [r for _, regions, _ in tumours for r in regions]
        all_regions = [(c, s, e, f"N{i}_exon1") for i, (c, s, e, _) in enumerate(sorted(all_regions))]

        t0 = time.time()
        normals = {}
        for n in range(args.normals):
            d = work / f"normal{n}_d{args.normal_depth}_s{seed}_t{args.tumours}{errs}"
            d.mkdir(exist_ok=True)
            normals[f"NORMAL{n}"] = simulate(d / "sim", all_regions, [], args.normal_depth, seed * 7 + n,
                                             recurrent if n % 2 else [], mmi, f"NORMAL{n}{tag}")  # fmt: skip
        timed("simulate + align normals", t0)

        from oncosim.reads import Spike, artefact_variant

        ms = settings.background_model
        stored_names = sorted(normals)[: args.normals // 2]
        batch_names = sorted(normals)[args.normals // 2 :]
        recurring = {id(a) for a in recurrent}
        store = work / f"store_s{seed}_t{args.tumours}_n{args.normals}_d{args.normal_depth}_u{USABLE}{errs}"
        prepared = []
        for t, (truths, regions, arts) in enumerate(tumours):
            d = work / f"tumour{t}_s{seed}_n{len(truths)}_a{args.artefacts}_u{USABLE}{errs}"
            d.mkdir(exist_ok=True)
            targets = d / "targets.bed"
            targets.write_text("".join(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in regions))
            t0 = time.time()
            top = simulate(d / f"sim{TOP}", regions, [Spike(x.variant, x.vaf) for x in truths], round(TOP / USABLE),
                           seed * 10 + t, [a for _, a in arts], mmi, f"TUMOUR{t}{tag}")  # fmt: skip
            timed("simulate + align tumours", t0)
            prepared.append((t, truths, arts, d, targets, top))
        for depth in depths:
            # the batch's tumours at this depth are called first: their candidate alleles (and the hotspot alleles, as
            # rule calling_background counts them) are where the normals are counted, once for the batch
            raws = {}
            for t, _truths, _arts, d, targets, top in prepared:
                raw = d / f"{depth}.freebayes.vcf.gz"
                bam = top if depth == TOP else d / f"sim{depth}.bam"
                if args.reuse_calls and raw.exists() and Path(f"{bam}.bai").exists():
                    raws[t] = (bam, raw)
                    continue
                if depth != TOP:
                    cb.downsample(top, depth / TOP, seed + t, bam)
                t0 = time.time()
                call_raw(bam, targets, "somatic", fb, fb_fasta, str(cb.REF), d / f"{depth}.regions.bed", raw)
                timed("freebayes", t0)
                raws[t] = (bam, raw)
            t0 = time.time()
            version = f"SIMBATCH-earlier-{depth}x"
            bfile = work / f"SIMBATCH_{depth}x_s{seed}_t{args.tumours}{errs}.background.tsv"
            if not (args.reuse_calls and bfile.exists() and (store / PANEL / version).exists()):
                alleles = sorted(set(bgm.candidate_alleles([raw for _, raw in raws.values()])) | set(hotspot_alleles()))
                floors = (fb.min_mapping_quality, fb.min_base_quality, ms.max_normal_vaf)
                stored_sites = bgm.count_normals({n: normals[n] for n in stored_names}, alleles, str(cb.REF), *floors)
                batch_sites = bgm.count_normals({n: normals[n] for n in batch_names}, alleles, str(cb.REF), *floors)
                if not (store / PANEL / version).exists():
                    bgm.add_to_store(store, PANEL, version, stored_sites)
                bgm.write_sites(batch_sites, bfile, {"batch": "SIMBATCH", "normals": ",".join(batch_names)})
            model = bgm.model_from_files(bfile, [PANEL], replace(ms, store=str(store), store_version=version))
            timed("background model (count normals)", t0)
            for t, truths, arts, d, _targets, _top in prepared:
                bam, raw = raws[t]
                tid = f"{t}{tag}"
                sample = f"TUMOUR{tid}_{depth}x"
                art_sites = {(a.chrom, a.pos): f for f, a in arts}
                art_alleles = {artefact_variant(a, seq).key: (f, a) for f, a in arts}
                for arm, bg in (("model", model), ("global", None)):
                    t0 = time.time()
                    ctx = SampleContext(sample, "somatic", str(cb.REF), str(bam), None, (), bg)
                    unsorted = d / f"{depth}.{arm}.unsorted.vcf"
                    finalize(raw, unsorted, ctx, settings)
                    vcf = d / f"{depth}.{arm}.vcf.gz"
                    index_vcf(unsorted, str(cb.REF), vcf)
                    unsorted.unlink()
                    timed(f"finalize ({arm})", t0)
                    calls = cb.pass_calls(vcf)
                    everything = {(c["chrom"], c["pos"], c["ref"], c["alt"]): c for c in calls}
                    with pysam.VariantFile(str(vcf)) as vf:
                        dp = {(r.chrom, r.pos, r.ref, r.alts[0]): r.samples[0]["DP"] for r in vf}
                    hit, fps, filtered = cb.match(truths, calls)
                    for i, x in enumerate(truths):
                        v = x.variant
                        k = (v.chrom, v.pos, v.ref, v.alt)
                        usable = dp.get(k) if k in everything else None
                        if usable is None:
                            usable = usable_depth(bam, v, seq, rules)
                        rows.append({"tumour": tid, "depth": depth, "arm": arm, "kind": x.kind, "key": v.key,
                                     "detected": i in hit, "usable_depth": usable,
                                     "filter": ",".join(filtered[i]["filter"]) if i in filtered else
                                     ("PASS" if i in hit else "no record")})  # fmt: skip
                    # what became of each injected artefact: its record's FILTER, or no record
                    fate = {f"{c['chrom']}:{c['pos']}:{c['ref']}>{c['alt']}": ",".join(c["filter"]) for c in calls}
                    for key, (fam, a) in art_alleles.items():
                        rows.append({"tumour": tid, "depth": depth, "arm": arm, "artefact_site": fam, "key": key,
                                     "recurrent": id(a) in recurring,
                                     "filter": fate.get(key, "no record")})  # fmt: skip
                    for f in fps:
                        rows.append({"tumour": tid, "depth": depth, "arm": arm, "fp": True, "key":
                                     f"{f['chrom']}:{f['pos']}:{f['ref']}>{f['alt']}", "af": f["af"],
                                     "artefact": art_sites.get((f["chrom"], f["pos"]), ""),
                                     "kind": cb.kind_of(Variant(f["chrom"], f["pos"], f["ref"], f["alt"]))},
                                    )  # fmt: skip
                    n_hit = sum(1 for r in rows if r.get("arm") == arm and r["depth"] == depth and r["tumour"] == tid
                                and r.get("detected"))  # fmt: skip
                    log(f"{sample} {arm}: {n_hit}/{len(truths)} detected, {len(fps)} FP PASS")
            (work / "rows.json").write_text(json.dumps(rows, indent=0))
            write_report(out, command, rows, depths, args, timing, time.time() - t_start, "running")

    for seed in seeds:
        batch(seed)
    write_report(out, command, rows, depths, args, timing, time.time() - t_start, "complete")
    log(f"wrote {out}")


def usable_bins(depths: list[int]) -> list[tuple[int, int, str]]:
    """Per-position depth bins, one centred (log scale) on each named depth, D/√2 to D·√2, plus what lies outside:
    the issue's "depth" is the usable depth at each variant, not the cell's median."""
    named = sorted(depths, reverse=True)
    edges = [(round(d / 2**0.5), round(d * 2**0.5), d) for d in named]
    out = [(edges[0][1], 10**9, f">= {edges[0][1]}x")]
    for lo, hi, d in edges:
        out.append((lo, hi, f"{d}x: {lo}–{hi - 1}x"))
    out.append((0, edges[-1][0], f"< {edges[-1][0]}x"))
    return out


def write_report(out: Path, command: str, rows, depths, args, timing, elapsed: float, status: str) -> None:
    truth_rows = [r for r in rows if "detected" in r]
    fp_rows = [r for r in rows if r.get("fp")]

    def n_kind(kind: str) -> int:
        return len({(r["tumour"], r["key"]) for r in truth_rows if r["kind"] == kind})

    lines = [
        "# Tissue variants at 1% VAF (benchmarks/low_vaf.py)",
        "",
        f"Command: `{command.strip()}`  ",
        f"Status: **{status}** ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}); {args.tumours} tumours in each "
        f"of {len(args.seeds.split(','))} independent batch(es) (seeds {args.seeds}: own design, normals and store), "
        f"{n_kind('snv')} SNVs + {n_kind('indel')} indels at 1% VAF in all (asked: {args.snvs} + {args.indels} a "
        f"tumour; positions >= 400 bp apart in the genes' coding exons run out), {args.artefacts} FFPE C>T + "
        f"{args.artefacts} oxoG "
        f"G>T damage sites per tumour (1-4%, one orientation), {args.errors} non-damage error sites per family per "
        f"tumour (0.5-3%; every other one also in 2 of the normals), capture CV {CAPTURE_CV}, {DUPLICATES:.0%} PCR "
        f"duplicates (marked); {args.normals} normals at {args.normal_depth}x ({args.normals // 2} stored as an "
        "earlier batch, the rest this batch's).",
        "",
        "| depth (usable: median [5th–95th pct]) | SNV sensitivity, model | SNV sensitivity, global rate | "
        "indel sensitivity, model | indel sensitivity, global rate | PPV, model | PPV, global rate |",
        "|---|---|---|---|---|---|---|",
    ]
    for depth in depths:
        cells = []
        usable = sorted(r["usable_depth"] for r in truth_rows if r["depth"] == depth and r["arm"] == "model")
        if not usable:
            continue
        q = statistics.quantiles(usable, n=20) if len(usable) > 1 else [usable[0]] * 19
        label = f"{depth}x ({statistics.median(usable):.0f} [{q[0]:.0f}–{q[-1]:.0f}])"
        for kind in ("snv", "indel"):
            for arm in ("model", "global"):
                sel = [r for r in truth_rows if r["depth"] == depth and r["arm"] == arm and r["kind"] == kind]
                cells.append(rate(sum(r["detected"] for r in sel), len(sel)))
        for arm in ("model", "global"):
            tp = sum(r["detected"] for r in truth_rows if r["depth"] == depth and r["arm"] == arm)
            fp = sum(1 for r in fp_rows if r["depth"] == depth and r["arm"] == arm)
            cells.append(rate(tp, tp + fp))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "By each spike's own usable depth (all cells and batches pooled; with the model), in bins centred, "
              "on a log scale, on each cell's depth (D/√2 to D·√2):", "",
              "| usable depth at the spike | SNV sensitivity | indel sensitivity |", "|---|---|---|"]  # fmt: skip
    for lo, hi, label in usable_bins(depths):
        cells = []
        for kind in ("snv", "indel"):
            sel = [r for r in truth_rows if r["arm"] == "model" and r["kind"] == kind and lo <= r["usable_depth"] < hi]
            cells.append(rate(sum(r["detected"] for r in sel), len(sel)))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    def fp_text(r: dict) -> str:
        where = f" (injected {r['artefact']})" if r["artefact"] else ""
        return f"{r['arm']} {r['depth']}x {r['key']} AF {r['af']}{where}"

    lines += ["", "False PASS records (all depths): " + (", ".join(fp_text(r) for r in fp_rows) or "none")]
    site_rows = [r for r in rows if "artefact_site" in r and r["arm"] == "model"]
    if site_rows:
        lines += [
            "",
            "Injected artefact sites with the model (all tumours; recurrent = also in 2 of the normals): "
            "records written / PASS, and the FILTERs that held them back:",
            "",
            "| depth | artefact | sites | recurrent | with a record | PASS | FILTERs |",
            "|---|---|---|---|---|---|---|",
        ]
        for depth in depths:
            for fam in sorted({r["artefact_site"] for r in site_rows}):
                sel = [r for r in site_rows if r["depth"] == depth and r["artefact_site"] == fam]
                if not sel:
                    continue
                why: dict[str, int] = {}
                for r in sel:
                    if r["filter"] not in ("no record", "PASS"):
                        why[r["filter"]] = why.get(r["filter"], 0) + 1
                lines.append(
                    f"| {depth}x | {fam} | {len(sel)} | {sum(r['recurrent'] for r in sel)} | "
                    f"{sum(r['filter'] != 'no record' for r in sel)} | {sum(r['filter'] == 'PASS' for r in sel)} | "
                    + ("; ".join(f"{k} x{v}" for k, v in sorted(why.items())) or "–")
                    + " |"
                )
    missed: dict[str, int] = {}
    for r in truth_rows:
        if r["arm"] == "model" and not r["detected"]:
            key = f"{r['depth']}x {r['kind']}: {r['filter']}"
            missed[key] = missed.get(key, 0) + 1
    lines += ["", "Missed 1% spikes with the model, by depth, type and FILTER: "
              + ("; ".join(f"{k} x{v}" for k, v in sorted(missed.items())) or "none")]  # fmt: skip
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    lines += [
        "",
        f"Time: {elapsed / 60:.1f} min in all on 2 shared cores (cached simulations are reused); "
        + ", ".join(f"{k} {v:.0f} s" for k, v in timing.items())
        + f". Peak memory: {self_peak:.0f} MB (this process: counting, finalize), {child_peak:.0f} MB (largest "
        "child: freebayes, minimap2, ART, samtools).",
        "",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
