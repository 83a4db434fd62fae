"""A new output format is one module plus one registry entry (io/formats/registry.py): predict finds
it by name and by file suffix, and writes through it."""

from __future__ import annotations

import numpy as np
import pytest

from grelu_cli import api
from grelu_cli.errors import UsageError
from grelu_cli.io.formats import registry
from tests.cli.predict_helpers import TASKS, Env, read_parquet


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    e = Env(tmp_path_factory.mktemp("registry"))
    e.small = e.bed("small.bed", [("chrA", 100, 300, "a", 0, "+"), ("chrC", 200, 500, "c", 0, "-")])
    return e


def test_registry_names_and_suffixes():
    assert registry.FORMATS == ("parquet", "bigwig", "zarr")
    assert registry.format_for("x.PQ") == "parquet"
    assert registry.format_for("x.zarr") == registry.format_for("x.zarr/") == "zarr"
    assert registry.format_for("out/") == registry.format_for("o/{task}.bw") == "bigwig"
    assert registry.format_for("x.parquet", "BigWig") == "bigwig"
    with pytest.raises(UsageError, match="cannot tell the output format"):
        registry.format_for("x.txt")


def test_a_registered_format_is_written_by_predict(env, tmp_path, monkeypatch):
    entry = registry.Format("npz", (".npz",), "tests.io.npz_writer")
    monkeypatch.setitem(registry.REGISTRY, "npz", entry)
    out = tmp_path / "p.npz"
    summary = api.predict(model=env.model, bed=env.small, genome=env.genome, output=out)
    assert summary.files == [str(out)]
    got = np.load(out)
    api.predict(
        model=env.model,
        bed=env.small,
        genome=env.genome,
        output=tmp_path / "p.parquet",
        layout="wide",
    )
    df, _ = read_parquet(tmp_path / "p.parquet")
    assert list(got["tasks"]) == TASKS and got["values"].shape[:2] == (2, len(TASKS))
    for i, name in enumerate(["a", "c"]):
        rows = df[df["name"] == name].sort_values("bin")
        want = np.stack([rows[t].to_numpy() for t in TASKS])
        np.testing.assert_array_equal(got["values"][i], want)


def test_a_registered_format_is_written_by_predict_and_variants(env, tmp_path, monkeypatch):
    """One registry for every result kind: a format that names a ``variants`` module is
    written by ``grelu variants`` too (the same values as its parquet output)."""
    import pyarrow.parquet as pq

    from tests.cli.test_variants_shards import CKPT, _mixed_vcf
    from tests.variants.helpers import copy_genome

    entry = registry.Format(
        "npz", (".npz",), "tests.io.npz_writer", kinds={"variants": "tests.io.npz_writer"}
    )
    monkeypatch.setitem(registry.REGISTRY, "npz", entry)
    api.predict(model=env.model, bed=env.small, genome=env.genome, output=tmp_path / "p.npz")
    assert np.load(tmp_path / "p.npz")["values"].shape[:2] == (2, len(TASKS))
    opts = {
        "model": CKPT,
        "vcf": _mixed_vcf(tmp_path / "v.vcf", n=20),
        "genome": copy_genome(tmp_path),
        "device": "cpu",
        "scores": "diff,log2fc",
    }
    summary = api.variants(**opts, output=tmp_path / "v.npz")
    assert summary.files == [str(tmp_path / "v.npz")]
    got = np.load(tmp_path / "v.npz")
    api.variants(**opts, output=tmp_path / "v.parquet", layout="wide")
    want = pq.read_table(tmp_path / "v.parquet").to_pandas()
    assert got["pos"].tolist() == want["pos"].tolist()
    tasks = summary.tasks
    for value in ("ref_value", "alt_value", "diff", "log2fc"):
        cols = [f"{t}_{value}" for t in tasks]
        np.testing.assert_array_equal(got[value], want[cols].to_numpy())
