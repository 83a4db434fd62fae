"""Atomic outputs: a file appears at its final path only when it is complete.

Every writer (parquet, bigWig) and ``grelu models build`` write through this module. A
writer asks for the temporary path of each final output, writes there, and on success the
group is committed: each temporary file is fsynced and renamed over its final path with
``os.replace`` (atomic within one directory on POSIX), then the directory is fsynced. On any
exception, or when the group is aborted, the temporary files and scratch directory are
deleted, as are the output directories this group created, if they are still empty.

Naming scheme (stable; a future ``--resume`` finds a partial run by these names; the names
and the one stale-file cleaner live in :mod:`grelu_cli.io.fs.fsafe`)::

    DIR/NAME                              final output
    DIR/.NAME.lock                        advisory lock (flock) held while the output is being
                                          written; records the pid (:mod:`grelu_cli.io.fs.lock`)
    DIR/.NAME.HOST-PID-RANDOM.partial     temporary file or store being written (hidden, same
                                          directory, unique per host, process and call); also
                                          a shared zarr store being created, an old store
                                          moved aside by --overwrite, a manifest being rewritten
    DIR/.NAME.partial.d/                  writer scratch space (bigWig spill files); always
                                          deleted on commit and on abort
    DIR/.NAME.partial.manifest.json       resume manifest (:mod:`grelu_cli.run.resume`)
    DIR/.NAME.partial.parts/              committed chunks of a resumable run (resume.py);
                                          kept until the output is complete
    DIR/.NAME.partial/                    an unsharded zarr store being written (io/zarr;
                                          a fixed name, so --resume continues it)
    DIR/.NAME.shard-LO-HI.lock            lock of one shard's windows of a shared zarr store
                                          (an empty shard takes none)

None of grelu's own names is ever written, read or deleted through a symbolic link: a link
planted at one (in a folder shared with other users) is refused with exit 2 before anything is
touched. Each temporary file is reserved empty at :meth:`AtomicOutputs.open` (``O_CREAT |
O_EXCL | O_NOFOLLOW``) before its writer (pyarrow, pyBigWig, matplotlib) opens it by name; one
still empty at commit was never written (every format writes at least a header). A link at
the final path counts as an existing output: without ``overwrite`` it is refused, with it the
link itself is replaced (``rename`` never follows it), never its target.

For a group of outputs (one bigWig per task) the scratch directory, manifest and lock belong to
the first output of the group. A temporary name never ends in the final extension, so nothing
that globs ``*.parquet`` or ``*.bw`` picks up a partial file.

Two processes writing the same output: the second one gets exit 2 from the lock ("being
written by another grelu process (pid N)"), and even without the lock (another tool, a group
sharing only some files) their temporary names differ, so neither can rename the other's
half-written file into place. Temporary files left by a killed run are deleted by the next run
that takes the lock. Environment write errors (no space, read-only, permission denied, quota,
file size limit) raised while a group is open become exit 4 (:mod:`grelu_cli.io.fs.oserrors`).

Limits: a group of several files is renamed one after another; if one rename fails, the files
already renamed are removed again (with ``overwrite`` the files they replaced are gone). A
process killed in the microseconds between two renames can leave part of a group in place.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from grelu_cli.errors import OutputExistsError, UsageError
from grelu_cli.io.fs import lock
from grelu_cli.io.fs.fsafe import (
    PARTIAL_SUFFIX,
    check_own,
    ensure_dir,
    fsync_dir,
    fsync_file,
    make_dir,
    new_token,
    open_new,
    partial_files,
    partial_path,
    remove_stale,
    remove_tree,
    state_path,
)
from grelu_cli.io.fs.oserrors import write_error, writing

__all__ = [  # the names other modules import from here (the scheme lives in fsafe)
    "PARTIAL_SUFFIX",
    "AllOrNothing",
    "AtomicOutputs",
    "atomic_path",
    "check_output",
    "fsync_dir",
    "fsync_file",
    "manifest_path",
    "new_token",
    "partial_files",
    "partial_path",
    "parts_path",
    "scratch_path",
]

_T = TypeVar("_T", bound="AllOrNothing")


def scratch_path(final: str | Path) -> Path:
    """Scratch directory of ``final``: ``DIR/.NAME.partial.d``."""
    return state_path(final, "d")


def manifest_path(final: str | Path) -> Path:
    """Resume-manifest path of ``final``: ``DIR/.NAME.partial.manifest.json``."""
    return state_path(final, "manifest.json")


def parts_path(final: str | Path) -> Path:
    """Directory of a resumable run's committed chunks: ``DIR/.NAME.partial.parts``."""
    return state_path(final, "parts")


def check_output(final: str | Path, overwrite: bool = False) -> None:
    """Raise if ``final`` cannot be written: it is a directory, or exists without overwrite.

    A symbolic link at ``final`` (even a dangling one) exists: with ``overwrite`` the link
    itself is replaced at commit, its target is never written."""
    final = Path(final)
    for parent in final.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(
                    f"output {final}: {parent} is a file, not a directory",
                    fix="choose another output path",
                )
            _check_name_length(final, parent)
            break
    try:
        mode: int | None = os.lstat(final).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise UsageError(
            f"output {final} is an existing directory", fix="give a file path for this output"
        )
    if mode is not None and not overwrite:
        link = " (a symbolic link)" if stat.S_ISLNK(mode) else ""
        raise OutputExistsError(
            f"output {final} already exists{link}", fix="use --overwrite to replace it"
        )


def _check_name_length(final: Path, folder: Path) -> None:
    """A file name the file system of ``folder`` cannot hold is a usage error (exit 2) before
    any work, not a failed rename at the end."""
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    size = len(os.fsencode(final.name))
    if limit > 0 and size > limit:
        raise UsageError(
            f"output {final}: the file name is {size} bytes long, more than the {limit} "
            f"that {folder} allows",
            fix="choose a shorter -o",
        )


class AllOrNothing:
    """Context-manager protocol shared by atomic outputs and the writers built on them:
    ``open()`` on entry; ``finish()`` when the block ends normally, ``abort()`` when it
    raises (an error, Ctrl-C, SIGTERM turned into KeyboardInterrupt), so nothing half-written
    is ever left at a final path."""

    def open(self) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def output_label(self) -> str:
        """How messages name this output (its first final path)."""
        return str(_finals(self)[0])

    def __enter__(self: _T) -> _T:
        with writing(self.output_label()):
            try:
                self.open()
            except BaseException:
                # An open that failed half-way (the bigWig scratch folder after the group's
                # temporaries were reserved) leaves nothing behind: abort is idempotent.
                self.abort()
                raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            try:
                self.finish()
            except OSError as e:
                self.abort()  # a writer's own cleanup may have run; abort is idempotent
                mapped = write_error(e, self.output_label())
                if mapped is None:
                    raise
                raise mapped from e
            return
        self.abort()
        mapped = write_error(exc, self.output_label()) if exc and _ours(exc, self) else None
        if mapped is not None:
            raise mapped from exc


def _finals(group: AllOrNothing) -> tuple[Path, ...]:
    """The final paths of a group, or of the AtomicOutputs a writer keeps as ``_outputs``."""
    outputs = getattr(group, "_outputs", group)
    return tuple(Path(p) for p in getattr(outputs, "finals", ()))


def _ours(exc: BaseException, group: AllOrNothing) -> bool:
    """Whether an OSError raised inside a writer's block concerns the output's directory
    (not, say, a permission error reading an input file)."""
    name = getattr(exc, "filename", None)
    if name is None:
        return True
    dirs = {p.parent.absolute() for p in _finals(group)}
    return Path(os.fsdecode(name)).absolute().parent in dirs or any(
        d in Path(os.fsdecode(name)).absolute().parents for d in dirs
    )


class AtomicOutputs(AllOrNothing):
    """Temporary names for a group of outputs that are committed together.

    Use as a context manager (commit on success, abort on exception) or call
    :meth:`open`, :meth:`commit` and :meth:`abort` yourself::

        with AtomicOutputs([out]) as group:
            write_to(group.temps[0])
        # out exists now; after an exception neither out nor its temporary file exists

    Args:
        finals: final output paths (distinct).
        overwrite: replace existing outputs (only at commit; until then they stay intact).
    """

    def __init__(self, finals: Sequence[str | Path], *, overwrite: bool = False) -> None:
        self.finals: tuple[Path, ...] = tuple(Path(p) for p in finals)
        if not self.finals:
            raise ValueError("AtomicOutputs needs at least one output path")
        if len({p.absolute() for p in self.finals}) != len(self.finals):
            raise UsageError(
                f"output paths repeat: {', '.join(str(p) for p in self.finals)}",
                fix="give each output its own path",
            )
        self.token = new_token()
        self.temps: tuple[Path, ...] = tuple(partial_path(p, self.token) for p in self.finals)
        self.overwrite = overwrite
        self._created_dirs: list[Path] = []
        self._scratch: Path | None = None
        self._lock: Path | None = None
        self._state = "new"

    def finish(self) -> None:
        """Leaving the ``with`` block without an error commits."""
        self.commit()

    def open(self) -> None:
        """Check every output is writable and create missing parent directories."""
        if self._state != "new":
            raise RuntimeError(f"AtomicOutputs.open() called twice (state {self._state})")
        for final in self.finals:
            check_output(final, self.overwrite)
        try:
            for final in self.finals:
                self._make_dirs(final.parent)
            self._lock = lock.acquire(self.finals[0])
            remove_stale(*self.finals)  # ours now (we hold the lock): left by a killed run
            for temp in self.temps:  # reserved: O_EXCL | O_NOFOLLOW, never through a link
                open_new(temp, "wb", "temporary file").close()
        except BaseException:
            self._cleanup(remove_dirs=True)
            self._state = "aborted"
            raise
        self._state = "open"

    def temp(self, final: str | Path) -> Path:
        """Temporary path of one of this group's outputs."""
        return self.temps[self.finals.index(Path(final))]

    def scratch_dir(self) -> Path:
        """An empty scratch directory next to the first output (created on first call)."""
        if self._scratch is None:
            path = scratch_path(self.finals[0])
            # A stale scratch dir belongs to a killed run of the same output: start clean.
            # A link planted there is refused, never followed (nor its target emptied).
            if check_own(path, "dir", "scratch folder"):
                remove_tree(path)
            self._scratch = make_dir(path, "scratch folder")
        return self._scratch

    def commit(self) -> None:
        """Fsync and rename every temporary file into place; remove the scratch directory.

        On failure nothing of this group remains at the final paths and the error is re-raised.
        """
        if self._state != "open":
            raise RuntimeError(f"AtomicOutputs.commit() in state {self._state}")
        done: list[Path] = []
        try:
            for temp in self.temps:
                # Reserved empty at open: still empty (or gone) means its writer never wrote.
                if not check_own(temp, "file", "temporary file") or not os.lstat(temp).st_size:
                    raise RuntimeError(f"temporary output {temp} was not written")
                fsync_file(temp)
            # Re-check: another process may have created an output while we were running.
            for final in self.finals:
                check_output(final, self.overwrite)
            for temp, final in zip(self.temps, self.finals, strict=True):
                os.replace(temp, final)
                done.append(final)
            for parent in dict.fromkeys(final.parent for final in self.finals):
                fsync_dir(parent)
        except BaseException:
            for final in done:
                with contextlib.suppress(OSError):
                    final.unlink()
            self._cleanup(remove_dirs=not done)
            self._state = "aborted"
            raise
        self._cleanup(remove_dirs=False)
        self._state = "committed"

    def abort(self) -> None:
        """Delete temporary files, scratch space and directories this group created."""
        if self._state in ("committed", "aborted"):
            return
        if self._state == "open":  # "new": open() refused before creating anything
            self._cleanup(remove_dirs=True)
        self._state = "aborted"

    def _cleanup(self, remove_dirs: bool) -> None:
        for temp in self.temps:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        if self._scratch is not None:
            remove_tree(self._scratch)
            self._scratch = None
        if self._lock is not None:
            lock.release(self._lock)
            self._lock = None
        if remove_dirs:
            for directory in reversed(self._created_dirs):
                with contextlib.suppress(OSError):
                    directory.rmdir()  # only succeeds when empty, which is what we want
        self._created_dirs = []

    def _make_dirs(self, directory: Path) -> None:
        missing = []
        while not directory.exists():
            missing.append(directory)
            if directory.parent == directory:
                break
            directory = directory.parent
        for d in reversed(missing):
            ensure_dir(d, "output folder")
            self._created_dirs.append(d)


@contextlib.contextmanager
def atomic_path(final: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield the temporary path for ``final``; rename it into place if the block succeeds.

    The caller must have closed whatever it wrote to the path before the block ends.
    """
    with AtomicOutputs([final], overwrite=overwrite) as group:
        yield group.temps[0]
