"""A sharded store that lost a window's data file (deleted from disk after its shard finished)
is never finalized, merged, converted or plotted as complete: real ``grelu predict --shard``
processes write the store, the file is deleted, and every reader says which windows are
missing and which shard owns them; ``--resume`` of that shard redoes exactly those windows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import zarr

from tests.workflow.wf_helpers import invoke, ok, run_cli


def _record(store: Path) -> dict:
    return json.loads((store / "zarr.json").read_text())["attributes"]["grelu"]


def _values(store: Path) -> np.ndarray:
    return zarr.open_group(str(store), mode="r")["preds"][:]


def _chunk(store: Path, window: int) -> Path:
    return store / "preds" / "c" / str(window) / "0" / "0"


def _one_line(result, code: int, *needles: str) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def shards(ws, tmp_path_factory) -> tuple[Path, np.ndarray]:
    """A store written by 4 real ``grelu predict --shard i/4`` processes (not finalized), and
    the values of an unsharded run of the same input."""
    root = tmp_path_factory.mktemp("integrity")
    store = root / "sharded.zarr"
    for i in range(4):
        run_cli("predict", *ws.base(), "--shard", f"{i}/4", "-o", store)
    plain = root / "plain.zarr"
    ok("predict", *ws.base(), "-o", plain)
    return store, _values(plain)


def _window_of_shard(store: Path, index: int) -> tuple[int, int, int]:
    """(a window inside shard ``index``/4, the shard's first window, its end), from the
    shards' done markers or, once finalized, the record's list of merged shards."""
    from grelu_cli.io.formats.zarr.markers import read_markers

    for m in [*read_markers(store), *(_record(store).get("merged") or {}).get("from", [])]:
        if (m.get("shard") or {}).get("index") == index:
            lo, hi = m["windows"]
            return (lo + hi) // 2, lo, hi
    raise AssertionError(f"no end marker of shard {index}")


def test_lost_chunk_is_not_finalized_and_resume_redoes_it(ws, shards, tmp_path):
    src, want = shards
    store = tmp_path / "s.zarr"
    shutil.copytree(src, store)
    w, lo, hi = _window_of_shard(store, 2)
    _chunk(store, w).unlink()
    # before the fix: "finalized s.zarr: N windows", complete: true, exit 0
    line = _one_line(invoke("merge", store), 3, f"windows {w},", "shard 2/4", "--resume")
    assert "marked written but their data is missing" in line
    assert _record(store)["complete"] is False
    # --resume of the owning shard predicts that window again (and nothing else)
    before = {p: _chunk(store, p).stat().st_mtime_ns for p in range(lo, hi) if p != w}
    run_cli("predict", *ws.base(), "--shard", "2/4", "-o", store, "--resume")
    assert _chunk(store, w).is_file()
    assert {p: _chunk(store, p).stat().st_mtime_ns for p in before} == before
    ok("merge", store)
    assert _record(store)["complete"] is True
    np.testing.assert_array_equal(_values(store), want)


def test_lost_chunks_of_two_shards_are_named_compactly(ws, shards, tmp_path):
    src, _ = shards
    store = tmp_path / "two.zarr"
    shutil.copytree(src, store)
    _, lo0, _ = _window_of_shard(store, 0)
    _, _, hi3 = _window_of_shard(store, 3)
    for w in (lo0, lo0 + 1, lo0 + 2, hi3 - 1):
        _chunk(store, w).unlink()
    _one_line(
        invoke("merge", store), 3, f"windows {lo0}-{lo0 + 2}, {hi3 - 1},", "4 of", "shards 0/4, 3/4"
    )


def test_finalized_store_that_lost_a_chunk_is_refused_then_reopened(ws, shards, tmp_path):
    src, want = shards
    store = tmp_path / "f.zarr"
    shutil.copytree(src, store)
    ok("merge", store)
    w, _, _ = _window_of_shard(store, 1)
    _chunk(store, w).unlink()
    # plot over the lost window: before the fix, drawn as a gap (or "nothing was predicted")
    group = zarr.open_group(str(store), mode="r")
    chrom, a, b = str(group["chrom"][w]), int(group["start"][w]), int(group["end"][w])
    png = tmp_path / "p.png"
    line = _one_line(
        invoke("plot", store, "--region", f"{chrom}:{a + 1}-{b}", "-o", png),
        3,
        f"windows {w},",
        "missing on disk",
        "shard 1/4",
        "reopens the store",
    )
    assert "nothing was predicted" not in line and not png.exists()
    # zarr -> bigWig (finalizes first): before the fix, bigWigs without the window, exit 0
    tracks = tmp_path / "tracks"
    _one_line(
        invoke("merge", store, "--format", "bigwig", "-o", f"{tracks}/"),
        3,
        f"windows {w},",
        "reopened",
        "--shard 1/4",
        "--resume",
    )
    assert not tracks.exists() and _record(store)["complete"] is False
    # the owning shard with --resume redoes that window; merging again completes the store
    run_cli("predict", *ws.base(), "--shard", "1/4", "-o", store, "--resume")
    ok("merge", store)
    rec = _record(store)
    assert rec["complete"] is True and rec["merged"]["shards"] == 4
    np.testing.assert_array_equal(_values(store), want)
    ok("merge", store, "--format", "bigwig", "-o", f"{tracks}/")


def test_unsharded_finished_store_that_lost_a_chunk_is_refused(ws, tmp_path):
    store = tmp_path / "u.zarr"
    ok("predict", *ws.base(), "-o", store)
    _chunk(store, 3).unlink()
    _one_line(invoke("merge", store), 3, "windows 3,", "restore those files")
    assert _record(store)["complete"] is True  # nothing to reopen it for: left as it is


def test_plot_of_a_region_away_from_the_lost_window_still_works(ws, shards, tmp_path):
    src, _ = shards
    store = tmp_path / "p.zarr"
    shutil.copytree(src, store)
    ok("merge", store)
    group = zarr.open_group(str(store), mode="r")
    last = group["chrom"].shape[0] - 1
    _chunk(store, last).unlink()  # the last window (chrA); the first one is on chrB
    chrom, a = str(group["chrom"][0]), int(group["start"][0])
    assert chrom != str(group["chrom"][last])
    ok("plot", store, "--region", f"{chrom}:{a + 1}-{a + 50}", "-o", tmp_path / "ok.png")
