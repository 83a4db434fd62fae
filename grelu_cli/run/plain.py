"""One uninterrupted run: every unit of the run's range predicted into the final writer.

The writer runs on its own thread (:class:`~grelu_cli.predict.background.BackgroundWriter`):
writing overlaps the next batch, and its buffers stay out of the model's malloc arena.
:func:`write_plain` serves every job kind; :func:`run_plain` and :func:`run_dense` are
``grelu predict``'s (a dense zarr store records its written windows, so it resumes by itself).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grelu_cli.io.formats.registry import Writer
from grelu_cli.run.chunked import discard_partial_run
from grelu_cli.run.observer import RunObserver

if TYPE_CHECKING:
    from grelu_cli.run.build import BuiltRun

#: ``(piece or None, units done, bases)``: a piece for the writer and the progress it makes.
Step = tuple[Any, int, int]


def write_plain(
    writer: Any,
    steps: Iterable[Step],
    observer: RunObserver,
    total: int,
    unit: str,
    at_end: Callable[[Any], None] | None = None,
) -> None:
    """Write every piece of ``steps`` into ``writer`` on a background thread, advancing the
    progress of ``total`` units; ``at_end(writer)`` runs after the last piece is written,
    before the output is committed (e.g. to fill in the run's counts)."""
    from grelu_cli.predict.background import BackgroundWriter

    with BackgroundWriter(writer) as background, observer.progress(total, what=unit) as progress:
        for piece, n, bp in steps:
            if piece is not None:
                background.write(piece)
            if n:
                progress.advance(n, bp=bp)
        background.flush()
        if at_end is not None:
            at_end(writer)


def run_plain(
    run: BuiltRun,
    writer: Writer,
    first_final: Path,
    lo: int,
    hi: int,
    counts: dict[str, int],
    observer: RunObserver,
) -> None:
    """Predict windows ``[lo, hi)`` into ``writer``; ``counts`` go into its metadata."""
    discard_partial_run(first_final)
    steps = (
        (block, len(block.windows), len(block.windows) * run.seq_len)
        for block in run.blocks(lo, hi)
    )

    def at_end(inner: Any) -> None:
        if hasattr(inner, "metadata"):
            inner.metadata["counts"] = counts

    write_plain(writer, steps, observer, hi - lo, "windows", at_end)


def run_dense(run: BuiltRun, writer: Writer, counts: dict[str, int], observer: RunObserver) -> None:
    """Predict into a writer that records which windows it has written (a zarr store):
    only the ranges its ``todo()`` lists after opening, so ``resume`` needs no part files.
    """
    from grelu_cli.predict.background import BackgroundWriter

    with BackgroundWriter(writer) as background:
        todo = background.todo()
        lo, hi = background.lo, background.hi
        with observer.progress(hi - lo) as progress:
            done = (hi - lo) - sum(b - a for a, b in todo)
            if done and not background.already_complete:
                observer.info(
                    f"resuming {writer.output_label()}: {done:,} of {hi - lo:,} "  # type: ignore[attr-defined]
                    "windows already written"
                )
            if done:
                progress.skip(done)
            for a, b in todo:
                for block in run.blocks(a, b):
                    background.write(block)
                    progress.advance(len(block.windows), bp=len(block.windows) * run.seq_len)
        background.metadata["counts"] = counts
