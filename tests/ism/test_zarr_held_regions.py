"""The ISM zarr writer holds consecutive regions and writes them together (one zarr call per
array, one done marker per run of regions): the store equals one written a region at a time,
a failed run has marked runs of FLUSH_REGIONS regions done and never the held ones
(``--resume`` redoes them and equals a plain run). Shards + merge and SIGKILL + resume with
held regions: tests/workflow/test_ism_workflow.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

from grelu_cli import api
from grelu_cli.io.formats import ism_zarr
from grelu_cli.io.formats.zarr.schema import marker_dir

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"


def _run(out: Path, **kw) -> None:
    api.ism(
        model=DEMO / "model.ckpt",
        bed=DEMO / "regions.bed",
        genome=DEMO / "genome.fa",
        output=out,
        ism_width=6,
        batch_size=16,
        **kw,
    )


def _arrays(path: Path) -> dict[str, np.ndarray]:
    group = zarr.open_group(str(path), mode="r")
    return {k: np.asarray(group[k]) for k in group.array_keys()}


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if a[key].dtype.kind == "f":
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)  # NaN == NaN here
        else:
            assert (a[key] == b[key]).all(), key


def _markers(store: Path) -> list[tuple[int, int]]:
    return sorted(
        tuple(json.loads(p.read_text())["windows"])
        for p in marker_dir(store).glob("*.json")
        if ".shard-" not in p.name  # a shard's end-of-run marker
    )


def test_held_regions_give_the_store_of_one_region_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(ism_zarr, "FLUSH_SECONDS", 1e9)
    monkeypatch.setattr(ism_zarr, "FLUSH_REGIONS", 1)  # the writer before holding regions
    _run(tmp_path / "one.zarr")
    monkeypatch.setattr(ism_zarr, "FLUSH_REGIONS", 8)
    _run(tmp_path / "held.zarr")
    _same(_arrays(tmp_path / "one.zarr"), _arrays(tmp_path / "held.zarr"))
    # float16 (clipped counts per held region) too
    _run(tmp_path / "held16.zarr", dtype="float16")
    monkeypatch.setattr(ism_zarr, "FLUSH_REGIONS", 1)
    _run(tmp_path / "one16.zarr", dtype="float16")
    _same(_arrays(tmp_path / "one16.zarr"), _arrays(tmp_path / "held16.zarr"))


def test_held_regions_are_not_marked_done_when_the_run_fails(tmp_path, monkeypatch):
    from grelu_cli.ism.producer import ISMProducer

    monkeypatch.setattr(ism_zarr, "FLUSH_SECONDS", 1e9)
    monkeypatch.setattr(ism_zarr, "FLUSH_REGIONS", 4)
    real = ISMProducer.region
    seen: list[int] = []

    def failing(self, window, x, span):
        if len(seen) == 11:
            raise KeyboardInterrupt  # as SIGTERM/SIGINT reach the loop
        seen.append(int(window.index))
        return real(self, window, x, span)

    monkeypatch.setattr(ISMProducer, "region", failing)
    store = tmp_path / "r.zarr"
    with pytest.raises(KeyboardInterrupt):
        _run(store, resume=True)
    partial = [p for p in tmp_path.iterdir() if p.name != "r.zarr"]
    assert len(partial) == 1  # the partial store kept for --resume
    assert _markers(partial[0]) == [(0, 4), (4, 8)]  # regions 8..10 were held: not done
    monkeypatch.setattr(ISMProducer, "region", real)
    _run(store, resume=True)
    monkeypatch.setattr(ism_zarr, "FLUSH_REGIONS", 1)
    _run(tmp_path / "plain.zarr")
    _same(_arrays(tmp_path / "plain.zarr"), _arrays(store))
