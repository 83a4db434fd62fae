"""One worker process per device: ``--devices cuda:0,cuda:1`` (or ``all``, or ``cpu,cpu``).

:func:`parse_devices` turns the option into device names; :func:`run_workers` starts one
``spawn`` process per device (CUDA cannot be used in forked children) running ``target(job,
queue)`` and relays the messages the workers put on the queue to ``on_message`` in the
parent, which alone writes the manifest and the progress. Workers report failures as
``("error", exit_code, line)``; the first failure stops the others and is raised here with
the worker's exit code. What the workers compute and how results are ordered is the
caller's business (see :mod:`grelu_cli.run.workers`: interleaved chunks written as
part files, stitched in input order).
"""

from __future__ import annotations

import queue as _queue
import re
from collections.abc import Callable, Sequence
from typing import Any

from grelu_cli.errors import GreluCliError, MissingResourceError, UsageError

_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")


class WorkerError(GreluCliError):
    """A device worker failed; carries the exit code of the worker's error class."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def parse_devices(text: str) -> list[str]:
    """``"cuda:0,cuda:1"`` -> ``["cuda:0", "cuda:1"]``; ``"all"`` -> every visible GPU.

    ``cpu`` entries are allowed (one CPU worker process each), mainly for testing. A bare
    ``cuda`` means ``cuda:0``. Repeated CUDA devices are an error.
    """
    text = text.strip()
    if text == "all":
        import torch

        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0:
            raise MissingResourceError(
                "--devices all: no CUDA device is visible",
                fix="run on a GPU node, or use --device cpu",
            )
        return [f"cuda:{i}" for i in range(n)]
    devices = [d.strip() for d in text.split(",") if d.strip()]
    if not devices:
        raise UsageError(f"--devices {text!r} names no device", fix="e.g. --devices cuda:0,cuda:1")
    for d in devices:
        if not _DEVICE.match(d):
            raise UsageError(
                f"--devices: {d!r} is not cpu, cuda or cuda:N",
                fix="e.g. --devices cuda:0,cuda:1 or --devices all",
            )
    devices = ["cuda:0" if d == "cuda" else d for d in devices]
    gpus = [d for d in devices if d != "cpu"]
    if len(set(gpus)) != len(gpus):
        raise UsageError(
            f"--devices {text!r} names a GPU twice", fix="give each GPU once: cuda:0,cuda:1"
        )
    return devices


def run_workers(
    target: Callable[[Any, Any], None],
    jobs: Sequence[Any],
    on_message: Callable[[tuple[Any, ...]], None],
    poll_s: float = 0.2,
) -> None:
    """Run ``target(job, queue)`` in one spawned process per job; relay messages until all end.

    Raises :class:`WorkerError` for the first ``("error", code, line)`` message, or when a
    worker dies without a word (killed, crashed: exit code 1).
    """
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=target, args=(job, q), daemon=False) for job in jobs]
    for p in procs:
        p.start()
    try:
        while True:
            try:
                msg = q.get(timeout=poll_s)
            except _queue.Empty:
                if all(not p.is_alive() for p in procs):
                    _drain(q, on_message)
                    bad = [p for p in procs if p.exitcode != 0]
                    if bad:
                        raise WorkerError(
                            f"device worker {procs.index(bad[0])} died (exit {bad[0].exitcode})",
                            exit_code=1,
                        ) from None
                    return
                continue
            if msg[0] == "error":
                raise WorkerError(str(msg[2]), exit_code=int(msg[1]))
            on_message(msg)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=10)


def _drain(q: Any, on_message: Callable[[tuple[Any, ...]], None]) -> None:
    while True:
        try:
            msg = q.get_nowait()
        except _queue.Empty:
            return
        if msg[0] == "error":
            raise WorkerError(str(msg[2]), exit_code=int(msg[1]))
        on_message(msg)


def check_devices(devices: list[str], option: str) -> None:
    """Every device in ``devices`` exists here (before a run creates any file)."""
    from grelu_cli.predict.device import check_device

    for d in devices:
        check_device(d, "--devices", given=option)  # exit 4 for a GPU this machine lacks
