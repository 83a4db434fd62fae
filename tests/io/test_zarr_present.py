"""What "a window's data is there" means (io/formats/zarr/present.py): its chunk file exists
and is not empty. Files are listed, never read; a file of fill values (an all-NaN window,
stored because the writer keeps empty chunks) is data like any other."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from grelu_cli.errors import InputDataError
from grelu_cli.io.formats.zarr import finalize_store, open_store
from grelu_cli.io.formats.zarr.present import compact, missing_rows
from tests.io.zarr_helpers import blocks, shard_writer


def test_compact_ranges():
    assert compact([9, 3, 4, 5, 4]) == "3-5, 9"
    assert compact([0]) == "0"
    assert compact(range(0, 40, 2), limit=3) == "0, 2, 4, ... (17 more ranges)"


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "s.zarr"
    writer = shard_writer(path, 0, 1)
    with writer:
        for block in blocks():
            writer.write(block)
    return path


def test_missing_rows_lists_windows_without_a_file(store):
    assert len(missing_rows(store / "preds")) == 0
    (store / "preds" / "c" / "4" / "0" / "0").unlink()
    (store / "preds" / "c" / "7" / "0" / "0").write_bytes(b"")  # emptied: not data either
    assert missing_rows(store / "preds").tolist() == [4, 7]
    assert missing_rows(store / "preds", [1, 4, 5]).tolist() == [4]
    assert missing_rows(store / "preds", np.array([], dtype=np.int64)).tolist() == []


def test_an_all_nan_window_with_its_file_is_data_not_a_lost_window(store):
    """A window written as all NaN (the fill value) by a writer that keeps empty chunks has
    its file; finalize and the readers take it as written, and it reads back as NaN."""
    preds = zarr.open_array(str(store / "preds"), mode="r+")
    preds.with_config({"write_empty_chunks": True})[5] = np.nan  # 80 bytes of index + NaN
    assert (store / "preds" / "c" / "5" / "0" / "0").is_file()
    record = finalize_store(store)
    assert record["complete"] is True
    opened = open_store(store)
    opened.check_data()
    assert np.isnan(opened.preds[5]).all()


def test_without_its_file_the_same_window_is_missing_data(store):
    """The contrast: zarr's default (empty chunks not stored) leaves no file, which cannot be
    told from a deleted one; finalize refuses it and un-marks it so --resume redoes it."""
    from grelu_cli.io.formats.zarr.markers import done_mask, read_markers

    preds = zarr.open_array(str(store / "preds"), mode="r+")
    preds[5] = np.nan
    assert not (store / "preds" / "c" / "5" / "0" / "0").exists()
    with pytest.raises(InputDataError, match=r"windows 5, 0-based"):
        finalize_store(store)
    done = done_mask(read_markers(store), 0, 18)
    assert not done[5] and done[:5].all() and done[6:].all()


def test_variant_layout_rows_per_chunk(tmp_path):
    """Arrays chunked over many rows (a variants store's values): a lost file is its rows."""
    array = zarr.create_array(
        str(tmp_path / "v"), shape=(300, 5), chunks=(64, 5), dtype="float32", fill_value=np.nan
    )
    array[:] = np.arange(1500, dtype=np.float32).reshape(300, 5)
    (tmp_path / "v" / "c" / "2" / "0").unlink()
    assert missing_rows(tmp_path / "v").tolist() == list(range(128, 192))
    assert missing_rows(tmp_path / "v", [0, 130, 299]).tolist() == [130]


def test_damaged_metadata_is_exit_3(store):
    (store / "preds" / "zarr.json").write_text("{not json")
    with pytest.raises(InputDataError, match="unreadable metadata"):
        missing_rows(store / "preds")


def test_the_writer_stores_an_all_nan_window_as_data(tmp_path):
    # zarr skips chunks equal to the fill value (NaN) unless write_empty_chunks is set: the
    # writer sets it, so a window the model predicted as all NaN is not reported as lost.
    store = tmp_path / "nan.zarr"
    written = blocks()
    written[0].values[:] = np.nan  # every window of the first batch is all NaN
    with shard_writer(store, 0, 1) as writer:
        for block in written:
            writer.write(block)
    finalize_store(store)
    opened = open_store(store)
    opened.check_data()
    assert np.isnan(np.asarray(opened.preds[0])).all()
