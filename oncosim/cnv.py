"""Count-level simulator of capture-panel exon counts for the copy-number benchmark (standalone, not clinical).

Uniform read simulation (ART over the reference) makes depth-based calling look perfect; capture data are not
uniform. Fragments over target t of sample s:

    count ~ Poisson( D · eff_t · gc_s(GC_t) · lib_s · noise_st · cn_st · (L_t + F) / (2·R) )

- ``eff_t``: capture efficiency of the target, log-normal with SD ``capture_sd`` (natural log), the SAME in every
  sample of a batch (it is the bait design). Hybrid-capture fold-80 base penalties of ~1.5-2 (Picard HsMetrics
  FOLD_80_BASE_PENALTY, as issue 17 cites for capture panels) correspond, for a log-normal depth, to
  SD = 0.40-0.64 (fold-80 = exp(0.8416·SD + SD²/2)); we take 0.5 (fold-80 1.76) between targets.
- ``gc_s``: per-sample GC bias, exp(b_s·(GC−0.45) + c_s·(GC−0.45)²): unimodal, sample-specific curves as described
  by Benjamini & Speed 2012 (Nucleic Acids Res 40:e72). Samples come in library-preparation groups sharing a
  curve (b ~ N(0, 1), c ~ N(−6, 3) per group) plus a per-sample part (SD ``gc_sample_sd`` of b): the magnitudes are
  our assumption, chosen so the best-correlated references still differ.
- ``lib_s``: library size, log-normal SD ``library_sd`` (0.3: pooled samples differ ~1.5-fold).
- ``noise_st``: overdispersion, gamma with CV ``noise_cv`` (0.06) per sample and target, beyond Poisson.
- ``cn_st``: copy ratio of an event (CN/2 germline; 1 + p·(CN−2)/2 for a tumour of content p).
- ``(L_t + F)/(2R)``: fragments overlapping a target of length L_t at base depth D (fragment F = 300, reads 2x150).

GC of each target comes from the shipped GRCh38 slices (oncopanel.reference.SliceSequence), as the engine reads it.
The engine's GC correction is a quadratic in GC, the same form as this model's bias: real GC curves are smooth
and unimodal but not exactly quadratic, so real residuals will be somewhat larger than simulated ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from oncopanel.cnv.counts import CountTable
from oncopanel.cnv.targets import ExonTarget, exon_targets, with_gc
from oncopanel.reference import SliceSequence

FRAGMENT, READ = 300, 150


@dataclass(frozen=True)
class SimParams:
    capture_sd: float = 0.5
    gc_group_slope_sd: float = 1.0
    gc_group_curvature: tuple[float, float] = (-6.0, 3.0)
    gc_sample_sd: float = 0.4
    library_groups: int = 3
    library_sd: float = 0.3
    noise_cv: float = 0.06


@dataclass(frozen=True)
class Event:
    """Copy number ``copy_number`` over MANE exons first..last of ``gene``; ``purity`` < 1 for a tumour."""

    gene: str
    first_exon: int
    last_exon: int
    copy_number: int
    purity: float = 1.0

    @property
    def ratio(self) -> float:
        return 1 + self.purity * (self.copy_number - 2) / 2

    def covers(self, t: ExonTarget) -> bool:
        return t.gene == self.gene and self.first_exon <= t.mane_exon <= self.last_exon


@dataclass
class Panel:
    """The captured targets of some genes with their length and GC (fixed per panel)."""

    exons: list[ExonTarget]
    captured: list[ExonTarget] = field(init=False)
    length: np.ndarray = field(init=False)
    gc: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.exons = with_gc(self.exons, SliceSequence())
        self.captured = [t for t in self.exons if t.targeted]
        self.length = np.array([t.target_end - t.target_start0 for t in self.captured], dtype=float)
        self.gc = np.array([t.gc for t in self.captured])


def panel(genes: list[str]) -> Panel:
    return Panel(exon_targets(genes))


def simulate_batch(
    rng: np.random.Generator,
    pan: Panel,
    n_samples: int,
    depth: float,
    events: dict[int, list[Event]] | None = None,
    params: SimParams = SimParams(),
    names: list[str] | None = None,
) -> CountTable:
    """Counts of one batch (one capture design: the targets' efficiencies are drawn once for the batch)."""
    events = events or {}
    n_t = len(pan.captured)
    eff = np.exp(rng.normal(0, params.capture_sd, n_t))
    eff /= eff.mean()
    g = pan.gc - 0.45
    group_b = rng.normal(0, params.gc_group_slope_sd, params.library_groups)
    group_c = rng.normal(*params.gc_group_curvature, params.library_groups)
    group = rng.integers(0, params.library_groups, n_samples)
    b = group_b[group] + rng.normal(0, params.gc_sample_sd, n_samples)
    c = group_c[group]
    gc_factor = np.exp(b[:, None] * g[None, :] + c[:, None] * g[None, :] ** 2)
    gc_factor /= gc_factor.mean(axis=1, keepdims=True)
    lib = np.exp(rng.normal(0, params.library_sd, n_samples))
    shape = 1 / params.noise_cv**2
    noise = rng.gamma(shape, 1 / shape, (n_samples, n_t))
    cn = np.ones((n_samples, n_t))
    for s, evs in events.items():
        for ev in evs:
            for j, t in enumerate(pan.captured):
                if ev.covers(t):
                    cn[s, j] = ev.ratio
    mean = depth * eff[None, :] * gc_factor * lib[:, None] * noise * cn * ((pan.length + FRAGMENT) / (2 * READ))
    counts = rng.poisson(mean).astype(float)
    names = names or [f"S{i:03d}" for i in range(n_samples)]
    return CountTable(tuple(names), tuple(t.target for t in pan.captured), counts)
