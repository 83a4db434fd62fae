"""zarr writer for predicted expression per gene (``grelu predict --genes -o genes.zarr``).

Store layout (zarr v3; ``G`` genes written, ``K`` gene tasks)::

    zarr.json      root group; attribute ``grelu``: provenance, counts, ``output`` (format
                   zarr, layout genes, tasks, dtype, rows, clipped) and ``complete``
    value/         (gene, task) float32 (float16 with ``--dtype float16``: finite values
                   beyond +-65,504 clipped and counted)
    gene/          (gene,) 0-based row index
    gene_id/ gene_name/ gene_type/ chrom/ start/ end/ strand/ windows/ gene_bins/ covered/
                   (gene,) the parquet output's per-gene columns
    task/          (task,) gene task names

Genes are the parquet output's, in the same order, and ``value[i, j]`` equals its ``value``
of gene ``i``, task ``j`` (float32). ``value`` lists the per-gene arrays in its
``coordinates`` attribute, so ``xarray.open_zarr`` gives dims ``(gene, task)``. The store is
built under a temporary name while the output's lock is held and renamed into place at close;
nothing remains of it after an error.
"""

from __future__ import annotations

import json
import shutil
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
from grelu_cli.errors import InputDataError, OutputExistsError, UsageError
from grelu_cli.io.formats.provenance import to_json
from grelu_cli.io.formats.zarr.read import read_record
from grelu_cli.io.formats.zarr.schema import ATTR, codec, consolidate, rename_into_place
from grelu_cli.io.fs import lock
from grelu_cli.io.fs.atomic import AllOrNothing, new_token, partial_path
from grelu_cli.io.fs.fsafe import make_dir, make_parents, remove_stale

if TYPE_CHECKING:
    from grelu_cli.io.formats.registry import WriterSpec

DIMS = ("gene", "task")
_F16_MAX = float(np.finfo(np.float16).max)
_ROWS = 1 << 12  # genes per value chunk row


def check_gene_store_output(path: str | Path, *, overwrite: bool = False) -> None:
    """Raise if ``path`` cannot be written: a file, a directory that is not a grelu store
    (never replaced), or a store without ``overwrite``."""
    path = Path(path)
    if path.is_file():
        raise UsageError(f"output {path} is a file, not a zarr store", fix="choose another -o")
    if not path.exists():
        return
    try:
        read_record(path)
    except (InputDataError, OSError) as e:
        raise OutputExistsError(
            f"output {path} already exists and is not a grelu zarr store",
            fix="choose another -o, or delete it yourself",
        ) from e
    if not overwrite:
        raise OutputExistsError(
            f"output {path} already exists", fix="use --overwrite to replace it"
        )


class GeneZarrWriter(AllOrNothing):
    """Write :class:`~grelu_cli.core.gene_block.GeneBlock` rows into a new store at ``path``.

    Args:
        path: output ``NAME.zarr``.
        tasks: gene task names (K).
        metadata: provenance record, kept as ``self.metadata`` and written at close.
        overwrite: replace an existing store (at close; until then it stays intact).
        dtype: ``float32`` or ``float16``.
    """

    def __init__(
        self,
        path: str | Path,
        tasks: Sequence[str],
        *,
        metadata: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        dtype: str = "float32",
    ) -> None:
        self.path = Path(path)
        self.paths = [self.path]
        self.finals = (self.path,)
        self.tasks = [str(t) for t in tasks]
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.overwrite, self.dtype = overwrite, dtype
        self.rows_written = 0
        self.clipped = 0
        self.temp = partial_path(self.path, new_token())
        self._lock: Path | None = None
        self._group: Any = None
        self._values: list[np.ndarray] = []
        self._columns: dict[str, list[np.ndarray]] = {c: [] for c in GENE_COLUMNS}
        self._buffered = 0  # rows not yet written

    def open(self) -> None:
        """Check the output path, take its lock, create the temporary store."""
        import zarr

        check_gene_store_output(self.path, overwrite=self.overwrite)
        make_parents(self.path.parent)
        self._lock = lock.acquire(self.path)
        try:
            remove_stale(self.path)
            make_dir(self.temp, "temporary store")
            self._group = zarr.open_group(str(self.temp), mode="w-", zarr_format=3)
            self._create_arrays()
        except BaseException:
            self.abort()
            raise

    def write(self, block: GeneBlock) -> None:
        """Buffer the rows of ``block`` (G genes x K tasks)."""
        if self._group is None:
            raise RuntimeError("GeneZarrWriter.write() outside an open writer")
        if block.values.shape != (block.n, len(self.tasks)):
            raise ValueError(f"gene values are {block.values.shape}, expected K={len(self.tasks)}")
        if block.n == 0:
            return
        values = np.asarray(block.values, dtype=np.float32)
        if self.dtype == "float16":
            big = np.isfinite(values) & (np.abs(values) > _F16_MAX)
            self.clipped += int(big.sum())
            values = np.clip(values, -_F16_MAX, _F16_MAX).astype(np.float16)
        self._values.append(values)
        for c in GENE_COLUMNS:
            self._columns[c].append(np.asarray(block.columns[c]))
        self._buffered += block.n
        if self._buffered >= _ROWS:
            self._flush(final=False)

    def write_table(self, table: Any) -> None:
        """Rows read back from a gene parquet file (a resume part or shard)."""
        from grelu_cli.io.formats.gene_parquet import table_blocks

        for block in table_blocks(table, self.tasks):
            self.write(block)

    def finish(self) -> None:
        self.close()

    def report(self) -> Any:
        from grelu_cli.io.formats.registry import WriteReport

        return WriteReport(rows=self.rows_written, clipped=self.clipped)

    def close(self) -> None:
        """Write every array and the metadata, then rename the store into place."""
        if self._group is None:
            raise RuntimeError("GeneZarrWriter.close() outside an open writer")
        try:
            self._flush(final=True)
            output = {
                "format": "zarr",
                "layout": "genes",
                "tasks": self.tasks,
                "dtype": self.dtype,
                "rows": self.rows_written,
                "clipped": self.clipped,
            }
            record = {
                **self.metadata,
                "output": output,
                "layout": "genes",
                "dtype": self.dtype,
                "complete": True,
            }
            self._group.attrs[ATTR] = json.loads(to_json(record))
            self._group = None
            consolidate(self.temp)
            rename_into_place(self.temp, self.path, overwrite=self.overwrite)
        except BaseException:
            self.abort()
            raise
        self._release()

    def _create_arrays(self) -> None:
        """The empty arrays (rows are appended a chunk row at a time) and the task names."""
        k, group = len(self.tasks), self._group
        array = group.create_array(
            "value",
            shape=(0, k),
            chunks=(_ROWS, max(1, min(k, 1024))),
            dtype=self.dtype,
            fill_value=np.nan,
            compressors=codec(),
            dimension_names=DIMS,
        )
        array.attrs["coordinates"] = " ".join(("gene", *GENE_COLUMNS))
        for name in ("gene", *GENE_COLUMNS):
            text = name in GENE_STRING_COLUMNS
            kind: Any = str if text else (np.float64 if name in GENE_FLOAT_COLUMNS else np.int64)
            group.create_array(
                name,
                shape=(0,),
                chunks=(_ROWS,),
                dtype=kind,
                # Strings keep zarr's default codecs (vlen-utf8 + zstd); blosc needs fixed items.
                compressors="auto" if text else codec(),
                dimension_names=("gene",),
            )
        task = group.create_array(
            "task", shape=(k,), chunks=(max(1, k),), dtype=str, dimension_names=("task",)
        )
        if k:
            task[...] = np.array(self.tasks, dtype=str)

    def _flush(self, final: bool) -> None:
        """Append whole chunk rows of the buffered genes (every buffered one when ``final``)."""
        n = self._buffered
        keep = n if final else (n // _ROWS) * _ROWS
        if not keep:
            return
        a, z = self.rows_written, self.rows_written + keep
        values = np.concatenate(self._values, axis=0)
        columns = {"gene": np.arange(a, z, dtype=np.int64)}
        rest: dict[str, np.ndarray] = {}
        for c in GENE_COLUMNS:
            joined = np.concatenate(self._columns[c])
            kind: Any = (
                str
                if c in GENE_STRING_COLUMNS
                else (np.float64 if c in GENE_FLOAT_COLUMNS else np.int64)
            )
            columns[c] = np.asarray(joined[:keep], dtype=kind)
            rest[c] = joined[keep:]
        array = self._group["value"].with_config({"write_empty_chunks": True})
        array.resize((z, len(self.tasks)))
        if len(self.tasks):
            array[a:z] = values[:keep]
        for name, col in columns.items():
            arr = self._group[name]
            arr.resize((z,))
            arr[a:z] = col
        self._values = [values[keep:]] if keep < n else []
        self._columns = {c: ([rest[c]] if keep < n else []) for c in GENE_COLUMNS}
        self._buffered -= keep
        self.rows_written = z

    def abort(self) -> None:
        """Discard everything written; the temporary store is deleted."""
        self._group = None
        if self._lock is not None:
            shutil.rmtree(self.temp, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            lock.release(self._lock)
            self._lock = None


def read_gene_store(path: str | Path) -> Iterator[GeneBlock]:
    """The rows of a finished gene store as one :class:`GeneBlock` (values as float32)."""
    import zarr

    group: Any = zarr.open_group(str(path), mode="r")
    columns = {}
    for c in GENE_COLUMNS:
        values = np.asarray(group[c][...])
        columns[c] = values.astype(object) if c in GENE_STRING_COLUMNS else values
    yield GeneBlock(columns, np.asarray(group["value"][...], dtype=np.float32))


def make_writer(spec: WriterSpec) -> GeneZarrWriter:
    """The registry's factory (result kind ``gene_expression``)."""
    return GeneZarrWriter(
        spec.output, spec.tasks, metadata=spec.metadata, overwrite=spec.overwrite, dtype=spec.dtype
    )


def output_paths(output: str, tasks: Sequence[str]) -> list[Path]:
    """One store, whatever the tasks."""
    return [Path(output)]
