"""`oncopanel plan | assign-indexes | demux | ledger`: pooled batching for a regional centre."""

from __future__ import annotations

import argparse
import csv
import glob
import json
import logging
from pathlib import Path

from oncopanel.batch.indexes import BCL_CONVERT_VERSION
from oncopanel.errors import InputError, ValidationError

# Each command imports its modules when it runs: `oncopanel` builds every command's parser at every start, and the
# planning, ledger and demultiplexing modules (numpy, YAML, schemas) cost the workflow's `oncopanel reference
# targets` jobs and everyone's --help ~0.2 CPU-s (issue 21).

log = logging.getLogger(__name__)

_TABLE_COLUMNS = ("strategy", "runs", "cost_per_sample", "run_cost_per_sample", "mean_turnaround_days",
                  "worst_turnaround_days", "late_samples")  # fmt: skip


def _format_table(rows: list[dict]) -> str:
    lines = ["\t".join(_TABLE_COLUMNS)]
    lines += ["\t".join(str(row.get(c, "")) for c in _TABLE_COLUMNS) for row in rows]
    return "\n".join(lines)


def cmd_plan(args: argparse.Namespace) -> int:
    from oncopanel.batch.indexes import load_kit
    from oncopanel.batch.lab import load_lab_config
    from oncopanel.batch.manifest import read_manifest
    from oncopanel.batch.plan import compare_strategies, plan_runs
    from oncopanel.batch.runs import write_plan

    lab = load_lab_config(args.lab)
    samples = read_manifest(args.manifest, lab)
    kit = load_kit(lab.kit_path())
    if len(kit) < lab.max_samples_per_run:
        log.warning(f"{lab.kit_path().name} has {len(kit)} index pairs, fewer than max_samples_per_run "
                    f"({lab.max_samples_per_run}): full runs will be refused at index assignment")  # fmt: skip
    plan = plan_runs(samples, lab)
    sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    tradeoff = compare_strategies(samples, lab, sizes)
    for path in write_plan(plan, args.out, tradeoff):
        print(f"wrote {path}")
    print(_format_table(tradeoff))
    return 0 if not plan.late_samples() else 1


def cmd_assign_indexes(args: argparse.Namespace) -> int:
    from oncopanel.batch.indexes import assign_indexes, colour_balance, load_kit, write_bclconvert_sample_sheet
    from oncopanel.batch.lab import load_lab_config
    from oncopanel.batch.manifest import read_manifest
    from oncopanel.batch.runs import read_plan, write_samples_tsv

    lab = load_lab_config(args.lab)
    samples = read_manifest(args.manifest, lab)
    plan = read_plan(args.plan, samples, lab)
    run = next((r for r in plan.runs if r.run_id == args.run), None)
    if run is None:
        raise InputError(f"{args.plan}: no run '{args.run}' (runs: {', '.join(r.run_id for r in plan.runs)})")
    kit_path = Path(args.kit) if args.kit else lab.kit_path()
    # One orientation for colour balance, the sheet and `oncopanel demux`: the lab config's unless overridden.
    i5_orientation = args.i5_orientation or lab.i5_read_orientation
    assignments = assign_indexes(list(run.sample_ids), load_kit(kit_path), args.min_distance or lab.min_index_distance,
                                 lab.chemistry, kit_name=kit_path.name, i5_orientation=i5_orientation)  # fmt: skip
    _problems, warnings = colour_balance(list(assignments.values()), lab.chemistry, i5_orientation)
    for warning in warnings:
        log.warning(warning)
    out = Path(args.out)
    sheet = write_bclconvert_sample_sheet(out / "SampleSheet.csv", run.run_id, assignments, i5_orientation,
                                          orientation_from_runinfo=args.index2_from_runinfo,
                                          software_version=args.bcl_convert_version)  # fmt: skip
    run_samples = [plan.samples[sid] for sid in run.sample_ids]
    tsv = write_samples_tsv(out / "samples.tsv", run.run_id, run_samples, assignments, args.fastq_dir, args.lane)
    print(f"wrote {sheet}\nwrote {tsv}")
    return 0


def _indexes_from_samples_tsv(path: Path, batch: str | None = None) -> list[tuple[str, str, str]]:
    """(sample_id, i7, i5) of the sheet's rows, or of one batch (pooled run) only."""
    with path.open() as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if batch is None or r.get("batch") == batch]
    if not rows:
        raise ValidationError([f"{path}: no samples" + (f" in batch '{batch}'" if batch else "")])
    seen: dict[str, tuple[str, str, str]] = {}
    problems = []
    for n, row in enumerate(rows, start=2):
        if not row.get("i7") or not row.get("i5"):
            problems.append(f"{path}: row {n} (sample {row.get('sample_id')}): columns i7/i5: needed to demultiplex")
        else:
            seen.setdefault(row["sample_id"], (row["sample_id"], row["i7"], row["i5"]))
    if problems:
        raise ValidationError(problems)
    return list(seen.values())


def cmd_demux(args: argparse.Namespace) -> int:
    from oncopanel.batch.demux import demultiplex

    samples = _indexes_from_samples_tsv(Path(args.samples), args.batch)
    stats = demultiplex(args.r1, args.r2, samples, args.out, args.platform, args.i5_orientation, args.max_mismatches)
    print(json.dumps({"read_pairs": stats.read_pairs, "assigned": sum(stats.assigned.values()),
                      "hopped": stats.hopped, "undetermined": stats.undetermined}))  # fmt: skip
    return 0


def cmd_ledger(args: argparse.Namespace) -> int:
    from oncopanel.batch.lab import load_lab_config
    from oncopanel.batch.ledger import cost_ledger, ledger_by_run, ledger_by_site, with_signatures, write_ledger
    from oncopanel.batch.manifest import read_manifest
    from oncopanel.batch.runs import read_plan

    lab = load_lab_config(args.lab)
    plan = read_plan(args.plan, read_manifest(args.manifest, lab), lab)
    benchmarks = sorted({p for pattern in args.benchmarks for p in glob.glob(pattern, recursive=True)})
    rows = cost_ledger(plan, benchmarks or None, run_ids=[args.run] if args.run else None)
    if args.results:  # receipt -> signature from the signed result versions
        from oncopanel.report.batch import delivered_results, signed_dates

        signed = {k: v for d in args.results for k, v in signed_dates(delivered_results(d)).items()}
        rows = with_signatures(rows, signed)
    path = write_ledger(rows, args.out)
    print(f"wrote {path}")
    print(_format_runs(ledger_by_run(rows)))
    print(_format_runs(ledger_by_site(rows)))
    return 0


def _format_runs(rows: list[dict]) -> str:
    if not rows:
        return ""
    columns = list(rows[0])
    return "\n".join(["\t".join(columns)] + ["\t".join(str(r[c]) for c in columns) for r in rows])


def register(subparsers) -> None:
    p = subparsers.add_parser("plan", help="plan sequencing runs for a manifest of pending samples")
    p.add_argument("--manifest", required=True, help="TSV: sample_id, site, received_date, panels, ...")
    p.add_argument("--lab", default=None, help="lab configuration (default: config/lab.yaml)")
    p.add_argument("--out", required=True, help="directory for runs.tsv, assignments.tsv, tradeoff.tsv")
    p.add_argument("--batch-sizes", default="8,24,48,96", help="fixed batch sizes to compare against")
    p.set_defaults(func=cmd_plan)

    p = subparsers.add_parser("assign-indexes", help="index one planned run; write SampleSheet.csv and samples.tsv")
    p.add_argument("--manifest", required=True, help="the manifest given to `oncopanel plan`")
    p.add_argument("--plan", required=True, help="directory written by `oncopanel plan`")
    p.add_argument("--run", required=True, help="run id from runs.tsv")
    p.add_argument("--out", required=True, help="directory for SampleSheet.csv and samples.tsv")
    p.add_argument("--lab", default=None, help="lab configuration (default: config/lab.yaml)")
    p.add_argument("--kit", default=None, help="index kit TSV (default: the lab config's index_kit)")
    p.add_argument("--min-distance", type=int, default=None, help="minimum Hamming distance (default: lab config)")
    p.add_argument("--i5-orientation", choices=("forward", "reverse_complement"), default=None,
                   help="how the instrument reads i5 (default: the lab config's i5_read_orientation); give the "
                        "same to `oncopanel demux` and the workflow's pooled_runs")  # fmt: skip
    p.add_argument("--index2-from-runinfo", action="store_true",
                   help="the instrument's RunInfo.xml marks Index2 reverse-complemented (NovaSeq X, "
                        "NextSeq 1000/2000): the sheet carries the forward i5, BCL Convert turns it (default: off)")
    p.add_argument("--bcl-convert-version", default=BCL_CONVERT_VERSION,
                   help="BCL Convert release the sheet declares as SoftwareVersion (default: %(default)s)")
    p.add_argument("--fastq-dir", default="demux", help="where `oncopanel demux` writes the run's FASTQ")
    p.add_argument("--lane", default="1", help="flow-cell lane written in the sheet and samples.tsv")
    p.set_defaults(func=cmd_assign_indexes)

    p = subparsers.add_parser("demux", help="split pooled undetermined FASTQ into per-sample FASTQ")
    p.add_argument("--r1", required=True, help="undetermined read 1 FASTQ (gzipped or plain)")
    p.add_argument("--r2", required=True, help="undetermined read 2 FASTQ, in the same order")
    p.add_argument("--samples", required=True, help="samples.tsv with sample_id, i7, i5 (i5 forward strand)")
    p.add_argument("--batch", default=None, help="only the rows of this batch (the pooled run's id)")
    p.add_argument("--out", required=True, help="directory for <sample>_R1/_R2.fastq.gz and the reports")
    p.add_argument("--platform", choices=("illumina", "mgi"), default="illumina",
                   help="where the indexes are: Illumina read names, or the end of MGI read 2")  # fmt: skip
    p.add_argument("--i5-orientation", choices=("forward", "reverse_complement"), default="forward",
                   help="how the instrument reads i5 (as assign-indexes and the workflow's pooled_runs)")  # fmt: skip
    p.add_argument("--max-mismatches", type=int, choices=(0, 1, 2), default=1,
                   help="index mismatches corrected when only one sample is within reach")  # fmt: skip
    p.set_defaults(func=cmd_demux)

    p = subparsers.add_parser("ledger", help="cost and turnaround per sample and per run")
    p.add_argument("--manifest", required=True, help="the manifest given to `oncopanel plan`")
    p.add_argument("--plan", required=True, help="directory written by `oncopanel plan`")
    p.add_argument("--lab", default=None, help="lab configuration (default: config/lab.yaml)")
    p.add_argument("--run", default=None, help="one run only")
    p.add_argument("--benchmarks", nargs="*", default=[], help="Snakemake benchmark TSVs (globs allowed)")
    p.add_argument("--results", nargs="*", default=[],
                   help="results directories whose signed reports give receipt to signature")  # fmt: skip
    p.add_argument("--out", required=True, help="ledger TSV")
    p.set_defaults(func=cmd_ledger)
