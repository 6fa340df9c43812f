"""Provenance: checksums of inputs and references, tool and pipeline versions, carried into every output."""

from __future__ import annotations

import hashlib
import subprocess
from functools import cache
from pathlib import Path

from oncopanel import __version__

# Tool → command printing its version (first line kept).
TOOL_VERSION_COMMANDS = {
    "fastp": ["fastp", "--version"],
    "minimap2": ["minimap2", "--version"],
    "bwa": ["bwa"],
    "samtools": ["samtools", "--version"],
    "bcftools": ["bcftools", "--version"],
    "freebayes": ["freebayes", "--version"],
    "mosdepth": ["mosdepth", "--version"],
}


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fasta_checksums(fasta: Path) -> dict:
    """Per-contig MD5 of the uppercase sequence (the SAM @SQ M5 value) and one digest over them all.

    Checksums of sequence, not of file bytes: a bgzip of the same genome made with another zlib stays the same.
    """
    import pysam

    contigs = {}
    with pysam.FastxFile(str(fasta)) as fh:
        for record in fh:
            contigs[record.name] = hashlib.md5(record.sequence.upper().encode()).hexdigest()
    digest = hashlib.sha256("".join(f"{k}\t{v}\n" for k, v in contigs.items()).encode()).hexdigest()
    return {"fasta": Path(fasta).name, "sequence_digest": digest, "contig_md5": contigs}


@cache
def tool_version(tool: str) -> str:
    cmd = TOOL_VERSION_COMMANDS[tool]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    # some tools print non-UTF-8 bytes in their banners
    text = (out.stdout + out.stderr).decode("utf-8", errors="replace").strip().splitlines()
    if tool == "bwa":
        return next((line.split(":", 1)[1].strip() for line in text if line.startswith("Version")), "unknown")
    return text[0].strip() if text else "unknown"


def tool_versions() -> dict[str, str]:
    return {tool: tool_version(tool) for tool in TOOL_VERSION_COMMANDS}


def pipeline_version() -> str:
    return __version__
