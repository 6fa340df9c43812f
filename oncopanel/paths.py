"""Where the repository's data lives, resolved from the installed package (works from any working directory)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANNOTATION = ROOT / "annotation"
CONFIG = ROOT / "config"
REPORTS = ROOT / "reports"
SCHEMAS = ROOT / "workflow" / "schemas"
RESOURCES = ROOT / "resources"
