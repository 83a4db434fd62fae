"""Shards writing one zarr store from real, concurrent processes; finalize; resume; refusals."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

from grelu_cli.errors import InputDataError, OutputExistsError
from grelu_cli.io.formats.zarr import finalize_store, read_record
from grelu_cli.io.formats.zarr.markers import read_markers
from tests.io.zarr_helpers import FINGERPRINT, blocks, shard_writer

HELPER = Path(__file__).with_name("zarr_helpers.py")
ARRAYS = (
    "preds",
    "window",
    "task",
    "bin",
    "name",
    "chrom",
    "start",
    "end",
    "strand",
    "window_start",
    "window_end",
    "padded",
    "bin_start",
    "bin_end",
    "assay",
    "task_strand",
    "strand_pair",
    "scale",
    "description",
)


def shard_process(store: Path, i: int, n: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(HELPER), str(store), str(i), str(n), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_shards(store: Path, shards: list[int], n: int, *extra: str) -> list[tuple[int, str]]:
    """Start the shard processes together (they race to create the store); wait for all."""
    start = f"{time.time() + 1.5:.3f}"
    procs = [shard_process(store, i, n, "--start-at", start, *extra) for i in shards]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        out.append((p.returncode, stdout + stderr))
    return out


def unsharded(path: Path) -> Path:
    writer = shard_writer(path, 0, 1)
    with writer:
        for block in blocks():
            writer.write(block)
    finalize_store(path)
    return path


def assert_same_store(a: Path, b: Path) -> None:
    ga, gb = zarr.open_group(str(a), mode="r"), zarr.open_group(str(b), mode="r")
    for key in ARRAYS:
        x, y = ga[key][:], gb[key][:]
        assert x.dtype == y.dtype and x.shape == y.shape, key
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), key
        else:
            assert x.tolist() == y.tolist(), key
    assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())


def test_four_concurrent_shard_processes_equal_one_unsharded_write(tmp_path):
    store = tmp_path / "preds.zarr"
    results = run_shards(store, [0, 1, 2, 3], 4)
    assert [rc for rc, _ in results] == [0, 0, 0, 0], results
    assert sorted(int(out.split()[-1]) for _, out in results) == [4, 4, 5, 5]
    assert [p.name for p in tmp_path.iterdir()] == ["preds.zarr"]  # the losers cleaned up
    assert read_record(store)["complete"] is False
    ranges = [m["windows"] for m in read_markers(store)]
    assert ranges == [[0, 5], [5, 10], [10, 14], [14, 18]]  # one marker per finished shard
    record = finalize_store(store)
    assert record["complete"] is True and record["merged"]["shards"] == 4
    assert record["shard"] is None and record["window_range"] == [0, 18]
    assert [s["shard"]["index"] for s in record["merged"]["from"]] == [0, 1, 2, 3]
    assert_same_store(store, unsharded(tmp_path / "one" / "preds.zarr"))


def test_finalize_refuses_missing_windows_and_names_the_shards(tmp_path):
    store = tmp_path / "preds.zarr"
    assert [rc for rc, _ in run_shards(store, [0, 2], 4)] == [0, 0]
    with pytest.raises(InputDataError) as err:
        finalize_store(store)
    assert err.value.exit_code == 3
    assert "9 of 18 windows are not written yet (windows 5-10, 14-18)" in str(err.value)
    assert "shards 1/4, 3/4" in str(err.value)
    assert read_record(store)["complete"] is False  # nothing rewritten


def test_a_different_run_is_refused_with_exit_3(tmp_path):
    store = tmp_path / "preds.zarr"
    assert run_shards(store, [0], 2)[0][0] == 0
    rc, out = run_shards(store, [1], 2, "--fingerprint", "0" * 64)[0]
    assert rc == 3, out
    assert "different run" in out
    assert read_markers(store)[-1]["windows"] == [0, 9]  # shard 1 wrote nothing


def test_killed_shard_resumes_where_it_stopped(tmp_path):
    store = tmp_path / "preds.zarr"
    (rc, _), (rc2, _) = run_shards(store, [0, 1], 2, "--die-after", "2")
    assert rc == rc2 == 9  # killed after two blocks of three windows each
    assert [m["windows"] for m in read_markers(store)] == [[0, 3], [3, 6], [9, 12], [12, 15]]
    results = run_shards(store, [0, 1], 2, "--resume")
    assert [rc for rc, _ in results] == [0, 0]
    assert [int(out.split()[-1]) for _, out in results] == [3, 3]  # only the missing windows
    finalize_store(store)
    assert_same_store(store, unsharded(tmp_path / "one" / "preds.zarr"))


def test_shard_without_resume_rewrites_its_windows(tmp_path):
    store = tmp_path / "preds.zarr"
    assert run_shards(store, [0, 1], 2)[0][0] == 0
    again = run_shards(store, [1], 2)
    assert again[0][0] == 0 and again[0][1].split()[-1] == "9"


def test_finished_store_refuses_shards_unless_resume(tmp_path):
    store = tmp_path / "preds.zarr"
    unsharded(store)
    with pytest.raises(OutputExistsError):
        shard_writer(store, 1, 2).open()
    writer = shard_writer(store, 1, 2, resume=True)
    writer.open()
    assert writer.already_complete and writer.todo() == []
    writer.write(blocks(9, 12)[0])
    writer.finish()
    assert finalize_store(store)["complete"] is True


def test_finalize_twice_changes_nothing(tmp_path):
    store = unsharded(tmp_path / "preds.zarr")
    first = (store / "zarr.json").read_bytes()
    assert finalize_store(store)["fingerprint"] == FINGERPRINT
    assert (store / "zarr.json").read_bytes() == first


def test_cheap_output_check_before_predicting(tmp_path):
    from grelu_cli.errors import UsageError
    from grelu_cli.io.formats.zarr import check_zarr_output

    store = tmp_path / "preds.zarr"
    assert check_zarr_output(store) is False
    assert check_zarr_output(store, sharded=True) is False
    assert run_shards(store, [0], 2)[0][0] == 0  # a partial shared store
    assert check_zarr_output(store, sharded=True) is False  # shards join it
    assert check_zarr_output(store, sharded=True, resume=True) is False
    with pytest.raises(OutputExistsError):
        check_zarr_output(store)  # an unsharded run does not take it over
    assert check_zarr_output(store, overwrite=True) is False
    assert run_shards(store, [1], 2)[0][0] == 0
    finalize_store(store)
    assert check_zarr_output(store, resume=True) is True
    assert check_zarr_output(store, sharded=True, resume=True) is True
    with pytest.raises(OutputExistsError, match="already complete"):
        check_zarr_output(store, sharded=True)
    (tmp_path / "f.zarr").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        check_zarr_output(tmp_path / "f.zarr")
    (tmp_path / "other.zarr").mkdir()
    with pytest.raises(OutputExistsError, match="not a grelu zarr store"):
        check_zarr_output(tmp_path / "other.zarr", sharded=True)
