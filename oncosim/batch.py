"""Synthetic inputs for tests, the demo and benchmarks: a manifest of samples arriving from many sites."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import random
from dataclasses import dataclass
from pathlib import Path

from oncopanel.sequence import reverse_complement

# Panel mix of a regional centre (share of requests); tumour-only panels dominate.
PANEL_MIX = (("EGFR_KRAS", 0.40), ("BRCA", 0.30), ("EXTENDED", 0.15), ("EGFR_KRAS,EXTENDED", 0.15))
MANIFEST_COLUMNS = ("sample_id", "site", "received_date", "panels", "priority", "due_date")


def synthetic_manifest_rows(
    n_samples: int, days: int, sites: int, seed: int = 7, urgent_fraction: float = 0.1,
    start: dt.date = dt.date(2026, 1, 5),
) -> list[dict[str, str]]:  # fmt: skip
    """Samples from `sites` sites of unequal size (weights 1/rank) arriving on weekdays over `days` days."""
    rng = random.Random(seed)
    site_names = [f"S{i + 1:02d}" for i in range(sites)]
    weights = [1 / (i + 1) for i in range(sites)]
    workdays = [start + dt.timedelta(days=d) for d in range(days) if (start + dt.timedelta(days=d)).weekday() < 5]
    panels, panel_weights = zip(*PANEL_MIX, strict=True)
    rows = []
    for n in range(n_samples):
        rows.append({
            "sample_id": f"P{n + 1:06d}",
            "site": rng.choices(site_names, weights)[0],
            "received_date": rng.choice(workdays).isoformat(),
            "panels": rng.choices(panels, panel_weights)[0],
            "priority": "urgent" if rng.random() < urgent_fraction else "routine",
            "due_date": "",
        })  # fmt: skip
    rows.sort(key=lambda r: (r["received_date"], r["sample_id"]))
    return rows


def write_manifest(rows: list[dict[str, str]], path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(MANIFEST_COLUMNS) + [c for c in rows[0] if c not in MANIFEST_COLUMNS] if rows else []
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, delimiter="\t", lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@dataclass
class PooledRun:
    """What a pooled FASTQ pair should demultiplex into: the records each sample must get back, exactly."""

    expected: dict[str, list[tuple[bytes, bytes]]]  # sample -> [(R1 record, R2 record)] as demux must write them
    hopped: int
    unknown: int
    corrected: dict[str, int]


def _mutate(seq: str, rng: random.Random) -> str:
    pos = rng.randrange(len(seq))
    return seq[:pos] + rng.choice([b for b in "ACGTN" if b != seq[pos]]) + seq[pos + 1 :]


def pool_reads(
    reads: dict[str, list[tuple[str, str, str, str]]], indexes: dict[str, tuple[str, str]], r1_out: Path | str,
    r2_out: Path | str, platform: str = "illumina", i5_orientation: str = "forward", error_rate: float = 0.05,
    hop_rate: float = 0.02, unknown_rate: float = 0.01, seed: int = 11,
) -> PooledRun:  # fmt: skip
    """Write a pooled, shuffled FASTQ pair (gzip) from each sample's reads [(seq1, qual1, seq2, qual2)].

    Index errors: with `error_rate` a read gets one substitution (A/C/G/T/N) in i7, in i5, or one in each.
    `hop_rate` of reads carry another sample's i5 (index hopping); `unknown_rate` carry a random barcode.
    i5 indexes are given forward strand and written as the instrument in `i5_orientation` would read them.
    """
    rng = random.Random(seed)
    names = sorted(reads)
    order = [(sid, n) for sid in names for n in range(len(reads[sid]))]
    rng.shuffle(order)
    expected: dict[str, list[tuple[bytes, bytes]]] = {sid: [] for sid in names}
    corrected = dict.fromkeys(names, 0)
    hopped = unknown = 0
    with gzip.open(r1_out, "wb", compresslevel=1) as out1, gzip.open(r2_out, "wb", compresslevel=1) as out2:
        for serial, (sid, n) in enumerate(order, start=1):
            seq1, qual1, seq2, qual2 = reads[sid][n]
            i7, i5 = indexes[sid]
            kind = rng.random()
            if kind < hop_rate and len(names) > 1:
                i5 = indexes[rng.choice([s for s in names if s != sid])][1]
                hopped += 1
            elif kind < hop_rate + unknown_rate:
                i7 = "".join(rng.choice("ACGT") for _ in i7)
                i5 = "".join(rng.choice("ACGT") for _ in i5)
                unknown += 1
            elif kind < hop_rate + unknown_rate + error_rate:
                which = rng.choice(("i7", "i5", "both"))
                i7 = _mutate(i7, rng) if which in ("i7", "both") else i7
                i5 = _mutate(i5, rng) if which in ("i5", "both") else i5
                corrected[sid] += 1
            read_i5 = reverse_complement(i5) if i5_orientation == "reverse_complement" else i5
            if platform == "mgi":
                name = f"V350000001L1C{1 + serial // 1_000_000:03d}R{serial % 1000:03d}{serial:07d}"
                rec1 = f"@{name}/1\n{seq1}\n+\n{qual1}\n"
                rec2 = f"@{name}/2\n{seq2}\n+\n{qual2}\n"
                raw2 = f"@{name}/2\n{seq2}{i7}{read_i5}\n+\n{qual2}{'F' * (len(i7) + len(i5))}\n"
            else:
                name = f"OPSIM:7:HPOOLAAXX:1:1101:{1000 + serial % 30000}:{serial}"
                rec1 = f"@{name} 1:N:0:{i7}+{read_i5}\n{seq1}\n+\n{qual1}\n"
                rec2 = raw2 = f"@{name} 2:N:0:{i7}+{read_i5}\n{seq2}\n+\n{qual2}\n"
            out1.write(rec1.encode())
            out2.write(raw2.encode())
            if kind >= hop_rate + unknown_rate or (kind < hop_rate and len(names) == 1):
                expected[sid].append((rec1.encode(), rec2.encode()))
    return PooledRun(expected, hopped, unknown, corrected)


def random_reads(n: int, length: int, rng: random.Random) -> list[tuple[str, str, str, str]]:
    """Read pairs of random bases and qualities (content does not matter to demultiplexing)."""
    return [
        ("".join(rng.choices("ACGT", k=length)), "".join(rng.choices("FFF:,", k=length)),
         "".join(rng.choices("ACGT", k=length)), "".join(rng.choices("FFF:,", k=length)))
        for _ in range(n)
    ]  # fmt: skip


def pool_fastqs(
    samples: list[tuple[str, Path | str, Path | str, str, str]], r1_out: Path | str, r2_out: Path | str,
    platform: str = "illumina", i5_orientation: str = "forward", error_rate: float = 0.02, hop_rate: float = 0.005,
    unknown_rate: float = 0.005, seed: int = 13,
) -> dict[str, int]:  # fmt: skip
    """Stream per-sample FASTQ pairs [(sample_id, r1, r2, i7, i5 forward strand)] into one pooled run, as an
    instrument would deliver undetermined reads (for the demo). Reads are interleaved at random without loading
    them; index errors, hops and unknown barcodes are added as in `pool_reads`. Illumina reads keep their name
    and gain the `1:N:0:i7+i5` comment; MGI reads are renamed DNBSEQ-style with the barcode on read 2's 3' end.
    Returns the read pairs each sample should get back (hopped and unknown reads excluded)."""
    rng = random.Random(seed)
    handles = {sid: (_open_text(r1), _open_text(r2)) for sid, r1, r2, _i7, _i5 in samples}
    indexes = {sid: (i7, i5) for sid, _r1, _r2, i7, i5 in samples}
    names = [s[0] for s in samples]
    expected = dict.fromkeys(names, 0)
    active = list(names)
    serial = 0
    with gzip.open(r1_out, "wt", compresslevel=1) as out1, gzip.open(r2_out, "wt", compresslevel=1) as out2:
        while active:
            sid = rng.choice(active)
            f1, f2 = handles[sid]
            rec1, rec2 = [f1.readline() for _ in range(4)], [f2.readline() for _ in range(4)]
            if not rec1[0] or not rec2[0]:
                active.remove(sid)
                continue
            serial += 1
            i7, i5 = indexes[sid]
            kind = rng.random()
            if kind < hop_rate and len(names) > 1:
                i5 = indexes[rng.choice([s for s in names if s != sid])][1]
            elif kind < hop_rate + unknown_rate:
                i7, i5 = "".join(rng.choices("ACGT", k=len(i7))), "".join(rng.choices("ACGT", k=len(i5)))
            else:
                expected[sid] += 1
                if kind < hop_rate + unknown_rate + error_rate:
                    i7 = _mutate(i7, rng)
            read_i5 = reverse_complement(i5) if i5_orientation == "reverse_complement" else i5
            if platform == "mgi":
                name = f"V350000001L1C{1 + serial // 1_000_000:03d}R{serial % 1000:03d}{serial:07d}"
                out1.write(f"@{name}/1\n{rec1[1]}+\n{rec1[3]}")
                out2.write(f"@{name}/2\n{rec2[1].rstrip()}{i7}{read_i5}\n+\n{rec2[3].rstrip()}{'F' * len(i7 + i5)}\n")
            else:
                name = rec1[0][1:].split()[0].removesuffix("/1")
                out1.write(f"@{name} 1:N:0:{i7}+{read_i5}\n{rec1[1]}+\n{rec1[3]}")
                out2.write(f"@{name} 2:N:0:{i7}+{read_i5}\n{rec2[1]}+\n{rec2[3]}")
    for f1, f2 in handles.values():
        f1.close()
        f2.close()
    return expected


def _open_text(path: Path | str):
    path = Path(path)
    return gzip.open(path, "rt") if path.suffix == ".gz" else path.open()
