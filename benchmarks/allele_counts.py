"""Does the one counting rule (oncopanel.counting) put the truth inside the reported 95% interval for indels?

EGFR exon 19 deletions and exon 20 insertions (the calling benchmark's forms) are spiked at a known fraction of
fragments with oncosim.reads (ART 2x150, fragments 300±50), aligned with minimap2 -ax sr, and counted
with ``count_allele``, the function behind the VCF's FORMAT AD/AF and the hotspot table. Reported per form:
the mean VAF and how often the truth lies inside the Wilson 95% interval (expected: about 95%).

    .venv/bin/python benchmarks/allele_counts.py --replicates 20 [--mmi resources/index/grch38_panel_masked.mmi]
    .venv/bin/python benchmarks/allele_counts.py --quick   # 2 replicates, for CI
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pysam

from oncopanel import paths
from oncopanel.calling import settings as calling_settings
from oncopanel.counting import CountRules, count_allele
from oncopanel.model import Variant
from oncopanel.reference import SliceSequence
from oncosim.reads import Spike, simulate_sample

REF = paths.RESOURCES / "reference" / "grch38_panel_masked.fa.gz"
# (name, anchor, deleted bases, inserted bases) on chr7, as benchmarks/calling.py spikes them
FORMS = [
    ("EGFR c.2236_2250del", 55174771, 15, ""),
    ("EGFR c.2240_2257del", 55174775, 18, ""),
    ("EGFR c.2237_2255delinsT", 55174772, 19, "T"),
    ("EGFR c.2310_2311insGGT", 55181319, 0, "GGT"),
    ("EGFR c.2319_2320insCACGTGGGG", 55181328, 0, "CACGTGGGG"),
]
REGIONS = [("chr7", 55174600, 55174950, "EGFR_ex19"), ("chr7", 55181200, 55181500, "EGFR_ex20")]


def spike(seq: SliceSequence, anchor: int, deleted: int, inserted: str) -> Variant:
    ref = seq.fetch("chr7", anchor - 1, anchor + deleted)
    return Variant("chr7", anchor, ref, ref[0] + inserted)


def align(mmi: Path, r1: Path, r2: Path, out: Path) -> Path:
    cmd = f"minimap2 -ax sr -t 1 {mmi} {r1} {r2} 2>/dev/null | samtools sort -o {out} - 2>/dev/null"
    subprocess.run(["bash", "-c", "set -euo pipefail; " + cmd], check=True)
    pysam.index(str(out))
    return out


def run(replicates: int, vaf: float, depth: int, mmi: Path) -> dict[str, list[tuple[int, int, bool]]]:
    seq = SliceSequence()
    fb = calling_settings.load().somatic_freebayes  # the VCF's counting floors
    rules = CountRules(fb.min_mapping_quality, fb.min_base_quality)
    found: dict[str, list[tuple[int, int, bool]]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="oncopanel-allele-counts-") as tmp:
        for rep in range(replicates):
            ex19 = FORMS[rep % 3]
            ex20 = FORMS[3 + rep % 2]
            chosen = [(ex19[0], spike(seq, *ex19[1:])), (ex20[0], spike(seq, *ex20[1:]))]
            prefix = Path(tmp) / f"r{rep}"
            r1, r2 = simulate_sample(prefix, REGIONS, [Spike(v, vaf) for _, v in chosen], depth, seed=1000 + rep)
            bam_path = align(mmi, r1, r2, Path(tmp) / f"r{rep}.bam")
            with pysam.AlignmentFile(str(bam_path)) as bam:
                for name, v in chosen:
                    n = count_allele(bam, v, seq, rules)
                    lo, hi = n.interval()
                    found[name].append((n.alt, n.depth, lo <= vaf <= hi))
    return found


def ensure_index(mmi: Path) -> Path:
    """The minimap2 index of the embedded reference, built on a fresh clone (the workflow has not indexed it yet)."""
    if not mmi.exists():
        mmi.parent.mkdir(parents=True, exist_ok=True)
        fasta = paths.RESOURCES / "reference" / "grch38_panel_masked.fa.gz"
        subprocess.run(["minimap2", "-x", "sr", "-d", str(mmi), str(fasta)], check=True, capture_output=True)
    return mmi


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicates", type=int, default=20)
    ap.add_argument("--vaf", type=float, default=0.10)
    ap.add_argument("--depth", type=int, default=1000)
    ap.add_argument("--mmi", type=Path, default=paths.RESOURCES / "index" / "grch38_panel_masked.mmi")
    ap.add_argument("--quick", action="store_true", help="2 replicates (CI)")
    args = ap.parse_args(argv)
    ensure_index(args.mmi)
    found = run(2 if args.quick else args.replicates, args.vaf, args.depth, args.mmi)
    cases = [c for rows in found.values() for c in rows]
    print(f"truth {args.vaf:.0%} at {args.depth}x; fragments (oncopanel.counting)")
    for name, rows in found.items():
        vafs = [a / d for a, d, _ in rows if d]
        inside = sum(ok for *_, ok in rows)
        print(f"{name}\tn={len(rows)}\tmean VAF {sum(vafs) / len(vafs):.2%}\ttruth in 95% CI {inside}/{len(rows)}\t"
              + " ".join(f"{a}/{d}" for a, d, _ in rows))  # fmt: skip
    inside = sum(ok for *_, ok in cases)
    print(f"all\ttruth in 95% CI {inside}/{len(cases)} ({inside / len(cases):.0%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
