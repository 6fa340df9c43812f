"""Genotypes of the identity SNPs from a BAM: fragment counts of each allele, then 0/0, 0/1, 1/1 or no-call.

Reads marked duplicate, secondary, supplementary, QC-failed or below the MAPQ floor are skipped, and bases below
the base-quality floor. Overlapping mates are one fragment: counted once, and dropped if they disagree.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pysam

from oncopanel.errors import InputError
from oncopanel.sample_identity.criteria import GenotypingSettings, default_criteria
from oncopanel.sample_identity.snps import IdentitySnp
from oncopanel.sequence import aligned_query_positions, usable

NO_CALL = "./."


@dataclass(frozen=True)
class SiteGenotype:
    snp: IdentitySnp
    ref_count: int
    alt_count: int
    other_count: int  # a third base: error, or the site is not biallelic in this person
    genotype: str  # 0/0, 0/1, 1/1 or ./.

    @property
    def depth(self) -> int:
        return self.ref_count + self.alt_count

    @property
    def alt_fraction(self) -> float | None:
        return self.alt_count / self.depth if self.depth else None

    @property
    def called(self) -> bool:
        return self.genotype != NO_CALL


def call_genotype(ref_count: int, alt_count: int, settings: GenotypingSettings) -> str:
    depth = ref_count + alt_count
    if depth < settings.min_depth:
        return NO_CALL
    fraction = alt_count / depth
    if fraction < settings.het_min_alt_fraction:
        return "0/0"
    if fraction > settings.het_max_alt_fraction:
        return "1/1"
    return "0/1"


def count_alleles(bam: pysam.AlignmentFile, snp: IdentitySnp, settings: GenotypingSettings) -> tuple[int, int, int]:
    """(ref, alt, other) fragment counts at one SNP."""
    bases: dict[str, str | None] = {}
    pos0 = snp.pos - 1
    for read in bam.fetch(snp.chrom, pos0, snp.pos):
        if not usable(read, settings.min_mapping_quality):
            continue
        (qpos,) = aligned_query_positions(read, pos0)
        if qpos is None or read.query_qualities[qpos] < settings.min_base_quality:
            continue  # a deletion or skip here, or a base too poor to read
        base = read.query_sequence[qpos].upper()
        name = read.query_name
        if name in bases and bases[name] != base:
            bases[name] = None  # mates disagree: neither is trusted
        else:
            bases.setdefault(name, base)
    seen = [b for b in bases.values() if b is not None]
    ref = sum(b == snp.ref for b in seen)
    alt = sum(b == snp.alt for b in seen)
    return ref, alt, len(seen) - ref - alt


def genotype_identity_snps(
    bam: Path | str, snps: Sequence[IdentitySnp], settings: GenotypingSettings | None = None
) -> list[SiteGenotype]:
    """Genotype every SNP (no-call where coverage is short, e.g. outside this sample's panel)."""
    settings = settings or default_criteria().genotyping
    out = []
    with pysam.AlignmentFile(str(bam), "rb") as handle:
        if not handle.has_index():
            raise InputError(f"{bam}: BAM index not found; identity SNPs cannot be genotyped")
        contigs = set(handle.references)
        for snp in snps:
            ref, alt, other = count_alleles(handle, snp, settings) if snp.chrom in contigs else (0, 0, 0)
            out.append(SiteGenotype(snp, ref, alt, other, call_genotype(ref, alt, settings)))
    return out


def genotypes_to_json(sample_id: str, genotypes: Sequence[SiteGenotype], snp_set_version: str) -> dict:
    sites = []
    for g in genotypes:
        s = g.snp
        sites.append({"rsid": s.rsid, "gene": s.gene, "chrom": s.chrom, "pos": s.pos, "ref": s.ref, "alt": s.alt,
                      "ref_count": g.ref_count, "alt_count": g.alt_count, "other_count": g.other_count,
                      "genotype": g.genotype})  # fmt: skip
    return {"sample_id": sample_id, "snp_set_version": snp_set_version, "sites": sites}


def write_genotypes(path: Path | str, sample_id: str, genotypes: Sequence[SiteGenotype], snp_set_version: str,
                    extra: dict | None = None) -> Path:  # fmt: skip
    """Per-sample identity file (JSON), written to a temporary name and renamed when complete."""
    path = Path(path)
    doc = genotypes_to_json(sample_id, genotypes, snp_set_version)
    if extra:
        doc.update(extra)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def read_genotypes(path: Path | str, snps: Sequence[IdentitySnp]) -> tuple[str, list[SiteGenotype]]:
    """(sample_id, genotypes) from a per-sample identity file; sites are re-bound to the SNP records by rsID."""
    doc = json.loads(Path(path).read_text())
    by_id = {s.rsid: s for s in snps}
    out = []
    for site in doc["sites"]:
        snp = by_id.get(site["rsid"])
        if snp is None or (snp.chrom, snp.pos, snp.ref, snp.alt) != (site["chrom"], site["pos"], site["ref"],
                                                                      site["alt"]):  # fmt: skip
            raise InputError(f"{path}: site {site['rsid']} is not in the current identity SNP set")
        out.append(SiteGenotype(snp, site["ref_count"], site["alt_count"], site["other_count"], site["genotype"]))
    return doc["sample_id"], out
