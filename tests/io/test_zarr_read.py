"""From a finished zarr store to what people look at: bigWig files (equal to the bigWig writer
on the same blocks, overlaps averaged) and ``grelu plot`` tracks."""

from __future__ import annotations

import numpy as np
import pyBigWig
import pytest
from typer.testing import CliRunner

from grelu_cli.cli import app
from grelu_cli.errors import UsageError
from grelu_cli.io.formats.bigwig import BigWigWriter
from grelu_cli.io.formats.parquet import ParquetWriter
from grelu_cli.io.formats.zarr import ZarrWriter, store_to_bigwig
from grelu_cli.io.readers.regions import parse_region
from grelu_cli.viz.tracks import read_tracks
from tests.io.zarr_helpers import (
    CHROM_SIZES,
    FINGERPRINT,
    LAYOUT,
    TASKS,
    blocks,
    run_windows,
    values_of,
)

PICK = ["track5", "track0", "track259"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("z") / "preds.zarr"
    writer = ZarrWriter(
        path,
        TASKS,
        windows=run_windows(),
        bin_layout=LAYOUT,
        fingerprint=FINGERPRINT,
        chrom_sizes=CHROM_SIZES,
        metadata={"counts": {}},
    )
    with writer:
        for block in blocks():
            writer.write(block)
    return path


def intervals(path) -> dict[str, list]:
    bw = pyBigWig.open(str(path))
    try:
        return {c: list(bw.intervals(c) or ()) for c in bw.chroms()}
    finally:
        bw.close()


def test_store_to_bigwig_equals_the_bigwig_writer(store, tmp_path):
    picks = [TASKS.index(t) for t in PICK]
    direct = BigWigWriter(tmp_path / "direct", PICK, CHROM_SIZES)
    with direct:
        for block in blocks():
            block.values = np.ascontiguousarray(block.values[:, picks, :])
            direct.write(block)
    converted = store_to_bigwig(store, tmp_path / "tracks", tasks=PICK)
    assert [p.name for p in converted.paths] == [f"{t}.bw" for t in PICK]
    for a, b in zip(direct.paths, converted.paths, strict=True):
        got, want = intervals(b), intervals(a)
        assert got == want
        assert len(got["chr1"]) > 0 and len(got["chr3"]) > 0
    # Overlapping windows were averaged: chr1:600 is in windows 0 and 1 (bins 600 and 100).
    bw = pyBigWig.open(str(converted.paths[1]))
    expect = (np.float64(values_of(0)[0, 600]) + values_of(1)[0, 100]) / 2
    assert bw.values("chr1", 600, 601)[0] == pytest.approx(expect, rel=1e-6)
    bw.close()


def test_store_to_bigwig_needs_chromosome_sizes(tmp_path):
    path = tmp_path / "nochrom.zarr"
    writer = ZarrWriter(path, TASKS, windows=run_windows(), bin_layout=LAYOUT, metadata={})
    with writer:
        for block in blocks():
            writer.write(block)
    with pytest.raises(UsageError, match="chromosome sizes"):
        store_to_bigwig(path, tmp_path / "out")
    out = store_to_bigwig(path, tmp_path / "out", tasks=["track1"], chrom_sizes=CHROM_SIZES)
    assert out.paths[0].is_file()
    with pytest.raises(UsageError, match="no such task"):
        store_to_bigwig(path, tmp_path / "o2", tasks=["nope"], chrom_sizes=CHROM_SIZES)


def test_plot_reads_a_store_like_the_parquet_output(store, tmp_path):
    with ParquetWriter(tmp_path / "p.parquet", TASKS, layout="wide") as pw:
        for block in blocks():
            pw.write(block)
    region = parse_region("chr1:401-2,600")
    from_zarr = read_tracks([store], region, PICK)
    from_parquet = read_tracks([tmp_path / "p.parquet"], region, PICK)
    assert [t.name for t in from_zarr] == PICK
    for a, b in zip(from_zarr, from_parquet, strict=True):
        assert np.array_equal(a.values, b.values, equal_nan=True)
        assert np.isfinite(a.values).all()


def test_grelu_plot_command_draws_a_store(store, tmp_path):
    out = tmp_path / "plot.png"
    result = CliRunner().invoke(
        app, ["plot", str(store), "--region", "chr2:1-2,800", "--tasks", "track3", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\x89PNG"
    result = CliRunner().invoke(
        app, ["plot", str(store), "--region", "chrX:1-100", "-o", str(tmp_path / "x.png")]
    )
    assert result.exit_code == 2 and "chrX" in result.output
