"""Silence what C libraries write straight to file descriptor 2.

libBigWig (under pyBigWig) prints lines such as ``[bwOpen] bwg->idx is NULL`` to the process's
stderr when a file is damaged, before pyBigWig raises. Those lines bypass ``sys.stderr`` and would
break the one-line error contract, so the calls into it run with fd 2 pointed at /dev/null; the
Python exception that follows says what went wrong.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def c_stderr_silenced() -> Iterator[None]:
    """Point fd 2 at /dev/null for the duration (single-threaded callers only: other threads'
    stderr writes in that window are lost too). Python's ``sys.stderr`` is flushed first so
    nothing already written is dropped."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all (a daemon): nothing to protect
        yield
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
        finally:
            os.close(null)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
