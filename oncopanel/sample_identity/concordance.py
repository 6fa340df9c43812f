"""Do two samples come from one person? Genotype concordance on the identity SNPs, per patient and all-vs-all.

A site is informative when both samples have a genotype call there. It is discordant when the genotypes cannot
come from one person. A tumour may have lost heterozygosity (0/1 in blood, 0/0 or 1/1 in tumour): that is
tolerated on the tumour side and counted as loh_compatible, never as a match or a mismatch on its own. A tumour
never gains an allele its germline lacks, so blood 0/0 with tumour 0/1 stays discordant.

The chance-match probability is the probability that an unrelated person, drawn from the population whose
allele frequencies the SNP table states, would look compatible with sample a at every compared site, counting
one site per linkage-disequilibrium block (the most discriminating one).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from oncopanel.model import TUMOUR_SPECIMENS
from oncopanel.sample_identity.criteria import ConcordanceCriteria, default_criteria
from oncopanel.sample_identity.genotype import SiteGenotype
from oncopanel.sample_identity.snps import chance_compatible, compatible

Verdict = Literal["match", "mismatch", "insufficient"]


@dataclass(frozen=True)
class ConcordanceResult:
    informative_sites: int
    concordant_sites: int
    discordant_sites: int
    loh_compatible_sites: int
    discordant_fraction: float | None
    chance_match_probability: float | None
    verdict: Verdict
    reason: str
    discordant_rsids: tuple[str, ...] = ()


def _chance_match(
    pairs: Sequence[tuple[SiteGenotype, SiteGenotype]], population: str, a_may_lose: bool, b_may_lose: bool
) -> float:
    """P(an unrelated person is incompatible with sample a in no more LD blocks than this pair is).

    Each block's probability of compatibility is its most discriminating site's; the count of incompatible
    blocks is Poisson-binomial, summed by dynamic programming. Allowing the pair's own discordant blocks keeps
    the probability honest when a match tolerates a genotyping error.
    """
    per_block: dict[str, float] = {}
    discordant_blocks: set[str] = set()
    for ga, gb in pairs:
        p = chance_compatible(ga.genotype, ga.snp.alt_frequency(population), a_may_lose, b_may_lose)
        per_block[ga.snp.ld_block] = min(p, per_block.get(ga.snp.ld_block, 1.0))
        if not compatible(ga.genotype, gb.genotype, a_may_lose, b_may_lose):
            discordant_blocks.add(ga.snp.ld_block)
    allowed = len(discordant_blocks)
    dist = [1.0]  # dist[k] = P(k incompatible blocks so far)
    for p in per_block.values():
        dist = [(dist[k] if k < len(dist) else 0.0) * p + (dist[k - 1] * (1 - p) if k else 0.0)
                for k in range(len(dist) + 1)]  # fmt: skip
    return min(1.0, sum(dist[: allowed + 1]))


def concordance(
    a: Sequence[SiteGenotype],
    b: Sequence[SiteGenotype],
    criteria: ConcordanceCriteria | None = None,
    population: str = "af_eas",
    a_may_lose: bool = False,
    b_may_lose: bool = False,
) -> ConcordanceResult:
    """Compare two samples' identity genotypes; `*_may_lose` marks a tumour side (LOH tolerated)."""
    c = criteria or default_criteria().concordance
    b_by_site = {(g.snp.chrom, g.snp.pos): g for g in b}
    pairs = [(ga, gb) for ga in a if (gb := b_by_site.get((ga.snp.chrom, ga.snp.pos))) and ga.called and gb.called]
    n = len(pairs)
    same = sum(ga.genotype == gb.genotype for ga, gb in pairs)
    discordant = [ga.snp.rsid for ga, gb in pairs if not compatible(ga.genotype, gb.genotype, a_may_lose, b_may_lose)]
    loh = n - same - len(discordant)
    if n < c.min_informative_sites:
        return ConcordanceResult(n, same, len(discordant), loh, len(discordant) / n if n else None, None,
                                 "insufficient", f"{n} informative site(s), fewer than {c.min_informative_sites}",
                                 tuple(discordant))  # fmt: skip
    fraction = len(discordant) / n
    chance = _chance_match(pairs, population, a_may_lose, b_may_lose)
    if len(discordant) >= c.mismatch_min_discordant_sites and fraction >= c.mismatch_min_discordant_fraction:
        verdict: Verdict = "mismatch"
        reason = f"{len(discordant)} of {n} sites discordant"
    elif fraction <= c.match_max_discordant_fraction and chance <= c.match_max_chance_probability:
        verdict = "match"
        reason = f"{len(discordant)} of {n} sites discordant; chance match {chance:.2g}"
    elif fraction <= c.match_max_discordant_fraction:
        verdict = "insufficient"
        reason = (f"genotypes agree but an unrelated person would agree with probability {chance:.2g} "
                  f"(above {c.match_max_chance_probability})")  # fmt: skip
    else:
        verdict = "insufficient"
        reason = (f"{len(discordant)} of {n} sites discordant: between match and mismatch thresholds "
                  "(contamination, a relative, or genotyping noise); review")  # fmt: skip
    return ConcordanceResult(n, same, len(discordant), loh, fraction, chance, verdict, reason, tuple(discordant))


@dataclass(frozen=True)
class PairCheck:
    sample_a: str
    sample_b: str
    patient_a: str
    patient_b: str
    same_patient: bool
    result: ConcordanceResult
    flag: str = ""  # "" | "mismatch" | "unexpected_match" | "insufficient"


@dataclass
class IdentityCheck:
    pairs: list[PairCheck] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # messages naming the samples
    samples_held: list[str] = field(default_factory=list)  # samples whose reports must wait for review

    def as_dict(self) -> dict:
        return {
            "pairs": [{"sample_a": p.sample_a, "sample_b": p.sample_b, "same_patient": p.same_patient,
                       "flag": p.flag, **p.result.__dict__, "discordant_rsids": list(p.result.discordant_rsids)}
                      for p in self.pairs],
            "flags": self.flags,
            "samples_held": self.samples_held,
        }  # fmt: skip


def _is_tumour(sample) -> bool:
    return sample.specimen_type in TUMOUR_SPECIMENS


def check_pairs(
    samples: Sequence,
    genotypes: Mapping[str, Sequence[SiteGenotype]],
    criteria: ConcordanceCriteria | None = None,
    population: str = "af_eas",
) -> IdentityCheck:
    """Every pair of a batch's patient samples (controls excluded).

    Same patient: anything but "match" is flagged, and both samples are held (a "mismatch" is a likely swap).
    Different patients: a "match" whose chance expectation over the whole scan is small is flagged as an
    unexpected match (a swap or a duplicate), naming both samples. `samples` are samplesheet.Sample records
    (sample_id, patient, specimen_type, control).
    """
    c = criteria or default_criteria().concordance
    patients = [s for s in samples if not s.control and s.sample_id in genotypes]
    # A tumour goes on side a: the chance-match probability is conditioned on its genotypes, which keeps the
    # evidence of its heterozygous sites (a tumour het needs a germline het; a germline het allows any tumour call).
    patients.sort(key=lambda s: (not _is_tumour(s), s.sample_id))
    n_cross = sum(1 for x, y in itertools.combinations(patients, 2) if x.patient != y.patient)
    check = IdentityCheck()
    held: set[str] = set()
    for x, y in itertools.combinations(patients, 2):
        result = concordance(genotypes[x.sample_id], genotypes[y.sample_id], c, population,
                             a_may_lose=_is_tumour(x), b_may_lose=_is_tumour(y))  # fmt: skip
        flag = _pair_flag(x, y, result, n_cross, c)
        if flag in ("mismatch", "unexpected_match") or (flag == "insufficient" and result.discordant_sites):
            held.update((x.sample_id, y.sample_id))
        check.pairs.append(PairCheck(x.sample_id, y.sample_id, x.patient, y.patient, x.patient == y.patient,
                                     result, flag))  # fmt: skip
    for pair in check.pairs:
        if pair.flag:
            check.flags.append(_flag_message(pair, check.pairs))
    check.samples_held = sorted(held)
    return check


def _pair_flag(x, y, result: ConcordanceResult, n_cross: int, c: ConcordanceCriteria) -> str:
    if x.patient == y.patient:
        return "" if result.verdict == "match" else result.verdict
    expected_chance = n_cross * (result.chance_match_probability or 1.0)
    if result.verdict == "match" and expected_chance <= c.cross_patient_max_expected_chance_matches:
        return "unexpected_match"
    return ""


def _partners(sample_id: str, patient: str, pairs: Sequence[PairCheck]) -> list[str]:
    """Other patients' samples whose genotypes agree with sample_id: candidates for the other half of a swap."""
    out = []
    for p in pairs:
        if p.same_patient or p.result.verdict != "match" or sample_id not in (p.sample_a, p.sample_b):
            continue
        other, other_patient = (p.sample_b, p.patient_b) if p.sample_a == sample_id else (p.sample_a, p.patient_a)
        out.append(f"{other} (patient {other_patient}, chance match {p.result.chance_match_probability:.2g})")
    return out


def _flag_message(pair: PairCheck, pairs: Sequence[PairCheck]) -> str:
    r = pair.result
    names = f"{pair.sample_a} and {pair.sample_b}"
    if pair.flag == "unexpected_match":
        return (f"{names} belong to patients {pair.patient_a} and {pair.patient_b} but match ({r.reason}): "
                "possible sample swap or duplicate")  # fmt: skip
    if pair.flag == "insufficient":
        return f"patient {pair.patient_a}: identity of {names} not confirmed: {r.reason}"
    text = (f"patient {pair.patient_a}: {names} are not from one person: {r.reason} "
            f"({', '.join(r.discordant_rsids)}); possible sample swap")  # fmt: skip
    for sid in (pair.sample_a, pair.sample_b):
        partners = _partners(sid, pair.patient_a, pairs)
        if partners:
            text += f"; {sid} agrees with {', '.join(partners)}"
    return text
