"""Simulated inputs for tests, benchmarks and the demo batch (never imported by the clinical package ``oncopanel``).

- :mod:`oncosim.reads`: ART read pairs from the embedded GRCh38 with spiked variants and library artefacts.
- :mod:`oncosim.batch`: synthetic sample manifests and pooled (undetermined) FASTQ with index errors and hopping.
- :mod:`oncosim.cnv`: count-level capture coverage (per-target efficiency, GC bias, library size) with exon CNVs.
"""
