"""`oncopanel audit verify` (the batch audit chain) and `oncopanel verify` (a report against its data)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    register_audit(sub)
    register_verify(sub)


def register_audit(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="the batch audit log")
    asub = audit.add_subparsers(dest="audit_command", required=True)
    ver = asub.add_parser("verify", help="check that no entry was edited, inserted or removed")
    ver.add_argument("log", type=Path)
    ver.set_defaults(func=_audit_verify)


def _audit_verify(args: argparse.Namespace) -> int:
    from oncopanel.audit import verify

    verdict = verify(args.log)
    if verdict.ok:
        print(f"{args.log}: audit chain intact ({verdict.entries} entries)")
        return 0
    print(f"{verdict.problem} ({verdict.entries} entries verified before it)")
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
