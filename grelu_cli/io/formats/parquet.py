"""Parquet writer: streams :class:`~grelu_cli.core.block.Block` predictions to one parquet file.

Long layout (default), one row per window x task x bin, in this column order::

    name, chrom, start, end, strand, window_start, window_end, padded, task, bin,
    bin_start, bin_end, value

Wide layout, one row per window x bin: the same leading columns without ``task`` and
``value``, then one float32 column per task, named by the task.

Rows follow the input: windows in the order of the blocks (input order; the windows of a
tiled region are consecutive), then task (in the order given), then bin. Strings are stored
dictionary-encoded (parquet's default), integers as int64, values as float32; ``chrom`` is
null for FASTA input.

Row groups hold exactly ``row_group_rows`` rows (the last one fewer) whatever the block
sizes, so the file does not depend on the batch size. File-level metadata key ``grelu``
holds the provenance JSON (see :mod:`grelu_cli.io.formats.provenance`) plus an ``output`` entry
(format, layout, tasks, rows). It is written at close, so run counts can be filled in after
the last block: ``writer.metadata["counts"] = {...}``. Because of that the arrow schema is
not embedded in the file (``store_schema=False``): readers get plain string columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from grelu_cli.core.block import Block
from grelu_cli.core.choices import LAYOUTS
from grelu_cli.errors import UsageError
from grelu_cli.io.formats.parquet_base import (
    DEFAULT_ROW_GROUP_ROWS,
    ParquetFile,
    wide_row_group_rows,
)
from grelu_cli.io.formats.parquet_base import (
    METADATA_KEY as METADATA_KEY,  # the key readers look up
)

if TYPE_CHECKING:
    from grelu_cli.io.formats.registry import WriterSpec

LONG_COLUMNS = (
    "name",
    "chrom",
    "start",
    "end",
    "strand",
    "window_start",
    "window_end",
    "padded",
    "task",
    "bin",
    "bin_start",
    "bin_end",
    "value",
)
WIDE_LEADING_COLUMNS = tuple(c for c in LONG_COLUMNS if c not in ("task", "value"))

_STRANDS = ("+", "-")
_STRAND_CODES = {"+": 0, "-": 1}


def check_wide_task_names(tasks: Sequence[str]) -> None:
    """Raise UsageError if task names cannot be wide-layout column names."""
    seen: set[str] = set()
    for task in tasks:
        if task in WIDE_LEADING_COLUMNS:
            raise UsageError(
                f"task name '{task}' collides with the column '{task}' of the wide layout",
                fix="use --layout long",
            )
        if task in seen:
            raise UsageError(
                f"task name '{task}' appears twice; the wide layout needs one column per task",
                fix="select each task once, or use --layout long",
            )
        seen.add(task)


class ParquetWriter(ParquetFile):
    """Write blocks to ``path`` (atomically: a temporary file renamed at successful close).

    Args:
        path: output ``.parquet`` file.
        tasks: task names, in the order of the blocks' task axis (T).
        layout: "long" or "wide".
        metadata: provenance record (a dict; see
            :func:`grelu_cli.io.formats.provenance.build_provenance`); kept as ``self.metadata``
            and serialised at close.
        overwrite: replace an existing output (otherwise OutputExistsError).
        row_group_rows: rows per row group; default 2**16 (long), or about 4M values but at
            most 2**16 rows (wide).
        compression: parquet codec.
    """

    def __init__(
        self,
        path: str | Path,
        tasks: Sequence[str],
        *,
        layout: str = "long",
        metadata: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        row_group_rows: int | None = None,
        compression: str = "zstd",
    ) -> None:
        if layout not in LAYOUTS:
            raise UsageError(f"unknown parquet layout '{layout}'", fix="use long or wide")
        self.tasks = [str(t) for t in tasks]
        if layout == "wide":
            check_wide_task_names(self.tasks)
        if row_group_rows is None:
            wide = layout == "wide"
            row_group_rows = (
                wide_row_group_rows(len(self.tasks)) if wide else DEFAULT_ROW_GROUP_ROWS
            )
        if row_group_rows < 1:
            raise ValueError(f"row_group_rows must be positive, got {row_group_rows}")
        super().__init__(path, metadata=metadata, overwrite=overwrite, compression=compression)
        self.layout = layout
        self._leading = LONG_COLUMNS if layout == "long" else WIDE_LEADING_COLUMNS
        self.row_group_rows = row_group_rows
        self._chroms: dict[str, int] = {}
        self._buffer: list[dict[str, Any]] = []
        self._buffered = 0

    # -- the file ---------------------------------------------------------------------------
    def schema(self) -> Any:
        """The arrow schema of the layout's rows."""
        import pyarrow as pa

        string_dict = pa.dictionary(pa.int32(), pa.string())
        fields = []
        for col in self._leading:
            if col == "name":
                fields.append(pa.field(col, pa.string(), nullable=False))
            elif col in ("chrom", "strand", "task"):
                fields.append(pa.field(col, string_dict, nullable=col == "chrom"))
            elif col == "value":
                fields.append(pa.field(col, pa.float32(), nullable=False))
            else:
                fields.append(pa.field(col, pa.int64(), nullable=False))
        if self.layout == "wide":
            fields += [pa.field(task, pa.float32(), nullable=False) for task in self.tasks]
        return pa.schema(fields)

    def output_record(self) -> dict[str, Any]:
        return {
            "format": "parquet",
            "layout": self.layout,
            "tasks": self.tasks,
            "rows": self.rows_written,
        }

    def flush_rest(self) -> None:
        if self._buffered:
            self._flush()

    # -- writing ---------------------------------------------------------------------------
    def write(self, block: Block) -> None:
        """Append the rows of one block. values (N, T, B) with T == len(tasks)."""
        if self._writer is None:
            raise RuntimeError("ParquetWriter.write() outside an open writer")
        n, t, b = block.values.shape
        if t != len(self.tasks):
            raise ValueError(f"block has {t} tasks, the writer was opened for {len(self.tasks)}")
        per_window = self._window_columns(block)
        values = np.asarray(block.values, dtype=np.float32)
        if self.layout == "wide":
            # (T, N*B): each task's values for rows ordered window x bin, contiguous per task.
            values = np.ascontiguousarray(values.transpose(1, 0, 2)).reshape(t, n * b)
            total = n * b
        else:
            values = values.reshape(-1)
            total = n * t * b
        pos = 0
        while pos < total:
            take = min(total - pos, self.row_group_rows - self._buffered)
            self._buffer.append(self._rows(block, per_window, values, pos, pos + take))
            self._buffered += take
            pos += take
            if self._buffered == self.row_group_rows:
                self._flush()

    def _window_columns(self, block: Block) -> dict[str, Any]:
        """Per-window arrays (N,) that rows index into."""
        import pyarrow as pa

        windows = block.windows
        chrom_codes = np.empty(len(windows), dtype=np.int32)
        for i, w in enumerate(windows):
            if w.chrom is None:
                chrom_codes[i] = -1
            else:
                chrom_codes[i] = self._chroms.setdefault(w.chrom, len(self._chroms))
        try:
            strand = np.array([_STRAND_CODES[w.strand] for w in windows], dtype=np.int32)
        except KeyError as err:
            raise ValueError(f"window strand must be '+' or '-', got {err.args[0]!r}") from None
        return {
            "name": pa.array([w.name for w in windows], type=pa.string()),
            "chrom": chrom_codes,
            "start": np.array([w.start for w in windows], dtype=np.int64),
            "end": np.array([w.end for w in windows], dtype=np.int64),
            "strand": strand,
            "window_start": np.array([w.window_start for w in windows], dtype=np.int64),
            "window_end": np.array([w.window_end for w in windows], dtype=np.int64),
            "padded": np.array([w.padded for w in windows], dtype=np.int64),
        }

    def _rows(
        self, block: Block, per_window: dict[str, Any], values: np.ndarray, r0: int, r1: int
    ) -> dict[str, Any]:
        """Columns of rows ``r0:r1`` of this block (row index -> window, task, bin)."""
        import pyarrow as pa

        _, t, b = block.values.shape
        r = np.arange(r0, r1, dtype=np.int64)
        if self.layout == "long":
            win, rest = np.divmod(r, t * b)
            task, col = np.divmod(rest, b)
        else:
            win, col = np.divmod(r, b)
        rows: dict[str, Any] = {"name": per_window["name"].take(pa.array(win))}
        for key in ("chrom", "start", "end", "strand", "window_start", "window_end", "padded"):
            rows[key] = per_window[key][win]
        rows["bin"] = np.asarray(block.bins, dtype=np.int64)[col]
        rows["bin_start"] = np.asarray(block.bin_start, dtype=np.int64)[win, col]
        rows["bin_end"] = np.asarray(block.bin_end, dtype=np.int64)[win, col]
        if self.layout == "long":
            rows["task"] = task.astype(np.int32)
            rows["value"] = values[r0:r1]
        else:
            rows["values"] = values[:, r0:r1]
        return rows

    def _flush(self) -> None:
        """Write the buffered rows as one row group."""
        import pyarrow as pa

        pieces, self._buffer = self._buffer, []
        self._buffered = 0

        def cat(key: str) -> np.ndarray:
            return np.concatenate([p[key] for p in pieces])

        def dictionary(codes: np.ndarray, names: Sequence[str]) -> Any:
            # Only the values this row group uses, in code order: the bytes of a row
            # group then depend on its rows alone, not on what earlier blocks contained.
            null = codes < 0
            present = np.bincount(codes[~null], minlength=len(names)) > 0
            remap = (np.cumsum(present) - 1).astype(np.int32)
            # Index only the non-null rows: with FASTA input every chrom is null and the
            # dictionary is empty, so there is nothing to look up.
            indices = np.zeros(len(codes), dtype=np.int32)
            indices[~null] = remap[codes[~null]]
            return pa.DictionaryArray.from_arrays(
                pa.array(indices, type=pa.int32(), mask=null),
                pa.array([names[int(u)] for u in np.flatnonzero(present)], pa.string()),
            )

        columns: dict[str, Any] = {}
        for col in self._leading:
            if col == "name":
                columns[col] = pa.concat_arrays([p["name"] for p in pieces])
            elif col == "chrom":
                columns[col] = dictionary(cat(col), list(self._chroms))
            elif col == "strand":
                columns[col] = dictionary(cat(col), _STRANDS)
            elif col == "task":
                columns[col] = dictionary(cat(col), self.tasks)
            elif col == "value":
                columns[col] = pa.array(cat(col), type=pa.float32())
            else:
                columns[col] = pa.array(cat(col), type=pa.int64())
        if self.layout == "wide":
            stacked = np.concatenate([p["values"] for p in pieces], axis=1)
            for i, task in enumerate(self.tasks):
                columns[task] = pa.array(stacked[i], type=pa.float32())
        self.write_group(pa.Table.from_arrays(list(columns.values()), schema=self._schema))


def make_writer(spec: WriterSpec) -> ParquetWriter:
    """The registry's factory (:mod:`grelu_cli.io.formats.registry`)."""
    return ParquetWriter(
        spec.output,
        spec.tasks,
        layout=spec.layout,
        metadata=spec.metadata,
        overwrite=spec.overwrite,
        compression=spec.compression or "zstd",
    )


def output_paths(output: str, tasks: Sequence[str]) -> list[Path]:
    """One file, whatever the tasks."""
    return [Path(output)]
