"""``grelu predict`` to bigWig through the real CLI, read back with pyBigWig and with the
independent reader pybigtools, and compared base by base with direct model calls."""

from __future__ import annotations

import numpy as np
import pytest

from tests.cli.predict_helpers import (
    BIN,
    CHROM_SIZES,
    CROP,
    N_BINS,
    SEQ_LEN,
    TASKS,
    Env,
    bin_bounds,
    centered,
    invoke,
    listing,
    metadata,
    ok,
    one_error_line,
    read_parquet,
)

# Input order is deliberately not genome order; chrA 100-300 and 201-400 overlap with a 101 bp
# offset (bins of the two windows are misaligned by one base); chrB's window runs past the
# chromosome end and chrC's before its start.
REGIONS = [
    ("chrC", 0, 30, "c_start", 0, "-"),
    ("chrA", 100, 300, "a1", 0, "+"),
    ("chrA", 201, 400, "a2", 0, "-"),
    ("chrB", 1400, 1500, "b_end", 0, "+"),
    ("chrA", 2000, 2200, "a3", 0, "."),
]
RTOL = 1e-5
STEP = N_BINS * BIN  # output span of one window: tiles start this far apart


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    return Env(tmp_path_factory.mktemp("predict_bigwig"))


@pytest.fixture(scope="module")
def bed(env):
    return env.bed("regions.bed", REGIONS)


def expected_tracks(env, windows, overlap="mean") -> dict[str, dict[str, np.ndarray]]:
    """Per task, per chromosome: value of each base (NaN where nothing was predicted).

    ``windows``: (chrom, window_start, strand) in input order."""
    out = {}
    for t, task in enumerate(TASKS):
        tracks = {}
        for chrom, size in CHROM_SIZES.items():
            total, count = np.zeros(size), np.zeros(size)
            first = np.full(size, np.nan)
            for c, ws, strand in windows:
                if c != chrom:
                    continue
                values = env.oracle.predict(c, ws, ws + SEQ_LEN, strand)[t]
                for lo, hi, v in zip(*bin_bounds(ws), values, strict=True):
                    lo, hi = max(lo, 0), min(hi, size)
                    if lo >= hi:
                        continue
                    total[lo:hi] += v
                    count[lo:hi] += 1
                    unset = np.isnan(first[lo:hi])
                    first[lo:hi][unset] = v
            with np.errstate(invalid="ignore"):
                tracks[chrom] = total / count if overlap == "mean" else first
        out[task] = tracks
    return out


def read_pybigwig(path) -> tuple[list, dict[str, np.ndarray], int]:
    import pyBigWig

    with pyBigWig.open(str(path)) as bw:
        header = list(bw.chroms().items())
        tracks = {}
        for chrom, size in header:
            arr = np.full(size, np.nan)
            for lo, hi, v in bw.intervals(chrom) or ():
                arr[lo:hi] = v
            tracks[chrom] = arr
        levels = bw.header()["nLevels"]
    return header, tracks, levels


def read_pybigtools(path) -> tuple[list, dict[str, np.ndarray]]:
    import pybigtools

    bw = pybigtools.open(str(path))
    try:
        header = list(bw.chroms().items())
        tracks = {}
        for chrom, size in header:
            arr = np.full(size, np.nan)
            last_end = 0
            for lo, hi, v in bw.records(chrom):
                assert lo >= last_end  # sorted, non-overlapping entries
                last_end = hi
                arr[lo:hi] = v
            tracks[chrom] = arr
    finally:
        bw.close()
    return header, tracks


def check_files(paths: dict[str, object], want: dict[str, dict[str, np.ndarray]]) -> None:
    for task, path in paths.items():
        header, a, levels = read_pybigwig(path)
        header2, b = read_pybigtools(path)
        assert header == list(CHROM_SIZES.items()) == header2  # genome index order
        assert levels > 0  # zoom levels kept
        for chrom in CHROM_SIZES:
            np.testing.assert_array_equal(np.isnan(a[chrom]), np.isnan(want[task][chrom]))
            np.testing.assert_allclose(a[chrom], want[task][chrom], rtol=RTOL, err_msg=chrom)
            np.testing.assert_array_equal(a[chrom], b[chrom])


def bed_windows(rows) -> list[tuple[str, int, str]]:
    return [(c, centered(s, e)[0], st) for c, s, e, _n, _sc, st in rows]


def test_directory_output_matches_direct_calls_and_averages_overlaps(env, bed):
    d = env.out("dir")
    r = ok("predict", "-m", env.model, "--bed", bed, "-g", env.genome, "-o", f"{d}/")
    assert sorted(listing(d)) == sorted(f"{t}.bw" for t in TASKS)
    for t in TASKS:
        assert f"{d / t}.bw" in r.stderr  # the summary names the files
    check_files({t: d / f"{t}.bw" for t in TASKS}, expected_tracks(env, bed_windows(REGIONS)))


def test_nothing_written_outside_chromosomes(env, bed):
    d = env.out("edges")
    ok("predict", "-m", env.model, "--bed", bed, "-g", env.genome, "-o", f"{d}/", "-q")
    import pyBigWig

    with pyBigWig.open(str(d / f"{TASKS[0]}.bw")) as bw:
        b = bw.intervals("chrB")
        c = bw.intervals("chrC")
    assert b[-1][1] == CHROM_SIZES["chrB"]  # the window ran past the end: clipped there
    assert c[0][0] == 0  # the window started at -85: entries start at 0
    assert all(hi - lo >= 1 for lo, hi, _v in b + c)


def test_template_output_and_overlap_first(env, bed):
    d = env.out("template")
    ok(
        "predict",
        "-m",
        env.model,
        "--bed",
        bed,
        "-g",
        env.genome,
        "-o",
        f"{d}/{{task}}.signal.bw",
        "--overlap",
        "first",
        "-q",
    )
    assert sorted(listing(d)) == sorted(f"{t}.signal.bw" for t in TASKS)
    want = expected_tracks(env, bed_windows(REGIONS), overlap="first")
    check_files({t: d / f"{t}.signal.bw" for t in TASKS}, want)


def test_overlap_error_leaves_nothing(env, bed):
    d = env.out("overlap_error")
    r = invoke(
        "predict",
        "-m",
        env.model,
        "--bed",
        bed,
        "-g",
        env.genome,
        "-o",
        f"{d}/",
        "--overlap",
        "error",
    )
    line = one_error_line(r)
    assert r.exit_code == 3, line
    assert "a1" in line and "a2" in line  # names the overlapping regions
    assert listing(d) == {}


def test_tile_region_gives_contiguous_track(env):
    d = env.out("tile_region")
    # 1-based inclusive with commas: the same as BED chrA 1000 1500
    args = ["-m", env.model, "--region", "chrA:1,001-1,500", "-g", env.genome, "--tile"]
    ok("predict", *args, "-o", f"{d}/", "-q")
    ok("predict", *args, "-o", d / "tile.parquet", "-q")
    df, _ = read_parquet(d / "tile.parquet")
    # windows: the first output bin starts at the region start, outputs abut
    starts = sorted(df["window_start"].unique())
    n = -(-500 // STEP)
    assert starts == [1000 - CROP * BIN + k * STEP for k in range(n)]
    counts = metadata(d / "tile.parquet")["counts"]
    assert (counts["regions"], counts["windows"], counts["padded_windows"]) == (1, n, 0)
    assert set(df["window_end"] - df["window_start"]) == {SEQ_LEN}
    t0 = df[df["task"] == TASKS[0]].sort_values("bin_start")
    assert t0["bin_start"].iloc[0] == 1000
    np.testing.assert_array_equal(t0["bin_start"].to_numpy()[1:], t0["bin_end"].to_numpy()[:-1])
    assert t0["bin_end"].iloc[-1] >= 1500
    want = expected_tracks(env, [("chrA", s, "+") for s in starts])
    check_files({t: d / f"{t}.bw" for t in TASKS}, want)
    # one contiguous run of entries covering the region
    cov = ~np.isnan(want[TASKS[0]]["chrA"])
    assert cov[1000:1500].all() and np.flatnonzero(np.diff(cov.astype(int))).size == 2


def test_tile_whole_chromosome(env):
    d = env.out("tile_chrom")
    ok("predict", "-m", env.model, "--chrom", "chrC", "-g", env.genome, "--tile", "-o", f"{d}/")
    size = CHROM_SIZES["chrC"]
    starts = [-CROP * BIN + k * STEP for k in range(-(-size // STEP))]
    want = expected_tracks(env, [("chrC", s, "+") for s in starts])
    assert not np.isnan(want[TASKS[0]]["chrC"]).any()  # every base of chrC predicted
    check_files({t: d / f"{t}.bw" for t in TASKS}, want)


def test_overlap_first_follows_input_order_not_position(env):
    rows = REGIONS[::-1]  # a2 (201-400) now comes before a1 (100-300)
    bed = env.bed("reversed.bed", rows)
    d = env.out("first_reversed")
    ok(
        "predict",
        "-m",
        env.model,
        "--bed",
        bed,
        "-g",
        env.genome,
        "-o",
        f"{d}/",
        "--overlap",
        "first",
        "-q",
    )
    want = expected_tracks(env, bed_windows(rows), overlap="first")
    check_files({t: d / f"{t}.bw" for t in TASKS}, want)
    forward = expected_tracks(env, bed_windows(REGIONS), overlap="first")
    assert not np.allclose(want[TASKS[0]]["chrA"][201:300], forward[TASKS[0]]["chrA"][201:300])


def test_overlap_error_on_sorted_input_fails_early(env):
    rows = [("chrA", 100, 300, "x1", 0, "+"), ("chrA", 250, 450, "x2", 0, "+")]
    d = env.out("overlap_error_sorted")
    r = invoke(
        "predict",
        "-m",
        env.model,
        "--bed",
        env.bed("sorted.bed", rows),
        "-g",
        env.genome,
        "-o",
        f"{d}/",
        "--overlap",
        "error",
    )
    assert r.exit_code == 3 and "x1" in r.stderr and "x2" in r.stderr
    assert listing(d) == {}


def test_abutting_regions_are_not_overlaps(env):
    # outputs [106, 294) and [294, 482): touching, not overlapping
    rows = [("chrA", 100, 300, "y1", 0, "+"), ("chrA", 288, 488, "y2", 0, "+")]
    d = env.out("abut")
    ok(
        "predict",
        "-m",
        env.model,
        "--bed",
        env.bed("abut.bed", rows),
        "-g",
        env.genome,
        "-o",
        f"{d}/",
        "--overlap",
        "error",
        "-q",
    )
    check_files({t: d / f"{t}.bw" for t in TASKS}, expected_tracks(env, bed_windows(rows)))
