"""``grelu attribute`` end to end: the zarr store read back with zarr and xarray equals
gradients taken directly from the model on windows read from the FASTA text (an oracle that
shares nothing with grelu_cli but the loaded module); bigWig read back with pybigtools is the
reference-base attribution at the right genomic positions, overlaps averaged; shards + merge
and --resume equal a plain run; refusals and their exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.cli.predict_helpers import (
    SEQ_LEN,
    Env,
    centered,
    encode,
    invoke,
    ok,
    one_error_line,
    revcomp,
    window_seq,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    return Env(tmp_path_factory.mktemp("attribute"))


def oracle_ixg(env: Env, chrom: str, ws: int, strand: str, tasks: list[int]) -> np.ndarray:
    """Input x gradient of mean over ``tasks`` of the mean over bins of exp(model(x)), taken
    with torch.autograd on the window read from the FASTA text: (L, 4), genome orientation."""
    seq = window_seq(env.oracle.genome, chrom, ws, ws + SEQ_LEN)
    fed = revcomp(seq) if strand == "-" else seq
    x = torch.from_numpy(encode(fed))[None].requires_grad_()
    y = torch.exp(env.oracle.model(x))[0, tasks].mean()
    (grad,) = torch.autograd.grad(y, x)
    out = (grad * x)[0].detach().numpy()  # (4, L), model orientation
    if strand == "-":
        out = out[::-1, ::-1]  # complement the bases, reverse the positions
    return out.T


REGIONS = [
    ("chrA", 100, 300, "r1", 0, "+"),
    ("chrB", 400, 600, "r2", 0, "-"),
    ("chrC", 700, 800, "edge", 0, "+"),
]


def test_zarr_equals_direct_gradients(env: Env) -> None:
    import xarray as xr
    import zarr

    bed = env.bed("three.bed", REGIONS)
    out = env.out("zarr") / "attr.zarr"
    ok(
        "attribute",
        "-m",
        env.model,
        "--bed",
        bed,
        "-g",
        env.genome,
        "--method",
        "inputxgradient",
        "--per-task",
        "--tasks",
        "t_dnase,t_cage_h",
        "-o",
        out,
    )
    ds = xr.open_zarr(out)
    assert ds["attribution"].dims == ("region", "target", "position", "base")
    assert list(ds["target"].values) == ["t_dnase", "t_cage_h"]
    assert list(ds["base"].values) == ["A", "C", "G", "T"]
    group = zarr.open_group(str(out), mode="r")
    record = group.attrs["grelu"]
    assert record["complete"] is True and record["command"] == "attribute"
    assert record["attribute"]["method"] == "inputxgradient"
    assert record["attribute"]["bases"] == "reference"  # attribution x one-hot
    values = np.asarray(group["attribution"][...])
    for r, (chrom, start, end, name, _, strand) in enumerate(REGIONS):
        ws, we = centered(start, end)
        assert (int(ds["window_start"][r]), int(ds["window_end"][r])) == (ws, we)
        assert str(ds["name"][r].values) == name and str(ds["strand"][r].values) == strand
        for g, task in enumerate([0, 2]):
            want = oracle_ixg(env, chrom, ws, strand, [task])
            scale = np.abs(want).max()
            np.testing.assert_allclose(values[r, g], want, rtol=1e-4, atol=1e-5 * scale)
        seq = window_seq(env.oracle.genome, chrom, ws, we).upper()
        ref = "".join(str(b) for b in group["ref"][r])
        assert ref == "".join(b if b in "ACGT" else "N" for b in seq)
        size = len(env.oracle.genome[chrom])
        want_pos = np.arange(ws, we)
        want_pos[(want_pos < 0) | (want_pos >= size)] = -1
        np.testing.assert_array_equal(np.asarray(group["pos"][r]), want_pos)
    # the edge region runs past chrC's end: N padding has no position and no attribution
    assert (np.asarray(group["pos"][2]) == -1).sum() == 50


def test_bigwig_is_the_reference_base_attribution_overlaps_averaged(env: Env) -> None:
    import pybigtools
    import zarr

    regions = [("chrA", 100, 300, "a", 0, "+"), ("chrA", 200, 400, "b", 0, "-")]
    bed = env.bed("overlap.bed", regions)
    out = env.out("bw")
    common = ["-m", env.model, "--bed", bed, "-g", env.genome, "--method", "saliency"]
    ok("attribute", *common, "--format", "bigwig", "-o", str(out / "tracks") + "/")
    ok("attribute", *common, "-o", out / "same.zarr")
    group = zarr.open_group(str(out / "same.zarr"), mode="r")
    values = np.asarray(group["attribution"][:, 0])  # (region, position, base)
    refs = np.asarray(group["ref"][...]).astype("U1")
    track = np.zeros(3000)
    hits = np.zeros(3000)
    for r, (_, start, end, *_rest) in enumerate(regions):
        ws, _ = centered(start, end)
        code = np.array(["ACGT".index(b) for b in refs[r]])
        track[ws : ws + SEQ_LEN] += values[r, np.arange(SEQ_LEN), code]
        hits[ws : ws + SEQ_LEN] += 1
    want = np.where(hits > 0, track / np.maximum(hits, 1), np.nan)
    bw = pybigtools.open(str(out / "tracks" / "mean.bw"))
    try:
        assert list(bw.chroms()) == ["chrB", "chrA", "chrC"]  # genome index order
        got = np.full(3000, np.nan)
        for lo, hi, v in bw.records("chrA"):
            got[lo:hi] = v
        assert not list(bw.records("chrB"))
    finally:
        bw.close()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[hits > 0], want[hits > 0], rtol=1e-6, atol=1e-9)
    assert (hits == 2).sum() == 100  # the two windows overlap by 100 bp


def _arrays(path: Path) -> dict[str, np.ndarray]:
    import zarr

    group = zarr.open_group(str(path), mode="r")
    return {k: np.asarray(group[k][...]) for k in ("attribution", "ref", "pos", "window_start")}


def _equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def _regions(n: int) -> list[tuple]:
    return [("chrA", 100 + 37 * i, 300 + 37 * i, f"w{i}", 0, "+-"[i % 2]) for i in range(n)]


def test_shards_and_merge_equal_a_plain_run(env: Env) -> None:
    bed = env.bed("five.bed", _regions(5))
    out = env.out("shards")
    common = [
        "-m",
        env.model,
        "--bed",
        bed,
        "-g",
        env.genome,
        "--method",
        "deepliftshap",
        "--shuffles",
        "3",
        "-b",
        "2",
    ]
    ok("attribute", *common, "-o", out / "plain.zarr")
    for i in range(3):
        ok("attribute", *common, "--shard", f"{i}/3", "-o", out / "sharded.zarr")
    ok("merge", out / "sharded.zarr")
    _equal(_arrays(out / "plain.zarr"), _arrays(out / "sharded.zarr"))
    # bigWig: a shard writes a per-window parquet file, grelu merge makes the tracks
    ok("attribute", *common, "--format", "bigwig", "-o", str(out / "plain") + "/")
    for i in range(2):
        ok(
            "attribute",
            *common,
            "--format",
            "bigwig",
            "--shard",
            f"{i}/2",
            "-o",
            out / f"shard-{i}.parquet",
        )
    ok("merge", out / "shard-0.parquet", out / "shard-1.parquet", "-o", str(out / "merged") + "/")
    assert (out / "plain" / "mean.bw").read_bytes() == (out / "merged" / "mean.bw").read_bytes()


@pytest.mark.slow
def test_resume_after_sigkill_equals_a_plain_run(env: Env) -> None:
    bed = env.bed("many.bed", _regions(16))
    out = env.out("resume")
    common = [
        "attribute",
        "-m",
        str(env.model),
        "--bed",
        str(bed),
        "-g",
        str(env.genome),
        "--method",
        "integratedgradients",
        "--ig-steps",
        "50",
        "-b",
        "1",
    ]
    ok(*common, "-o", out / "plain.zarr")
    cmd = [sys.executable, "-m", "grelu_cli", *common, "-o", str(out / "a.zarr"), "--resume"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = out / ".a.zarr.partial" / ".grelu" / "done"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if done.is_dir() and len(list(done.glob("*.json"))) >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "a.zarr").exists()
    log = subprocess.run(
        [*cmd, "--log-format", "json"], capture_output=True, text=True, check=True
    ).stderr
    events = [json.loads(line) for line in log.splitlines()]
    assert any("already written" in e.get("message", "") for e in events), log
    _equal(_arrays(out / "plain.zarr"), _arrays(out / "a.zarr"))
    again = ok(*common, "-o", out / "a.zarr", "--resume")
    assert "already complete" in again.stderr


def test_bigwig_resume_and_finished_output(env: Env) -> None:
    bed = env.bed("six.bed", _regions(6))
    out = env.out("bwresume")
    common = ["-m", env.model, "--bed", bed, "-g", env.genome, "-b", "2", "--format", "bigwig"]
    ok("attribute", *common, "-o", str(out / "plain") + "/")
    ok("attribute", *common, "--resume", "--chunk-windows", "2", "-o", str(out / "r") + "/")
    assert (out / "plain" / "mean.bw").read_bytes() == (out / "r" / "mean.bw").read_bytes()
    result = ok("attribute", *common, "--resume", "-o", str(out / "r") + "/")
    assert "already complete" in result.stderr


def test_a_model_without_deeplift_rules_is_refused_naming_its_modules(env: Env) -> None:
    tasks = env.root / "model" / "m.ckpt.tasks.tsv"
    ckpt = env.root / "model" / "transformer.ckpt"
    ok(
        "models",
        "build",
        "ConvTransformerModel",
        "--tasks",
        tasks,
        "--seq-len",
        "200",
        "--param",
        "stem_channels=8",
        "--param",
        "channel_init=8",
        "--param",
        "n_heads=2",
        "--param",
        "final_pool_func=None",
        "-o",
        ckpt,
    )
    out = env.out("refused")
    result = invoke(
        "attribute",
        "-m",
        ckpt,
        "--region",
        "chrA:101-300",
        "-g",
        env.genome,
        "--method",
        "deepliftshap",
        "-o",
        out / "attr.zarr",
    )
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "ConvTransformerModel" in line and "Attention" in line and "LayerNorm" not in line
    assert "deepliftshap serves ConvModel" in line
    assert list(out.iterdir()) == []
    # the gradient methods serve it
    ok(
        "attribute",
        "-m",
        ckpt,
        "--region",
        "chrA:101-300",
        "-g",
        env.genome,
        "-o",
        out / "saliency.zarr",
    )


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--method", "saliency", "--hypothetical"], "--hypothetical applies to --method"),
        (["--method", "inputxgradient", "--correct-grad"], "--correct-grad applies to"),
        (["--method", "deepliftshap", "--aggregate", "max"], "--aggregate max has no DeepLIFT"),
        (["--format", "parquet"], "grelu attribute writes a zarr store or bigWig"),
        (["--dtype", "float16", "--format", "bigwig"], "--dtype float16 applies to zarr"),
    ],
)
def test_bad_options_are_usage_errors(env: Env, args: list[str], text: str) -> None:
    out = env.root / "never" / "x.zarr"
    result = invoke(
        "attribute", "-m", env.model, "--region", "chrA:101-300", "-g", env.genome, *args, "-o", out
    )
    assert result.exit_code == 2, result.output
    assert text in one_error_line(result)
    assert not out.parent.exists()


def test_dry_run_reports_and_writes_nothing(env: Env) -> None:
    out = env.out("dry")
    result = ok(
        "attribute",
        "-m",
        env.model,
        "--region",
        "chrA:101-300",
        "-g",
        env.genome,
        "--method",
        "deepliftshap",
        "--dry-run",
        "-o",
        out / "x.zarr",
    )
    assert "ok: input is valid" in result.stdout and "method: deepliftshap" in result.stdout
    assert list(out.iterdir()) == []


def test_float16_store(env: Env) -> None:
    out = env.out("f16")
    ok(
        "attribute",
        "-m",
        env.model,
        "--region",
        "chrA:101-300",
        "-g",
        env.genome,
        "--dtype",
        "float16",
        "-o",
        out / "a.zarr",
    )
    ok(
        "attribute",
        "-m",
        env.model,
        "--region",
        "chrA:101-300",
        "-g",
        env.genome,
        "-o",
        out / "b.zarr",
    )
    a, b = _arrays(out / "a.zarr"), _arrays(out / "b.zarr")
    assert a["attribution"].dtype == np.float16
    np.testing.assert_array_equal(a["attribution"], b["attribution"].astype(np.float16))


def test_without_captum_it_is_exit_4_with_the_pip_fix(env: Env) -> None:
    code = (
        "import sys; sys.modules['captum'] = None; sys.modules['captum.attr'] = None; "
        "from grelu_cli.cli.app import main; sys.argv[0] = 'grelu'; main()"
    )
    out = env.out("nocaptum")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "attribute",
            "-m",
            str(env.model),
            "--region",
            "chrA:101-300",
            "-g",
            str(env.genome),
            "-o",
            str(out / "x.zarr"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 4, result.stderr
    assert "needs captum" in result.stderr and "pip install 'grelu-cli[attribute]'" in result.stderr
    assert list(out.iterdir()) == []


def test_python_api_writes_what_the_cli_writes(env: Env) -> None:
    from grelu_cli import api
    from grelu_cli.errors import ArgumentError

    out = env.out("api")
    common = {"model": str(env.model), "region": ["chrA:101-300"], "genome": str(env.genome)}
    summary = api.attribute(**common, method="inputxgradient", output=str(out / "api.zarr"))
    assert summary.files == [str(out / "api.zarr")] and summary.windows == 1
    assert summary.targets == ["mean"] and "attributed 1 window" in summary.line()
    ok(
        "attribute",
        "-m",
        env.model,
        "--region",
        "chrA:101-300",
        "-g",
        env.genome,
        "--method",
        "inputxgradient",
        "-o",
        out / "cli.zarr",
    )
    _equal(_arrays(out / "api.zarr"), _arrays(out / "cli.zarr"))
    report = api.check_attribute(**common, method="deepliftshap")
    assert report.ok and any("method: deepliftshap" in line for line in report.lines)
    with pytest.raises(ArgumentError, match="needs output"):
        api.attribute(**common)
