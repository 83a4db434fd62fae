"""Resumable and multi-device ``grelu predict`` runs: chunks to part files, then one output.

The run's window range is cut into chunks (``--chunk-windows``). Each chunk's predictions go
to a part file of a :class:`~grelu_cli.io.resume.PartStore` and the manifest is updated;
``--resume`` skips the chunks the manifest lists. With ``--devices`` the chunks are
interleaved over one worker process per device (chunk ``k`` to worker ``k mod D``); the
parent alone writes the manifest. At the end the parts are read back in chunk order
(:func:`grelu_cli.io.merge.parquet_blocks`) into the final writer, so the output is the same
as one uninterrupted, single-device run's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from grelu_cli.core.block import Block
from grelu_cli.io.resume import PartStore


@dataclass(frozen=True)
class ChunkJob:
    """What one device worker does: predict ``chunks`` (index, lo, hi) into ``parts``."""

    request: Any  # PredictRequest, with this worker's device
    chunks: list[tuple[int, int, int]]
    parts: dict[int, str]  # chunk -> part file
    layout: str
    fingerprint: str


def split_block(block: Block, n: int) -> tuple[Block, Block]:
    """The first ``n`` windows of ``block`` and the rest."""

    def part(s: slice) -> Block:
        return Block(block.windows[s], block.values[s], block.bins, block.bin_start[s],
                     block.bin_end[s])  # fmt: skip

    return part(slice(0, n)), part(slice(n, None))


def chunk_blocks(
    blocks: Iterable[Block], chunks: list[tuple[int, int, int]]
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


def contiguous_runs(chunks: list[tuple[int, int, int]]) -> list[list[tuple[int, int, int]]]:
    """Split chunks into runs whose window ranges follow each other (one loader per run)."""
    runs: list[list[tuple[int, int, int]]] = []
    for c in chunks:
        if runs and runs[-1][-1][2] == c[1]:
            runs[-1].append(c)
        else:
            runs.append([c])
    return runs


def predict_chunks(
    chunks: list[tuple[int, int, int]],
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
    from grelu_cli.io.parquet import ParquetWriter

    def write(k: int, lo: int, hi: int, blocks: list[Block]) -> int:
        meta = {"chunk": k, "window_range": [lo, hi], "fingerprint": fingerprint}
        with ParquetWriter(
            parts[k], tasks, layout=layout, metadata=meta, overwrite=True, compression="lz4"
        ) as writer:
            for block in blocks:
                writer.write(block)
        return writer.rows_written

    return write


def stitch(store: PartStore, writer: Any) -> None:
    """Feed every part, in chunk order, into an open final writer."""
    from grelu_cli.io.merge import parquet_blocks

    for k in range(store.n_chunks):
        for block in parquet_blocks(store.part(k)):
            writer.write(block)


def device_worker(job: ChunkJob, queue: Any) -> None:
    """Entry point of one device worker process (spawned): set up, predict, report."""
    from grelu_cli.cli.predict_run import build_run
    from grelu_cli.cli.runlog import describe_error

    try:
        req = job.request
        run = build_run(req, log=None)
        tasks = run.predictor.task_names
        write = part_writer(job.parts, tasks, job.layout, job.fingerprint)
        predict_chunks(
            job.chunks,
            run.blocks,
            write,
            lambda k, rows, n: queue.put(("done", k, rows, n)),
        )
    except BaseException as err:  # every failure goes back to the parent
        line, code = describe_error(err)
        queue.put(("error", code, line))


def worker_jobs(
    req: Any,
    devices: list[str],
    chunks: list[tuple[int, int, int]],
    store: PartStore,
    layout: str,
    fingerprint: str,
) -> list[ChunkJob]:
    """Interleave ``chunks`` over ``devices``: chunk ``j`` of the list to device ``j mod D``."""
    from grelu_cli.io.shards import interleave

    jobs = []
    for d, picks in zip(devices, interleave(len(chunks), len(devices)), strict=True):
        mine = [chunks[j] for j in picks]
        if not mine:
            continue
        sub = replace(req, device=d, devices=None, quiet=True, log_format="text")
        parts = {k: str(store.part(k)) for k, _, _ in mine}
        jobs.append(ChunkJob(sub, mine, parts, layout, fingerprint))
    return jobs
