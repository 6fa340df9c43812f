"""Where a sample's UMIs are, as the sample sheet (column ``umi``) or a pooled run (``pooled_runs.<run>.umi``)
declares it, and how each layout reaches the aligned reads.

Layouts (text form in the sheet):
- ``read1:<len>[+<skip>]`` / ``read2:<len>[+<skip>]``: inline UMI of ``len`` bases at the start of read 1 (or 2),
  then ``skip`` spacer bases; fastp cuts them off (``--umi --umi_loc read1 --umi_len --umi_skip``).
- ``both:<len>[+<skip>]``: an inline UMI on each read (fastp ``--umi_loc per_read``). The two UMIs tag the two
  ends of the molecule, so the reads of its two strands can be paired: duplex consensus.
- ``header``: the UMI is already in the read name, as BCL Convert writes it with ``OverrideCycles`` U segments
  (``@inst:run:flowcell:lane:tile:x:y:ACGTACGT 1:N:0:i7+i5``; two UMI reads joined by ``+``). The demultiplexer
  keeps read names whole, so it travels through a pooled run unchanged.
- ``rx``: BAM input whose records carry the UMI in the SAM ``RX`` tag (kept by the import).

fastp appends an inline UMI to the read name as an eighth ``:`` field (``_`` between the two of ``both``), the
same place BCL Convert puts it: the consensus step reads it from there (or from ``RX``), whatever the layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from oncopanel.errors import ValidationError

Location = Literal["read1", "read2", "both", "header", "rx"]
_INLINE = re.compile(r"^(read1|read2|both):(\d+)(?:\+(\d+))?$")
_UMI = re.compile(r"^[ACGTN]+(?:[+_-][ACGTN]+)?$")


@dataclass(frozen=True)
class UmiLayout:
    location: Location
    length: int = 0  # inline layouts: UMI bases per read
    skip: int = 0  # inline layouts: spacer bases after the UMI, cut with it

    @property
    def duplex(self) -> bool:
        """Both ends of the molecule carry a UMI: the two strands' families can be paired."""
        return self.location == "both"

    @property
    def text(self) -> str:
        if self.location in ("header", "rx"):
            return self.location
        return f"{self.location}:{self.length}" + (f"+{self.skip}" if self.skip else "")

    def fastp_args(self) -> str:
        """fastp options that move an inline UMI from the read into its name ('' when the UMI is elsewhere)."""
        if self.location not in ("read1", "read2", "both"):
            return ""
        loc = "per_read" if self.location == "both" else self.location
        return f"--umi --umi_loc {loc} --umi_len {self.length} --umi_skip {self.skip}"


def parse_layout(text: str | None, where: str = "umi") -> UmiLayout | None:
    """The layout a sheet cell or config value declares; None for an empty cell or ``none``."""
    value = (text or "").strip()
    if value in ("", "none"):
        return None
    if value in ("header", "rx"):
        return UmiLayout(value)  # type: ignore[arg-type]
    m = _INLINE.match(value)
    if not m or int(m.group(2)) < 4:
        raise ValidationError(
            [
                f"{where}: '{value}' is not a UMI layout (read1:<len>[+<skip>], read2:..., both:..., header, rx, "
                "none; an inline UMI has >= 4 bases)"
            ]
        )
    return UmiLayout(m.group(1), int(m.group(2)), int(m.group(3) or 0))  # type: ignore[arg-type]


def umi_from_name(name: str) -> str | None:
    """The UMI fastp or BCL Convert put in a read name (its eighth ``:`` field), or None."""
    fields = name.split(" ")[0].split(":")
    if len(fields) < 8:
        return None
    umi = fields[-1]
    if umi.startswith("UMI_"):
        umi = umi[4:]
    return umi if _UMI.match(umi) else None


def split_umi(umi: str) -> tuple[str, ...]:
    """The UMI of each read (``both`` / two UMI index reads), or the one UMI."""
    return tuple(re.split(r"[+_-]", umi))
