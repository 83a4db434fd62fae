"""Guard rails: warn before writing parquet at a scale where a dense zarr store is the better
output (Borzoi/Enformer-sized runs).

Measured with the parquet writer on Borzoi-shaped windows (7,611 tasks x 6,144 bins; see
benchmarks/README.md): the long layout takes about 1.9x the raw float32 size and ~19 CPU-s
per window; the wide layout writes one column chunk per task per row group, and each costs
about 130 bytes of footer (kept in memory until the file closes), so with thousands of tasks
the footer grows by megabytes per window. A zarr store holds the same values at about 0.8x
raw (float32) or 0.4x (float16), in a tenth of the CPU time.
"""

from __future__ import annotations

from pathlib import Path

from grelu_cli.io.formats.parquet_base import wide_row_group_rows

LONG_VALUES_LIMIT = 10**8  # values in one long-layout file before we suggest zarr
WIDE_FOOTER_LIMIT = 32 * 2**20  # bytes of estimated wide-layout footer before we suggest zarr
LONG_BYTES_PER_VALUE = 4 * 1.9  # measured: long layout on disk ~1.9x the raw float32
FOOTER_BYTES_PER_COLUMN_CHUNK = 130  # measured with pyarrow 2x, task names of ~15 characters
# Measured: 0.78 / 0.38 of raw float32 on noisy values, 0.72 / 0.31 on smooth, prediction-like
# ones (benchmarks/README.md); the estimate takes the larger.
ZARR_RATIO = {"float32": 0.8, "float16": 0.4}


def wide_footer_bytes(windows: int, tasks: int, bins: int) -> int:
    """Estimated footer of a wide-layout file: row groups x task columns x ~130 bytes."""
    groups = -(-(windows * bins) // wide_row_group_rows(tasks))
    return groups * tasks * FOOTER_BYTES_PER_COLUMN_CHUNK


def parquet_size_warning(
    *, layout: str, windows: int, tasks: int, bins: int, output: str | Path | None = None
) -> str | None:
    """A warning (one line) when this parquet output will be unwieldy, else None.

    Long layout: more than 10^8 values. Wide layout: an estimated footer over 32 MB
    (thousands of task columns over many windows).
    """
    values = windows * tasks * bins
    raw = values * 4
    store = Path(output).with_suffix(".zarr").name if output is not None else "preds.zarr"
    zarr_hint = (
        f"a dense zarr store (-o {store}) would take about {_size(raw * ZARR_RATIO['float32'])} "
        f"({_size(raw * ZARR_RATIO['float16'])} with --dtype float16) and reads one track or "
        "one window in about a second"
    )
    if layout == "long" and values > LONG_VALUES_LIMIT:
        return (
            f"this run writes {values:,} values ({windows:,} windows x {tasks:,} tasks x "
            f"{bins:,} bins) as long-layout parquet: about {_size(values * LONG_BYTES_PER_VALUE)} "
            f"on disk, slow to write and to read one track back; {zarr_hint}"
        )
    if layout == "wide":
        footer = wide_footer_bytes(windows, tasks, bins)
        if footer > WIDE_FOOTER_LIMIT:
            return (
                f"this run writes {tasks:,} task columns over {windows:,} windows as wide-layout "
                f"parquet: its footer alone grows to about {_size(footer)}, held in memory "
                f"until the file is closed and read by every reader; {zarr_hint}"
            )
    return None


def _size(n: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")
