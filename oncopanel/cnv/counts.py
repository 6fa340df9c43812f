"""Per-exon read counts: from a BAM, or from the QC coverage step's per-target depth; the versioned store.

Counting rules are QC's: reads unmapped, secondary, supplementary, QC-failed or duplicate are not counted
(``oncopanel.sequence.UNUSABLE_READ_FLAGS``), nor reads below the MAPQ floor (``qc.min_mapping_quality``). The unit
is the fragment: a read pair overlapping a target counts once there, as the coverage step counts overlapping mates once.

The reference store holds earlier batches' count tables: ``<store>/<version>/counts.tsv``. Its version id is the
directory name with the SHA-256 of the table, so a result can name exactly which references it used.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from oncopanel.cnv.targets import ExonTarget
from oncopanel.errors import InputError
from oncopanel.sequence import usable
from oncopanel.store import store_version


@dataclass(frozen=True)
class CountTable:
    """Fragments per captured exon target: rows are samples, columns targets (``GENE_exonN``)."""

    samples: tuple[str, ...]
    targets: tuple[str, ...]
    counts: np.ndarray  # float, samples x targets
    version: str = ""  # the store version the table came from ("" = this batch)

    def __post_init__(self) -> None:
        if self.counts.shape != (len(self.samples), len(self.targets)):
            raise InputError(f"count table {self.version or 'batch'}: {self.counts.shape} does not match "
                             f"{len(self.samples)} samples x {len(self.targets)} targets")  # fmt: skip

    def column(self, targets: Iterable[str]) -> CountTable:
        """The same samples over ``targets`` (a target the table lacks is an input error naming it)."""
        index = {t: i for i, t in enumerate(self.targets)}
        wanted = list(targets)
        missing = [t for t in wanted if t not in index]
        if missing:
            raise InputError(f"count table {self.version or 'batch'}: no counts for {', '.join(missing[:5])}")
        return CountTable(self.samples, tuple(wanted), self.counts[:, [index[t] for t in wanted]], self.version)

    def stack(self, other: CountTable) -> CountTable:
        """Rows of both tables over this table's targets (a stored batch joins the current one)."""
        other = other.column(self.targets)
        return CountTable(self.samples + other.samples, self.targets, np.vstack([self.counts, other.counts]),
                          self.version or other.version)  # fmt: skip


def fragment_counts(
    bam_path: Path | str, targets: list[ExonTarget], min_mapping_quality: int, sample: str = ""
) -> dict[str, int]:
    """Fragments overlapping each captured target of ``targets`` in an indexed BAM."""
    import pysam

    out: dict[str, int] = {}
    try:
        bam = pysam.AlignmentFile(str(bam_path))
    except (OSError, ValueError) as exc:
        raise InputError(f"{sample or bam_path}: {bam_path}: cannot read BAM ({exc})") from None
    with bam:
        for t in targets:
            if not t.targeted:
                continue
            names = set()
            for read in bam.fetch(t.chrom, t.target_start0, t.target_end):
                if not usable(read, min_mapping_quality):
                    continue
                names.add(read.query_name)
            out[t.target] = len(names)
    return out


def mosdepth_counts(regions_bed_gz: Path | str, fragment_bases: float = 300.0) -> dict[str, float]:
    """Fragment-equivalents per target from the ``regions.bed.gz`` of QC's coverage step (oncopanel.coverage, in
    mosdepth's regions format, which it wrote before): mean depth x
    target length / bases per fragment (2 x read length). The scale only sets the binomial part of the noise;
    the beta-binomial's overdispersion is fitted on the same scale."""
    out: dict[str, float] = {}
    path = Path(regions_bed_gz)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        for n, line in enumerate(fh, start=1):
            f = line.rstrip("\n").split("\t")
            try:
                start0, end, name, mean = int(f[1]), int(f[2]), f[3], float(f[4])
            except (IndexError, ValueError):
                raise InputError(f"{path}:{n}: not a mosdepth regions row (chrom, start, end, name, mean)") from None
            out[name] = mean * (end - start0) / fragment_bases
    return out


def table_from_samples(per_sample: dict[str, dict[str, float]], targets: list[str]) -> CountTable:
    samples = tuple(per_sample)
    missing = [(s, t) for s in samples for t in targets if t not in per_sample[s]]
    if missing:
        s, t = missing[0]
        raise InputError(f"{s}: no count for target {t} ({len(missing)} sample/target pairs missing)")
    counts = np.array([[per_sample[s][t] for t in targets] for s in samples], dtype=float)
    return CountTable(samples, tuple(targets), counts)


def write_table(table: CountTable, path: Path | str) -> None:
    lines = ["#sample\t" + "\t".join(table.targets)]
    for s, row in zip(table.samples, table.counts, strict=True):
        lines.append(s + "\t" + "\t".join(f"{x:g}" for x in row))
    Path(path).write_text("\n".join(lines) + "\n")


def read_table(path: Path | str, version: str = "") -> CountTable:
    path = Path(path)
    try:
        lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    except OSError as exc:
        raise InputError(f"{path}: cannot read count table ({exc})") from None
    if not lines or not lines[0].startswith("#sample\t"):
        raise InputError(f"{path}: not a count table (first line must start with '#sample<TAB>')")
    targets = tuple(lines[0].split("\t")[1:])
    samples, rows = [], []
    for n, line in enumerate(lines[1:], start=2):
        f = line.split("\t")
        try:
            if len(f) != len(targets) + 1:
                raise ValueError(f"{len(f) - 1} counts for {len(targets)} targets")
            rows.append([float(x) for x in f[1:]])
        except ValueError as exc:
            raise InputError(f"{path}:{n}: sample {f[0]}: {exc}") from None
        samples.append(f[0])
    return CountTable(tuple(samples), targets, np.array(rows, dtype=float).reshape(len(samples), len(targets)),
                      version)  # fmt: skip


def add_to_store(store: Path | str, version: str, table: CountTable) -> str:
    """Write a batch's counts as a new store version (never over an existing one); returns its version id."""
    directory = Path(store) / version
    if directory.exists():
        raise InputError(f"{directory}: reference store version exists; versions are never overwritten")
    directory.mkdir(parents=True)
    write_table(table, directory / "counts.tsv")
    return store_version(directory)


def load_store(store: Path | str, version: str) -> CountTable:
    """One stored version's table, its id carrying the table's SHA-256."""
    directory = Path(store) / version
    if not (directory / "counts.tsv").is_file():
        raise InputError(f"{directory}: no counts.tsv in the reference store")
    return read_table(directory / "counts.tsv", version=store_version(directory))
