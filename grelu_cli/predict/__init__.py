"""The batch prediction loop: batches in, CPU arrays out. No file writing."""
