"""``grelu merge`` never writes over its inputs: an ``-o`` that is one of the inputs (the same
path, a symlink to it, a relative or ``./`` spelling, a hard link), or lies inside an input
store, is exit 2 naming both before anything is touched, ``--overwrite`` or not. And a
variants zarr shard that lost a chunk file is refused (exit 3), not merged as NaN."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from tests.cli.test_variants_shards import BATCH, CKPT, _mixed_vcf
from tests.variants.helpers import copy_genome
from tests.workflow.wf_helpers import invoke, ok, run_cli


def _digest(path: Path) -> str:
    """sha256 over a file, or over every file of a folder (names and bytes)."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _refused(result, *needles: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "would destroy that input" in lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture(scope="module")
def parquet_shards(ws, tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("merge_inputs")
    paths = [root / f"s{i}.parquet" for i in range(2)]
    for i, p in enumerate(paths):
        ok("predict", *ws.base(), "--shard", f"{i}/2", "-o", p)
    return paths


def _spellings(first: Path, tmp: Path) -> dict[str, str]:
    link = tmp / "link.parquet"
    link.symlink_to(first)
    hard = first.with_name("hard.parquet")
    if not hard.exists():
        os.link(first, hard)
    return {
        "same": str(first),
        "symlink": str(link),
        "relative": os.path.relpath(first),
        "dot": f"{first.parent}/./{first.name}",
        "hardlink": str(hard),
    }


@pytest.mark.parametrize("how", ["same", "symlink", "relative", "dot", "hardlink"])
def test_output_equal_to_an_input_is_exit_2_and_the_input_stays(parquet_shards, tmp_path, how):
    first, second = parquet_shards
    before = _digest(first), first.stat().st_mtime_ns
    out = _spellings(first, tmp_path)[how]
    # before the fix: exit 0, and s0.parquet replaced by the merged output
    _refused(invoke("merge", first, second, "-o", out, "--overwrite"), out, str(first))
    assert (_digest(first), first.stat().st_mtime_ns) == before
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")]  # no temp files


def test_tracks_of_a_bigwig_run_next_to_its_shards_are_allowed(ws, tmp_path):
    """A folder that holds a --format bigwig run's shards may take its tracks (other files)."""
    shards = [tmp_path / f"b{i}.parquet" for i in range(2)]
    for i, p in enumerate(shards):
        ok("predict", *ws.base(), "-f", "bigwig", "--shard", f"{i}/2", "-o", p)
    ok("merge", *shards, "-o", f"{tmp_path}/")
    assert sorted(p.name for p in tmp_path.glob("*.bw")) == ["t_a.bw", "t_b.bw", "t_c.bw"]


def test_tracks_written_into_the_input_store_are_refused(ws, tmp_path):
    store = tmp_path / "x.zarr"
    ok("predict", *ws.base(), "-o", store)
    before = _digest(store)
    _refused(invoke("merge", store, "--format", "bigwig", "-o", f"{store}/"), str(store))
    _refused(invoke("merge", store, "-o", f"{store}/tracks/{{task}}.bw"), "is inside")
    assert _digest(store) == before


def _variants(vcf: Path, genome: Path, out: Path, *extra: str) -> None:
    run_cli(
        "variants",
        "-m",
        CKPT,
        "--vcf",
        vcf,
        "-g",
        genome,
        "-o",
        out,
        "--batch-size",
        BATCH,
        "--device",
        "cpu",
        "--threads",
        "1",
        "--scores",
        "diff",
        *extra,
    )


@pytest.fixture(scope="module")
def variant_stores(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("variant_stores")
    vcf = _mixed_vcf(root / "mixed.vcf")
    genome = copy_genome(root)
    stores = [root / f"v{i}.zarr" for i in range(2)]
    for i, s in enumerate(stores):
        _variants(vcf, genome, s, "--shard", f"{i}/2")
    return stores


def test_variant_store_output_equal_to_an_input_is_refused(variant_stores):
    first, second = variant_stores
    before = _digest(first)
    # before the fix: exit 0, and shard 0's store replaced by the merged one
    _refused(invoke("merge", first, second, "-o", first, "--overwrite"), str(first))
    assert _digest(first) == before


def test_variant_shard_that_lost_a_chunk_is_exit_3(variant_stores, tmp_path):
    stores = [tmp_path / p.name for p in variant_stores]
    for src, dst in zip(variant_stores, stores, strict=True):
        shutil.copytree(src, dst)
    (stores[1] / "ref_value" / "c" / "0" / "0").unlink()
    out = tmp_path / "merged.zarr"
    # before the fix: exit 0, the lost rows merged as NaN
    result = invoke("merge", *stores, "-o", out)
    assert result.exit_code == 3, result.output
    assert "ref_value values of" in result.output and "rows 0-" in result.output
    assert "--shard 1/2" in result.output and not out.exists()
