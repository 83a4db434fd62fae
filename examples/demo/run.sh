#!/usr/bin/env bash
# The grelu-cli demo on shipped data (a few seconds on a laptop CPU):
# predict bigWig and parquet tracks with a tiny motif model, tile a whole chromosome, plot,
# score variants that break the planted motifs, predict expression per gene, and mutate every
# base around one motif (ISM).
#
#   bash examples/demo/run.sh [OUT_DIR]      # default out/demo; needs `grelu` on PATH
#
# Plots need matplotlib: pip install 'grelu-cli[plot]'.
set -euo pipefail

DEMO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-out/demo}"
mkdir -p "$OUT"

# 1. One model window (1,024 bp, centred) per BED region -> one bigWig per task.
grelu predict --model "$DEMO/model.ckpt" --bed "$DEMO/regions.bed" --genome "$DEMO/genome.fa" \
  --format bigwig -o "$OUT/regions/" --overwrite

# 2. The same regions as a parquet table (one row per region x task x bp, with coordinates).
grelu predict --model "$DEMO/model.ckpt" --bed "$DEMO/regions.bed" --genome "$DEMO/genome.fa" \
  -o "$OUT/regions.parquet" --overwrite

# 3. A contiguous track over all of chr3 (held out from training): windows whose outputs abut.
grelu predict --model "$DEMO/model.ckpt" --chrom chr3 --tile --genome "$DEMO/genome.fa" \
  --format bigwig -o "$OUT/chr3/" --overwrite

# 4. Pictures: predicted peaks on chr3 with the planted motifs underneath, and one BED region
#    read back from the parquet file.
grelu plot --region chr3:8,001-14,000 "$OUT/chr3/" --bed "$DEMO/motifs.bed" --shared-y \
  -o "$OUT/chr3.png" --overwrite
grelu plot --region chr1:12,544-13,143 "$OUT/regions.parquet" --bed "$DEMO/motifs.bed" \
  --shared-y -o "$OUT/region.png" --overwrite

# 5. Variant effects: variants.vcf breaks planted motifs (and has controls far from them);
#    the motif's task drops sharply exactly there (sad around -250 for motif_b, -500 for
#    motif_a) and nothing moves at the controls.
grelu variants --model "$DEMO/model.ckpt" --vcf "$DEMO/variants.vcf" --genome "$DEMO/genome.fa" \
  --scores diff,sad,sax -o "$OUT/variants.parquet" --overwrite

# 6. Predicted expression per gene: genes.gtf has six genes on both strands; MOTA1, MOTB1 and
#    MOTA3LONG carry a planted motif in an exon, so their mean over exon bins stands out on the
#    motif's task (1.6 and 1.0 for motif_a, 1.2 for motif_b; the background is 0.2).
grelu predict --model "$DEMO/model.ckpt" --genes "$DEMO/genes.gtf" --genome "$DEMO/genome.fa" \
  --aggregate mean -o "$OUT/genes.parquet" --overwrite
#    ... and what each variant does to those genes (Calico's SED statistics over the gene's exon
#    bins of its strand-matched track): break_snv:motif_a sits in an exon of MOTA1, so MOTA1's
#    SED on motif_a is about -500 (logSED -2.8); 19 of the 22 scored alleles touch no gene and
#    are counted, not written. -o sed.h5 gives Calico's sed.h5 layout instead.
grelu variants --model "$DEMO/model.ckpt" --vcf "$DEMO/variants.vcf" --genome "$DEMO/genome.fa" \
  --genes "$DEMO/genes.gtf" --gene-stats SED,logSED,D1 -o "$OUT/sed.parquet" --overwrite

# 7. Which bases matter: in-silico mutagenesis of 111 bp around the motif_a copy at
#    chr1:12,838-12,849 (every base to each other base; fast ISM, the model is convolutional).
#    The motif's bases move motif_a's mean prediction by about 0.5; bases 10 bp or more
#    away from it, by less than 0.03. The bigWig holds minus the mean delta per base.
grelu ism --model "$DEMO/model.ckpt" --region chr1:12,788-12,898 --genome "$DEMO/genome.fa" \
  -o "$OUT/ism.zarr" --overwrite
grelu ism --model "$DEMO/model.ckpt" --region chr1:12,788-12,898 --genome "$DEMO/genome.fa" \
  --format bigwig -o "$OUT/ism/" --overwrite

echo "demo outputs in $OUT: regions/*.bw, regions.parquet, chr3/*.bw, chr3.png, region.png," \
  "variants.parquet, genes.parquet, sed.parquet, ism.zarr, ism/*.bw" >&2
