"""``--shard i/N`` and ``grelu merge``: sharded + merged equals unsharded, exactly."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from grelu_cli.core.shards import Shard, chunk_ranges, interleave, parse_shard, shard_range
from tests.workflow.wf_helpers import bigwig_values, invoke, metadata, ok, read_table

# Options that say only where/how a run goes; merge keeps shard 0's (documented).
RUN_ONLY = {"output", "shard", "overwrite", "resume", "quiet", "log_format", "devices"}


# ----------------------------------------------------------------------------- shard maths


@pytest.mark.parametrize("total", [0, 1, 2, 7, 10, 11, 1000, 1001])
@pytest.mark.parametrize("count", [1, 2, 3, 7, 16])
@pytest.mark.parametrize("batch", [1, 2, 5, 128])
def test_shards_are_contiguous_balanced_and_cover_everything(total, count, batch):
    ranges = [shard_range(total, Shard(i, count), batch) for i in range(count)]
    assert ranges[0][0] == 0 and ranges[-1][1] == total
    for (_, hi), (lo, _) in itertools.pairwise(ranges):
        assert hi == lo  # contiguous, in input order, disjoint
        assert lo % batch == 0 or lo == total  # whole batches: every run batches alike
    n_batches = [-(-(hi - lo) // batch) for lo, hi in ranges]
    assert max(n_batches) - min(n_batches) <= 1  # balanced to one batch
    assert n_batches == sorted(n_batches, reverse=True)  # the first shards get one more
    if batch == 1:  # sizes differ by at most one window
        sizes = [hi - lo for lo, hi in ranges]
        assert max(sizes) - min(sizes) <= 1


def test_parse_shard():
    assert parse_shard("0/4") == Shard(0, 4)
    assert parse_shard(" 3 / 4 ") == Shard(3, 4)
    for bad in ("4/4", "1", "a/b", "-1/4", "0/0", "1/2/3", ""):
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_chunks_and_interleave():
    assert chunk_ranges(10, 25, 6) == [(10, 16), (16, 22), (22, 25)]
    # rounded up to whole batches of 4: chunks start on batch boundaries
    assert chunk_ranges(8, 25, 6, batch=4) == [(8, 16), (16, 24), (24, 25)]
    assert chunk_ranges(5, 5, 3) == []
    assert interleave(5, 2) == [[0, 2, 4], [1, 3]]


@pytest.mark.parametrize("spec", ["4/4", "x", "1/0", "-1/2", "2"])
def test_bad_shard_exits_2(ws, tmp_path, spec):
    result = invoke("predict", *ws.base(), "-o", tmp_path / "x.parquet", "--shard", spec)
    assert result.exit_code == 2, result.output
    assert "--shard" in result.output
    assert not (tmp_path / "x.parquet").exists()


# ----------------------------------------------------------------------------- merge


def _shards(ws, name: str, count: int, *args: str) -> list:
    out = ws.out(name)
    paths = [out / f"s{i}.parquet" for i in range(count)]
    for i, p in enumerate(paths):
        ok("predict", *ws.base(), *args, "--shard", f"{i}/{count}", "-o", p)
    return paths


@pytest.mark.parametrize("layout", ["long", "wide"])
def test_parquet_merge_equals_unsharded(ws, unsharded, layout):
    shards = _shards(ws, f"merge_{layout}", 3, "--layout", layout)
    sizes = [metadata(p)["shard"]["windows"] for p in shards]
    batches = [-(-n // ws.batch) for n in sizes]  # balanced to one batch, in whole batches
    assert sum(sizes) == ws.n_regions and max(batches) - min(batches) <= 1
    assert all(metadata(p)["shard"]["batch_size"] == ws.batch for p in shards)
    merged = ws.out(f"merge_{layout}") / "merged.parquet"
    # any order of the inputs
    ok("merge", shards[2], shards[0], shards[1], "-o", merged)
    want, got = read_table(unsharded[layout]), read_table(merged)
    assert got.schema == want.schema
    assert got.equals(want)  # row for row, same order, same values (float32 bits)
    import pyarrow.parquet as pq

    rg = pq.ParquetFile(merged).metadata
    rw = pq.ParquetFile(unsharded[layout]).metadata
    assert [rg.row_group(i).num_rows for i in range(rg.num_row_groups)] == [
        rw.row_group(i).num_rows for i in range(rw.num_row_groups)
    ]
    _check_merged_metadata(metadata(unsharded[layout]), metadata(merged), merged, len(shards))


def _check_merged_metadata(want: dict, got: dict, merged, n_shards: int) -> None:
    """'Identical' metadata: every key equal except created, run-only options, and merged."""
    assert got["merged"]["shards"] == n_shards
    assert [f["file"] for f in got["merged"]["from"]] == [f"s{i}.parquet" for i in range(3)]
    assert got["options"]["output"] == str(merged) and got["options"]["shard"] is None
    assert got["shard"] is None and want["shard"] is None
    for key in set(want) | set(got):
        if key in ("created", "merged", "options"):
            continue
        assert got.get(key) == want.get(key), key
    for key in set(want["options"]) | set(got["options"]):
        if key not in RUN_ONLY:
            assert got["options"].get(key) == want["options"].get(key), key
    assert got["counts"] == want["counts"]  # whole-run counts, not a shard's
    assert got["output"]["rows"] == want["output"]["rows"]
    assert got["fingerprint"] == want["fingerprint"]


def test_bigwig_merge_equals_unsharded(ws, unsharded):
    out = ws.out("merge_bw")
    paths = _shards(ws, "merge_bw", 4, "--format", "bigwig")
    rec = metadata(paths[0])
    assert rec["bigwig"]["overlap"] == "mean" and rec["output"]["layout"] == "long"
    ok("merge", *paths, "-o", f"{out}/tracks/")
    for task in ("t_a", "t_b", "t_c"):
        want = bigwig_values(unsharded["bigwig"] / f"{task}.bw")
        got = bigwig_values(out / "tracks" / f"{task}.bw")
        assert list(got) == list(want)
        for chrom in want:
            np.testing.assert_array_equal(got[chrom], want[chrom])  # NaN where nothing
        # the files are the same bytes: same entries, same zoom levels
        assert (out / "tracks" / f"{task}.bw").read_bytes() == (
            unsharded["bigwig"] / f"{task}.bw"
        ).read_bytes()


def test_shard_boundaries_fall_inside_overlaps(ws):
    """The fixture's regions make overlap averaging across shard boundaries matter."""
    import pyarrow.compute as pc

    paths = _shards(ws, "boundaries", 2, "--aggregate", "mean")
    a, b = read_table(paths[0]), read_table(paths[1])
    last = pc.max(a.column("window_end")).as_py()
    first_b = b.column("window_start")[0].as_py()
    assert a.column("chrom")[-1].as_py() == b.column("chrom")[0].as_py()
    assert first_b < last


def test_bigwig_shard_needs_parquet_path(ws, tmp_path):
    result = invoke("predict", *ws.base(), "-f", "bigwig", "--shard", "0/2", "-o", tmp_path / "d/")
    assert result.exit_code == 2 and "per-window parquet" in result.output


# ----------------------------------------------------------------------------- merge errors


@pytest.fixture(scope="module")
def two_shards(ws):
    return _shards(ws, "merge_err", 2)


def test_merge_missing_shard(ws, two_shards, tmp_path):
    result = invoke("merge", two_shards[0], "-o", tmp_path / "m.parquet")
    assert result.exit_code == 3 and "1 of 2 shards missing: 1/2" in result.output
    assert not (tmp_path / "m.parquet").exists()


def test_merge_repeated_shard(ws, two_shards, tmp_path):
    result = invoke("merge", *two_shards, two_shards[1], "-o", tmp_path / "m.parquet")
    assert result.exit_code == 3 and "given twice" in result.output


def test_merge_foreign_shard(ws, two_shards, tmp_path):
    other = tmp_path / "other.parquet"
    ok("predict", *ws.base(), "--rc", "--shard", "1/2", "-o", other)
    result = invoke("merge", two_shards[0], other, "-o", tmp_path / "m.parquet")
    assert result.exit_code == 3 and "different runs" in result.output


def test_merge_not_a_shard(ws, unsharded, two_shards, tmp_path):
    result = invoke("merge", unsharded["long"], "-o", tmp_path / "m.parquet")
    assert result.exit_code == 3 and "not a shard" in result.output
    result = invoke("merge", tmp_path / "nope.parquet", "-o", tmp_path / "m.parquet")
    assert result.exit_code == 4
    (tmp_path / "junk.parquet").write_text("not parquet")
    result = invoke("merge", tmp_path / "junk.parquet", "-o", tmp_path / "m.parquet")
    assert result.exit_code == 3


def test_merge_output_exists_and_kind(ws, two_shards, tmp_path):
    out = tmp_path / "m.parquet"
    out.write_text("x")
    assert invoke("merge", *two_shards, "-o", out).exit_code == 2
    ok("merge", *two_shards, "-o", out, "--overwrite")
    assert read_table(out).num_rows > 0
    assert invoke("merge", *two_shards, "-o", tmp_path / "dir/").exit_code == 2


def test_dry_run_names_the_shard_range(ws):
    result = invoke("predict", *ws.base(), "-o", "x.parquet", "--shard", "1/3", "--dry-run")
    assert result.exit_code == 0
    lo, hi = shard_range(ws.n_regions, Shard(1, 3), ws.batch)
    assert lo % ws.batch == 0 and hi % ws.batch == 0 and hi > lo
    assert (
        f"shard 1/3: windows {lo:,}-{hi:,} ({hi - lo:,} of {ws.n_regions:,}; boundaries on "
        f"batches of {ws.batch})"
    ) in result.stdout


def test_merge_refuses_shards_of_different_batch_sizes(ws, tmp_path):
    """Shard boundaries follow batches, so shards run with other batch sizes do not fit."""
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    ok("predict", *ws.base(), "--shard", "0/2", "-o", a)
    ok("predict", *ws.base(), "--batch-size", "4", "--shard", "1/2", "-o", b)
    result = invoke("merge", a, b, "-o", tmp_path / "m.parquet")
    assert result.exit_code == 3, result.output
    assert "different batch sizes" in result.output and "--batch-size" in result.output
    assert not (tmp_path / "m.parquet").exists()
