"""Genome side: intervals (0-based half-open), genome access, resizing, strand, one-hot."""
