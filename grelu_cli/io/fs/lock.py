"""Advisory lock on an output, so two grelu processes never write the same ``-o`` at once.

The lock is ``fcntl.flock`` on ``DIR/.NAME.lock`` next to the output, holding the writer's pid.
A second process that asks for it gets :class:`OutputLockedError` (exit 2) naming that pid.
The kernel drops a flock when its process dies (even on SIGKILL), so a crashed run never
blocks the next one; its stale lock file is simply locked again.

Within one process the lock is re-entrant (a resumable run's part store and its final writer
both hold it), counted per path. The last release deletes the file *while still holding the
lock*; an acquirer therefore checks, after locking, that the path still names the file it
locked and retries if not, so two processes can never both hold "the" lock.

The lock file is opened with ``O_NOFOLLOW`` and never truncated before it is locked and checked
to be a regular file with no other hard link: a symbolic link (or a hard link to someone's
file) planted at ``DIR/.NAME.lock`` in a shared folder is refused with exit 2, and its target is
left untouched. A folder that takes no new files (``/proc``) raises
:class:`~grelu_cli.io.fs.fsafe.NotCreatableError` (reported as "cannot write OUT", exit 4).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

from grelu_cli.errors import OutputLockedError, UsageError
from grelu_cli.io.fs.fsafe import check_own, link_error, not_creatable, short_name

_held: dict[Path, list[int]] = {}  # lock path -> [fd, count, owner pid]
_mutex = threading.Lock()


def lock_path(final: str | Path) -> Path:
    """The lock file of ``final``: ``DIR/.NAME.lock`` (a long NAME shortened: see
    :func:`~grelu_cli.io.fs.fsafe.short_name`)."""
    final = Path(final)
    return final.with_name(f".{short_name(final.name)}.lock")


def acquire(final: str | Path, what: str | None = None) -> Path:
    """Lock ``final`` for this process (re-entrant); returns the lock path for :func:`release`.

    ``what`` names the locked thing in the error (default ``output FINAL``), e.g. a shard's
    windows of a shared zarr store.

    Raises:
        OutputLockedError: another process holds the lock.
    """
    path = lock_path(final).absolute()
    with _mutex:
        if path in _held:
            _held[path][1] += 1
            return path
        while True:
            fd = _open(path)
            try:
                _check_plain(fd, path)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = _read_pid(fd)
                os.close(fd)
                who = f"pid {pid}" if pid else "pid unknown"
                raise OutputLockedError(
                    f"{what or f'output {final}'} is being written by another grelu process "
                    f"({who})",
                    fix="wait for it to finish, or choose another -o",
                ) from None
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.path.samestat(os.fstat(fd), os.lstat(path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the holder deleted it as we opened it: lock the new file
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held[path] = [fd, 1, os.getpid()]
        return path


def release(path: Path) -> None:
    """Drop one hold on ``path`` (from :func:`acquire`); the last one deletes the lock file."""
    with _mutex:
        entry = _held.get(path)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _held[path]
        if entry[2] == os.getpid():  # a forked child shares the parent's lock: leave it be
            with contextlib.suppress(OSError):
                os.unlink(path)  # while still locked: see the module docstring
        os.close(entry[0])


@contextlib.contextmanager
def locked(final: str | Path) -> Iterator[None]:
    """Hold the lock of ``final`` for the block."""
    path = acquire(final)
    try:
        yield
    finally:
        release(path)


def _open(path: Path) -> int:
    """Open (or create) the lock file, never through a symbolic link."""
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        return os.open(path, flags, 0o644)
    except FileNotFoundError:
        raise not_creatable(path) from None
    except OSError as e:
        if os.path.islink(path):  # ELOOP (Linux) or EMLINK (BSD): a planted link
            raise link_error(path, "lock file") from None
        check_own(path, "file", "lock file")  # a folder or socket in the way: exit 2
        raise e


def _check_plain(fd: int, path: Path) -> None:
    """A lock file must be a regular file of its own: not a FIFO or device, and no hard link
    to another file (which the pid written into it would overwrite)."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(
            f"lock file {path} is not a regular file", fix="delete it or choose another -o"
        )
    if st.st_nlink > 1:
        raise UsageError(
            f"lock file {path} is a hard link to another file ({st.st_nlink} names); grelu "
            "never writes into it",
            fix="delete the link, which another user of this folder may have planted, or choose "
            "another -o",
        )


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@atexit.register
def _release_all() -> None:
    """A run that failed still holding a lock removes its lock file on the way out."""
    for path in list(_held):
        _held[path][1] = 1
        release(path)
