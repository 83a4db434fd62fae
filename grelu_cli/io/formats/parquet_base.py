"""What every grelu parquet writer shares: one file written atomically, row groups, metadata.

:class:`ParquetFile` opens the temporary file (:class:`~grelu_cli.io.fs.atomic.AtomicOutputs`)
with the subclass's arrow schema, writes whole row groups (:meth:`ParquetFile.write_group`),
and at close writes the file-level metadata key ``grelu`` (the provenance record plus the
subclass's ``output`` entry; written last, so run counts can be filled in after the last row)
and renames the file into place; on error nothing remains. The arrow schema is not embedded
(``store_schema=False``): the ``grelu`` key is then the only metadata, so pyarrow, pandas and
polars all see the final record. Subclasses
(:class:`~grelu_cli.io.formats.parquet.ParquetWriter` for tracks,
:class:`~grelu_cli.io.formats.variant_parquet.VariantParquetWriter` for variant rows) say what a
row is and how rows are buffered into groups.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grelu_cli.io.formats.provenance import to_json
from grelu_cli.io.fs.atomic import AllOrNothing, AtomicOutputs

METADATA_KEY = "grelu"
# ~1M rows: about 100 MB of buffered columns in the long layout, a few MB on disk.
DEFAULT_ROW_GROUP_ROWS = 1 << 16  # small buffer: peak RSS stays near flat as input grows
# Wide rows hold one value per task; keep row groups near the same number of values.
WIDE_VALUES_PER_GROUP = 1 << 22


def wide_row_group_rows(values_per_row: int) -> int:
    """Rows per row group of a wide layout (``values_per_row`` value columns): about
    :data:`WIDE_VALUES_PER_GROUP` values a group, between 1,024 and 2**16 rows."""
    per_row = WIDE_VALUES_PER_GROUP // max(1, values_per_row)
    return max(1024, min(DEFAULT_ROW_GROUP_ROWS, per_row))


class ParquetFile(AllOrNothing):
    """One parquet output file (see the module docstring).

    Args:
        path: the final ``.parquet`` path.
        metadata: provenance record, kept as ``self.metadata`` and written at close.
        overwrite: replace an existing output (otherwise OutputExistsError at open).
        compression: parquet codec.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        metadata: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        compression: str = "zstd",
    ) -> None:
        self.path = Path(path)
        self.paths = [self.path]
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.compression = compression
        self.rows_written = 0
        self._outputs = AtomicOutputs([self.path], overwrite=overwrite)
        self._writer: Any = None
        self._schema: Any = None

    # -- what a subclass says ----------------------------------------------------------------
    def schema(self) -> Any:
        """The arrow schema of a row."""
        raise NotImplementedError

    def output_record(self) -> dict[str, Any]:
        """The ``output`` entry of the metadata (format, layout, tasks, rows...)."""
        raise NotImplementedError

    def flush_rest(self) -> None:
        """Write the rows still buffered (the last, shorter row group)."""
        raise NotImplementedError

    # -- the file ------------------------------------------------------------------------------
    def open(self) -> None:
        """Check the output path and open the temporary file."""
        import pyarrow.parquet as pq

        self._outputs.open()
        try:
            self._schema = self.schema()
            self._writer = pq.ParquetWriter(
                self._outputs.temps[0],
                self._schema,
                compression=self.compression,
                store_schema=False,
            )
        except BaseException:
            self._outputs.abort()
            raise

    def write_group(self, table: Any) -> None:
        """Write ``table`` as one row group."""
        self._writer.write_table(table, row_group_size=table.num_rows)
        self.rows_written += table.num_rows

    def finish(self) -> None:
        """Leaving the ``with`` block without an error closes (and publishes) the output."""
        self.close()

    def close(self) -> None:
        """Write the last row group and the metadata, then rename the file into place."""
        try:
            self.flush_rest()
            record = {**self.metadata, "output": self.output_record()}
            self._writer.add_key_value_metadata({METADATA_KEY: to_json(record)})
            self._writer.close()
            self._writer = None
        except BaseException:
            self.abort()
            raise
        self._outputs.commit()

    def abort(self) -> None:
        """Discard everything written; no file remains at the final or temporary path."""
        if self._writer is not None:
            # The file is deleted next anyway; a failing close must not hide the first error.
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        self._outputs.abort()

    def report(self) -> Any:
        """What was written (:func:`grelu_cli.io.formats.registry.write_report`)."""
        from grelu_cli.io.formats.registry import WriteReport

        return WriteReport(rows=self.rows_written)
