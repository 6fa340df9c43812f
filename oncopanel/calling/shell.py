"""The calling steps' shell pipelines: bash with pipefail, the tools' messages appended to the step's log."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def run_shell(cmd: str, log: Path | str | None) -> None:
    """bash with pipefail; the tools' messages are appended to ``log`` (discarded without one)."""
    with open(log or os.devnull, "a") as err:
        subprocess.run(["bash", "-c", f"set -euo pipefail; {cmd}"], check=True, stderr=err)
