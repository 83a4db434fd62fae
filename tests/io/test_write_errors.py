"""No space, read-only, permission denied, file size limit: exit 4 naming the output, never an
internal error, and nothing half-written left behind."""

from __future__ import annotations

import errno
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from grelu_cli.errors import OutputWriteError
from grelu_cli.io.fs import lock as lock_module
from grelu_cli.io.fs.atomic import AtomicOutputs, partial_files
from grelu_cli.io.fs.oserrors import write_error
from grelu_cli.run.resume import PartStore

REPO = Path(__file__).resolve().parents[2]
from tests.workflow.wf_helpers import (  # noqa: E402
    CHROM_SIZES,
    MODEL_PARAMS,
    SEQ_LEN,
    TASKS,
    write_genome,
    write_regions,
)


@pytest.mark.parametrize(
    ("code", "reason", "fix"),
    [
        (errno.ENOSPC, "no space left on device", "free space or choose another -o"),
        (errno.EDQUOT, "disk quota exceeded", "free space"),
        (errno.EROFS, "read-only file system", "writable or choose another -o"),
        (errno.EACCES, "permission denied", "writable"),
        (errno.EPERM, "operation not permitted", "writable"),
        (errno.EFBIG, "file too large", "ulimit -f"),
    ],
)
def test_a_write_error_inside_the_block_is_exit_4(tmp_path, code, reason, fix) -> None:
    final = tmp_path / "out" / "a.parquet"
    with pytest.raises(OutputWriteError) as err, AtomicOutputs([final]) as group:
        group.temps[0].write_bytes(b"half")
        raise OSError(code, os.strerror(code))
    assert err.value.exit_code == 4
    assert str(err.value).startswith(f"cannot write {final}: {reason} (")
    assert fix in str(err.value)
    assert not (tmp_path / "out").exists()  # temp, lock and the created directory removed


def test_pyarrow_style_message_without_errno_is_recognised() -> None:
    e = OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")
    assert "no space left on device" in str(write_error(e, "o.parquet"))
    assert write_error(OSError(errno.ENOENT, "gone"), "o.parquet") is None


def test_read_only_directory_when_taking_the_lock(tmp_path, monkeypatch) -> None:
    # Tests run as root, which chmod cannot stop: the read-only file system is simulated at
    # the first write the library makes there (creating the lock file).
    real_open = os.open

    def read_only(path, flags, *a, **k):
        if str(path).endswith(".lock"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(lock_module.os, "open", read_only)
    final = tmp_path / "a.parquet"
    expected = r"cannot write .*a.parquet: read-only file"
    with pytest.raises(OutputWriteError, match=expected), AtomicOutputs([final]):
        pass
    with pytest.raises(OutputWriteError, match="read-only file system"):
        PartStore(final, {}, 2, resume=True).open()
    assert list(tmp_path.iterdir()) == []


def test_no_space_while_committing_a_resume_chunk(tmp_path, monkeypatch) -> None:
    final = tmp_path / "a.parquet"
    store = PartStore(final, {}, 2, resume=True)
    store.open()
    import grelu_cli.run.resume as resume

    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(resume, "write_json_atomic", full)
    with pytest.raises(OutputWriteError, match="no space left on device") as err:
        store.commit(0, 5)
    assert err.value.exit_code == 4
    store.discard()
    assert list(tmp_path.iterdir()) == []


# -- real processes under a file size limit (RLIMIT_FSIZE, as `ulimit -f`) --------------------


@pytest.fixture(scope="module")
def job(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fsize")
    write_genome(root / "g.fa", CHROM_SIZES)
    write_regions(root / "r.bed", CHROM_SIZES)
    (root / "t.txt").write_text("".join(t + "\n" for t in TASKS))
    params = [a for p in MODEL_PARAMS for a in ("--param", p)]
    _grelu(
        root,
        "models",
        "build",
        "ConvModel",
        "--tasks",
        "t.txt",
        "--seq-len",
        str(SEQ_LEN),
        "--loss",
        "poisson",
        *params,
        "-o",
        "m.ckpt",
        check=True,
    )
    for i in range(2):
        _grelu(
            root,
            "predict",
            "-m",
            "m.ckpt",
            "--bed",
            "r.bed",
            "-g",
            "g.fa",
            "-q",
            "-o",
            f"s{i}.parquet",
            "--shard",
            f"{i}/2",
            check=True,
        )
    return root


def _grelu(cwd: Path, *args: str, limit: int | None = None, check: bool = False):
    def set_limit() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "grelu_cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=set_limit,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize(
    ("args", "output"),
    [
        (
            ["predict", "-m", "m.ckpt", "--bed", "r.bed", "-g", "g.fa", "-o", "o.parquet"],
            "o.parquet",
        ),
        (
            [
                "predict",
                "-m",
                "m.ckpt",
                "--bed",
                "r.bed",
                "-g",
                "g.fa",
                "--format",
                "bigwig",
                "-o",
                "bw/",
            ],
            "bw/t_a.bw",
        ),
        # chunks hold whole batches: batches of 8 keep them small, so the final file is the
        # one that passes the limit
        (
            [
                "predict",
                "-m",
                "m.ckpt",
                "--bed",
                "r.bed",
                "-g",
                "g.fa",
                "-o",
                "r.parquet",
                "--resume",
                "--chunk-windows",
                "8",
                "--batch-size",
                "8",
            ],
            "r.parquet",
        ),
        (["merge", "s0.parquet", "s1.parquet", "-o", "mm.parquet"], "mm.parquet"),
        (
            [
                "models",
                "build",
                "ConvModel",
                "--tasks",
                "t.txt",
                "--seq-len",
                "2000",
                "-o",
                "big.ckpt",
            ],
            "big.ckpt",
        ),
    ],
)
def test_file_size_limit_is_exit_4_in_a_real_process(job: Path, args, output) -> None:
    before = set(os.listdir(job))
    result = _grelu(job, *args, limit=30_000)
    assert result.returncode == 4, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        f"error: cannot write {output}: file too large "
        "(raise the file size limit, ulimit -f, or choose another -o)"
    )
    assert "Traceback" not in result.stderr
    left = set(os.listdir(job)) - before
    if "--resume" in args:  # committed chunks are kept for the next --resume
        assert left <= {".r.parquet.partial.manifest.json", ".r.parquet.partial.parts"}
    else:
        assert left == set()
    assert partial_files(job / output) == []


# -- a folder that takes no new files (/proc) ------------------------------------------------


@pytest.mark.parametrize(
    ("args", "output"),
    [
        (["-o", "/proc/x.parquet"], "/proc/x.parquet"),
        (["-o", "/proc/sub/x.parquet", "--resume"], "/proc/sub/x.parquet"),
        (["-o", "/proc/x.zarr"], "/proc/x.zarr"),
        (["--format", "bigwig", "-o", "/proc/bw/"], "/proc/bw/t_a.bw"),
    ],
)
def test_writing_into_proc_names_the_output_and_the_cause(job: Path, args, output) -> None:
    result = _grelu(job, "predict", "-m", "m.ckpt", "--bed", "r.bed", "-g", "g.fa", *args)
    assert result.returncode == 4, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    # root: the folder refuses new entries (ENOENT); anyone else: permission denied first
    assert last in (
        f"error: cannot write {output}: the folder /proc does not accept new files "
        "(choose another -o)",
        f"error: cannot write {output}: permission denied (make /proc writable or choose "
        "another -o)",
    ), result.stderr
    assert "Traceback" not in result.stderr and "file not found" not in result.stderr


def test_a_folder_that_takes_no_new_files_when_taking_the_lock(tmp_path, monkeypatch) -> None:
    # What /proc does for root: ENOENT for a new name although the folder exists.
    real_open = os.open

    def no_new_names(path, flags, *a, **k):
        if flags & os.O_CREAT and not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(lock_module.os, "open", no_new_names)
    final = tmp_path / "a.parquet"
    with pytest.raises(OutputWriteError) as err, AtomicOutputs([final]):
        pass
    assert err.value.exit_code == 4
    assert str(err.value) == (
        f"cannot write {final}: the folder {tmp_path} does not accept new files (choose another -o)"
    )
    with pytest.raises(OutputWriteError, match="does not accept new files"):
        PartStore(final, {}, 2, resume=True).open()
    assert list(tmp_path.iterdir()) == []
