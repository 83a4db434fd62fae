"""The Python API (:mod:`grelu_cli.api`) and ``grelu predict`` are one pipeline: the same
options write identical outputs; the API raises instead of exiting and prints nothing."""

from __future__ import annotations

import numpy as np
import pytest

from grelu_cli import api
from grelu_cli.errors import MissingResourceError, UsageError
from tests.cli.predict_helpers import TASKS, Env, metadata, ok, read_parquet

REGIONS = [
    ("chrA", 100, 300, "a", 0, "+"),
    ("chrB", 1400, 1500, "b_end", 0, "-"),  # padded by 50
    ("chrC", 200, 500, "c", 0, "+"),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    e = Env(tmp_path_factory.mktemp("api"))
    e.small = e.bed("small.bed", REGIONS)
    return e


def _same_metadata(a: dict, b: dict) -> None:
    for m in (a, b):
        m.pop("created")
        m["options"].pop("output")
        m.pop("output", None)
    assert a == b


def test_api_and_cli_write_identical_parquet(env, capsys):
    d = env.out("parquet")
    cli_out, api_out = d / "cli.parquet", d / "api.parquet"
    ok(
        "predict",
        "-m",
        env.model,
        "--bed",
        env.small,
        "-g",
        env.genome,
        "-o",
        cli_out,
        "--rc",
        "--shifts",
        "1",
        "--tasks",
        "t_dnase,t_cage_h",
    )
    capsys.readouterr()
    summary = api.predict(
        model=env.model,
        bed=env.small,
        genome=env.genome,
        output=api_out,
        rc=True,
        shifts=1,
        tasks=["t_dnase", "t_cage_h"],
    )
    assert capsys.readouterr() == ("", "")  # the library prints nothing
    a, _ = read_parquet(cli_out)
    b, _ = read_parquet(api_out)
    assert a.equals(b) and len(a) > 0
    _same_metadata(metadata(cli_out), metadata(api_out))
    assert summary.files == [str(api_out)]
    assert summary.counts["regions"] == 3 and summary.windows == 3
    assert summary.forward_passes == 3 * 6  # rc x 3 shifts
    assert summary.seconds > 0


def test_api_and_cli_write_identical_bigwigs(env):
    d = env.out("bigwig")
    ok("predict", "-m", env.model, "--bed", env.small, "-g", env.genome, "-o", f"{d}/cli/")
    summary = api.predict(model=env.model, bed=env.small, genome=env.genome, output=f"{d}/api/")
    assert [p.rsplit("/", 1)[1] for p in summary.files] == [f"{t}.bw" for t in TASKS]
    for task in TASKS:
        assert (d / "cli" / f"{task}.bw").read_bytes() == (d / "api" / f"{task}.bw").read_bytes()


def test_predict_arrays_are_the_written_values(env):
    out = env.out("arrays") / "p.parquet"
    api.predict(model=env.model, bed=env.small, genome=env.genome, output=out, layout="wide")
    df, _ = read_parquet(out)
    got = list(api.predict_arrays(model=env.model, bed=env.small, genome=env.genome))
    windows = [w for ws, _ in got for w in ws]
    values = np.concatenate([v for _, v in got])  # (N, T, B)
    assert [w.name for w in windows] == ["a", "b_end", "c"]
    assert values.shape[:2] == (3, len(TASKS))
    for i, w in enumerate(windows):
        rows = df[df["name"] == w.name].sort_values("bin")
        np.testing.assert_array_equal(values[i], np.stack([rows[t].to_numpy() for t in TASKS]))


def test_api_raises_library_errors_and_never_exits(env, tmp_path):
    with pytest.raises(MissingResourceError) as err:
        api.predict(
            model=env.model,
            bed=tmp_path / "nope.bed",
            genome=env.genome,
            output=tmp_path / "o.parquet",
        )
    assert isinstance(err.value, FileNotFoundError)
    with pytest.raises(UsageError):
        api.predict(
            model=env.model,
            bed=env.small,
            genome=env.genome,
            output=tmp_path / "o.parquet",
            edge="sideways",
        )
    assert list(tmp_path.iterdir()) == []


def test_summary_counts_forward_passes_and_pluralises(env, tmp_path, monkeypatch):
    """Issue 11, item 22: augmented forward passes counted; "1 region"; the provenance's
    options.output is absolute like the other paths."""
    from tests.cli.predict_helpers import invoke

    one = env.bed("one.bed", REGIONS[:1])
    monkeypatch.chdir(tmp_path)
    result = invoke(
        "predict",
        "-m",
        env.model,
        "--bed",
        one,
        "-g",
        env.genome,
        "-o",
        "p.parquet",
        "--rc",
        "--shifts",
        "1",
    )
    assert result.exit_code == 0, result.output
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("predicted 1 region (1 window, 0 padded, 0 dropped), 6 forward passes")
    assert metadata(tmp_path / "p.parquet")["options"]["output"] == str(tmp_path / "p.parquet")
    json_run = invoke(
        "predict",
        "-m",
        env.model,
        "--bed",
        one,
        "-g",
        env.genome,
        "-o",
        "q.parquet",
        "--rc",
        "--shifts",
        "1",
        "--log-format",
        "json",
    )
    import json

    summary = json.loads(json_run.stderr.strip().splitlines()[-1])
    assert summary["event"] == "summary" and summary["forward_passes"] == 6


def test_chrom_implies_tiling(env, tmp_path):
    """Issue 11, item 15: --chrom covers the whole chromosome (tiled), not one central window."""
    tiled = api.predict(
        model=env.model,
        chrom="chrC",
        genome=env.genome,
        tile=True,
        output=tmp_path / "tiled.parquet",
    )
    plain = api.predict(
        model=env.model, chrom="chrC", genome=env.genome, output=tmp_path / "chrom.parquet"
    )
    assert plain.counts["windows"] == tiled.counts["windows"] > 1
    a, _ = read_parquet(tmp_path / "tiled.parquet")
    b, _ = read_parquet(tmp_path / "chrom.parquet")
    assert a.equals(b)
