"""``grelu predict`` augmentation and tiling through the CLI against direct model calls:
``--shifts`` (with and without ``--rc``) near chromosome ends, ``--rc`` swapping strand-paired
tracks, tiling of BED regions on both strands, and bigWig built from aggregated or shifted
windows equal to the per-base mean of the parquet rows."""

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
    Oracle,
    bin_bounds,
    build_model,
    centered,
    invoke,
    long_to_array,
    ok,
    read_parquet,
)

RTOL = 1e-5
REGIONS = [
    ("chrA", 100, 300, "plus", 0, "+"),
    ("chrA", 151, 350, "minus", 0, "-"),
    ("chrB", 1400, 1500, "b_end", 0, "+"),  # window 1350-1550: shifted copies run further off
    ("chrC", 0, 30, "c_start", 0, "-"),  # window -85..115
]
STRAND_TASKS = ["cage_p", "cage_m", "dnase"]
STRAND_TSV = (
    "name\tassay\tstrand\tstrand_pair\ncage_p\tCAGE\t+\t1\ncage_m\tCAGE\t-\t0\ndnase\tDNASE\t.\t2\n"
)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    e = Env(tmp_path_factory.mktemp("predict_augment"))
    e.regions = e.bed("regions.bed", REGIONS)
    return e


def oracle_mean(oracle, chrom, ws, strand, shifts=0, rc=False, pairs=None):
    """gReLU-style mean over shifted copies (bin by bin, not re-aligned) and, with ``rc``, the
    opposite orientation (tracks swapped by ``pairs``); everything in genome orientation."""
    copies = []
    for d in range(-shifts, shifts + 1):
        copies.append(oracle.predict(chrom, ws + d, ws + d + SEQ_LEN, strand))
        if rc:
            other = oracle.predict(chrom, ws + d, ws + d + SEQ_LEN, "+" if strand == "-" else "-")
            copies.append(other[pairs] if pairs is not None else other)
    return np.mean(copies, axis=0)


@pytest.mark.parametrize(("shifts", "rc"), [(1, False), (3, False), (2, True)])
def test_shifts_average_shifted_windows(env, tmp_path, shifts, rc):
    out = tmp_path / "s.parquet"
    args = ["--shifts", str(shifts)] + (["--rc"] if rc else [])
    ok("predict", "-m", env.model, "--bed", env.regions, "-g", env.genome, "-o", out, "-q", *args)
    df, _ = read_parquet(out)
    for chrom, start, end, name, _s, strand in REGIONS:
        rows = df[df["name"] == name]
        ws, we = centered(start, end)
        # the stated window is the unshifted one; padding counts that window only
        assert (rows["window_start"].iloc[0], rows["window_end"].iloc[0]) == (ws, we)
        size = CHROM_SIZES[chrom]
        assert rows["padded"].iloc[0] == max(0, -ws) + max(0, we - size)
        want = oracle_mean(env.oracle, chrom, ws, strand, shifts=shifts, rc=rc)
        np.testing.assert_allclose(long_to_array(rows, TASKS), want, rtol=RTOL, err_msg=name)


@pytest.fixture(scope="module")
def stranded(env):
    path = build_model(env.root / "model", name="stranded.ckpt", tasks_tsv=STRAND_TSV)
    return path, Oracle(path, env.genome)


def test_rc_swaps_strand_paired_tracks(env, stranded, tmp_path):
    model, oracle = stranded
    out = tmp_path / "rc.parquet"
    ok("predict", "-m", model, "--bed", env.regions, "-g", env.genome, "-o", out, "--rc", "-q")
    df, _ = read_parquet(out)
    assert list(df["task"].unique()) == STRAND_TASKS
    pairs = [1, 0, 2]
    for chrom, start, end, name, _s, strand in REGIONS:
        ws, _ = centered(start, end)
        got = long_to_array(df[df["name"] == name], STRAND_TASKS)
        want = oracle_mean(oracle, chrom, ws, strand, rc=True, pairs=pairs)
        np.testing.assert_allclose(got, want, rtol=RTOL, err_msg=name)
        unswapped = oracle_mean(oracle, chrom, ws, strand, rc=True)
        assert not np.allclose(got[:2], unswapped[:2], rtol=1e-4)  # the swap is visible


def test_rc_with_selected_stranded_task_keeps_its_pair(env, stranded, tmp_path):
    """Selecting only cage_p still averages in the rc copy's cage_m track."""
    model, oracle = stranded
    out = tmp_path / "rc1.parquet"
    ok(
        "predict",
        "-m",
        model,
        "--bed",
        env.regions,
        "-g",
        env.genome,
        "-o",
        out,
        "--rc",
        "--tasks",
        "cage_p",
        "-q",
    )
    df, _ = read_parquet(out)
    assert list(df["task"].unique()) == ["cage_p"]
    for chrom, start, end, name, _s, strand in REGIONS:
        ws, _ = centered(start, end)
        want = oracle_mean(oracle, chrom, ws, strand, rc=True, pairs=[1, 0, 2])[:1]
        got = long_to_array(df[df["name"] == name], ["cage_p"])
        np.testing.assert_allclose(got, want, rtol=RTOL, err_msg=name)


# ----------------------------------------------------------------------------- tiling


def test_tile_bed_regions_both_strands(env, tmp_path):
    bed = env.bed(
        "tile.bed", [("chrA", 300, 800, "tp", 0, "+"), ("chrA", 1000, 1300, "tm", 0, "-")]
    )
    out = tmp_path / "t.parquet"
    ok("predict", "-m", env.model, "--bed", bed, "-g", env.genome, "--tile", "-o", out, "-q")
    df, _ = read_parquet(out)
    for name, start, end, strand in (("tp", 300, 800, "+"), ("tm", 1000, 1300, "-")):
        rows = df[df["name"] == name]
        starts = sorted(rows["window_start"].unique())
        n = -(-(end - start) // (N_BINS * BIN))
        assert starts == [start - CROP * BIN + k * N_BINS * BIN for k in range(n)]
        t0 = rows[rows["task"] == TASKS[0]].sort_values("bin_start")
        assert t0["bin_start"].iloc[0] == start and t0["bin_end"].iloc[-1] >= end
        np.testing.assert_array_equal(t0["bin_start"].to_numpy()[1:], t0["bin_end"].to_numpy()[:-1])
        assert set(rows["strand"]) == {strand}
        for ws in starts:
            w = rows[rows["window_start"] == ws]
            assert set(w["window_end"]) == {ws + SEQ_LEN}
            assert set(w["start"]) == {start} and set(w["end"]) == {end}
            np.testing.assert_array_equal(
                w[w["task"] == TASKS[0]].sort_values("bin")["bin_start"], bin_bounds(ws)[0]
            )
            want = env.oracle.predict("chrA", ws, ws + SEQ_LEN, strand)
            np.testing.assert_allclose(long_to_array(w, TASKS), want, rtol=RTOL, err_msg=name)


def test_tile_with_center_bins_is_contiguous_or_refused(env, tmp_path):
    out = tmp_path / "tb.parquet"
    r = invoke(
        "predict",
        "-m",
        env.model,
        "--region",
        "chrA:301-800",
        "-g",
        env.genome,
        "--tile",
        "--bins",
        "10",
        "-o",
        out,
        "-q",
    )
    if r.exit_code == 2:  # refusing the combination is fine too
        assert r.stderr.startswith("error: ") and "--bins" in r.stderr
        return
    assert r.exit_code == 0, r.output
    df, _ = read_parquet(out)
    t0 = df[df["task"] == TASKS[0]].sort_values("bin_start")
    assert t0["bin_start"].iloc[0] <= 300 and t0["bin_end"].iloc[-1] >= 800
    np.testing.assert_array_equal(t0["bin_start"].to_numpy()[1:], t0["bin_end"].to_numpy()[:-1])


def per_base_mean(df, task) -> dict[str, np.ndarray]:
    """The bigWig a parquet file implies: per base, the mean of every row covering it."""
    out = {}
    rows = df[df["task"] == task]
    for chrom, size in CHROM_SIZES.items():
        total, count = np.zeros(size), np.zeros(size)
        sub = rows[rows["chrom"] == chrom]
        for lo, hi, v in zip(sub["bin_start"], sub["bin_end"], sub["value"], strict=True):
            lo, hi = max(int(lo), 0), min(int(hi), size)
            if lo < hi:
                total[lo:hi] += v
                count[lo:hi] += 1
        with np.errstate(invalid="ignore"):
            out[chrom] = total / count
    return out


def bigwig_arrays(path) -> dict[str, np.ndarray]:
    import pybigtools

    bw = pybigtools.open(str(path))
    try:
        out = {}
        for chrom, size in bw.chroms().items():
            arr = np.full(size, np.nan)
            for lo, hi, v in bw.records(chrom):
                arr[lo:hi] = v
            out[chrom] = arr
        return out
    finally:
        bw.close()


@pytest.mark.parametrize(
    "args",
    [
        ["--chrom", "chrC", "--tile", "--edge", "shift"],
        ["--bed", "{regions}", "--aggregate", "mean"],
        ["--bed", "{regions}", "--shifts", "1", "--rc", "--bins", "10"],
    ],
    ids=["tile-edge-shift", "aggregate", "shifts-rc-bins"],
)
def test_bigwig_is_per_base_mean_of_parquet_rows(env, tmp_path, args):
    args = [a.format(regions=env.regions) for a in args]
    common = ["predict", "-m", env.model, "-g", env.genome, "-q", *args]
    ok(*common, "-o", tmp_path / "p.parquet")
    ok(*common, "-o", f"{tmp_path}/bw/")
    df, _ = read_parquet(tmp_path / "p.parquet")
    for task in TASKS:
        want = per_base_mean(df, task)
        got = bigwig_arrays(tmp_path / "bw" / f"{task}.bw")
        for chrom in CHROM_SIZES:
            np.testing.assert_array_equal(np.isnan(got[chrom]), np.isnan(want[chrom]))
            np.testing.assert_allclose(got[chrom], want[chrom], rtol=RTOL, err_msg=chrom)


def test_parquet_readable_by_polars(env, tmp_path):
    import polars as pl

    out = tmp_path / "w.parquet"
    ok(
        "predict",
        "-m",
        env.model,
        "--bed",
        env.regions,
        "-g",
        env.genome,
        "-o",
        out,
        "--layout",
        "wide",
        "-q",
    )
    frame = pl.read_parquet(out)
    assert frame.columns[-3:] == TASKS and frame.height == len(REGIONS) * N_BINS
    assert frame.schema[TASKS[0]] == pl.Float32
