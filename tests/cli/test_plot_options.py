"""``grelu plot``'s numeric options have documented finite ranges, checked before any work
(exit 2 naming the option, the value and the range; the image's pixel count is bounded too),
and inputs that are not predicted tracks (a variants store or parquet file) are one exit-3
line saying what they are. A hypothesis fuzz over the options finds no exit 1."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grelu_cli.genome.bins import BinLayout
from grelu_cli.io.formats.bigwig import BigWigWriter
from grelu_cli.io.formats.variant_parquet import VARIANT_COLUMNS, VariantParquetWriter
from grelu_cli.io.formats.variant_zarr import VariantZarrWriter
from grelu_cli.io.formats.zarr import ZarrWriter
from grelu_cli.viz.draw import LIMITS, MAX_PIXELS
from tests.cli.test_plot import CHROMS, TASKS, WINDOWS, _block, one_line_error, png_size, run

REGION = ["-r", "chr1:1,001-1,750"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Path]:
    """Two bigWig tracks (those of test_plot.py) over chr1:1,001-1,750."""
    root = tmp_path_factory.mktemp("plot_options")
    with BigWigWriter(root / "bw", TASKS, CHROMS) as w:
        w.write(_block(WINDOWS))
    return {"bw": root / "bw"}


def _plot(outputs: dict[str, Path], out: Path, *options: str):
    return run([*REGION, str(outputs["bw"]), "-o", str(out), *options])


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--width", "inf"),  # before the fix: exit 1 (internal error)
        ("--width", "nan"),  # before the fix: exit 1
        ("--width", "-inf"),
        ("--width", "0"),
        ("--width", "-3"),
        ("--width", "1e308"),
        ("--width", "1.5"),
        ("--track-height", "nan"),  # before the fix: exit 1
        ("--track-height", "inf"),
        ("--track-height", "0.25"),
        ("--track-height", "500"),
        ("--dpi", "0"),
        ("--dpi", "19"),
        ("--dpi", "-7"),
        ("--dpi", "5000"),
    ],
)
def test_out_of_range_option_is_exit_2_naming_it(outputs, tmp_path, option, value):
    out = tmp_path / "x.png"
    lo, hi = LIMITS[option]
    one_line_error(_plot(outputs, out, option, value), 2, option, f"{lo:g} to {hi:g}")
    assert not out.exists()


def test_limits_are_inclusive(outputs, tmp_path):
    out = tmp_path / "edge.png"
    result = _plot(outputs, out, "--width", "2", "--track-height", "0.3", "--dpi", "20")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("\n") == 1  # the summary line only, no matplotlib warning
    assert png_size(out) == (40, round((0.9 + 2 * 0.3) * 20))


def test_pixel_count_is_bounded(outputs, tmp_path):
    out = tmp_path / "big.png"
    # every option in range, but 120,000 pixels wide
    one_line_error(
        _plot(outputs, out, "--width", "100", "--dpi", "1200"),
        2,
        "120,000 x",
        "at most 32,768 pixels per side",
    )
    # one track would fit (17 M pixels), the two tracks of the input do not (33 M)
    one_line_error(
        _plot(outputs, out, "--track-height", "18", "--dpi", "300"),
        2,
        "2 track(s)",
        f"{MAX_PIXELS:,} in all",
    )
    assert not out.exists()


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def test_huge_dpi_is_refused_before_allocating(outputs, tmp_path):
    """``--dpi 100000`` (before the fix: allocates until bad_alloc) in a real process whose
    address space is capped at 3 GB: exit 2 at once, one line."""
    out = tmp_path / "x.png"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grelu_cli",
            "plot",
            *REGION,
            str(outputs["bw"]),
            "-o",
            str(out),
            "--dpi",
            "100000",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_memory,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--dpi 100000 is outside the allowed range 20 to 1200" in lines[0]
    assert not out.exists()


def _variant_rows(n: int) -> dict[str, list]:
    text = ("chrom", "ref", "alt", "variant_type", "ref_status")
    return {
        c: ["chr1"] * n if c in text else [None] * n if c == "id" else list(range(1, n + 1))
        for c in VARIANT_COLUMNS
    }


def test_variants_store_and_parquet_are_one_exit_3_line(outputs, tmp_path):
    """Before the fix, a variants store was an internal error (KeyError 'preds')."""
    values = np.ones((3, 2), np.float32)
    store = tmp_path / "effects.zarr"
    with VariantZarrWriter(store, ["a", "b"], ["diff"], metadata={"command": "variants"}) as w:
        w.write(_variant_rows(3), values, values, {"diff": values})
    table = tmp_path / "effects.parquet"
    with VariantParquetWriter(table, ["a", "b"], ["diff"], metadata={"command": "variants"}) as w:
        w.write(_variant_rows(3), values, values, {"diff": values})
    out = tmp_path / "x.png"
    for path in (store, table):
        result = run(["-r", "chr1:1-100", str(path), "-o", str(out)])
        one_line_error(result, 3, str(path), "grelu variants", "grelu predict")
    assert not out.exists()


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "-0", "0.2", "1", "20", "100", "1200"]),
    st.floats(min_value=0.1, max_value=30).map(lambda v: f"{v:.3g}"),
    st.integers(min_value=5, max_value=1300).map(str),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(width=NUMBERS, height=NUMBERS, dpi=NUMBERS)
def test_fuzzed_numeric_options_never_exit_1(outputs, tmp_path, width, height, dpi):
    out = tmp_path / "fuzz.png"
    result = _plot(
        outputs, out, "--width", width, "--track-height", height, "--dpi", dpi, "--overwrite"
    )
    assert result.exit_code in (0, 2), (width, height, dpi, result.exit_code, result.output)
    if result.exit_code == 2:
        lines = [ln for ln in result.output.splitlines() if ln.strip()]
        assert lines and ("error" in lines[-1].lower()), result.output


def test_stores_that_are_not_predict_output_are_one_exit_3_line(outputs, tmp_path):
    plain = tmp_path / "plain.zarr"  # a zarr store grelu did not write
    zarr.open_group(str(plain), mode="w").create_array("x", shape=(3,), dtype="float32")
    out = str(tmp_path / "x.png")
    one_line_error(run(["-r", "chr1:1-100", str(plain), "-o", out]), 3, "no grelu metadata")
    store = tmp_path / "p.zarr"  # a grelu predict store whose preds array was deleted
    block = _block(WINDOWS)
    layout = BinLayout(
        seq_len=500, bin_size=10, crop_len=0, n_out=50, pooled=False, first=0, n_keep=50
    )
    with ZarrWriter(store, TASKS, windows=block.windows, bin_layout=layout, metadata={}) as w:
        w.write(block)
    assert run(["-r", "chr1:1,001-1,750", str(store), "-o", out]).exit_code == 0
    shutil.rmtree(store / "preds")
    one_line_error(
        run(["-r", "chr1:1,001-1,750", str(store), "-o", out, "--overwrite"]), 3, "damaged"
    )
