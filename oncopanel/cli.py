"""`oncopanel` command line: each stage module registers its own subcommands.

Messages (warnings, progress with -v) go to stderr through `logging` (oncopanel/console.py); what a command
prints on stdout is its output. Run `oncopanel COMMAND --help` for a command's options, defaults and an example."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from oncopanel import __version__
from oncopanel.console import configure_logging
from oncopanel.errors import OncopanelError

# Modules exposing `register(subparsers)`; each adds its subcommands with set_defaults(func=...).
SUBCOMMAND_MODULES = (
    "oncopanel.reference_cli",
    "oncopanel.commands",
    "oncopanel.batch.cli",
    "oncopanel.release_cli",
    "oncopanel.runlock",
    "oncopanel.knowledge.cli",
    "oncopanel.web.cli",  # serve, users, sites: the review and sign-off application
)

# One worked example per command (shown under its --help); tests/test_ecosystem_cli.py checks every command has one.
EXAMPLES = {
    "reference prepare": "oncopanel reference prepare --masked\n"
    "  oncopanel reference prepare --fasta GRCh38_analysis_set.fa.gz --aligner bwa --threads 8",
    "reference checksums": "oncopanel reference checksums resources/reference/grch38_panel_masked.fa.gz "
    "--out checksums.json",
    "reference targets": "oncopanel reference targets --panels EGFR_KRAS,BRCA --out targets.bed",
    "audit verify": "oncopanel audit verify results/B01/audit.log\n  oncopanel audit verify --results results/B01",
    "verify": "oncopanel verify results/B01/reports/S0042.pdf",
    "summary": "oncopanel summary --results results/B01   (after sign-off: receipt to signature in summary and ledger)",
    "plan": "oncopanel plan --manifest pending.tsv --out plan/",
    "assign-indexes": "oncopanel assign-indexes --manifest pending.tsv --plan plan/ --run R20261207_01 "
    "--out runs/R20261207_01\n  (NovaSeq X / NextSeq 2000: add --index2-from-runinfo)",
    "demux": "oncopanel -v demux --r1 Undetermined_R1.fastq.gz --r2 Undetermined_R2.fastq.gz "
    "--samples runs/R20261207_01/samples.tsv --out runs/R20261207_01/fastq",
    "ledger": "oncopanel ledger --manifest pending.tsv --plan plan/ --benchmarks 'results/*/benchmarks/**/*.tsv' "
    "--out ledger.tsv",
    "amend": "oncopanel amend --results results/B01 --sample S0042 --reason 'BRCA2 call confirmed by MLPA'",
    "unlock": "oncopanel unlock --results results/B01",
    "serve": "oncopanel serve --results results/B01 results/B02 --db postgresql+psycopg://oncopanel@/oncopanel\n"
    "  oncopanel serve --results results/demo --demo --insecure-http   (the demo, on http://127.0.0.1:8080)",
    "users add": "oncopanel users add wang --name 'Wang Li (molecular pathologist)' --role signer",
    "users list": "oncopanel users list",
    "users deactivate": "oncopanel users deactivate wang",
    "users password": "oncopanel users password wang",
    "sites add": "oncopanel sites add AX --name 'Anxian County People\'s Hospital'",
    "sites list": "oncopanel sites list",
    "sites check": "oncopanel sites check config/samples.tsv",
    "sites export": "oncopanel sites export --out config/sites.tsv   (the workflow's `sites:` key reads it)",
    "knowledge build": "oncopanel knowledge build\n  oncopanel knowledge build --date 2026-12-01 --out /tmp/kb",
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default after its help (unless the help already names one), examples as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or action.required:
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            text += " (default: %(default)s)"
        return text


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, parser) of every command that runs something (leaves of the subcommand tree)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs and path:
        yield " ".join(path), parser
    for action in subs:
        for name, child in action.choices.items():
            yield from _commands(child, (*path, name))


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="oncopanel", description=__doc__)
    parser.add_argument("--version", action="version", version=f"oncopanel {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more messages on stderr: -v progress, -vv detail (default: warnings only)")  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    for path, command in _commands(parser):
        if path in EXAMPLES and not command.epilog:
            command.epilog = "example:\n  " + EXAMPLES[path]
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except OncopanelError as exc:
        print(f"oncopanel: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # stdout closed early (`oncopanel plan ... | head`): not the command's failure; keep Python's exit quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        # a path given on the command line that cannot be read: say which, without a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"oncopanel: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
