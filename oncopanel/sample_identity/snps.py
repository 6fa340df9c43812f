"""The identity SNP set: common biallelic SNPs inside the panel targets, and what it can prove.

Genotype frequencies follow Hardy-Weinberg from the stated allele frequency. Sites in one linkage-disequilibrium
block (e.g. the seven BRCA1 coding SNPs that travel as one haplotype) are not independent evidence: every
probability here counts one site per block, the one that discriminates best, so it errs towards "weaker".
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from oncopanel import paths
from oncopanel.errors import InputError

IDENTITY_SNPS = paths.ANNOTATION / "identity_snps.tsv"
GENOTYPES = ("0/0", "0/1", "1/1")
ALLELES = {"0/0": frozenset("0"), "0/1": frozenset("01"), "1/1": frozenset("1")}
COLUMNS = ("rsid", "gene", "chrom", "pos", "ref", "alt", "transcript", "hgvs_c", "hgvs_p", "ld_block",
           "af_global", "af_eas")  # fmt: skip


@dataclass(frozen=True)
class IdentitySnp:
    rsid: str
    gene: str
    chrom: str
    pos: int  # 1-based GRCh38
    ref: str  # plus strand
    alt: str
    transcript: str
    hgvs_c: str
    hgvs_p: str
    ld_block: str
    af: dict[str, float]  # population column -> frequency of alt

    def __hash__(self) -> int:
        return hash((self.rsid, self.chrom, self.pos))

    def alt_frequency(self, population: str) -> float:
        try:
            return self.af[population]
        except KeyError as exc:
            raise InputError(f"identity SNP {self.rsid}: no allele frequency for population {population!r}") from exc


def load_identity_snps(path: Path | None = None) -> list[IdentitySnp]:
    path = path or IDENTITY_SNPS
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t")
    missing = [c for c in COLUMNS[:10] if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    af_columns = [c for c in reader.fieldnames or [] if c.startswith("af_")]
    out = []
    for n, row in enumerate(reader, start=2):
        try:
            out.append(IdentitySnp(
                row["rsid"], row["gene"], row["chrom"], int(row["pos"]), row["ref"], row["alt"], row["transcript"],
                row["hgvs_c"], row["hgvs_p"], row["ld_block"], {c: float(row[c]) for c in af_columns},
            ))  # fmt: skip
        except ValueError as exc:
            raise InputError(f"{path}: data row {n - 1} ({row.get('rsid')}): {exc}") from exc
    return out


def snp_set_version(path: Path | None = None) -> str:
    """sha256 of the SNP table: genotype files say which set they were made with."""
    return hashlib.sha256((path or IDENTITY_SNPS).read_bytes()).hexdigest()[:16]


def snps_in_targets(snps: Iterable[IdentitySnp], targets: Iterable[Sequence]) -> list[IdentitySnp]:
    """The SNPs inside (chrom, start0, end, ...) target rows, e.g. panels.target_bed_rows(genes, padding)."""
    rows = list(targets)
    return [s for s in snps if any(r[0] == s.chrom and int(r[1]) < s.pos <= int(r[2]) for r in rows)]


def hwe(alt_frequency: float) -> dict[str, float]:
    q = alt_frequency
    return {"0/0": (1 - q) ** 2, "0/1": 2 * q * (1 - q), "1/1": q**2}


def compatible(a: str, b: str, a_may_lose: bool = False, b_may_lose: bool = False) -> bool:
    """Could genotypes a and b come from one person? A side that "may lose" is a tumour: loss of heterozygosity
    turns its 0/1 into 0/0 or 1/1, but never creates an allele its germline lacks."""
    if a == b:
        return True
    sa, sb = ALLELES[a], ALLELES[b]
    return (a_may_lose and sa < sb) or (b_may_lose and sb < sa)


def chance_compatible(genotype: str, alt_frequency: float, a_may_lose: bool, b_may_lose: bool) -> float:
    """P(an unrelated person's genotype is compatible with `genotype`), the person taking side b."""
    return sum(p for g, p in hwe(alt_frequency).items() if compatible(genotype, g, a_may_lose, b_may_lose))


def expected_match_probability(
    snps: Sequence[IdentitySnp], population: str, a_may_lose: bool = False, b_may_lose: bool = False
) -> float:
    """P(two unrelated people look compatible at every site), one site per LD block (the most discriminating)."""
    per_block: dict[str, float] = {}
    for snp in snps:
        hw = hwe(snp.alt_frequency(population))
        p = sum(hw[g] * chance_compatible(g, snp.alt_frequency(population), a_may_lose, b_may_lose) for g in GENOTYPES)
        per_block[snp.ld_block] = min(p, per_block.get(snp.ld_block, 1.0))
    out = 1.0
    for p in per_block.values():
        out *= p
    return out


def expected_informative_genotypes(snps: Sequence[IdentitySnp], population: str) -> float:
    """Mean number of sites where a person is not homozygous for the reference allele."""
    return sum(1 - hwe(s.alt_frequency(population))["0/0"] for s in snps)
