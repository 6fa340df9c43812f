"""Batch panel of normals: alleles that the batch's blood/saliva samples carry under the somatic settings.

Built by rule calling_background from its counts of the normals at the batch's tumour candidate alleles
(oncopanel.calling.run.build_batch_background): no second freebayes pass over the normals (BENCHMARKS.md, calling
cost)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from oncopanel.calling.settings import FreebayesSettings, PonSettings


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


def carries(alt: int, depth: int, s: PonSettings, candidate: FreebayesSettings) -> bool:
    """Does a normal carry an allele it was counted at (oncopanel.counting fragments)? When it would be a candidate
    under the somatic freebayes settings (``candidate``: -C alt fragments and -F of the depth), which is what the
    PoN was once called with, and shows at least ``min_alt_reads`` alt fragments."""
    need = max(s.min_alt_reads, candidate.min_alternate_count)
    return depth > 0 and alt >= need and alt / depth >= candidate.min_alternate_fraction


def from_counts(batch: str, normals: Iterable[str], carriers: Mapping[str, int]) -> PanelOfNormals:
    """The batch's PoN from how many of its ``normals`` carry each allele (:func:`carries`), counted where rule
    calling_background counts the normals anyway: every candidate allele of the batch's tumours and the hotspot
    alleles. A tumour record's key is looked up as it is, so a normal is asked about the very allele the tumour
    shows, not about a freebayes record of its own that may spell the event differently."""
    return PanelOfNormals(batch, tuple(sorted(normals)), {k: n for k, n in carriers.items() if n})


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
