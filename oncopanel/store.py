"""Versioned stores of earlier batches: ``<store>/<version>/<file>`` (copy-number counts, oncopanel.cnv.counts) and
``<store>/<panel>/<version>/<file>`` (variant-calling background, oncopanel.calling.background). Versions are named
to sort by date (e.g. 2026-11-BATCH07) and never overwritten; a version's id names its file's digest.

Kept apart from both users so that reading a store costs no numerics imports (a tumour's calling job reads the
background store: issue 21)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def newest_version(store: Path, name: str = "counts.tsv") -> str:
    """The newest stored version holding ``name``; "" when the store has none."""
    versions = sorted(d.name for d in store.iterdir() if (d / name).is_file()) if store.is_dir() else []
    return versions[-1] if versions else ""


def store_version(directory: Path, name: str = "counts.tsv") -> str:
    """``<version>@sha256:<first 12 hex digits of the stored file's digest>``."""
    digest = hashlib.sha256((directory / name).read_bytes()).hexdigest()[:12]
    return f"{directory.name}@sha256:{digest}"
