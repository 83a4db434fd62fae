"""Readers (BED, FASTA, regions) and writers (parquet, bigWig)."""
