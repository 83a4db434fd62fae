"""Shards of one ``grelu predict --genes --shard`` run into one output (``grelu merge``).

Shards own disjoint, consecutive runs of genes, so their rows, in shard order, are the rows
of one unsharded run; the output's writer is opened through the registry (result kind
``gene_expression``): parquet, or a zarr store when ``-o`` ends in ``.zarr``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grelu_cli.errors import UsageError


def merge_gene_shards(
    shards: list[tuple[Path, dict[str, Any]]], output: str, overwrite: bool = False
) -> list[str]:
    """Write the shards (checked and ordered by
    :func:`grelu_cli.io.formats.merge.order_shards`) as one output; counts of genes summed."""
    import pyarrow.parquet as pq

    from grelu_cli.io.formats.merge import merged_record
    from grelu_cli.io.formats.registry import WriterSpec, has_suffix, open_writer
    from grelu_cli.run.variant_merge import sum_counts

    if has_suffix(output, "zarr"):
        fmt = "zarr"
    elif has_suffix(output, "parquet"):
        fmt = "parquet"
    else:
        raise UsageError(
            f"the shards are gene values (grelu predict --genes) but -o {output} is neither "
            "a .parquet file nor a .zarr store",
            fix="pass -o genes.parquet or -o genes.zarr",
        )
    record = merged_record(shards, output)
    record.pop("complete", None)
    counts = sum_counts([r.get("counts", {}) for _, r in shards])
    first = shards[0][1].get("counts", {})
    for whole in ("genes_in_file", "genes_selected", "genes_skipped", "regions", "windows"):
        if whole in first:  # the run's, not per shard
            counts[whole] = first[whole]
    for whole in (
        "padded_windows",
        "padded_bases",
        "dropped_windows",
        "dropped_regions",
        "shifted_windows",
    ):
        if whole in first:
            counts[whole] = first[whole]
    record["counts"] = counts
    tasks = list(shards[0][1]["output"]["tasks"])
    spec = WriterSpec(output, tasks, metadata=record, overwrite=overwrite, kind="gene_expression")
    writer: Any = open_writer(fmt, spec)
    with writer:
        for path, _ in shards:
            writer.write_table(pq.read_table(path))
    return [str(p) for p in writer.paths]
