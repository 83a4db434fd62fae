"""The gene_expression writers (``grelu predict --genes``): parquet rows and the zarr store
hold the same genes and values, streamed in pieces, atomically; read back independently
(pyarrow, zarr, xarray)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from grelu_cli.core.gene_block import GENE_COLUMNS, GeneBlock
from grelu_cli.io.formats import gene_zarr
from grelu_cli.io.formats.gene_parquet import table_blocks
from grelu_cli.io.formats.registry import WriterSpec, open_writer

TASKS = ["a", "b", "c"]


def _block(lo: int, n: int, rng: np.random.Generator) -> GeneBlock:
    ids = np.arange(lo, lo + n)
    cols = {
        "gene_id": np.array([f"G{i}" for i in ids], dtype=object),
        "gene_name": np.array([f"N{i}" for i in ids], dtype=object),
        "gene_type": np.array(["protein_coding"] * n, dtype=object),
        "chrom": np.array(["chr1"] * n, dtype=object),
        "start": ids * 100,
        "end": ids * 100 + 50,
        "strand": np.array(["+-"[i % 2] for i in ids], dtype=object),
        "windows": np.ones(n, dtype=np.int64),
        "gene_bins": ids + 1,
        "covered": np.linspace(0.5, 1, n),
    }
    return GeneBlock(cols, rng.normal(size=(n, len(TASKS))).astype(np.float32) * 1e3)


def _write(fmt: str, path: Path, blocks: list[GeneBlock], **kw) -> None:
    spec = WriterSpec(str(path), TASKS, metadata={"x": 1}, kind="gene_expression", **kw)
    with open_writer(fmt, spec) as writer:
        for b in blocks:
            writer.write(b)


def test_zarr_appends_chunk_rows_and_equals_parquet(tmp_path: Path, monkeypatch):
    import xarray as xr

    monkeypatch.setattr(gene_zarr, "_ROWS", 4)  # several chunk rows and a short last one
    rng = np.random.default_rng(0)
    blocks = [_block(3 * i, 3, rng) for i in range(7)]  # 21 genes, in pieces of 3
    _write("parquet", tmp_path / "g.parquet", blocks)
    _write("zarr", tmp_path / "g.zarr", blocks)
    table = pq.read_table(tmp_path / "g.parquet")
    assert table.column_names == [*GENE_COLUMNS, "task", "value"]
    assert table.num_rows == 21 * 3
    ds = xr.open_zarr(tmp_path / "g.zarr")
    want = np.concatenate([b.values for b in blocks])
    np.testing.assert_array_equal(ds["value"].values, want)
    np.testing.assert_array_equal(table.column("value").to_numpy().reshape(21, 3), want)
    assert list(ds["gene_id"].values) == [f"G{i}" for i in range(21)]
    assert list(ds["gene"].values) == list(range(21))
    assert (
        ds["covered"].values.tolist()
        == np.concatenate([b.columns["covered"] for b in blocks]).tolist()
    )
    assert list(ds["task"].values) == TASKS
    assert ds.attrs["grelu"]["complete"] is True and ds.attrs["grelu"]["x"] == 1
    # parquet rows read back as the blocks written
    back = list(table_blocks(table, TASKS, rows=12))
    np.testing.assert_array_equal(np.concatenate([b.values for b in back]), want)
    assert list(np.concatenate([b.columns["gene_id"] for b in back])) == [
        f"G{i}" for i in range(21)
    ]


def test_float16_clips_and_counts(tmp_path: Path):
    rng = np.random.default_rng(1)
    block = _block(0, 2, rng)
    block.values[0, 0] = 1e6
    spec = WriterSpec(str(tmp_path / "h.zarr"), TASKS, kind="gene_expression", dtype="float16")
    with open_writer("zarr", spec) as writer:
        writer.write(block)
    assert writer.report().clipped == 1
    import zarr

    stored = zarr.open_group(str(tmp_path / "h.zarr"), mode="r")["value"][...]
    assert stored.dtype == np.float16 and stored[0, 0] == np.float16(65504)


def test_a_failed_write_leaves_nothing(tmp_path: Path):
    rng = np.random.default_rng(2)
    spec = WriterSpec(str(tmp_path / "f.zarr"), TASKS, kind="gene_expression")
    with pytest.raises(RuntimeError), open_writer("zarr", spec) as writer:
        writer.write(_block(0, 2, rng))
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
