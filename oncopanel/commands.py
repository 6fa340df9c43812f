"""`oncopanel audit verify`: check a batch's audit chain."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
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
