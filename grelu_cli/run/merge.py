"""Join the shard outputs of ``predict --shard i/N`` (or ``variants --shard i/N``) into one
output (``grelu merge``).

The shards' rows are read back, in shard order, as the blocks the predictor produced and fed
into the same writer an unsharded run uses, so the merged parquet has the unsharded rows and
row groups, and merged bigWigs the unsharded values (overlaps across shard boundaries
averaged over every prediction).

Shards of a zarr run write into one store; merging it means finalizing it in place
(:func:`finalize`), and a finished store turns into bigWig files (:func:`store_to_tracks`).
"""

from __future__ import annotations

from typing import Any

from grelu_cli.errors import GreluCliError, UsageError
from grelu_cli.io.formats.merge import (
    check_outputs_not_inputs,
    merged_blocks,
    merged_record,
    order_shards,
)
from grelu_cli.io.formats.registry import WriterSpec, has_suffix, open_writer, output_paths


def merge_shards(inputs: list[str], output: str, overwrite: bool = False) -> list[str]:
    """Check that ``inputs`` are every shard of one run, then write what one unsharded run
    writes to ``output`` (parquet, or one bigWig per task for a bigWig run's shards).

    Returns the files written. An output that is also an input (by any name) is a
    UsageError before anything is read or written.
    """
    check_outputs_not_inputs(inputs, [output], replaces_dirs=has_suffix(output, "zarr"))
    shards = order_shards(inputs)
    first = shards[0][1]
    if first.get("command") == "variants":
        from grelu_cli.run.variants import merge_variant_shards

        return merge_variant_shards(shards, output, overwrite)
    if first.get("gene_expression") is not None:
        from grelu_cli.run.gene_merge import merge_gene_shards

        return merge_gene_shards(shards, output, overwrite)
    if first.get("command") == "ism":
        from grelu_cli.run.ism_merge import merge_ism_shards

        return merge_ism_shards(shards, output, overwrite)
    tasks = list(first["output"]["tasks"])
    record = merged_record(shards, output)
    bigwig = first.get("bigwig")
    if bigwig is not None:
        if has_suffix(output, "parquet"):
            raise UsageError(
                f"the shards are of a --format bigwig run but -o {output} is a parquet file",
                fix="give a directory (-o tracks/) or a template ('out/{task}.bw')",
            )
        check_outputs_not_inputs(inputs, output_paths("bigwig", output, tasks))
        sizes = [(str(c), int(n)) for c, n in bigwig["chrom_sizes"]]
        spec = WriterSpec(
            output, tasks, chrom_sizes=sizes, overlap=bigwig["overlap"], overwrite=overwrite
        )
        writer = open_writer("bigwig", spec)
    else:
        if not has_suffix(output, "parquet"):
            raise UsageError(
                f"the shards are parquet output but -o {output} does not end in .parquet",
                fix="pass -o merged.parquet",
            )
        spec = WriterSpec(
            output, tasks, metadata=record, layout=first["output"]["layout"], overwrite=overwrite
        )
        writer = open_writer("parquet", spec)
    with writer:
        for block in merged_blocks(shards):
            writer.write(block)
    return [str(p) for p in writer.paths]


def is_store(inputs: list[str]) -> bool:
    """Whether ``inputs`` is one zarr store (``grelu merge preds.zarr``)."""
    from grelu_cli.io.formats.zarr import is_zarr_path, read_record

    if len(inputs) != 1 or not is_zarr_path(inputs[0]):
        return False
    try:  # a variants run's zarr shard is merged like a parquet shard
        record = read_record(inputs[0])  # a gene store is never a shard: merge says so
        return record.get("command") != "variants" and "gene_expression" not in record
    except GreluCliError:
        return True  # finalizing it names the problem


def finalize(path: str) -> dict[str, Any]:
    """Complete a zarr store its shards wrote (every window done, counts, ``complete``);
    returns its final record. A finished store is left as it is."""
    from grelu_cli.io.formats.zarr import finalize_store

    return finalize_store(path)


def store_to_tracks(
    path: str,
    output: str,
    *,
    fmt: str | None = None,
    tasks: list[str] | None = None,
    overlap: str = "mean",
    overwrite: bool = False,
) -> tuple[list[str], int]:
    """bigWig files (one per task of ``tasks``, all when None) from a zarr store, finalizing
    it first if its shards are all written; returns (files, NaN/inf values not written)."""
    from grelu_cli.io.formats.registry import format_for
    from grelu_cli.io.formats.zarr import read_record, store_to_bigwig

    if format_for(output, fmt) != "bigwig":
        raise UsageError(
            f"a zarr store converts to bigWig only, but -o {output} is not a bigWig output",
            fix="give a directory (-o tracks/) or a template ('out/{task}.bw')",
        )
    every = [str(t) for t in (read_record(path).get("output") or {}).get("tasks") or []]
    check_outputs_not_inputs([path], [output, *output_paths("bigwig", output, tasks or every)])
    finalize(path)
    if read_record(path).get("command") == "ism":
        from grelu_cli.run.ism_merge import ism_store_to_tracks

        return ism_store_to_tracks(path, output, tasks=tasks, overlap=overlap, overwrite=overwrite)
    writer = store_to_bigwig(path, output, tasks=tasks, overlap=overlap, overwrite=overwrite)
    return [str(p) for p in writer.paths], int(sum(getattr(writer, "nonfinite", []) or [0]))
