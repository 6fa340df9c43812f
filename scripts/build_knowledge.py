"""Build the therapy knowledge base (annotation/knowledge/kb.tsv, kb_meta.json, CHANGELOG.md) from its sources.

Usage: .venv/bin/python scripts/build_knowledge.py [--date YYYY-MM-DD] [--out annotation/knowledge]
The same as `oncopanel knowledge build` (oncopanel/knowledge/cli.py), kept for the commands already written down.

Fails (exit 1, nothing written) when a biomarker-drug-tumour match of the previous version would disappear without
an entry in annotation/knowledge/acknowledged_removals.tsv.
"""

from __future__ import annotations

import sys

from oncopanel.cli import main

if __name__ == "__main__":
    code = main(["knowledge", "build", *sys.argv[1:]])
    sys.exit(1 if code == 2 else code)  # this script's contract: a failed build exits 1
