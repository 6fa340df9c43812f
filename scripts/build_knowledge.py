"""Build the therapy knowledge base (annotation/knowledge/kb.tsv, kb_meta.json, CHANGELOG.md) from its sources.

Usage: .venv/bin/python scripts/build_knowledge.py [--date YYYY-MM-DD] [--out annotation/knowledge]

Fails (exit 1, nothing written) when a biomarker-drug-tumour match of the previous version would disappear without
an entry in annotation/knowledge/acknowledged_removals.tsv.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from oncopanel.errors import OncopanelError
from oncopanel.knowledge.build import KB_DIR, UNVERIFIED_REPORT, build_knowledge


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", default="", help="build date for the version string (default: today, UTC)")
    parser.add_argument("--out", type=Path, default=KB_DIR, help="output directory (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        result = build_knowledge(args.out, date=args.date)
    except OncopanelError as error:
        print(f"knowledge-base build failed: {error}", file=sys.stderr)
        return 1
    if result.unchanged:
        print(f"knowledge base unchanged: {result.version}")
    else:
        print(f"knowledge base {result.version}: {len(result.table)} rows "
              f"(+{len(result.added)} -{len(result.removed)} ~{len(result.changed)})")
    report = result.unverified
    print(f"{report['approval_id'].nunique()} label rows carry {len(report)} unverified facts "
          f"(listed in {args.out / UNVERIFIED_REPORT}): a pharmacist checks them before clinical use")
    return 0


if __name__ == "__main__":
    sys.exit(main())
