"""The output lock and per-process temporary names, against a real second process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from grelu_cli.errors import OutputLockedError
from grelu_cli.io.fs.atomic import AtomicOutputs, partial_files
from grelu_cli.io.fs.fsafe import HOST
from grelu_cli.io.fs.lock import lock_path
from grelu_cli.run.resume import PartStore

REPO = Path(__file__).resolve().parents[2]
HOLD = (
    "import sys; from grelu_cli.io.fs.lock import acquire; acquire(sys.argv[1]); "
    "print('ready', flush=True); sys.stdin.read()"
)


def _holder(final: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(final)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def test_second_writer_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    final = tmp_path / "a.parquet"
    proc = _holder(final)
    try:
        with pytest.raises(OutputLockedError) as err, AtomicOutputs([final]) as group:
            group.temps[0].write_bytes(b"never")
        assert err.value.exit_code == 2
        assert str(err.value) == (
            f"output {final} is being written by another grelu process (pid {proc.pid}) "
            "(wait for it to finish, or choose another -o)"
        )
        assert partial_files(final) == [] and not final.exists()
        # a resumable run's part store (and its discard) is refused as well
        with pytest.raises(OutputLockedError):
            PartStore(final, {}, 3, resume=True).open()
        parts = final.parent / f".{final.name}.partial.parts"
        parts.mkdir()  # as if the holder had committed chunks: a run without --resume
        with pytest.raises(OutputLockedError):  # must not delete them under its feet
            PartStore(final, {}, 3, resume=False).discard()
        assert parts.is_dir()
    finally:
        proc.kill()
        proc.wait()
    # The kernel released the killed holder's lock: its stale lock file is simply reused.
    assert lock_path(final).exists()
    with AtomicOutputs([final]) as group:
        group.temps[0].write_bytes(b"ours")
    assert final.read_bytes() == b"ours" and not lock_path(final).exists()
    assert proc.returncode == -signal.SIGKILL


def test_stale_temporary_files_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    final = tmp_path / "a.bin"
    stale = tmp_path / ".a.bin.999999-deadbeef.partial"
    other = tmp_path / ".a.bin.x.999999-deadbeef.partial"  # another output's temporary file
    stale.write_bytes(b"half")
    other.write_bytes(b"keep")
    with AtomicOutputs([final]) as group:
        assert not stale.exists()
        group.temps[0].write_bytes(b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "a.bin"]


def test_temporary_names_differ_between_writers(tmp_path: Path) -> None:
    a = AtomicOutputs([tmp_path / "o.bw"])
    b = AtomicOutputs([tmp_path / "o.bw"])
    assert a.temps[0] != b.temps[0]
    assert a.temps[0].name.startswith(f".o.bw.{HOST}-{os.getpid()}-")
