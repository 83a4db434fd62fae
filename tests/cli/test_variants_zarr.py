"""``grelu variants -o X.zarr`` as real processes: the store holds the parquet output's values
exactly, shards (one store each) merge into the plain run's store, a run killed with
SIGKILL resumes to it, and bad combinations are one-line usage errors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import xarray as xr

from tests.cli.predict_helpers import GRELU
from tests.cli.test_variants_process import _big_vcf
from tests.cli.test_variants_shards import _cmd, _mixed_vcf, _run, kill_after_two_chunks
from tests.variants.helpers import copy_genome

VALUES = ["ref_value", "alt_value", "diff", "log2fc"]


def _same_as_parquet(store: Path, parquet: Path) -> None:
    """The store's (variant, task) arrays are the long parquet rows, reshaped."""
    table = pq.read_table(parquet).to_pandas()
    ds = xr.open_zarr(store)
    tasks = list(ds["task"].values)
    n = len(table) // len(tasks)
    assert n > 0 and ds.sizes == {"variant": n, "task": len(tasks)}
    assert list(table["task"][: len(tasks)]) == tasks
    for v in VALUES:
        np.testing.assert_array_equal(ds[v].values, table[v].to_numpy().reshape(n, -1))
    first = table.iloc[:: len(tasks)]
    for col in ("chrom", "ref", "alt", "variant_type", "ref_status"):
        assert list(ds[col].values) == list(first[col]), col
    assert list(ds["id"].values) == [v or "" for v in first["id"]]
    for col in ("pos", "allele", "window_start", "window_end", "padded"):
        np.testing.assert_array_equal(ds[col].values, first[col].to_numpy())
    record = ds.attrs["grelu"]
    assert record["complete"] is True
    assert record["counts"] == json.loads(pq.read_metadata(parquet).metadata[b"grelu"])["counts"]


def _same_store(a: Path, b: Path) -> None:
    da, db = xr.open_zarr(a).load(), xr.open_zarr(b).load()
    assert da.sizes["variant"] > 0
    xr.testing.assert_identical(da.drop_attrs(), db.drop_attrs())
    assert da.attrs["grelu"]["counts"] == db.attrs["grelu"]["counts"]


def test_store_equals_parquet_and_shards_merge_to_it(tmp_path: Path) -> None:
    vcf = _mixed_vcf(tmp_path / "mixed.vcf")
    genome = copy_genome(tmp_path)
    parquet, store = tmp_path / "plain.parquet", tmp_path / "plain.zarr"
    _run(_cmd(vcf, genome, parquet))
    _run(_cmd(vcf, genome, store))
    _same_as_parquet(store, parquet)
    assert sorted(os.listdir(tmp_path)) == [
        "genome.fa",
        "genome.fa.fai",
        "mixed.vcf",
        "plain.parquet",
        "plain.zarr",
    ]

    shards = [tmp_path / f"shard-{i}.zarr" for i in range(3)]
    procs = [
        subprocess.Popen(
            _cmd(vcf, genome, s, "--shard", f"{i}/3"), stderr=subprocess.PIPE, text=True
        )
        for i, s in enumerate(shards)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    merged = tmp_path / "merged.zarr"
    _run([str(GRELU), "merge", *map(str, reversed(shards)), "-o", str(merged)])
    _same_store(store, merged)
    record = xr.open_zarr(merged).attrs["grelu"]
    assert record["shard"] is None and record["merged"]["shards"] == 3
    # zarr shards also merge into the long parquet a plain run writes (row for row)
    as_parquet = tmp_path / "merged.parquet"
    _run([str(GRELU), "merge", *map(str, shards), "-o", str(as_parquet)])
    assert pq.read_table(as_parquet).equals(pq.read_table(parquet))


def test_resume_after_kill_equals_a_plain_run(tmp_path: Path) -> None:
    vcf = _big_vcf(tmp_path / "big.vcf", n=6000)
    genome = copy_genome(tmp_path)
    plain = tmp_path / "plain.zarr"
    _run(_cmd(vcf, genome, plain))
    out = tmp_path / "out" / "v.zarr"
    out.parent.mkdir()
    cmd = _cmd(vcf, genome, out, "--resume", "--chunk-records", "200")
    manifest = out.parent / ".v.zarr.partial.manifest.json"
    kill_after_two_chunks(cmd, manifest)
    assert not out.exists()
    result = _run(cmd)
    assert "resuming" in result.stderr
    _same_store(plain, out)
    assert sorted(os.listdir(out.parent)) == ["v.zarr"]  # parts, manifest and lock removed
    again = _run(cmd)
    assert "already complete" in again.stderr


def test_bad_combinations_are_usage_errors(tmp_path: Path) -> None:
    vcf = _mixed_vcf(tmp_path / "mixed.vcf", n=10)
    genome = copy_genome(tmp_path)
    wide = subprocess.run(
        _cmd(vcf, genome, tmp_path / "v.zarr", "--layout", "wide"), capture_output=True, text=True
    )
    assert wide.returncode == 2 and "--layout wide applies to parquet" in wide.stderr
    other = subprocess.run(_cmd(vcf, genome, tmp_path / "v.tsv"), capture_output=True, text=True)
    assert other.returncode == 2 and "writes parquet or zarr" in other.stderr
    assert len(other.stderr.strip().splitlines()) == 1
    foreign = tmp_path / "data.zarr"
    foreign.mkdir()
    (foreign / "keep").write_text("x")
    cmd = _cmd(vcf, genome, foreign, "--overwrite")
    refused = subprocess.run(cmd, capture_output=True, text=True)
    assert refused.returncode == 2 and "is not a grelu variants store" in refused.stderr
    assert (foreign / "keep").read_text() == "x"
    out = tmp_path / "v.zarr"
    _run(_cmd(vcf, genome, out))
    exists = subprocess.run(_cmd(vcf, genome, out), capture_output=True, text=True)
    assert exists.returncode == 2 and "already exists" in exists.stderr


def test_readme_variants_xarray_example_runs(tmp_path: Path) -> None:
    import re
    import sys

    readme = Path(__file__).parents[2] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), flags=re.S)
    (example,) = [b for b in blocks if 'xr.open_zarr("effects.zarr")' in b]
    demo = Path(__file__).parents[2] / "examples" / "demo"
    _run(
        [
            str(GRELU),
            "variants",
            "-m",
            str(demo / "model.ckpt"),
            "--vcf",
            str(demo / "variants.vcf"),
            "-g",
            str(demo / "genome.fa"),
            "--scores",
            "diff,log2fc",
            "-o",
            str(tmp_path / "effects.zarr"),
            "--threads",
            "1",
        ]
    )
    lines = example.strip().splitlines()
    script = "\n".join(
        [
            *lines[:2],
            f"s = {lines[2].split('#')[0].strip()}",
            f"m = {lines[3].split('#')[0].strip()}",
            "assert len(s) == ds.sizes['variant'] > 0 and (s < -1).any()",
            "assert set(m.ref_status.values) == {'match'}",
        ]
    )
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True)
