"""Per-sample QC summary: metrics from fastp, samtools stats/markdup and mosdepth, judged by gates kept as data."""

from __future__ import annotations

import gzip
import json
import operator
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

OPERATORS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


@dataclass(frozen=True)
class Gate:
    metric: str
    op: str
    threshold: float

    def judge(self, value: float | None) -> bool:
        return value is not None and OPERATORS[self.op](value, self.threshold)


def fastp_metrics(json_paths: list[Path]) -> dict[str, float]:
    """Read counts and Q30 rate summed over lanes (fastp's after-filtering numbers)."""
    total = passed = q30_bases = bases = 0
    for path in json_paths:
        summary = json.loads(Path(path).read_text())["summary"]
        total += summary["before_filtering"]["total_reads"]
        after = summary["after_filtering"]
        passed += after["total_reads"]
        bases += after["total_bases"]
        q30_bases += after["q30_bases"]
    return {
        "raw_reads": total,
        "reads_after_trimming": passed,
        "q30_rate": q30_bases / bases if bases else 0.0,
    }


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


def _open(path: Path):
    return gzip.open(path, "rt") if str(path).endswith(".gz") else open(path)


def target_coverage(regions_bed: Path, thresholds_bed: Path) -> list[dict]:
    """One row per target: name, length, mean depth (mosdepth), bases at each threshold."""
    rows = []
    with _open(regions_bed) as fh:
        for line in fh:
            chrom, start, end, name, mean = line.rstrip("\n").split("\t")
            rows.append(
                {"chrom": chrom, "start": int(start), "end": int(end), "name": name, "mean_depth": float(mean)}
            )
    with _open(thresholds_bed) as fh:
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
) -> dict:
    """The QC JSON of one sample. A sample that failed its input check gets status 'failed' and the reason."""
    if input_check["status"] != "ok":
        return {
            "sample_id": sample_id,
            "status": "failed",
            "failure_stage": "input",
            "reasons": input_check["problems"],
            "metrics": {},
            "gates": [],
            "genes": {},
            "targets": [],
        }
    metrics: dict[str, float] = {}
    if fastp_jsons:
        metrics.update(fastp_metrics(list(fastp_jsons)))
    if samtools_stats:
        metrics.update(samtools_stats_metrics(samtools_stats))
    targets = target_coverage(regions_bed, thresholds_bed) if regions_bed and thresholds_bed else []
    metrics.update(target_metrics(targets, thresholds))
    verdicts = judge(metrics, gates)
    failed = [v for v in verdicts if not v["pass"]]
    return {
        "sample_id": sample_id,
        "status": "fail" if failed else "pass",
        "failure_stage": "qc" if failed else "",
        "reasons": [f"{v['metric']} = {_fmt(v['value'])} (required {v['op']} {v['threshold']})" for v in failed],
        "metrics": {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()},
        "gates": verdicts,
        "genes": gene_coverage(targets, thresholds),
        "targets": targets,
    }


def _fmt(value: float | None) -> str:
    if value is None:
        return "missing"
    return f"{value:.4g}"
