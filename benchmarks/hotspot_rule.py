"""Which hotspot detection rule (config/calling.yaml ``calling.hotspots``)? Sensitivity and false positives.

Tumour-like samples are simulated over hotspot windows with oncosim.reads (ART HS25 2x150, fragments
300±50) at 1000x and downsampled (samtools view -s) to 500x and 200x, aligned with minimap2 -ax sr. Each
replicate spikes six hotspot alleles at one VAF (1%, 2% or 5%, in turn): KRAS G12D, EGFR L858R, BRAF V600E,
PIK3CA H1047R, an EGFR exon 19 deletion and an exon 20 insertion. The same sample carries library damage AT
other hotspots, each in one pair orientation as real damage is (FFPE deamination C>T: KRAS G13D, EGFR T790M,
NRAS G12D; 8-oxoG G>T: EGFR G719C), at 1%, 2% or 4% of fragments in turn. The counts of each BAM
(oncopanel.hotspots.count_hotspots, the workflow's counting) are assessed under each candidate rule:
min_alt_reads 3 or 5, and the class-hotspot indel background 1e-4 or 5e-4 (the somatic filter's
indel_error_rate), each with the library-damage orientation test (C>T/C>A-class alleles need 2 fragments in each
pair orientation, calling.somatic.filters.damage), and min_alt_reads 3 or 5 without it (the rule before);
everything else as config/calling.yaml. Reported per rule: sensitivity by VAF and depth
(the spiked allele detected), false positives per sample (a hotspot detected where nothing was spiked: at a
damage site or elsewhere), and the LoD of a substitution hotspot at each depth.

    .venv/bin/python benchmarks/hotspot_rule.py --replicates 36     # 12 per VAF level, 2 minutes
    .venv/bin/python benchmarks/hotspot_rule.py --quick             # 3 replicates, 500x only (CI)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pysam

from benchmarks.allele_counts import ensure_index
from oncopanel import paths
from oncopanel.calling import settings as calling_settings
from oncopanel.hotspots import assess_hotspot, count_hotspots, hotspot_background, limit_of_detection, load_hotspots
from oncopanel.model import Variant
from oncopanel.panels import load_panels
from oncopanel.reference import SliceSequence
from oncopanel.stats import wilson_interval
from oncosim.reads import Artefact, Spike, natural_orientation, simulate_sample

ROOT = Path(__file__).resolve().parent.parent
# (name, hotspot_id, chrom, pos, ref, alt) on the plus strand
SPIKES = [
    ("KRAS G12D", "KRAS_G12", "chr12", 25245350, "C", "T"),
    ("EGFR L858R", "EGFR_L858", "chr7", 55191822, "T", "G"),
    ("BRAF V600E", "BRAF_V600", "chr7", 140753336, "A", "T"),
    ("PIK3CA H1047R", "PIK3CA_H1047", "chr3", 179234297, "A", "G"),
]
EX19 = ("EGFR exon 19 del (c.2236_2250del)", "EGFR_EX19DEL", 55174771, 15)
EX20 = ("EGFR exon 20 ins (c.2310_2311insGGT)", "EGFR_EX20INS", 55181319, "GGT")
# library damage creating a hotspot allele: (name, hotspot_id, chrom, pos, kind)
DAMAGE = [
    ("KRAS G13D (C>T)", "KRAS_G13", "chr12", 25245347, "ffpe_deamination"),
    ("EGFR T790M (C>T)", "EGFR_T790", "chr7", 55181378, "ffpe_deamination"),
    ("NRAS G12D (C>T)", "NRAS_G12", "chr1", 114716126, "ffpe_deamination"),
    ("EGFR G719C (G>T)", "EGFR_G719", "chr7", 55174014, "oxog"),
]
VAFS = (0.01, 0.02, 0.05)
DAMAGE_FRACTIONS = (0.01, 0.02, 0.04)
DEPTHS = (1000, 500, 200)


def windows() -> list[tuple[str, int, int, str]]:
    sites = [(c, p) for _, _, c, p, *_ in SPIKES] + [(c, p) for _, _, c, p, _ in DAMAGE]
    sites += [("chr7", EX19[2]), ("chr7", EX20[2])]
    merged: list[list] = []
    for chrom, pos in sorted(set(sites)):
        if merged and merged[-1][0] == chrom and pos - 150 <= merged[-1][2]:
            merged[-1][2] = pos + 150
        else:
            merged.append([chrom, pos - 150, pos + 150])
    return [(c, s, e, f"w{i}") for i, (c, s, e) in enumerate(merged)]


def spikes(seq: SliceSequence) -> list[tuple[str, str, Variant]]:
    out = []
    for name, hid, chrom, pos, ref, alt in SPIKES:
        assert seq.fetch(chrom, pos - 1, pos).upper() == ref, name
        out.append((name, hid, Variant(chrom, pos, ref, alt)))
    name, hid, anchor, n = EX19
    ref = seq.fetch("chr7", anchor - 1, anchor + n).upper()
    out.append((name, hid, Variant("chr7", anchor, ref, ref[0])))
    name, hid, anchor, ins = EX20
    base = seq.fetch("chr7", anchor - 1, anchor).upper()
    out.append((name, hid, Variant("chr7", anchor, base, base + ins)))
    return out


def damage(seq: SliceSequence, fraction: float) -> list[Artefact]:
    out = []
    for _, _, chrom, pos, kind in DAMAGE:
        base = seq.fetch(chrom, pos - 1, pos).upper()
        out.append(Artefact(chrom, pos, kind, fraction, natural_orientation(kind, base)))
    return out


def sh(cmd: str) -> None:
    subprocess.run(["bash", "-c", "set -euo pipefail; " + cmd], check=True)


def rules(base: calling_settings.HotspotRule) -> dict[str, calling_settings.HotspotRule]:
    """The candidates: min_alt_reads x class-indel background, with the library-damage orientation test (the
    somatic filter's); and the same without that test (the rule before it). The rest as calling.yaml."""
    out = {}
    for min_alt in (3, 5):
        for indel in (1e-4, 5e-4):
            bg = replace(base.background, deletion=indel, insertion=indel)
            out[f"min_alt {min_alt}, indel {indel:g}"] = replace(base, min_alt_reads=min_alt, background=bg)
    for min_alt in (3, 5):
        bg = replace(base.background, deletion=1e-4, insertion=1e-4)
        out[f"min_alt {min_alt}, indel 0.0001, no orientation test"] = replace(
            base, min_alt_reads=min_alt, background=bg, min_reads_per_orientation=0
        )
    return out


def run(replicates: int, depths: tuple[int, ...], mmi: Path, stated_lod: float) -> tuple[dict, dict, int]:
    seq = SliceSequence()
    base = calling_settings.load().hotspots
    candidates = rules(base)
    hotspots = load_hotspots()
    regions = windows()
    sens: dict = defaultdict(lambda: [0, 0])  # (rule, kind, vaf, depth) -> [detected, spiked]
    fps: dict = defaultdict(list)  # (rule, depth) -> per sample (damage FPs, other FPs, damage held, fraction)
    spiked = spikes(seq)
    spiked_ids = {hid for _, hid, _ in spiked}
    damage_ids = {hid for _, hid, *_ in DAMAGE}
    samples = 0
    with tempfile.TemporaryDirectory(prefix="oncopanel-hotspot-rule-") as tmp:
        for rep in range(replicates):
            vaf = VAFS[rep % len(VAFS)]
            frac = DAMAGE_FRACTIONS[(rep // len(VAFS)) % len(DAMAGE_FRACTIONS)]
            prefix = Path(tmp) / f"r{rep}"
            r1, r2 = simulate_sample(prefix, regions, [Spike(v, vaf) for *_, v in spiked], max(depths),
                                     seed=500 + rep, artefacts=damage(seq, frac), sequence=seq)  # fmt: skip
            top = Path(tmp) / f"r{rep}.bam"
            sh(f"minimap2 -ax sr -t 2 {mmi} {r1} {r2} 2>/dev/null | samtools sort -o {top} - 2>/dev/null")
            pysam.index(str(top))
            for depth in depths:
                bam = top
                if depth != max(depths):
                    bam = Path(tmp) / f"r{rep}_{depth}.bam"
                    sh(f"samtools view -b -s {rep + depth / max(depths):.4f} -o {bam} {top} && samtools index {bam}")
                counts = count_hotspots(bam, f"r{rep}", hotspots, reference=seq,
                                        min_base_quality=base.min_base_quality,
                                        min_mapping_quality=base.min_mapping_quality)  # fmt: skip
                samples += 1
                for label, rule in candidates.items():
                    th = rule.thresholds(stated_lod)
                    results = {c.hotspot.hotspot_id: assess_hotspot(c, th, rule.background).result for c in counts}
                    for _name, hid, v in spiked:
                        kind = "indel" if len(v.ref) != len(v.alt) else "snv"
                        cell = sens[(label, kind, vaf, depth)]
                        cell[0] += results[hid].status == "detected"
                        cell[1] += 1
                    found = [h for h, r in results.items() if r.status == "detected" and h not in spiked_ids]
                    held = sum(results[h].status == "not_assessable" and "orientation" in results[h].reason
                               for h in damage_ids)  # fmt: skip
                    fps[(label, depth)].append(
                        (sum(h in damage_ids for h in found), sum(h not in damage_ids for h in found), held, frac)
                    )
            print(f"{time.strftime('%H:%M:%S')} replicate {rep + 1}/{replicates} (VAF {vaf:.0%}, damage {frac:.0%})",
                  file=sys.stderr, flush=True)  # fmt: skip
    return sens, fps, samples


def pct(k: int, n: int) -> str:
    if not n:
        return "–"
    lo, hi = wilson_interval(k, n)
    return f"{k}/{n} = {k / n:.0%} [{lo:.0%}–{hi:.0%}]"


def lod_table(depths: tuple[int, ...], stated_lod: float) -> list[str]:
    base = calling_settings.load().hotspots
    by_id = {h.hotspot_id: h for h in load_hotspots()}
    out = ["| rule | " + " | ".join(f"LoD at {d}x (SNV / exon 19 class)" for d in depths) + " |",
           "|---|" + "---|" * len(depths)]  # fmt: skip
    for label, rule in rules(base).items():
        th = rule.thresholds(stated_lod)
        cells = []
        for d in depths:
            lods = []
            for hid in ("KRAS_G12", "EGFR_EX19DEL"):
                bg = hotspot_background(by_id[hid], rule.background)
                lod = limit_of_detection(d, bg, th.min_alt, th.alpha, th.power)
                lods.append(f"{lod:.1%}" if lod is not None else "none")
            cells.append(" / ".join(lods))
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out


def report(sens: dict, fps: dict, depths: tuple[int, ...], command: str, stated_lod: float, minutes: float) -> str:
    labels = list(dict.fromkeys(k[0] for k in sens))
    lines = [
        "### Hotspot detection rule (benchmarks/hotspot_rule.py)",
        "",
        f"Command: `{command}` ({time.strftime('%Y-%m-%d')}, {minutes:.1f} min on 2 shared cores)",
        "",
        __doc__.split("\n\n")[1].replace("\n", " "),
        "",
        "#### Sensitivity: spiked hotspot allele detected (status detected in the hotspot table)",
        "",
        "| rule | type | VAF | " + " | ".join(f"{d}x" for d in depths) + " |",
        "|---|---|---|" + "---|" * len(depths),
    ]
    for label in labels:
        for kind in ("snv", "indel"):
            for vaf in VAFS:
                cells = [pct(*sens[(label, kind, vaf, d)]) for d in depths]
                lines.append(f"| {label} | {kind} | {vaf:.0%} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "#### False positives per sample (hotspots detected where nothing was spiked; 4 damage sites per sample)",
        "",
        "| rule | depth | samples | detected at damage sites (mean) | by damage fraction 1% / 2% / 4% | "
        "elsewhere (total) | damage sites not assessable (mean; orientation) |",
        "|---|---|---:|---:|---|---:|---:|",
    ]
    for label in labels:
        for d in depths:
            rows = fps[(label, d)]
            by_frac = []
            for f in DAMAGE_FRACTIONS:
                these = [r[0] for r in rows if r[3] == f]
                by_frac.append(f"{sum(these) / len(these):.2f}" if these else "–")
            mean = sum(r[0] for r in rows) / len(rows)
            held = sum(r[2] for r in rows) / len(rows)
            lines.append(f"| {label} | {d}x | {len(rows)} | {mean:.2f} | {' / '.join(by_frac)} | "
                         f"{sum(r[1] for r in rows)} | {held:.2f} |")  # fmt: skip
    lines += ["", f"#### Limit of detection under each rule (stated LoD {stated_lod:.0%})", ""]
    lines += lod_table(depths, stated_lod)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicates", type=int, default=36, help="simulated samples (VAF levels and damage in turn)")
    ap.add_argument("--mmi", type=Path, default=paths.RESOURCES / "index" / "grch38_panel_masked.mmi")
    ap.add_argument("--out", type=Path, help="default benchmarks/latest/hotspot_rule.md (--quick: under results/)")
    ap.add_argument("--quick", action="store_true", help="3 replicates at 500x only (CI)")
    args = ap.parse_args(argv)
    ensure_index(args.mmi)
    depths = (500,) if args.quick else DEPTHS
    replicates = 3 if args.quick else args.replicates
    stated_lod = min(p.stated_lod for p in load_panels().values())  # annotation/panels/panels.yaml
    start = time.time()
    sens, fps, _ = run(replicates, depths, args.mmi, stated_lod)
    command = "python benchmarks/hotspot_rule.py" + (" --quick" if args.quick else f" --replicates {replicates}")
    text = report(sens, fps, depths, command, stated_lod, (time.time() - start) / 60)
    out = args.out or (ROOT / "results" / "benchmarks" / "quick" / "hotspot_rule.md" if args.quick
                       else ROOT / "benchmarks" / "latest" / "hotspot_rule.md")  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
