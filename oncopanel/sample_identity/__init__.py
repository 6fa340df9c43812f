"""Sample identity: tumour/blood concordance on common SNPs, contamination, index-hopping cross-talk, and batch
run controls (no-template control, positive reference) whose failure holds a batch."""

from oncopanel.sample_identity.concordance import (
    ConcordanceResult,
    IdentityCheck,
    PairCheck,
    check_pairs,
    concordance,
)
from oncopanel.sample_identity.contamination import ContaminationEstimate, estimate_contamination
from oncopanel.sample_identity.controls import (
    BatchControlVerdict,
    RunResult,
    evaluate_controls,
    load_run_result,
)
from oncopanel.sample_identity.criteria import Criteria, load_criteria
from oncopanel.sample_identity.crosstalk import CrossTalkReport, SampleCrossTalk, index_hopping_rate
from oncopanel.sample_identity.genotype import (
    SiteGenotype,
    genotype_identity_snps,
    read_genotypes,
    write_genotypes,
)
from oncopanel.sample_identity.snps import IdentitySnp, load_identity_snps, snp_set_version
from oncopanel.sample_identity.summary import batch_identity, identify_sample, write_batch_identity

__all__ = [
    "BatchControlVerdict", "ConcordanceResult", "ContaminationEstimate", "Criteria", "CrossTalkReport",
    "IdentityCheck", "IdentitySnp", "PairCheck", "RunResult", "SampleCrossTalk", "SiteGenotype",
    "batch_identity", "check_pairs", "concordance", "estimate_contamination", "evaluate_controls",
    "genotype_identity_snps", "identify_sample", "index_hopping_rate", "load_criteria", "load_identity_snps",
    "load_run_result", "read_genotypes", "snp_set_version", "write_batch_identity", "write_genotypes",
]  # fmt: skip
