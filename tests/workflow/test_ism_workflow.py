"""``grelu ism`` as a workflow step: shards (real processes, into one zarr store; parquet
files) + ``grelu merge`` equal a plain run, and SIGKILL + ``--resume`` equals a plain run
(zarr store: its done markers; parquet: committed chunks of whole regions). Every run is its
own process, the plain reference runs too: a run inside the test process can differ from a
fresh process in the last bits after earlier tests of the session (seen in the full suite)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import zarr

from grelu_cli.io.fs.atomic import manifest_path
from tests.workflow.wf_helpers import grelu_cmd, run_cli, subprocess_env

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
BASE = [
    "-m",
    str(DEMO / "model.ckpt"),
    "--bed",
    str(DEMO / "regions.bed"),
    "-g",
    str(DEMO / "genome.fa"),
    "--ism-width",
    "12",
    "--batch-size",
    "8",
    "--ism-method",
    "plain",  # slow enough to be killed mid-run; shards and plain runs all use it
    "--device",
    "cpu",
    "-q",
]


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> dict[str, Path]:
    """Uninterrupted, unsharded runs: a zarr store and a parquet file."""
    d = tmp_path_factory.mktemp("plain")
    out = {"zarr": d / "ism.zarr", "parquet": d / "ism.parquet"}
    run_cli("ism", *BASE, "-o", out["zarr"])
    run_cli("ism", *BASE, "-o", out["parquet"])
    return out


def _values(path: Path) -> dict[str, np.ndarray]:
    store = zarr.open_group(str(path), mode="r")
    names = ("delta", "target_ref", "ref", "pos", "offset", "name", "window_start")
    return {k: np.asarray(store[k]) for k in names}


def _same_store(a: Path, b: Path) -> None:
    x, y = _values(a), _values(b)
    for key in x:
        if x[key].dtype.kind == "f":
            assert np.array_equal(x[key], y[key], equal_nan=True), key
        else:
            assert (x[key] == y[key]).all(), key
    rec = zarr.open_group(str(b), mode="r").attrs["grelu"]
    assert rec["complete"] is True


def _table(path: Path):
    return pq.read_table(path).to_pandas()


def test_zarr_shards_in_processes_then_merge_equal_a_plain_run(plain, tmp_path):
    store = tmp_path / "ism.zarr"
    procs = [
        subprocess.Popen(
            [*grelu_cmd(), "ism", *BASE, "--shard", f"{i}/3", "-o", str(store)],
            env=subprocess_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert zarr.open_group(str(store), mode="r").attrs["grelu"]["complete"] is False
    run_cli("merge", store)
    _same_store(plain["zarr"], store)


def test_parquet_shards_then_merge_equal_a_plain_run(plain, tmp_path):
    shards = [tmp_path / f"s{i}.parquet" for i in range(2)]
    for i, path in enumerate(shards):
        run_cli("ism", *BASE, "--shard", f"{i}/2", "-o", path)
    merged = tmp_path / "merged.parquet"
    run_cli("merge", *shards, "-o", merged)
    assert _table(merged).equals(_table(plain["parquet"]))


def _kill_after(cmd: list[str], committed, timeout_s: float = 240.0) -> None:
    """Start ``cmd``, SIGKILL it once ``committed()`` is true (something was committed)."""
    proc = subprocess.Popen(cmd, env=subprocess_env(), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout_s
    try:
        while not committed():
            if proc.poll() is not None:
                raise AssertionError(f"the run ended before it was killed: {proc.stderr.read()}")
            if time.monotonic() > deadline:
                raise AssertionError("nothing was committed in time")
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def test_zarr_sigkill_then_resume_equals_a_plain_run(plain, tmp_path):
    out = tmp_path / "ism.zarr"
    cmd = [*grelu_cmd(), "ism", *BASE, "-o", str(out)]

    def committed() -> bool:
        return len(list(tmp_path.rglob("done/*.json"))) >= 2

    _kill_after(cmd, committed)
    assert not out.exists()  # nothing at the final path until the store is whole
    run_cli("ism", *BASE, "--resume", "-o", out)
    _same_store(plain["zarr"], out)
    # --resume on the finished store: kept as it is
    run_cli("ism", *BASE, "--resume", "-o", out)


def test_parquet_sigkill_then_resume_equals_a_plain_run(plain, tmp_path):
    out = tmp_path / "ism.parquet"
    args = [*BASE, "--chunk-regions", "2", "--resume", "-o", str(out)]
    manifest = manifest_path(out)

    def committed() -> bool:
        try:
            return bool(json.loads(manifest.read_text()).get("done"))
        except (FileNotFoundError, ValueError):
            return False

    _kill_after([*grelu_cmd(), "ism", *args], committed)
    assert not out.exists()
    run_cli("ism", *args)
    assert _table(out).equals(_table(plain["parquet"]))
    assert not manifest.exists()
