"""Parquet writer for variant scores (``grelu variants``), streamed and atomic.

Long layout (default), one row per allele x task, columns in this order (CLI.md)::

    chrom, pos, id, ref, alt, allele, variant_type, ref_status, window_start, window_end,
    padded, task, ref_value, alt_value, <one float32 column per score, named by the score>

With ``--genes`` (result kind ``variant_genes``) the leading columns go on with
``gene_id, gene_name, gene_type, gene_strand, gene_bins`` (one row per allele x gene pair x
gene task) and the values are the gene statistics, then ``{stat}_quantile`` (CLI.md "genes").

Wide layout, one row per allele: the leading columns up to ``padded``, then for each task in
order its ``ref_value``, ``alt_value`` and scores, named ``{task}_{value}`` (e.g.
``K562_ref_value``, ``K562_diff``). The metadata lists the tasks and value names, so columns
can be split back without parsing names.

``chrom``, ``id``, ``ref``, ``alt`` are the input's (``id`` null when absent; alleles upper
case); ``pos`` is the 1-based VCF POS; ``allele`` the 1-based ALT index; coordinates int64;
values float32. Row groups hold a fixed number of rows whatever the batch size. File metadata
key ``grelu``: the provenance JSON (see :mod:`grelu_cli.io.formats.provenance`) plus ``output``
(format, layout, tasks, values, rows), written at close so counts can be filled in last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from grelu_cli.io.formats.registry import WriterSpec

from grelu_cli.core.variant_block import TEXT_COLUMNS as _STRINGS
from grelu_cli.core.variant_block import VARIANT_COLUMNS, VariantBlock
from grelu_cli.errors import UsageError
from grelu_cli.io.formats.parquet_base import (
    DEFAULT_ROW_GROUP_ROWS,
    ParquetFile,
    wide_row_group_rows,
)
from grelu_cli.io.formats.parquet_base import (
    METADATA_KEY as METADATA_KEY,  # the key readers look up
)

LAYOUTS = ("long", "wide")


def wide_columns(tasks: Sequence[str], values: Sequence[str]) -> list[str]:
    """Wide-layout value columns: ``{task}_{value}``, task by task."""
    return [f"{t}_{v}" for t in tasks for v in values]


class VariantParquetWriter(ParquetFile):
    """Write per-allele results to ``path`` (temporary file renamed at successful close).

    Args:
        path: output ``.parquet`` file.
        tasks: task names (T), the order of the values' task axis.
        scores: score names, in column order.
        layout: ``long`` or ``wide``.
        metadata: provenance record, kept as ``self.metadata`` and written at close.
        overwrite: replace an existing output.
        columns: the leading columns (default the per-allele ones; with ``--genes`` the
            per-gene ones follow).
        values: the value columns, instead of ``ref_value, alt_value, *scores``.
    """

    def __init__(
        self,
        path: str | Path,
        tasks: Sequence[str],
        scores: Sequence[str],
        *,
        layout: str = "long",
        metadata: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        row_group_rows: int | None = None,
        compression: str = "zstd",
        columns: Sequence[str] | None = None,
        values: Sequence[str] | None = None,
    ) -> None:
        if layout not in LAYOUTS:
            raise UsageError(f"--layout {layout!r} is not a layout", fix="use long or wide")
        super().__init__(path, metadata=metadata, overwrite=overwrite, compression=compression)
        self.tasks = [str(t) for t in tasks]
        self.scores = [str(s) for s in scores]
        self.values = (
            [str(v) for v in values]
            if values is not None
            else ["ref_value", "alt_value", *self.scores]
        )
        self.columns = list(columns or VARIANT_COLUMNS)
        self.layout = layout
        if layout == "wide":
            cols = wide_columns(self.tasks, self.values)
            clash = set(cols) & set(VARIANT_COLUMNS)
            if clash or len(set(cols)) != len(cols):
                bad = sorted(clash) or sorted({c for c in cols if cols.count(c) > 1})
                raise UsageError(
                    f"wide-layout columns would repeat or clash: {', '.join(bad[:3])}",
                    fix="use --layout long (task names must be unique)",
                )
            default = wide_row_group_rows(len(cols))
        else:
            default = DEFAULT_ROW_GROUP_ROWS
        self.row_group_rows = int(row_group_rows or default)
        self._buffer: list[Any] = []
        self._buffered = 0

    # -- the file ---------------------------------------------------------------------------
    def schema(self) -> Any:
        """The arrow schema of the layout's rows."""
        import pyarrow as pa

        fields = []
        for col in self.columns:
            if col in _STRINGS:
                fields.append(pa.field(col, pa.string(), nullable=col == "id"))
            else:
                fields.append(pa.field(col, pa.int64(), nullable=False))
        if self.layout == "long":
            fields.append(pa.field("task", pa.string(), nullable=False))
            fields += [pa.field(v, pa.float32(), nullable=False) for v in self.values]
        else:
            fields += [
                pa.field(c, pa.float32(), nullable=False)
                for c in wide_columns(self.tasks, self.values)
            ]
        return pa.schema(fields)

    def output_record(self) -> dict[str, Any]:
        out = {
            "format": "parquet",
            "layout": self.layout,
            "tasks": self.tasks,
            "values": self.values,
            "rows": self.rows_written,
        }
        if self.columns != list(VARIANT_COLUMNS):  # gene results name their leading columns
            out["columns"] = self.columns
        return out

    def flush_rest(self) -> None:
        self._flush(final=True)

    # -- writing ---------------------------------------------------------------------------
    def write(
        self,
        block: VariantBlock | Mapping[str, Sequence[Any]],
        ref_value: np.ndarray | None = None,
        alt_value: np.ndarray | None = None,
        scores: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Append the N alleles of ``block`` (or of ``columns, ref_value, alt_value, scores``:
        the :data:`VARIANT_COLUMNS`, N values each, and (N, T) values)."""
        import pyarrow as pa

        if self._writer is None:
            raise RuntimeError("VariantParquetWriter.write() outside an open writer")
        block = as_variant_block(block, ref_value, alt_value, scores)
        n, t = block.n, len(self.tasks)
        if block.values[self.values[0]].shape != (n, t):
            shape = block.values[self.values[0]].shape
            raise ValueError(f"values are {shape}, the writer was opened for {t} tasks")
        mats = [block.values[v] for v in self.values]
        arrays: list[Any] = []
        repeat = t if self.layout == "long" else 1
        rows = pa.array(np.repeat(np.arange(n), repeat)) if repeat > 1 else None
        for col in self.columns:
            values = block.columns[col]
            if col in _STRINGS:
                arr = pa.array(values, type=pa.string(), from_pandas=False)
                arrays.append(arr.take(rows) if rows is not None else arr)
            else:
                arrays.append(pa.array(np.repeat(np.asarray(values, dtype=np.int64), repeat)))
        if self.layout == "long":
            task_arr = pa.array(self.tasks, type=pa.string())
            arrays.append(task_arr.take(pa.array(np.tile(np.arange(t), n))))
            arrays += [pa.array(np.asarray(m, dtype=np.float32).reshape(-1)) for m in mats]
        else:
            stacked = np.stack([np.asarray(m, dtype=np.float32) for m in mats], axis=-1)
            flat = stacked.reshape(n, -1)  # (N, T * V), task-major like wide_columns()
            arrays += [pa.array(np.ascontiguousarray(flat[:, j])) for j in range(flat.shape[1])]
        table = pa.Table.from_arrays(arrays, schema=self._schema)
        self._buffer.append(table)
        self._buffered += table.num_rows
        if self._buffered >= self.row_group_rows:
            self._flush(final=False)

    def write_table(self, table: Any) -> None:
        """Append rows read back from a file this writer's kind wrote (a shard or a resume
        part, same tasks, scores and layout): the row groups come out as if the rows had
        been written here in the first place."""
        if self._writer is None:
            raise RuntimeError("VariantParquetWriter.write_table() outside an open writer")
        if table.num_rows == 0:
            return
        self._buffer.append(table.select(self._schema.names).cast(self._schema))
        self._buffered += table.num_rows
        if self._buffered >= self.row_group_rows:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        import pyarrow as pa

        if not self._buffered:
            return
        table = pa.concat_tables(self._buffer)
        size = self.row_group_rows
        start = 0
        while table.num_rows - start >= size or (final and start < table.num_rows):
            piece = table.slice(start, size)
            self.write_group(piece)
            start += piece.num_rows
        rest = table.slice(start)
        self._buffer = [rest] if rest.num_rows else []
        self._buffered = rest.num_rows


def as_variant_block(
    block: VariantBlock | Mapping[str, Sequence[Any]],
    ref_value: np.ndarray | None = None,
    alt_value: np.ndarray | None = None,
    scores: Mapping[str, np.ndarray] | None = None,
) -> VariantBlock:
    """``block``, or a :class:`VariantBlock` of ``columns, ref_value, alt_value, scores``."""
    if isinstance(block, VariantBlock):
        return block
    if ref_value is None or alt_value is None:
        raise TypeError("write(columns, ref_value, alt_value, scores) needs the values")
    columns = {
        c: np.asarray(list(block[c]), dtype=object if c in _STRINGS else np.int64)
        for c in VARIANT_COLUMNS
    }
    values = {"ref_value": ref_value, "alt_value": alt_value, **(scores or {})}
    return VariantBlock(columns, {k: np.asarray(v, dtype=np.float32) for k, v in values.items()})


def table_block(
    table: Any,
    tasks: Sequence[str],
    values: Sequence[str],
    columns: Sequence[str] | None = None,
) -> VariantBlock:
    """The :class:`VariantBlock` of a long-layout variant parquet table (a resume part or a
    shard): allele after allele, ``T`` rows each, tasks in order."""
    from grelu_cli.errors import InputDataError

    t = len(tasks)
    if t == 0 or table.num_rows % t:
        raise InputDataError(
            f"a part of {table.num_rows} rows does not hold whole alleles of {t} tasks",
            fix="delete the partial output and run again without --resume",
        )
    n = table.num_rows // t
    first = np.arange(n) * t
    out = {}
    for c in columns or VARIANT_COLUMNS:
        column = table.column(c).combine_chunks()
        column = column.take(first) if t > 1 else column
        if c in _STRINGS:
            out[c] = column.to_numpy(zero_copy_only=False).astype(object)
        else:
            out[c] = column.to_numpy().astype(np.int64)
    mats = {v: table.column(v).to_numpy().astype(np.float32).reshape(n, t) for v in values}
    return VariantBlock(out, mats)


def make_writer(spec: WriterSpec) -> VariantParquetWriter:
    """The registry's factory (:mod:`grelu_cli.io.formats.registry`, result kinds
    ``variants`` and ``variant_genes``)."""
    genes = spec.kind == "variant_genes"
    if genes and spec.layout != "long":
        raise UsageError(
            f"--layout {spec.layout}: gene scores are written in the long layout only",
            fix="drop --layout",
        )
    return VariantParquetWriter(
        spec.output,
        spec.tasks,
        [] if genes else list(spec.values)[2:],
        layout=spec.layout,
        metadata=spec.metadata,
        overwrite=spec.overwrite,
        compression=spec.compression or "zstd",
        columns=spec.columns or None,
        values=list(spec.values) if genes else None,
    )


def output_paths(output: str, tasks: Sequence[str]) -> list[Path]:
    """One file, whatever the tasks."""
    return [Path(output)]
