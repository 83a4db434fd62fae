"""Parquet guard rails: a warning with the size and a .zarr suggestion at Borzoi scale only;
the wide-layout footer estimate agrees with a real file's footer."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from grelu_cli.core.block import Block
from grelu_cli.core.window import Window
from grelu_cli.io.formats.parquet import ParquetWriter
from grelu_cli.io.formats.parquet_base import wide_row_group_rows
from grelu_cli.io.formats.sizes import ZARR_RATIO, parquet_size_warning, wide_footer_bytes


def test_small_runs_get_no_warning():
    assert parquet_size_warning(layout="long", windows=1000, tasks=2, bins=1000) is None
    assert parquet_size_warning(layout="wide", windows=1000, tasks=50, bins=1000) is None
    assert parquet_size_warning(layout="long", windows=2, tasks=7611, bins=6144) is None


def test_borzoi_scale_long_layout_warns_with_sizes_and_suggests_zarr():
    text = parquet_size_warning(
        layout="long", windows=8, tasks=7611, bins=6144, output="out/preds.parquet"
    )
    assert text is not None
    raw = 8 * 7611 * 6144 * 4  # 1.5 GB of float32
    assert f"{8 * 7611 * 6144:,} values" in text
    assert f"about {raw * 1.9 / 1e9:.1f} GB on disk" in text
    assert "-o preds.zarr" in text
    f32, f16 = raw * ZARR_RATIO["float32"], raw * ZARR_RATIO["float16"]
    assert f"about {f32 / 1e9:.1f} GB ({f16 / 1e6:.1f} MB with --dtype float16)" in text


def test_wide_layout_warns_on_footer_growth():
    assert parquet_size_warning(layout="wide", windows=4, tasks=7611, bins=6144) is None
    text = parquet_size_warning(layout="wide", windows=8, tasks=7611, bins=6144)
    assert text is not None and "footer" in text and "7,611 task columns" in text
    # About 6 row groups of 1,024 rows per Borzoi window, 7,611 column chunks each.
    assert wide_row_group_rows(7611) == 1024
    assert 5.5e6 < wide_footer_bytes(1, 7611, 6144) < 6.5e6


def test_footer_estimate_matches_a_written_file(tmp_path):
    tasks = [f"CAGE:sample_{i:04d}" for i in range(600)]
    bins = 8192
    path = tmp_path / "w.parquet"
    with ParquetWriter(path, tasks, layout="wide") as writer:
        for i in range(2):
            window = Window(
                i, i, f"r{i}", "chr1", i * bins, (i + 1) * bins, "+", i * bins, (i + 1) * bins
            )
            start = np.arange(bins, dtype=np.int64)[None] + i * bins
            values = np.random.default_rng(i).random((1, len(tasks), bins), dtype=np.float32)
            writer.write(Block([window], values, np.arange(bins), start, start + 1))
    meta = pq.read_metadata(path)
    estimate = wide_footer_bytes(2, len(tasks), bins)
    assert meta.num_row_groups == -(-2 * bins // wide_row_group_rows(len(tasks)))
    assert 0.7 < meta.serialized_size / estimate < 1.4
