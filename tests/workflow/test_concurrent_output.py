"""Two real ``grelu predict`` processes on the same ``-o``: the second is refused (exit 2,
naming the first one's pid), the first finishes with a complete, readable file."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from grelu_cli.io.fs.atomic import manifest_path, partial_files, parts_path
from grelu_cli.io.fs.lock import lock_path
from tests.workflow.wf_helpers import grelu_cmd, subprocess_env


@pytest.fixture(scope="module")
def many_bed(ws, tmp_path_factory) -> Path:
    """Enough windows that the first run is still predicting when it is paused."""
    path = tmp_path_factory.mktemp("many") / "many.bed"
    rows = [f"chrA\t{s}\t{s + 40}\tr{i}\n" for i, s in enumerate(range(0, 3900, 2))]
    path.write_text("".join(rows))
    return path


def _wait_for(path: Path, proc: subprocess.Popen, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert proc.poll() is None, f"the first run ended (exit {proc.returncode}) too early"
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.002)


@pytest.mark.parametrize("resume", [False, True])
def test_second_writer_of_the_same_output_gets_exit_2(ws, many_bed, tmp_path, resume) -> None:
    out = tmp_path / "preds.parquet"
    base = [
        *grelu_cmd(),
        "predict",
        "-m",
        str(ws.model),
        "--bed",
        str(many_bed),
        "-g",
        str(ws.genome),
        "-o",
        str(out),
        "--device",
        "cpu",
        "-q",
    ]
    extra = ["--resume", "--chunk-windows", "64"] if resume else []
    slow = [*base, *extra, "--batch-size", "8", "--num-workers", "0"]
    first = subprocess.Popen(slow, env=subprocess_env(), stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lock_path(out), first)  # taken before any prediction (with --resume too)
        # Paused while the others try (deterministic on a busy machine); the kernel keeps
        # its lock, as it would for a slow run.
        first.send_signal(signal.SIGSTOP)
        seconds = [base, [*base, "--overwrite"]] + ([[*base, "--resume"]] if resume else [])
        for cmd in seconds:
            second = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True)
            assert first.poll() is None, "the first run ended before the second was refused"
            assert second.returncode == 2, second.stderr
            assert second.stderr.strip().splitlines()[-1] == (
                f"error: output {out} is being written by another grelu process "
                f"(pid {first.pid}) (wait for it to finish, or choose another -o)"
            )
        first.send_signal(signal.SIGCONT)
        _, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err
    table = pq.read_table(out)  # complete and readable
    assert table.num_rows > 0 and set(table.column("name").to_pylist()) >= {"r0", "r1949"}
    assert partial_files(out) == [] and not lock_path(out).exists()
    assert not manifest_path(out).exists() and not parts_path(out).exists()
