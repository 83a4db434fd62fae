"""``grelu predict`` as a real process: ``grelu`` and ``python -m grelu_cli`` agree, stderr
logging (text summary, ``--log-format json``), and interruption by SIGTERM/SIGINT mid-run
leaves neither a final file nor a ``.NAME.partial`` behind."""

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

from tests.cli.predict_helpers import GRELU, TASKS, Env, listing, metadata, read_parquet

REGIONS = [
    ("chrA", 100, 300, "a", 0, "+"),
    ("chrB", 1400, 1500, "b_end", 0, "-"),  # padded by 50
    ("chrC", 200, 500, "c", 0, "+"),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    e = Env(tmp_path_factory.mktemp("predict_process"))
    e.small = e.bed("small.bed", REGIONS)
    rng = np.random.default_rng(3)
    starts = rng.integers(0, 2700, size=20_000)
    e.big = e.bed("big.bed", [("chrA", s, s + 200, f"r{i}", 0, "+") for i, s in enumerate(starts)])
    return e


def grelu(*args, module: bool = False, **kw) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "grelu_cli"] if module else [str(GRELU)]
    return subprocess.run(
        [*cmd, *map(str, args)], capture_output=True, text=True, timeout=120, **kw
    )


def test_console_script_and_module_are_the_same_program(env, tmp_path):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    common = ["predict", "-m", env.model, "--bed", env.small, "-g", env.genome]
    ra = grelu(*common, "-o", a)
    rb = grelu(*common, "-o", b, module=True)
    assert ra.returncode == 0 and rb.returncode == 0, (ra.stderr, rb.stderr)
    da, _ = read_parquet(a)
    db, _ = read_parquet(b)
    assert da.equals(db)
    ma, mb = metadata(a), metadata(b)
    for m in (ma, mb):
        m.pop("created", None)
        m["options"].pop("output")
        m.pop("output", None)
    assert ma == mb
    # stderr is not a terminal: no progress bar, just the warning and the one-line summary
    lines = ra.stderr.strip().splitlines()
    assert lines[0].startswith("warning: 1 of 3 windows") and len(lines) == 2, ra.stderr
    summary = lines[-1]
    assert summary.startswith("predicted 3 regions (3 windows, 1 padded, 0 dropped)")
    assert summary.endswith(f"-> {a}")
    assert "\r" not in ra.stderr and "\x1b[" not in ra.stderr
    assert ra.stdout == ""


def test_quiet_prints_only_warnings(env, tmp_path):
    r = grelu(
        "predict",
        "-m",
        env.model,
        "--bed",
        env.small,
        "-g",
        env.genome,
        "-o",
        tmp_path / "q.parquet",
        "-q",
    )
    assert r.returncode == 0
    assert [ln.split(":")[0] for ln in r.stderr.strip().splitlines()] == ["warning"]


def test_json_log_lines_and_summary_counts(env, tmp_path):
    d = tmp_path / "bw"
    r = grelu(
        "predict",
        "-m",
        env.model,
        "--bed",
        env.small,
        "-g",
        env.genome,
        "-o",
        f"{d}/",
        "--log-format",
        "json",
    )
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stderr.splitlines() if line.strip()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "summary" and "warning" in kinds
    summary = events[-1]
    assert summary["regions"] == 3 and summary["windows"] == 3
    assert summary["padded_windows"] == 1 and summary["padded_bases"] == 50
    assert summary["dropped_windows"] == 0
    assert sorted(summary["files"]) == sorted(str(d / f"{t}.bw") for t in TASKS)


def test_json_log_error_is_json_too(env, tmp_path):
    r = grelu(
        "predict",
        "-m",
        env.model,
        "--bed",
        env.small,
        "-g",
        env.genome,
        "-o",
        tmp_path / "p.parquet",
        "--tasks",
        "nope",
        "--log-format",
        "json",
    )
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            parsed.append(line)
    # every line is JSON, and the error is one of them (with its message and exit code)
    assert all(isinstance(p, dict) for p in parsed), r.stderr
    assert parsed[-1]["event"] == "error" and "nope" in json.dumps(parsed[-1])
    assert listing(tmp_path) == {}


# ----------------------------------------------------------------------------- interruption


def _wait_for_partial(proc: subprocess.Popen, d: Path, timeout: float = 60.0) -> list[str]:
    """Poll until a hidden temporary entry (``.NAME.partial``...) appears in ``d``: the writer
    is open and the predict loop is running. The output's ``.NAME.lock`` appears first (taken
    before the writer opens), so it alone does not count."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hidden = [n for n in listing(d) if n.startswith(".")] if d.exists() else []
        if any(not n.endswith(".lock") for n in hidden):
            return hidden
        assert proc.poll() is None, f"exited early: {proc.communicate()}"
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("no temporary output appeared")


@pytest.mark.parametrize(
    ("sig", "fmt"),
    [(signal.SIGTERM, "parquet"), (signal.SIGINT, "parquet"), (signal.SIGTERM, "bigwig")],
    ids=["sigterm-parquet", "sigint-parquet", "sigterm-bigwig"],
)
def test_interrupt_leaves_nothing(env, tmp_path, sig, fmt):
    d = tmp_path / "out"
    d.mkdir()
    (d / "other.txt").write_text("kept")
    target = d / "p.parquet" if fmt == "parquet" else d / "tracks"
    out = str(target) if fmt == "parquet" else f"{target}/"
    watch = d if fmt == "parquet" else target
    proc = subprocess.Popen(
        [
            str(GRELU),
            "predict",
            "-m",
            str(env.model),
            "--bed",
            str(env.big),
            "-g",
            str(env.genome),
            "-o",
            out,
            "--batch-size",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        hidden = _wait_for_partial(proc, watch)
        assert any(".partial" in h for h in hidden), hidden
        time.sleep(0.3)  # inside the loop for a few hundred batches
        assert proc.poll() is None, "finished before the signal: use a larger input"
        os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("error: interrupted (no output was written"), err
    assert "Traceback" not in err
    assert listing(d) == {"other.txt": 4}  # no final file, no .partial, no tracks/ directory
