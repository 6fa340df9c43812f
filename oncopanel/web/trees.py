"""The results trees the application serves: one per finished batch (the workflow's ``--config results=DIR``).

Everything is read through the package: a sample's versions from its release record (``oncopanel.release``), its
result through the one result model (``oncopanel.report.result.load_result``), the run controls' verdicts from the
batch identity file the workflow wrote. Nothing here writes.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from oncopanel.release import Release
from oncopanel.report.model import SampleResult
from oncopanel.report.result import load_result

_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class ControlVerdicts:
    """The batch's run controls and identity check: whether the batch (or a sample) is held, and each control's
    verdict."""

    batch_held: bool = False
    held_samples: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    controls: dict[str, str] = field(default_factory=dict)

    def held(self, sample_id: str) -> bool:
        return self.batch_held or sample_id in self.held_samples


@dataclass(frozen=True)
class Tree:
    """One results directory; ``name`` is its key in the application (URL-safe, from the directory name)."""

    name: str
    path: Path

    @classmethod
    def of(cls, path: Path, taken: set[str] | None = None) -> Tree:
        base = _NAME.sub("-", path.resolve().name) or "results"
        name, n = base, 2
        while taken and name in taken:
            name, n = f"{base}-{n}", n + 1
        return cls(name, path.resolve())

    @property
    def audit_log(self) -> Path:
        return self.path / "audit.log"

    def patient_samples(self) -> list[str]:
        """Samples with a release record (patients: controls get no report)."""
        root = self.path / "release"
        if not root.is_dir():
            return []
        return sorted(p.parent.name for p in root.glob("*/index.json"))

    def release(self, sample_id: str) -> Release:
        return Release(self.path, sample_id)

    def version_result(self, sample_id: str, version: int) -> SampleResult:
        path = self.release(sample_id).version_dir(version) / "result.json"
        stat = path.stat()
        return _load(str(path), stat.st_mtime_ns, stat.st_size)

    def version_pdf(self, sample_id: str, version: int) -> Path:
        return self.release(sample_id).version_dir(version) / "report.pdf"

    def bam(self, sample_id: str) -> Path | None:
        bam = self.path / "bam" / f"{sample_id}.bam"
        return bam if bam.exists() and Path(f"{bam}.bai").exists() else None

    def cnv_table(self, sample_id: str) -> Path | None:
        table = self.path / "cnv" / f"{sample_id}.cnv.tsv"
        return table if table.exists() else None

    def controls(self, batch: str) -> ControlVerdicts:
        for path in (self.path / "identity" / f"{batch}.batch_identity.json",
                     self.path / "release" / f"{batch}.batch_identity.partial.json"):  # fmt: skip
            if path.exists():
                doc = json.loads(path.read_text())
                controls = (doc.get("controls") or {}).get("controls") or {}
                return ControlVerdicts(
                    batch_held=bool(doc.get("batch_held")),
                    held_samples=tuple(doc.get("held_samples") or ()),
                    reasons=tuple(str(r) for r in doc.get("reasons") or ()),
                    controls={k: (v if isinstance(v, str) else str(v.get("verdict", v))) for k, v in controls.items()},
                )
        return ControlVerdicts()


@functools.lru_cache(maxsize=4096)
def _load(path: str, mtime_ns: int, size: int) -> SampleResult:
    """A released version, validated once: a version's files are never rewritten (oncopanel.release), and the
    modification time and size in the key reload one that was restored. Callers never mutate the model."""
    return load_result(path)


def workflow_version(record: Release) -> int:
    """The latest version the workflow released (not one this application signed): the one under review."""
    for entry in reversed(record.versions):
        if "signoff" not in entry:
            return entry["version"]
    return 0
