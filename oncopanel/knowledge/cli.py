"""`oncopanel knowledge build`: the therapy knowledge base from its sources (oncopanel.knowledge.build)."""

from __future__ import annotations

import argparse
from pathlib import Path

from oncopanel.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    knowledge = sub.add_parser("knowledge", help="the therapy knowledge base")
    ksub = knowledge.add_subparsers(dest="knowledge_command", required=True)
    build = ksub.add_parser(
        "build",
        help="build annotation/knowledge/kb.tsv, kb_meta.json and CHANGELOG.md from their sources",
        description="Fails (exit 1, nothing written) when a biomarker-drug-tumour match of the previous version "
        "would disappear without an entry in annotation/knowledge/acknowledged_removals.tsv.",
    )
    build.add_argument("--date", default="", help="build date for the version string (default: today, UTC)")
    # the default is resolved when the command runs: the build module loads pandas, which `oncopanel`'s other
    # commands should not pay for
    build.add_argument("--out", type=Path, help="output directory (default: annotation/knowledge)")
    build.set_defaults(func=_build)


def _build(args: argparse.Namespace) -> int:
    from oncopanel.errors import OncopanelError
    from oncopanel.knowledge.build import KB_DIR, UNVERIFIED_REPORT, build_knowledge

    out = args.out or KB_DIR
    try:
        result = build_knowledge(out, date=args.date)
    except OncopanelError as error:
        raise InputError(f"knowledge-base build failed: {error}") from error
    if result.unchanged:
        print(f"knowledge base unchanged: {result.version}")
    else:
        print(f"knowledge base {result.version}: {len(result.table)} rows "
              f"(+{len(result.added)} -{len(result.removed)} ~{len(result.changed)})")  # fmt: skip
    report = result.unverified
    print(f"{report['approval_id'].nunique()} label rows carry {len(report)} unverified facts "
          f"(listed in {out / UNVERIFIED_REPORT}): a pharmacist checks them before clinical use")  # fmt: skip
    return 0
