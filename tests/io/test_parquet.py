"""ParquetWriter: exact columns, order, types, values and metadata, read back three ways."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from grelu_cli.core.block import Block
from grelu_cli.core.window import Window
from grelu_cli.errors import OutputExistsError, UsageError
from grelu_cli.io.formats.parquet import LONG_COLUMNS, WIDE_LEADING_COLUMNS, ParquetWriter
from grelu_cli.io.formats.provenance import build_provenance
from grelu_cli.io.fs.atomic import partial_files

TASKS = ["dnase", "atac", "cage"]
BIN, CROP = 8, 1


def make_block(
    specs: list[tuple[str | None, int, str]], n_tasks: int = 3, n_bins: int = 4, first: int = 0
) -> Block:
    """Windows from (chrom, window_start, strand); values encode (window, task, bin)."""
    length = (n_bins + 2 * CROP) * BIN
    windows = [
        Window(
            index=first + i,
            region_index=first + i,
            name=f"r{first + i}",
            chrom=chrom,
            start=ws + 3,
            end=ws + length - 3,
            strand=strand,
            window_start=ws,
            window_end=ws + length,
            pad_left=2 if (first + i) % 2 else 0,
        )
        for i, (chrom, ws, strand) in enumerate(specs)
    ]
    n = len(windows)
    idx = np.arange(n)[:, None, None] + first
    values = (idx * 100 + np.arange(n_tasks)[None, :, None] * 10 + np.arange(n_bins)).astype(
        np.float32
    )
    bins = np.arange(n_bins, dtype=np.int64)
    starts = np.array([w.window_start for w in windows], dtype=np.int64)[:, None]
    bin_start = starts + (CROP + bins[None, :]) * BIN
    return Block(windows, values + 0.5, bins, bin_start, bin_start + BIN)


def expected_long(blocks: list[Block], tasks: list[str]) -> list[tuple]:
    """Rows the long layout must hold, built with plain loops (the reference)."""
    rows = []
    for block in blocks:
        for i, w in enumerate(block.windows):
            for t, task in enumerate(tasks):
                for j, b in enumerate(block.bins):
                    rows.append(
                        (
                            w.name,
                            w.chrom,
                            w.start,
                            w.end,
                            w.strand,
                            w.window_start,
                            w.window_end,
                            w.padded,
                            task,
                            int(b),
                            int(block.bin_start[i, j]),
                            int(block.bin_end[i, j]),
                            float(block.values[i, t, j]),
                        )
                    )
    return rows


def read_rows(path) -> list[tuple]:
    table = pq.read_table(path)
    return list(zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True))


def write(path, blocks, tasks=TASKS, **kwargs):
    with ParquetWriter(path, tasks, **kwargs) as writer:
        for block in blocks:
            writer.write(block)
    return writer


BLOCKS_SPEC = [
    [("chr1", 0, "+"), ("chr2", 40, "-")],
    [("chr1", 100, "+")],
    [("chrX", 7, "-"), ("chr1", 5, "+"), ("chr2", 0, "+")],
]


def blocks_for(spec=BLOCKS_SPEC, **kwargs) -> list[Block]:
    out, first = [], 0
    for specs in spec:
        out.append(make_block(specs, first=first, **kwargs))
        first += len(specs)
    return out


@pytest.mark.parametrize("row_group_rows", [5, 24, 1000])
def test_long_layout_rows_columns_types(tmp_path, row_group_rows):
    blocks = blocks_for()
    path = tmp_path / "p.parquet"
    write(path, blocks, row_group_rows=row_group_rows)
    table = pq.read_table(path)
    assert tuple(table.column_names) == LONG_COLUMNS
    types = {f.name: f.type for f in table.schema}
    for col in ("start", "end", "window_start", "window_end", "padded", "bin", "bin_start"):
        assert types[col] == pa.int64()
    assert types["value"] == pa.float32()
    assert types["name"] == types["chrom"] == types["task"] == pa.string()
    assert read_rows(path) == expected_long(blocks, TASKS)
    # Row groups hold exactly row_group_rows rows, whatever the block sizes.
    meta = pq.read_metadata(path)
    total = 6 * 3 * 4
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sum(sizes) == total
    assert all(s == row_group_rows for s in sizes[:-1]) and sizes[-1] <= row_group_rows


def test_file_does_not_depend_on_block_sizes(tmp_path):
    one = blocks_for([[s for specs in BLOCKS_SPEC for s in specs]])
    three = blocks_for()
    write(tmp_path / "a.parquet", one, row_group_rows=10, metadata={"x": 1})
    write(tmp_path / "b.parquet", three, row_group_rows=10, metadata={"x": 1})
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_pandas_and_polars_read_the_same(tmp_path):
    import pandas as pd
    import polars as pl

    blocks = blocks_for()
    path = tmp_path / "p.parquet"
    write(path, blocks)
    df = pd.read_parquet(path)
    assert list(df.columns) == list(LONG_COLUMNS)
    assert df["value"].dtype == np.float32 and df["bin_start"].dtype == np.int64
    pl_df = pl.read_parquet(path)
    assert pl_df.columns == list(LONG_COLUMNS)
    assert pl_df["value"].dtype == pl.Float32 and pl_df["bin_start"].dtype == pl.Int64
    expected = expected_long(blocks, TASKS)
    assert [tuple(r) for r in df.itertuples(index=False)] == expected
    assert pl_df.rows() == expected
    meta = pl.read_parquet_metadata(path)
    assert json.loads(meta["grelu"])["output"]["rows"] == len(expected)


def test_fasta_windows_have_null_chrom(tmp_path):
    blocks = blocks_for([[(None, 0, "+"), ("chr1", 8, "+")], [(None, -4, "-")]])
    path = tmp_path / "p.parquet"
    write(path, blocks)
    assert read_rows(path) == expected_long(blocks, TASKS)
    chrom = pq.read_table(path).column("chrom").to_pylist()
    assert chrom[:12] == [None] * 12 and chrom[12:24] == ["chr1"] * 12


def test_metadata_is_provenance_json_with_counts_filled_at_close(tmp_path):
    path = tmp_path / "p.parquet"
    record = build_provenance(model="demo", options={"rc": True, "out": tmp_path}, tasks=TASKS)
    with ParquetWriter(path, TASKS, metadata=record) as writer:
        for block in blocks_for():
            writer.write(block)
        writer.metadata["counts"] = {"regions": 6, "windows": 6, "padded": 3, "dropped": 0}
    for meta in (pq.read_metadata(path).metadata, pq.read_table(path).schema.metadata):
        got = json.loads(meta[b"grelu"])
        assert got["tool"] == "grelu-cli" and got["model"]["name"] == "demo"
        assert got["options"] == {"rc": True, "out": str(tmp_path)}
        assert got["counts"]["padded"] == 3
        assert got["output"] == {
            "format": "parquet",
            "layout": "long",
            "tasks": TASKS,
            "rows": 72,
        }


@pytest.mark.parametrize("row_group_rows", [3, 1000])
def test_wide_layout(tmp_path, row_group_rows):
    blocks = blocks_for()
    path = tmp_path / "w.parquet"
    write(path, blocks, layout="wide", row_group_rows=row_group_rows)
    table = pq.read_table(path)
    assert tuple(table.column_names) == (*WIDE_LEADING_COLUMNS, *TASKS)
    assert all(table.schema.field(t).type == pa.float32() for t in TASKS)
    long_rows = expected_long(blocks, TASKS)
    # Rebuild the wide rows from the reference long rows: key by (row position of window, bin).
    wide: dict[tuple, list] = {}
    for row in long_rows:
        key = (*row[:8], *row[9:12])
        wide.setdefault(key, []).append(row[12])
    expected = [(*key[:8], *key[8:], *vals) for key, vals in wide.items()]
    assert read_rows(path) == expected
    assert json.loads(pq.read_metadata(path).metadata[b"grelu"])["output"]["layout"] == "wide"


@pytest.mark.parametrize("tasks", [["a", "a", "b"], ["a", "start", "b"], ["bin", "x", "y"]])
def test_wide_rejects_bad_task_names(tmp_path, tasks):
    with pytest.raises(UsageError, match="wide layout"):
        ParquetWriter(tmp_path / "w.parquet", tasks, layout="wide")
    # The long layout has no such restriction.
    write(tmp_path / "l.parquet", blocks_for(), tasks=tasks)
    assert pq.read_table(tmp_path / "l.parquet").column("task").to_pylist()[:8:4] == tasks[:2]


def test_unknown_layout(tmp_path):
    with pytest.raises(UsageError, match="layout 'tall'"):
        ParquetWriter(tmp_path / "w.parquet", TASKS, layout="tall")


def test_existing_output_needs_overwrite(tmp_path):
    path = tmp_path / "p.parquet"
    path.write_text("old")
    with pytest.raises(OutputExistsError, match=r"p\.parquet already exists.*--overwrite"):
        ParquetWriter(path, TASKS).open()
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.parquet"]
    write(path, blocks_for(), overwrite=True)
    assert pq.read_table(path).num_rows == 72


def test_failure_inside_with_leaves_nothing(tmp_path):
    path = tmp_path / "out" / "p.parquet"
    with pytest.raises(KeyboardInterrupt), ParquetWriter(path, TASKS, row_group_rows=5) as writer:
        writer.write(blocks_for()[0])
        assert [t.name for t in partial_files(path)] == [writer._outputs.temps[0].name]
        assert writer._outputs.temps[0].is_file()
        assert not path.exists()
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []  # the created output directory is gone too


def test_failure_keeps_old_output_when_overwriting(tmp_path):
    path = tmp_path / "p.parquet"
    write(path, blocks_for()[:1])
    before = path.read_bytes()
    with pytest.raises(RuntimeError), ParquetWriter(path, TASKS, overwrite=True) as writer:
        writer.write(blocks_for()[0])
        raise RuntimeError("boom")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.parquet"]


def test_block_task_count_must_match(tmp_path):
    with (
        pytest.raises(ValueError, match="2 tasks"),
        ParquetWriter(tmp_path / "p.parquet", TASKS) as w,
    ):
        w.write(make_block([("chr1", 0, "+")], n_tasks=2))
    assert list(tmp_path.iterdir()) == []


def test_empty_run_writes_valid_empty_file(tmp_path):
    path = tmp_path / "p.parquet"
    write(path, [])
    table = pq.read_table(path)
    assert table.num_rows == 0 and tuple(table.column_names) == LONG_COLUMNS


def test_large_block_is_split_without_python_row_loops(tmp_path):
    # 64 windows x 3 tasks x 512 bins = 98,304 rows, row groups of 10,000.
    block = make_block([("chr1", 50 * i, "+") for i in range(64)], n_bins=512)
    path = tmp_path / "p.parquet"
    write(path, [block], row_group_rows=10_000)
    table = pq.read_table(path)
    assert table.num_rows == 64 * 3 * 512
    np.testing.assert_array_equal(table.column("value").to_numpy(), block.values.reshape(-1))
    win = np.repeat(np.arange(64), 3 * 512)
    np.testing.assert_array_equal(
        table.column("bin_start").to_numpy(), block.bin_start[win, np.tile(np.arange(512), 64 * 3)]
    )
    assert pq.read_metadata(path).num_row_groups == 10
