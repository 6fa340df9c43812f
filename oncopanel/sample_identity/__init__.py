"""Sample identity: tumour/blood concordance on common SNPs, contamination, index-hopping cross-talk, and batch
run controls (no-template control, positive reference) whose failure holds a batch.

The names below are loaded from their modules when first asked (PEP 562): the per-sample step (bam_qc) imports
``oncopanel.sample_identity.summary`` for genotypes and contamination only, and should not pay for the batch's
concordance, cross-talk and control modules (issue 21)."""

from __future__ import annotations

from oncopanel.lazy import lazy_names

__getattr__, __all__ = lazy_names(
    __name__,
    {
        # the function concordance() is imported from its module: a submodule's name on the package is the module
        "concordance": ("ConcordanceResult", "IdentityCheck", "PairCheck", "check_pairs"),
        "contamination": ("ContaminationEstimate", "estimate_contamination"),
        "controls": ("BatchControlVerdict", "RunResult", "evaluate_controls", "load_run_result"),
        "criteria": ("Criteria", "load_criteria"),
        "crosstalk": ("CrossTalkReport", "SampleCrossTalk", "index_hopping_rate"),
        "genotype": ("SiteGenotype", "genotype_identity_snps", "read_genotypes", "write_genotypes"),
        "snps": ("IdentitySnp", "load_identity_snps", "snp_set_version"),
        "summary": ("batch_identity", "identify_sample", "write_batch_identity"),
    },
)
