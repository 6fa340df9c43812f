"""Reads of one fragment position grouped into molecules by UMI: the directional method (Smith, Heger and Sudbery
2017, as UMI-tools names it), written here for the package's own records.

UMIs are nodes weighted by their read counts. An edge runs from UMI a to UMI b when they differ at no more than
``max_mismatches`` bases and count(a) >= ratio * count(b) - 1: a sequencing or PCR error in the UMI makes a small
satellite of a large family, while two real molecules at one position seldom have UMIs one base apart and, when
they do, have similar counts and stay apart. Each group is a UMI with everything reachable from it along edges,
taken from the most-read UMI down.
"""

from __future__ import annotations

from collections.abc import Mapping


def hamming(a: str, b: str) -> int:
    if len(a) != len(b):
        return max(len(a), len(b))
    return sum(x != y for x, y in zip(a, b, strict=True))


def directional_groups(counts: Mapping[str, int], max_mismatches: int = 1, ratio: float = 2.0) -> dict[str, str]:
    """UMI -> the UMI that names its molecule (the most-read UMI of its group)."""
    order = sorted(counts, key=lambda u: (-counts[u], u))
    if len(order) == 1:
        return {order[0]: order[0]}
    edges: dict[str, list[str]] = {u: [] for u in order}
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            if hamming(a, b) <= max_mismatches:
                if counts[a] >= ratio * counts[b] - 1:
                    edges[a].append(b)
                if counts[b] >= ratio * counts[a] - 1:
                    edges[b].append(a)
    owner: dict[str, str] = {}
    for root in order:
        if root in owner:
            continue
        owner[root] = root
        stack = [root]
        while stack:
            node = stack.pop()
            for nxt in edges[node]:
                if nxt not in owner:
                    owner[nxt] = root
                    stack.append(nxt)
    return owner
