"""Kept for existing imports: the statistics live in oncopanel.stats (one home)."""

from oncopanel.stats import binom_cdf, binom_sf, wilson_interval

__all__ = ["binom_cdf", "binom_sf", "wilson_interval"]
