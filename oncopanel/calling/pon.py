"""Batch panel of normals: sites that the batch's blood/saliva samples carry under the somatic settings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from oncopanel.calling.settings import PonSettings


@dataclass(frozen=True)
class PanelOfNormals:
    batch: str
    normals: tuple[str, ...]
    counts: dict[str, int] = field(default_factory=dict)  # variant key -> normals carrying it

    def applied(self, s: PonSettings) -> bool:
        return len(self.normals) >= s.min_normals

    def status(self, s: PonSettings) -> str:
        """The header line value: applied or not, with the reason."""
        n = len(self.normals)
        if self.applied(s):
            return f"applied (batch {self.batch}: {n} normals; site needs >= {s.min_normals_with_alt} of them)"
        return f"not_applied (batch {self.batch}: {n} normals; needs >= {s.min_normals})"

    def flags(self, key: str, s: PonSettings) -> bool:
        return self.applied(s) and self.counts.get(key, 0) >= s.min_normals_with_alt


def normal_sites(vcf_path: Path | str, min_alt_reads: int) -> set[str]:
    """Keys (chrom:pos:ref>alt) of a normal's split, normalised somatic-mode calls with enough alt reads."""
    import pysam

    keys = set()
    pysam.set_verbosity(0)  # no index needed for a full pass; silence htslib's notice
    with pysam.VariantFile(str(vcf_path)) as vf:
        for rec in vf:
            sample = rec.samples[0] if len(rec.samples) else None
            ad = sample.get("AD") if sample is not None else None
            alt_reads = ad[1] if ad and len(ad) > 1 and ad[1] is not None else 0
            for alt in rec.alts or ():
                if alt_reads >= min_alt_reads:
                    keys.add(f"{rec.chrom}:{rec.pos}:{rec.ref}>{alt}")
    return keys


def build(batch: str, normal_vcfs: dict[str, Path | str], s: PonSettings) -> PanelOfNormals:
    counts: Counter[str] = Counter()
    for vcf in normal_vcfs.values():
        counts.update(normal_sites(vcf, s.min_alt_reads))
    return PanelOfNormals(batch, tuple(sorted(normal_vcfs)), dict(counts))


def write(pon: PanelOfNormals, path: Path | str) -> None:
    lines = [f"#batch={pon.batch}", f"#normals={','.join(pon.normals)}", "key\tn_normals"]
    lines += [f"{k}\t{n}" for k, n in sorted(pon.counts.items())]
    Path(path).write_text("\n".join(lines) + "\n")


def read(path: Path | str) -> PanelOfNormals:
    batch, normals, counts = "", (), {}
    for line in Path(path).read_text().splitlines():
        if line.startswith("#batch="):
            batch = line[len("#batch=") :]
        elif line.startswith("#normals="):
            normals = tuple(x for x in line[len("#normals=") :].split(",") if x)
        elif line and not line.startswith(("#", "key\t")):
            key, n = line.split("\t")
            counts[key] = int(n)
    return PanelOfNormals(batch, normals, counts)


def empty(batch: str) -> PanelOfNormals:
    return PanelOfNormals(batch, ())
