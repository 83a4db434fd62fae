"""``grelu predict`` options through the real CLI: --edge, task selection, FASTA input,
--dry-run, stdin BED; values checked against direct model calls."""

from __future__ import annotations

import numpy as np
import pytest

from tests.cli.predict_helpers import (
    BIN,
    CHROM_SIZES,
    CROP,
    LONG_COLUMNS,
    SEQ_LEN,
    TASKS,
    Env,
    bin_bounds,
    centered,
    invoke,
    listing,
    long_to_array,
    metadata,
    ok,
    random_seq,
    read_parquet,
    window_seq,
)

RTOL = 1e-5
# chrB's window (1350-1550) runs 50 bp off the end; chrC's (-85..115, minus) 85 bp off the start.
EDGE_BED = [
    ("chrA", 100, 300, "mid", 0, "+"),
    ("chrB", 1400, 1500, "b_end", 0, "+"),
    ("chrC", 0, 30, "c_start", 0, "-"),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    return Env(tmp_path_factory.mktemp("predict_options"))


@pytest.fixture(scope="module")
def edge_bed(env):
    return env.bed("edge.bed", EDGE_BED)


def run_parquet(env, name, *args):
    out = env.out(name) / "p.parquet"
    ok("predict", "-m", env.model, "-g", env.genome, "-o", out, "-q", *args)
    df, _ = read_parquet(out)
    return df, out


def check_values(env, df, tasks=TASKS):
    """Every region's rows equal the oracle at the row's own window coordinates."""
    for name, rows in df.groupby("name", sort=False):
        chrom, strand = rows["chrom"].iloc[0], rows["strand"].iloc[0]
        ws, we = int(rows["window_start"].iloc[0]), int(rows["window_end"].iloc[0])
        assert we - ws == SEQ_LEN
        want = env.oracle.predict(chrom, ws, we, strand)
        idx = [TASKS.index(t) for t in tasks]
        np.testing.assert_allclose(long_to_array(rows, tasks), want[idx], rtol=RTOL, err_msg=name)
        t0 = rows[rows["task"] == tasks[0]].sort_values("bin")
        np.testing.assert_array_equal(t0["bin_start"], bin_bounds(ws)[0])


# ----------------------------------------------------------------------------- --edge


def test_edge_pad_fills_with_n(env, edge_bed):
    df, out = run_parquet(env, "edge_pad", "--bed", edge_bed, "--edge", "pad")
    first = df.groupby("name", sort=False).first()
    assert first.loc["b_end", "window_start"] == 1350 and first.loc["b_end", "padded"] == 50
    assert first.loc["c_start", "window_start"] == -85 and first.loc["c_start", "padded"] == 85
    check_values(env, df)  # the oracle pads with N itself
    # the first bins of c_start lie before the chromosome: stated, not hidden
    assert df[df["name"] == "c_start"]["bin_start"].min() == -85 + CROP * BIN
    assert metadata(out)["counts"]["padded_windows"] == 2


def test_edge_drop_skips_windows(env, edge_bed):
    df, out = run_parquet(env, "edge_drop", "--bed", edge_bed, "--edge", "drop")
    assert list(df["name"].unique()) == ["mid"]
    check_values(env, df)
    counts = metadata(out)["counts"]
    assert counts["dropped_windows"] == 2 and counts["windows"] == 1


def test_edge_shift_moves_windows_inside(env, edge_bed):
    df, out = run_parquet(env, "edge_shift", "--bed", edge_bed, "--edge", "shift")
    first = df.groupby("name", sort=False).first()
    size = CHROM_SIZES["chrB"]
    assert (first.loc["b_end", "window_start"], first.loc["b_end", "window_end"]) == (
        size - SEQ_LEN,
        size,
    )
    assert (first.loc["c_start", "window_start"], first.loc["c_start", "window_end"]) == (0, 200)
    assert set(df["padded"]) == {0}
    # the region as given is still stated
    assert (first.loc["b_end", "start"], first.loc["b_end", "end"]) == (1400, 1500)
    check_values(env, df)
    assert metadata(out)["counts"]["shifted_windows"] == 2


def test_edge_error_exits_3_and_names_the_region(env, edge_bed):
    d = env.out("edge_error")
    r = invoke(
        "predict",
        "-m",
        env.model,
        "--bed",
        edge_bed,
        "-g",
        env.genome,
        "-o",
        d / "p.parquet",
        "--edge",
        "error",
    )
    assert r.exit_code == 3
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ") and "chrB" in line and "line 2" in line
    assert listing(d) == {}


# ----------------------------------------------------------------------------- tasks


@pytest.fixture(scope="module")
def bed(env):
    return env.bed("two.bed", [*EDGE_BED[:1], ("chrA", 700, 950, "m2", 0, "-")])


def test_tasks_by_name_keeps_given_order(env, bed):
    df, out = run_parquet(env, "tasks_names", "--bed", bed, "--tasks", "t_cage_h,t_dnase")
    assert list(df["task"].unique()) == ["t_cage_h", "t_dnase"]
    check_values(env, df, tasks=["t_cage_h", "t_dnase"])
    assert metadata(out)["tasks"] == ["t_cage_h", "t_dnase"]


def test_tasks_file(env, bed):
    f = env.root / "tasks.txt"
    f.write_text("t_cage_k\n\nt_dnase\n")
    df, _ = run_parquet(env, "tasks_file", "--bed", bed, "--tasks-file", f)
    assert list(df["task"].unique()) == ["t_cage_k", "t_dnase"]
    check_values(env, df, tasks=["t_cage_k", "t_dnase"])


def test_tasks_query_over_metadata_columns(env, bed):
    q = "assay == 'CAGE' and sample.str.contains('K562')"
    df, _ = run_parquet(env, "tasks_query", "--bed", bed, "--tasks-query", q)
    assert list(df["task"].unique()) == ["t_cage_k"]
    check_values(env, df, tasks=["t_cage_k"])
    df, _ = run_parquet(env, "tasks_query2", "--bed", bed, "--tasks-query", "assay == 'CAGE'")
    assert list(df["task"].unique()) == ["t_cage_k", "t_cage_h"]
    check_values(env, df, tasks=["t_cage_k", "t_cage_h"])


def test_tasks_wide_layout_columns(env, bed):
    out = env.out("tasks_wide") / "w.parquet"
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
        "--layout",
        "wide",
        "--tasks",
        "t_cage_h",
        "-q",
    )
    wide, _ = read_parquet(out)
    assert list(wide.columns)[-2:] == ["bin_end", "t_cage_h"]


def test_tasks_to_bigwig_writes_only_selected(env, bed):
    d = env.out("tasks_bw")
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
        "--tasks-query",
        "sample == 'HepG2'",
        "-q",
    )
    assert listing(d).keys() == {"t_cage_h.bw"}


# ----------------------------------------------------------------------------- inputs


def test_region_option_minus_strand(env):
    # 1-based inclusive: chrA:201-400:- is BED chrA 200 400 -
    df, _ = run_parquet(env, "region_minus", "--region", "chrA:201-400:-")
    first = df.iloc[0]
    assert (first["chrom"], first["start"], first["end"], first["strand"]) == (
        "chrA",
        200,
        400,
        "-",
    )
    assert first["name"] == "chrA:200-400(-)"
    check_values(env, df)


def test_bed_from_stdin(env):
    out = env.out("stdin") / "p.parquet"
    text = "chrA\t100\t300\tmid\t0\t+\n"
    from typer.testing import CliRunner

    from grelu_cli.cli import app

    r = CliRunner().invoke(
        app,
        ["predict", "-m", str(env.model), "--bed", "-", "-g", str(env.genome), "-o", str(out)],
        input=text,
    )
    assert r.exit_code == 0, r.output
    df, _ = read_parquet(out)
    assert list(df["name"].unique()) == ["mid"]
    check_values(env, df)


@pytest.fixture(scope="module")
def records(env):
    rng = np.random.default_rng(7)
    # short (N-padded both sides), exactly the input length, long (trimmed both sides)
    recs = {"short": random_seq(10, rng), "exact": random_seq(SEQ_LEN, rng)}
    recs["long"] = random_seq(250, rng)
    path = env.root / "seqs.fa"
    path.write_text("".join(f">{k} some description\n{v}\n" for k, v in recs.items()))
    return path, recs


def test_fasta_input(env, records):
    path, recs = records
    out = env.out("fasta") / "f.parquet"
    ok("predict", "-m", env.model, "--fasta", path, "-o", out, "-q")
    df, _ = read_parquet(out)
    assert list(df.columns) == LONG_COLUMNS
    assert list(df["name"].unique()) == list(recs)
    assert df["chrom"].isna().all()
    for name, seq in recs.items():
        rows = df[df["name"] == name]
        assert (rows["start"].iloc[0], rows["end"].iloc[0]) == (0, len(seq))
        ws, we = centered(0, len(seq))
        assert (rows["window_start"].iloc[0], rows["window_end"].iloc[0]) == (ws, we)
        assert rows["padded"].iloc[0] == max(0, SEQ_LEN - len(seq))
        t0 = rows[rows["task"] == TASKS[0]].sort_values("bin")
        np.testing.assert_array_equal(t0["bin_start"], bin_bounds(ws)[0])  # record-relative
        want = env.oracle.raw_seq(window_seq({name: seq}, name, ws, we))
        np.testing.assert_allclose(long_to_array(rows, TASKS), want, rtol=RTOL, err_msg=name)


def test_fasta_input_wide_with_bins(env, records):
    path, recs = records
    out = env.out("fasta_wide") / "f.parquet"
    ok("predict", "-m", env.model, "--fasta", path, "-o", out, "--layout", "wide", "--bins", "2")
    wide, _ = read_parquet(out)
    assert len(wide) == 2 * len(recs)
    assert wide["chrom"].isna().all()


def test_dry_run_reports_and_writes_nothing(env, edge_bed):
    d = env.out("dry")
    r = ok(
        "predict",
        "-m",
        env.model,
        "--bed",
        edge_bed,
        "-g",
        env.genome,
        "-o",
        d / "p.parquet",
        "--dry-run",
    )
    assert "3 regions" in r.stdout and "ok: input is valid" in r.stdout
    assert "ConvModel" in r.stdout and f"{SEQ_LEN}" in r.stdout
    assert listing(d) == {}


def test_dry_run_lists_every_problem_and_exits_3(env):
    d = env.out("dry_bad")
    bad = env.bed("bad.bed", [("chrA", 100, 300), ("chrZ", 1, 50), ("chrA", 500, 400)])
    r = invoke(
        "predict",
        "-m",
        env.model,
        "--bed",
        bad,
        "-g",
        env.genome,
        "-o",
        d / "p.parquet",
        "--dry-run",
    )
    assert r.exit_code == 3
    text = r.output
    assert "chrZ" in text and "line 2" in text and "line 3" in text
    assert listing(d) == {}
