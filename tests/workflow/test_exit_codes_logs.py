"""Exit codes per failure class, reached through ``grelu predict``, and ``--log-format json``."""

from __future__ import annotations

import json

import pytest

from tests.workflow.wf_helpers import invoke, ok, run_cli


def _events(stderr: str) -> list[dict]:
    """With --log-format json every stderr line is one JSON object (errors included)."""
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


def _one_error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr
    return errors[0]


def _error_event(stderr: str) -> dict:
    events = _events(stderr)
    errors = [e for e in events if e["event"] == "error"]
    assert len(errors) == 1 and events[-1] is errors[0], stderr
    assert errors[0]["message"].startswith("error: ")
    return errors[0]


@pytest.fixture
def bad_bed(tmp_path):
    path = tmp_path / "bad.bed"
    path.write_text("chrA\t100\t300\tok\nchrA\tabc\t400\tbroken\n")
    return path


def _case(ws, tmp_path, bad_bed, name):
    out = tmp_path / "o.parquet"
    base = ["-m", ws.model, "--bed", ws.bed, "-g", ws.genome, "--device", "cpu"]
    cases = {
        "usage": [*base, "-o", out, "--shard", "3/3"],
        "usage_option": [*base, "-o", out, "--layout", "tall"],
        "input": ["-m", ws.model, "--bed", bad_bed, "-g", ws.genome, "-o", out],
        "missing_model": ["-m", ws.root / "nope.ckpt", "--bed", ws.bed, "-g", ws.genome, "-o", out],
        "missing_bed": ["-m", ws.model, "--bed", ws.root / "nope.bed", "-g", ws.genome, "-o", out],
    }
    return out, cases[name]


@pytest.mark.parametrize(
    ("name", "code"),
    [("usage", 2), ("usage_option", 2), ("input", 3), ("missing_model", 4), ("missing_bed", 4)],
)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_exit_code_per_class(ws, tmp_path, bad_bed, name, code, fmt):
    out, args = _case(ws, tmp_path, bad_bed, name)
    result = invoke("predict", *args, "--log-format", fmt)
    assert result.exit_code == code, result.output
    assert not out.exists()
    if fmt == "json":
        assert _error_event(result.stderr)["exit_code"] == code
    else:
        _one_error_line(result.stderr)


def _raise_in_forward(monkeypatch, exc: BaseException) -> None:
    from grelu_cli.predict.loop import Predictor

    def forward(self, x, member=0):
        raise exc

    monkeypatch.setattr(Predictor, "_forward", forward)


@pytest.mark.parametrize("batch", ["4", "auto"])
def test_out_of_memory_exits_5(ws, tmp_path, monkeypatch, batch):
    import torch

    _raise_in_forward(monkeypatch, torch.OutOfMemoryError("CUDA out of memory. Tried 2 GiB"))
    out = tmp_path / "o.parquet"
    result = invoke("predict", *ws.base(), "-o", out, "-b", batch, "--log-format", "json")
    assert result.exit_code == 5, result.output
    error = _error_event(result.stderr)
    assert error["exit_code"] == 5 and "out of memory" in error["message"]
    assert not out.exists()


def test_internal_error_exits_1(ws, tmp_path, monkeypatch):
    _raise_in_forward(monkeypatch, RuntimeError("boom"))
    out = tmp_path / "o.parquet"
    result = invoke("predict", *ws.base(), "-o", out)
    assert result.exit_code == 1
    assert "internal error: RuntimeError: boom" in _one_error_line(result.stderr)
    assert not out.exists()


def test_errors_in_a_resumable_run_keep_exit_codes(ws, tmp_path, monkeypatch):
    import torch

    _raise_in_forward(monkeypatch, torch.OutOfMemoryError("out of memory"))
    result = invoke("predict", *ws.base(), "-o", tmp_path / "o.parquet", "--resume", "-b", "4")
    assert result.exit_code == 5


def test_output_exists_is_usage_error(ws, tmp_path):
    out = tmp_path / "o.parquet"
    out.write_text("x")
    result = invoke("predict", *ws.base(), "-o", out)
    assert result.exit_code == 2 and "--overwrite" in result.stderr
    assert out.read_text() == "x"


def test_json_log_events(ws, tmp_path):
    """Real process: stderr is JSON lines only (start, warning, progress, summary)."""
    edge_bed = tmp_path / "edge.bed"
    edge_bed.write_text("chrB\t2450\t2500\tend\t0\t+\nchrA\t100\t300\tmid\t0\t-\n")
    out = tmp_path / "o.parquet"
    proc = run_cli(
        "predict",
        "-m",
        ws.model,
        "--bed",
        edge_bed,
        "-g",
        ws.genome,
        "-o",
        out,
        "--device",
        "cpu",
        "--log-format",
        "json",
    )
    assert proc.stdout == ""
    events = [json.loads(line) for line in proc.stderr.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "summary"
    assert {"warning", "progress"} <= set(kinds)
    assert all(isinstance(e["time"], float) for e in events)
    warning = next(e for e in events if e["event"] == "warning")
    assert "N-padded" in warning["message"]
    progress = [e for e in events if e["event"] == "progress"]
    assert progress[-1]["done"] == progress[-1]["total"] == 2
    summary = events[-1]
    assert summary["windows"] == 2 and summary["padded_windows"] == 1
    assert summary["warnings"] == 1 and summary["files"] == [str(out)]
    assert summary["seconds"] >= 0


def test_json_log_from_merge_and_resume(ws, tmp_path):
    shards = [tmp_path / f"s{i}.parquet" for i in range(2)]
    for i, s in enumerate(shards):
        ok("predict", *ws.base(), "--shard", f"{i}/2", "-o", s)
    result = invoke("merge", *shards, "-o", tmp_path / "m.parquet", "--log-format", "json")
    assert result.exit_code == 0
    events = _events(result.stderr)
    assert [e["event"] for e in events] == ["start", "summary"]
    assert events[-1]["shards"] == 2
    result = invoke("merge", shards[0], "-o", tmp_path / "n.parquet", "--log-format", "json")
    assert result.exit_code == 3
    assert _error_event(result.stderr)["exit_code"] == 3
