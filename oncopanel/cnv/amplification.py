"""EGFR amplification in tumour samples: the gene's ratio against the panel's other loci, relative to references.

For a tumour sample, each captured exon's log share of the sample's fragments is compared with the median of the
references' (the batch's other samples of the same panel; the median keeps a reference's own amplification out).
Those differences are corrected for the sample's GC trend (a quadratic in target GC with a level per gene, so
the trend comes from the GC spread within genes and a gene's copy number does not bend it) and
centred on the median over the panel's *other* loci (not the gene, not its chromosome), and the gene's ratio is
exp(median over its exons). ``call_batch`` runs two passes: references whose own ratio reaches the chromosome-gain
ratio in the first are left out of the second; in both, references are the samples whose within-gene exon profile
(each gene's exons centred on their median: capture efficiency and GC, not copy number) correlates with the tumour's
at least ``min_correlation``. Copy number from the pathologist's tumour content p:
CN = 2 + 2(ratio − 1)/p; without it the result says "copy number not estimated". A gain of the other chromosome-7
locus (BRAF) beside an amplified EGFR is a chromosome 7 gain, not a focal amplification; without BRAF on the panel
the two cannot be told apart and the result says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from oncopanel.cnv.counts import CountTable
from oncopanel.cnv.model import correlations, log_profiles, robust_sd
from oncopanel.cnv.settings import AmplificationSettings
from oncopanel.cnv.targets import ExonTarget


@dataclass(frozen=True)
class Amplification:
    sample: str
    gene: str
    status: str  # amplified | not_amplified | not_assessable
    ratio: float | None
    ratio_se: float | None  # standard error of the log ratio
    copy_number: float | None  # None when the tumour content is not given
    tumour_content: float | None
    extent: str  # focal | chromosome gain | cannot be told | ""
    same_chromosome_ratio: float | None
    references: int
    text: str


def copy_number(ratio: float, purity: float) -> float:
    """Tumour copy number from the observed ratio when a fraction ``purity`` of cells is tumour (normal = 2)."""
    return 2 + 2 * (ratio - 1) / purity


def gene_ratios(
    table: CountTable, exons: list[ExonTarget], test: int, refs: list[int], cfg: AmplificationSettings
) -> dict[str, tuple[float, float]]:
    """{gene: (ratio, SE of its log)} for every gene with captured exons, against the panel's other loci."""
    captured = [t for t in exons if t.targeted]
    sub = table.column([t.target for t in captured])
    prof = log_profiles(sub.counts)
    diff = prof[test] - np.median(prof[refs], axis=0)
    genes = np.array([t.gene for t in captured])
    chrom_of_gene = {t.gene: t.chrom for t in captured}
    amp_chrom = chrom_of_gene.get(cfg.gene)
    other = np.array([t.gene != cfg.gene and t.chrom != amp_chrom for t in captured])
    if other.sum() < 3:
        return {}
    gc = np.array([np.nan if t.gc is None else t.gc for t in captured])
    diff = diff - gc_trend_within_genes(diff, gc, genes)  # the sample's GC trend
    centre = float(np.median(diff[other]))
    spread = robust_sd(diff[other])
    out = {}
    for gene in dict.fromkeys(genes):
        d = diff[genes == gene] - centre
        # 1.2533 = SE of a median relative to a mean under normal noise
        out[str(gene)] = (math.exp(float(np.median(d))), 1.2533 * spread / math.sqrt(len(d)))
    return out


def gc_trend_within_genes(diff: np.ndarray, gc: np.ndarray, genes: np.ndarray) -> np.ndarray:
    """The sample's GC trend in its exon log ratios: a quadratic in target GC with one level per gene, fitted by
    least squares (exons more than 3 robust SDs off the first fit left out of the second). A gene's copy number
    moves its level, not the trend, so the trend comes from the GC spread within each gene — on a panel whose other
    loci are a few exons (EGFR_KRAS: KRAS alone) the other loci cannot show it. 0 where GC is unknown or fewer
    than 10 exons have it."""
    known = ~np.isnan(gc)
    if known.sum() < 10:
        return np.zeros(len(diff))
    names = list(dict.fromkeys(genes[known]))
    d = np.nan_to_num(gc, nan=0.45) - 0.45
    design = np.column_stack([d, d**2] + [(genes == g).astype(float) for g in names])
    use = known.copy()
    for _ in range(2):
        coef, *_ = np.linalg.lstsq(design[use], diff[use], rcond=None)
        resid = diff - design @ coef
        use = known & (np.abs(resid - np.median(resid[known])) <= 3 * max(robust_sd(resid[known]), 1e-6))
    return np.where(known, coef[0] * d + coef[1] * d**2, 0.0)


def thin_coverage(table: CountTable, exons: list[ExonTarget], test: int, refs: list[int],
                  cfg: AmplificationSettings) -> str:  # fmt: skip
    """Why the sample or its references have too few fragments on the gene or the other loci ('' when enough)."""
    captured = [t for t in exons if t.targeted]
    sub = table.column([t.target for t in captured]).counts
    on_gene = np.array([t.gene == cfg.gene for t in captured])
    for label, cols in (("the gene", on_gene), ("the other loci", ~on_gene)):
        test_median = float(np.median(sub[test, cols]))
        ref_median = float(np.median(sub[np.ix_(refs, cols)]))
        if min(test_median, ref_median) < cfg.min_exon_count:
            return (f"coverage too low (median fragments per exon on {label}: sample {test_median:.0f}, references "
                    f"{ref_median:.0f}; {cfg.min_exon_count} needed)")  # fmt: skip
    return ""


def call_amplification(
    table: CountTable,
    exons: list[ExonTarget],
    sample: str,
    cfg: AmplificationSettings,
    tumour_content: float | None = None,
    references: list[str] | None = None,
) -> Amplification:
    """The gene's amplification in ``sample`` against ``references`` (default: every other sample of the table)."""
    index = {s: i for i, s in enumerate(table.samples)}
    test = index[sample]
    others = [s for s in table.samples if s != sample] if references is None else references
    refs = [index[r] for r in others if r != sample]
    if not any(t.gene == cfg.gene and t.targeted for t in exons):
        return Amplification(sample, cfg.gene, "not_assessable", None, None, None, tumour_content, "", None,
                             len(refs), f"{cfg.gene} not on the sample's panel")  # fmt: skip
    if len(refs) < cfg.min_references:
        why = f"{cfg.gene} amplification not assessable: too few references ({len(refs)} < {cfg.min_references})"
        return Amplification(sample, cfg.gene, "not_assessable", None, None, None, tumour_content, "", None,
                             len(refs), why)  # fmt: skip
    low = thin_coverage(table, exons, test, refs, cfg)
    if low:
        why = f"{cfg.gene} amplification not assessable: {low}"
        return Amplification(sample, cfg.gene, "not_assessable", None, None, None, tumour_content, "", None,
                             len(refs), why)  # fmt: skip
    ratios = gene_ratios(table, exons, test, refs, cfg)
    if cfg.gene not in ratios:
        why = f"{cfg.gene} amplification not assessable: too few exons of other loci on the panel to normalise"
        return Amplification(sample, cfg.gene, "not_assessable", None, None, None, tumour_content, "", None,
                             len(refs), why)  # fmt: skip
    ratio, se = ratios[cfg.gene]
    if se > cfg.max_log_ratio_se:
        why = (f"{cfg.gene} amplification not assessable: coverage too low or uneven (SE of the log ratio {se:.2f} "
               f"> {cfg.max_log_ratio_se})")  # fmt: skip
        return Amplification(sample, cfg.gene, "not_assessable", round(ratio, 3), round(se, 4), None, tumour_content,
                             "", None, len(refs), why)  # fmt: skip
    cn = copy_number(ratio, tumour_content) if tumour_content else None
    amplified = ratio >= cfg.min_ratio and (cn is None or cn >= cfg.min_copy_number)
    same = [ratios[g][0] for g in cfg.same_chromosome_genes if g in ratios]
    same_ratio = float(np.median(same)) if same else None
    if not amplified:
        extent = ""
    elif same_ratio is None:
        extent = "cannot be told"
    else:
        extent = "chromosome gain" if same_ratio >= cfg.chromosome_gain_ratio else "focal"
    words = f"ratio {ratio:.2f}"
    words += f", copy number {cn:.1f} at tumour content {tumour_content:.0%}" if cn is not None else (
        ", copy number not estimated (no tumour content given)")  # fmt: skip
    if amplified:
        text = f"{cfg.gene} amplification ({words})"
        if extent == "cannot be told":
            text += f"; focal amplification vs chromosome gain cannot be told ({', '.join(cfg.same_chromosome_genes)}"
            text += " not on the panel)"
        elif extent == "chromosome gain":
            text += f"; {'/'.join(cfg.same_chromosome_genes)} also gained (ratio {same_ratio:.2f}): chromosome gain"
        else:
            text += f"; focal ({'/'.join(cfg.same_chromosome_genes)} ratio {same_ratio:.2f})"
    else:
        text = f"no {cfg.gene} amplification ({words})"
        if tumour_content:
            least = copy_number(cfg.min_ratio, tumour_content)
            floor = max(least, cfg.min_copy_number)
            text += f"; at this tumour content an amplification below {floor:.1f} copies is not called"
    status = "amplified" if amplified else "not_amplified"
    return Amplification(sample, cfg.gene, status, round(ratio, 3), round(se, 4), None if cn is None else round(cn, 2),
                         tumour_content, extent, None if same_ratio is None else round(same_ratio, 3), len(refs),
                         text)  # fmt: skip


def within_gene_profiles(table: CountTable, exons: list[ExonTarget]) -> np.ndarray:
    """Log profiles over the captured exons with each gene's median removed per sample: what capture and GC make
    of the exons, not any gene's copy number."""
    captured = [t for t in exons if t.targeted]
    prof = log_profiles(table.column([t.target for t in captured]).counts)
    genes = np.array([t.gene for t in captured])
    for gene in dict.fromkeys(genes):
        cols = genes == gene
        prof[:, cols] -= np.median(prof[:, cols], axis=1, keepdims=True)
    return prof


def call_batch(
    table: CountTable, exons: list[ExonTarget], cfg: AmplificationSettings, tumour_content: dict[str, float | None]
) -> dict[str, Amplification]:
    """Every tumour of ``tumour_content`` (sample -> content or None) against the table's other samples whose
    within-gene profile correlates at least ``min_correlation``; samples whose own gene ratio is raised in a first
    pass are not references in the second (they would lower it)."""
    index = {s: i for i, s in enumerate(table.samples)}
    profiles = within_gene_profiles(table, exons) if any(t.targeted for t in exons) else None

    def similar(sample: str) -> list[str]:
        if profiles is None:
            return [r for r in table.samples if r != sample]
        r = correlations(profiles, index[sample])
        return [o for o in table.samples if o != sample and r[index[o]] >= cfg.min_correlation]

    candidates = {s: similar(s) for s in tumour_content}
    first = {s: call_amplification(table, exons, s, cfg, c, candidates[s]) for s, c in tumour_content.items()}
    raised = {s for s, r in first.items() if r.ratio is not None and r.ratio >= cfg.chromosome_gain_ratio}
    out = {}
    for s, c in tumour_content.items():
        refs = [r for r in candidates[s] if r not in raised]
        out[s] = call_amplification(table, exons, s, cfg, c, refs)
    return out
