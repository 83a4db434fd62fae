"""Chunk-by-chunk runs (``resume``, ``devices``): chunks to part files, then one output.

The run's window range is cut into chunks (``chunk_windows``). Each chunk's predictions go
to a part file of a :class:`~grelu_cli.io.resume.PartStore` and the manifest is updated;
``resume`` skips the chunks the manifest lists whose part files read back whole (others are
predicted again). With several devices the chunks are interleaved over one worker process
per device (:mod:`grelu_cli.run.workers`); the parent alone writes the manifest. At the end
the parts are read back in chunk order (:func:`grelu_cli.io.merge.parquet_blocks`) into the
final writer, so the output is the same as one uninterrupted, single-device run's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grelu_cli.core.block import Block
from grelu_cli.io.resume import PartStore
from grelu_cli.io.writers import Writer, WriterSpec, open_writer
from grelu_cli.run.observer import RunObserver

if TYPE_CHECKING:
    from grelu_cli.run.build import BuiltRun

Chunk = tuple[int, int, int]  # (index, first window, end window)


def split_block(block: Block, n: int) -> tuple[Block, Block]:
    """The first ``n`` windows of ``block`` and the rest."""

    def part(s: slice) -> Block:
        return Block(block.windows[s], block.values[s], block.bins, block.bin_start[s],
                     block.bin_end[s])  # fmt: skip

    return part(slice(0, n)), part(slice(n, None))


def chunk_blocks(
    blocks: Iterable[Block], chunks: list[Chunk]
) -> Iterator[tuple[int, int, int, list[Block]]]:
    """Group a stream of blocks covering consecutive ``chunks`` by chunk, splitting blocks
    that straddle a chunk boundary. Yields ``(k, lo, hi, blocks)`` per chunk, in order."""
    it = iter(chunks)
    current = next(it, None)
    pieces: list[Block] = []
    have = 0
    for block in blocks:
        while len(block.windows):
            if current is None:
                raise RuntimeError("the predictor returned more windows than were asked for")
            k, lo, hi = current
            head, block = split_block(block, hi - lo - have)
            pieces.append(head)
            have += len(head.windows)
            if have == hi - lo:
                yield k, lo, hi, pieces
                pieces, have = [], 0
                current = next(it, None)
    if current is not None:
        raise RuntimeError(f"the predictor stopped before chunk {current[0]} was complete")


def contiguous_runs(chunks: list[Chunk]) -> list[list[Chunk]]:
    """Split chunks into runs whose window ranges follow each other (one loader per run)."""
    runs: list[list[Chunk]] = []
    for c in chunks:
        if runs and runs[-1][-1][2] == c[1]:
            runs[-1].append(c)
        else:
            runs.append([c])
    return runs


def predict_chunks(
    chunks: list[Chunk],
    make_blocks: Callable[[int, int], Iterable[Block]],
    write_part: Callable[[int, int, int, list[Block]], int],
    on_done: Callable[[int, int, int], None],
) -> None:
    """Predict ``chunks`` (one block stream per contiguous run) and write each as a part.

    ``make_blocks(lo, hi)`` yields the blocks of windows ``[lo, hi)``; ``write_part(k, lo,
    hi, blocks)`` writes chunk ``k`` and returns its rows; ``on_done(k, rows, windows)``
    is called after each part is in place.
    """
    for run in contiguous_runs(chunks):
        for k, lo, hi, blocks in chunk_blocks(make_blocks(run[0][1], run[-1][2]), run):
            rows = write_part(k, lo, hi, blocks)
            on_done(k, rows, hi - lo)


def part_writer(
    parts: dict[int, str], tasks: list[str], layout: str, fingerprint: str
) -> Callable[[int, int, int, list[Block]], int]:
    """``write_part`` for :func:`predict_chunks`: one atomic parquet file per chunk."""

    def write(k: int, lo: int, hi: int, blocks: list[Block]) -> int:
        meta = {"chunk": k, "window_range": [lo, hi], "fingerprint": fingerprint}
        spec = WriterSpec(
            parts[k], tasks, metadata=meta, layout=layout, overwrite=True, compression="lz4"
        )
        with open_writer("parquet", spec) as writer:
            for block in blocks:
                writer.write(block)
        return writer.rows_written  # type: ignore[attr-defined]

    return write


def stitch(store: PartStore, writer: Writer) -> None:
    """Feed every part, in chunk order, into an open final writer."""
    from grelu_cli.io.merge import parquet_blocks

    for k in range(store.n_chunks):
        for block in parquet_blocks(store.part(k)):
            writer.write(block)


def bad_parts(store: PartStore) -> list[int]:
    """Committed chunks whose part file does not read back whole: the parquet footer does
    not parse, or its row count differs from the manifest's."""
    import pyarrow.parquet as pq

    bad = []
    for k, rows in sorted(store.done.items()):
        try:
            ok = pq.ParquetFile(store.part(k)).metadata.num_rows == rows
        except Exception:  # any unreadable file: predict the chunk again
            ok = False
        if not ok:
            bad.append(k)
    return bad


def run_chunked(
    run: BuiltRun,
    devices: list[str] | None,
    writer: Writer,
    first_final: Path,
    identity: dict[str, Any],
    observer: RunObserver,
) -> None:
    """Predict chunk by chunk into part files (resumable), then stitch them into ``writer``."""
    from grelu_cli.io.shards import chunk_ranges

    job = run.job
    lo, hi = identity["window_range"]
    ranges = chunk_ranges(lo, hi, job.run.chunk_windows, identity["batch_size"])
    chunks = [(k, a, b) for k, (a, b) in enumerate(ranges)]
    store = PartStore(first_final, identity, len(chunks), resume=job.run.resume)
    done = store.open()
    bad = bad_parts(store)
    if bad:
        store.forget(bad)
        observer.warn(
            f"resuming {first_final}: {len(bad)} committed chunk(s) could not be read back "
            f"(chunks {', '.join(map(str, bad))}); predicting them again",
            count=len(bad),
        )
        done -= len(bad)
    if done:
        observer.info(f"resuming {first_final}: {done} of {len(chunks)} chunks already done")
    todo = [chunks[k] for k in store.todo()]
    layout = identity["target"]["layout"]
    with observer.progress(hi - lo) as progress:
        already = sum(b - a for k, a, b in chunks if k in store.done)
        if already:
            progress.skip(already)  # the bar and JSON progress count the whole run

        def on_done(k: int, rows: int, n: int) -> None:
            store.commit(k, rows)
            progress.advance(n, bp=n * run.seq_len)

        if devices is None:
            parts = {k: str(store.part(k)) for k, _, _ in todo}
            write = part_writer(parts, run.predictor.task_names, layout, identity["fingerprint"])
            predict_chunks(todo, run.blocks, write, on_done)
        elif todo:
            from grelu_cli.run.devices import run_workers
            from grelu_cli.run.workers import device_worker, worker_jobs

            jobs = worker_jobs(job, devices, todo, store, layout, identity["fingerprint"])
            run_workers(device_worker, jobs, lambda msg: on_done(*msg[1:]))
    with writer:
        stitch(store, writer)
    store.discard()


def discard_partial_run(first_final: Path) -> None:
    """A run without resume starts again: remove what an interrupted resumable run left."""
    PartStore(first_final, {}, 0, resume=False).discard()
