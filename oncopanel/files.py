"""Text files as the pipeline's tools write them: plain, gzip or bgzip (one reader for all)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO


def open_text(path: Path | str) -> IO[str]:
    """A text handle on a plain, gzip or bgzip file (bgzip is gzip-compatible), chosen by the file's suffix."""
    path = Path(path)
    return gzip.open(path, "rt") if path.suffix in (".gz", ".bgz") else open(path)
