"""``grelu predict`` input variants and run settings through the CLI, against direct model
calls: --seq-len override, gzipped BED with header lines, --chrom-alias, inputs that leave
nothing to predict, reader processes, --threads, --precision bf16 on CPU."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from tests.cli.predict_helpers import (
    BIN,
    CROP,
    TASKS,
    Env,
    Oracle,
    bin_bounds,
    centered,
    invoke,
    listing,
    long_to_array,
    ok,
    random_seq,
    read_parquet,
    write_genome,
)

RTOL = 1e-5
REGIONS = [
    ("chrA", 100, 300, "plus", 0, "+"),
    ("chrA", 151, 350, "minus", 0, "-"),
    ("chrB", 1400, 1500, "b_end", 0, "+"),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    e = Env(tmp_path_factory.mktemp("predict_inputs"))
    e.regions = e.bed("regions.bed", REGIONS)
    return e


def check_rows(env, df, seq_len=200, oracle=None):
    oracle = oracle or env.oracle
    n_bins = seq_len // BIN - 2 * CROP
    for name, rows in df.groupby("name", sort=False):
        chrom, strand = rows["chrom"].iloc[0], rows["strand"].iloc[0]
        ws, we = int(rows["window_start"].iloc[0]), int(rows["window_end"].iloc[0])
        start, end = int(rows["start"].iloc[0]), int(rows["end"].iloc[0])
        assert (ws, we) == centered(start, end, seq_len)
        t0 = rows[rows["task"] == TASKS[0]].sort_values("bin")
        assert len(t0) == n_bins
        np.testing.assert_array_equal(t0["bin_start"], bin_bounds(ws, n_bins)[0])
        want = oracle.predict(chrom, ws, we, strand)
        np.testing.assert_allclose(long_to_array(rows, TASKS), want, rtol=RTOL, err_msg=name)


def test_seq_len_override(env, tmp_path):
    out = tmp_path / "s.parquet"
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
        "--seq-len",
        "100",
        "-q",
    )
    df, _ = read_parquet(out)
    assert set(df["window_end"] - df["window_start"]) == {100}
    check_rows(env, df, seq_len=100)


def test_gzipped_bed_with_header_lines(env, tmp_path):
    text = "track name=peaks\nbrowser position chrA:1-100\n# a comment\n"
    text += "".join("\t".join(map(str, r)) + "\n" for r in REGIONS)
    bed = tmp_path / "regions.bed.gz"
    bed.write_bytes(gzip.compress(text.encode()))
    out = tmp_path / "g.parquet"
    ok("predict", "-m", env.model, "--bed", bed, "-g", env.genome, "-o", out, "-q")
    df, _ = read_parquet(out)
    assert list(df["name"].unique()) == [r[3] for r in REGIONS]
    check_rows(env, df)


def test_chrom_alias_auto(env, tmp_path):
    rng = np.random.default_rng(11)
    genome = write_genome(
        tmp_path / "ensembl.fa", {"1": random_seq(900, rng), "MT": random_seq(400, rng)}
    )
    bed = tmp_path / "ucsc.bed"
    bed.write_text("chr1\t100\t300\tx\t0\t+\nchrM\t100\t300\ty\t0\t-\n")
    out = tmp_path / "a.parquet"
    r = invoke("predict", "-m", env.model, "--bed", bed, "-g", genome, "-o", out)
    assert r.exit_code == 3 and "--chrom-alias auto" in r.stderr.strip().splitlines()[-1]
    ok("predict", "-m", env.model, "--bed", bed, "-g", genome, "-o", out, "--chrom-alias", "auto")
    df, _ = read_parquet(out)
    # rows name the genome's chromosome (what a bigWig header must use)
    assert df.groupby("name", sort=False)["chrom"].first().to_dict() == {"x": "1", "y": "MT"}
    check_rows(env, df, oracle=Oracle(env.model, genome))


def test_empty_bed_is_an_input_error(env, tmp_path):
    bed = tmp_path / "empty.bed"
    bed.write_text("")
    out = tmp_path / "o"
    out.mkdir()
    r = invoke("predict", "-m", env.model, "--bed", bed, "-g", env.genome, "-o", out / "p.parquet")
    assert r.exit_code == 3 and r.stderr.startswith("error: ")
    assert listing(out) == {}


def test_everything_dropped_is_an_input_error(env, tmp_path):
    bed = tmp_path / "end.bed"
    bed.write_text("chrB\t1450\t1500\tx\n")
    r = invoke(
        "predict",
        "-m",
        env.model,
        "--bed",
        bed,
        "-g",
        env.genome,
        "-o",
        tmp_path / "d" / "p.parquet",
        "--edge",
        "drop",
    )
    assert r.exit_code == 3 and "--edge" in r.stderr.strip().splitlines()[-1]
    assert sorted(listing(tmp_path)) == ["end.bed"]


def test_reader_processes_and_threads_do_not_change_output(env, tmp_path):
    rng = np.random.default_rng(5)
    rows = []
    for i, s in enumerate(rng.integers(0, 2800, size=150)):
        rows.append(("chrA", int(s), int(s) + 150, f"r{i}", 0, "+-"[i % 2]))
    bed = env.bed("many.bed", rows)
    common = ["predict", "-m", env.model, "--bed", bed, "-g", env.genome, "-q"]
    ok(*common, "-o", tmp_path / "w0.parquet", "--num-workers", "0", "--batch-size", "16")
    import torch

    threads = torch.get_num_threads()
    try:
        ok(
            *common,
            "-o",
            tmp_path / "w2.parquet",
            "--num-workers",
            "2",
            "--batch-size",
            "16",
            "--threads",
            "1",
        )
    finally:
        torch.set_num_threads(threads)  # --threads sets it for the (test) process
    a, _ = read_parquet(tmp_path / "w0.parquet")
    b, _ = read_parquet(tmp_path / "w2.parquet")
    assert list(a["name"].unique()) == [r[3] for r in rows]  # input order kept
    np.testing.assert_array_equal(a.drop(columns="value"), b.drop(columns="value"))
    np.testing.assert_allclose(a["value"], b["value"], rtol=1e-6)
    check_rows(env, a[a["name"].isin(["r0", "r1", "r149"])])


def test_bf16_on_cpu_is_close_to_fp32(env, tmp_path):
    out = tmp_path / "bf.parquet"
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
        "--precision",
        "bf16",
        "--device",
        "cpu",
        "-q",
    )
    df, _ = read_parquet(out)
    assert df["value"].dtype == np.float32
    for name, rows in df.groupby("name", sort=False):
        chrom, strand = rows["chrom"].iloc[0], rows["strand"].iloc[0]
        ws, we = int(rows["window_start"].iloc[0]), int(rows["window_end"].iloc[0])
        want = env.oracle.predict(chrom, ws, we, strand)
        np.testing.assert_allclose(long_to_array(rows, TASKS), want, rtol=2e-2, err_msg=name)
