"""Read-level copy number in the simulator (oncosim.reads): a het deletion halves the fragments over it, an
amplification multiplies them by its ratio, and a capture profile gives each target the same efficiency in every
sample. Reads are assigned to their window by 25-mers of the reference (ART adds errors; two probes per read)."""

from __future__ import annotations

import gzip

import pytest

from oncopanel.reference import SliceSequence
from oncosim.reads import DEFAULT_REFERENCE, CaptureProfile, CopyNumberEvent, reverse_complement, simulate_sample

KRAS_EXON2 = ("chr12", 25245274 - 20, 25245395 + 20, "KRAS_exon2")
EGFR_EXON19 = ("chr7", 55174722 - 20, 55174820 + 20, "EGFR_exon19")
OVER_EGFR_EXON19 = ("chr7", 55170000, 55180000)

pytestmark = pytest.mark.skipif(not DEFAULT_REFERENCE.exists(), reason="panel-masked reference not built")


@pytest.fixture(scope="module")
def kmers() -> dict[str, set[str]]:
    seq = SliceSequence()
    out = {}
    for chrom, start0, end, name in (KRAS_EXON2, EGFR_EXON19):
        s = seq.fetch(chrom, start0 - 300, end + 300).upper()
        forward = {s[i : i + 25] for i in range(len(s) - 24)}
        out[name] = forward | {reverse_complement(k) for k in forward}
    return out


def reads_per_target(r1, kmers) -> dict[str, int]:
    with gzip.open(r1, "rt") as fh:
        reads = fh.read().splitlines()[1::4]
    counts = dict.fromkeys(kmers, 0)
    for read in reads:
        for name, ks in kmers.items():
            if read[:25] in ks or read[60:85] in ks:
                counts[name] += 1
                break
    return counts


def simulate(tmp_path, name, **kw):
    r1, _ = simulate_sample(tmp_path / name, [KRAS_EXON2, EGFR_EXON19], [], 400, 3, **kw)
    return r1


def test_het_deletion_halves_and_amplification_multiplies_the_fragments_over_the_event(tmp_path, kmers):
    plain = reads_per_target(simulate(tmp_path, "plain"), kmers)
    deleted = reads_per_target(simulate(tmp_path, "del", copy_number=[CopyNumberEvent(*OVER_EGFR_EXON19, 1)]), kmers)
    amplified = CopyNumberEvent(*OVER_EGFR_EXON19, 10, cell_fraction=0.5)
    assert amplified.ratio == 3.0
    amp = reads_per_target(simulate(tmp_path, "amp", copy_number=[amplified]), kmers)
    assert deleted["KRAS_exon2"] == plain["KRAS_exon2"] == amp["KRAS_exon2"]  # outside the event: untouched
    assert deleted["EGFR_exon19"] / plain["EGFR_exon19"] == pytest.approx(0.5, abs=0.06)
    assert amp["EGFR_exon19"] / plain["EGFR_exon19"] == pytest.approx(3.0, rel=0.1)


def test_capture_efficiency_is_the_designs_in_every_sample(tmp_path, kmers):
    design = CaptureProfile(17)
    eff = {t[3]: design.efficiency(t[3]) for t in (KRAS_EXON2, EGFR_EXON19)}
    assert eff == {t: CaptureProfile(17, gc_slope=0.5).efficiency(t) for t in eff}  # a sample's GC does not move it
    assert eff != {t: CaptureProfile(18).efficiency(t) for t in eff}
    plain = reads_per_target(simulate(tmp_path, "plain"), kmers)
    captured = reads_per_target(simulate(tmp_path, "captured", capture=design), kmers)
    for target, e in eff.items():
        assert captured[target] / plain[target] == pytest.approx(e, rel=0.12), target


def test_an_event_elsewhere_leaves_the_reads_byte_identical(tmp_path):
    plain = simulate(tmp_path, "plain")
    far = simulate(tmp_path, "far", copy_number=[CopyNumberEvent("chr17", 43_000_000, 43_100_000, 1)])
    near = simulate(tmp_path, "near", copy_number=[CopyNumberEvent(*OVER_EGFR_EXON19, 1)])
    assert far.read_bytes() == plain.read_bytes()
    assert near.read_bytes() != plain.read_bytes()
