"""VariantZarrWriter: rows appended across chunk boundaries read back exactly (zarr and
xarray), long parquet rows convert, and failures leave nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import xarray as xr
import zarr

from grelu_cli.errors import OutputExistsError
from grelu_cli.io.formats.variant_parquet import VARIANT_COLUMNS, VariantParquetWriter
from grelu_cli.io.formats.variant_zarr import VariantZarrWriter, read_variant_store

TASKS = ["A", "B", "C"]
SCORES = ["diff", "log2fc"]


def _batch(lo: int, n: int, rng: np.random.Generator):
    columns = {
        "chrom": [f"chr{1 + i % 2}" for i in range(lo, lo + n)],
        "pos": [100 + i for i in range(lo, lo + n)],
        "id": [None if i % 3 == 0 else f"rs{i}" for i in range(lo, lo + n)],
        "ref": ["A"] * n,
        "alt": ["G" if i % 2 else "GT" for i in range(lo, lo + n)],
        "allele": [1] * n,
        "variant_type": ["snv" if i % 2 else "ins" for i in range(lo, lo + n)],
        "ref_status": ["match"] * n,
        "window_start": [i * 10 for i in range(lo, lo + n)],
        "window_end": [i * 10 + 2048 for i in range(lo, lo + n)],
        "padded": [i % 5 for i in range(lo, lo + n)],
    }
    ref = rng.random((n, len(TASKS)), dtype=np.float32)
    alt = rng.random((n, len(TASKS)), dtype=np.float32)
    scores = {"diff": alt - ref, "log2fc": np.log2(alt / ref).astype(np.float32)}
    return columns, ref, alt, scores


def _write(writer, sizes: list[int], seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    batches, lo = [], 0
    with writer:
        for n in sizes:
            batch = _batch(lo, n, rng)
            writer.write(*batch)
            batches.append(batch)
            lo += n
    return batches


def _expected(batches):
    cols = {c: [v for b in batches for v in b[0][c]] for c in VARIANT_COLUMNS}
    vals = {
        "ref_value": np.concatenate([b[1] for b in batches]),
        "alt_value": np.concatenate([b[2] for b in batches]),
        **{s: np.concatenate([b[3][s] for b in batches]) for s in SCORES},
    }
    return cols, vals


def test_rows_across_chunk_boundaries_read_back_exactly(tmp_path: Path) -> None:
    out = tmp_path / "v.zarr"
    writer = VariantZarrWriter(out, TASKS, SCORES, metadata={"command": "variants", "x": 1})
    writer.chunk_rows = 7  # many flushes, a ragged tail
    batches = _write(writer, [3, 9, 1, 14, 5])
    cols, vals = _expected(batches)
    assert writer.rows_written == 32
    group = zarr.open_group(str(out), mode="r")
    for name, want in vals.items():
        assert group[name].shape == (32, 3)
        assert group[name].metadata.dimension_names == ("variant", "task")
        np.testing.assert_array_equal(group[name][:], want)
    assert group["pos"][:].tolist() == cols["pos"]
    assert group["id"][:].tolist() == ["" if v is None else v for v in cols["id"]]
    record = group.attrs["grelu"]
    assert record["complete"] is True and record["x"] == 1
    values = ["ref_value", "alt_value", *SCORES]
    assert record["output"] == {
        "format": "zarr",
        "layout": "dense",
        "tasks": TASKS,
        "values": values,
        "rows": 32,
    }
    ds = xr.open_zarr(out)
    assert ds["diff"].dims == ("variant", "task")
    assert ds["chrom"].dims == ("variant",) and "chrom" in ds.coords
    np.testing.assert_array_equal(ds["log2fc"].sel(task="B").values, vals["log2fc"][:, 1])
    back = list(read_variant_store(out, rows_per_block=10))
    assert [len(c["pos"]) for c, _ in back] == [10, 10, 10, 2]
    assert [v for c, _ in back for v in c["id"]] == cols["id"]
    np.testing.assert_array_equal(np.concatenate([v["diff"] for _, v in back]), vals["diff"])
    assert sorted(os.listdir(tmp_path)) == ["v.zarr"]


def test_long_parquet_rows_convert_exactly(tmp_path: Path) -> None:
    part = tmp_path / "part.parquet"
    batches = _write(VariantParquetWriter(part, TASKS, SCORES, metadata={}), [4, 6])
    out = tmp_path / "v.zarr"
    with VariantZarrWriter(out, TASKS, SCORES, metadata={"command": "variants"}) as writer:
        writer.write_table(pq.read_table(part))
    cols, vals = _expected(batches)
    group = zarr.open_group(str(out), mode="r")
    for name, want in vals.items():
        np.testing.assert_array_equal(group[name][:], want)
    assert group["chrom"][:].tolist() == cols["chrom"]


def test_an_error_leaves_nothing_and_an_existing_store_stays(tmp_path: Path) -> None:
    out = tmp_path / "v.zarr"
    _write(VariantZarrWriter(out, TASKS, SCORES, metadata={"command": "variants"}), [2])
    before = zarr.open_group(str(out), mode="r")["ref_value"][:]
    writer = VariantZarrWriter(out, TASKS, SCORES, metadata={"command": "variants"}, overwrite=True)
    with pytest.raises(RuntimeError, match="boom"), writer:
        writer.write(*_batch(0, 5, np.random.default_rng(1)))
        raise RuntimeError("boom")
    assert sorted(os.listdir(tmp_path)) == ["v.zarr"]  # no temporary store, no lock
    np.testing.assert_array_equal(zarr.open_group(str(out), mode="r")["ref_value"][:], before)
    with pytest.raises(OutputExistsError, match="already exists"):
        VariantZarrWriter(out, TASKS, SCORES).open()


def test_a_foreign_directory_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "data.zarr"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="not a grelu variants store"):
        VariantZarrWriter(out, TASKS, SCORES, overwrite=True).open()
    assert (out / "keep.txt").read_text() == "mine"


def test_no_rows_gives_an_empty_store(tmp_path: Path) -> None:
    out = tmp_path / "v.zarr"
    _write(VariantZarrWriter(out, TASKS, SCORES, metadata={"command": "variants"}), [])
    ds = xr.open_zarr(out)
    assert ds.sizes == {"variant": 0, "task": 3}
    assert list(read_variant_store(out)) == []


def test_a_killed_run_s_temporary_store_is_removed(tmp_path: Path) -> None:
    stale = tmp_path / ".v.zarr.12345-deadbeef.partial"
    (stale / "ref_value").mkdir(parents=True)
    other = tmp_path / ".w.zarr.12345-deadbeef.partial"  # another output's: left alone
    other.mkdir()
    _write(
        VariantZarrWriter(tmp_path / "v.zarr", TASKS, SCORES, metadata={"command": "variants"}), [2]
    )
    assert sorted(os.listdir(tmp_path)) == [".w.zarr.12345-deadbeef.partial", "v.zarr"]
