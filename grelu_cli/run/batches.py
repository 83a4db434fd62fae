"""How a run's windows are cut into model batches, and blocks made from the outputs.

The one place that decides batch shapes (issue 13 will align shard and chunk boundaries with
batch boundaries here instead of padding).

Batches of fewer than :data:`MIN_BATCH` windows, or of an odd number, are padded with copies
of their first window (the copies' outputs are dropped). Measured on these CPUs (torch 2.13,
oneDNN): a batch of an odd size gives results that differ in the last bit from the same
windows in an even-sized batch. A shard, chunk or input tail must give the same values as the
same windows inside a full batch, so that sharded + merged and resumed outputs equal one
plain run exactly.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from grelu_cli.core.block import Block
from grelu_cli.core.window import Window

if TYPE_CHECKING:
    import torch

    from grelu_cli.genome.inputs import PreparedInput
    from grelu_cli.predict.loop import Predictor

MIN_BATCH = 8


def default_workers(device_type: str) -> int:
    """Reader processes: none on small CPU-only machines (they would compete with the
    model's threads), a few when a GPU does the compute."""
    cores = os.cpu_count() or 1
    if device_type == "cuda":
        return max(1, min(4, cores - 1))
    return 0 if cores <= 2 else min(2, cores // 4)


def window_batches(
    inp: PreparedInput, predictor: Predictor, lo: int, hi: int, num_workers: int | None
) -> Iterable[tuple[torch.Tensor, list[Window]]]:
    """``(x: (N, 4, L + 2 * flank), windows)`` batches of windows ``[lo, hi)``, in order."""
    from grelu_cli.predict.loader import make_loader

    cuda = predictor.device.type == "cuda"
    workers = num_workers if num_workers is not None else default_workers(predictor.device.type)
    return make_loader(
        inp.plan,
        inp.sequences,
        lo=lo,
        hi=hi,
        batch_size=predictor.sizer.size,
        num_workers=workers,
        pin_memory=cuda,
        dtype="uint8" if cuda else "float32",
        flank=predictor.flank,
        # The CPU model's convolutions read position-major input (model/cpu_conv.py).
        channels_last=not cuda,
    )


def pad_small(
    batches: Iterable[tuple[torch.Tensor, list[Window]]], sizes: deque[int]
) -> Iterator[tuple[torch.Tensor, list[Window]]]:
    """Pad small and odd batches (see the module docstring); record each true size."""
    import torch

    for x, windows in batches:
        n = len(windows)
        sizes.append(n)
        if n > 0 and (n < MIN_BATCH or n % 2):
            extra = max(MIN_BATCH, n + 1) - n
            x = torch.cat([x, x[:1].expand(extra, *x.shape[1:])])
            windows = list(windows) + [windows[0]] * extra
        yield x, windows


def predicted_blocks(
    inp: PreparedInput, predictor: Predictor, lo: int, hi: int, num_workers: int | None
) -> Iterator[Block]:
    """Writer blocks of windows ``[lo, hi)``, in input order (padding copies dropped)."""
    sizes: deque[int] = deque()
    batches = pad_small(window_batches(inp, predictor, lo, hi, num_workers), sizes)
    layout = predictor.layout
    for values, windows in predictor.predict(batches):
        n = sizes.popleft()
        yield layout.block(values[:n], windows[:n])


def predicted_arrays(
    inp: PreparedInput, predictor: Predictor, lo: int, hi: int, num_workers: int | None
) -> Iterator[tuple[list[Window], object]]:
    """``(windows, values: (N, T, B) float32)`` per batch, for notebooks (no files)."""
    for block in predicted_blocks(inp, predictor, lo, hi, num_workers):
        yield block.windows, block.values
