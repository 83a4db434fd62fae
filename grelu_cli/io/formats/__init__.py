"""Output formats behind one writer registry: parquet, bigWig, zarr, provenance."""
