"""Empty shards of one zarr store, started together as real processes, never collide: 30
windows in one batch over 8 shards leave shards 1-7 empty (all of range 30-30); every one
exits 0 and ``grelu merge`` finalizes the store with every window."""

from __future__ import annotations

import subprocess
from pathlib import Path

import xarray as xr

from grelu_cli.core.shards import parse_shard, shard_range
from tests.workflow.wf_helpers import grelu_cmd, subprocess_env

N_WINDOWS, N_SHARDS = 30, 8


def test_many_empty_shards_started_together_all_succeed(ws, tmp_path: Path) -> None:
    bed = tmp_path / "thirty.bed"
    bed.write_text("".join(f"chrA\t{100 * i}\t{100 * i + 150}\tr{i}\n" for i in range(N_WINDOWS)))
    ranges = [shard_range(N_WINDOWS, parse_shard(f"{i}/{N_SHARDS}"), 64) for i in range(N_SHARDS)]
    assert ranges[0] == (0, N_WINDOWS) and set(ranges[1:]) == {(N_WINDOWS, N_WINDOWS)}
    store = tmp_path / "s.zarr"
    base = [
        *grelu_cmd(),
        "predict",
        "-m",
        str(ws.model),
        "--bed",
        str(bed),
        "-g",
        str(ws.genome),
        "--device",
        "cpu",
        "-q",
        "--batch-size",
        "64",
        "-o",
        str(store),
    ]
    # Empty shards first: they race each other to create the store and to lock.
    order = [*range(1, N_SHARDS), 0]
    procs = {
        i: subprocess.Popen(
            [*base, "--shard", f"{i}/{N_SHARDS}"],
            env=subprocess_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in order
    }
    errors = {i: p.communicate(timeout=600)[1] for i, p in procs.items()}
    codes = {i: p.returncode for i, p in procs.items()}
    assert codes == dict.fromkeys(order, 0), errors
    merged = subprocess.run(
        [*grelu_cmd(), "merge", str(store)],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert merged.returncode == 0, merged.stderr
    ds = xr.open_zarr(store)
    assert ds.attrs["grelu"]["complete"] is True
    assert ds.sizes["window"] == N_WINDOWS and not ds["preds"].isnull().any()
    assert not any(p.name.endswith(".lock") for p in tmp_path.iterdir())
