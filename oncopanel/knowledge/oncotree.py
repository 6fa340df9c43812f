"""OncoTree 2025-10-03 as the tumour-type vocabulary (CC BY 4.0, MSK; see annotation/knowledge/SOURCES.md).

Public functions (used by the sample-sheet validator and by matching):

    load_oncotree(path=None) -> OncoTree
    is_valid_code(code) -> bool
    closest_codes(code, n=3) -> list[str]     nearest codes by code spelling or tumour name
    ancestors(code) -> list[str]              parent first, up to TISSUE; [] for TISSUE
    name(code) -> str
    check_code(code) -> str                   the code, or InputError naming it with the closest codes
"""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from oncopanel.errors import InputError
from oncopanel.paths import ANNOTATION

ONCOTREE_RELEASE = "oncotree_2025_10_03"
DEFAULT_PATH = ANNOTATION / "knowledge" / "sources" / "oncotree" / "oncotree_2025_10_03_flat.tsv"
ROOT_CODE = "TISSUE"


@dataclass(frozen=True)
class OncoTree:
    """The tree as code -> (name, parent); codes are upper case."""

    names: dict[str, str]
    parents: dict[str, str]
    release: str = ONCOTREE_RELEASE

    def is_valid_code(self, code: str) -> bool:
        return code in self.names

    def name(self, code: str) -> str:
        return self.names[check_code_in(self, code)]

    def ancestors(self, code: str) -> list[str]:
        out: list[str] = []
        parent = self.parents.get(check_code_in(self, code), "")
        while parent:
            out.append(parent)
            parent = self.parents.get(parent, "")
        return out

    def descendants(self, code: str) -> list[str]:
        code = check_code_in(self, code)
        return [c for c in self.names if c != code and code in self.ancestors(c)]

    def closest_codes(self, code: str, n: int = 3) -> list[str]:
        query = code.strip()
        scored: list[tuple[float, str]] = []
        for candidate, tumour_name in self.names.items():
            by_code = difflib.SequenceMatcher(None, query.upper(), candidate).ratio()
            by_name = difflib.SequenceMatcher(None, query.lower(), tumour_name.lower()).ratio()
            scored.append((max(by_code, by_name), candidate))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [candidate for _, candidate in scored[:n]]


def check_code_in(tree: OncoTree, code: str) -> str:
    if code in tree.names:
        return code
    suggestions = ", ".join(tree.closest_codes(code))
    raise InputError(
        f"unknown OncoTree code {code!r} (OncoTree {tree.release}); closest codes: {suggestions}"
    )


def read_oncotree(path: Path) -> OncoTree:
    names: dict[str, str] = {}
    parents: dict[str, str] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            names[row["code"]] = row["name"]
            parents[row["code"]] = row["parent"] or ""
    if ROOT_CODE not in names:
        raise InputError(f"{path}: no {ROOT_CODE} root; not an OncoTree flat table")
    return OncoTree(names, parents)


@cache
def load_oncotree(path: Path | None = None) -> OncoTree:
    return read_oncotree(Path(path) if path else DEFAULT_PATH)


def is_valid_code(code: str) -> bool:
    return load_oncotree().is_valid_code(code)


def closest_codes(code: str, n: int = 3) -> list[str]:
    return load_oncotree().closest_codes(code, n)


def ancestors(code: str) -> list[str]:
    return load_oncotree().ancestors(code)


def name(code: str) -> str:
    return load_oncotree().name(code)


def check_code(code: str) -> str:
    return check_code_in(load_oncotree(), code)
