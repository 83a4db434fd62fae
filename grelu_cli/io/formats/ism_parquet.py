"""Parquet writer for ISM results (``grelu ism -o ism.parquet``), streamed and atomic
(result kind ``ism`` of the writer registry).

Long layout, one row per region x mutated position x mutant base x task, columns in this
order (CLI.md, "ism and attribute")::

    name, chrom, start, end, strand, window_start, window_end, position, pos, ref_base,
    alt_base, task, ref_value, alt_value, delta

``position`` is the window offset of the mutated base (genome orientation), ``pos`` its 0-based
genomic position (-1 for FASTA input), ``ref_value`` the reference window's target,
``alt_value`` the mutant's, ``delta`` the score (``--ism-score``). Rows of a region come
position by position, bases in A, C, G, T order (the reference base has no row), tasks in
output order. File metadata key ``grelu``: provenance plus ``output`` (format, tasks, rows).
:func:`table_blocks` reads rows back into :class:`~grelu_cli.core.ism_block.ISMBlock` s
(resume parts, shard merges, bigWig from parts).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from grelu_cli.core.ism_block import BASES, ISM_COLUMNS, ISMBlock, ref_codes, ref_letters
from grelu_cli.core.window import Window
from grelu_cli.io.formats.parquet_base import DEFAULT_ROW_GROUP_ROWS, ParquetFile

_STRINGS = ("name", "chrom", "strand", "ref_base", "alt_base", "task")
_FLOATS = ("ref_value", "alt_value", "delta")


def ism_schema() -> Any:
    import pyarrow as pa

    def kind(col: str) -> Any:
        if col in _STRINGS:
            return pa.string()
        return pa.float32() if col in _FLOATS else pa.int64()

    return pa.schema([(c, kind(c)) for c in ISM_COLUMNS])


def block_columns(block: ISMBlock, tasks: Sequence[str]) -> dict[str, np.ndarray]:
    """The long rows of one region: column name -> (rows,) array."""
    w, t = block.window, len(tasks)
    p_idx, b_idx = np.nonzero(~np.isnan(block.alt[:, :, 0])) if t else (np.zeros(0, int),) * 2
    n = len(p_idx) * t
    p = np.repeat(p_idx, t)
    b = np.repeat(b_idx, t)
    k = np.tile(np.arange(t), len(p_idx))
    letters = np.array(BASES, dtype=object)

    def same(value: Any) -> np.ndarray:
        return np.full(
            n, value, dtype=object if isinstance(value, str) or value is None else np.int64
        )

    return {
        "name": same(w.name),
        "chrom": same(w.chrom),
        "start": same(w.start),
        "end": same(w.end),
        "strand": same(w.strand),
        "window_start": same(w.window_start),
        "window_end": same(w.window_end),
        "position": block.offset[p],
        "pos": block.pos[p],
        "ref_base": ref_letters(block.ref)[p],
        "alt_base": letters[b],
        "task": np.asarray(list(tasks), dtype=object)[k],
        "ref_value": np.asarray(block.target_ref, np.float32)[k],
        "alt_value": block.alt[p, b, k].astype(np.float32),
        "delta": block.delta[p, b, k].astype(np.float32),
    }


class ISMParquetWriter(ParquetFile):
    """Write ISM blocks to ``path`` in the long layout (see the module docstring).

    Args:
        path: output ``.parquet`` file; tasks: output task names (T).
        metadata: provenance record; overwrite: replace an existing output.
        compression: parquet codec (resume parts use a fast one).
    """

    def __init__(
        self,
        path: str | Path,
        tasks: Sequence[str],
        *,
        metadata: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        compression: str = "zstd",
    ) -> None:
        super().__init__(path, metadata=metadata, overwrite=overwrite, compression=compression)
        self.tasks = [str(t) for t in tasks]
        self.group_rows = DEFAULT_ROW_GROUP_ROWS
        self._buffer: list[Any] = []
        self._buffered = 0
        self.regions = 0

    def schema(self) -> Any:
        return ism_schema()

    def output_record(self) -> dict[str, Any]:
        return {
            "format": "parquet",
            "layout": "long",
            "tasks": self.tasks,
            "rows": self.rows_written,
            "regions": self.regions,
        }

    def write(self, block: ISMBlock) -> None:
        """Append one region's rows."""
        import pyarrow as pa

        if self._writer is None:
            raise RuntimeError("ISMParquetWriter.write() outside an open writer")
        cols = block_columns(block, self.tasks)
        self._append(pa.table(cols, schema=self._schema))
        self.regions += 1

    def write_table(self, table: Any) -> None:
        """Append rows read back from an ISM parquet file (a resume part, a shard)."""
        self._append(table.select(list(ISM_COLUMNS)).cast(self._schema))
        self.regions += len(list(_region_runs(table)))

    def _append(self, table: Any) -> None:
        if table.num_rows == 0:
            return
        self._buffer.append(table)
        self._buffered += table.num_rows
        while self._buffered >= self.group_rows:
            self._flush(self.group_rows)

    def _flush(self, rows: int) -> None:
        import pyarrow as pa

        joined = pa.concat_tables(self._buffer) if len(self._buffer) > 1 else self._buffer[0]
        self.write_group(joined.slice(0, rows))
        rest = joined.slice(rows)
        self._buffer = [rest] if rest.num_rows else []
        self._buffered = rest.num_rows

    def flush_rest(self) -> None:
        if self._buffered:
            self._flush(self._buffered)


def _region_runs(table: Any) -> Iterator[tuple[int, int]]:
    """``[a, b)`` row ranges of each region, in order: a new region starts where its
    coordinates change or its (position, base, task) order starts again."""
    if table.num_rows == 0:
        return
    ident = [np.asarray(table.column(c).to_numpy(zero_copy_only=False)) for c in ISM_COLUMNS[:7]]
    pos = np.asarray(table.column("position").to_numpy(), dtype=np.int64)
    base = ref_codes(np.asarray(table.column("alt_base").to_numpy(zero_copy_only=False)))
    order = pos * 4 + base
    new = np.zeros(table.num_rows, dtype=bool)
    new[0] = True
    for col in ident:
        new[1:] |= col[1:] != col[:-1]
    new[1:] |= order[1:] < order[:-1]
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], table.num_rows]
    yield from zip(starts.tolist(), ends.tolist(), strict=True)


def table_blocks(table: Any, tasks: Sequence[str], first_index: int = 0) -> Iterator[ISMBlock]:
    """ISM long rows (of these ``tasks``, in order) -> one :class:`ISMBlock` per region; the
    regions' window indices count from ``first_index``."""
    t = len(tasks)
    cols = {c: table.column(c).to_numpy(zero_copy_only=False) for c in ISM_COLUMNS}
    for i, (a, z) in enumerate(_region_runs(table)):
        pos_col, base = cols["position"][a:z:t], ref_codes(cols["alt_base"][a:z:t])
        offsets, first = np.unique(pos_col, return_index=True)
        p_of = np.searchsorted(offsets, pos_col)
        delta = np.full((len(offsets), 4, t), np.nan, dtype=np.float32)
        alt = delta.copy()
        delta[p_of, base] = np.asarray(cols["delta"][a:z], np.float32).reshape(-1, t)
        alt[p_of, base] = np.asarray(cols["alt_value"][a:z], np.float32).reshape(-1, t)
        chrom = cols["chrom"][a]
        window = Window(
            index=first_index + i,
            region_index=first_index + i,
            name=str(cols["name"][a]),
            chrom=None if chrom is None else str(chrom),
            start=int(cols["start"][a]),
            end=int(cols["end"][a]),
            strand=str(cols["strand"][a]),
            window_start=int(cols["window_start"][a]),
            window_end=int(cols["window_end"][a]),
        )
        yield ISMBlock(
            window=window,
            offset=offsets.astype(np.int64),
            pos=np.asarray(cols["pos"][a:z:t], np.int64)[first],
            ref=ref_codes(cols["ref_base"][a:z:t][first]),
            delta=delta,
            alt=alt,
            target_ref=np.asarray(cols["ref_value"][a : a + t], np.float32),
        )


def make_writer(spec: Any) -> ISMParquetWriter:
    """The registry's factory (result kind ``ism``)."""
    return ISMParquetWriter(
        spec.output,
        spec.tasks,
        metadata=spec.metadata,
        overwrite=spec.overwrite,
        compression=spec.compression or "zstd",
    )


def output_paths(output: str, tasks: Sequence[str]) -> list[Path]:
    """One file, whatever the tasks."""
    return [Path(output)]
