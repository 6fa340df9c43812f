"""One batch's copy number, from QC's coverage step to the per-sample tables (the workflow's rule ``cnv_{batch}``).

Counts come from the ``regions.bed.gz`` of each sample (the QC coverage step, oncopanel.coverage; no second pass
over the BAMs).
Germline samples (blood, saliva) are called for BRCA1/BRCA2 exon copy number against the batch's other germline
samples and, when the configuration names one, a version of the reference store. Tumour samples get BRCA exon copy
number "not tested" and EGFR amplification against the batch's other samples of the same panels. Every sample of
the batch gets ``<out>/<sample>.cnv.tsv``; its header names the reference version used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path

from oncopanel.clinical import GERMLINE_GENES
from oncopanel.cnv import amplification, model
from oncopanel.cnv.counts import CountTable, load_store, mosdepth_counts, table_from_samples
from oncopanel.cnv.records import read_tsv, write_tsv
from oncopanel.cnv.settings import CnvSettings
from oncopanel.cnv.targets import exon_targets, with_gc
from oncopanel.errors import InputError
from oncopanel.panels import genes_for
from oncopanel.reference import SliceSequence
from oncopanel.samplesheet import Sample
from oncopanel.store import newest_version

NO_READS = "no coverage to count (the sample's reads did not pass the input check)"


@dataclass(frozen=True)
class CnvSample:
    """What the batch run needs of a sample: its kind, panels, tumour content and its QC coverage file."""

    sample_id: str
    germline: bool
    panels: tuple[str, ...]
    tumour_content: float | None  # fraction of tumour cells (the sample sheet's percent / 100)
    regions: Path | None  # coverage regions.bed.gz over the sample's panel targets; None: no reads to count

    @classmethod
    def of(cls, sample: Sample, regions: Path | str | None) -> CnvSample:
        tc = sample.tumour_content / 100 if sample.tumour_content else None
        return cls(sample.sample_id, sample.is_germline_specimen, tuple(sorted(sample.panels)), tc,
                   Path(regions) if regions else None)  # fmt: skip


def reference_store(directory: str, version: str) -> CountTable | None:
    """The configured store version (``version`` empty: the newest); None when no store is configured."""
    if not directory:
        return None
    store = Path(directory)
    version = version or newest_version(store)
    if not version:
        raise InputError(f"{store}: copy-number reference store has no version (<store>/<version>/counts.tsv)")
    return load_store(store, version)


def amplification_header(a: amplification.Amplification) -> dict[str, str]:
    """The amplification result as ``##amplification_<field>`` header lines of the tumour's table."""
    return {f"amplification_{k}": "." if v is None else str(v)
            for k, v in zip(amplification.Amplification.__dataclass_fields__, astuple(a), strict=True)}  # fmt: skip


def run_batch(
    samples: Sequence[CnvSample],
    cfg: CnvSettings,
    out_dir: Path | str,
    *,
    store: CountTable | None = None,
    full_reference: bool = False,
) -> dict[str, Path]:
    """Write every sample's ``<sample>.cnv.tsv``; returns {sample: path}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    absent = [s for s in samples if s.regions is None]
    samples = [s for s in samples if s.regions is not None]
    per_sample = {s.sample_id: mosdepth_counts(s.regions) for s in samples if s.regions is not None}
    # every target with its GC fraction: the models correct each sample's GC trend (without it they did not)
    sequence = SliceSequence()
    germline_exons = with_gc(exon_targets(list(GERMLINE_GENES)), sequence)
    brca_targets = [t.target for t in germline_exons if t.targeted]
    # BRCA exon copy number: every sample whose panels capture BRCA (tumours listed as not tested)
    with_brca = [s for s in samples if all(t in per_sample[s.sample_id] for t in brca_targets)]
    tumours = {s.sample_id for s in with_brca if not s.germline}
    germline = model.call_batch(
        table_from_samples({s.sample_id: per_sample[s.sample_id] for s in with_brca}, brca_targets), germline_exons,
        cfg, tumour=tumours, full_reference=full_reference, store=store,
    ) if with_brca else {}  # fmt: skip
    amplified = _amplifications(samples, per_sample, cfg, sequence)
    written = {}
    for s in samples:
        result = germline.get(s.sample_id)
        header = result.header() if result else {
            "sample": s.sample_id, "status": "not_tested", "reason": "BRCA1/BRCA2 not on the sample's panels",
        }  # fmt: skip
        if not s.germline and s.sample_id in amplified:
            header |= amplification_header(amplified[s.sample_id])
        path = out / f"{s.sample_id}.cnv.tsv"
        write_tsv(path, result.rows if result else [], result.calls if result else [], header)
        written[s.sample_id] = path
    for s in absent:
        path = out / f"{s.sample_id}.cnv.tsv"
        write_tsv(path, [], [], {"sample": s.sample_id, "status": "not_assessable", "reason": NO_READS})
        written[s.sample_id] = path
    return written


def run_batch_or_not_assessable(samples: Sequence[CnvSample], out_dir: Path | str, run) -> tuple[dict[str, Path], str]:
    """``run()`` (the batch run); if it fails, every sample's table says not assessable with the error, so the
    batch's results go on with copy number unassessed (never a negative) rather than not at all. Returns the
    tables and the error ("" when none)."""
    try:
        return run(), ""
    except Exception as exc:  # any failure leaves copy number unassessed, never the batch unreported
        error = f"{type(exc).__name__}: {exc}"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for s in samples:
        written[s.sample_id] = out / f"{s.sample_id}.cnv.tsv"
        write_tsv(written[s.sample_id], [], [], {"sample": s.sample_id, "status": "not_assessable",
                                                 "reason": f"copy-number step failed ({error})"})  # fmt: skip
    return written, error


def _amplifications(
    samples: Sequence[CnvSample], per_sample: Mapping[str, Mapping[str, float]], cfg: CnvSettings,
    sequence: SliceSequence,
) -> dict[str, amplification.Amplification]:
    """EGFR amplification of each tumour whose panels carry the gene, against the batch's samples of the same
    panels (the same capture targets)."""
    amp = cfg.amplification
    out: dict[str, amplification.Amplification] = {}
    for panels in sorted({s.panels for s in samples if not s.germline}):
        genes = genes_for(panels)
        if amp.gene not in genes:
            continue
        group = [s for s in samples if s.panels == panels]
        exons = with_gc(exon_targets(genes), sequence)
        table = table_from_samples({s.sample_id: per_sample[s.sample_id] for s in group},
                                   [t.target for t in exons if t.targeted])  # fmt: skip
        tumour = {s.sample_id: s.tumour_content for s in group if not s.germline}
        out |= amplification.call_batch(table, exons, amp, tumour)
    return out


def multiqc_table(batch: str, written: Mapping[str, Path]) -> str:
    """MultiQC custom content (a ``*_mqc.tsv`` table) of the batch's copy-number results: one row per sample."""
    lines = [
        f"# id: 'oncopanel_cnv_{batch}'",
        f"# section_name: 'Copy number ({batch})'",
        "# description: 'BRCA1/BRCA2 exon copy number of germline samples and EGFR amplification of tumours "
        "(oncopanel.cnv; per-sample tables in cnv/). Not assessable is never a negative.'",
        "# plot_type: 'table'",
        "Sample\tStatus\tCalls\tExons not assessable\tReferences\tReference version\tAmplification\tRatio",
    ]
    for sample, path in sorted(written.items()):
        table = read_tsv(path)
        h = table.header
        calls = ", ".join(c.name for c in table.calls) or ("none" if h.get("status") == "assessed" else ".")
        unassessed = sum(r.status == "not_assessable" for r in table.rows)
        refs = len([x for x in h.get("references", "").split(",") if x])
        amp = h.get("amplification_status", ".")
        lines.append("\t".join(str(v) for v in (sample, h.get("status", "."), calls, unassessed, refs,
                                                h.get("reference_version", "."), amp,
                                                h.get("amplification_ratio", "."))))  # fmt: skip
    return "\n".join(lines) + "\n"
