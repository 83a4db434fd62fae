"""Dense zarr writer for variant scores (``grelu variants -o effects.zarr``), streamed and atomic.

Store layout (zarr v3; ``V`` alleles scored, ``T`` tasks)::

    zarr.json                root group; attribute ``grelu``: provenance, counts, ``output``
                             (format zarr, tasks, values, rows) and ``complete``
    ref_value/ alt_value/    (variant, task) float32, one array per value; the scores follow,
    <score>/                 named by the score (``diff``, ``log2fc``, ``sad``...)
    variant/                 (variant,) 0-based row index
    chrom/ pos/ id/ ref/ alt/ allele/ variant_type/ ref_status/ window_start/ window_end/
    padded/                  (variant,) the parquet output's leading columns; ``id`` is ""
                             where the input had none (parquet: null)
    task/                    (task,) task names

With ``--genes`` (result kind ``variant_genes``) a row is an allele x gene *pair*: dims
``(pair, task)``, the per-gene columns (``gene_id`` .. ``gene_bins``) follow the per-allele
ones as ``(pair,)`` coordinates, one array per gene statistic (then ``{stat}_quantile``), and
at close ``percentiles`` (percentile,) with, per statistic, ``{stat}_pct`` (task, percentile):
the percentiles of the run's own values over all pairs at Calico's grid (``write_pct``).

The rows are the long parquet output's alleles in the same order, and ``ref_value[i, j]``
equals that output's ``ref_value`` at allele ``i``, task ``j`` exactly. Each value array lists
the per-variant arrays in its ``coordinates`` attribute, so ``xarray.open_zarr`` gives a
Dataset with dims ``(variant, task)`` and ``.sel(task=...)`` works.

Values are chunked ``(R, min(T, 1024))`` with R chosen for about 1 MB of float32 per chunk, and
appended a whole chunk row at a time (no chunk is rewritten); per-variant arrays in chunks of
65,536 rows. The store is built under ``DIR/.NAME.HOST-PID-RANDOM.partial`` while the output's lock
is held, and renamed into place at :meth:`VariantZarrWriter.close`; nothing remains of it after
an error. The number of alleles is not known in advance (skips are found while reading), so
arrays grow as rows arrive.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from grelu_cli.core.variant_block import TEXT_COLUMNS as _STRINGS
from grelu_cli.core.variant_block import VARIANT_COLUMNS, VariantBlock
from grelu_cli.errors import InputDataError, UsageError
from grelu_cli.io.formats.provenance import to_json
from grelu_cli.io.formats.variant_parquet import as_variant_block, table_block
from grelu_cli.io.formats.zarr.checks import check_variant_store_output
from grelu_cli.io.formats.zarr.read import read_record
from grelu_cli.io.formats.zarr.schema import ATTR, codec, consolidate, rename_into_place
from grelu_cli.io.fs import lock
from grelu_cli.io.fs.atomic import AllOrNothing, new_token, partial_path
from grelu_cli.io.fs.fsafe import make_dir, make_parents, remove_stale

if TYPE_CHECKING:
    from grelu_cli.io.formats.registry import WriterSpec

DIMS = ("variant", "task")
_TASK_CHUNK = 1024
_CHUNK_VALUES = 1 << 18  # float32 values per value chunk: 1 MB
_COORD_ROWS = 1 << 16  # per-variant arrays: rows per chunk


def value_chunk_rows(n_tasks: int) -> int:
    """Rows (alleles) per value chunk: about 1 MB of float32, at least 64 rows."""
    return max(64, _CHUNK_VALUES // max(1, min(n_tasks, _TASK_CHUNK)))


class VariantZarrWriter(AllOrNothing):
    """Write per-allele results into a new zarr store at ``path`` (see the module docstring).

    Same interface as :class:`~grelu_cli.io.formats.variant_parquet.VariantParquetWriter`: ``write``
    takes the N alleles of a batch, ``write_table`` rows read back from a long-layout variant
    parquet file (a resume part), and ``metadata`` is written at close.

    Args:
        path: output ``NAME.zarr``.
        tasks: task names (T), the order of the values' task axis.
        scores: score names, in array order.
        metadata: provenance record, kept as ``self.metadata`` and written at close.
        overwrite: replace an existing store (at close; until then it stays intact).
        columns: the leading columns (default the per-allele ones).
        values: the value arrays, instead of ``ref_value, alt_value, *scores``.
        percentiles: values whose percentiles at ``grid`` (fractions) are added at close.
        row_dim: the rows' dimension name (``variant``; ``pair`` for gene results).
    """

    def __init__(
        self,
        path: str | Path,
        tasks: Sequence[str],
        scores: Sequence[str],
        *,
        metadata: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        columns: Sequence[str] | None = None,
        values: Sequence[str] | None = None,
        percentiles: Sequence[str] = (),
        grid: np.ndarray | None = None,
        row_dim: str = "variant",
    ) -> None:
        self.path = Path(path)
        self.finals = (self.path,)  # what error messages name (AllOrNothing)
        self.tasks = [str(t) for t in tasks]
        self.scores = [str(s) for s in scores]
        self.values = (
            [str(v) for v in values]
            if values is not None
            else ["ref_value", "alt_value", *self.scores]
        )
        self.columns = list(columns or VARIANT_COLUMNS)
        self.row_dim = row_dim
        self.dims = (row_dim, "task")
        self.percentiles = [str(v) for v in percentiles]
        self.grid = None if grid is None else np.asarray(grid, dtype=np.float64)
        clash = set(self.values) & {*self.columns, *self.dims}
        if clash:
            raise UsageError(
                f"score name {sorted(clash)[0]!r} is taken by a coordinate", fix="rename it"
            )
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.overwrite = overwrite
        self.rows_written = 0
        self.chunk_rows = value_chunk_rows(len(self.tasks))
        self.temp = partial_path(self.path, new_token())
        self._lock: Path | None = None
        self._group: Any = None
        self._values: list[list[np.ndarray]] = [[] for _ in self.values]
        self._buffered = 0  # value rows not yet written
        self._columns: dict[str, list[np.ndarray]] = {c: [] for c in self.columns}
        self._column_rows = 0  # per-variant rows buffered
        self._coord_rows = 0  # per-variant rows written

    # -- opening and closing ---------------------------------------------------------------
    def open(self) -> None:
        """Check the output path, take its lock and create the (empty) store under a
        temporary name."""
        import zarr

        check_variant_store_output(self.path, overwrite=self.overwrite)
        make_parents(self.path.parent)
        self._lock = lock.acquire(self.path)
        try:
            # Temporary stores left by killed runs: no live writer owns one (we hold the lock).
            remove_stale(self.path)
            make_dir(self.temp, "temporary store")  # never through a link
            group = zarr.open_group(str(self.temp), mode="w-", zarr_format=3)
            n_tasks = len(self.tasks)
            chunks = (self.chunk_rows, max(1, min(n_tasks, _TASK_CHUNK)))
            coords = " ".join((self.row_dim, *self.columns))
            for name in self.values:
                array = group.create_array(
                    name,
                    shape=(0, n_tasks),
                    chunks=chunks,
                    dtype="float32",
                    fill_value=np.nan,
                    compressors=codec(),
                    dimension_names=self.dims,
                )
                array.attrs["coordinates"] = coords  # CF convention, decoded by xarray
            self._coordinate(group, self.row_dim, np.int64)
            for col in self.columns:
                self._coordinate(group, col, str if col in _STRINGS else np.int64)
            task = group.create_array(
                "task",
                shape=(n_tasks,),
                chunks=(max(1, n_tasks),),
                dtype=str,
                dimension_names=("task",),
            )
            if n_tasks:
                task[...] = np.array(self.tasks, dtype=str)
            self._group = group
        except BaseException:
            self.abort()
            raise

    def _coordinate(self, group: Any, name: str, dtype: Any) -> None:
        group.create_array(
            name,
            shape=(0,),
            chunks=(_COORD_ROWS,),
            dtype=dtype,
            # Strings keep zarr's default codecs (vlen-utf8 + zstd); blosc needs fixed items.
            compressors="auto" if dtype is str else codec(),
            dimension_names=(self.row_dim,),
        )

    def finish(self) -> None:
        self.close()

    def report(self) -> Any:
        """What was written (:func:`grelu_cli.io.formats.registry.write_report`)."""
        from grelu_cli.io.formats.registry import WriteReport

        return WriteReport(rows=self.rows_written)

    def close(self) -> None:
        """Write the buffered rows and the metadata, then rename the store into place."""
        if self._group is None:
            raise RuntimeError("VariantZarrWriter.close() outside an open writer")
        try:
            self._flush_values(final=True)
            self._flush_columns(final=True)
            self._write_percentiles()
            output = {
                "format": "zarr",
                "layout": "dense",
                "tasks": self.tasks,
                "values": self.values,
                "rows": self.rows_written,
            }
            if self.columns != list(VARIANT_COLUMNS):  # gene results name their columns
                output["columns"] = self.columns
            record = {**self.metadata, "output": output, "complete": True}
            self._group.attrs[ATTR] = json.loads(to_json(record))
            self._group = None
            consolidate(self.temp)
            rename_into_place(self.temp, self.path, overwrite=self.overwrite)
        except BaseException:
            self.abort()
            raise
        self._release()

    def abort(self) -> None:
        """Discard everything written; the temporary store is deleted."""
        self._group = None
        if self._lock is not None:  # the temporary name is ours only while we hold the lock
            shutil.rmtree(self.temp, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            lock.release(self._lock)
            self._lock = None

    # -- writing ---------------------------------------------------------------------------
    def write(
        self,
        block: VariantBlock | Mapping[str, Sequence[Any]],
        ref_value: np.ndarray | None = None,
        alt_value: np.ndarray | None = None,
        scores: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Append the N alleles of ``block`` (or of ``columns, ref_value, alt_value, scores``:
        the ``VARIANT_COLUMNS``, N values each, and (N, T) values)."""
        if self._group is None:
            raise RuntimeError("VariantZarrWriter.write() outside an open writer")
        block = as_variant_block(block, ref_value, alt_value, scores)
        n, t = block.n, len(self.tasks)
        if np.shape(block.values[self.values[0]]) != (n, t):
            shape = np.shape(block.values[self.values[0]])
            raise ValueError(f"values are {shape}, the writer was opened for {t} tasks")
        if n == 0:
            return
        for buf, name in zip(self._values, self.values, strict=True):
            buf.append(np.asarray(block.values[name], dtype=np.float32).reshape(n, t))
        for col in self.columns:
            values = block.columns[col]
            if col == "id":
                values = np.array(["" if v is None else v for v in values], dtype=object)
            self._columns[col].append(values)
        self._column_rows += n
        self._buffered += n
        if self._buffered >= self.chunk_rows:
            self._flush_values(final=False)
        if self._column_rows >= _COORD_ROWS:
            self._flush_columns(final=False)

    def write_table(self, table: Any) -> None:
        """Append rows of a long-layout variant parquet table (a resume part) with these tasks
        and scores: allele after allele, ``T`` rows each, tasks in order."""
        if table.num_rows == 0:
            return
        self.write(table_block(table, self.tasks, self.values, self.columns))

    def _flush_values(self, final: bool) -> None:
        """Write whole chunk rows (every buffered row when ``final``)."""
        if not self._buffered:
            return
        stacked = [np.concatenate(buf, axis=0) if len(buf) > 1 else buf[0] for buf in self._values]
        keep = self._buffered if final else (self._buffered // self.chunk_rows) * self.chunk_rows
        a, z = self.rows_written, self.rows_written + keep
        for name, mat in zip(self.values, stacked, strict=True):
            array = self._group[name].with_config({"write_empty_chunks": True})
            array.resize((z, len(self.tasks)))
            array[a:z] = mat[:keep]
        self._values = [[mat[keep:]] if keep < len(mat) else [] for mat in stacked]
        self._buffered -= keep
        self.rows_written = z

    def _flush_columns(self, final: bool) -> None:
        n = self._column_rows
        keep = n if final else (n // _COORD_ROWS) * _COORD_ROWS
        if not keep:
            return
        a, z = self._coord_rows, self._coord_rows + keep
        data = {self.row_dim: np.arange(a, z, dtype=np.int64)}
        for col in self.columns:
            kind = str if col in _STRINGS else np.int64
            joined = np.concatenate(self._columns[col])
            data[col] = np.asarray(joined[:keep], dtype=kind)
            self._columns[col] = [joined[keep:]] if keep < n else []
        self._column_rows -= keep
        for name, values in data.items():
            array = self._group[name]
            array.resize((z,))
            array[a:z] = values
        self._coord_rows = z

    def _write_percentiles(self) -> None:
        """``percentiles`` and ``{value}_pct`` (task, percentile): per task, the percentiles
        of the value over every row written, at ``grid`` (numpy's linear rule, as Calico's
        ``write_pct``; NaN when a task holds a NaN or no row was written)."""
        if not self.percentiles or self.grid is None:
            return
        n_tasks, grid = len(self.tasks), self.grid
        self._group.create_array(
            "percentiles", data=grid, compressors=codec(), dimension_names=("percentile",)
        )
        for name in self.percentiles:
            values = np.asarray(self._group[name][...], dtype=np.float32)
            if len(values):
                pct = np.percentile(values, 100 * grid, axis=0).T.astype(np.float32)
            else:
                pct = np.full((n_tasks, len(grid)), np.nan, dtype=np.float32)
            array = self._group.create_array(
                f"{name}_pct",
                shape=pct.shape,
                chunks=(max(1, min(n_tasks, _TASK_CHUNK)), len(grid)),
                dtype="float32",
                compressors=codec(),
                dimension_names=("task", "percentile"),
            )
            array[...] = pct


def read_variant_store(
    path: str | Path, rows_per_block: int | None = None
) -> Iterator[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]:
    """Yield ``(columns, values)`` blocks of a finished variant store, in row order:
    ``columns`` maps each ``VARIANT_COLUMNS`` name to an (N,) array (text as objects, ``id``
    None where empty),
    ``values`` each value name to an (N, T) float32 array."""
    import zarr

    record = read_record(path)
    if record.get("command") != "variants":
        raise InputDataError(f"{path} is not a grelu variants store", fix="check the path")
    group: Any = zarr.open_group(str(path), mode="r")
    names = list(record["output"]["values"])
    leading = list(record["output"].get("columns") or VARIANT_COLUMNS)
    n = int(record["output"]["rows"])
    step = rows_per_block or value_chunk_rows(len(record["output"]["tasks"])) * 16
    for a in range(0, n, step):
        z = min(n, a + step)
        columns: dict[str, np.ndarray] = {}
        for col in leading:
            values = np.asarray(group[col][a:z])
            if col == "id":
                columns[col] = np.array([str(v) or None for v in values], dtype=object)
            elif col in _STRINGS:
                columns[col] = np.array([str(v) for v in values], dtype=object)
            else:
                columns[col] = values.astype(np.int64)
        yield columns, {v: np.asarray(group[v][a:z], dtype=np.float32) for v in names}


def make_writer(spec: WriterSpec) -> VariantZarrWriter:
    """The registry's factory (:mod:`grelu_cli.io.formats.registry`, result kinds
    ``variants`` and ``variant_genes``)."""
    genes = spec.kind == "variant_genes"
    return VariantZarrWriter(
        spec.output,
        spec.tasks,
        [] if genes else list(spec.values)[2:],
        metadata=spec.metadata,
        overwrite=spec.overwrite,
        columns=spec.columns or None,
        values=list(spec.values) if genes else None,
        percentiles=spec.percentiles if genes else (),
        grid=spec.pct_grid if genes else None,
        row_dim="pair" if genes else "variant",
    )


def output_paths(output: str, tasks: Sequence[str]) -> list[Path]:
    """One store, whatever the tasks."""
    return [Path(output)]
