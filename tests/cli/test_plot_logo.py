"""``grelu plot`` draws sequence logos of ``grelu attribute`` and ``grelu ism`` stores: the
PNG is written, non-empty, and has one panel per target or task (its pixel height is the
figure's: title band plus one --track-height per panel); the letters read are the stored
attribution matrix, and for ISM minus the mean delta on the reference letter (computed here
with numpy from the store's arrays)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from grelu_cli.io.readers.regions import parse_region
from grelu_cli.viz.logo import read_logo
from tests.cli.predict_helpers import Env, invoke, ok, one_error_line

DPI, HEIGHT = 50, 1.0


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    return Env(tmp_path_factory.mktemp("logo"))


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def expected_height(panels: int) -> int:
    return round((0.9 + HEIGHT * panels) * DPI)  # viz.draw.figure_inches


def draw(store: Path, region: str, out: Path, *more: str):
    return ok(
        "plot",
        store,
        "--region",
        region,
        "--dpi",
        str(DPI),
        "--track-height",
        str(HEIGHT),
        "-o",
        out,
        *more,
    )


def test_logo_of_an_attribution_store(env: Env) -> None:
    out = env.out("attr")
    store = out / "attr.zarr"
    ok(
        "attribute",
        "-m",
        env.model,
        "--region",
        "chrA:101-300",
        "-g",
        env.genome,
        "--method",
        "inputxgradient",
        "--per-task",
        "-o",
        store,
    )
    result = draw(store, "chrA:151-200", out / "logo.png")
    assert "3 track(s), 50 bp" in result.stderr
    assert (out / "logo.png").stat().st_size > 1000
    assert png_size(out / "logo.png") == (500, expected_height(3))
    draw(store, "chrA:151-200", out / "one.png", "--tasks", "t_cage_k")
    assert png_size(out / "one.png") == (500, expected_height(1))
    # the letters are the stored matrix over the region's bases
    import zarr

    group = zarr.open_group(str(store), mode="r")
    _, panels = read_logo(store, parse_region("chrA:151-200"))
    pos = np.asarray(group["pos"][0])
    cols = np.flatnonzero((pos >= 150) & (pos < 200))
    values = np.asarray(group["attribution"][0])  # (G, P, 4)
    for g, panel in enumerate(panels):
        np.testing.assert_array_equal(panel.matrix, values[g][cols].astype(np.float64))
        # attribution x one-hot: one letter per position, the reference base
        assert ((panel.matrix != 0).sum(axis=1) <= 1).all()


def write_ism_store(path: Path, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """An ISM store in CLI.md's layout: delta (region, position, base, task), NaN at the
    reference base; ref, pos (region, position); per-region name/chrom/window_start/end."""
    import zarr

    n, p, t = 2, 40, 2
    ref = rng.choice(list("ACGT"), size=(n, p))
    ref[0, 5] = "N"
    delta = rng.normal(size=(n, p, 4, t)).astype(np.float32)
    for r in range(n):
        for i in range(p):
            if ref[r, i] in "ACGT":
                delta[r, i, "ACGT".index(ref[r, i])] = np.nan
    starts = np.array([1000, 1020])
    pos = starts[:, None] + np.arange(p)[None]
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    group.create_array("delta", data=delta, dimension_names=("region", "position", "base", "task"))
    group.create_array("ref", data=ref.astype(str), dimension_names=("region", "position"))
    group.create_array("pos", data=pos.astype(np.int64), dimension_names=("region", "position"))
    group.create_array("chrom", data=np.array(["chrA", "chrA"]), dimension_names=("region",))
    group.create_array("name", data=np.array(["r0", "r1"]), dimension_names=("region",))
    group.create_array("window_start", data=starts, dimension_names=("region",))
    group.create_array("window_end", data=starts + p, dimension_names=("region",))
    group.create_array("task", data=np.array(["dnase", "cage"]), dimension_names=("task",))
    record = {
        "command": "ism",
        "complete": True,
        "output": {"format": "zarr", "array": "delta", "tasks": ["dnase", "cage"]},
    }
    group.attrs["grelu"] = json.loads(json.dumps(record))
    return delta, ref


def test_logo_of_an_ism_store(tmp_path: Path) -> None:
    store = tmp_path / "ism.zarr"
    delta, ref = write_ism_store(store, np.random.default_rng(5))
    out = tmp_path / "logo.png"
    result = draw(store, "chrA:1001-1030", out)  # region 0 holds all 30 bases
    assert "2 track(s), 30 bp" in result.stderr
    assert out.stat().st_size > 1000 and png_size(out) == (500, expected_height(2))
    _, panels = read_logo(store, parse_region("chrA:1001-1030"))
    for k, panel in enumerate(panels):
        for i in range(30):
            row = panel.matrix[i]
            if ref[0, i] == "N":
                assert np.isnan(row).all()
                continue
            b = "ACGT".index(ref[0, i])
            others = [delta[0, i, j, k] for j in range(4) if j != b]
            assert row[b] == pytest.approx(-np.mean(others), rel=1e-6)
            assert (np.delete(row, b) == 0).all()
    # the window that holds more of the region is drawn: chrA:1041-1060 only in region 1
    _, late = read_logo(store, parse_region("chrA:1041-1060"))
    assert np.isfinite(late[0].matrix).all()


def test_a_logo_wider_than_1000_bp_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "ism.zarr"
    write_ism_store(store, np.random.default_rng(1))
    result = invoke("plot", store, "--region", "chrA:1-5000", "-o", tmp_path / "x.png")
    assert result.exit_code == 2
    assert "a sequence logo draws at most 1,000 bp" in one_error_line(result)
    assert not (tmp_path / "x.png").exists()
