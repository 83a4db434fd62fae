"""The one temporary-name scheme, the one stale-file cleaner, and never following a planted
symbolic link (io/fs/fsafe.py, io/fs/lock.py, io/fs/atomic.py): real files, links, FIFOs,
processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grelu_cli.errors import OutputExistsError, UsageError
from grelu_cli.io.formats.zarr.markers import read_markers, write_marker
from grelu_cli.io.formats.zarr.schema import marker_dir, partial_store, rename_into_place
from grelu_cli.io.fs import lock
from grelu_cli.io.fs.atomic import AtomicOutputs, check_output, manifest_path, parts_path
from grelu_cli.io.fs.fsafe import (
    HOST,
    ensure_dir,
    make_dir,
    new_token,
    open_new,
    partial_files,
    partial_path,
    remove_stale,
    remove_tree,
    state_path,
    write_json_atomic,
)
from grelu_cli.run.resume import PartStore

VICTIM = b"someone else's file\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere" / "victim.txt"
    path.parent.mkdir()
    path.write_bytes(VICTIM)
    return path


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_one_scheme_for_every_temporary_and_fixed_name() -> None:
    final = Path("out/preds.zarr")
    token = new_token()
    host, pid, rand = token.split("-")
    assert host == HOST and len(host) == 8 and int(pid) == os.getpid() and len(rand) == 8
    assert new_token() != token
    assert partial_path(final, token) == Path(f"out/.preds.zarr.{token}.partial")
    assert partial_store(final) == state_path(final) == Path("out/.preds.zarr.partial")
    assert manifest_path(final) == Path("out/.preds.zarr.partial.manifest.json")
    assert parts_path(final) == Path("out/.preds.zarr.partial.parts")


def test_the_cleaner_without_the_lock_removes_only_dead_local_creators(tmp_path: Path) -> None:
    final = tmp_path / "s.zarr"
    dead = _dead_pid()
    names = {
        "dead here": f"{HOST}-{dead}-0000000a",
        "alive here": f"{HOST}-{os.getpid()}-0000000b",
        "other host": f"{'f' if HOST[0] != 'f' else 'e'}{HOST[1:]}-{dead}-0000000c",
        "older version": f"{dead}-0000000d",
    }
    paths = {k: partial_path(final, t) for k, t in names.items()}
    for path in paths.values():
        (path / "preds").mkdir(parents=True)
    other_output = partial_path(tmp_path / "s.zarr.x", names["dead here"])
    other_output.mkdir()
    assert sorted(partial_files(final)) == sorted(paths.values())
    assert remove_stale(final, locked=False) == [paths["dead here"]]
    assert sorted(partial_files(final)) == sorted(p for k, p in paths.items() if k != "dead here")
    left = sorted(partial_files(final))
    assert sorted(remove_stale(final)) == left  # holding the lock: all of them are stale
    assert partial_files(final) == [] and other_output.is_dir()


def test_the_cleaner_removes_a_planted_link_not_its_target(tmp_path: Path, victim: Path) -> None:
    final = tmp_path / "a.parquet"
    link = partial_path(final, f"{HOST}-{_dead_pid()}-00000001")
    link.symlink_to(victim.parent)
    assert remove_stale(final) == [link]
    assert not os.path.lexists(link) and victim.read_bytes() == VICTIM


def test_remove_tree_never_follows(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "store"
    link.symlink_to(victim.parent)
    remove_tree(link)
    assert not os.path.lexists(link) and victim.read_bytes() == VICTIM
    remove_tree(link)  # gone: no error


def test_creating_through_a_link_is_refused(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / ".x.lock"
    link.symlink_to(victim)
    with pytest.raises(UsageError, match=r"\.x\.lock is a symbolic link \(pointing to "):
        open_new(link)
    with pytest.raises(UsageError, match="is a symbolic link"):
        write_json_atomic(link, {"a": 1})
    dir_link = tmp_path / ".x.partial.parts"
    dir_link.symlink_to(victim.parent)
    for make in (make_dir, ensure_dir):
        with pytest.raises(UsageError, match="is a symbolic link"):
            make(dir_link)
    assert victim.read_bytes() == VICTIM and os.listdir(victim.parent) == ["victim.txt"]
    assert sorted(os.listdir(tmp_path)) == [".x.lock", ".x.partial.parts", "elsewhere"]
    (tmp_path / "plain").write_bytes(b"")
    with pytest.raises(FileExistsError):
        open_new(tmp_path / "plain")


def test_json_is_rewritten_under_a_fresh_temporary_name(tmp_path: Path) -> None:
    path = tmp_path / ".o.partial.manifest.json"
    # A link planted at the old fixed temporary name is never written through.
    (tmp_path / ".o.partial.manifest.json.tmp").symlink_to(tmp_path / "nowhere")
    write_json_atomic(path, {"a": 1})
    write_json_atomic(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert sorted(os.listdir(tmp_path)) == [
        ".o.partial.manifest.json",
        ".o.partial.manifest.json.tmp",
    ]
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo"])
def test_a_planted_lock_file_is_refused_and_left_alone(tmp_path, victim, kind) -> None:
    final = tmp_path / "out.parquet"
    path = lock.lock_path(final)
    if kind == "symlink":
        path.symlink_to(victim)
    elif kind == "hardlink":
        os.link(victim, path)
    else:
        os.mkfifo(path)
    with pytest.raises(UsageError) as err, AtomicOutputs([final]):
        pass
    assert err.value.exit_code == 2 and str(path) in str(err.value)
    assert victim.read_bytes() == VICTIM
    assert sorted(os.listdir(tmp_path)) == sorted([path.name, "elsewhere"])


def test_resume_files_planted_as_links_are_refused(tmp_path: Path, victim: Path) -> None:
    final = tmp_path / "out.parquet"
    parts_path(final).symlink_to(victim.parent)
    for resume in (True, False):
        with pytest.raises(UsageError, match=r"resume parts folder .* is a symbolic link"):
            PartStore(final, {}, 2, resume=resume).open()
    with pytest.raises(UsageError, match="is a symbolic link"):
        PartStore(final, {}, 0, resume=False).discard()
    parts_path(final).unlink()
    manifest_path(final).symlink_to(victim)
    with pytest.raises(UsageError, match=r"resume manifest .* is a symbolic link"):
        PartStore(final, {}, 2, resume=True).open()
    assert victim.read_bytes() == VICTIM and os.listdir(victim.parent) == ["victim.txt"]
    assert sorted(os.listdir(tmp_path)) == [manifest_path(final).name, "elsewhere"]


def test_scratch_folder_planted_as_a_link(tmp_path: Path, victim: Path) -> None:
    finals = [tmp_path / "a.bw", tmp_path / "b.bw"]
    state_path(finals[0], "d").symlink_to(victim.parent)
    with (
        pytest.raises(UsageError, match=r"scratch folder .* is a symbolic link"),
        AtomicOutputs(finals) as group,
    ):
        group.scratch_dir()
    assert os.listdir(victim.parent) == ["victim.txt"]
    assert sorted(os.listdir(tmp_path)) == [".a.bw.partial.d", "elsewhere"]  # no temporary


def test_a_writer_whose_open_fails_half_way_leaves_nothing(tmp_path: Path, victim: Path) -> None:
    from grelu_cli.io.formats.bigwig import BigWigWriter

    finals = [tmp_path / "bw" / "a.bw", tmp_path / "bw" / "b.bw"]
    writer = BigWigWriter(f"{tmp_path}/bw/", ["a", "b"], chrom_sizes=[("chr1", 100)])
    (tmp_path / "bw").mkdir()
    state_path(finals[0], "d").symlink_to(victim.parent)
    with pytest.raises(UsageError, match="is a symbolic link"), writer:
        pass
    assert os.listdir(tmp_path / "bw") == [".a.bw.partial.d"]  # no temporary, no lock
    assert not lock.lock_path(finals[0]).exists()


def test_a_link_at_the_final_path_exists_and_is_replaced_itself(tmp_path, victim) -> None:
    final = tmp_path / "out.parquet"
    final.symlink_to(tmp_path / "dangling")
    with pytest.raises(OutputExistsError, match=r"already exists \(a symbolic link\)"):
        check_output(final)
    final.unlink()
    final.symlink_to(victim)
    with AtomicOutputs([final], overwrite=True) as group:
        group.temps[0].write_bytes(b"new")
    assert not final.is_symlink() and final.read_bytes() == b"new"
    assert victim.read_bytes() == VICTIM


def test_a_store_renamed_over_a_link_leaves_the_target(tmp_path: Path, victim: Path) -> None:
    store, final = tmp_path / ".s.zarr.partial", tmp_path / "s.zarr"
    store.mkdir()
    (store / "zarr.json").write_text("{}")
    final.symlink_to(victim.parent)
    with pytest.raises(OutputExistsError):
        rename_into_place(store, final)
    rename_into_place(store, final, overwrite=True)
    assert final.is_dir() and not final.is_symlink() and os.listdir(final) == ["zarr.json"]
    assert os.listdir(victim.parent) == ["victim.txt"]
    assert sorted(os.listdir(tmp_path)) == ["elsewhere", "s.zarr"]


def test_markers_use_the_scheme_and_leave_no_temporary(tmp_path: Path) -> None:
    marker_dir(tmp_path).mkdir(parents=True)
    write_marker(tmp_path, 0, 3, {"clipped": {}}, shard=1)
    write_marker(tmp_path, 0, 3, {"clipped": {"1": 2}}, shard=1)
    assert os.listdir(marker_dir(tmp_path)) == ["000000000000-000000000003.shard-1.json"]
    assert [m["clipped"] for m in read_markers(tmp_path)] == [{"1": 2}]


def test_an_old_store_left_aside_by_a_killed_overwrite_is_removed(tmp_path: Path) -> None:
    store, final = tmp_path / ".s.zarr.partial", tmp_path / "s.zarr"
    store.mkdir()
    final.mkdir()
    left = partial_path(final, f"{HOST}-{_dead_pid()}-0000000e")
    (left / "preds").mkdir(parents=True)
    rename_into_place(store, final, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["s.zarr"]


def test_long_output_names_keep_every_derived_name_within_255_bytes(tmp_path: Path) -> None:
    final = tmp_path / ("é" * 120 + "x" * 6 + ".parquet")  # 254 bytes
    assert len(final.name.encode()) == 254
    store = PartStore(final, {"fingerprint": "f"}, 2, resume=True)
    store.open()
    with AtomicOutputs([final]) as group:
        assert len(group.temps[0].name.encode()) <= 255
        group.temps[0].write_bytes(b"data")
        assert lock.lock_path(final).exists()
    store.commit(0, 1)  # the manifest is rewritten under a temporary name
    store.discard()
    assert os.listdir(tmp_path) == [final.name] and final.read_bytes() == b"data"
    names = [partial_path(final, new_token()), state_path(final, "manifest.json")]
    assert all(len(n.name.encode()) <= 200 for n in names)
    assert partial_path(final, "t").name.startswith(".")
    too_long = tmp_path / ("y" * 256)
    with pytest.raises(UsageError, match="file name is 256 bytes long"):
        check_output(too_long)
