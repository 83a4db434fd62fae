"""One uninterrupted run: every window of ``[lo, hi)`` predicted into the final writer.

The writer runs on its own thread (:class:`~grelu_cli.predict.background.BackgroundWriter`):
writing overlaps the next batch, and its buffers stay out of the model's malloc arena.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from grelu_cli.io.writers import Writer
from grelu_cli.run.chunked import discard_partial_run
from grelu_cli.run.observer import RunObserver

if TYPE_CHECKING:
    from grelu_cli.run.build import BuiltRun


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
    from grelu_cli.predict.background import BackgroundWriter

    discard_partial_run(first_final)
    with BackgroundWriter(writer) as background, observer.progress(hi - lo) as progress:
        for block in run.blocks(lo, hi):
            background.write(block)
            progress.advance(len(block.windows), bp=len(block.windows) * run.seq_len)
        if hasattr(writer, "metadata"):
            writer.metadata["counts"] = counts


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
                observer.info(f"resuming {writer.output_label()}: {done:,} of {hi - lo:,} "  # type: ignore[attr-defined]
                              "windows already written")  # fmt: skip
            if done:
                progress.skip(done)
            for a, b in todo:
                for block in run.blocks(a, b):
                    background.write(block)
                    progress.advance(len(block.windows), bp=len(block.windows) * run.seq_len)
        background.metadata["counts"] = counts
