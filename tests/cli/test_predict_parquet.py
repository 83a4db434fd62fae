"""``grelu predict`` to parquet through the real CLI, read back with pyarrow and compared value
by value with direct model calls at the coordinates each row states."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import grelu_cli
from tests.cli.predict_helpers import (
    BIN,
    CROP,
    LONG_COLUMNS,
    N_BINS,
    SEQ_LEN,
    TASKS,
    WIDE_LEADING,
    Env,
    bin_bounds,
    centered,
    long_to_array,
    metadata,
    ok,
    read_parquet,
)

# name -> (chrom, start, end, strand); covers +, -, '.', odd length, a genome N run, soft-masking,
# and windows running off a chromosome's end and start.
REGIONS = {
    "plus": ("chrA", 100, 300, "+"),
    "minus_odd": ("chrA", 151, 350, "-"),
    "nrun": ("chrA", 900, 1100, "+"),
    "soft_minus": ("chrA", 480, 600, "-"),
    "end_pad": ("chrB", 1400, 1500, "+"),
    "start_pad_minus": ("chrC", 0, 30, "-"),
    "dot": ("chrC", 300, 400, "."),
}
RTOL = 1e-5


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    return Env(tmp_path_factory.mktemp("predict_parquet"))


@pytest.fixture(scope="module")
def bed(env):
    return env.bed("regions.bed", [(c, s, e, n, 0, st) for n, (c, s, e, st) in REGIONS.items()])


@pytest.fixture(scope="module")
def long_run(env, bed):
    out = env.out("long") / "p.parquet"
    ok("predict", "-m", env.model, "--bed", bed, "--genome", env.genome, "-o", out, "-q")
    return out


def expected(env, name, **kw) -> np.ndarray:
    chrom, start, end, strand = REGIONS[name]
    ws, we = centered(start, end)
    return env.oracle.predict(chrom, ws, we, strand, **kw)


def test_long_columns_coordinates_and_values(env, long_run):
    df, schema = read_parquet(long_run)
    assert list(df.columns) == LONG_COLUMNS
    assert schema.field("value").type == "float"
    assert len(df) == len(REGIONS) * len(TASKS) * N_BINS
    assert list(df["name"].unique()) == list(REGIONS)  # input order
    for name, (chrom, start, end, strand) in REGIONS.items():
        rows = df[df["name"] == name]
        # BED "." is read as "+" (grelu_cli.core.window.Window)
        assert set(rows["chrom"]) == {chrom} and set(rows["strand"]) == {strand.replace(".", "+")}
        assert set(rows["start"]) == {start} and set(rows["end"]) == {end}
        ws, we = centered(start, end)
        assert set(rows["window_start"]) == {ws} and set(rows["window_end"]) == {we}
        # padding counts only bases outside the chromosome (not the genome's own N run)
        size = len(env.chroms[chrom])
        assert set(rows["padded"]) == {max(0, -ws) + max(0, we - size)}
        assert list(rows["task"].unique()) == TASKS
        for task in TASKS:
            t = rows[rows["task"] == task].sort_values("bin")
            assert list(t["bin"]) == list(range(N_BINS))
            lo, hi = bin_bounds(ws)
            np.testing.assert_array_equal(t["bin_start"], lo)
            np.testing.assert_array_equal(t["bin_end"], hi)
        # values at the exact window: the oracle reads window_start..window_end itself
        got = long_to_array(rows, TASKS)
        want = env.oracle.predict(chrom, ws, we, strand)
        np.testing.assert_allclose(got, want, rtol=RTOL, err_msg=name)


def test_minus_strand_is_model_of_reverse_complement_flipped_back(env, long_run):
    df, _ = read_parquet(long_run)
    got = long_to_array(df[df["name"] == "minus_odd"], TASKS)
    chrom, start, end, _ = REGIONS["minus_odd"]
    ws, we = centered(start, end)
    forward = env.oracle.predict(chrom, ws, we, "+")
    assert not np.allclose(got, forward, rtol=1e-3)  # the strand matters for this model
    # bin 0 (genome order, leftmost) is the model's LAST output on the reverse complement
    seq = env.oracle.genome[chrom][ws:we]
    raw = env.oracle.raw_seq(seq, "-")  # already flipped back by the oracle
    np.testing.assert_allclose(got[:, 0], raw[:, 0], rtol=RTOL)


def test_wide_layout_same_values(env, bed, long_run):
    out = env.out("wide") / "w.parquet"
    ok("predict", "-m", env.model, "--bed", bed, "-g", env.genome, "-o", out, "--layout", "wide")
    wide, schema = read_parquet(out)
    assert list(wide.columns) == WIDE_LEADING + TASKS
    for t in TASKS:
        assert schema.field(t).type == "float"
    assert len(wide) == len(REGIONS) * N_BINS
    for name in REGIONS:
        rows = wide[wide["name"] == name].sort_values("bin")
        ws = int(rows["window_start"].iloc[0])
        np.testing.assert_array_equal(rows["bin_start"], bin_bounds(ws)[0])
        got = rows[TASKS].to_numpy(np.float64).T
        np.testing.assert_allclose(got, expected(env, name), rtol=RTOL, err_msg=name)
    long, _ = read_parquet(long_run)
    pivot = long.pivot_table(index=["name", "bin"], columns="task", values="value", sort=False)
    merged = wide.set_index(["name", "bin"])[TASKS]
    np.testing.assert_array_equal(merged.to_numpy(), pivot.loc[merged.index, TASKS].to_numpy())


def test_metadata_records_provenance(env, bed, long_run):
    meta = metadata(long_run)
    assert meta["version"] == grelu_cli.__version__
    model = meta["model"]
    assert model["file"] == env.model.name
    assert model["weights_sha256"] == hashlib.sha256(env.model.read_bytes()).hexdigest()
    assert meta["genome"]["path"] == str(env.genome)
    fai = env.genome.with_name(env.genome.name + ".fai")
    assert meta["genome"]["index_sha256"] == hashlib.sha256(fai.read_bytes()).hexdigest()
    opts = meta["options"]
    assert opts["bed"] == str(bed) and opts["rc"] is False and opts["layout"] == "long"
    assert opts["shifts"] == 0 and opts["edge"] == "pad"
    counts = meta["counts"]
    assert counts["regions"] == len(REGIONS) and counts["windows"] == len(REGIONS)
    assert counts["padded_windows"] == 2 and counts["padded_bases"] == 50 + 85
    assert counts["dropped_windows"] == 0
    assert meta["tasks"] == TASKS


def test_batch_size_does_not_change_values(env, bed):
    d = env.out("batch")
    for b in ("1", "7"):
        ok(
            "predict",
            "-m",
            env.model,
            "--bed",
            bed,
            "-g",
            env.genome,
            "-o",
            d / f"b{b}.parquet",
            "--batch-size",
            b,
            "-q",
        )
    one, _ = read_parquet(d / "b1.parquet")
    seven, _ = read_parquet(d / "b7.parquet")
    np.testing.assert_array_equal(one.drop(columns="value"), seven.drop(columns="value"))
    np.testing.assert_allclose(one["value"], seven["value"], rtol=1e-6)


def test_logits_are_raw_outputs(env, bed):
    out = env.out("logits") / "l.parquet"
    ok("predict", "-m", env.model, "--bed", bed, "-g", env.genome, "-o", out, "--logits", "-q")
    df, _ = read_parquet(out)
    for name in ("plus", "minus_odd", "start_pad_minus"):
        got = long_to_array(df[df["name"] == name], TASKS)
        np.testing.assert_allclose(
            got, expected(env, name, logits=True), rtol=RTOL, atol=1e-6, err_msg=name
        )
    assert metadata(out)["options"]["logits"] is True


def test_rc_averages_both_orientations(env, bed):
    out = env.out("rc") / "rc.parquet"
    ok("predict", "-m", env.model, "--bed", bed, "-g", env.genome, "-o", out, "--rc", "-q")
    df, _ = read_parquet(out)
    for name, (chrom, start, end, _strand) in REGIONS.items():
        ws, we = centered(start, end)
        # no strand_pair column in this model's tasks: plain mean of both orientations
        want = (env.oracle.predict(chrom, ws, we, "+") + env.oracle.predict(chrom, ws, we, "-")) / 2
        got = long_to_array(df[df["name"] == name], TASKS)
        np.testing.assert_allclose(got, want, rtol=RTOL, err_msg=name)


@pytest.mark.parametrize("func", ["mean", "sum", "max", "min"])
def test_aggregate_over_bins(env, bed, func):
    out = env.out(f"agg_{func}") / "a.parquet"
    ok(
        "predict",
        "-m",
        env.model,
        "--bed",
        bed,
        "-g",
        env.genome,
        "-o",
        out,
        "--aggregate",
        func,
        "-q",
    )
    df, _ = read_parquet(out)
    assert list(df.columns) == LONG_COLUMNS
    assert len(df) == len(REGIONS) * len(TASKS)
    for name in REGIONS:
        rows = df[df["name"] == name]
        ws = int(rows["window_start"].iloc[0])
        # the span the aggregate covers: first bin's start to last bin's end
        assert set(rows["bin_start"]) == {ws + CROP * BIN}
        assert set(rows["bin_end"]) == {ws + SEQ_LEN - CROP * BIN}
        assert list(rows["task"]) == TASKS
        want = getattr(np, func)(expected(env, name), axis=1)
        np.testing.assert_allclose(rows["value"].to_numpy(), want, rtol=RTOL, err_msg=name)


@pytest.mark.parametrize("k", [1, 3, 4])
def test_center_bins(env, bed, k):
    out = env.out(f"bins{k}") / "c.parquet"
    ok("predict", "-m", env.model, "--bed", bed, "-g", env.genome, "-o", out, "--bins", str(k))
    df, _ = read_parquet(out)
    assert len(df) == len(REGIONS) * len(TASKS) * k
    for name in REGIONS:
        rows = df[df["name"] == name]
        ws = int(rows["window_start"].iloc[0])
        kept = sorted(rows["bin"].unique())
        first = kept[0]
        assert kept == list(range(first, first + k))
        assert abs(first - (N_BINS - first - k)) <= 1  # centred
        lo, hi = bin_bounds(ws)
        t = rows[rows["task"] == TASKS[0]].sort_values("bin")
        np.testing.assert_array_equal(t["bin_start"], lo[kept])
        np.testing.assert_array_equal(t["bin_end"], hi[kept])
        np.testing.assert_allclose(
            long_to_array(rows, TASKS), expected(env, name)[:, kept], rtol=RTOL, err_msg=name
        )


def test_bins_then_aggregate_covers_only_kept_bins(env, bed):
    out = env.out("bins_agg") / "c.parquet"
    ok(
        "predict",
        "-m",
        env.model,
        "--bed",
        bed,
        "-g",
        env.genome,
        "-o",
        out,
        "--bins",
        "4",
        "--aggregate",
        "sum",
        "-q",
    )
    df, _ = read_parquet(out)
    first = (N_BINS - 4) // 2
    for name in REGIONS:
        rows = df[df["name"] == name]
        ws = int(rows["window_start"].iloc[0])
        lo, hi = bin_bounds(ws)
        spans = {(int(a), int(b)) for a, b in zip(rows["bin_start"], rows["bin_end"], strict=True)}
        assert len(spans) == 1
        ((a, b),) = spans
        kept = [j for j in range(N_BINS) if lo[j] >= a and hi[j] <= b]
        assert len(kept) == 4 and abs(kept[0] - first) <= 1
        want = expected(env, name)[:, kept].sum(axis=1)
        np.testing.assert_allclose(rows["value"].to_numpy(), want, rtol=RTOL, err_msg=name)
