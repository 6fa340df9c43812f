"""Reading positions out of HGVS c./p. names: only what classification needs, not a full HGVS parser.

The annotator writes ClinVar-style names (c.68_69del, c.4185+1G>A, p.(Glu23ValfsTer17)); the ENIGMA table
carries older spellings (c.68_69delAG, c.1175_1214del40, c.215_215delAinsTT). Both are read here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One c. position: a base (c.N, c.-N, c.*N) and an optional intronic offset (+N / -N).
_C_POSITION = r"[-*]?\d+(?:[+-]\d+)?"
_C_LOCATION = re.compile(rf"^c\.\[?(?P<start>{_C_POSITION})(?:_(?P<end>{_C_POSITION}))?")
_C_PARTS = re.compile(r"^(?P<base>[-*]?\d+)(?P<offset>[+-]\d+)?$")
_P_FIRST = re.compile(r"^p\.\(?(?P<aa>[A-Z][a-z]{2}|[A-Z*])(?P<pos>\d+)")
_P_FS_TER = re.compile(r"fs(?:Ter|\*)(?P<n>\d+)")
_P_NONSENSE = re.compile(r"^p\.\(?(?:[A-Z][a-z]{2}|[A-Z])\d+(?:Ter|\*)\)?$")
# An insertion whose inserted residues end in a stop: p.(Tyr1853_Leu1854delinsTer), p.(Lys10_Leu11insGluTer).
_P_INS_TER = re.compile(r"(?P<kind>delins|ins)(?P<before>(?:[A-Z][a-z]{2})*?)Ter")


@dataclass(frozen=True)
class CPosition:
    """c.4185+1 -> base "4185", offset 1; c.-19-2 -> base "-19", offset -2; c.68 -> base "68", offset 0."""

    base: str
    offset: int = 0

    @property
    def in_cds(self) -> bool:
        return self.offset == 0 and not self.base.startswith(("-", "*"))

    @property
    def in_utr(self) -> bool:
        return self.base.startswith(("-", "*"))

    @property
    def cds_number(self) -> int | None:
        """The coding position as an int (None for UTR positions)."""
        return None if self.in_utr else int(self.base)


def strip_reference(hgvs: str) -> str:
    """'NM_000059.3:c.7397C>T' -> 'c.7397C>T'."""
    return hgvs.split(":", 1)[1] if ":" in hgvs else hgvs


def c_positions(hgvs_c: str) -> tuple[CPosition, ...]:
    """The start (and end, for ranges) of a c. name; empty when the name has no readable location."""
    match = _C_LOCATION.match(strip_reference(hgvs_c).strip())
    if not match:
        return ()
    out = []
    for text in (match["start"], match["end"]):
        if text:
            parts = _C_PARTS.match(text)
            if parts:
                out.append(CPosition(parts["base"], int(parts["offset"] or 0)))
    return tuple(out)


def canonical_c(hgvs_c: str) -> str:
    """A c. name in the ClinVar spelling, so old and new forms compare equal.

    Drops deleted/duplicated bases and counts (delAG, del40, dupA -> del, dup) and collapses a one-position
    range written as a range (c.215_215delAinsTT -> c.215delinsTT).
    """
    name = strip_reference(hgvs_c).strip().replace(" ", "")
    name = re.sub(r"(del|dup)(?:[ACGTN]+|\d+)", r"\1", name)
    return re.sub(rf"^c\.({_C_POSITION})_\1(?=[a-z])", r"c.\1", name)


def first_altered_codon(hgvs_p: str, hgvs_c: str = "") -> int | None:
    """Codon of the first amino acid a change touches: p.(Glu23ValfsTer17) -> 23; else from the c. start."""
    match = _P_FIRST.match(hgvs_p.strip()) if hgvs_p else None
    if match:
        return int(match["pos"])
    positions = c_positions(hgvs_c)
    if positions and positions[0].in_cds:
        return (int(positions[0].base) - 1) // 3 + 1
    return None


def stop_codon_position(hgvs_p: str) -> int | None:
    """Codon of the new stop for a nonsense or frameshift name; None if the name does not give it.

    p.(Arg1443Ter) -> 1443; p.(Glu23ValfsTer17) -> 39 (the Ter count includes the first changed residue);
    p.(Gln100_Arg101delinsTer) -> 100; p.(Lys10_Leu11insGluTer) -> 12.
    """
    if not hgvs_p:
        return None
    first = _P_FIRST.match(hgvs_p.strip())
    if not first:
        return None
    fs = _P_FS_TER.search(hgvs_p)
    if fs:
        return int(first["pos"]) + int(fs["n"]) - 1
    if _P_NONSENSE.match(hgvs_p.strip()):
        return int(first["pos"])
    inserted = _P_INS_TER.search(hgvs_p)
    if inserted:
        # delins replaces from the first residue on; ins goes after it
        shift = len(inserted["before"]) // 3 + (1 if inserted["kind"] == "ins" else 0)
        return int(first["pos"]) + shift
    return None
