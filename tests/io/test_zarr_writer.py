"""ZarrWriter (unsharded): layout, codecs, coordinates, values and atomicity, read back with
zarr and xarray, and compared with the parquet writer on the same blocks."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import xarray as xr
import zarr

from grelu_cli.core.window import Window
from grelu_cli.errors import InputDataError, OutputExistsError
from grelu_cli.genome.bins import BinLayout
from grelu_cli.io.formats.parquet import ParquetWriter
from grelu_cli.io.formats.zarr import ZarrWriter, open_store, read_record, store_blocks
from grelu_cli.io.formats.zarr.schema import partial_store
from tests.io.zarr_helpers import (
    CHROM_SIZES,
    FINGERPRINT,
    LAYOUT,
    N_BINS,
    N_TASKS,
    TASKS,
    blocks,
    run_windows,
    task_table,
    values_of,
)

META = {"tool": "grelu-cli", "options": {"dtype": "float32"}, "counts": {"windows": 18}}


def write_store(path, dtype="float32", batch=3, **kwargs):
    writer = ZarrWriter(
        path,
        TASKS,
        windows=run_windows(),
        bin_layout=LAYOUT,
        task_table=task_table(),
        dtype=dtype,
        metadata=META,
        fingerprint=FINGERPRINT,
        chrom_sizes=CHROM_SIZES,
        **kwargs,
    )
    with writer:
        for block in blocks(batch=batch):
            writer.write(block)
    return writer


def reference() -> np.ndarray:
    return np.stack([values_of(w.index) for w in run_windows()])


def test_layout_chunks_codecs_and_dimension_names(tmp_path):
    path = tmp_path / "preds.zarr"
    write_store(path)
    group = zarr.open_group(str(path), mode="r")
    preds = group["preds"]
    assert preds.shape == (18, N_TASKS, N_BINS) and preds.dtype == np.float32
    assert preds.chunks == (1, 256, 1024)
    assert preds.shards == (1, 512, 2048)  # one shard file per window
    meta = json.loads((path / "preds" / "zarr.json").read_text())
    assert meta["dimension_names"] == ["window", "task", "bin"]
    sharding = meta["codecs"][0]
    assert sharding["name"] == "sharding_indexed"
    blosc = next(c for c in sharding["configuration"]["codecs"] if c["name"] == "blosc")
    assert blosc["configuration"]["cname"] == "zstd"
    assert blosc["configuration"]["shuffle"] == "bitshuffle"
    shard_files = sorted(
        p.relative_to(path / "preds").as_posix()
        for p in (path / "preds" / "c").rglob("*")
        if p.is_file()
    )
    assert shard_files == sorted(f"c/{w}/0/0" for w in range(18))
    assert np.array_equal(preds[:], reference())
    for key, dims in [("bin_start", ["window", "bin"]), ("task", ["task"]), ("name", ["window"])]:
        assert json.loads((path / key / "zarr.json").read_text())["dimension_names"] == dims
    assert not (path / ".grelu").exists()  # done markers are gone once finalized
    assert not partial_store(path).exists()


def test_coordinates_and_record(tmp_path):
    path = tmp_path / "preds.zarr"
    write_store(path)
    group = zarr.open_group(str(path), mode="r")
    windows = run_windows()
    assert group["name"][:].tolist() == [w.name for w in windows]
    assert group["chrom"][:].tolist() == [w.chrom for w in windows]
    for key in ("start", "end", "window_start", "window_end", "padded"):
        assert group[key][:].tolist() == [getattr(w, key) for w in windows], key
    assert group["strand"][:].tolist() == [w.strand for w in windows]
    start, end = LAYOUT.coordinates(windows)
    assert np.array_equal(group["bin_start"][:], start)
    assert np.array_equal(group["bin_end"][:], end)
    assert group["bin"][:].tolist() == list(range(N_BINS))
    assert group["task"][:].tolist() == TASKS
    table = task_table()
    assert group["assay"][:].tolist() == table["assay"].tolist()
    assert group["task_strand"][:].tolist() == table["strand"].tolist()  # "strand" is taken
    assert group["strand_pair"].dtype == np.int64
    assert group["strand_pair"][:].tolist() == table["strand_pair"].tolist()
    assert group["description"][:].tolist()[4] == ""  # missing value
    record = read_record(path)
    assert record["complete"] is True and record["dtype"] == "float32"
    assert record["layout"] == ["window", "task", "bin"]
    assert record["fingerprint"] == FINGERPRINT and record["tool"] == "grelu-cli"
    assert record["counts"]["windows_written"] == 18 and record["counts"]["windows"] == 18
    assert record["output"]["task_columns"]["task_strand"] == "strand"
    assert record["chrom_sizes"] == [list(c) for c in CHROM_SIZES]


def test_xarray_reads_named_dims_and_coordinates(tmp_path):
    path = tmp_path / "preds.zarr"
    write_store(path)
    ds = xr.open_zarr(path)
    assert ds["preds"].dims == ("window", "task", "bin")
    coords = set(ds["preds"].coords)
    assert {"task", "bin", "window", "name", "chrom", "strand", "bin_start", "bin_end"} <= coords
    assert {"assay", "task_strand", "strand_pair", "scale", "description"} <= coords
    assert ds["bin_start"].dims == ("window", "bin")
    one = ds["preds"].sel(task="track7").values
    assert np.array_equal(one, reference()[:, 7, :])
    cage = ds["preds"].where(ds["assay"] == "CAGE", drop=True)
    assert cage.sizes["task"] == N_TASKS // 2
    assert ds["preds"].isel(window=3).sel(bin=slice(10, 19)).shape == (N_TASKS, 10)
    assert ds.attrs["grelu"]["complete"] is True


def test_values_and_coordinates_equal_the_parquet_writer(tmp_path):
    path = tmp_path / "preds.zarr"
    write_store(path)
    with ParquetWriter(tmp_path / "p.parquet", TASKS, layout="wide", metadata=META) as pw:
        for block in blocks():
            pw.write(block)
    table = pq.read_table(tmp_path / "p.parquet")
    ds = xr.open_zarr(path)
    wide = np.stack([table[t].to_numpy() for t in TASKS])  # (T, W*B)
    assert np.array_equal(wide.reshape(N_TASKS, 18, N_BINS).transpose(1, 0, 2), ds["preds"].values)
    firsts = table.slice(0, len(table)).to_pydict()
    for key in ("name", "chrom", "start", "end", "strand", "window_start", "window_end", "padded"):
        assert firsts[key][::N_BINS] == ds[key].values.tolist(), key
    assert np.array_equal(np.asarray(firsts["bin_start"]).reshape(18, N_BINS), ds["bin_start"])
    assert np.array_equal(np.asarray(firsts["bin"][:N_BINS]), ds["bin"])


def test_aggregate_one_bin_equals_parquet_long(tmp_path):
    layout = BinLayout(
        seq_len=1030,
        bin_size=1,
        crop_len=0,
        n_out=1030,
        pooled=False,
        first=5,
        n_keep=1000,
        aggregate="mean",
    )
    windows = run_windows()
    values = np.stack([values_of(w.index)[:3].mean(axis=1, keepdims=True) for w in windows])
    block = layout.block(values, windows)
    w = ZarrWriter(
        tmp_path / "a.zarr", TASKS[:3], windows=windows, bin_layout=layout, metadata=META
    )
    with w:
        w.write(block)
    with ParquetWriter(tmp_path / "a.parquet", TASKS[:3], metadata=META) as pw:
        pw.write(block)
    table = pq.read_table(tmp_path / "a.parquet").to_pydict()
    ds = xr.open_zarr(tmp_path / "a.zarr")
    assert ds["preds"].shape == (18, 3, 1)
    assert (
        np.asarray(table["value"], dtype=np.float32).tolist() == ds["preds"].values.ravel().tolist()
    )
    assert table["bin_start"][::3] == ds["bin_start"].values.ravel().tolist()
    assert table["bin_end"][::3] == ds["bin_end"].values.ravel().tolist()


def test_float16_clips_and_counts(tmp_path):
    windows = run_windows()[:4]
    values = np.stack([values_of(w.index, 2, N_BINS) for w in windows])
    values[0, 0, :3] = [70000.0, -1e9, 65519.0]  # out of range (65519 rounds to 65504 anyway)
    values[2, 1, 7] = 1e6
    values[3, 0, 0], values[3, 0, 1], values[3, 1, 2] = np.inf, -np.inf, np.nan
    block = LAYOUT.block(values, windows)
    path = tmp_path / "h.zarr"
    w = ZarrWriter(
        path, TASKS[:2], windows=windows, bin_layout=LAYOUT, dtype="float16", metadata=META
    )
    with w:
        w.write(block)
    assert w.clipped == 4
    stored = zarr.open_group(str(path), mode="r")["preds"][:]
    assert stored.dtype == np.float16
    m = float(np.finfo(np.float16).max)
    assert stored[0, 0, :3].tolist() == [m, -m, m] and stored[2, 1, 7] == m
    assert stored[3, 0, 0] == np.inf and stored[3, 0, 1] == -np.inf and np.isnan(stored[3, 1, 2])
    ok = np.isfinite(values) & (np.abs(values) <= m)
    assert np.array_equal(stored[ok], values[ok].astype(np.float16))
    record = read_record(path)
    assert record["dtype"] == "float16" and record["counts"]["clipped"] == 4


def test_output_appears_only_when_complete_and_abort_leaves_nothing(tmp_path):
    path = tmp_path / "sub" / "preds.zarr"
    writer = ZarrWriter(path, TASKS, windows=run_windows(), bin_layout=LAYOUT, metadata=META)
    with pytest.raises(RuntimeError, match="boom"), writer:
        writer.write(blocks()[0])
        assert partial_store(path).is_dir() and not path.exists()
        raise RuntimeError("boom")
    assert not path.exists() and not partial_store(path).exists()
    assert [p.name for p in (tmp_path / "sub").iterdir()] == []


def test_existing_output_needs_overwrite(tmp_path):
    path = tmp_path / "preds.zarr"
    write_store(path)
    with pytest.raises(OutputExistsError):
        write_store(path)
    old = read_record(path)["finalized"]
    write_store(path, overwrite=True)
    assert read_record(path)["complete"] is True and read_record(path)["finalized"] >= old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preds.zarr"]


def test_finish_refuses_missing_windows(tmp_path):
    path = tmp_path / "preds.zarr"
    writer = ZarrWriter(path, TASKS, windows=run_windows(), bin_layout=LAYOUT, metadata=META)
    with pytest.raises(ValueError, match="not written"), writer:
        for block in blocks()[:-1]:
            writer.write(block)
    assert not path.exists() and not partial_store(path).exists()


def test_write_outside_range_is_refused(tmp_path):
    writer = ZarrWriter(
        tmp_path / "p.zarr",
        TASKS,
        windows=run_windows(),
        bin_layout=LAYOUT,
        metadata=META,
        window_range=(3, 9),
        resume=True,
    )
    writer.open()
    with pytest.raises(ValueError, match="outside"):
        writer.write(blocks(0, 3)[0])
    writer.abort()


def test_unsharded_resume_skips_done_windows(tmp_path):
    path = tmp_path / "preds.zarr"
    first = ZarrWriter(
        path,
        TASKS,
        windows=run_windows(),
        bin_layout=LAYOUT,
        metadata=META,
        fingerprint=FINGERPRINT,
        resume=True,
    )
    with pytest.raises(KeyboardInterrupt), first:
        for block in blocks()[:3]:  # windows 0-8
            first.write(block)
        raise KeyboardInterrupt
    assert partial_store(path).is_dir() and not path.exists()  # kept for --resume
    second = ZarrWriter(
        path,
        TASKS,
        windows=run_windows(),
        bin_layout=LAYOUT,
        metadata=META,
        fingerprint=FINGERPRINT,
        resume=True,
    )
    second.open()
    assert second.todo() == [(9, 18)]
    poisoned = blocks(0, 3)[0]
    poisoned.values[:] = -1.0  # a done window is not written again
    second.write(poisoned)
    for block in blocks(9, 18):
        second.write(block)
    second.finish()
    assert second.windows_written == 9
    assert np.array_equal(open_store(path).preds[:], reference())


def test_resume_with_another_run_starts_again(tmp_path):
    path = tmp_path / "preds.zarr"
    first = ZarrWriter(
        path,
        TASKS,
        windows=run_windows(),
        bin_layout=LAYOUT,
        metadata=META,
        fingerprint="a" * 64,
        resume=True,
    )
    first.open()
    first.write(blocks()[0])
    first.abort()
    second = ZarrWriter(
        path,
        TASKS,
        windows=run_windows(),
        bin_layout=LAYOUT,
        metadata=META,
        fingerprint=FINGERPRINT,
        resume=True,
    )
    second.open()
    assert second.todo() == [(0, 18)]
    second.abort()


def test_fasta_windows_store_empty_chrom_and_read_back_as_none(tmp_path):
    windows = [Window(i, i, f"seq{i}", None, 0, 1030, "+", 0, 1030) for i in range(2)]
    block = LAYOUT.block(np.stack([values_of(i, 1, N_BINS) for i in range(2)]), windows)
    w = ZarrWriter(tmp_path / "f.zarr", ["t"], windows=windows, bin_layout=LAYOUT, metadata=META)
    with w:
        w.write(block)
    (back,) = store_blocks(tmp_path / "f.zarr")
    assert [x.chrom for x in back.windows] == [None, None]
    assert np.array_equal(back.values, block.values)


def test_store_blocks_selects_tasks_in_order(tmp_path):
    path = tmp_path / "preds.zarr"
    write_store(path)
    got = list(store_blocks(path, ["track3", "track259", "track0"], windows_per_block=5))
    assert [len(b.windows) for b in got] == [5, 5, 5, 3]
    values = np.concatenate([b.values for b in got])
    assert np.array_equal(values, reference()[:, [3, 259, 0], :])
    assert [w.index for b in got for w in b.windows] == list(range(18))
    assert np.array_equal(
        np.concatenate([b.bin_start for b in got]), LAYOUT.coordinates(run_windows())[0]
    )


def test_reading_an_unfinished_store_is_refused(tmp_path):
    path = tmp_path / "preds.zarr"
    w = ZarrWriter(
        path,
        TASKS,
        windows=run_windows(),
        bin_layout=LAYOUT,
        metadata=META,
        fingerprint=FINGERPRINT,
        sharded=True,
    )
    w.open()
    w.write(blocks()[0])
    with pytest.raises(InputDataError, match="not complete") as err:
        open_store(path)
    assert err.value.exit_code == 3
