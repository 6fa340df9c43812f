"""Per-sample QC summary: metrics from fastp (for BAM input: samtools stats of the input BAM), samtools stats/markdup
and the target coverage (oncopanel.coverage), judged by gates kept as data."""

from __future__ import annotations

import json
import operator
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from oncopanel.files import open_text

OPERATORS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


@dataclass(frozen=True)
class Gate:
    metric: str
    op: str
    threshold: float

    def judge(self, value: float | None) -> bool:
        return value is not None and OPERATORS[self.op](value, self.threshold)


Q30 = 30
# The metrics summarise() computes, by source; gates may name only these (oncopanel.settings checks at load).
READ_METRICS = ("raw_reads", "reads_after_trimming", "q30_rate")
ALIGNMENT_METRICS = ("total_reads_in_bam", "mapped_rate", "duplicate_rate", "median_insert_size", "mean_insert_size")
TARGET_METRICS = ("target_bases", "mean_target_depth")


def metric_names(depth_thresholds: list[int] | tuple[int, ...]) -> tuple[str, ...]:
    """Every metric name a QC JSON can carry for these depth thresholds."""
    breadth = tuple(f"fraction_target_bases_ge_{level}x" for level in depth_thresholds)
    return READ_METRICS + ALIGNMENT_METRICS + TARGET_METRICS + breadth


def is_metric_name(name: str) -> bool:
    """A metric QC computes at some depth threshold (for data that does not know the configured thresholds)."""
    level = name.removeprefix("fraction_target_bases_ge_").removesuffix("x")
    return name in metric_names(()) or (name != level and level.isdigit())


NO_READS_AFTER_TRIMMING = "no_reads_after_trimming"  # reason code in the QC JSON's reason_codes


@dataclass(frozen=True)
class LaneReads:
    """What fastp reports for a FASTQ lane, or samtools stats of the input for a BAM lane (which is not trimmed)."""

    raw_reads: int
    reads_after_trimming: int
    bases: int
    q30_bases: int

    def __add__(self, other: LaneReads) -> LaneReads:
        return LaneReads(
            self.raw_reads + other.raw_reads,
            self.reads_after_trimming + other.reads_after_trimming,
            self.bases + other.bases,
            self.q30_bases + other.q30_bases,
        )


NO_READS = LaneReads(0, 0, 0, 0)


def fastp_lane(path: Path) -> LaneReads:
    """fastp's read counts (before and after filtering) and its after-filtering bases and Q30 bases."""
    summary = json.loads(Path(path).read_text())["summary"]
    after = summary["after_filtering"]
    return LaneReads(
        summary["before_filtering"]["total_reads"], after["total_reads"], after["total_bases"], after["q30_bases"]
    )


def bam_input_lane(stats: Path) -> LaneReads:
    """The same numbers for a BAM lane, from `samtools stats -F 0x900` of the input BAM: its primary reads, and its
    bases by quality from the per-cycle quality tables (FFQ and LFQ: a row per cycle, a column per quality)."""
    reads = bases = q30 = 0
    for line in Path(stats).read_text().splitlines():
        fields = line.split("\t")
        if fields[0] in ("FFQ", "LFQ"):
            counts = [int(c) for c in fields[2:] if c]
            bases += sum(counts)
            q30 += sum(counts[Q30:])
        elif fields[0] == "SN" and fields[1] == "raw total sequences:":
            reads = int(fields[2])
    return LaneReads(reads, reads, bases, q30)


def read_metrics(lanes: list[LaneReads]) -> dict[str, float]:
    """Read counts and Q30 rate summed over a sample's lanes, FASTQ and BAM alike."""
    total = sum(lanes, NO_READS)
    return {
        "raw_reads": total.raw_reads,
        "reads_after_trimming": total.reads_after_trimming,
        "q30_rate": total.q30_bases / total.bases if total.bases else 0.0,
    }


def fastp_metrics(json_paths: list[Path]) -> dict[str, float]:
    """Read counts and Q30 rate summed over lanes (fastp's after-filtering numbers)."""
    return read_metrics([fastp_lane(p) for p in json_paths])


def samtools_stats_metrics(path: Path) -> dict[str, float]:
    """Mapped rate, duplicate rate and median insert size from `samtools stats` (SN and IS sections)."""
    sn: dict[str, float] = {}
    insert_hist: list[tuple[int, int]] = []
    for line in Path(path).read_text().splitlines():
        fields = line.split("\t")
        if fields[0] == "SN":
            key = fields[1].rstrip(":")
            try:
                sn[key] = float(fields[2])
            except ValueError:
                continue
        elif fields[0] == "IS":
            insert_hist.append((int(fields[1]), int(fields[2])))
    total = sn.get("raw total sequences", 0.0)
    return {
        "total_reads_in_bam": total,
        "mapped_rate": sn.get("reads mapped", 0.0) / total if total else 0.0,
        "duplicate_rate": sn.get("reads duplicated", 0.0) / sn["reads mapped"] if sn.get("reads mapped") else 0.0,
        "median_insert_size": _median_from_histogram(insert_hist),
        "mean_insert_size": sn.get("insert size average", 0.0),
    }


def _median_from_histogram(hist: list[tuple[int, int]]) -> float:
    n = sum(c for _, c in hist)
    if n == 0:
        return 0.0
    seen = 0
    for size, count in sorted(hist):
        seen += count
        if seen * 2 >= n:
            return float(size)
    return 0.0


def target_coverage(regions_bed: Path, thresholds_bed: Path) -> list[dict]:
    """One row per target (oncopanel.coverage's regions and thresholds files): name, length, mean depth, bases at
    each threshold."""
    rows = []
    with open_text(regions_bed) as fh:
        for line in fh:
            chrom, start, end, name, mean = line.rstrip("\n").split("\t")
            rows.append(
                {"chrom": chrom, "start": int(start), "end": int(end), "name": name, "mean_depth": float(mean)}
            )
    with open_text(thresholds_bed) as fh:
        header = fh.readline().rstrip("\n").split("\t")
        levels = [h.removesuffix("X") for h in header[4:]]
        for row, line in zip(rows, fh, strict=True):
            counts = line.rstrip("\n").split("\t")[4:]
            for level, count in zip(levels, counts, strict=True):
                row[f"bases_ge_{level}x"] = int(count)
    return rows


def gene_coverage(targets: list[dict], thresholds: list[int]) -> dict[str, dict]:
    """Per gene: length-weighted mean depth and the fraction of target bases at each threshold."""
    acc: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for t in targets:
        gene = t["name"].split("_exon")[0]
        length = t["end"] - t["start"]
        acc[gene]["bases"] += length
        acc[gene]["depth_sum"] += t["mean_depth"] * length
        for level in thresholds:
            acc[gene][f"ge_{level}x"] += t.get(f"bases_ge_{level}x", 0)
    out = {}
    for gene, a in sorted(acc.items()):
        out[gene] = {
            "target_bases": int(a["bases"]),
            "mean_depth": round(a["depth_sum"] / a["bases"], 1) if a["bases"] else 0.0,
            **{f"fraction_ge_{lv}x": round(a[f"ge_{lv}x"] / a["bases"], 4) if a["bases"] else 0.0 for lv in thresholds},
        }
    return out


def target_metrics(targets: list[dict], thresholds: list[int]) -> dict[str, float]:
    bases = sum(t["end"] - t["start"] for t in targets)
    metrics = {
        "target_bases": bases,
        "mean_target_depth": sum(t["mean_depth"] * (t["end"] - t["start"]) for t in targets) / bases if bases else 0.0,
    }
    for level in thresholds:
        covered = sum(t.get(f"bases_ge_{level}x", 0) for t in targets)
        metrics[f"fraction_target_bases_ge_{level}x"] = covered / bases if bases else 0.0
    return metrics


def judge(metrics: dict[str, float], gates: list[Gate]) -> list[dict]:
    return [
        {
            "metric": g.metric,
            "op": g.op,
            "threshold": g.threshold,
            "value": metrics.get(g.metric),
            "pass": g.judge(metrics.get(g.metric)),
        }
        for g in gates
    ]


def summarise(
    sample_id: str,
    input_check: dict,
    gates: list[Gate],
    thresholds: list[int],
    fastp_jsons: list[Path] = (),
    samtools_stats: Path | None = None,
    regions_bed: Path | None = None,
    thresholds_bed: Path | None = None,
    bam_input_stats: list[Path] = (),
) -> dict:
    """The QC JSON of one sample. A sample that failed its input check gets status 'failed' and the reason.

    ``reason_codes`` runs parallel to ``reasons``: the input check's problem codes, ``gate:<metric>`` for a failed
    gate, or ``no_reads_after_trimming``.
    """
    if input_check["status"] != "ok":
        problems = input_check["problems"]
        return {
            "sample_id": sample_id,
            "status": "failed",
            "failure_stage": "input",
            "reasons": problems,
            "reason_codes": input_check.get("problem_codes") or ["input"] * len(problems),
            "metrics": {},
            "gates": [],
            "genes": {},
            "targets": [],
        }
    metrics: dict[str, float] = {}
    lanes = [fastp_lane(p) for p in fastp_jsons] + [bam_input_lane(p) for p in bam_input_stats]
    if lanes:
        metrics.update(read_metrics(lanes))
    if samtools_stats:
        metrics.update(samtools_stats_metrics(samtools_stats))
    targets = target_coverage(regions_bed, thresholds_bed) if regions_bed and thresholds_bed else []
    metrics.update(target_metrics(targets, thresholds))
    verdicts = judge(metrics, gates)
    failed = [v for v in verdicts if not v["pass"]]
    reasons = [f"{v['metric']} = {_fmt(v['value'])} (required {v['op']} {v['threshold']})" for v in failed]
    codes = [f"gate:{v['metric']}" for v in failed]
    if lanes and metrics["reads_after_trimming"] == 0:
        # Every gate would fail on nothing ("Mapped read rate = 0 … Q30 base rate = 0"): no gate is judged, and
        # the one reason given is that no read was left (the report shows the failed gates when there are any).
        verdicts = []
        raw = int(metrics["raw_reads"])
        reasons = [f"no reads left after trimming: none of the {raw:,} reads passed fastp's filters (read length, "
                   "quality, N bases)" if raw else "no reads left after trimming: the input held no reads"]  # fmt: skip
        codes = [NO_READS_AFTER_TRIMMING]
    return {
        "sample_id": sample_id,
        "status": "fail" if reasons else "pass",
        "failure_stage": "qc" if reasons else "",
        "reasons": reasons,
        "reason_codes": codes,
        "metrics": {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()},
        "gates": verdicts,
        "genes": gene_coverage(targets, thresholds),
        "targets": targets,
    }


def _fmt(value: float | None) -> str:
    if value is None:
        return "missing"
    return f"{value:.4g}"
