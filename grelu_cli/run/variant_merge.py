"""Shards of one ``grelu variants --shard`` run into one output (``grelu merge``).

The output's writer is opened through the registry (result kind ``variants``), like a run's.
"""

from __future__ import annotations

from typing import Any

from grelu_cli.core.variant_block import VariantBlock
from grelu_cli.errors import UsageError
from grelu_cli.run.variant_job import output_format


def merge_variant_shards(
    shards: list[tuple[Any, dict[str, Any]]], output: str, overwrite: bool = False
) -> list[str]:
    """Write the shards of one ``grelu variants --shard`` run (checked and ordered by
    :func:`grelu_cli.io.formats.merge.order_shards`) as one output: the unsharded run's rows (and,
    for parquet, row groups); its counts are the shards' summed. Parquet shards merge into
    parquet (or, long layout, a zarr store), zarr shards into a zarr store (or long parquet).
    Shards of a ``--genes`` run also merge into Calico's ``sed.h5`` layout; the dense
    outputs' percentiles are computed over the merged rows.
    """
    import pyarrow.parquet as pq

    from grelu_cli.io.formats.merge import merged_record
    from grelu_cli.io.formats.registry import WriterSpec, open_writer
    from grelu_cli.io.formats.variant_parquet import table_block
    from grelu_cli.io.formats.variant_zarr import read_variant_store

    first = shards[0][1]
    genes = "genes" in first
    kind = "variant_genes" if genes else "variants"
    fmt = output_format(output, kind)
    out = first["output"]
    record = merged_record(shards, output)
    record.pop("complete", None)
    record["counts"] = sum_counts([r.get("counts", {}) for _, r in shards])
    layout = out.get("layout", "long")
    if fmt == "zarr" and out["format"] == "parquet" and layout != "long":
        raise UsageError(
            f"the shards are wide-layout parquet; a zarr store is made from long ones only "
            f"(-o {output})",
            fix="pass -o merged.parquet",
        )
    tasks, values = out["tasks"], out["values"]
    columns = list(out.get("columns") or ())
    pct: list[str] = []
    grid = None
    if genes:
        from grelu_cli.genes.calibrate import PCT_SKIP, percentile_grid

        stats = first["genes"]["stats"]
        pct, grid = [s for s in stats if s not in PCT_SKIP], percentile_grid()
    spec = WriterSpec(
        output,
        tasks,
        metadata=record,
        overwrite=overwrite,
        kind=kind,
        layout="long" if layout in ("dense", "sed") else layout,
        values=values,
        columns=columns,
        percentiles=pct,
        pct_grid=grid,
    )
    writer: Any = open_writer(fmt, spec)
    with writer:
        for path, rec in shards:
            if rec["output"]["format"] not in ("zarr", "parquet"):
                raise UsageError(
                    f"{path} is a {rec['output']['format']} output; shards merge from parquet "
                    "or zarr",
                    fix="write the shards as .parquet",
                )
            if rec["output"]["format"] == "zarr":
                for cols, vals in read_variant_store(path):
                    writer.write(VariantBlock(cols, vals))
            elif hasattr(writer, "write_table"):
                writer.write_table(pq.read_table(path))
            else:
                writer.write(table_block(pq.read_table(path), tasks, values, columns or None))
    return [str(writer.path)]


def sum_counts(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of several runs added key by key (nested dicts too)."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict):
                out[key] = sum_counts([out.get(key, {}), value])
            else:
                out[key] = out.get(key, 0) + value
    return out
