"""Chunks of a run written as part files: what the chunk engine and the device workers share.

A chunk is ``(k, lo, hi)``: chunk ``k`` covers units ``[lo, hi)`` of the run (windows for
``grelu predict``, input records for ``grelu variants``). A job kind's :class:`ChunkedWork`
turns the chunks still to do into ``(k, piece)`` pairs in chunk order (a piece is what its
part writer takes: a :class:`~grelu_cli.core.block.Block`, a variant block) and opens one part
writer per chunk; :func:`write_parts` writes each chunk's pieces into its part file and
reports it done. A chunk with no piece (every record of it skipped) gets an empty part, so
every chunk is committed. :class:`TrackParts` is ``grelu predict``'s work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from grelu_cli.core.block import Block
from grelu_cli.io.formats.registry import WriterSpec, open_writer

if TYPE_CHECKING:
    from grelu_cli.run.build import BuiltRun
    from grelu_cli.run.resume import PartStore

Chunk = tuple[int, int, int]  # (index, first unit, end unit)


class PartWriter(Protocol):
    """A part file's writer: a context manager taking pieces, counting its rows."""

    @property
    def rows_written(self) -> int: ...

    def __enter__(self) -> Any: ...
    def __exit__(self, *exc: Any) -> Any: ...
    def write(self, piece: Any) -> None: ...


class ChunkedWork(Protocol):
    """What a job kind gives the chunk engine (:mod:`grelu_cli.run.chunked`)."""

    #: What progress counts ("windows", "records").
    unit: str

    def pieces(self, todo: list[Chunk]) -> Iterable[tuple[int, Any]]:
        """``(k, piece)`` for the chunks ``todo``, in chunk order."""

    def open_part(self, path: Path, chunk: Chunk) -> PartWriter:
        """The (not yet entered) writer of ``chunk``'s part file at ``path``."""

    def bases(self, n: int) -> int:
        """Input bases covered by ``n`` units (progress rates)."""

    def stitch(self, store: PartStore) -> None:
        """Write every part, in chunk order, into the final output."""


def write_parts(
    work: ChunkedWork,
    todo: list[Chunk],
    part_path: Callable[[int], Path],
    on_done: Callable[[int, int, int], None],
) -> None:
    """Write the chunks ``todo`` as part files; ``on_done(k, rows, units)`` after each is in
    place (an interrupted chunk's part is aborted: nothing is left at its path)."""
    pending = list(todo)
    current: tuple[int, PartWriter] | None = None

    def commit_until(k_end: int) -> None:
        nonlocal current
        while pending and pending[0][0] < k_end:
            chunk = pending.pop(0)
            if current is not None and current[0] == chunk[0]:
                writer = current[1]
            else:
                writer = work.open_part(part_path(chunk[0]), chunk)
                writer.__enter__()
            current = None
            writer.__exit__(None, None, None)
            on_done(chunk[0], int(writer.rows_written), chunk[2] - chunk[1])

    try:
        for k, piece in work.pieces(todo):
            commit_until(k)
            if current is None:
                writer = work.open_part(part_path(k), next(c for c in pending if c[0] == k))
                writer.__enter__()
                current = (k, writer)
            current[1].write(piece)
        commit_until(1 << 62)
    except BaseException as err:
        if current is not None:
            current[1].__exit__(type(err), err, None)
        raise


def split_block(block: Block, n: int) -> tuple[Block, Block]:
    """The first ``n`` windows of ``block`` and the rest."""

    def part(s: slice) -> Block:
        return Block(
            block.windows[s], block.values[s], block.bins, block.bin_start[s], block.bin_end[s]
        )

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
    """Split chunks into runs whose ranges follow each other (one loader per run)."""
    runs: list[list[Chunk]] = []
    for c in chunks:
        if runs and runs[-1][-1][2] == c[1]:
            runs[-1].append(c)
        else:
            runs.append([c])
    return runs


class TrackParts:
    """``grelu predict``'s chunked work: windows -> blocks -> one parquet part per chunk.

    Args:
        run: the built run (model, input, predictor).
        layout: the parts' parquet layout (the output's, long for other formats).
        fingerprint: the run fingerprint, recorded in each part.
        final: the output's writer (not yet entered); :meth:`stitch` fills it.
    """

    unit = "windows"

    def __init__(self, run: BuiltRun, layout: str, fingerprint: str, final: Any = None) -> None:
        self.run, self.layout, self.fingerprint, self.final = run, layout, fingerprint, final

    def pieces(self, todo: list[Chunk]) -> Iterator[tuple[int, Block]]:
        for group in contiguous_runs(todo):
            for k, _, _, blocks in chunk_blocks(self.run.blocks(group[0][1], group[-1][2]), group):
                for block in blocks:
                    yield k, block

    def open_part(self, path: Path, chunk: Chunk) -> PartWriter:
        k, lo, hi = chunk
        meta = {"chunk": k, "window_range": [lo, hi], "fingerprint": self.fingerprint}
        spec = WriterSpec(
            str(path),
            self.run.predictor.task_names,
            metadata=meta,
            layout=self.layout,
            overwrite=True,
            compression="lz4",
        )
        writer: PartWriter = open_writer("parquet", spec)  # type: ignore[assignment]
        return writer

    def bases(self, n: int) -> int:
        return n * self.run.seq_len

    def stitch(self, store: PartStore) -> None:
        from grelu_cli.io.formats.merge import parquet_blocks

        with self.final as writer:
            for k in range(store.n_chunks):
                for block in parquet_blocks(store.part(k)):
                    writer.write(block)
