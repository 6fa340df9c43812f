"""Annotation on the MANE Select transcripts: consequence (SO terms), HGVS g./c./p., exon/intron.

- ``Annotator().annotate(Variant) -> Annotation``        (oncopanel.annotate.annotator)
- ``annotate_vcf``, ``write_annotated_vcf``, ``write_table`` (oncopanel.annotate.vcf)
- ``load_transcripts`` and the c. <-> GRCh38 mapping       (oncopanel.annotate.transcripts)

Only the standard library is imported here; pyarrow loads when a Parquet table is written.
"""

from oncopanel.annotate.annotator import Annotator
from oncopanel.annotate.transcripts import Transcript, load_transcripts

__all__ = ["Annotator", "Transcript", "load_transcripts"]
