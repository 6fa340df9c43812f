"""Variant calling: freebayes command lines, filters as data, batch panel of normals, the output VCF contract.

Submodules stay light (no pandas/pyarrow) so Snakemake script adapters start fast:
  settings   typed view of the ``calling:`` config block
  freebayes  command-line arguments for germline and tumour-only somatic calling
  stats      binomial tails and Wilson intervals (no scipy)
  evidence   per-record evidence from freebayes INFO/FORMAT and from the reads (pysam)
  filters    pure filter functions: evidence + thresholds -> FILTER reasons
  pon        batch panel of normals
  vcf        header definitions and the finalising pass that writes the contract VCF
  plan       which samples are called how, and the rules' file names (used by workflow/rules/calling.smk)
  run        the rules' commands as subprocess calls (benchmark, tests) and the hotspot-genotyping bridge
"""
