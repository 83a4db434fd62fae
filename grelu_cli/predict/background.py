"""Run a writer's ``write`` calls on a background thread, so writing overlaps the next batch.

:class:`BackgroundWriter` wraps any writer context manager with a ``write(block)`` method
(:class:`~grelu_cli.io.formats.parquet.ParquetWriter`,
:class:`~grelu_cli.io.formats.bigwig.BigWigWriter`).
The main loop hands each block over and goes on with the model; one thread writes the blocks
in the order given. At most ``max_pending`` blocks wait, so memory stays bounded when the
writer is slower than the model. Opening and closing (``__enter__``/``__exit__``) stay on the
caller's thread, so the atomic rename-into-place and the cleanup on errors are unchanged.

An exception raised by the inner ``write`` is re-raised on the caller's thread, at its next
``write`` call or at exit, with the original traceback; blocks queued after a failure are
dropped. Other attributes (``metadata``, ``paths``, ``nonfinite``, ...) are the inner
writer's; read them after the ``with`` block (or after :meth:`BackgroundWriter.flush`).

Why a thread helps beyond overlap: glibc gives each thread its own malloc arena, so the
writer's long-lived row buffers do not land between the model's freed activations. When they
do (writer on the main thread), each batch can strand one activation-sized hole and the heap
grows by that much per batch.

    with BackgroundWriter(ParquetWriter(path, tasks)) as writer:
        for block in predictor.blocks(loader):
            writer.write(block)
"""

from __future__ import annotations

import contextlib
import queue
import threading
from types import TracebackType
from typing import Any

_STOP = object()
#: seconds an aborting writer waits for its thread before leaving it (a daemon) behind
ABORT_WAIT_S = 5.0


class BackgroundWriter:
    """Proxy for ``inner`` whose ``write`` runs on a daemon thread (see the module docstring).

    Args:
        inner: a writer context manager with ``write(block)``.
        max_pending: blocks that may wait for the thread before ``write`` blocks (>= 1).
    """

    def __init__(self, inner: Any, max_pending: int = 2) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        self._inner = inner
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_pending)
        self._error: BaseException | None = None
        self._abort = threading.Event()
        self._thread: threading.Thread | None = None
        self._entered: Any = None

    # context manager --------------------------------------------------------------------
    def __enter__(self) -> BackgroundWriter:
        self._entered = self._inner.__enter__()
        self._thread = threading.Thread(target=self._work, name="grelu-writer", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        if exc_type is not None:
            self._abort.set()  # failing anyway: drop what is queued, stop soon
        try:
            self._stop()
        except BaseException as e:  # the writer thread failed: close the inner writer with it
            if exc_type is None:
                self._inner.__exit__(type(e), e, e.__traceback__)
                raise
        return self._inner.__exit__(exc_type, exc, tb)

    # writing ----------------------------------------------------------------------------
    def write(self, block: Any) -> None:
        """Queue ``block`` for the writer thread (waits while ``max_pending`` are queued)."""
        self._raise_error()
        if self._thread is None:
            raise RuntimeError("BackgroundWriter.write outside its with-block")
        while True:
            try:
                self._queue.put(block, timeout=0.1)
                return
            except queue.Full:
                self._raise_error()  # the thread died: do not wait forever

    def flush(self) -> None:
        """Wait until every queued block is written; re-raise a writer error."""
        self._queue.join()
        self._raise_error()

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not found here: metadata, paths, nonfinite, ...
        return getattr(self._inner, name)

    # internals ----------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                if self._error is None and not self._abort.is_set():
                    self._inner.write(item)
            except BaseException as e:  # handed to the caller's thread
                self._error = e
            finally:
                self._queue.task_done()

    def _stop(self) -> None:
        if self._thread is None:
            return
        thread, self._thread = self._thread, None
        if self._abort.is_set():
            # Failing anyway (error, Ctrl-C, SIGTERM): never wait without a bound. A signal can
            # land inside Queue.put after the item is stored but before the thread is woken,
            # so an unbounded put/join here could hang the exit. The thread is a daemon and
            # skips every write once the abort flag is set; the inner writer then aborts.
            _drain(self._queue)
            with contextlib.suppress(queue.Full):
                self._queue.put(_STOP, timeout=ABORT_WAIT_S)
            thread.join(timeout=ABORT_WAIT_S)
            return
        self._queue.put(_STOP)
        thread.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            self._abort.set()
            raise error


def _drain(q: queue.Queue[Any]) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return
        # An interrupted put may have stored an item without counting it.
        with contextlib.suppress(ValueError):
            q.task_done()
