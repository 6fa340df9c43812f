"""Plasma cfDNA with UMIs: hotspot sensitivity at 0.5%, 0.25% and 0.1% VAF on consensus reads, false calls in
negative plasmas, and the same reads called without UMIs (issue 18).

Each simulated plasma (oncosim.plasma: cfDNA fragments of mode 167 bp, ~3,600 molecules over each position, two
8-base UMIs per molecule with 0.3% errors a base, PCR families of Poisson(4) read pairs over both strands with
polymerase errors early and late, Q37/Q25/Q12 sequencing errors) covers the EGFR_KRAS panel's hotspots. A
positive sample spikes one missense allele at each of the 12 codon hotspots at one VAF (a binomial draw per
molecule); a negative spikes nothing and all 14 hotspots (with the exon 19 deletion and exon 20 insertion
classes) are assessed. Reads are placed where they come from (a perfect aligner; substitutions only).

Per sample, two arms on the same reads:
- UMI: oncopanel.umi.bam.build_consensus (duplex layout, config/umi.yaml), hotspots genotyped on the consensus BAM
  under calling.yaml's rule with the consensus background of config/umi.yaml (what rule calling_finalize does
  for a plasma sample);
- no UMI: samtools fixmate -m, sort, markdup (the tissue path) and the hotspot rule of calling.yaml unchanged.

Reported: detected / spiked per VAF with the Wilson 95% interval, the median depth (consensus families; raw
read pairs), the median LoD the rule states there, false hotspot calls in negatives, and per sample the wall
time and peak memory of the consensus step (a fresh worker per sample).

    .venv/bin/python benchmarks/plasma.py                 # 9 samples per VAF (108 variants), 20 negatives
    .venv/bin/python benchmarks/plasma.py --quick         # 1 sample per VAF on 2 hotspots, 1 negative (CI)
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pysam

from oncopanel.calling import settings as calling_settings
from oncopanel.hotspots import evaluate_hotspots, load_hotspots
from oncopanel.hotspots.counting import codon_allele
from oncopanel.model import Variant
from oncopanel.reference import FastaSequence, SliceSequence
from oncopanel.stats import wilson_interval
from oncopanel.umi.bam import build_consensus
from oncopanel.umi.settings import consensus_calling_block, load_settings
from oncosim.plasma import PlasmaLibrary, simulate_molecules, write_placed_bam
from oncosim.reads import DEFAULT_REFERENCE, Spike

ROOT = Path(__file__).resolve().parent.parent
PANEL = "EGFR_KRAS"
VAFS = (0.005, 0.0025, 0.001)


def panel_hotspots():
    return [h for h in load_hotspots() if h.panel == PANEL]


def spike_for(hotspot) -> Variant:
    """The first single-base missense allele of a codon hotspot (plus strand), e.g. EGFR T790M C>T."""
    if hotspot.hotspot_id == "EGFR_T790":
        return Variant("chr7", 55181378, "C", "T")  # c.2369C>T p.(Thr790Met), the allele plasma tests are for
    ref = hotspot.plus_ref
    for i in range(len(ref)):
        for base in "ACGT":
            alt = ref[:i] + base + ref[i + 1 :]
            if base != ref[i] and codon_allele(hotspot, alt) is not None:
                return Variant(hotspot.chrom, hotspot.start + i, ref[i], base)
    raise ValueError(hotspot.hotspot_id)


def regions_for(hotspots) -> list[tuple[str, int, int]]:
    rows = sorted((h.chrom, h.start - 1, h.end) for h in hotspots)
    merged: list[list] = []
    for chrom, s, e in rows:
        if merged and merged[-1][0] == chrom and s <= merged[-1][2] + 30:
            merged[-1][2] = max(merged[-1][2], e)
        else:
            merged.append([chrom, s, e])
    return [tuple(r) for r in merged]


def run_sample(job: dict) -> dict:
    """One simulated plasma through both arms (in its own worker process: its peak memory is its own)."""
    lib = PlasmaLibrary(molecules=job["molecules"])
    hotspots = [h for h in panel_hotspots() if h.hotspot_id in job["hotspots"]]
    spikes = [Spike(Variant(*v), job["vaf"]) for v in job["spikes"]]
    umi = load_settings()
    block = calling_settings.load_block()
    raw_rule = calling_settings.from_dict(block).hotspots
    cons_rule = calling_settings.from_dict(consensus_calling_block(block, umi)).hotspots
    reference = FastaSequence(str(DEFAULT_REFERENCE))
    with tempfile.TemporaryDirectory(prefix="oncopanel-plasma-bench-") as tmp:
        d = Path(tmp)
        reads = list(simulate_molecules(regions_for(hotspots), spikes, lib, job["seed"], SliceSequence()))
        write_placed_bam(d / "raw.bam", reads, f"{DEFAULT_REFERENCE}.fai")
        n_pairs = len(reads)
        del reads
        pysam.sort("-o", str(d / "raw.sorted.bam"), str(d / "raw.bam"))
        t0 = time.perf_counter()
        summary = build_consensus(d / "raw.sorted.bam", d / "cons.bam", umi, duplex=True, sample_id=job["name"])
        cons = evaluate_hotspots(d / "cons.bam", job["name"], hotspots, thresholds=cons_rule.thresholds(0.05),
                                 background_error=cons_rule.background, reference=reference)  # fmt: skip
        seconds = time.perf_counter() - t0
        pysam.fixmate("-m", str(d / "raw.bam"), str(d / "fix.bam"))
        pysam.sort("-o", str(d / "fix.sorted.bam"), str(d / "fix.bam"))
        pysam.markdup(str(d / "fix.sorted.bam"), str(d / "md.bam"))
        pysam.index(str(d / "md.bam"))
        raw = evaluate_hotspots(d / "md.bam", job["name"], hotspots, thresholds=raw_rule.thresholds(0.05),
                                background_error=raw_rule.background, reference=reference)  # fmt: skip
    spiked = {Variant(*v).key: hid for v, hid in zip(job["spikes"], job["hotspots"], strict=False)}

    def rows(evals):
        return {
            e.result.hotspot_id: {
                "status": e.result.status, "depth": e.result.depth, "alt": e.result.alt_count, "lod": e.result.lod,
                "detected_alleles": [a.variant.key for a in e.alleles if a.detected and a.variant is not None],
            }
            for e in evals
        }  # fmt: skip

    return {
        "name": job["name"], "vaf": job["vaf"], "read_pairs": n_pairs, "families": summary.families,
        "duplex_families": summary.duplex_families, "spiked": spiked, "umi": rows(cons), "no_umi": rows(raw),
        "consensus_seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }  # fmt: skip


def tally(results: list[dict], arm: str) -> tuple[int, int, int]:
    """(spiked alleles detected, spiked, false hotspot calls: detected where nothing was spiked)."""
    found = total = false = 0
    for r in results:
        spiked_hotspots = set(r["spiked"].values())
        for hid, row in r[arm].items():
            if hid in spiked_hotspots:
                key = next(k for k, h in r["spiked"].items() if h == hid)
                total += 1
                found += row["status"] == "detected" and key in row["detected_alleles"]
            elif row["status"] == "detected":
                false += 1
    return found, total, false


def pct_ci(k: int, n: int) -> str:
    if not n:
        return "-"
    lo, hi = wilson_interval(k, n)
    return f"{k}/{n} {k / n:.1%} ({lo:.1%}-{hi:.1%})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--samples", type=int, default=9, help="positive samples per VAF (12 hotspots each)")
    ap.add_argument("--negatives", type=int, default=20)
    ap.add_argument("--molecules", type=int, default=3600)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, help="default benchmarks/latest/plasma.md (--quick: under results/), and .json")
    args = ap.parse_args(argv)
    quick_dir = ROOT / "results" / "benchmarks" / "quick"
    args.out = args.out or (quick_dir / "plasma.md" if args.quick else ROOT / "benchmarks" / "latest" / "plasma.md")
    codons = [h for h in panel_hotspots() if not h.is_class]
    everything = panel_hotspots()
    if args.quick:
        args.samples, args.negatives = 1, 1
        codons = [h for h in codons if h.hotspot_id in ("EGFR_T790", "KRAS_G12")]
        everything = codons
    jobs = []
    for vaf in VAFS:
        for i in range(args.samples):
            spikes = [spike_for(h) for h in codons]
            jobs.append({
                "name": f"PLASMA-{vaf:g}-{i}", "vaf": vaf, "seed": 1000 + i + int(vaf * 1e5),
                "molecules": args.molecules,
                "hotspots": [h.hotspot_id for h in codons],
                "spikes": [(v.chrom, v.pos, v.ref, v.alt) for v in spikes],
            })  # fmt: skip
    for i in range(args.negatives):
        jobs.append({"name": f"NEG-{i}", "vaf": 0.0, "seed": 5000 + i, "molecules": args.molecules,
                     "hotspots": [h.hotspot_id for h in everything], "spikes": []})  # fmt: skip
    t0 = time.time()
    with ProcessPoolExecutor(max_workers=args.workers, max_tasks_per_child=1) as pool:
        results = list(pool.map(run_sample, jobs))
    wall = time.time() - t0
    lines = [
        f"Plasma cfDNA with UMIs ({len(jobs)} samples, {args.molecules} molecules a position, {wall:.0f} s wall)",
        "| VAF | variants | UMI consensus: detected | without UMIs: detected | consensus families (median) | "
        "raw pairs after markdup (median) | LoD stated, UMI (median) | LoD stated, no UMI (median) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for vaf in VAFS:
        rs = [r for r in results if r["vaf"] == vaf]
        fu, nu, _ = tally(rs, "umi")
        fr, nr, _ = tally(rs, "no_umi")
        depth_u = statistics.median(row["depth"] for r in rs for row in r["umi"].values())
        depth_r = statistics.median(row["depth"] for r in rs for row in r["no_umi"].values())
        lod_u = statistics.median(row["lod"] or 1 for r in rs for row in r["umi"].values())
        lod_r = statistics.median(row["lod"] or 1 for r in rs for row in r["no_umi"].values())
        lines.append(f"| {vaf:.2%} | {nu} | {pct_ci(fu, nu)} | {pct_ci(fr, nr)} | {depth_u:.0f} | {depth_r:.0f} | "
                     f"{lod_u:.2%} | {lod_r:.2%} |")  # fmt: skip
    negs = [r for r in results if r["vaf"] == 0.0]
    _, _, fp_u = tally(negs, "umi")
    _, _, fp_r = tally(negs, "no_umi")
    sites = sum(len(r["umi"]) for r in negs)
    lines.append(f"Negative plasmas: {len(negs)} samples x {sites // max(1, len(negs))} hotspots = {sites} hotspots "
                 f"assessed; hotspot calls: UMI consensus {fp_u}, without UMIs {fp_r}")  # fmt: skip
    pos = [r for r in results if r["vaf"] > 0]
    fp_pos_u = tally(pos, "umi")[2]
    lines.append(f"False hotspot calls at unspiked hotspots of positive samples: UMI {fp_pos_u}, no UMI "
                 f"{tally(pos, 'no_umi')[2]}")  # fmt: skip
    secs = [r["consensus_seconds"] for r in results]
    rss = [r["peak_rss_mb"] for r in results]
    pairs = [r["read_pairs"] for r in results]
    lines.append(f"Per sample: {statistics.median(pairs):.0f} read pairs (median); consensus + hotspot genotyping "
                 f"{statistics.median(secs):.1f} s median (max {max(secs):.1f} s); peak memory of the worker "
                 f"(simulation included) {statistics.median(rss):.0f} MB median (max {max(rss):.0f} MB)")  # fmt: skip
    print("\n".join(lines))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    command = "    .venv/bin/python benchmarks/plasma.py" + (" --quick" if args.quick else "")
    args.out.write_text("\n".join([command, "", *lines]) + "\n")
    args.out.with_suffix(".json").write_text(json.dumps({"summary": lines, "samples": results}, indent=1) + "\n")
    if not args.quick:
        return 0
    # quick mode fails loudly if the consensus arm stops seeing 0.5% variants or calls a negative
    fu, nu, _ = tally([r for r in results if r["vaf"] == 0.005], "umi")
    return 0 if fu == nu and fp_u == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
