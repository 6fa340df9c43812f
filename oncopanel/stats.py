"""Binomial tails and the Wilson interval (no scipy): the one home for the statistics calling and hotspots use."""

from __future__ import annotations

import math

Z95 = 1.959963984540054


def _log_pmf(k: int, n: int, p: float) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p).

    One log-space term, then the ratio recurrence walking away from the mode (terms only shrink): the shorter
    side is summed, so both tiny tails (p-values) and tails near 1 (detection power) stay accurate and cheap.
    """
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    odds = p / (1 - p)
    if k - 1 < n * p:  # lower tail P(X <= k-1), summed downwards from its largest term
        term = math.exp(_log_pmf(k - 1, n, p))
        total = 0.0
        for i in range(k - 1, -1, -1):
            total += term
            if term < total * 1e-17:
                break
            term *= i / ((n - i + 1) * odds)
        return max(0.0, 1.0 - total)
    term = math.exp(_log_pmf(k, n, p))
    total = 0.0
    for i in range(k, n + 1):  # upper tail summed upwards from its largest term
        total += term
        if term < total * 1e-17:
            break
        term *= (n - i) / (i + 1) * odds
    return min(1.0, total)


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    if k < n * p:  # lower tail: summed directly, so small values keep their precision
        odds = p / (1 - p)
        term = math.exp(_log_pmf(k, n, p))
        total = 0.0
        for i in range(k, -1, -1):
            total += term
            if term < total * 1e-17:
                break
            term *= i / ((n - i + 1) * odds)
        return min(1.0, total)
    return max(0.0, 1.0 - binom_sf(k + 1, n, p))


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for successes/n (95% by default); (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    if successes == 0 or successes == n:  # closed-form ends, free of rounding
        edge = z * z / (n + z * z)
        return (0.0, edge) if successes == 0 else (1.0 - edge, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
