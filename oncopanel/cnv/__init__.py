"""Copy number from the pooled batch (issue 17): BRCA1/BRCA2 exon deletions and duplications in germline samples,
EGFR amplification in tumours.

- ``targets``: the exon targets (MANE exon numbers, legacy numbers beside them);
- ``counts``: per-exon fragment counts (from a BAM, or from the QC coverage step's per-target depth) and the
  versioned store of earlier batches' count tables;
- ``model``: reference choice by correlation, beta-binomial likelihood, HMM over consecutive exons, calls;
- ``amplification``: EGFR ratio, copy number from tumour content, focal vs chromosome 7 gain;
- ``naming``: HGVS-style names on MANE Select and classification by rules as data;
- ``records``: the per-exon rows and calls, and the per-sample TSV;
- ``settings``: config/cnv.yaml through the one settings loader.
"""
