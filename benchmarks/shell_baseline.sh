#!/usr/bin/env bash
# The external commands of oncopanel's per-sample rules as a plain bash loop, with the rules' thread counts and
# arguments, and none of oncopanel's own steps (input check, QC JSON, identity, hotspots, result, PDF):
#   benchmarks/shell_baseline.sh SAMPLES.tsv OUTDIR TARGETS.bed [PARALLEL]
# SAMPLES.tsv: sample<TAB>R1<TAB>R2 (one lane per sample). TARGETS.bed: the samples' target BED (same panel).
# PARALLEL (default 1): samples run at once (xargs -P); 1 is the plain loop the workflow's overhead is measured
# against. Environment: REF (bgzipped reference), FASTA (plain copy for freebayes), MMI (minimap2 index),
# FASTP_EXTRA, FB_ARGS (freebayes somatic-mode arguments), MAPQ, THRESHOLDS — defaults are the project's config.
set -euo pipefail
SAMPLES=$1 OUT=$2 TARGETS=$3 PARALLEL=${4:-1}
export REF=${REF:-resources/reference/grch38_panel_masked.fa.gz}
export FASTA=${FASTA:-resources/reference/grch38_panel_masked.plain.fa}
export MMI=${MMI:-resources/index/grch38_panel_masked.mmi}
export FASTP_EXTRA=${FASTP_EXTRA:---detect_adapter_for_pe --length_required 50}
export FB_ARGS=${FB_ARGS:---min-alternate-fraction 0.01 --min-alternate-count 3 --min-mapping-quality 20 \
--min-base-quality 20 --limit-coverage 4000 --use-best-n-alleles 4 --pooled-continuous --allele-balance-priors-off}
export MAPQ=${MAPQ:-20} THRESHOLDS=${THRESHOLDS:-100,250,500} OUT TARGETS
mkdir -p "$OUT"
# freebayes -t: the targets sorted and merged once (the workflow does this inside calling_freebayes)
sort -k1,1 -k2,2n "$TARGETS" | awk 'BEGIN {OFS="\t"} $1 == c && $2 <= e {if ($3 > e) e = $3; next}
  {if (c != "") print c, s, e, n; c = $1; s = $2; e = $3; n = $4} END {if (c != "") print c, s, e, n}' \
  > "$OUT/regions.bed"

one_sample() {
  local s=$1 r1=$2 r2=$3 d="$OUT/$1"
  local rg="@RG\tID:$s.L001\tSM:$s\tLB:$s\tPL:ILLUMINA\tPU:L001"
  mkdir -p "$d"
  fastp -i "$r1" -I "$r2" -o "$d/t_R1.fq.gz" -O "$d/t_R2.fq.gz" -w 2 -z 1 $FASTP_EXTRA \
    -j "$d/fastp.json" -h "$d/fastp.html" -R "$s.L001" > "$d/fastp.log" 2>&1
  minimap2 -ax sr -t 2 -R "$rg" "$MMI" "$d/t_R1.fq.gz" "$d/t_R2.fq.gz" 2> "$d/align.log" \
    | samtools fixmate -m -u - - | samtools sort -@ 2 -m 500M -T "$d/sorttmp" -o "$d/aligned.bam" -
  samtools merge -u -f -o - "$d/aligned.bam" \
    | samtools markdup -c -@ 2 -f "$d/markdup.txt" -T "$d/mdtmp" - "$d/$s.bam" 2> "$d/markdup.log"
  samtools index "$d/$s.bam" "$d/$s.bam.bai"
  samtools stats -@ 2 "$d/$s.bam" > "$d/stats.txt"
  samtools flagstat -@ 2 "$d/$s.bam" > "$d/flagstat.txt"
  samtools depth -s -Q "$MAPQ" -b "$TARGETS" "$d/$s.bam" > "$d/$s.depth.tsv"  # rule coverage's tool (oncopanel.coverage)
  freebayes -f "$FASTA" -t "$OUT/regions.bed" $FB_ARGS "$d/$s.bam" 2> "$d/freebayes.log" \
    | bcftools norm -f "$REF" -m- -Oz -o "$d/raw.vcf.gz" 2>> "$d/freebayes.log"
  bcftools norm -f "$REF" -m- -Ou "$d/raw.vcf.gz" 2> "$d/norm.log" \
    | bcftools sort -T "$d/bcfsort" -Oz -o "$d/$s.vcf.gz" 2>> "$d/norm.log"
  tabix -f -p vcf "$d/$s.vcf.gz"
  rm -f "$d/t_R1.fq.gz" "$d/t_R2.fq.gz" "$d/aligned.bam"  # temp() outputs in the workflow
}
export -f one_sample

if [ "$PARALLEL" -eq 1 ]; then
  while IFS=$'\t' read -r s r1 r2; do one_sample "$s" "$r1" "$r2"; done < "$SAMPLES"
else
  xargs -P "$PARALLEL" -L 1 bash -c 'one_sample "$0" "$1" "$2"' < "$SAMPLES"
fi
