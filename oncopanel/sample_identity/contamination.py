"""Cross-sample contamination from foreign alleles at the sample's homozygous identity SNPs.

Method. At a site where the sample is homozygous, reads of the other allele come from sequencing error (rate e)
or from a contaminating person. If a fraction c of the DNA is foreign and the contaminant carries d copies (0, 1
or 2) of the foreign allele, the expected foreign-read fraction is e + c*d/2. The contaminant's genotype is
unknown: it is summed out with Hardy-Weinberg frequencies from the population allele frequency. The estimate is
the c on a grid over [0, 0.5] that maximises the binomial likelihood over all homozygous sites, with a
likelihood-ratio 95% interval (log-likelihood within 1.92 of the maximum).

Limits. With the ~8 independent SNP blocks of a ten-gene panel the contaminant is seen at only a few sites; when
it happens to be heterozygous at all of them, "c/2 with a homozygous contaminant" and "c with a heterozygous one"
are told apart only by the population prior, so the interval is wide. Fewer than `min_hom_sites` homozygous
sites: not estimable. Above ~20% contamination the contaminated sites stop looking homozygous (the het window
starts at 0.2) and the estimate saturates. Tumour samples: identity SNPs are germline sites, but loss of
heterozygosity makes a germline het look homozygous with residual normal-cell reads of the lost allele, which
reads as contamination; use the tumour estimate as an upper bound only. A related contaminant shares alleles and
is underestimated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from oncopanel.sample_identity.criteria import ContaminationCriteria, default_criteria
from oncopanel.sample_identity.genotype import SiteGenotype

METHOD = "foreign alleles at homozygous identity SNPs; binomial likelihood, contaminant genotype summed out (HWE)"


@dataclass(frozen=True)
class ContaminationEstimate:
    status: Literal["estimated", "not_estimable"]
    fraction: float | None
    ci_low: float | None
    ci_high: float | None
    hom_sites: int
    foreign_reads: int
    depth: int
    acceptable: bool | None  # None when not estimable
    reason: str
    method: str = METHOD


def _foreign(g: SiteGenotype) -> tuple[int, float] | None:
    """(foreign-read count, population frequency of the foreign allele) at a homozygous site."""
    if g.genotype == "0/0":
        return g.alt_count, 1.0
    if g.genotype == "1/1":
        return g.ref_count, 0.0
    return None


def _site_loglik(k: int, n: int, a: float, fraction: float, seq_error_rate: float) -> float:
    """log P(k foreign reads of n | contamination fraction), the contaminant's dosage d of the foreign allele
    (frequency a) summed out with Hardy-Weinberg priors: log-sum-exp over d of log prior + binomial kernel."""
    terms = []
    for d, prior in ((0, (1 - a) ** 2), (1, 2 * a * (1 - a)), (2, a**2)):
        p = min(max(seq_error_rate + fraction * d / 2, 1e-9), 1 - 1e-9)
        terms.append(math.log(max(prior, 1e-300)) + k * math.log(p) + (n - k) * math.log1p(-p))
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


def estimate_contamination(
    site_genotypes: Sequence[SiteGenotype], criteria: ContaminationCriteria | None = None, population: str = "af_eas"
) -> ContaminationEstimate:
    c = criteria or default_criteria().contamination
    k, n, a = [], [], []
    for g in site_genotypes:
        if g.depth < c.min_depth:
            continue
        hit = _foreign(g)
        if hit is None:
            continue
        count, sign = hit
        q = g.snp.alt_frequency(population)
        k.append(count)
        n.append(g.depth)
        a.append(q if sign else 1 - q)  # frequency of the allele the sample lacks
    if len(k) < c.min_hom_sites:
        return ContaminationEstimate("not_estimable", None, None, None, len(k), sum(k), sum(n), None,
                                     f"{len(k)} homozygous site(s) with depth >= {c.min_depth}, fewer than "
                                     f"{c.min_hom_sites}")  # fmt: skip
    # a ~200-point grid over a few dozen sites: plain Python, so bam_qc does not import numpy for it (issue 21)
    grid = [i * c.grid_step for i in range(math.ceil((0.5 + c.grid_step / 2) / c.grid_step))]
    sites = list(zip(k, n, a, strict=True))
    loglik = [sum(_site_loglik(ki, ni, ai, x, c.seq_error_rate) for ki, ni, ai in sites) for x in grid]
    best = max(range(len(grid)), key=loglik.__getitem__)  # the first maximum, as argmax
    inside = [x for x, ll in zip(grid, loglik, strict=True) if ll >= loglik[best] - 1.92]
    fraction = grid[best]
    ok = fraction <= c.max_fraction
    return ContaminationEstimate(
        "estimated", round(fraction, 4), round(min(inside), 4), round(max(inside), 4), len(k),
        sum(k), sum(n), ok,
        f"{fraction:.1%} from {len(k)} homozygous sites" + ("" if ok else f", above the {c.max_fraction:.0%} limit"),
    )  # fmt: skip
