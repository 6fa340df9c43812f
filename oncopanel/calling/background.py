"""Per-position background error model: how often the batch's normals (and earlier batches) show an allele.

A 1% variant at 2000x is 20 fragments; the global rate of calling.yaml (0.2% of one specific wrong base) asks
for about 13 of them and at 1000x for 9 out of an expected 10. Most positions err far less often than that, a
few far more (a recurrent polymerase or mapping error). So the error rate is learnt **at the allele**: for each
candidate allele of the batch's tumours (their raw freebayes records) the batch's normals are counted with the
one allele engine (oncopanel.counting: fragments, quality floors of the somatic calling), by pair orientation
(F1R2 / F2R1: library damage and some chemistry errors sit on one), and pooled with the same allele's counts
in a versioned store of earlier batches of the panel (``<store>/<panel>/<version>/background.tsv``).

Which samples are background: blood and saliva normals only. They carry no tumour DNA, no FFPE fixation damage
and were made in the same run with the same chemistry. A normal showing the allele at >= max_normal_vaf is
left out of that allele (a germline variant is not an error; the panel of normals handles it). Run negative
controls are not used: their libraries hold almost no template, so what they show is contamination and index
hopping at fractions that say nothing about a tumour library's error at a position, and their depth is low.

The rate of an allele is an upper confidence bound of its pooled alt / depth, never below ``min_rate``: 0 errors
in 6000 fragments says "rare", not "never". Alleles of one error class (the six pyrimidine-normalised
substitutions, multi-base substitutions, deletions, insertions) share a chemistry, so the class's pooled rate over
every allele counted is the prior (a beta distribution worth ``prior_depth`` fragments) and the allele's own counts
update it: the bound is the posterior's ``confidence`` quantile. An allele that errs more than its class shows it
as soon as its own depth outweighs the prior; one that never errs is not credited with "never". Without enough
class evidence the bound is the allele's Wilson bound alone. An allele with less pooled depth than ``min_depth``
(or no normals at all) falls back to the global rate of calling.somatic.filters.background, and the record says
which one it was tested against (INFO BG).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING

from oncopanel.errors import InputError
from oncopanel.model import Variant
from oncopanel.stats import binom_sf, wilson_interval

if TYPE_CHECKING:
    from oncopanel.counting import AlleleDepth

FILE_NAME = "background.tsv"
COLUMNS = ("key", "depth", "alt_f1r2", "alt_f2r1", "samples")


@dataclass(frozen=True)
class ModelSettings:
    """``calling.somatic.background_model`` (config/calling.yaml carries each value's reason)."""

    min_depth: int  # pooled fragments over the normals (and store) below which the global rate is used
    min_samples: int  # normals (batch + store) below which the global rate is used
    confidence: float  # one-sided confidence of the rate's upper bound
    min_rate: float  # floor of a learnt rate
    prior_depth: int  # fragments the error class's pooled rate weighs as the prior of each of its alleles
    max_normal_vaf: float  # a normal at or above this fraction carries the allele: left out of its background
    orientation_ratio: float  # one orientation's rate this many times the other's: an oriented error
    min_vaf: float  # the VAF floor of a call whose allele the model covers (calling.somatic.filters.min_vaf: not)
    store: str = ""  # directory of earlier batches' background files; "" = the batch's normals only
    store_version: str = ""  # version to use; "" = the newest


@dataclass(frozen=True)
class SiteErrors:
    """Fragments at one allele pooled over background samples."""

    depth: int
    alt_f1r2: int
    alt_f2r1: int
    samples: int

    @property
    def alt(self) -> int:
        return self.alt_f1r2 + self.alt_f2r1

    def __add__(self, other: SiteErrors) -> SiteErrors:
        return SiteErrors(self.depth + other.depth, self.alt_f1r2 + other.alt_f1r2,
                          self.alt_f2r1 + other.alt_f2r1, self.samples + other.samples)  # fmt: skip


@dataclass(frozen=True)
class AlleleBackground:
    """The rates one allele is tested against: overall and per pair orientation (half the fragments each)."""

    rate: float
    rate_f1r2: float
    rate_f2r1: float
    depth: int
    samples: int

    def oriented(self, ratio: float) -> bool:
        """The normals show an oriented error here: one orientation's rate >= ``ratio`` x the other's."""
        lo, hi = sorted((self.rate_f1r2, self.rate_f2r1))
        return hi >= ratio * lo


@dataclass(frozen=True)
class BackgroundModel:
    sites: Mapping[str, SiteErrors]
    settings: ModelSettings
    version: str  # what the rates came from, for the result's provenance (batch normals + store version)
    normals: tuple[str, ...] = ()
    _cache: dict = field(default_factory=dict, compare=False, repr=False)
    # upper()'s beta quantiles by (alt, depth, prior, prior_depth), at settings.confidence: those computed here,
    # and those rule calling_background computed once for the batch's tumours (``batch_bounds``), so a
    # tumour's job need not import scipy (~0.4 CPU-s a tumour, issue 21)
    bounds: dict = field(default_factory=dict, compare=False, repr=False)

    def class_rate(self, error_class: str) -> float | None:
        """Pooled alt / depth over every allele of the class; None below 10 x prior_depth fragments (a prior
        must be known far better than any one allele it speaks for)."""
        if not self._cache:
            pooled: dict[str, list[int]] = {}
            for key, site in self.sites.items():
                c = pooled.setdefault(allele_class(key), [0, 0])
                c[0] += site.alt
                c[1] += site.depth
            self._cache.update({c: alt / depth for c, (alt, depth) in pooled.items()
                                if depth >= 10 * self.settings.prior_depth})  # fmt: skip
        return self._cache.get(error_class)

    def upper(self, alt: int, depth: int, prior: float | None, prior_depth: float) -> float:
        """Upper ``confidence`` bound of the rate: beta posterior over the class prior, or Wilson without one."""
        s = self.settings
        if prior is None:
            return max(s.min_rate, wilson_interval(alt, depth, NormalDist().inv_cdf(s.confidence))[1])
        key = (alt, depth, prior, prior_depth)
        bound = self.bounds.get(key)
        if bound is None:
            # the beta quantile as scipy.special's inverse regularised incomplete beta: the Boost routine behind
            # scipy.stats' beta.ppf (the same bits on 200,000 random arguments), without importing scipy.stats,
            # which cost a somatic finalize ~1 CPU-s (issue 21)
            from scipy.special import betaincinv

            m = max(prior, 1e-7)  # a class never seen wrong still has some rate: beta needs a > 0
            bound = float(betaincinv(alt + m * prior_depth, depth - alt + (1 - m) * prior_depth, s.confidence))
            self.bounds[key] = bound
        return max(s.min_rate, bound)

    def allele(self, key: str) -> AlleleBackground | None:
        """The allele's learnt rates; None when the evidence is too thin (the caller uses the global rate)."""
        site = self.sites.get(key)
        s = self.settings
        if site is None or site.depth < s.min_depth or site.samples < s.min_samples:
            return None
        prior = self.class_rate(allele_class(key))
        half = max(1, site.depth // 2)  # a paired library holds F1R2 and F2R1 fragments about equally
        n0 = s.prior_depth
        return AlleleBackground(self.upper(site.alt, site.depth, prior, n0),
                                self.upper(site.alt_f1r2, half, prior, n0 / 2),
                                self.upper(site.alt_f2r1, half, prior, n0 / 2), site.depth, site.samples)  # fmt: skip


def allele_class(key: str) -> str:
    """Error class of an allele key (chrom:pos:ref>alt): a pyrimidine-normalised substitution, mnv, deletion or
    insertion (the classes of oncopanel.hotspots.detection)."""
    from oncopanel.hotspots.detection import substitution_class

    ref, alt = key.rsplit(":", 1)[1].split(">")
    if len(ref) == len(alt) == 1:
        return substitution_class(ref, alt)
    if len(ref) == len(alt):
        return "mnv"
    return "deletion" if len(ref) > len(alt) else "insertion"


def background_p(
    alt: int, depth: int, orientation: tuple[int, int] | None, bg: AlleleBackground, orientation_ratio: float
) -> float:
    """One-sided binomial tail of ``alt`` fragments of ``depth`` against the allele's learnt rate.

    Where the normals show an oriented error (one orientation's rate >= orientation_ratio x the other's), the
    fragments of the clean orientation are also tested alone against its own rate, and the smaller tail counts:
    a variant sits on both orientations, so its clean-orientation fragments stand out even where the other
    orientation is noisy. Fragments of one orientation only are the orientation filters' business.
    """
    if alt <= 0 or depth <= 0:
        return 1.0
    p = binom_sf(alt, depth, bg.rate)
    if orientation is not None and bg.oriented(orientation_ratio):
        lo = min(bg.rate_f1r2, bg.rate_f2r1)
        clean = orientation[0] if bg.rate_f1r2 <= bg.rate_f2r1 else orientation[1]
        if clean > 0:
            p = min(p, binom_sf(clean, max(1, depth // 2), lo))
    return p


# --- counting the normals ---------------------------------------------------------------------------------


def count_normals(
    bams: Mapping[str, Path | str],
    variants: Iterable[Variant],
    reference: str,
    min_mapping_quality: int,
    min_base_quality: int,
    max_normal_vaf: float,
    observe: Callable[[str, Variant, AlleleDepth], None] | None = None,
) -> dict[str, SiteErrors]:
    """Each allele counted in each normal with the one allele engine; a normal carrying it (>= max_normal_vaf)
    is left out of that allele. ``observe(normal, allele, count)`` sees every count first (the batch's panel of
    normals is built from these same counts: oncopanel.calling.pon.carries)."""
    import pysam

    from oncopanel.counting import CountRules, count_allele
    from oncopanel.reference import FastaSequence

    rules = CountRules(min_mapping_quality, min_base_quality)
    sequence = FastaSequence(reference)
    alleles = sorted(set(variants))
    sites: dict[str, SiteErrors] = {}
    for name, path in bams.items():
        with pysam.AlignmentFile(str(path)) as bam:
            for v in alleles:
                c = count_allele(bam, v, sequence, rules)
                if observe is not None:
                    observe(name, v, c)
                if c.depth == 0 or c.vaf >= max_normal_vaf:
                    continue
                one = SiteErrors(c.depth, c.alt_f1r2, c.alt_f2r1, 1)
                sites[v.key] = sites[v.key] + one if v.key in sites else one
    return sites


def candidate_alleles(vcfs: Iterable[Path | str]) -> list[Variant]:
    """The alleles of split, normalised VCFs (the tumours' raw freebayes records): where the model is needed.

    At a single-base candidate the other two substitutions are counted too: each error class's prior is pooled
    over every allele counted, and a class rate near 1e-4 needs some 100,000 normal fragments to be known."""
    import pysam

    pysam.set_verbosity(0)
    out: set[Variant] = set()
    for path in vcfs:
        with pysam.VariantFile(str(path)) as vf:
            for rec in vf:
                for alt in rec.alts or ():
                    if alt and not alt.startswith("<") and alt != "*":
                        out.add(Variant(rec.chrom, rec.pos, rec.ref, alt))
                        if len(rec.ref) == len(alt) == 1 and rec.ref in "ACGT":
                            out.update(Variant(rec.chrom, rec.pos, rec.ref, b) for b in "ACGT" if b != rec.ref)
    return sorted(out)


# --- files and the store ------------------------------------------------------------------------------------


def write_sites(sites: Mapping[str, SiteErrors], path: Path | str, header: Mapping[str, str] = ()) -> None:
    """A background table: ``#key=value`` provenance lines, then one row per allele."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        for k, v in dict(header).items():
            fh.write(f"#{k}={v}\n")
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(COLUMNS)
        for key in sorted(sites):
            s = sites[key]
            w.writerow((key, s.depth, s.alt_f1r2, s.alt_f2r1, s.samples))


def read_sites(path: Path | str) -> tuple[dict[str, SiteErrors], dict[str, str]]:
    """(allele key -> pooled counts, provenance header) of a background table."""
    sites: dict[str, SiteErrors] = {}
    header: dict[str, str] = {}
    lines = Path(path).read_text().splitlines()
    rows = []
    for line in lines:
        if line.startswith("#"):
            k, _, v = line[1:].partition("=")
            header[k] = v
        elif line.strip():
            rows.append(line.split("\t"))
    if not rows or tuple(rows[0]) != COLUMNS:
        raise InputError(f"{path}: not a background table (columns {', '.join(COLUMNS)})")
    for n, f in enumerate(rows[1:], start=2):
        try:
            sites[f[0]] = SiteErrors(int(f[1]), int(f[2]), int(f[3]), int(f[4]))
        except (ValueError, IndexError):
            raise InputError(f"{path}: row {n}: {f}") from None
    return sites, header


def load_store(
    store: str, panels: Iterable[str], version: str = "", pinned: Mapping[str, str] | None = None
) -> tuple[dict[str, SiteErrors], list[str]]:
    """Pooled counts of the store's background files of ``panels`` (version "" = each panel's newest) and the
    version ids used. No store configured: nothing. A configured store without a version of any of the panels:
    nothing either (the batch's normals alone, or the global rate): a panel new to the lab has no history.

    ``pinned`` (panel -> version id, as the batch background's header names them): exactly those versions, whose
    files must still be the ones hashed; panels not in it take no stored background."""
    if not store:
        return {}, []
    if pinned is not None:
        panels = [p for p in panels if p in pinned]
    # the copy-number reference store's layout and version ids (<version>@sha256:...), one store mechanism
    from oncopanel.store import newest_version, store_version

    root = Path(store)
    sites: dict[str, SiteErrors] = {}
    used = []
    for panel in sorted(set(panels)):
        v = pinned[panel].split("/", 1)[1].split("@", 1)[0] if pinned is not None else version
        v = v or newest_version(root / panel, FILE_NAME)
        directory = root / panel / v
        if not v or not (directory / FILE_NAME).is_file():
            if version or pinned is not None:
                raise InputError(f"{directory}: no {FILE_NAME} in the background store")
            continue
        if pinned is not None and f"{panel}/{store_version(directory, FILE_NAME)}" != pinned[panel]:
            raise InputError(f"{directory}/{FILE_NAME}: changed since the batch background named it ({pinned[panel]})")
        stored, _ = read_sites(directory / FILE_NAME)
        for key, s in stored.items():
            if key not in sites:  # an allele is stored once per version; panels sharing it would count it twice
                sites[key] = s
        used.append(f"{panel}/{store_version(directory, FILE_NAME)}")
    return sites, used


def add_to_store(store: Path | str, panel: str, version: str, sites: Mapping[str, SiteErrors]) -> str:
    """Write a batch's background as a new store version of a panel (never over an existing one)."""
    from oncopanel.store import store_version

    directory = Path(store) / panel / version
    if directory.exists():
        raise InputError(f"{directory}: background store version exists; versions are never overwritten")
    write_sites(sites, directory / FILE_NAME)
    return f"{panel}/{store_version(directory, FILE_NAME)}"


def combine(batch: Mapping[str, SiteErrors], stored: Mapping[str, SiteErrors]) -> dict[str, SiteErrors]:
    out = dict(stored)
    for key, s in batch.items():
        out[key] = out[key] + s if key in out else s
    return out


def model_from_files(
    batch_file: Path | str | None,
    panels: Iterable[str],
    settings: ModelSettings,
    bounds_file: Path | str | None = None,
) -> BackgroundModel:
    """The model a tumour is tested against: its batch's background table (rule calling_background) pooled with
    the store's files of the tumour's panels, in the versions that table's header pins; the version string names
    both. ``bounds_file``: the rate bounds the batch's job computed for it (``write_bounds``)."""
    batch_sites: dict[str, SiteErrors] = {}
    header: dict[str, str] = {}
    if batch_file is not None and Path(batch_file).is_file():
        batch_sites, header = read_sites(batch_file)
    pinned = None  # the store versions the batch background was built with (its header): one version per batch
    if "store_versions" in header:
        pinned = {u.split("/", 1)[0]: u for u in header["store_versions"].split(",") if u}
    stored, used = load_store(settings.store, panels, settings.store_version, pinned)
    normals = tuple(n for n in header.get("normals", "").split(",") if n)
    parts = [f"batch {header.get('batch', '?')} ({len(normals)} normals)"] if batch_file is not None else []
    parts += [f"store {u}" for u in used]
    version = " + ".join(parts) or "none (global rate)"
    bounds = read_bounds(bounds_file, settings.confidence) if bounds_file is not None else {}
    return BackgroundModel(combine(batch_sites, stored), settings, version, normals, bounds=bounds)


# --- the rate bounds, computed once a batch ---------------------------------------------------------------------

BOUNDS_COLUMNS = ("alt", "depth", "prior", "prior_depth", "bound")


def batch_bounds(
    batch_file: Path | str, panel_sets: Iterable[Iterable[str]], keys: Iterable[str], settings: ModelSettings
) -> dict:
    """The beta quantiles of ``keys``' rates in the model of each of the batch's tumours' panel sets: what their
    finalize jobs would compute (``BackgroundModel.upper``), computed by the same code once for the batch."""
    keys = list(keys)
    bounds: dict = {}
    for panels in panel_sets:
        model = model_from_files(batch_file, panels, settings)
        for key in keys:
            model.allele(key)
        bounds.update(model.bounds)
    return bounds


def write_bounds(bounds: Mapping, path: Path | str, confidence: float) -> None:
    """Rate bounds as text that reads back to the same floats (repr), under the confidence they are for."""
    with open(path, "w") as fh:
        fh.write(f"#confidence={confidence!r}\n" + "\t".join(BOUNDS_COLUMNS) + "\n")
        for (alt, depth, prior, prior_depth), bound in sorted(bounds.items()):
            fh.write(f"{alt}\t{depth}\t{prior!r}\t{float(prior_depth)!r}\t{bound!r}\n")


def read_bounds(path: Path | str, confidence: float) -> dict:
    """The bounds of ``write_bounds``; none when written for another confidence (each is computed again)."""
    lines = Path(path).read_text().splitlines()
    if not lines or lines[0] != f"#confidence={confidence!r}":
        return {}
    if len(lines) < 2 or tuple(lines[1].split("\t")) != BOUNDS_COLUMNS:
        raise InputError(f"{path}: not a background bounds table (columns {', '.join(BOUNDS_COLUMNS)})")
    bounds = {}
    for n, line in enumerate(lines[2:], start=3):
        try:
            alt, depth, prior, prior_depth, bound = line.split("\t")
            bounds[(int(alt), int(depth), float(prior), float(prior_depth))] = float(bound)
        except ValueError:
            raise InputError(f"{path}: row {n}: {line}") from None
    return bounds


def empty(settings: ModelSettings) -> BackgroundModel:
    return BackgroundModel({}, settings, "none (global rate)")
