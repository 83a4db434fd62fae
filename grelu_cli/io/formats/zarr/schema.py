"""What a grelu zarr store holds, and how one is created (atomically, under a temporary name).

:func:`create_store` writes every array's metadata and every coordinate (all windows of the
run are known before predicting, so any shard can build the whole store), but no ``preds``
chunk: ``preds`` reads NaN until a writer fills a window. :func:`publish_store` builds a store
under a unique temporary name and renames it into place; when several shard processes race,
exactly one rename wins (``rename`` onto an existing non-empty directory fails) and the others
delete their copy and join the winner's. Temporary names and the stale-copy cleaner are the
package's one scheme (:mod:`grelu_cli.io.fs.fsafe`); no store is ever created, replaced or
removed through a symbolic link.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from grelu_cli.core.choices import DTYPES
from grelu_cli.core.window import Window
from grelu_cli.errors import UsageError
from grelu_cli.io.formats.provenance import to_json
from grelu_cli.io.fs.fsafe import (
    check_no_links,
    fsync_dir,
    make_dir,
    new_token,
    partial_path,
    remove_stale,
    state_path,
)
from grelu_cli.io.fs.fsafe import remove_tree as remove_tree

ATTR = "grelu"
PREDS = "preds"
DIMS = ("window", "task", "bin")
WINDOW_COORDS = ("name", "chrom", "start", "end", "strand", "window_start", "window_end", "padded")
BIN_COORDS = ("bin_start", "bin_end")
RESERVED = frozenset({PREDS, *DIMS, *WINDOW_COORDS, *BIN_COORDS})
MARKER_DIR = (".grelu", "done")
TASK_CHUNK = 256
BIN_CHUNK = 1024
_WINDOW_ROWS = 1 << 16  # per-window coordinate arrays: windows per chunk
_BIN_COORD_VALUES = 1 << 20  # bin_start/bin_end: about 8 MB of int64 per chunk
_NODE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class WindowSource(Protocol):
    """Every window of the run (a :class:`~grelu_cli.genome.plan.WindowPlan` is one)."""

    def count(self) -> int: ...

    def window_list(self, lo: int, hi: int) -> list[Window]: ...


class BinSource(Protocol):
    """The kept output bins (a :class:`~grelu_cli.genome.bins.BinLayout` is one)."""

    @property
    def bins(self) -> np.ndarray: ...

    def coordinates(self, windows: Sequence[Window]) -> tuple[np.ndarray, np.ndarray]: ...


class WindowList:
    """A plain list of windows as a :class:`WindowSource` (tests, small runs)."""

    def __init__(self, windows: Sequence[Window]) -> None:
        self._windows = list(windows)

    def count(self) -> int:
        return len(self._windows)

    def window_list(self, lo: int, hi: int) -> list[Window]:
        return self._windows[lo:hi]


def codec() -> Any:
    """blosc zstd (level 3) with bit shuffle, one blosc block per 1 MB inner chunk (measured:
    smaller and faster than blosc's default blocks on fp32 predictions)."""
    from zarr.codecs import BloscCodec

    return BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle", blocksize=1 << 20)


def chunk_shapes(n_tasks: int, n_bins: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(inner chunk, shard) shapes of ``preds``: chunks of (1, 256, 1024), one shard per window.

    A shard must be a whole number of chunks, so it is rounded up past the array's edge
    (zarr stores the edge chunks whole and clips on read).
    """
    ct, cb = max(1, min(TASK_CHUNK, n_tasks)), max(1, min(BIN_CHUNK, n_bins))
    st, sb = -(-max(1, n_tasks) // ct) * ct, -(-max(1, n_bins) // cb) * cb
    return (1, ct, cb), (1, st, sb)


def task_variables(table: Any, tasks: Sequence[str]) -> dict[str, tuple[str, np.ndarray]]:
    """Tasks-table columns as (dim task) arrays: ``{variable name: (column, values (T,))}``.

    ``table`` is the model's tasks table restricted to the output tasks, in output order (a
    pandas DataFrame) or None. The ``name`` column is the ``task`` coordinate itself. A column
    whose name is taken by another variable, or is not a valid zarr node name, is stored as
    ``task_<column>``. Numbers stay numbers (nullable integers with missing values become
    float64 with NaN); everything else becomes strings, missing values "".
    """
    if table is None:
        return {}
    if len(table) != len(tasks):
        raise ValueError(f"tasks table has {len(table)} rows for {len(tasks)} output tasks")
    out: dict[str, tuple[str, np.ndarray]] = {}
    for column in table.columns:
        col = str(column)
        if col == "name":
            continue
        var = _NODE_NAME.sub("_", col).strip(".") or "column"
        if var != col or var in RESERVED or var.startswith("__"):
            var = f"task_{var}"
        while var in RESERVED or var in out:
            var = f"task_{var}"
        out[var] = (col, _column_values(table[column]))
    return out


def _column_values(series: Any) -> np.ndarray:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series.dtype) and not series.isna().any():
        return series.to_numpy(dtype=bool)
    if pd.api.types.is_integer_dtype(series.dtype) and not series.isna().any():
        return series.to_numpy(dtype=np.int64)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.array(["" if pd.isna(v) else str(v) for v in series], dtype=str)


@dataclass(frozen=True)
class StoreSpec:
    """Everything a store is created from.

    Attributes:
        tasks: output task names (T).
        task_table: tasks-table rows of the output tasks, in output order, or None.
        windows: every window of the run (W), in run order.
        bin_layout: the kept bins (B) and their genomic placement.
        dtype: "float32" or "float16".
        record: the root ``grelu`` attribute (provenance and output description).
    """

    tasks: tuple[str, ...]
    task_table: Any
    windows: WindowSource
    bin_layout: BinSource
    dtype: str
    record: dict[str, Any]


def create_store(path: Path, spec: StoreSpec) -> None:
    """Create the store at ``path`` (must not exist): metadata and coordinates, no predictions."""
    import zarr

    n_windows, n_tasks = spec.windows.count(), len(spec.tasks)
    bins = np.asarray(spec.bin_layout.bins, dtype=np.int64)
    n_bins = len(bins)
    group = zarr.open_group(str(path), mode="w-", zarr_format=3)
    chunks, shards = chunk_shapes(n_tasks, n_bins)
    preds = group.create_array(
        PREDS,
        shape=(n_windows, n_tasks, n_bins),
        chunks=chunks,
        shards=shards,
        dtype=spec.dtype,
        fill_value=np.nan,
        compressors=codec(),
        dimension_names=DIMS,
    )
    task_vars = task_variables(spec.task_table, spec.tasks)
    coordinate_array(group, "task", np.array(list(spec.tasks), dtype=str), ("task",))
    for var, (_, values) in task_vars.items():
        coordinate_array(group, var, values, ("task",))
    coordinate_array(group, "bin", bins, ("bin",))
    _window_coordinates(group, spec.windows, spec.bin_layout, n_windows, n_bins)
    names = [*WINDOW_COORDS, *BIN_COORDS, *task_vars]
    # CF convention, which xarray decodes: these variables are coordinates of ``preds``.
    preds.attrs["coordinates"] = " ".join(names)
    group.attrs[ATTR] = json.loads(to_json(spec.record))
    marker_dir(path).mkdir(parents=True)
    consolidate(path)


def coordinate_array(group: Any, name: str, values: np.ndarray, dims: tuple[str, ...]) -> Any:
    """A coordinate array ``name`` holding ``values`` (text or numbers) with ``dims``."""
    chunks = tuple(max(1, min(n, _WINDOW_ROWS)) for n in values.shape)
    text = values.dtype.kind in "UTO"
    array = group.create_array(
        name,
        shape=values.shape,
        chunks=chunks,
        dtype=str if text else values.dtype,
        # Strings keep zarr's default codecs (vlen-utf8 + zstd); blosc needs fixed-size items.
        compressors="auto" if text else codec(),
        dimension_names=dims,
    )
    if values.size:
        array[...] = values
    return array


def _window_coordinates(
    group: Any, windows: WindowSource, layout: BinSource, n_windows: int, n_bins: int
) -> None:
    """Per-window coordinates and (window, bin) bin spans, computed a slab at a time."""
    rows = max(1, min(n_windows, _BIN_COORD_VALUES // max(1, n_bins)))
    span = {
        key: group.create_array(
            key,
            shape=(n_windows, n_bins),
            chunks=(rows, max(1, n_bins)),
            dtype="int64",
            compressors=codec(),
            dimension_names=("window", "bin"),
        )
        for key in BIN_COORDS
    }
    columns: dict[str, list[Any]] = {key: [] for key in WINDOW_COORDS}
    for lo, part in _slabs(windows, n_windows, rows):
        hi = lo + len(part)
        starts, ends = layout.coordinates(part)
        span["bin_start"][lo:hi] = np.asarray(starts, dtype=np.int64)
        span["bin_end"][lo:hi] = np.asarray(ends, dtype=np.int64)
        for w in part:
            columns["name"].append(w.name)
            columns["chrom"].append(w.chrom if w.chrom is not None else "")
            columns["start"].append(w.start)
            columns["end"].append(w.end)
            columns["strand"].append(w.strand)
            columns["window_start"].append(w.window_start)
            columns["window_end"].append(w.window_end)
            columns["padded"].append(w.padded)
    coordinate_array(group, "window", np.arange(n_windows, dtype=np.int64), ("window",))
    for key, values in columns.items():
        kind = str if key in ("name", "chrom", "strand") else np.int64
        coordinate_array(group, key, np.array(values, dtype=kind).reshape(n_windows), ("window",))


def _slabs(windows: WindowSource, n_windows: int, rows: int) -> Iterator[tuple[int, list[Window]]]:
    step = max(rows, (4096 // rows) * rows)  # whole bin-coordinate chunks per slab
    for lo in range(0, n_windows, step):
        part = windows.window_list(lo, min(lo + step, n_windows))
        for i, w in enumerate(part):
            if w.index != lo + i:
                raise ValueError(f"window {lo + i} of the run has index {w.index}")
        yield lo, part


def partial_store(final: Path) -> Path:
    """Where an unsharded run builds its store: ``DIR/.NAME.partial/`` (a fixed name, so
    ``--resume`` finds it; the output's lock keeps two runs from sharing it)."""
    return state_path(final)


def marker_dir(store: Path) -> Path:
    """Where writers record which windows are done (see :mod:`.markers`)."""
    return Path(store).joinpath(*MARKER_DIR)


def consolidate(path: Path) -> None:
    """Write consolidated metadata (one read for xarray), quietly.

    zarr warns that consolidated metadata is not yet part of the v3 spec and that the
    ``.grelu`` folder is not a zarr node; both are expected here.
    """
    import zarr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zarr.consolidate_metadata(str(path))


def publish_store(
    final: Path, spec: Any, create: Callable[[Path, Any], None] | None = None
) -> bool:
    """Create the store at ``final`` unless it exists; True when this call created it.

    The store is built under ``DIR/.NAME.HOST-PID-RANDOM.partial`` (a folder made with
    ``mkdir``, so nothing planted there is followed) and renamed into place, so a store at
    ``final`` is always whole. Racing creators: one rename wins; the others get an error from
    ``rename`` (the target is a non-empty directory), delete their copy and return False. A
    copy left by a killed creator on this host (its pid is gone) is deleted; copies from other
    hosts of a shared file system are left alone (their pids mean nothing here). A symbolic
    link at ``final`` is refused (exit 2): shards would write through it. ``create(path,
    spec)`` builds the store (default :func:`create_store`: a predict store from a
    :class:`StoreSpec`; other result kinds pass their own).
    """
    final = Path(final)
    check_no_links(final, what="zarr store")
    if final.exists():
        return False
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(final, locked=False)
    temp = partial_path(final, new_token())
    try:
        make_dir(temp, "temporary store")
        (create or create_store)(temp, spec)
        try:
            os.rename(temp, final)
        except OSError:
            if not final.is_dir() or os.path.islink(final):
                raise
            remove_tree(temp)
            return False
    except BaseException:
        remove_tree(temp)
        raise
    fsync_dir(final.parent)
    return True


def rename_into_place(store: Path, final: Path, *, overwrite: bool = False) -> None:
    """Rename the finished store ``store`` to ``final``; an existing ``final`` is replaced only
    with ``overwrite`` (moved aside under a temporary name first, put back if the rename
    fails). A symbolic link at ``final`` counts as existing; with ``overwrite`` the link
    itself is replaced, its target is never touched."""
    from grelu_cli.errors import OutputExistsError

    final = Path(final)
    remove_stale(final, locked=False)  # an old store a killed --overwrite left aside
    trash = None
    if os.path.lexists(final):
        if not overwrite:
            raise OutputExistsError(
                f"output {final} already exists", fix="use --overwrite to replace it"
            )
        trash = partial_path(final, new_token())
        os.rename(final, trash)
    try:
        os.rename(store, final)
    except BaseException:
        if trash is not None:
            os.rename(trash, final)
        raise
    if trash is not None:
        remove_tree(trash)
    fsync_dir(final.parent)


def check_dtype(dtype: str) -> str:
    """``dtype`` if it is a stored value type, else UsageError."""
    if dtype not in DTYPES:
        raise UsageError(
            f"--dtype {dtype} is not one of {', '.join(DTYPES)}", fix="use float32 or float16"
        )
    return dtype
