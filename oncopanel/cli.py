"""`oncopanel` command line: each stage module registers its own subcommands."""

from __future__ import annotations

import argparse
import importlib
import sys

from oncopanel import __version__
from oncopanel.errors import OncopanelError

# Modules exposing `register(subparsers)`; each adds its subcommands with set_defaults(func=...).
SUBCOMMAND_MODULES = (
    "oncopanel.reference_cli",
    "oncopanel.commands",
    "oncopanel.batch.cli",
    "oncopanel.release_cli",
    "oncopanel.runlock",
    "oncopanel.web.cli",  # serve, users, sites: the review and sign-off application
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oncopanel", description=__doc__)
    parser.add_argument("--version", action="version", version=f"oncopanel {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except OncopanelError as exc:
        print(f"oncopanel: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
