"""Input readers: BED, FASTA, VCF/BCF and variant tables, regions, GTF/GFF3, text lines."""
