"""File-system safety: the one temporary-name scheme, the one stale-file cleaner, and creating,
opening and removing grelu's own files and folders without ever following a symbolic link.

Every name grelu gives a file of its own is derived from the final output ``DIR/NAME``:

* per-process temporaries (a file or store being written, a store being created, the old
  store moved aside by ``--overwrite``, a manifest or marker being rewritten):
  ``DIR/.NAME.TOKEN.partial``, ``TOKEN = HOST-PID-RANDOM`` (:func:`partial_path`,
  :func:`new_token`): hidden, in the output's own folder, unique per process and call, and
  unpredictable (32 random bits), so nobody can plant a link at one in advance;
* fixed names, so that a later ``--resume`` finds them: ``DIR/.NAME.partial`` plus a kind
  (``.d``, ``.parts``, ``.manifest.json``; :func:`state_path`) and the lock ``DIR/.NAME.lock``
  (:mod:`grelu_cli.io.fs.lock`).

``NAME`` is the output's file name; one longer than 160 bytes is shortened in these names to
its first 151 bytes, ``~`` and 8 hex digits of its SHA-256 (:func:`short_name`), so that every
derived name fits a file system's 255-byte limit.

The one cleaner, :func:`remove_stale`, deletes the temporaries a killed run left. Its caller
either holds the output's lock (then every temporary of that output is stale: its writer is
gone) or it does not (a store shared by shard processes): then only temporaries made on this
host by a process that no longer exists are deleted (``HOST`` is a hash of the host name, so
creators on other hosts of a shared file system are never taken for dead).

In a folder shared with other users, anyone may have planted a symbolic link at one of the
fixed names (``ln -s ~/thesis.tex .out.parquet.lock``). grelu never writes, truncates, reads or
deletes *through* a link at one of its own names: files are created with ``O_NOFOLLOW`` and
``O_EXCL`` where grelu writes them itself, folders with ``mkdir`` (which refuses anything in the
way) and checked with ``lstat``, and a link found where grelu's own file or folder belongs is
refused with :class:`~grelu_cli.errors.UsageError` (exit 2) naming it, before anything is
touched. Removing a tree never follows a link either: a link is removed, its target stays.
Creating a file or folder in a folder that does not accept new files (``/proc``) raises
:class:`NotCreatableError`, which :mod:`grelu_cli.io.fs.oserrors` reports naming the user's output.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import stat
from pathlib import Path
from typing import IO, Any

from grelu_cli.errors import UsageError

PARTIAL_SUFFIX = ".partial"
#: This host, as temporary names carry it: 8 hex digits of the host name's SHA-256.
HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_LONG = 160  # bytes of an output's name kept in the names derived from it
_PARTIAL_NAME = re.compile(
    rf"\.(?P<name>.+)\.(?:(?P<host>[0-9a-f]{{8}})-)?(?P<pid>\d+)-[0-9a-f]{{8}}"
    rf"{re.escape(PARTIAL_SUFFIX)}"
)


class NotCreatableError(FileNotFoundError):
    """A file or folder cannot be created because its folder does not take new entries
    (``/proc``, ``/sys``): ``ENOENT`` although the folder exists."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(errno.ENOENT, "the folder does not accept new files", str(path))
        self.folder = Path(path).parent


# -- names ----------------------------------------------------------------------------------
def short_name(name: str) -> str:
    """``name`` as grelu's own names carry it: unchanged up to 160 bytes, else its first
    151 bytes (whole characters), ``~`` and 8 hex digits of the SHA-256 of all of it."""
    raw = name.encode()
    if len(raw) <= _LONG:
        return name
    head = raw[: _LONG - 9].decode("utf-8", errors="ignore")
    return f"{head}~{hashlib.sha256(raw).hexdigest()[:8]}"


def new_token() -> str:
    """A temporary-name token unique to this process and call: ``HOST-PID-RANDOM``."""
    return f"{HOST}-{os.getpid()}-{secrets.token_hex(4)}"


def partial_path(final: str | Path, token: str) -> Path:
    """Temporary path of ``final`` for writer ``token``: ``DIR/.NAME.TOKEN.partial``."""
    final = Path(final)
    return final.with_name(f".{short_name(final.name)}.{token}{PARTIAL_SUFFIX}")


def state_path(final: str | Path, kind: str = "") -> Path:
    """A fixed (resumable) name of ``final``: ``DIR/.NAME.partial[.KIND]``."""
    final = Path(final)
    stem = f".{short_name(final.name)}{PARTIAL_SUFFIX}"
    return final.with_name(stem + (f".{kind}" if kind else ""))


def partial_files(*finals: str | Path) -> list[Path]:
    """Temporaries of ``finals`` that exist now (any writer's, any host's); one listing per
    folder. Names of older versions (``.NAME.PID-RANDOM.partial``) are found too."""
    return [path for path, _ in _partials(finals)]


def _partials(finals: tuple[str | Path, ...]) -> list[tuple[Path, re.Match[str]]]:
    by_dir: dict[Path, set[str]] = {}
    for final in map(Path, finals):
        by_dir.setdefault(final.parent, set()).add(short_name(final.name))
    found = []
    for directory, names in by_dir.items():
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        for entry in entries:
            m = _PARTIAL_NAME.fullmatch(entry)
            if m and m["name"] in names:
                found.append((directory / entry, m))
    return found


# -- the one cleaner --------------------------------------------------------------------------
def remove_stale(*finals: str | Path, locked: bool = True) -> list[Path]:
    """Delete the temporaries killed runs left for ``finals``; returns what was deleted.

    ``locked``: the caller holds the outputs' lock, so every temporary is stale. Without it
    (shards creating one shared store) only those made on this host by a dead process go.
    A link is removed itself, never followed.
    """
    removed = []
    for path, m in _partials(finals):
        if not locked and (m["host"] != HOST or _alive(int(m["pid"]))):
            continue
        with contextlib.suppress(OSError):
            remove_tree(path)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


# -- refusing links ---------------------------------------------------------------------------
def link_error(path: str | Path, what: str = "") -> UsageError:
    """The exit-2 error for a link found where grelu's own ``what`` belongs."""
    label = what or "grelu's working file"
    try:
        target = f" (pointing to {os.readlink(path)})"
    except OSError:
        target = ""
    return UsageError(
        f"{label} {path} is a symbolic link{target}; grelu never writes through one",
        fix="delete the link, which another user of this folder may have planted, or choose "
        "another -o",
    )


def check_own(path: str | Path, kind: str = "file", what: str = "") -> bool:
    """Whether grelu's own ``path`` exists; raise UsageError (exit 2) when something other
    than a ``kind`` ("file" or "dir") is there: a symbolic link, a FIFO, a folder for a file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(st.st_mode):
        raise link_error(path, what)
    ok = stat.S_ISDIR(st.st_mode) if kind == "dir" else stat.S_ISREG(st.st_mode)
    if not ok:
        label = what or "grelu's working file"
        raise UsageError(
            f"{label} {path} is not a {'folder' if kind == 'dir' else 'regular file'}",
            fix="delete it or choose another -o",
        )
    return True


def check_no_links(*paths: str | Path, what: str = "") -> None:
    """Raise UsageError (exit 2) if any of ``paths`` is a symbolic link."""
    for path in paths:
        if os.path.islink(path):
            raise link_error(path, what)


# -- creating ---------------------------------------------------------------------------------
def open_new(path: str | Path, mode: str = "w", what: str = "") -> IO[Any]:
    """Create ``path`` (it must not exist) and open it for writing; never through a link.

    ``mode`` is "w" (text, UTF-8) or "wb". Raises UsageError for a link in the way,
    FileExistsError for anything else there, :class:`NotCreatableError` where the folder takes no
    new files.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        check_own(path, "file", what)  # a link: exit 2
        raise
    except FileNotFoundError:
        raise not_creatable(path) from None
    if "b" in mode:
        return os.fdopen(fd, mode)
    return os.fdopen(fd, mode, encoding="utf-8")


def make_dir(path: str | Path, what: str = "") -> Path:
    """Create the folder ``path`` (it must not exist): ``mkdir`` never follows a link.

    Raises UsageError for a link in the way, FileExistsError for anything else."""
    path = Path(path)
    try:
        os.mkdir(path)
    except FileExistsError:
        check_own(path, "dir", what)
        raise
    except FileNotFoundError:
        raise not_creatable(path) from None
    return path


def ensure_dir(path: str | Path, what: str = "") -> Path:
    """Create grelu's own folder ``path`` unless it is already a real folder (a link to one
    is refused: exit 2)."""
    path = Path(path)
    try:
        os.mkdir(path)
    except FileExistsError:
        check_own(path, "dir", what)
    except FileNotFoundError:
        raise not_creatable(path) from None
    return path


def make_parents(folder: str | Path) -> Path:
    """Create the user's output folder ``folder`` and its parents (links allowed: these are
    the user's choice); :class:`NotCreatableError` where a folder takes no new entries."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileNotFoundError as e:
        raise not_creatable(e.filename or folder) from None
    return folder


def not_creatable(path: str | Path) -> OSError:
    """The error for ENOENT while creating ``path``: :class:`NotCreatableError` when the folder
    exists (it refuses new entries), else a plain FileNotFoundError (the folder is missing)."""
    if Path(path).parent.is_dir():
        return NotCreatableError(path)
    return FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))


def write_json_atomic(
    path: Path, data: dict[str, Any], what: str = "", *, compact: bool = False
) -> None:
    """Write ``data`` as JSON to ``path`` so readers see the old or the new file, never half
    (``compact``: no spaces or newlines, else one item per line).

    The new file is written under a fresh temporary name (created with ``O_EXCL``,
    ``O_NOFOLLOW``) and renamed over ``path``; a link at ``path`` is refused (exit 2).
    """
    check_own(path, "file", what)
    tmp = partial_path(path, new_token())
    try:
        with open_new(tmp, "w", what) as handle:
            if compact:
                json.dump(data, handle, separators=(",", ":"))
            else:
                json.dump(data, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


# -- removing ---------------------------------------------------------------------------------
def remove_tree(path: str | Path) -> None:
    """Delete a file, link or folder tree; a link is removed itself, never followed (no error
    when ``path`` is gone)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(path)  # rmtree never follows links inside the tree
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


# -- durability -------------------------------------------------------------------------------
def fsync_file(path: str | Path) -> None:
    """Flush a closed file's data to disk (never through a link: ELOOP)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | Path) -> None:
    """Flush a directory entry table (makes renames durable); a no-op where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
