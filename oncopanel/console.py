"""Where the library's messages go: the `logging` module, to stderr, never mixed into what a command prints to
stdout (a TSV, JSON). Modules log through `logging.getLogger(__name__)`; `configure_logging` is called once by the
command line (`oncopanel -v ...`) and by workflow adapters that want progress on Snakemake's console."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

FORMAT = "oncopanel: %(levelname)s: %(message)s"


def level_for(verbosity: int) -> int:
    """0: warnings and errors; 1 (-v): progress; 2 (-vv): debugging detail."""
    return {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG if verbosity > 1 else logging.WARNING)


def configure_logging(verbosity: int = 0, stream: TextIO | None = None) -> None:
    """Send oncopanel's log records at the verbosity's level to `stream` (default stderr), replacing an earlier
    configuration (a second call, e.g. in tests, does not add a second handler)."""
    logger = logging.getLogger("oncopanel")
    for handler in list(logger.handlers):
        if getattr(handler, "_oncopanel", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._oncopanel = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level_for(verbosity))
