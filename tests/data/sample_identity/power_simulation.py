"""Power of the identity SNP set: the numbers in annotation/IDENTITY_SNPS_SOURCES.md.

Run: .venv/bin/python tests/data/sample_identity/power_simulation.py  (a few seconds)

People are drawn from the stated allele frequencies, one haplotype draw per LD block (perfect LD inside a block,
block frequency = its first site's; blocks independent), genotypes error-free. For each site subset (what two
samples on given panels share) and comparison (blood-blood strict; tumour-blood with LOH tolerated) it prints the
expected chance-match probability and the share of verdicts for unrelated pairs (a swap) and same-person pairs.
"""

from __future__ import annotations

import numpy as np

from oncopanel.sample_identity.concordance import concordance
from oncopanel.sample_identity.criteria import load_criteria
from oncopanel.sample_identity.genotype import SiteGenotype
from oncopanel.sample_identity.snps import expected_match_probability, load_identity_snps

GENOTYPES = ("0/0", "0/1", "1/1")
SUBSETS = {"all 15 sites": None, "BRCA panel (11)": ("BRCA1", "BRCA2"), "EGFR_KRAS+EXTENDED (4)": ("EGFR", "TP53")}


def person(snps, population: str, rng) -> dict[str, str]:
    blocks: dict[str, int] = {}
    for s in snps:
        if s.ld_block not in blocks:
            q = s.af[population]
            blocks[s.ld_block] = int(rng.random() < q) + int(rng.random() < q)
    return {s.rsid: GENOTYPES[blocks[s.ld_block]] for s in snps}


def calls(snps, genotypes: dict[str, str]) -> list[SiteGenotype]:
    return [SiteGenotype(s, 50, 50, 0, genotypes[s.rsid]) for s in snps]


def main(n: int = 4000, seed: int = 7) -> None:
    criteria = load_criteria()
    rng = np.random.default_rng(seed)
    snps = load_identity_snps()
    for population in ("af_eas", "af_global"):
        for name, genes in SUBSETS.items():
            sub = [s for s in snps if genes is None or s.gene in genes]
            for label, lose in (("blood-blood", False), ("tumour-blood", True)):
                unrelated = {"match": 0, "mismatch": 0, "insufficient": 0, "held": 0}
                same = {"match": 0, "mismatch": 0, "insufficient": 0}
                for _ in range(n):
                    a, b = calls(sub, person(sub, population, rng)), calls(sub, person(sub, population, rng))
                    r = concordance(a, b, criteria.concordance, population, a_may_lose=lose)
                    unrelated[r.verdict] += 1
                    unrelated["held"] += r.verdict == "mismatch" or (
                        r.verdict == "insufficient" and r.discordant_sites > 0
                    )
                    same[concordance(a, a, criteria.concordance, population, a_may_lose=lose).verdict] += 1
                rmp = expected_match_probability(sub, population, a_may_lose=lose)
                print(f"{population}\t{name}\t{label}\tchance match {rmp:.4f}\tunrelated "
                      f"{ {k: round(v / n, 3) for k, v in unrelated.items()} }\tsame person "
                      f"{ {k: round(v / n, 3) for k, v in same.items()} }")  # fmt: skip


if __name__ == "__main__":
    main()
