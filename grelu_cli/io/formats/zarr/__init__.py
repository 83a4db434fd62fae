"""Dense zarr v3 output: predictions as one ``(window, task, bin)`` array, written by shards.

Store layout (``preds.zarr/``)::

    zarr.json                root group; attribute ``grelu`` (provenance, layout, dtype,
                             complete, counts); consolidated metadata for xarray
    preds/                   (window, task, bin) float32 or float16, NaN where not written;
                             inner chunks (1, 256, 1024), one shard file per window
                             (zarr v3 sharding), blosc zstd with bit shuffle
    window/, task/, bin/     dimension coordinates (window index, task names, bin index)
    name/ chrom/ start/ end/ strand/ window_start/ window_end/ padded/
                             per-window coordinates (dim window); chrom "" for FASTA input
    bin_start/ bin_end/      (window, bin) genomic span of each bin
    <tasks-table columns>/   one array per column of the tasks table (dim task); a column
                             whose name is taken gets a ``task_`` prefix
    .grelu/done/             while the store is being written: one JSON marker per written
                             window range (removed when the store is finalized)

Modules: :mod:`.schema` (names, chunking, store creation), :mod:`.markers` (done-ness),
:mod:`.checks` (may a run write this output?),
:mod:`.writer` (:class:`ZarrWriter`), :mod:`.finalize` (:func:`finalize_store`), :mod:`.read`
(:func:`open_store`, :func:`store_blocks`, :func:`store_to_bigwig`). ``make_writer`` and
``output_paths`` are the writer registry's entry points
(:mod:`grelu_cli.io.formats.registry`). zarr is imported inside functions, so importing this
package stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grelu_cli.io.formats.zarr.checks import check_zarr_output
from grelu_cli.io.formats.zarr.finalize import finalize_store
from grelu_cli.io.formats.zarr.read import (
    ZarrStore,
    is_complete,
    is_zarr_path,
    open_store,
    read_record,
    store_blocks,
    store_to_bigwig,
)
from grelu_cli.io.formats.zarr.schema import DTYPES, WindowList, check_dtype
from grelu_cli.io.formats.zarr.writer import ZarrWriter

__all__ = [
    "DTYPES",
    "WindowList",
    "ZarrStore",
    "ZarrWriter",
    "check_dtype",
    "check_zarr_output",
    "finalize_store",
    "is_complete",
    "is_zarr_path",
    "make_writer",
    "open_store",
    "output_paths",
    "read_record",
    "store_blocks",
    "store_to_bigwig",
]


def make_writer(spec: Any) -> ZarrWriter:
    """The registry's factory (:mod:`grelu_cli.io.formats.registry`): a :class:`ZarrWriter`
    for a :class:`~grelu_cli.io.formats.registry.WriterSpec` that carries ``windows`` and
    ``bin_layout``."""
    if spec.windows is None or spec.bin_layout is None:
        raise ValueError("zarr output needs the run's windows and bin layout (WriterSpec)")
    return ZarrWriter(
        spec.output,
        spec.tasks,
        windows=spec.windows,
        bin_layout=spec.bin_layout,
        task_table=spec.task_table,
        dtype=spec.dtype,
        metadata=spec.metadata,
        window_range=spec.window_range,
        sharded=spec.sharded,
        resume=spec.resume,
        overwrite=spec.overwrite,
        chrom_sizes=spec.chrom_sizes,
    )


def output_paths(output: str, tasks: Sequence[str]) -> list[Path]:
    """One store (a directory), whatever the tasks."""
    return [Path(output.rstrip("/") or output)]
