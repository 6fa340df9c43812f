"""Which samples are called how, and which files the calling rules read and write (kept out of the .smk file).

``table`` maps sample id -> a sample-sheet record with ``batch`` and ``specimen_type`` attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oncopanel.model import GERMLINE_SPECIMENS


def mode_for(record: Any) -> str:
    """germline for blood/saliva, somatic for tumour specimens (FFPE, fresh, plasma)."""
    return "germline" if record.specimen_type in GERMLINE_SPECIMENS else "somatic"


def batch_normals(table: Mapping[str, Any], batch: str) -> list[str]:
    """The batch's blood/saliva samples: its panel of normals."""
    return sorted(s for s, r in table.items() if r.batch == batch and mode_for(r) == "germline")


def batch_tumours(table: Mapping[str, Any], batch: str) -> list[str]:
    return sorted(s for s, r in table.items() if r.batch == batch and mode_for(r) == "somatic")


def outputs(results: str, sample_ids: list[str]) -> list[str]:
    """Everything the calling stage delivers per sample (for rule all)."""
    return [
        path
        for s in sample_ids
        for path in (
            f"{results}/calls/{s}.vcf.gz",
            f"{results}/calls/{s}.vcf.gz.tbi",
            f"{results}/hotspots/{s}.hotspots.tsv",
        )
    ]


def finalize_inputs(results: str, sample_id: str, record: Any) -> dict[str, str]:
    inputs = {
        "vcf": f"{results}/calls/raw/{sample_id}.freebayes.vcf.gz",
        "bam": f"{results}/bam/{sample_id}.bam",
        "bai": f"{results}/bam/{sample_id}.bam.bai",
    }
    if mode_for(record) == "somatic":
        inputs["pon"] = f"{results}/calls/pon/{record.batch}.pon.tsv"
        inputs["background"] = f"{results}/calls/background/{record.batch}.background.tsv"
        inputs["background_bounds"] = f"{results}/calls/background/{record.batch}.bounds.tsv"
    return inputs
