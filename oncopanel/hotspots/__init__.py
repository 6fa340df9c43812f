"""Hotspot genotyping: read counts at actionable hotspots, VAF with a confidence interval, a test against the
background error rate, the limit of detection (LoD) reached, and a status per hotspot.

Hotspots are data (annotation/hotspots.tsv): codons (any missense, or listed amino acids), single bases, and two
classes found from the reads whatever their breakpoints: in-frame deletions (EGFR exon 19) and in-frame
insertions (EGFR exon 20). Coordinates are GRCh38, 1-based inclusive.

Modules: ``definitions`` (the table's rows), ``detection`` (rule, background, LoD), ``counting`` (alleles found
in a BAM, counted by oncopanel.counting as the VCF counts them), ``evaluate`` (status per hotspot),
``background`` (rates raised from batch-mates, batch genotyping), ``table`` (TSV + Parquet). Alleles are named by
the annotator (oncopanel.annotate) and the statistics are oncopanel.stats'.
"""

from oncopanel.hotspots.background import estimate_background, genotype_batch
from oncopanel.hotspots.counting import AlleleCount, HotspotCounts, allele_name, count_hotspot, count_hotspots
from oncopanel.hotspots.definitions import Hotspot, HotspotKind, load_hotspots
from oncopanel.hotspots.detection import (
    SUBSTITUTION_CLASSES,
    BackgroundError,
    Thresholds,
    limit_of_detection,
    min_alt_reads,
    required_depth,
    substitution_class,
)
from oncopanel.hotspots.evaluate import (
    AlleleCall,
    HotspotEvaluation,
    assess_hotspot,
    candidate_error_classes,
    evaluate_hotspots,
    genotype_hotspots,
    hotspot_background,
    single_base_alleles,
)
from oncopanel.hotspots.table import (
    RESULT_COLUMNS,
    read_hotspot_table,
    results_by_id,
    write_hotspot_parquet,
    write_hotspot_table,
)
from oncopanel.stats import binom_sf, wilson_interval

__all__ = [
    "RESULT_COLUMNS",
    "SUBSTITUTION_CLASSES",
    "AlleleCall",
    "AlleleCount",
    "BackgroundError",
    "Hotspot",
    "HotspotCounts",
    "HotspotEvaluation",
    "HotspotKind",
    "Thresholds",
    "allele_name",
    "assess_hotspot",
    "binom_sf",
    "candidate_error_classes",
    "count_hotspot",
    "count_hotspots",
    "estimate_background",
    "evaluate_hotspots",
    "genotype_batch",
    "genotype_hotspots",
    "hotspot_background",
    "limit_of_detection",
    "load_hotspots",
    "min_alt_reads",
    "read_hotspot_table",
    "required_depth",
    "results_by_id",
    "single_base_alleles",
    "substitution_class",
    "wilson_interval",
    "write_hotspot_parquet",
    "write_hotspot_table",
]
