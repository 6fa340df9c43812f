"""Standard genetic code, amino-acid names and strand helpers."""

from __future__ import annotations

import re

from oncopanel.sequence import CODONS

THREE = {
    "A": "Ala",
    "R": "Arg",
    "N": "Asn",
    "D": "Asp",
    "C": "Cys",
    "Q": "Gln",
    "E": "Glu",
    "G": "Gly",
    "H": "His",
    "I": "Ile",
    "L": "Leu",
    "K": "Lys",
    "M": "Met",
    "F": "Phe",
    "P": "Pro",
    "S": "Ser",
    "T": "Thr",
    "W": "Trp",
    "Y": "Tyr",
    "V": "Val",
    "*": "Ter",
    "X": "Xaa",
}
ONE = {v: k for k, v in THREE.items()}

def translate(seq: str, stop: bool = True) -> str:
    """Translate codon by codon; with ``stop``, end after the first stop ('*' included). X for N codons."""
    out = []
    for i in range(0, len(seq) - 2, 3):
        aa = CODONS.get(seq[i : i + 3], "X")
        out.append(aa)
        if stop and aa == "*":
            break
    return "".join(out)


def three(aas: str) -> str:
    return "".join(THREE[a] for a in aas)


_THREE_RE = re.compile("|".join(v for v in THREE.values()))


def one_letter(hgvs_p: str) -> str:
    """Short form for knowledge matching: p.(Gly12Cys) -> G12C, p.(Glu23ValfsTer17) -> E23Vfs*17."""
    body = hgvs_p.removeprefix("p.").removeprefix("(").removesuffix(")")
    return _THREE_RE.sub(lambda m: ONE[m.group(0)], body)
