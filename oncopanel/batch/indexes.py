"""Index assignment for a pooled run, with the run's Illumina sample sheet (v2, BCL Convert) and samples.tsv.

Each sample gets a unique dual index pair from a kit kept as data (annotation/index_kits/*.tsv, i5 in
forward-strand orientation). A run is refused, with the reasons, when its indexes could be confused or the
instrument could not read them:
- distance: within a run every i7 must differ from every other i7, and every i5 from every other i5, at
  >= `min_distance` positions (Hamming; 3 by default, so one sequencing error per index never lands on
  another sample's index, and a hopped i7/i5 pair is recognisable as such);
- colour balance: two-colour chemistry (NextSeq, NovaSeq, MiniSeq) images A in both channels, C in red, T in
  green and G in neither: an index cycle where every index has G is dark and cannot be read, so it is refused;
  a cycle lit in only one channel is a warning. Four-colour chemistry (MiSeq, DNBSEQ) needs each cycle to have
  a red-laser base (A/C) and a green-laser base (G/T); a cycle without either is refused.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from oncopanel.errors import ValidationError
from oncopanel.sequence import reverse_complement

_MAX_LISTED = 20  # conflicting kit pairs listed when a run is refused
# Channels per base: two-colour (red, green); four-colour lasers (red: A/C, green: G/T).
_TWO_COLOUR = {"A": (True, True), "C": (True, False), "T": (False, True), "G": (False, False)}
_FOUR_COLOUR = {"A": (True, False), "C": (True, False), "G": (False, True), "T": (False, True)}


@dataclass(frozen=True)
class IndexPair:
    pair_id: str
    i7: str
    i5: str  # forward-strand orientation


def hamming(a: str, b: str) -> int:
    """Positions that differ; a length difference counts as that many mismatches."""
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b))


def load_kit(path: Path | str) -> list[IndexPair]:
    """Read an index kit TSV (pair_id, i7, i5; `#` comment lines); every problem listed at once."""
    path = Path(path)
    if not path.exists():
        raise ValidationError([f"{path}: index kit not found"])
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t")
    missing = [c for c in ("pair_id", "i7", "i5") if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError([f"{path}: header: missing column(s): {', '.join(missing)}"])
    pairs, problems, seen = [], [], set()
    for n, row in enumerate(reader, start=2):
        pair = IndexPair(row["pair_id"].strip(), row["i7"].strip().upper(), row["i5"].strip().upper())
        for column in ("i7", "i5"):
            seq = getattr(pair, column)
            if not seq or set(seq) - set("ACGT"):
                problems.append(f"{path}: data row {n - 1} ({pair.pair_id}): column {column}: '{seq}' is not ACGT")
        if pair.pair_id in seen:
            problems.append(f"{path}: data row {n - 1}: duplicate pair_id '{pair.pair_id}'")
        seen.add(pair.pair_id)
        pairs.append(pair)
    if problems:
        raise ValidationError(problems)
    return pairs


def distance_problems(pairs: Sequence[IndexPair], min_distance: int = 3) -> list[str]:
    """Every two pairs whose i7s or i5s are closer than `min_distance`, with why that is unsafe."""
    problems = []
    for n, a in enumerate(pairs):
        for b in pairs[n + 1 :]:
            for read in ("i7", "i5"):
                d = hamming(getattr(a, read), getattr(b, read))
                if d < min_distance:
                    problems.append(
                        f"{read} of {a.pair_id} ({getattr(a, read)}) and {b.pair_id} ({getattr(b, read)}) are at "
                        f"Hamming distance {d} < {min_distance}: "
                        + ("identical indexes cannot be told apart" if d == 0 else
                           f"{(d + 1) // 2} sequencing error(s) could move a read from one sample to the other")
                    )  # fmt: skip
    return problems


def _as_read(pair: IndexPair, read: str, i5_orientation: str) -> str:
    """An index as the instrument reads it, cycle by cycle."""
    if read == "i5" and i5_orientation == "reverse_complement":
        return reverse_complement(pair.i5)
    return getattr(pair, read)


def colour_balance(
    pairs: Sequence[IndexPair], chemistry: str = "two_colour", i5_orientation: str = "forward"
) -> tuple[list[str], list[str]]:
    """(problems that refuse the run, warnings) for each index cycle of i7 and i5, with i5 in the orientation
    the instrument reads it (the complement swaps channels: A<->T, C<->G)."""
    channels = _TWO_COLOUR if chemistry == "two_colour" else _FOUR_COLOUR
    problems: list[str] = []
    warnings: list[str] = []
    for read in ("i7", "i5"):
        seqs = [_as_read(p, read, i5_orientation) for p in pairs]
        for cycle in range(max((len(s) for s in seqs), default=0)):
            bases = {s[cycle] for s in seqs if cycle < len(s)}
            red = any(channels[b][0] for b in bases)
            green = any(channels[b][1] for b in bases)
            where = f"{read} cycle {cycle + 1} (bases {''.join(sorted(bases))})"
            if chemistry == "two_colour" and not (red or green):
                problems.append(f"{where}: every index has G, which is dark in two-colour chemistry")
            elif chemistry == "two_colour" and not (red and green):
                warnings.append(f"{where}: signal in the {'red' if red else 'green'} channel only")
            elif chemistry != "two_colour" and not (red and green):
                problems.append(f"{where}: no base for the {'green (G/T)' if red else 'red (A/C)'} laser")
    return problems, warnings


def _lit_slots(pair: IndexPair, chemistry: str, i5_orientation: str) -> set[tuple[str, int, int]]:
    """(read, cycle, channel) slots this pair lights: what the greedy choice tries to cover."""
    channels = _TWO_COLOUR if chemistry == "two_colour" else _FOUR_COLOUR
    return {
        (read, cycle, ch)
        for read in ("i7", "i5")
        for cycle, base in enumerate(_as_read(pair, read, i5_orientation))
        for ch in (0, 1)
        if channels[base][ch]
    }


def check_index_set(
    pairs: Sequence[IndexPair], min_distance: int = 3, chemistry: str = "two_colour", i5_orientation: str = "forward"
) -> list[str]:
    """Raise ValidationError if the set is unsafe for one run; return the colour-balance warnings."""
    problems = distance_problems(pairs, min_distance)
    balance_problems, warnings = colour_balance(pairs, chemistry, i5_orientation)
    problems += balance_problems
    if problems:
        raise ValidationError([f"index set refused: {p}" for p in problems])
    return warnings


def assign_indexes(
    sample_ids: Sequence[str], kit: Sequence[IndexPair], min_distance: int = 3, chemistry: str = "two_colour",
    kit_name: str = "kit", i5_orientation: str = "forward",
) -> dict[str, IndexPair]:  # fmt: skip
    """A unique dual index pair per sample: greedy over the kit, keeping pairs at least `min_distance` from all
    chosen ones and preferring pairs that light more (cycle, channel) slots, with i5 as the instrument reads it
    (`i5_orientation`). Refuses, saying why, when the kit cannot index the run safely."""
    if len(sample_ids) > len(kit):
        raise ValidationError([f"run has {len(sample_ids)} samples but {kit_name} has only {len(kit)} index pairs"])
    chosen: list[IndexPair] = []
    remaining = list(kit)
    order = {p.pair_id: n for n, p in enumerate(kit)}
    lit: set[tuple[str, int, int]] = set()
    while len(chosen) < len(sample_ids):
        # Pairs too close to the latest choice drop out; the rest stay compatible with every earlier one.
        remaining = [p for p in remaining if not chosen or not _conflicts(p, chosen[-1:], min_distance)]
        compatible = remaining
        if not compatible:
            conflicts = [f"{kit_name}: {c}" for c in distance_problems(list(kit), min_distance)]
            if len(conflicts) > _MAX_LISTED:
                conflicts = [*conflicts[:_MAX_LISTED], f"{kit_name}: ... and {len(conflicts) - _MAX_LISTED} more"]
            raise ValidationError(
                [f"run has {len(sample_ids)} samples but only {len(chosen)} pairs of {kit_name} are mutually at "
                 f"Hamming distance >= {min_distance}", *conflicts]
            )  # fmt: skip
        best = max(compatible, key=lambda p: (len(_lit_slots(p, chemistry, i5_orientation) - lit), -order[p.pair_id]))
        chosen.append(best)
        remaining = [p for p in remaining if p is not best]
        lit |= _lit_slots(best, chemistry, i5_orientation)
    problems, _warnings = colour_balance(chosen, chemistry, i5_orientation)
    if problems:
        raise ValidationError([f"run cannot be indexed with {kit_name}: {p}" for p in problems])
    return dict(zip(sample_ids, chosen, strict=True))


def _conflicts(pair: IndexPair, chosen: Iterable[IndexPair], min_distance: int) -> bool:
    return any(hamming(pair.i7, c.i7) < min_distance or hamming(pair.i5, c.i5) < min_distance for c in chosen)


# BCLConvert_Settings.SoftwareVersion, required by Illumina's v2 schema: the BCL Convert release the sheet is
# written for. Every setting written here (BarcodeMismatchesIndex1/2, OverrideCycles) exists since BCL Convert 3.7;
# a centre whose instrument or server runs another release names it (`assign-indexes --bcl-convert-version`).
BCL_CONVERT_VERSION = "4.2.7"


def sample_sheet_index2(i5: str, i5_orientation: str, orientation_from_runinfo: bool = False) -> str:
    """Index2 as the sample sheet must carry it, from the kit's forward-strand i5.

    - forward-strand instruments (MiSeq, NovaSeq 6000 v1.0 reagents): read i5 forward; the sheet carries it forward.
    - reverse-complement instruments whose software takes the sheet as is (NextSeq 500/550, MiniSeq, NovaSeq 6000
      v1.5 reagents): read the reverse complement; the sheet carries i5 as read, reverse-complemented.
    - instruments whose RunInfo.xml marks Index2 IsReverseComplement (NovaSeq X, NextSeq 1000/2000): BCL Convert
      reverse-complements Index2 itself, so the sheet carries the forward i5 (reverse-complementing it here too
      would undo that and match nothing).
    `i5_orientation` is how the instrument reads i5: the lab config's i5_read_orientation and `pooled_runs`'
    i5_orientation, with which the demultiplexer (oncopanel/batch/demux.py) reverse-complements the kit's i5 the
    same way before matching the indexes in the read names."""
    if i5_orientation not in ("forward", "reverse_complement"):
        raise ValueError(f"i5_orientation must be forward or reverse_complement, not {i5_orientation!r}")
    return i5 if orientation_from_runinfo else _as_read(IndexPair("", "", i5), "i5", i5_orientation)


def write_bclconvert_sample_sheet(
    path: Path | str, run_id: str, assignments: Mapping[str, IndexPair], i5_orientation: str = "forward",
    read_cycles: tuple[int, int] = (151, 151), barcode_mismatches: int = 1, lane: str | None = None,
    orientation_from_runinfo: bool = False, software_version: str = BCL_CONVERT_VERSION,
) -> Path:  # fmt: skip
    """Illumina sample sheet v2 for BCL Convert (accepted by Illumina's v2 schema and logic as samshee checks
    them). Index2 per `sample_sheet_index2`; the header says which orientation the sheet carries: `IndexOrientation,
    Forward` when Index2 is the forward i5, and a RunDescription when it is reverse-complemented (the v2 format
    has no other value for IndexOrientation)."""
    path = Path(path)
    i7_len = max(len(p.i7) for p in assignments.values())
    i5_len = max(len(p.i5) for p in assignments.values())
    forward_in_sheet = orientation_from_runinfo or i5_orientation == "forward"
    orientation = (["IndexOrientation,Forward"] if forward_in_sheet else
                   ["RunDescription,Index2 is the reverse complement of the kit i5 (read as on a reverse-complement "
                    "instrument without RunInfo orientation)"])  # fmt: skip
    lines = [
        "[Header]", "FileFormatVersion,2", f"RunName,{run_id}", *orientation, "",
        "[Reads]", f"Read1Cycles,{read_cycles[0]}", f"Read2Cycles,{read_cycles[1]}",
        f"Index1Cycles,{i7_len}", f"Index2Cycles,{i5_len}", "",
        "[BCLConvert_Settings]", f"SoftwareVersion,{software_version}",
        f"BarcodeMismatchesIndex1,{barcode_mismatches}", f"BarcodeMismatchesIndex2,{barcode_mismatches}",
        f"OverrideCycles,Y{read_cycles[0]};I{i7_len};I{i5_len};Y{read_cycles[1]}", "",
        "[BCLConvert_Data]", ("Lane," if lane else "") + "Sample_ID,Index,Index2",
    ]  # fmt: skip
    for sid, pair in assignments.items():
        i5 = sample_sheet_index2(pair.i5, i5_orientation, orientation_from_runinfo)
        lines.append((f"{lane}," if lane else "") + f"{sid},{pair.i7},{i5}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
