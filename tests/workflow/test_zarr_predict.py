"""``grelu predict -o X.zarr`` end to end: values equal parquet's, float16, shards writing one
store from concurrent processes, ``grelu merge STORE`` (finalize, bigWig), ``--resume`` after
a kill, refusals, ``grelu plot`` on a store, and the Python API."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from grelu_cli import api
from grelu_cli.io.formats.zarr.schema import marker_dir, partial_store
from tests.workflow.wf_helpers import (
    TASKS,
    bigwig_values,
    grelu_cmd,
    invoke,
    ok,
    read_table,
    run_cli,
    subprocess_env,
)


def _record(store: Path) -> dict:
    return json.loads((store / "zarr.json").read_text())["attributes"]["grelu"]


def _long_values(parquet: Path, n_windows: int) -> np.ndarray:
    """(window, task, bin) from a long-layout parquet file (rows: window, task, bin)."""
    df = read_table(parquet).to_pandas()
    n_tasks = df["task"].nunique()
    return df["value"].to_numpy().reshape(n_windows, n_tasks, -1)


def _store_values(store: Path) -> np.ndarray:
    return zarr.open_group(str(store), mode="r")["preds"][:]


@pytest.fixture(scope="module")
def plain(ws, unsharded) -> Path:
    out = ws.out("zarr_plain") / "preds.zarr"
    ok("predict", *ws.base(), "-o", out)
    return out


def test_store_equals_parquet_exactly(ws, unsharded, plain):
    rec = _record(plain)
    assert rec["complete"] is True and rec["dtype"] == "float32"
    assert rec["layout"] == ["window", "task", "bin"]
    assert rec["counts"]["windows_written"] == ws.n_regions
    assert rec["options"]["dtype"] == "float32"
    got = _store_values(plain)
    want = _long_values(unsharded["long"], ws.n_regions)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)  # same float32 bits
    ds = xr.open_zarr(plain)
    np.testing.assert_array_equal(ds["preds"].sel(task="t_b").values, want[:, 1])
    df = read_table(unsharded["long"]).to_pandas()
    first = df[(df["task"] == "t_a")].iloc[: want.shape[2]]
    np.testing.assert_array_equal(ds["bin_start"].isel(window=0).values, first["bin_start"])
    assert list(ds["name"].values[:2]) == list(df["name"].unique()[:2])
    assert not partial_store(plain).exists() and not marker_dir(plain).exists()


def test_aggregate_and_tasks(ws, tmp_path):
    store, parquet = tmp_path / "agg.zarr", tmp_path / "agg.parquet"
    args = [*ws.base(), "--aggregate", "max", "--tasks", "t_c,t_a"]
    ok("predict", *args, "-o", store)
    ok("predict", *args, "-o", parquet)
    ds = xr.open_zarr(store)
    assert list(ds["task"].values) == ["t_c", "t_a"] and ds["preds"].shape[2] == 1
    np.testing.assert_array_equal(ds["preds"].values, _long_values(parquet, ws.n_regions))


def test_float16_is_the_float32_store_rounded(ws, plain, tmp_path):
    store = tmp_path / "h.zarr"
    ok("predict", *ws.base(), "--dtype", "float16", "-o", store)
    rec = _record(store)
    assert rec["dtype"] == "float16" and rec["counts"]["clipped"] == 0
    assert rec["fingerprint"] != _record(plain)["fingerprint"]  # dtype is part of the run
    got = _store_values(store)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, _store_values(plain).astype(np.float16))


def test_float16_clipped_count_in_summary_and_store(ws, tmp_path, monkeypatch):
    """Values beyond the float16 range are clipped, counted in the summary and the store."""
    from grelu_cli.run import build

    real = build.predicted_blocks

    def huge(*args, **kwargs):
        for block in real(*args, **kwargs):
            block.values[:, 0, :3] = 1e6  # 3 values per window beyond +-65,504
            yield block

    monkeypatch.setattr(build, "predicted_blocks", huge)
    store = tmp_path / "clip.zarr"
    result = ok("predict", *ws.base(), "--dtype", "float16", "-o", store)
    n = 3 * ws.n_regions
    assert f"{n:,} predictions beyond the float16 range" in result.stderr  # the warning
    assert _record(store)["counts"]["clipped"] == n
    got = zarr.open_group(str(store), mode="r")["preds"][:, 0, :3]
    assert np.all(got == np.float16(65504))


def test_dtype_needs_zarr(ws, tmp_path):
    result = invoke("predict", *ws.base(), "--dtype", "float16", "-o", tmp_path / "p.parquet")
    assert result.exit_code == 2 and "zarr output only" in result.output
    bad = invoke("predict", *ws.base(), "--dtype", "int8", "-o", tmp_path / "p.zarr")
    assert bad.exit_code == 2 and "--dtype" in bad.output


def test_existing_store_refused_resume_keeps_it(ws, plain):
    again = invoke("predict", *ws.base(), "-o", plain)
    assert again.exit_code == 2 and "already exists" in again.output
    before = (plain / "zarr.json").stat().st_mtime_ns
    done = invoke("predict", *ws.base(), "-o", plain, "--resume", "--log-format", "json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stderr.splitlines()[-1])["already_complete"] is True
    assert (plain / "zarr.json").stat().st_mtime_ns == before


def test_four_concurrent_shards_then_merge_equal_unsharded(ws, plain, tmp_path):
    store = tmp_path / "one.zarr"
    procs = [
        subprocess.Popen(
            [*grelu_cmd(), "predict", *ws.base(), "--shard", f"{i}/4", "-o", str(store)],
            env=subprocess_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    assert _record(store)["complete"] is False
    early = invoke("plot", store, "--region", "chrA:1-400", "-o", tmp_path / "x.png")
    assert early.exit_code == 3 and "grelu merge" in early.output
    ok("merge", store)
    rec, want = _record(store), _record(plain)
    assert rec["complete"] is True and rec["merged"]["shards"] == 4
    assert rec["fingerprint"] == want["fingerprint"]
    assert rec["counts"] == want["counts"]
    np.testing.assert_array_equal(_store_values(store), _store_values(plain))
    a, b = xr.open_zarr(store), xr.open_zarr(plain)
    np.testing.assert_array_equal(a["preds"].sel(task="t_c").values, b["preds"].sel(task="t_c"))
    for key in ("name", "chrom", "window_start", "bin_start", "bin_end"):
        np.testing.assert_array_equal(a[key].values, b[key].values)
    # merging again changes nothing; a shard of a different run is refused (exit 3)
    ok("merge", store)
    other = invoke("predict", *ws.base(), "--rc", "--shard", "0/4", "-o", tmp_path / "o.zarr")
    assert other.exit_code == 0, other.output
    bad = invoke("predict", *ws.base(), "--shard", "1/4", "-o", tmp_path / "o.zarr")
    assert bad.exit_code == 3 and "different run" in bad.output


def test_merge_of_incomplete_store_names_missing_windows(ws, tmp_path):
    store = tmp_path / "part.zarr"
    ok("predict", *ws.base(), "--shard", "0/3", "-o", store)
    ok("predict", *ws.base(), "--shard", "2/3", "-o", store)
    result = invoke("merge", store)
    assert result.exit_code == 3, result.output
    assert "windows are not written yet" in result.output and "1/3" in result.output
    assert _record(store)["complete"] is False


def test_sigkill_then_resume_equals_uninterrupted(ws, plain, tmp_path):
    store = tmp_path / "killed.zarr"
    slow = [
        *grelu_cmd(),
        "predict",
        *ws.base(),
        "-o",
        str(store),
        "--resume",
        "--num-workers",
        "0",
        "--batch-size",
        "1",
    ]
    proc = subprocess.Popen(slow, env=subprocess_env(), stderr=subprocess.PIPE)
    markers = marker_dir(partial_store(store))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the run ended before it was killed"
            if markers.is_dir() and len([p for p in markers.iterdir() if p.suffix == ".json"]) > 2:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not store.exists() and partial_store(store).is_dir()
    loud = [a for a in ws.base() if a != "-q"]
    resumed = invoke("predict", *loud, "-o", store, "--resume", "--log-format", "json")
    assert resumed.exit_code == 0, resumed.output
    assert "windows already written" in resumed.stderr
    assert not partial_store(store).exists()
    np.testing.assert_array_equal(_store_values(store), _store_values(plain))
    assert _record(store)["counts"] == _record(plain)["counts"]


def test_store_to_bigwig_equals_predict_bigwig(ws, unsharded, plain, tmp_path):
    ok("merge", plain, "--format", "bigwig", "-o", f"{tmp_path}/tracks/")
    for task in TASKS:
        want = bigwig_values(unsharded["bigwig"] / f"{task}.bw")
        got = bigwig_values(tmp_path / "tracks" / f"{task}.bw")
        assert list(got) == list(want)
        for chrom in want:
            np.testing.assert_array_equal(got[chrom], want[chrom])
    ok("merge", plain, "-o", f"{tmp_path}/two/", "--tasks", "t_b")
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["t_b.bw"]
    bad = invoke("merge", plain, "-o", tmp_path / "x.parquet")
    assert bad.exit_code == 2 and "bigWig" in bad.output


def test_plot_reads_a_store(ws, plain, tmp_path):
    png = tmp_path / "p.png"
    ok("plot", plain, "--region", "chrA:1-600", "--tasks", "t_a,t_c", "-o", png)
    assert png.stat().st_size > 0


def test_api_predict_to_zarr_and_dry_run(ws, plain, tmp_path):
    out = tmp_path / "api.zarr"
    summary = api.predict(model=ws.model, bed=ws.bed, genome=ws.genome, output=out, device="cpu")
    assert summary.files == [str(out)]
    np.testing.assert_array_equal(_store_values(out), _store_values(plain))
    dry = run_cli("predict", *ws.base(), "-o", tmp_path / "d.zarr", "--dry-run")
    assert "ok: input is valid" in dry.stdout and not (tmp_path / "d.zarr").exists()


def test_shard_with_another_batch_size_is_refused(ws, tmp_path):
    """Shard boundaries fall on whole batches, so a store's shards must share the batch size."""
    store = tmp_path / "b.zarr"
    ok("predict", *ws.base(), "--batch-size", "4", "--shard", "0/3", "-o", store)
    bad = invoke("predict", *ws.base(), "--batch-size", "8", "--shard", "1/3", "-o", store)
    assert bad.exit_code == 3 and "batches of 4" in bad.output, bad.output
    ok("predict", *ws.base(), "--batch-size", "4", "--shard", "2/3", "-o", store)
    missing = invoke("merge", store)
    assert missing.exit_code == 3 and "shards 1/3 are not finished" in missing.output


def test_empty_shards_are_recorded(ws, tmp_path):
    """Shards hold whole batches, so with few batches the last shards are empty; the shard
    ending where they sit must not delete their done markers (merge lists every shard)."""
    store = tmp_path / "e.zarr"
    for i in (3, 2, 1, 0):  # 67 windows in batches of 64: shards 2 and 3 are empty, at 67
        ok("predict", *ws.base(), "--batch-size", "64", "--shard", f"{i}/4", "-o", store)
    ok("merge", store)
    merged = _record(store)["merged"]
    assert merged["shards"] == 4
    assert sorted(m["shard"]["index"] for m in merged["from"]) == [0, 1, 2, 3]
