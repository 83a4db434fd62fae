"""What one device worker process does: build the run on its device, predict its chunks.

Spawned by :func:`grelu_cli.run.devices.run_workers`; imports only library modules. Each
worker reports ``("done", chunk, rows, windows)`` per part file and ``("error", exit_code,
line)`` on failure; the parent writes the manifest and the progress.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grelu_cli.run.config import PredictJob
from grelu_cli.run.parts import Chunk, TrackParts, write_parts
from grelu_cli.run.resume import PartStore


@dataclass(frozen=True)
class WorkerShare:
    """One device worker's share of a run: predict ``chunks`` (index, lo, hi) into ``parts``."""

    job: PredictJob  # with this worker's device
    chunks: list[Chunk]
    parts: dict[int, str]  # chunk -> part file
    layout: str
    fingerprint: str

    @property
    def device(self) -> str:
        """The worker's device."""
        return self.job.run.device


def device_worker(share: WorkerShare, queue: Any) -> None:
    """Entry point of one device worker process (spawned): set up, predict, report."""
    from grelu_cli.errors import describe_error
    from grelu_cli.run.build import build_run

    try:
        run = build_run(share.job)
        work = TrackParts(run, share.layout, share.fingerprint)
        write_parts(
            work,
            share.chunks,
            lambda k: Path(share.parts[k]),
            lambda k, rows, n: queue.put(("done", k, rows, n)),
        )
    except BaseException as err:  # every failure goes back to the parent
        line, code = describe_error(err)
        queue.put(("error", code, line))


def worker_jobs(
    job: PredictJob,
    devices: list[str],
    chunks: list[Chunk],
    store: PartStore,
    layout: str,
    fingerprint: str,
) -> list[WorkerShare]:
    """Interleave ``chunks`` over ``devices``: chunk ``j`` of the list to device ``j mod D``."""
    from grelu_cli.core.shards import interleave

    shares = []
    for d, picks in zip(devices, interleave(len(chunks), len(devices)), strict=True):
        mine = [chunks[j] for j in picks]
        if not mine:
            continue
        sub = replace(job, run=replace(job.run, device=d, devices=None))
        parts = {k: str(store.part(k)) for k, _, _ in mine}
        shares.append(WorkerShare(sub, mine, parts, layout, fingerprint))
    return shares
