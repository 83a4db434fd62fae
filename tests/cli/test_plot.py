"""``grelu plot``: tracks from bigWig and parquet written by our writers, drawn to PNG;
bad regions, tasks and inputs give one-line errors with the contract's exit codes."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from grelu_cli.cli import app
from grelu_cli.core.block import Block
from grelu_cli.core.window import Window
from grelu_cli.io.formats.bigwig import BigWigWriter
from grelu_cli.io.formats.parquet import ParquetWriter
from grelu_cli.io.readers.regions import parse_region
from grelu_cli.viz.draw import downsample
from grelu_cli.viz.tracks import read_tracks

CHROMS = [("chr1", 5_000), ("chr2", 3_000)]
TASKS = ["alpha", "beta:K562"]  # the second needs a file-safe name (beta_K562.bw)
BIN = 10
N_BINS = 50


def _block(windows: list[tuple[str, int]]) -> Block:
    """Windows of 500 bp, 50 bins of 10 bp; task t has value (t + 1) * 10 on bin 20, else 1."""
    wins = [
        Window(i, i, f"r{i}", c, s, s + 500, "+", s, s + 500) for i, (c, s) in enumerate(windows)
    ]
    values = np.ones((len(wins), len(TASKS), N_BINS), np.float32)
    for t in range(len(TASKS)):
        values[:, t, 20] = (t + 1) * 10
    starts = np.array([w.window_start for w in wins])[:, None] + np.arange(N_BINS) * BIN
    return Block(wins, values, np.arange(N_BINS), starts, starts + BIN)


# Two windows on chr1 overlapping by 250 bp (bins of the second are offset by 250 bp).
WINDOWS = [("chr1", 1_000), ("chr1", 1_250), ("chr2", 0)]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("plot")
    block = _block(WINDOWS)
    with BigWigWriter(root / "bw", TASKS, CHROMS) as w:
        w.write(block)
    for layout in ("long", "wide"):
        with ParquetWriter(root / f"{layout}.parquet", TASKS, layout=layout) as w:
            w.write(block)
    bed = root / "features.bed"
    bed.write_text("chr1\t1195\t1215\tsite_1\t0\t+\nchr1\t1445\t1465\tsite_2\t0\t-\n")
    return {
        "root": root,
        "bw": root / "bw",
        "long": root / "long.parquet",
        "wide": root / "wide.parquet",
        "bed": bed,
    }


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def run(args: list[str]):
    return CliRunner().invoke(app, ["plot", *args])


def one_line_error(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_plot_bigwig_folder(outputs, tmp_path):
    out = tmp_path / "bw.png"
    result = run(["--region", "chr1:1,001-1,750", str(outputs["bw"]), "-o", str(out)])
    assert result.exit_code == 0, result.output
    # 10 in x 150 dpi wide; 0.9 in + 2 tracks x 1.3 in high
    assert png_size(out) == (1500, round((0.9 + 2 * 1.3) * 150))
    assert not list(tmp_path.glob(".*partial*"))


def test_plot_parquet_with_tasks_bed_and_options(outputs, tmp_path):
    out = tmp_path / "pq.png"
    args = ["-r", "chr1:1,001-1,750", str(outputs["long"]), "--tasks", "beta:K562"]
    args += ["--bed", str(outputs["bed"]), "--width", "6", "--dpi", "100", "-o", str(out)]
    result = run(args)
    assert result.exit_code == 0, result.output
    assert png_size(out) == (600, round((0.9 + 1.3 * 1.45) * 100))


@pytest.mark.parametrize("fmt", ["pdf", "svg"])
def test_other_formats_and_wide_layout(outputs, tmp_path, fmt):
    out = tmp_path / f"plot.{fmt}"
    result = run(["-r", "chr2:1-500", str(outputs["wide"]), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:5] == (b"%PDF-" if fmt == "pdf" else b"<?xml")


def test_tracks_per_base_values(outputs):
    """Per-base values: bigWig and parquet agree; overlapping parquet bins are averaged."""
    region = parse_region("chr1:1,001-1,750")
    bw = read_tracks([outputs["bw"]], region)
    long = read_tracks([outputs["long"]], region)
    wide = read_tracks([outputs["wide"]], region, ["beta_K562", "alpha"])
    assert [t.name for t in bw] == ["alpha", "beta_K562"]
    assert [t.name for t in long] == TASKS
    assert [t.name for t in wide] == ["beta:K562", "alpha"]
    for t in range(2):
        peak = (t + 1) * 10
        expect = np.ones(750)
        expect[200:210] = peak  # first window's bin 20 (1,200-1,210), alone
        expect[250:500] = 1.0  # overlap of both windows, all ones
        expect[450:460] = (peak + 1) / 2  # second window's bin 20 (1,450) over a 1 of the first
        np.testing.assert_allclose(long[t].values, expect, rtol=1e-6)
        np.testing.assert_allclose(bw[t].values, expect, rtol=1e-6)
    np.testing.assert_allclose(wide[0].values, long[1].values, rtol=1e-6)


def test_region_outside_predictions_is_nan(outputs):
    tracks = read_tracks([outputs["long"]], parse_region("chr1:1-1,100"))
    assert np.isnan(tracks[0].values[:1000]).all() and (tracks[0].values[1000:] == 1).all()


def test_downsample_keeps_peaks():
    values = np.zeros(10_000)
    values[5_001] = 7.0
    values[:100] = np.nan
    cols, step = downsample(values, 2000)
    assert step == 5 and len(cols) == 2000
    assert np.nanmax(cols) == 7.0 and np.isnan(cols[:20]).all() and cols[20] == 0


@pytest.mark.parametrize(
    "region, needle",
    [
        ("chr1:100", "is not a region"),
        ("chr1:2,000-1,000", "after end"),
        ("chrX:1-100", "chromosome 'chrX'"),
        ("chr1:4,001-6,000", "past the end of chr1"),
        ("chr1:1-200", "nothing was predicted"),
        ("chr1:1-20,000,000", "at most"),
    ],
)
def test_bad_regions_exit_2(outputs, tmp_path, region, needle):
    out = tmp_path / "x.png"
    one_line_error(run(["-r", region, str(outputs["bw"]), "-o", str(out)]), 2, needle)
    assert not out.exists()


@pytest.mark.parametrize("which", ["bw", "long"])
def test_unknown_task_exit_2_lists_known(outputs, tmp_path, which):
    result = run(
        [
            "-r",
            "chr1:1,001-1,500",
            str(outputs[which]),
            "-t",
            "gamma",
            "-o",
            str(tmp_path / "x.png"),
        ]
    )
    one_line_error(result, 2, "--tasks gamma", "alpha")


def test_bad_inputs(outputs, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    out = str(tmp_path / "x.png")
    one_line_error(run(["-r", "chr1:1-10", str(text), "-o", out]), 3, "neither a bigWig")
    one_line_error(run(["-r", "chr1:1-10", str(tmp_path / "no.bw"), "-o", out]), 4, "no.bw")
    one_line_error(run(["-r", "chr1:1-10", str(tmp_path), "-o", out]), 4, "no .bw")
    one_line_error(
        run(["-r", "chr1:1,001-1,500", str(outputs["bw"]), "-o", str(tmp_path / "x.jpg")]),
        2,
        ".jpg",
    )


def test_existing_output_needs_overwrite(outputs, tmp_path):
    out = tmp_path / "x.png"
    out.write_bytes(b"old")
    args = ["-r", "chr1:1,001-1,500", str(outputs["bw"]), "-o", str(out)]
    one_line_error(run(args), 2, "already exists")
    assert out.read_bytes() == b"old"
    assert run([*args, "--overwrite"]).exit_code == 0
    assert png_size(out)[0] == 1500


def test_without_matplotlib_exit_4(outputs, tmp_path, monkeypatch):
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    result = run(["-r", "chr1:1,001-1,500", str(outputs["bw"]), "-o", str(tmp_path / "x.png")])
    one_line_error(result, 4, "matplotlib", "pip install 'grelu-cli[plot]'")


def test_help_ends_with_examples():
    result = CliRunner().invoke(app, ["plot", "--help"])
    assert result.exit_code == 0
    tail = result.output.rstrip().splitlines()[-1]
    assert "grelu plot" in tail or "motifs.bed" in tail


def test_parquet_without_coordinates_exit_3(tmp_path):
    """Predictions for FASTA records (null chrom) cannot be placed on a genomic axis."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "fasta.parquet"
    table = pa.table(
        {
            "chrom": pa.array([None, None], pa.string()),
            "bin_start": [0, 1],
            "bin_end": [1, 2],
            "task": ["alpha", "alpha"],
            "value": [1.0, 2.0],
        }
    )
    pq.write_table(table, path)
    result = run(["-r", "chr1:1-10", str(path), "-o", str(tmp_path / "x.png")])
    one_line_error(result, 3, "FASTA records")


def test_plot_help_imports_no_heavy_modules():
    import subprocess

    code = (
        "import sys\n"
        "from grelu_cli.cli import main\n"
        "sys.argv = ['grelu', 'plot', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'matplotlib', 'pyBigWig', 'pyarrow') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _plot_process(bw: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "grelu_cli",
            "plot",
            "-r",
            "chr1:1,001-1,500",
            str(bw),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _assert_damaged(proc: subprocess.CompletedProcess, bw: Path, out: Path, why: str) -> None:
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: bigWig {bw} is truncated or damaged: {why} (write it again, e.g. rerun "
        "grelu predict --format bigwig)"
    ]
    assert not out.exists()


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_truncated_bigwig_is_one_line_exit_3_in_a_real_process(outputs, tmp_path, keep):
    """A bigWig cut short: libBigWig prints C messages on fd 2 (which CliRunner cannot see)
    and can crash; the process must print the one error line and exit 3."""
    whole = (outputs["bw"] / "alpha.bw").read_bytes()
    cut = tmp_path / "alpha.bw"
    cut.write_bytes(whole[: int(len(whole) * keep)])
    out = tmp_path / "x.png"
    proc = _plot_process(cut, out)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: bigWig {cut} is truncated"), lines
    assert not out.exists()


def test_damaged_bigwig_header_silences_libbigwig(outputs, tmp_path):
    """Whole length, but the chromosome tree overwritten: libBigWig fails to open it and
    writes its own lines to fd 2; only our line may reach the process's stderr."""
    data = bytearray((outputs["bw"] / "alpha.bw").read_bytes())
    tree = struct.unpack_from("<Q", data, 8)[0]
    data[tree : tree + 8] = b"\xff" * 8
    bad = tmp_path / "alpha.bw"
    bad.write_bytes(bytes(data))
    out = tmp_path / "x.png"
    _assert_damaged(_plot_process(bad, out), bad, out, "libBigWig cannot open it")


def test_c_stderr_silenced_restores_fd_2(tmp_path):
    """Inside, C-level writes to fd 2 vanish; afterwards fd 2 is the original again."""
    code = (
        "import os, sys\n"
        "from grelu_cli.viz.quiet import c_stderr_silenced\n"
        "os.write(2, b'before\\n')\n"
        "with c_stderr_silenced():\n    os.write(2, b'hidden\\n')\n"
        "os.write(2, b'after\\n')\n"
        "try:\n"
        "    with c_stderr_silenced():\n        raise ValueError('x')\n"
        "except ValueError:\n    os.write(2, b'after error\\n')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b"before\nafter\nafter error\n"
