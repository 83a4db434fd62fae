"""The chunk engine: a run's units cut into chunks, each committed as a part file, resumable.

One implementation for every job kind. The run's range of units (windows for ``grelu
predict``, input records for ``grelu variants``) is cut into chunks of whole grains (model
batches, record groups; :func:`grelu_cli.core.shards.chunk_ranges`). Each chunk's results go to
a part file of a :class:`~grelu_cli.run.resume.PartStore` and the manifest is updated;
``resume`` skips the chunks the manifest lists whose part files read back whole (others are
done again, with a warning). The job kind's :class:`~grelu_cli.run.parts.ChunkedWork` says
what a chunk's pieces are and how parts are written and stitched; with several devices
(``grelu predict --devices``) the chunks are interleaved over one worker process per device
(:mod:`grelu_cli.run.workers`) and the parent alone writes the manifest. At the end the parts
are read back in chunk order into the final output, so it is the same as one uninterrupted,
single-device run's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grelu_cli.run.observer import RunObserver
from grelu_cli.run.parts import Chunk, ChunkedWork, chunk_blocks, write_parts
from grelu_cli.run.resume import INPUTS_KEY, PartStore

__all__ = ["ChunkPlan", "bad_parts", "chunk_blocks", "discard_partial_run", "run_chunked"]


@dataclass(frozen=True)
class ChunkPlan:
    """What a chunked run is: its manifest identity (neutral keys) and its chunks.

    Attributes:
        final: the output's (first) final path; parts and manifest are named after it.
        fingerprint: the run fingerprint; ``inputs``: what it covers (compact, to name
            what differs on a refused resume).
        shard: ``"i/N"`` or None; ``range``: the run's ``[lo, hi)`` units.
        chunk_size: the job kind's chunk option value; ``grain``: chunks hold whole grains.
        target: what the output is (format, layout...); ``tasks``: output task names.
        unit, chunk_option: the job kind's unit and chunk option, for messages.
    """

    final: Path
    fingerprint: str | None
    inputs: dict[str, Any]
    shard: str | None
    range: tuple[int, int]
    chunk_size: int
    grain: int
    target: dict[str, Any]
    tasks: list[str]
    unit: str = "windows"
    chunk_option: str = "--chunk-windows"

    def chunks(self) -> list[Chunk]:
        """``(k, lo, hi)`` of every chunk, in order."""
        from grelu_cli.core.shards import chunk_ranges

        lo, hi = self.range
        ranges = chunk_ranges(lo, hi, self.chunk_size, self.grain)
        return [(k, a, b) for k, (a, b) in enumerate(ranges)]

    def identity(self) -> dict[str, Any]:
        """The manifest's identity keys (:data:`grelu_cli.run.resume.IDENTITY`)."""
        return {
            "fingerprint": self.fingerprint,
            INPUTS_KEY: self.inputs,
            "shard": self.shard,
            "range": list(self.range),
            "chunk_size": self.chunk_size,
            "grain": self.grain,
            "target": self.target,
            "tasks": self.tasks,
        }

    def labels(self) -> dict[str, str]:
        """How messages name the keys that depend on the job kind."""
        labels = {"range": f"{self.unit[:-1]} range", "chunk_size": self.chunk_option}
        if self.unit == "records":  # the grain is a group of records (two inputs per SNV)
            labels["grain"] = "record group (--batch-size: chunks hold whole groups)"
        return labels


def bad_parts(store: PartStore) -> list[int]:
    """Committed chunks whose part file does not read back whole: the parquet footer does
    not parse, or its row count differs from the manifest's."""
    import pyarrow.parquet as pq

    bad = []
    for k, rows in sorted(store.done.items()):
        try:
            ok = pq.ParquetFile(store.part(k)).metadata.num_rows == rows
        except Exception:  # any unreadable file: do the chunk again
            ok = False
        if not ok:
            bad.append(k)
    return bad


DeviceRunner = Callable[[list[Chunk], PartStore, Callable[[int, int, int], None]], None]


def run_chunked(
    plan: ChunkPlan,
    work: ChunkedWork,
    observer: RunObserver,
    resume: bool,
    on_devices: DeviceRunner | None = None,
) -> None:
    """Do ``plan``'s chunks into part files (skipping committed ones with ``resume``), then
    stitch them into the final output. ``on_devices(todo, store, on_done)`` does the chunks
    on several devices instead of here."""
    chunks = plan.chunks()
    store = PartStore(plan.final, plan.identity(), len(chunks), resume, plan.labels())
    done = store.open()
    bad = bad_parts(store)
    if bad:
        store.forget(bad)
        observer.warn(
            f"resuming {plan.final}: {len(bad)} committed chunk(s) could not be read back "
            f"(chunks {', '.join(map(str, bad))}); predicting them again",
            count=len(bad),
        )
        done -= len(bad)
    if done:
        observer.info(f"resuming {plan.final}: {done} of {len(chunks)} chunks already done")
    todo = [chunks[k] for k in store.todo()]
    lo, hi = plan.range
    with observer.progress(hi - lo, what=work.unit) as progress:
        already = sum(b - a for k, a, b in chunks if k in store.done)
        if already:
            progress.skip(already)  # the bar and JSON progress count the whole run

        def on_done(k: int, rows: int, n: int) -> None:
            store.commit(k, rows)
            progress.advance(n, bp=work.bases(n))

        if on_devices is None:
            write_parts(work, todo, store.part, on_done)
        elif todo:
            on_devices(todo, store, on_done)
    work.stitch(store)
    store.discard()


def discard_partial_run(first_final: Path) -> None:
    """A run without resume starts again: remove what an interrupted resumable run left."""
    PartStore(first_final, {}, 0, resume=False).discard()
