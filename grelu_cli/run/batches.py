"""How a run's windows are cut into model batches, and blocks made from the outputs.

The one place that decides batch shapes. Batch ``k`` of a run holds windows
``[k*B, (k+1)*B)`` counted from the run's first window, where ``B`` is :func:`run_batch_size`;
shards and chunks start on batch boundaries (:func:`grelu_cli.core.shards.shard_range`,
:func:`~grelu_cli.core.shards.chunk_ranges`). So a window is computed in the same batch, of the
same size, in a plain, sharded, resumed or chunked run: on these CPUs (torch 2.13, oneDNN) a
window's outputs can differ in the last bit with the size of its batch, and this keeps merged
shards and resumed outputs identical to one plain run without computing any window twice.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from grelu_cli.core.block import Block
from grelu_cli.core.window import Window

if TYPE_CHECKING:
    import torch

    from grelu_cli.genome.inputs import PreparedInput
    from grelu_cli.predict.loop import Predictor


def run_batch_size(batch_size: int | str, device_type: str, seq_len: int) -> int:
    """Windows per model batch for a whole run: ``--batch-size``, or ``auto``'s starting size
    on ``device_type`` (``"cpu"`` | ``"cuda"``). What the predictor's loader uses, and the grain
    of shard and chunk boundaries; a run with several devices uses its workers' device type.
    (``auto`` may halve the forward pass on out-of-memory; the loader's batches stay.)"""
    from grelu_cli.predict.batch_size import CUDA_AUTO_START, cpu_auto_size, parse_batch_size

    n = parse_batch_size(batch_size)
    if n is not None:
        return n
    return CUDA_AUTO_START if device_type == "cuda" else cpu_auto_size(seq_len)


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
    from grelu_cli.predict.loader import input_layout, make_loader

    cuda = predictor.device.type == "cuda"
    dtype, channels_last = input_layout(predictor.device.type)
    workers = num_workers if num_workers is not None else default_workers(predictor.device.type)
    return make_loader(
        inp.plan,
        inp.sequences,
        lo=lo,
        hi=hi,
        batch_size=predictor.sizer.size,
        num_workers=workers,
        pin_memory=cuda,
        dtype=dtype,
        flank=predictor.flank,
        channels_last=channels_last,
    )


def predicted_blocks(
    inp: PreparedInput, predictor: Predictor, lo: int, hi: int, num_workers: int | None
) -> Iterator[Block]:
    """Writer blocks of windows ``[lo, hi)``, in input order: one per batch of
    ``predictor.sizer.size`` windows counted from ``lo`` (a batch boundary, see above)."""
    yield from predictor.blocks(window_batches(inp, predictor, lo, hi, num_workers))


def predicted_arrays(
    inp: PreparedInput, predictor: Predictor, lo: int, hi: int, num_workers: int | None
) -> Iterator[tuple[list[Window], object]]:
    """``(windows, values: (N, T, B) float32)`` per batch, for notebooks (no files)."""
    for block in predicted_blocks(inp, predictor, lo, hi, num_workers):
        yield block.windows, block.values
