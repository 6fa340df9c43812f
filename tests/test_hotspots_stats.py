"""Binomial tail, Wilson interval, detection threshold, LoD and required depth against direct computation."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from oncopanel.hotspots import (
    binom_sf,
    limit_of_detection,
    min_alt_reads,
    required_depth,
    wilson_interval,
)


def exact_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) by exact rational arithmetic over the shorter tail (for checking only)."""
    q = Fraction(p)
    if k <= n // 2:
        return float(1 - sum(math.comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(k)))
    return float(sum(math.comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(k, n + 1)))


def direct_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) as 1 - P(X < k), summing binomial terms in floating point (k is small here)."""
    return 1.0 - sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k))


@pytest.mark.parametrize(
    ("k", "n", "p"),
    # probabilities with short binary fractions keep the exact rational sums quick
    [(0, 10, 0.125), (3, 30, 1 / 512), (9, 1000, 1 / 512), (12, 2000, 1 / 512), (150, 600, 0.25), (30, 40, 0.875)],
)
def test_binom_sf_matches_exact(k, n, p):
    assert binom_sf(k, n, p) == pytest.approx(exact_sf(k, n, p), rel=1e-9, abs=1e-300)


def test_binom_sf_edges():
    assert binom_sf(5, 4, 0.5) == 0.0
    assert binom_sf(1, 10, 0.0) == 0.0
    assert binom_sf(10, 10, 1.0) == 1.0


def test_wilson_interval():
    lo, hi = wilson_interval(200, 1000)
    assert (round(lo, 4), round(hi, 4)) == (0.1764, 0.2259)
    lo, hi = wilson_interval(0, 1000)
    assert lo == 0.0 and hi == pytest.approx(0.00383, abs=1e-5)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = wilson_interval(50, 50)
    assert hi == 1.0 and lo == pytest.approx(1 - wilson_interval(0, 50)[1])


# the function is checked at these values (calling.yaml's rule may change; the arithmetic must not)
RULE = {"min_alt": 3, "alpha": 1e-3}
LOD_RULE = {**RULE, "power": 0.95}


def direct_threshold(n: int, e: float, min_alt: int, alpha: float) -> int | None:
    return next((k for k in range(min_alt, n + 1) if direct_sf(k, n, e) < alpha), None)


def direct_lod(n: int, e: float, min_alt: int = 3, alpha: float = 1e-3, power: float = 0.95) -> float | None:
    """The smallest VAF on a 1e-4 grid detected with >= power (exact binomial sums)."""
    k = direct_threshold(n, e, min_alt, alpha)
    if k is None:
        return None
    return next(f / 10_000 for f in range(1, 10_001) if direct_sf(k, n, f / 10_000) >= power)


@pytest.mark.parametrize(("n", "e"), [(30, 0.002), (200, 0.002), (500, 0.002), (1000, 0.002), (500, 1e-4)])
def test_lod_matches_direct_binomial(n, e):
    assert min_alt_reads(n, e, **RULE) == direct_threshold(n, e, 3, 1e-3)
    lod = limit_of_detection(n, e, **LOD_RULE)
    assert lod is not None
    assert direct_lod(n, e) - 1e-4 <= lod <= direct_lod(n, e) + 1e-6
    # the defining property, checked directly: detected with 95% at the LoD, not just below it
    k = min_alt_reads(n, e, **RULE)
    assert direct_sf(k, n, lod) >= 0.95 > direct_sf(k, n, lod - 1e-4)


def test_lod_values_at_panel_depths():
    """The LoD table reported in the docs (SNV background 0.2%, min_alt 3, alpha 1e-3, power 95%)."""
    lods = {n: round(limit_of_detection(n, 0.002, **LOD_RULE), 4) for n in (200, 500, 1000, 2000)}
    assert lods == {200: 0.0383, 500: 0.0209, 1000: 0.0144, 2000: 0.0091}
    assert limit_of_detection(2, 0.002, **LOD_RULE) is None  # fewer reads than min_alt: nothing can be detected


def test_required_depth():
    n = required_depth(0.05, 0.002, **LOD_RULE)
    assert n == 153
    assert all(limit_of_detection(m, 0.002, **LOD_RULE) <= 0.05 for m in range(n, 3 * n))
    assert limit_of_detection(n - 1, 0.002, **LOD_RULE) > 0.05
    depths = [required_depth(lod, 0.002, **LOD_RULE) for lod in (0.01, 0.02, 0.05)]
    assert depths[0] > depths[1] > depths[2]
    assert required_depth(0.0001, 0.002, **LOD_RULE, max_depth=1000) is None


def scanned_required_depth(stated_lod: float, background: float, max_depth: int) -> int | None:
    """required_depth's definition, by computing every depth's LoD: the depth after the last one whose LoD is above
    stated_lod, among the depths up to twice the first one at or below it (for checking only)."""
    ok = [False] + [
        (lod := limit_of_detection(n, background, **LOD_RULE)) is not None and lod <= stated_lod
        for n in range(1, max_depth + 1)
    ]
    first = next((n for n in range(1, max_depth + 1) if ok[n]), None)
    if first is None:
        return None
    return max((n for n in range(first, min(2 * first, max_depth) + 1) if not ok[n]), default=first - 1) + 1


@pytest.mark.parametrize("background", [0.002, 0.002 / 3, 0.0005, 1e-4])
def test_required_depth_matches_every_depths_lod(background: float) -> None:
    """required_depth decides most depths from two binomial tails instead of the LoD's bisection: the same answer
    as computing each depth's LoD, at stated LoDs between the saw-tooth's steps and within the bisection's
    tolerance of a depth's LoD (where the two tails cannot decide)."""
    # the LoD at each answer's depth: moved by less than the tolerance, that depth passes or fails
    edges = [limit_of_detection(required_depth(lod, background, **LOD_RULE), background, **LOD_RULE)
             for lod in (0.05, 0.02, 0.01)]  # fmt: skip
    for stated in (0.05, 0.0383, 0.02, 0.0144, *(lod + d for lod in edges for d in (0.0, -5e-8, 5e-8, -1e-6))):
        assert required_depth(stated, background, **LOD_RULE, max_depth=4000) == scanned_required_depth(
            stated, background, 4000
        ), stated
