"""Exon copy number in germline samples against references from the batch (the DECoN / ExomeDepth family).

For a test sample, references are the batch's other germline samples (and optionally a stored batch) whose exon
count profiles correlate best with it, as many of the ranked ones as keep the test's ratio spread near its least
(``references_to_use``: a poorly matched reference is not summed in). A reference's CNV is kept out of the
reference: a first pass calls every sample against all others; in the second pass, which gives the result, each
reference's called exons are masked (replaced by the other references' expectation) rather than the whole sample
dropped, so a small batch keeps its
references. Stored batches are expected to hold call-free samples only. At each captured exon the
test sample's share of the fragments, x / (x + y) with y the references' summed count, follows a beta-binomial
whose mean is p(r) = r·b·p0 / (r·b·p0 + 1 − p0): p0 is the sample's copy-neutral share (median over its exons),
b the sample's GC trend against its references at the exon (a quadratic in target GC, fitted to its
copy-neutral-looking exons, as CNVkit corrects GC; 1 when GC is not given) and r the copy ratio of the state (0.03
for a homozygous deletion, 0.5, 1, 1.5). The overdispersion is fitted per sample
by maximum likelihood over its copy-neutral-looking exons. A four-state HMM over the gene's consecutive assessable
exons (Viterbi) gives the segments; a segment is called when its quality — 10·log10 of the likelihood ratio of the
called state vs copy-neutral over its exons — reaches ``calls.min_quality``.

Not assessable (every exon of the sample): fewer usable references than ``min_references``, their mean correlation
below ``mean_min_correlation``, or the sample's exon ratios spread more than ``max_ratio_sd``. Per exon: not
captured, a pseudogene copy on a full GRCh38, references' mean count below ``min_reference_count`` or their
leave-one-out spread above ``max_reference_sd``. Tumour samples: not tested (purity and LOH confound it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import optimize, special

from oncopanel.cnv.counts import CountTable
from oncopanel.cnv.naming import classify, exon_range_name, exons_in_words
from oncopanel.cnv.records import DUPLICATION_NOT_EXCLUDED, CnvCall, ExonCopyNumber
from oncopanel.cnv.settings import STATE_COPY_NUMBER, CnvSettings
from oncopanel.cnv.targets import ExonTarget

STATES = ("hom_deletion", "het_deletion", "normal", "duplication")
NORMAL = STATES.index("normal")
DUPLICATION = STATES.index("duplication")
DELETIONS = [STATES.index("hom_deletion"), STATES.index("het_deletion")]
PHRED = 10 / math.log(10)
TUMOUR = "tumour sample: BRCA exon copy number not tested (purity and loss of heterozygosity confound it)"
STATUS_OF = {"hom_deletion": "deletion", "het_deletion": "deletion", "duplication": "duplication"}


@dataclass
class SampleCnv:
    sample: str
    status: str  # assessed | not_assessable | not_tested
    reason: str
    rows: list[ExonCopyNumber]
    calls: list[CnvCall] = field(default_factory=list)
    references: tuple[str, ...] = ()
    mean_correlation: float | None = None
    ratio_sd: float | None = None
    reference_version: str = ""

    def header(self) -> dict[str, str]:
        return {
            "sample": self.sample, "status": self.status, "reason": self.reason,
            "references": ",".join(self.references), "reference_version": self.reference_version or "this batch",
            "mean_reference_correlation": "." if self.mean_correlation is None else f"{self.mean_correlation:.4f}",
            "ratio_sd": "." if self.ratio_sd is None else f"{self.ratio_sd:.4f}",
        }  # fmt: skip


# ---------------------------------------------------------------- the statistics (pure functions on arrays)


def log_profiles(counts: np.ndarray) -> np.ndarray:
    """log of each sample's counts over its total (a floor of 0.5 fragment keeps empty exons finite)."""
    c = np.maximum(counts, 0.5)
    return np.log(c / c.sum(axis=1, keepdims=True))


def correlations(profiles: np.ndarray, test: int) -> np.ndarray:
    """Pearson correlation of every sample's log profile with the test sample's."""
    z = profiles - profiles.mean(axis=1, keepdims=True)
    norm = np.sqrt((z**2).sum(axis=1))
    return (z @ z[test]) / np.maximum(norm * norm[test], 1e-12)


def share_mean(p0: float, ratio: float | np.ndarray) -> np.ndarray:
    """The test share of an exon's fragments at copy ratio ``ratio`` when the copy-neutral share is ``p0``."""
    return ratio * p0 / (ratio * p0 + 1 - p0)


def ratio_of_share(share: np.ndarray, p0: float) -> np.ndarray:
    """The copy ratio a share implies (inverse of ``share_mean``)."""
    share = np.clip(share, 1e-9, 1 - 1e-9)
    return share * (1 - p0) / ((1 - share) * p0)


def betabinom_logpmf(x: np.ndarray, n: np.ndarray, p: np.ndarray | float, rho: float) -> np.ndarray:
    """Beta-binomial log pmf with mean share p and intra-class correlation rho (counts may be non-integer)."""
    scale = (1 - rho) / rho
    a, b = p * scale, (1 - p) * scale
    return (special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
            + special.betaln(x + a, n - x + b) - special.betaln(a, b))  # fmt: skip


def fit_rho(x: np.ndarray, n: np.ndarray, p0: float | np.ndarray) -> float:
    """Maximum-likelihood overdispersion over the exons given (their copy-neutral share is p0)."""

    def nll(log_rho: float) -> float:
        return -float(betabinom_logpmf(x, n, p0, math.exp(log_rho)).sum())

    res = optimize.minimize_scalar(nll, bounds=(math.log(1e-7), math.log(0.3)), method="bounded")
    return math.exp(res.x)


def gc_baseline(log_ratio: np.ndarray, gc: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The sample's GC trend against its references: a quadratic in target GC fitted to the copy-neutral-looking
    exons' log ratios (|log ratio| < 0.3), as a ratio per exon (1 where GC is unknown or too few exons)."""
    use = keep & ~np.isnan(gc) & (np.abs(log_ratio) < 0.3)
    if use.sum() < 10:
        return np.ones(len(gc))
    coef = np.polyfit(gc[use] - 0.45, log_ratio[use], 2)
    trend = np.polyval(coef, np.nan_to_num(gc, nan=0.45) - 0.45)
    return np.where(np.isnan(gc), 1.0, np.exp(trend))


def robust_sd(values: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(values - np.median(values)))) if len(values) else float("nan")


def viterbi(loglik: np.ndarray, start_p: float, continue_p: float) -> tuple[np.ndarray, float]:
    """Likeliest state path over consecutive exons (rows of ``loglik``, columns = STATES) and its log score."""
    k = len(STATES)
    trans = np.full((k, k), start_p)
    trans[NORMAL, NORMAL] = 1 - (k - 1) * start_p
    for s in range(k):
        if s != NORMAL:
            trans[s, s] = continue_p
            trans[s, NORMAL] = 1 - continue_p - (k - 2) * start_p
    log_t = np.log(trans)
    init = np.log(trans[NORMAL])
    score = init + loglik[0]
    back = np.zeros(loglik.shape, dtype=int)
    for i in range(1, len(loglik)):
        cand = score[:, None] + log_t
        back[i] = cand.argmax(axis=0)
        score = cand.max(axis=0) + loglik[i]
    path = np.empty(len(loglik), dtype=int)
    path[-1] = int(score.argmax())
    for i in range(len(loglik) - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path, float(score.max())


# ---------------------------------------------------------------- one sample


def _empty_rows(sample: str, exons: list[ExonTarget], counts: dict[str, float], reason_of) -> list[ExonCopyNumber]:
    return [
        ExonCopyNumber(sample, t.gene, t.key, t.mane_exon, t.legacy_exon, t.chrom, t.start, t.end,
                       counts.get(t.target), None, None, None, "not_assessable", reason_of(t))
        for t in exons
    ]  # fmt: skip


def exon_reasons(exons: list[ExonTarget], ref: np.ndarray, cfg: CnvSettings, full_reference: bool) -> list[str]:
    """Why each captured exon cannot be assessed against these references ('' when it can). ``ref`` = the
    references' counts (references x captured exons, in the order of ``exons`` that are captured)."""
    g = cfg.germline
    spread = np.zeros(ref.shape[1])
    if len(ref) >= 3:
        prof = ref / ref.sum(axis=1, keepdims=True)
        others = (prof.sum(axis=0) - prof) / (len(ref) - 1)  # each reference against the mean of the others
        rel = np.log(np.maximum(prof, 1e-9) / np.maximum(others, 1e-9))
        centred = rel - np.median(rel, axis=1, keepdims=True)
        # robust (MAD) spread: a minority of references carrying one event (a founder deletion recurring in the
        # batch) must not make the exon unassessable before the first pass has found and masked them
        spread = 1.4826 * np.median(np.abs(centred - np.median(centred, axis=0)), axis=0)
    reasons, j = [], 0
    for t in exons:
        if not t.targeted:
            reasons.append("exon not captured by the panel (no coding sequence)")
            continue
        col = j
        j += 1
        pseudo = g.pseudogene_exons.get(t.gene, {}).get(t.mane_exon)
        if pseudo and full_reference:
            reasons.append(f"pseudogene {pseudo}: reads mis-map on a full GRCh38")
            continue
        if ref[:, col].mean() < g.min_reference_count:
            reasons.append(f"coverage too low (references average {ref[:, col].mean():.0f} fragments)")
            continue
        if spread[col] > g.max_reference_sd:
            reasons.append(f"coverage variable between references (SD {spread[col]:.2f})")
            continue
        reasons.append("")
    return reasons


def call_sample(
    sample: str,
    x_all: dict[str, float],
    exons: list[ExonTarget],
    ref_counts: np.ndarray,
    ref_names: tuple[str, ...],
    mean_corr: float | None,
    cfg: CnvSettings,
    full_reference: bool,
    reference_version: str = "",
    why_not: str = "",
) -> SampleCnv:
    """Copy number of one germline sample's exons against ``ref_counts`` (references x captured exons)."""
    g = cfg.germline
    captured = [t for t in exons if t.targeted]
    if why_not:
        rows = _empty_rows(sample, exons, x_all, lambda t: why_not)
        return SampleCnv(sample, "not_assessable", why_not, rows, [], ref_names, mean_corr, None, reference_version)
    reasons = exon_reasons(exons, ref_counts, cfg, full_reference)
    captured_reasons = [r for t, r in zip(exons, reasons, strict=True) if t.targeted]
    ok = np.array([r == "" for r in captured_reasons])
    x = np.array([x_all[t.target] for t in captured], dtype=float)
    y = ref_counts.sum(axis=0)
    n = x + y
    share = x / np.maximum(n, 1e-9)
    gc = np.array([np.nan if t.gc is None else t.gc for t in captured])
    if ok.sum() < 3:
        whole = "too few assessable exons to normalise against"
        rows = _empty_rows(sample, exons, x_all, lambda t: whole)
        return SampleCnv(sample, "not_assessable", whole, rows, [], ref_names, mean_corr, None, reference_version)

    genes = [t.gene for t in captured]
    called = np.zeros(len(x), dtype=bool)
    for _ in range(3):  # refit without the exons the last pass called
        keep = ok & ~called
        # which exons are copy-neutral: all of them, or one gene's (a whole-gene event on a two-gene panel moves
        # the median); the likeliest segmentation decides
        groups = {"": keep} | {gn: keep & (np.array(genes) == gn) for gn in dict.fromkeys(genes)}
        fits = [(_fit(x, n, share, gc, ok, grp, genes, cfg), gn) for gn, grp in groups.items() if grp.sum() >= 3]
        (ratio, loglik, states, _score), neutral_gene = max(fits, key=lambda f: f[0][3])
        called = states != NORMAL
    sd = robust_sd(np.log(np.maximum(ratio[ok & ~called], 1e-3)))
    if not sd <= g.max_ratio_sd:
        whole = f"coverage too uneven against the references (ratio SD {sd:.2f} > {g.max_ratio_sd})"
        rows = _empty_rows(sample, exons, x_all, lambda t: whole)
        return SampleCnv(sample, "not_assessable", whole, rows, [], ref_names, mean_corr, sd, reference_version)

    calls, called_quality = _segments(sample, captured, ok, states, loglik, ratio, cfg, len(ref_names),
                                      reference_version)  # fmt: skip
    calls = [_note_unassessed_neighbours(c, exons, reasons) for c in calls]
    if neutral_gene:  # normalised to one gene: a whole-gene change elsewhere could be read in either gene
        note = (f"; copy-neutral level taken from {neutral_gene} alone (a whole-gene change on this panel): which "
                "gene changed rests on that choice")  # fmt: skip
        calls = [c if c.gene == neutral_gene else replace(c, description=c.description + note) for c in calls]
    rows = []
    j = 0
    for t, reason in zip(exons, reasons, strict=True):
        if not t.targeted or reason:
            rows.append(ExonCopyNumber(sample, t.gene, t.key, t.mane_exon, t.legacy_exon, t.chrom, t.start, t.end,
                                       x_all.get(t.target), None if not t.targeted else float(ratio[j]),
                                       None, None, "not_assessable", reason))  # fmt: skip
            j += t.targeted
            continue
        st = STATES[states[j]]
        q_normal = PHRED * float(loglik[j, NORMAL] - loglik[j, DELETIONS].max())
        if j in called_quality:
            status, q, why = STATUS_OF[st], called_quality[j], ""
        elif st != "normal":
            status, q, why = "not_assessable", q_normal, "equivocal: an event below the call quality"
        elif q_normal < g.min_normal_quality:
            status, q, why = "not_assessable", q_normal, "count cannot exclude a deletion"
        elif PHRED * float(loglik[j, DUPLICATION] - loglik[j, NORMAL]) >= g.min_quality:
            status, q, why = "not_assessable", q_normal, "equivocal: duplication evidence outside a call"
        else:
            # "normal" is judged against deletions; a duplication (a smaller change in depth) is excluded only where
            # copy-neutral beats it by the same margin, and the row says so where it is not
            q_dup = PHRED * float(loglik[j, NORMAL] - loglik[j, DUPLICATION])
            why = "" if q_dup >= g.min_normal_quality else DUPLICATION_NOT_EXCLUDED
            status, q = "normal", q_normal
        rows.append(ExonCopyNumber(sample, t.gene, t.key, t.mane_exon, t.legacy_exon, t.chrom, t.start, t.end,
                                   float(x[j]), float(ratio[j]), round(2 * float(ratio[j]), 2), round(q, 1),
                                   status, why))  # fmt: skip
        j += 1
    return SampleCnv(sample, "assessed", "", rows, calls, ref_names, mean_corr, sd, reference_version)


def _fit(x, n, share, gc, ok, neutral_group, genes, cfg: CnvSettings):
    """Ratios, state log-likelihoods, Viterbi states and path score when ``neutral_group`` is copy-neutral."""
    g = cfg.germline
    p0 = float(np.median(share[neutral_group]))
    baseline = gc_baseline(np.log(ratio_of_share(share, p0)), gc, neutral_group)
    ratio = ratio_of_share(share, p0) / baseline
    neutral = neutral_group & (np.abs(np.log(np.maximum(ratio, 1e-3))) < 0.3)
    rho = fit_rho(x[neutral], n[neutral], share_mean(p0, baseline)[neutral]) if neutral.sum() >= 3 else 1e-3
    loglik = np.column_stack([betabinom_logpmf(x, n, share_mean(p0, g.ratios[s] * baseline), rho) for s in STATES])
    states = np.full(len(x), NORMAL)
    score = 0.0
    for gene in dict.fromkeys(genes):
        idx = np.array([i for i, gn in enumerate(genes) if gn == gene and ok[i]])
        if len(idx):
            states[idx], part = viterbi(loglik[idx], g.event_start_probability, g.event_continue_probability)
            score += part
    return ratio, loglik, states, score


def _note_unassessed_neighbours(call: CnvCall, exons: list[ExonTarget], reasons: list[str]) -> CnvCall:
    """A call next to an exon that could not be assessed (not captured, pseudogene...) may extend over it: say so."""
    unassessed = {t.mane_exon for t, r in zip(exons, reasons, strict=True) if t.gene == call.gene and r}
    near = sorted(unassessed & {call.first_exon - 1, call.last_exon + 1})
    if not near:
        return call
    which = " and ".join(f"exon {k}" for k in near)
    return replace(call, description=f"{call.description}; {which} not assessable: the change may include it")


def _segments(sample, captured, ok, states, loglik, ratio, cfg, n_refs, version):
    """Calls from runs of one non-normal state over a gene's assessable exons; {exon index: its quality}."""
    calls: list[CnvCall] = []
    quality: dict[int, float] = {}
    idx = [i for i in range(len(captured)) if ok[i]]
    runs: list[list[int]] = []
    for i in idx:
        if states[i] == NORMAL:
            continue
        prev = runs[-1] if runs else None
        if prev and states[prev[-1]] == states[i] and captured[prev[-1]].gene == captured[i].gene \
                and not any(ok[k] for k in range(prev[-1] + 1, i)):  # fmt: skip
            prev.append(i)
        else:
            runs.append([i])
    for run in runs:
        s = int(states[run[0]])
        q = PHRED * float(sum(loglik[i, s] - loglik[i, NORMAL] for i in run))
        if q < cfg.germline.min_quality:
            continue
        for i in run:
            quality[i] = round(PHRED * float(loglik[i, s] - loglik[i, NORMAL]), 1)
        kind = STATES[s]
        ts = [captured[i] for i in run]
        gene = ts[0].gene
        first, last = min(t.mane_exon for t in ts), max(t.mane_exon for t in ts)
        calls.append(CnvCall(
            sample, gene, kind, STATE_COPY_NUMBER[kind], first, last,
            min(t.legacy_exon for t in ts), max(t.legacy_exon for t in ts), ts[0].chrom,
            min(t.start for t in ts), max(t.end for t in ts), round(float(np.mean(ratio[run])), 3), round(q, 1),
            exon_range_name(gene, first, last, kind), exons_in_words(gene, first, last, kind),
            classify(gene, first, last, kind, cfg.classification),
            f"confirm by {cfg.classification.confirmation} (orthogonal method) before reporting", n_refs, version,
        ))  # fmt: skip
    return calls, quality


# ---------------------------------------------------------------- the batch


def mask_exons(ref: np.ndarray, masked: np.ndarray) -> np.ndarray:
    """References' counts with ``masked`` entries (a reference's own called exons) replaced by their expectation:
    the reference's total over its unmasked exons times the median profile of the unmasked references there."""
    if not masked.any():
        return ref
    out = ref.astype(float).copy()
    free = np.where(masked, np.nan, out)
    totals = np.nansum(np.where(masked.any(axis=0)[None, :], np.nan, free), axis=1, keepdims=True)
    prof = free / np.maximum(totals, 1e-9)
    expected = np.nanmedian(prof, axis=0)
    fill = totals * expected[None, :]
    out[masked] = np.nan_to_num(fill[masked])
    return out


def choose_references(
    profiles: np.ndarray, test: int, candidates: list[int], cfg: CnvSettings, gate: bool = True
) -> tuple[list[int], float | None, str]:
    """The best-correlated candidates (at least min_correlation, at most max_references); '' or why not.
    Without ``gate`` (the first pass, which only finds the calls) the correlation floors are not applied."""
    g = cfg.germline
    r = correlations(profiles, test)
    ranked = sorted(candidates, key=lambda k: -r[k])
    floor = g.min_correlation if gate else -1.0
    chosen = [k for k in ranked if r[k] >= floor][: g.max_references]
    if len(chosen) < g.min_references:
        return chosen, None, (f"too few references ({len(chosen)} < {g.min_references} with correlation "
                              f">= {g.min_correlation})")  # fmt: skip
    mean = float(np.mean(r[chosen]))
    if gate and mean < g.mean_min_correlation:
        return chosen, mean, f"references poorly correlated (mean {mean:.3f} < {g.mean_min_correlation})"
    return chosen, mean, ""


def references_to_use(x: np.ndarray, ref: np.ndarray, skip: np.ndarray, genes: np.ndarray, cfg: CnvSettings) -> int:
    """How many of the correlation-ranked references (rows of ``ref``) to use: the most whose spread of the test's
    log ratio against their sum (robust SD over the exons the references cover with ``min_reference_count``, the
    ``skip`` exons left out, each gene's exons centred on their median so a whole-gene change is not spread) is
    within ``spread_tolerance`` of the least spread over any such prefix, and at least ``min_references``. More
    references lower the counting noise; a reference whose exon profile differs (another capture behaviour) raises
    the spread more than its counts lower it — ExomeDepth weighs its reference choice the same way."""
    g = cfg.germline
    if len(ref) <= g.min_references:
        return len(ref)
    spreads = {}
    for k in range(g.min_references, len(ref) + 1):
        y = ref[:k].sum(axis=0)
        use = ~skip & (y / k >= g.min_reference_count) & (x > 0)
        if use.sum() < 5:
            return len(ref)
        lr = np.log(x[use] / x[use].sum()) - np.log(y[use] / y[use].sum())
        for gene in set(genes[use]):
            lr[genes[use] == gene] -= np.median(lr[genes[use] == gene])
        spreads[k] = robust_sd(lr)
    least = min(spreads.values())
    return max(k for k, sd in spreads.items() if sd <= least * (1 + g.spread_tolerance))


def call_batch(
    table: CountTable,
    exons: list[ExonTarget],
    cfg: CnvSettings,
    *,
    tumour: frozenset[str] | set[str] = frozenset(),
    full_reference: bool = False,
    store: CountTable | None = None,
) -> dict[str, SampleCnv]:
    """Every sample of the batch: germline samples called against references from the batch (and ``store``);
    tumour samples listed as not tested."""
    captured = [t.target for t in exons if t.targeted]
    batch = table.column(captured)
    pool = batch.stack(store) if store is not None else batch
    profiles = log_profiles(pool.counts)
    n_batch = len(batch.samples)
    germline = [i for i, s in enumerate(batch.samples) if s not in tumour]
    stored = list(range(n_batch, len(pool.samples)))
    version = store.version if store is not None else ""
    gene_of = np.array([t.gene for t in exons if t.targeted])

    def called_mask(result: SampleCnv | None) -> np.ndarray:
        called = {r.exon for r in result.rows if r.status in ("deletion", "duplication")} if result else set()
        return np.array([t.key in called for t in exons if t.targeted])

    def run(i: int, first: dict[int, SampleCnv] | None = None) -> SampleCnv:
        sample = batch.samples[i]
        cands = [k for k in germline + stored if k != i]
        own = called_mask(first[i]) if first else np.zeros(len(captured), dtype=bool)
        prof = profiles
        if own.any():  # the sample's own calls do not make it a poor match: those exons take the pool's median
            prof = profiles.copy()
            med = np.median(profiles[cands], axis=0)
            shift = np.median(prof[i, ~own] - med[~own])
            prof[i, own] = med[own] + shift
        chosen, mean, why = choose_references(prof, i, cands, cfg, gate=first is not None)
        ref = pool.counts[chosen]
        if first:  # a reference's own calls are masked: its exons there take the other references' expectation
            ref = mask_exons(ref, np.array([called_mask(first.get(k)) for k in chosen]).reshape(ref.shape))
        if not why:  # the best-matched prefix of the ranked references
            keep = references_to_use(batch.counts[i], ref, own, gene_of, cfg)
            if keep < len(chosen):
                chosen, ref = chosen[:keep], ref[:keep]
                mean = float(np.mean(correlations(prof, i)[chosen]))
        names = tuple(pool.samples[k] for k in chosen)
        used = version if any(k >= n_batch for k in chosen) else ""
        x = dict(zip(captured, batch.counts[i], strict=True))
        return call_sample(sample, x, exons, ref, names, mean, cfg, full_reference, used, why)

    # first pass: every sample against all others, only to find the calls (no correlation floor: an event lowers a
    # sample's correlation); second pass, the result: each reference's called exons masked, the sample's own
    # first-pass calls replaced by the pool's median in its correlations
    first = {i: run(i) for i in germline}
    out: dict[str, SampleCnv] = {}
    for i, s in enumerate(batch.samples):
        if s in tumour:
            rows = _empty_rows(s, exons, dict(zip(captured, batch.counts[i], strict=True)), lambda t: TUMOUR)
            out[s] = SampleCnv(s, "not_tested", TUMOUR, rows)
        else:
            out[s] = run(i, first)
    return out
