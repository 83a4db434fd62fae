"""``grelu merge`` for ``grelu ism`` outputs: parquet shards into one file, and a finished ISM
zarr store into bigWig tracks (the store itself is finalized like a predict store).

Writers are opened through the registry (result kind ``ism``), as a run opens them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grelu_cli.errors import UsageError


def merge_ism_shards(
    shards: list[tuple[Path, dict[str, Any]]], output: str, overwrite: bool = False
) -> list[str]:
    """The shards of one ``grelu ism --shard`` parquet run (checked and ordered by
    :func:`grelu_cli.io.formats.merge.order_shards`) as one parquet file: the unsharded run's
    rows, in order."""
    import pyarrow.parquet as pq

    from grelu_cli.io.formats.merge import merged_record
    from grelu_cli.io.formats.registry import WriterSpec, has_suffix, open_writer

    if not has_suffix(output, "parquet"):
        raise UsageError(
            f"the shards are grelu ism parquet output but -o {output} does not end in .parquet",
            fix="pass -o ism.parquet",
        )
    record = merged_record(shards, output)
    tasks = list(shards[0][1]["output"]["tasks"])
    spec = WriterSpec(output, tasks, metadata=record, overwrite=overwrite, kind="ism")
    writer: Any = open_writer("parquet", spec)
    with writer:
        for path, _ in shards:
            for batch in pq.ParquetFile(path).iter_batches():
                import pyarrow as pa

                writer.write_table(pa.Table.from_batches([batch]))
    return [str(p) for p in writer.paths]


def ism_store_to_tracks(
    path: str,
    output: str,
    *,
    tasks: list[str] | None = None,
    overlap: str = "mean",
    overwrite: bool = False,
) -> tuple[list[str], int]:
    """bigWig tracks (minus the mean delta per base, one per task of ``tasks``, all when None)
    of a finished ISM store; returns (files, NaN/inf values not written)."""
    import numpy as np

    from grelu_cli.errors import InputDataError
    from grelu_cli.io.formats.ism_zarr import read_ism_store
    from grelu_cli.io.formats.registry import WriterSpec, open_writer
    from grelu_cli.io.formats.zarr import read_record

    record = read_record(path)
    every = [str(t) for t in record["output"]["tasks"]]
    sizes = record.get("chrom_sizes")
    if not sizes:
        raise InputDataError(
            f"{path} holds no genome coordinates (FASTA input): no bigWig can be made",
            fix="write parquet or zarr for FASTA input",
        )
    names = tasks or every
    unknown = [t for t in names if t not in every]
    if unknown:
        raise UsageError(f"--tasks {unknown[0]} is not a task of {path}", fix=", ".join(every))
    pick = [every.index(t) for t in names]
    spec = WriterSpec(
        output,
        names,
        chrom_sizes=[(str(c), int(n)) for c, n in sizes],
        overlap=overlap,
        overwrite=overwrite,
        kind="ism",
    )
    writer: Any = open_writer("bigwig", spec)
    with writer:
        for block in read_ism_store(path):
            block.delta, block.alt = block.delta[..., pick], block.alt[..., pick]
            block.target_ref = block.target_ref[pick]
            writer.write(block)
    return [str(p) for p in writer.paths], int(np.sum(writer.nonfinite))
