"""Copy-number benchmark: BRCA1/BRCA2 exon deletions and duplications, EGFR amplification (count-level simulation).

    .venv/bin/python benchmarks/cnv.py          # full grid (>= 100 events per cell): benchmarks/latest/cnv.md
    .venv/bin/python benchmarks/cnv.py --quick  # CI: a few events per cell, writes results/benchmarks/quick/cnv.md

Counts come from oncosim/cnv.py (capture efficiency per target, per-sample GC bias and library size,
overdispersion; parameters and sources in its docstring). Every batch has K CNV-free germline samples plus 4
carriers of one event each; the calling is oncopanel.cnv.model.call_batch with config/cnv.yaml, exactly as a run
would call it. Exons not captured (BRCA1/BRCA2 exon 1, non-coding) are left out of every denominator.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from oncopanel.cnv.amplification import call_batch as call_amplifications
from oncopanel.cnv.model import call_batch
from oncopanel.cnv.settings import load_settings
from oncosim.cnv import Event, Panel, SimParams, panel, simulate_batch

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "latest" / "cnv.md"
QUICK = ROOT / "results" / "benchmarks" / "quick" / "cnv.md"
DEPTHS = (100, 200, 500)
REFERENCES = (4, 8, 16)
CLASSES = ("het deletion, 1 exon", "duplication, 1 exon", "multi-exon (2-8 exons, del or dup)")
CARRIERS = 4
GERMLINE_GENES = ["BRCA1", "BRCA2"]
TUMOUR_GENES = ["BRCA1", "BRCA2", "EGFR", "KRAS", "BRAF", "PIK3CA", "NRAS", "TP53", "PTEN", "ALK"]


@dataclass
class Tally:
    event_exons: int = 0
    detected: int = 0
    event_na: int = 0
    other_exons: int = 0
    false_exons: int = 0
    other_na: int = 0
    free_samples: int = 0
    free_with_call: int = 0
    events: int = 0
    wrongly_excluded: int = 0  # event exons reported normal with the event's kind excluded
    names: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for k, v in vars(other).items():
            if isinstance(v, int):
                setattr(self, k, getattr(self, k) + v)


def random_event(rng: np.random.Generator, pan: Panel, kind: str) -> Event:
    gene = str(rng.choice(GERMLINE_GENES))
    exons = sorted(t.mane_exon for t in pan.captured if t.gene == gene)
    if kind.startswith("het"):
        e = int(rng.choice(exons))
        return Event(gene, e, e, 1)
    if kind.startswith("dup"):
        e = int(rng.choice(exons))
        return Event(gene, e, e, 3)
    span = int(rng.integers(2, 9))
    first = int(rng.integers(0, len(exons) - span + 1))
    return Event(gene, exons[first], exons[first + span - 1], int(rng.choice([1, 3])))


def score(results, pan: Panel, events: dict[int, list[Event]], names: list[str]) -> Tally:
    tally = Tally()
    for i, name in enumerate(names):
        res = results[name]
        evs = events.get(i, [])
        rows = {r.exon: r for r in res.rows}
        for t in pan.captured:
            row = rows[t.key]
            ev = next((e for e in evs if e.covers(t)), None)
            if ev is not None:
                tally.event_exons += 1
                want = "deletion" if ev.copy_number < 2 else "duplication"
                tally.detected += row.status == want
                tally.event_na += row.status == "not_assessable"
                # "normal" excludes a deletion always, a duplication unless the row says it does not
                tally.wrongly_excluded += row.status == "normal" and (want == "deletion" or row.reason == "")
            else:
                tally.other_exons += 1
                tally.false_exons += row.status in ("deletion", "duplication")
                tally.other_na += row.status == "not_assessable"
        if not evs:
            tally.free_samples += 1
            tally.free_with_call += bool(res.calls)
        tally.events += len(evs)
    return tally


def with_references(cfg, refs: int):
    """The shipped settings using exactly ``refs`` references (the minimum lowered to it when below: the cell
    then shows what the shipped minimum protects against; a run with so few gives not assessable)."""
    g = replace(cfg.germline, max_references=refs, min_references=min(cfg.germline.min_references, refs))
    return replace(cfg, germline=g)


def run_cell(rng, pan, cfg, depth: int, refs: int, kind: str, n_events: int, params: SimParams) -> Tally:
    cfg = with_references(cfg, refs)
    total = Tally()
    while total.events < n_events:
        events = {i: [random_event(rng, pan, kind)] for i in range(CARRIERS)}
        n = refs + CARRIERS
        names = [f"S{i:03d}" for i in range(n)]
        table = simulate_batch(rng, pan, n, depth, events, params, names)
        total.add(score(call_batch(table, pan.exons, cfg), pan, events, names))
    return total


def pct(a: int, b: int, digits: int = 1) -> str:
    return f"{100 * a / b:.{digits}f}%" if b else "–"


def germline_tables(rng, cfg, n_events: int, params: SimParams) -> tuple[list[str], dict]:
    pan = panel(GERMLINE_GENES)
    lines = [
        "#### Germline BRCA1/BRCA2 exon copy number (per exon; simulated capture counts)",
        "",
        f"Each cell: {n_events}+ events in batches of K CNV-free samples + {CARRIERS} carriers. Sensitivity = event "
        "exons called in the right direction / all event exons (not-assessable ones count as missed; their share "
        "is `NA`). Specificity = 1 − falsely called exons / assessed exons without an event (all samples); "
        "`NA` beside it = share of those exons not assessable. `Free w/ call` = CNV-free samples with any call.",
        "",
        "| Depth | Refs | " + " | ".join(f"{c}: sens (NA)" for c in CLASSES)
        + " | Per-exon specificity (NA) | Free w/ call |",
        "|---|---|" + "---|" * (len(CLASSES) + 2),
    ]  # fmt: skip
    lines[2] += (f" Each test sample uses up to K references (the best-matched prefix of the K best-correlated of the "
                 "batch's other samples, "
                 f"carriers' own calls masked). *Below the shipped minimum of {cfg.germline.min_references} "
                 "references: measured with the minimum lowered; a run gives not assessable.")
    summary = {}
    for depth in DEPTHS:
        for refs in REFERENCES:
            cells, spec = [], Tally()
            for kind in CLASSES:
                t = run_cell(rng, pan, cfg, depth, refs, kind, n_events, params)
                spec.add(t)
                cells.append(f"{pct(t.detected, t.event_exons)} ({pct(t.event_na, t.event_exons)})")
                summary[(depth, refs, kind)] = t
            assessed = spec.other_exons - spec.other_na
            spec_txt = f"{pct(assessed - spec.false_exons, assessed, 3)} ({pct(spec.other_na, spec.other_exons)})"
            free = f"{pct(spec.free_with_call, spec.free_samples)} of {spec.free_samples}"
            below = "*" if refs < cfg.germline.min_references else ""
            lines.append(f"| {depth}x | {refs}{below} | " + " | ".join(cells) + f" | {spec_txt} | {free} |")
            summary[(depth, refs, "spec")] = spec
            print(lines[-1], flush=True)
    lines += ["", "Event exons reported *normal* with the event excluded (a deletion exon reported normal; a "
              "duplication exon reported normal without the reason 'duplication not excluded'): the wrong negatives "
              "a report could state.", "", "| Depth | Refs | " + " | ".join(CLASSES) + " |",
              "|---|---|" + "---|" * len(CLASSES)]
    for depth in DEPTHS:
        for refs in REFERENCES:
            cells = [summary[(depth, refs, k)] for k in CLASSES]
            cells_txt = [f"{t.wrongly_excluded}/{t.event_exons} ({pct(t.wrongly_excluded, t.event_exons)})"
                         for t in cells]
            lines.append(f"| {depth}x | {refs} | " + " | ".join(cells_txt) + " |")
    return lines, summary


def special_events(rng, cfg, n: int, params: SimParams) -> list[str]:
    """Homozygous deletions and whole-gene events at 200x with 8 references: events detected and named right."""
    pan = panel(GERMLINE_GENES)
    kinds = {
        "hom deletion, 1 exon": lambda g, ex: Event(g, e := int(rng.choice(ex)), e, 0),
        "het deletion, whole gene": lambda g, ex: Event(g, 1, max(ex), 1),
        "duplication, whole gene": lambda g, ex: Event(g, 1, max(ex), 3),
        "het deletion, MANE 13-22 of BRCA1": lambda g, ex: Event("BRCA1", 13, 22, 1),
    }
    lines = ["", "#### Whole-gene, homozygous and recurrent events (200x, 8 references + 4 carriers per batch)", "",
             "Detected = a call over the event's exons in the right direction; exact = one call covering exactly "
             "its captured exons (an edge exon not assessable shortens the call). In the BRCA1 13-22 row all 4 "
             "carriers of a batch carry the same deletion (a founder allele recurring in one batch). 'Another call' = "
             "a call elsewhere in the carrier (e.g. a whole-gene change read as the other gene's, on this two-gene "
             "panel).", "",
             "| Event | Detected | Exact | Carrier with another call | Example name |", "|---|---|---|---|---|"]
    for label, make in kinds.items():
        hit, exact, wrong, seen, example = 0, 0, 0, 0, ""
        while seen < n:
            events = {}
            for i in range(CARRIERS):
                g = str(rng.choice(GERMLINE_GENES))
                events[i] = [make(g, sorted(t.mane_exon for t in pan.captured if t.gene == g))]
            names = [f"S{i:03d}" for i in range(8 + CARRIERS)]
            res = call_batch(simulate_batch(rng, pan, len(names), 200, events, params, names), pan.exons, cfg)
            for i, (ev,) in events.items():
                first = min(t.mane_exon for t in pan.captured if ev.covers(t))
                last = max(t.mane_exon for t in pan.captured if ev.covers(t))
                kind = "duplication" if ev.copy_number > 2 else ("hom_deletion" if ev.copy_number == 0 else
                                                                 "het_deletion")  # fmt: skip
                over = [c for c in res[names[i]].calls
                        if c.gene == ev.gene and c.kind == kind and c.first_exon <= last and c.last_exon >= first]
                ok = [c for c in over if (c.first_exon, c.last_exon) == (first, last)]
                wrong += any(c not in over for c in res[names[i]].calls)
                hit += bool(over)
                exact += bool(ok)
                seen += 1
                example = example or (ok[0].name if ok else "")
        lines.append(f"| {label} | {hit}/{seen} | {exact}/{seen} | {wrong}/{seen} | `{example}` |")
    return lines


def amplification_table(rng, cfg, n: int, params: SimParams) -> list[str]:
    pan = panel(TUMOUR_GENES)
    amp = cfg.amplification
    cns, purities = (4, 6, 8, 12, 20), (0.2, 0.4, 0.6, 0.8)
    tumour = SimParams(**{**vars(params), "noise_cv": 0.10})  # FFPE tumour DNA: noisier than blood (assumed)
    lines = ["", "#### EGFR amplification (tumour, 200x, 8 references; tumour noise CV 0.10; "
             f"amplified = ratio >= {amp.min_ratio} and, with tumour content given, CN >= {amp.min_copy_number})",
             "", "Detected / tested with the tumour content given (and, in brackets, without it: ratio only).", "",
             "| EGFR CN | " + " | ".join(f"content {p:.0%}" for p in purities) + " |",
             "|---|" + "---|" * len(purities)]  # fmt: skip
    false_amp, free = 0, 0
    for cn in cns:
        cells = []
        for p in purities:
            hit = hit_no_p = seen = 0
            while seen < n:
                events = {i: [Event("EGFR", 1, 28, cn, p)] for i in range(CARRIERS)}
                names = [f"T{i:03d}" for i in range(8 + CARRIERS)]
                table = simulate_batch(rng, pan, len(names), 200, events, tumour, names)
                with_p = call_amplifications(table, pan.exons, amp, dict.fromkeys(names, p))
                without = call_amplifications(table, pan.exons, amp, dict.fromkeys(names))
                for i, name in enumerate(names):
                    if i in events:
                        hit += with_p[name].status == "amplified"
                        hit_no_p += without[name].status == "amplified"
                        seen += 1
                    else:
                        free += 1
                        false_amp += without[name].status == "amplified"
            cells.append(f"{hit}/{seen} ({hit_no_p}/{seen})")
        lines.append(f"| {cn} | " + " | ".join(cells) + " |")
    lines += ["", f"False amplification calls (ratio only) in tumours without one: {false_amp}/{free}."]
    # focal vs chromosome 7 gain: EGFR CN 8 focal, or EGFR and BRAF both CN 8 (chromosome 7 polysomy), content 60%
    tally = {"focal": [0, 0], "chromosome gain": [0, 0]}
    while tally["focal"][1] < n:
        events = {0: [Event("EGFR", 1, 28, 8, 0.6)], 1: [Event("EGFR", 1, 28, 8, 0.6)],
                  2: [Event("EGFR", 1, 28, 8, 0.6), Event("BRAF", 1, 18, 8, 0.6)],
                  3: [Event("EGFR", 1, 28, 8, 0.6), Event("BRAF", 1, 18, 8, 0.6)]}  # fmt: skip
        names = [f"T{i:03d}" for i in range(8 + CARRIERS)]
        table = simulate_batch(rng, pan, len(names), 200, events, tumour, names)
        calls = call_amplifications(table, pan.exons, amp, dict.fromkeys(names, 0.6))
        for i in range(CARRIERS):
            want = "focal" if i < 2 else "chromosome gain"
            r = calls[names[i]]
            tally[want][0] += r.extent == want
            tally[want][1] += 1
    lines.append(f"Extent at content 60%: focal EGFR CN 8 told focal {tally['focal'][0]}/{tally['focal'][1]}; "
                 f"EGFR and BRAF both CN 8 told chromosome gain {tally['chromosome gain'][0]}/"
                 f"{tally['chromosome gain'][1]}. Without BRAF on the panel (EGFR_KRAS alone) the result says the "
                 "extent cannot be told.")  # fmt: skip
    return lines


def batch_time(rng, cfg, params: SimParams, repeats: int) -> list[str]:
    pan = panel(GERMLINE_GENES)
    names = [f"S{i:03d}" for i in range(96)]
    events = {i: [random_event(rng, pan, "multi")] for i in range(4)}
    times = []
    for _ in range(repeats):
        table = simulate_batch(rng, pan, 96, 200, events, params, names)
        t0 = time.perf_counter()
        call_batch(table, pan.exons, cfg)
        times.append(time.perf_counter() - t0)
    return ["", f"Time to call a batch of 96 germline samples (48 captured BRCA1/BRCA2 exons, both passes): "
            f"median {np.median(times):.1f} s over {repeats} runs (1 core)."]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI: a few events per cell, written under results/")
    parser.add_argument("--events", type=int, help="events per cell (default 100; --quick 4)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    n = args.events or (4 if args.quick else 100)
    out = args.out or (QUICK if args.quick else RESULTS)
    rng = np.random.default_rng(args.seed)
    cfg = load_settings()
    params = SimParams()
    t0 = time.perf_counter()
    command = "python benchmarks/cnv.py" + (" --quick" if args.quick else "") + (
        f" --events {args.events}" if args.events else "")  # fmt: skip
    report = ["### Copy-number benchmark (benchmarks/cnv.py)", "", f"Command: `{command}` (seed {args.seed}).", ""]
    if args.quick:
        report.insert(0, "QUICK MODE (CI smoke run, not a measurement)")
    lines, _ = germline_tables(rng, cfg, n, params)
    report += lines
    report += special_events(rng, cfg, max(n // 2, 4), params)
    report += amplification_table(rng, cfg, max(n // 4, 4), params)
    report += batch_time(rng, cfg, params, 1 if args.quick else 5)
    report += ["", f"Whole benchmark: {time.perf_counter() - t0:.0f} s."]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(report) + "\n")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
