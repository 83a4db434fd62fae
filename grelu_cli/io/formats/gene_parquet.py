"""Parquet writer for predicted expression per gene (``grelu predict --genes``), atomic.

One row per gene x gene task, columns in this order (CLI.md "genes")::

    gene_id, gene_name, gene_type, chrom, start, end, strand, windows, gene_bins, covered,
    task, value

``start, end``: the gene's exon span, 0-based half-open; ``windows``: model windows used;
``gene_bins``: output bins summed; ``covered``: fraction of the gene's exon bases (span bases
with ``--gene-span``) inside the predicted output spans; ``value`` float32. Rows go gene by
gene, tasks in order. File metadata key ``grelu``: the provenance record plus ``output``
(format, layout ``genes``, tasks, rows), written at close.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from grelu_cli.core.gene_block import (
    GENE_COLUMNS,
    GENE_FLOAT_COLUMNS,
    GENE_STRING_COLUMNS,
    GeneBlock,
)
from grelu_cli.io.formats.parquet_base import DEFAULT_ROW_GROUP_ROWS, ParquetFile

if TYPE_CHECKING:
    from grelu_cli.io.formats.registry import WriterSpec

#: Every column, in order.
COLUMNS = (*GENE_COLUMNS, "task", "value")


class GeneParquetWriter(ParquetFile):
    """Write :class:`~grelu_cli.core.gene_block.GeneBlock` rows to ``path``.

    Args:
        path: output ``.parquet`` file.
        tasks: gene task names (K), the order of the values' task axis.
        metadata: provenance record, kept as ``self.metadata`` and written at close.
        overwrite: replace an existing output.
        compression: parquet codec.
    """

    def __init__(
        self,
        path: str | Path,
        tasks: Sequence[str],
        *,
        metadata: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        compression: str = "zstd",
        row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
    ) -> None:
        super().__init__(path, metadata=metadata, overwrite=overwrite, compression=compression)
        self.tasks = [str(t) for t in tasks]
        self.row_group_rows = row_group_rows
        self._buffer: list[Any] = []
        self._buffered = 0

    def schema(self) -> Any:
        import pyarrow as pa

        fields = []
        for c in GENE_COLUMNS:
            if c in GENE_STRING_COLUMNS:
                fields.append(pa.field(c, pa.string()))
            elif c in GENE_FLOAT_COLUMNS:
                fields.append(pa.field(c, pa.float64()))
            else:
                fields.append(pa.field(c, pa.int64()))
        fields += [pa.field("task", pa.string()), pa.field("value", pa.float32())]
        return pa.schema(fields)

    def output_record(self) -> dict[str, Any]:
        return {
            "format": "parquet",
            "layout": "genes",
            "tasks": self.tasks,
            "rows": self.rows_written,
        }

    def write(self, block: GeneBlock) -> None:
        """Append the rows of ``block`` (G genes x K tasks)."""
        import pyarrow as pa

        g, k = block.n, len(self.tasks)
        if block.values.shape != (g, k):
            raise ValueError(f"gene values are {block.values.shape}, expected ({g}, {k})")
        if g == 0:
            return
        arrays = []
        for c in GENE_COLUMNS:
            arrays.append(
                pa.array(np.repeat(np.asarray(block.columns[c]), k), self._schema.field(c).type)
            )
        task = pa.DictionaryArray.from_arrays(
            pa.array(np.tile(np.arange(k, dtype=np.int32), g)), pa.array(self.tasks)
        ).cast(pa.string())
        arrays += [task, pa.array(block.values.reshape(-1).astype(np.float32))]
        self._buffer.append(pa.Table.from_arrays(arrays, schema=self._schema))
        self._buffered += g * k
        if self._buffered >= self.row_group_rows:
            self._flush()

    def write_table(self, table: Any) -> None:
        """Rows read back from a gene parquet file (a part or shard) with these tasks."""
        if table.num_rows:
            self._buffer.append(table.select(list(COLUMNS)).cast(self._schema))
            self._buffered += table.num_rows
            if self._buffered >= self.row_group_rows:
                self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if not self._buffer:
            return
        table = pa.concat_tables(self._buffer).combine_chunks()
        self._buffer, self._buffered = [], 0
        for a in range(0, table.num_rows, self.row_group_rows):
            self.write_group(table.slice(a, self.row_group_rows))

    def flush_rest(self) -> None:
        self._flush()


def table_blocks(table: Any, tasks: Sequence[str], rows: int = 1 << 16) -> Iterator[GeneBlock]:
    """:class:`GeneBlock` s of a gene parquet table (rows gene by gene, ``tasks`` in order)."""
    k = len(tasks)
    n = table.num_rows // max(1, k)
    if k and table.num_rows != n * k:
        raise ValueError(f"{table.num_rows} gene rows are not a multiple of {k} tasks")
    step = max(1, rows // max(1, k))
    for a in range(0, n, step):
        part = table.slice(a * k, min(step, n - a) * k)
        first = part.take(np.arange(0, part.num_rows, max(1, k)))
        columns = {}
        for c in GENE_COLUMNS:
            values = first.column(c).to_numpy(zero_copy_only=False)
            columns[c] = values.astype(object) if c in GENE_STRING_COLUMNS else values
        values = part.column("value").to_numpy().astype(np.float32).reshape(-1, k)
        yield GeneBlock(columns, values)


def make_writer(spec: WriterSpec) -> GeneParquetWriter:
    """The registry's factory (result kind ``gene_expression``)."""
    return GeneParquetWriter(
        spec.output,
        spec.tasks,
        metadata=spec.metadata,
        overwrite=spec.overwrite,
        compression=spec.compression or "zstd",
    )


def output_paths(output: str, tasks: Sequence[str]) -> list[Path]:
    """One file, whatever the tasks."""
    return [Path(output)]
