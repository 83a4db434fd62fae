"""AtomicOutputs / atomic_path: outputs appear complete or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grelu_cli.errors import OutputExistsError, UsageError
from grelu_cli.io.fs.atomic import (
    AtomicOutputs,
    atomic_path,
    manifest_path,
    partial_files,
    partial_path,
    scratch_path,
)
from grelu_cli.io.fs.fsafe import HOST
from grelu_cli.io.fs.lock import lock_path


def test_naming_scheme():
    final = Path("out/preds.parquet")
    assert partial_path(final, "12-0a1b2c3d") == Path("out/.preds.parquet.12-0a1b2c3d.partial")
    assert scratch_path(final) == Path("out/.preds.parquet.partial.d")
    assert manifest_path(final) == Path("out/.preds.parquet.partial.manifest.json")


def test_atomic_path_success(tmp_path):
    final = tmp_path / "a.bin"
    with atomic_path(final) as temp:
        assert temp.parent == tmp_path and temp.name.startswith(f".a.bin.{HOST}-{os.getpid()}-")
        assert temp.name.endswith(".partial") and temp.read_bytes() == b""  # reserved
        temp.write_bytes(b"data")
        assert partial_files(final) == [temp]
        assert lock_path(final).read_text() == f"{os.getpid()}\n"
        assert not final.exists()
    assert final.read_bytes() == b"data"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_atomic_path_failure_leaves_nothing(tmp_path):
    final = tmp_path / "new" / "deeper" / "a.bin"
    with pytest.raises(ValueError), atomic_path(final) as temp:
        temp.write_bytes(b"half")
        raise ValueError("interrupted")
    assert list(tmp_path.iterdir()) == []  # created directories removed as well


def test_existing_output(tmp_path):
    final = tmp_path / "a.bin"
    final.write_bytes(b"old")
    with pytest.raises(OutputExistsError) as err, atomic_path(final):
        pass
    assert str(final) in str(err.value) and "--overwrite" in str(err.value)
    assert err.value.exit_code == 2
    with atomic_path(final, overwrite=True) as temp:
        temp.write_bytes(b"new")
        assert final.read_bytes() == b"old"  # replaced only at commit
    assert final.read_bytes() == b"new"


def test_output_that_is_a_directory(tmp_path):
    with pytest.raises(UsageError, match="directory"), atomic_path(tmp_path):
        pass


def test_output_created_by_someone_else_during_the_run(tmp_path):
    final = tmp_path / "a.bin"
    with pytest.raises(OutputExistsError), atomic_path(final) as temp:
        temp.write_bytes(b"ours")
        final.write_bytes(b"theirs")
    assert final.read_bytes() == b"theirs"
    assert partial_files(final) == [] and not lock_path(final).exists()


def test_group_all_or_nothing(tmp_path):
    finals = [tmp_path / "d" / f"{t}.bw" for t in "abc"]
    with pytest.raises(RuntimeError), AtomicOutputs(finals) as group:
        for temp in group.temps:
            temp.write_bytes(b"x")
        (group.scratch_dir() / "spill.npy").write_bytes(b"y")
        raise RuntimeError("fail")
    assert list(tmp_path.iterdir()) == []
    with AtomicOutputs(finals) as group:
        scratch = group.scratch_dir()
        assert scratch == tmp_path / "d" / ".a.bw.partial.d"
        for temp in group.temps:
            temp.write_bytes(b"x")
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["a.bw", "b.bw", "c.bw"]


def test_group_commit_fails_if_a_temp_is_missing(tmp_path):
    finals = [tmp_path / "a", tmp_path / "b"]
    with pytest.raises(RuntimeError, match="not written"), AtomicOutputs(finals) as group:
        group.temps[0].write_bytes(b"x")
    assert list(tmp_path.iterdir()) == []


def test_group_one_existing_output_blocks_all(tmp_path):
    (tmp_path / "b").write_bytes(b"old")
    group = AtomicOutputs([tmp_path / "a", tmp_path / "b"])
    with pytest.raises(OutputExistsError, match="b already exists"):
        group.open()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_duplicate_outputs_rejected(tmp_path):
    with pytest.raises(UsageError, match="repeat"):
        AtomicOutputs([tmp_path / "a", tmp_path / "a"])


def test_stale_scratch_is_cleared(tmp_path):
    stale = scratch_path(tmp_path / "a")
    stale.mkdir()
    (stale / "old").write_bytes(b"")
    with AtomicOutputs([tmp_path / "a"]) as group:
        assert list(group.scratch_dir().iterdir()) == []
        group.temps[0].write_bytes(b"x")
    assert not stale.exists()


def test_output_under_a_file(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(UsageError, match="is a file"), atomic_path(tmp_path / "f" / "x" / "a"):
        pass
