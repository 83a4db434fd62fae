"""Turn "the disk said no" into an environment error (exit 4) instead of an internal error.

A full disk, a quota, a read-only mount, missing permissions or a file-size limit are not bugs:
the writing layer (atomic outputs, writers, the resume part store, ``models build``) maps an
``OSError`` with one of those errnos to :class:`~grelu_cli.errors.OutputWriteError`, e.g.
``cannot write out.parquet: no space left on device (free space or choose another -o)``.
Libraries that lose the errno (pyarrow puts it in the message text) are matched by text.
A folder that takes no new files (``/proc``: creating the lock file there is ``ENOENT``
although the folder exists; :class:`~grelu_cli.io.fs.fsafe.NotCreatableError`) is reported the
same way, naming the output the user gave: ``cannot write /proc/x.parquet: the folder /proc does
not accept new files (choose another -o)``.

``SIGXFSZ`` (sent when a write passes ``ulimit -f``) is ignored once a writer opens, so the
write fails with ``EFBIG`` and is reported like the others, with the usual cleanup, instead of
killing the process with a half-written temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from grelu_cli.errors import GreluCliError, OutputWriteError
from grelu_cli.io.fs.fsafe import NotCreatableError

_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}
_TEXT = {
    "no space left on device": errno.ENOSPC,
    "disk quota exceeded": errno.EDQUOT,
    "file too large": errno.EFBIG,
    "read-only file system": errno.EROFS,
    "permission denied": errno.EACCES,
    "operation not permitted": errno.EPERM,
}
_ERRNO_IN_TEXT = re.compile(r"\[?errno (\d+)\]?", re.IGNORECASE)


def write_errno(exc: BaseException) -> int | None:
    """The errno of ``exc`` if it is one of the environment errors above, else None."""
    if not isinstance(exc, OSError) or isinstance(exc, GreluCliError):
        return None
    if exc.errno in _REASONS:
        return exc.errno
    text = str(exc).lower()
    for m in _ERRNO_IN_TEXT.finditer(text):
        if int(m.group(1)) in _REASONS:
            return int(m.group(1))
    for words, code in _TEXT.items():
        if words in text:
            return code
    return None


def write_error(exc: BaseException, output: str | Path) -> OutputWriteError | None:
    """``exc`` as an OutputWriteError naming ``output``, or None when it is something else."""
    if isinstance(exc, NotCreatableError):
        return OutputWriteError(
            f"cannot write {output}: the folder {exc.folder} does not accept new files",
            fix="choose another -o",
        )
    code = write_errno(exc)
    if code is None:
        return None
    if code in (errno.ENOSPC, errno.EDQUOT):
        fix = "free space or choose another -o"
    elif code == errno.EFBIG:
        fix = "raise the file size limit, ulimit -f, or choose another -o"
    else:
        fix = f"make {Path(output).parent} writable or choose another -o"
    return OutputWriteError(f"cannot write {output}: {_REASONS[code]}", fix=fix)


@contextlib.contextmanager
def writing(output: str | Path) -> Iterator[None]:
    """Map environment write errors raised in the block to OutputWriteError for ``output``."""
    ignore_file_size_signal()
    try:
        yield
    except OSError as e:
        mapped = write_error(e, output)
        if mapped is None:
            raise
        raise mapped from e


def ignore_file_size_signal() -> None:
    """Make writes past ``ulimit -f`` fail with EFBIG instead of killing the process."""
    sig = getattr(signal, "SIGXFSZ", None)
    if sig is None or threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(ValueError, OSError):
        if signal.getsignal(sig) == signal.SIG_DFL:
            signal.signal(sig, signal.SIG_IGN)
