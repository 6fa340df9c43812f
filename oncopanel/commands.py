"""`oncopanel audit verify` (the batch audit chain) and `oncopanel verify` (a report against its data)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    register_audit(sub)
    register_verify(sub)
    register_summary(sub)


def register_summary(sub: argparse._SubParsersAction) -> None:
    summ = sub.add_parser(
        "summary",
        help="write a finished batch's summary (RESULTS/batch/summary.html) and ledger again after sign-off: "
        "receipt to signature per sample, site and batch",
    )
    summ.add_argument("--results", type=Path, required=True, help="the batch's results directory")
    summ.add_argument("--lab", type=Path, default=None, help="lab configuration (default: config/lab.yaml)")
    summ.add_argument("--language", choices=("en", "zh"), default=None,
                      help="default: the language the workflow wrote the summary in")  # fmt: skip
    summ.set_defaults(func=_summary)


def _summary(args: argparse.Namespace) -> int:
    from oncopanel.report.batch import regenerate_summary

    summary, ledger = regenerate_summary(args.results, args.lab, args.language)
    print(f"wrote {summary}" + (f" and {ledger}" if ledger else " (no ledger.tsv in the results tree)"))
    return 0


def register_audit(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="the batch audit log")
    asub = audit.add_subparsers(dest="audit_command", required=True)
    ver = asub.add_parser(
        "verify",
        help="check that no entry was edited, inserted or removed and (with --results) that every released "
        "result's anchor is still in the log",
    )
    ver.add_argument("log", type=Path, nargs="?", help="the audit log (default: RESULTS/audit.log)")
    ver.add_argument("--results", type=Path, help="a results directory: check each result JSON's audit anchor too")
    ver.set_defaults(func=_audit_verify)


def _audit_verify(args: argparse.Namespace) -> int:
    from oncopanel.audit import verify, verify_results

    if args.results is not None:
        verdict = verify_results(args.results, args.log)
        for line in verdict.lines:
            print(line)
        return 0 if verdict.ok else 1
    if args.log is None:
        print("oncopanel audit verify: give the audit log or --results DIR")
        return 2
    chain = verify(args.log)
    if chain.ok:
        print(f"{args.log}: audit chain intact ({chain.entries} entries)")
        return 0
    verified = f" ({chain.entries} entries verified before it)" if args.log.is_file() else ""
    print(chain.problem + verified)
    return 1


def register_verify(sub: argparse._SubParsersAction) -> None:
    ver = sub.add_parser("verify", help="does a report (PDF or result JSON) still match the data it came from?")
    ver.add_argument("report", type=Path, help="a report PDF or a result JSON")
    ver.add_argument("--result", type=Path, help="the result JSON (default: ../result/<sample>.result.json)")
    ver.set_defaults(func=_verify)


def _verify(args: argparse.Namespace) -> int:
    from oncopanel.verify import verify_report

    verdict = verify_report(args.report, args.result)
    for line in verdict.lines:
        print(line)
    return 0 if verdict.ok else 1
