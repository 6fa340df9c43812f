"""oncopanel: precision-oncology panel pipeline (reads → calls → HGVS → therapies → reports)."""

__version__ = "0.1.0"
