"""Calico's ``sed.h5`` layout for gene scores (``grelu variants --genes -o NAME.h5``), atomic.

The datasets ``borzoi_sed.py``'s ``initialize_output_h5`` and ``write_pct`` write, so that the
Borzoi paper's notebooks read the file unchanged (P = allele x gene pairs, S = alleles with at
least one gene, K = gene tasks)::

    si            (P,) int64     the pair's allele, an index into the (S,) datasets
    gene          (P,) bytes     gene_id
    snp           (S,) bytes     the VCF ID (``chrom:pos:ref:alt`` where it has none)
    chr           (S,) bytes     chromosome as in the input
    pos           (S,) uint32    the VCF's 1-based POS
    ref_allele, alt_allele (S,) bytes
    target_ids    (K,) bytes     gene task names
    target_labels (K,) bytes     the tasks table's ``description`` (else the names)
    <stat>        (P, K) float16 one per statistic, clipped to float16's range (Calico's
                                 ``clip_float``); ``{stat}_quantile`` likewise with --background
    percentiles   (279,) float64 Calico's grid, and ``{stat}_pct`` (K, 279) float16: per task
                                 the percentiles of the stored values (REF and ALT left out)

plus, beyond Calico's: ``gene_name``, ``gene_type``, ``gene_strand`` (P,) bytes and
``gene_bins`` (P,) int64, and the root attribute ``grelu`` (the provenance JSON, with
``output``). Consecutive pairs of the same allele share its ``si``. The file is written under a
temporary name and renamed into place at close; nothing remains of it after an error.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from grelu_cli.core.variant_block import VariantBlock
from grelu_cli.io.formats.provenance import to_json
from grelu_cli.io.fs.atomic import AllOrNothing, AtomicOutputs

if TYPE_CHECKING:
    from grelu_cli.io.formats.registry import WriterSpec

#: What the per-allele datasets are made of (block column -> dataset).
_ALLELE = (("chrom", "chr"), ("pos", "pos"), ("ref", "ref_allele"), ("alt", "alt_allele"))
_EXTRA = ("gene_name", "gene_type", "gene_strand")
_F16 = np.finfo(np.float16)
_ROWS = 4096  # chunk rows of the (P, K) datasets


def _bytes(values: Any) -> np.ndarray:
    return np.array([str(v).encode("utf-8") for v in values], dtype=object)


class VariantH5Writer(AllOrNothing):
    """Write gene scores in Calico's ``sed.h5`` layout (see the module docstring).

    Args:
        path: output ``NAME.h5``.
        tasks: gene task names (K), the order of the values' task axis.
        values: value names (statistics, then ``{stat}_quantile``).
        labels: (K,) task labels (``target_labels``); None: the names.
        percentiles: values whose ``{value}_pct`` is written at close, at ``grid``.
        metadata: provenance record, written at close.
        overwrite: replace an existing output.
    """

    def __init__(
        self,
        path: str | Path,
        tasks: Sequence[str],
        values: Sequence[str],
        *,
        labels: Sequence[str] | None = None,
        percentiles: Sequence[str] = (),
        grid: np.ndarray | None = None,
        metadata: Mapping[str, Any] | None = None,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        self.paths = [self.path]
        self.tasks = [str(t) for t in tasks]
        self.values = [str(v) for v in values]
        self.labels = [str(v) for v in (labels if labels is not None else self.tasks)]
        self.percentiles = [str(v) for v in percentiles]
        self.grid = None if grid is None else np.asarray(grid, dtype=np.float64)
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.rows_written = 0
        self.clipped = 0
        self._outputs = AtomicOutputs([self.path], overwrite=overwrite)
        self._file: Any = None
        self._alleles = 0
        self._last: tuple | None = None

    # -- opening and closing ---------------------------------------------------------------
    def open(self) -> None:
        import h5py

        self._outputs.open()
        try:
            f = h5py.File(self._outputs.temps[0], "w")
            self._file = f
            text = h5py.string_dtype("ascii")
            k = len(self.tasks)
            f.create_dataset("target_ids", data=np.array(self.tasks, "S"))
            f.create_dataset("target_labels", data=np.array(self.labels, "S"))
            for name, dtype in (
                ("si", np.int64),
                ("gene", "S"),
                *((c, "S") for c in _EXTRA),
                ("gene_bins", np.int64),
                ("snp", "S"),
                ("chr", "S"),
                ("pos", np.uint32),
                ("ref_allele", "S"),
                ("alt_allele", "S"),
            ):
                f.create_dataset(
                    name,
                    shape=(0,),
                    maxshape=(None,),
                    chunks=(_ROWS,),
                    dtype=text if dtype == "S" else dtype,
                )
            for name in self.values:
                f.create_dataset(
                    name,
                    shape=(0, k),
                    maxshape=(None, k),
                    chunks=(min(_ROWS, max(1, (1 << 20) // max(1, 2 * k))), max(1, k)),
                    dtype="float16",
                )
        except BaseException:
            self.abort()
            raise

    def finish(self) -> None:
        self.close()

    def close(self) -> None:
        """Write the percentiles and the metadata, then rename the file into place."""
        try:
            self._write_percentiles()
            output = {
                "format": "h5",
                "layout": "sed",
                "tasks": self.tasks,
                "values": self.values,
                "rows": self.rows_written,
                "alleles": self._alleles,
                "clipped": self.clipped,
            }
            record = {**self.metadata, "output": output}
            self._file.attrs["grelu"] = json.dumps(json.loads(to_json(record)))
            self._file.close()
            self._file = None
        except BaseException:
            self.abort()
            raise
        self._outputs.commit()

    def abort(self) -> None:
        if self._file is not None:
            with contextlib.suppress(Exception):  # deleted next; keep the first error
                self._file.close()
            self._file = None
        self._outputs.abort()

    def report(self) -> Any:
        from grelu_cli.io.formats.registry import WriteReport

        return WriteReport(rows=self.rows_written, clipped=self.clipped)

    # -- writing ---------------------------------------------------------------------------
    def write(self, block: VariantBlock) -> None:
        """Append the P pairs of a gene block (per-allele and per-gene columns, (P, K)
        values)."""
        if self._file is None:
            raise RuntimeError("VariantH5Writer.write() outside an open writer")
        n, k = block.n, len(self.tasks)
        if n == 0:
            return
        c = block.columns
        ids = [
            str(i) if i is not None else f"{ch}:{p}:{r}:{a}"
            for i, ch, p, r, a in zip(
                c["id"], c["chrom"], c["pos"], c["ref"], c["alt"], strict=True
            )
        ]
        keys = list(zip(ids, c["chrom"], c["pos"], c["ref"], c["alt"], c["allele"], strict=True))
        si = np.empty(n, dtype=np.int64)
        first: list[int] = []
        for j, key in enumerate(keys):
            if key != self._last:
                first.append(j)
                self._alleles += 1
                self._last = key
            si[j] = self._alleles - 1
        f = self._file
        self._append("si", si)
        self._append("gene", _bytes(c["gene_id"]))
        for col in _EXTRA:
            self._append(col, _bytes(c[col]))
        self._append("gene_bins", np.asarray(c["gene_bins"], dtype=np.int64))
        if first:
            at = np.asarray(first)
            self._append("snp", _bytes([ids[j] for j in first]))
            self._append("chr", _bytes(c["chrom"][at]))
            self._append("pos", np.asarray(c["pos"][at], dtype=np.uint32))
            self._append("ref_allele", _bytes(c["ref"][at]))
            self._append("alt_allele", _bytes(c["alt"][at]))
        a = self.rows_written
        for name in self.values:
            v = np.asarray(block.values[name], dtype=np.float32).reshape(n, k)
            big = np.abs(v) > _F16.max
            self.clipped += int(big.sum())
            ds = f[name]
            ds.resize((a + n, k))
            ds[a : a + n] = np.clip(v, _F16.min, _F16.max).astype(np.float16)
        self.rows_written = a + n

    def _append(self, name: str, values: np.ndarray) -> None:
        ds = self._file[name]
        a = ds.shape[0]
        ds.resize((a + len(values),))
        ds[a:] = values

    def _write_percentiles(self) -> None:
        """``percentiles`` and ``{stat}_pct`` as Calico's ``write_pct``: the percentiles of
        the stored float16 values, per task, cast to float16."""
        if not self.percentiles or self.grid is None:
            return
        f, k = self._file, len(self.tasks)
        f.create_dataset("percentiles", data=self.grid)
        for name in self.percentiles:
            values = np.asarray(f[name][...])
            if len(values):
                pct = np.percentile(values, 100 * self.grid, axis=0).T
            else:
                pct = np.full((k, len(self.grid)), np.nan)
            f.create_dataset(f"{name}_pct", data=pct.astype("float16"), dtype="float16")


def make_writer(spec: WriterSpec) -> VariantH5Writer:
    """The registry's factory (:mod:`grelu_cli.io.formats.registry`, result kind
    ``variant_genes``)."""
    table = spec.task_table
    labels = (spec.metadata.get("genes") or {}).get("task_labels")  # a run's, or merged shards'
    if table is not None and "description" in getattr(table, "columns", ()):
        labels = [str(v) for v in table["description"]]
    return VariantH5Writer(
        spec.output,
        spec.tasks,
        list(spec.values),
        labels=labels,
        percentiles=spec.percentiles,
        grid=spec.pct_grid,
        metadata=spec.metadata,
        overwrite=spec.overwrite,
    )


def output_paths(output: str, tasks: Sequence[str]) -> list[Path]:
    """One file, whatever the tasks."""
    return [Path(output)]
