#!/usr/bin/env bash
# The floor of a sample's cost (issue 21): the work that has to be done to get from reads to a duplicate-marked
# BAM, done the cheapest sound way, and nothing else (no stats, no coverage, no calling, no oncopanel steps):
#   benchmarks/floor.sh SAMPLES.tsv OUTDIR
# SAMPLES.tsv: sample<TAB>R1<TAB>R2 (one lane per sample). One sample at a time, with the threads and arguments of
# workflow/rules/align.smk (align_lane, markdup): fastp trims into a pipe (no intermediate gzip FASTQ), minimap2
# loads the index and aligns, samtools fixmate + sort write the lane BAM uncompressed, markdup writes the BAM and
# its index in one pass. The workflow's chain is these commands; tests/test_floor.py checks both give the same
# BAM records. Environment: MMI (minimap2 index), FASTP_EXTRA (config fastp.extra), THREADS (the rules' 1).
set -euo pipefail
SAMPLES=$1 OUT=$2
MMI=${MMI:-resources/index/grch38_panel_masked.mmi}
FASTP_EXTRA=${FASTP_EXTRA:---length_required 50}
THREADS=${THREADS:-1}
mkdir -p "$OUT"

one_sample() {
  local s=$1 r1=$2 r2=$3 lane=L001 d="$OUT/$1"
  local rg="@RG\tID:$s.$lane\tSM:$s\tLB:$s\tPL:ILLUMINA\tPU:$lane"
  mkdir -p "$d"
  # shellcheck disable=SC2086  # FASTP_EXTRA is a list of options
  fastp -i "$r1" -I "$r2" --stdout -w 1 --dont_eval_duplication $FASTP_EXTRA \
    -j "$d/$s.$lane.fastp.json" -h "$d/$s.$lane.fastp.html" -R "$s.$lane" 2> "$d/align.log" \
    | minimap2 -ax sr -t "$THREADS" -R "$rg" "$MMI" - 2>> "$d/align.log" \
    | samtools fixmate -m -u - - 2>> "$d/align.log" \
    | samtools sort -u -@ "$THREADS" -m 500M -T "$d/sorttmp" -o "$d/$lane.aligned.bam" - 2>> "$d/align.log"
  samtools merge -u -f -o - "$d/$lane.aligned.bam" \
    | samtools markdup -c -@ "$THREADS" -f "$d/markdup.txt" -T "$d/mdtmp" --write-index - \
      "$d/$s.bam##idx##$d/$s.bam.bai" 2> "$d/markdup.log"
  rm -f "$d/$lane.aligned.bam"  # temp() in the workflow
}

while IFS=$'\t' read -r s r1 r2; do one_sample "$s" "$r1" "$r2"; done < "$SAMPLES"
