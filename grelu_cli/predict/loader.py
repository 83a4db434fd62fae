"""Batches of one-hot windows for the model, read and encoded in DataLoader workers.

:func:`make_loader` wraps a :class:`WindowBatches` dataset (one item = one whole batch) in a
``torch.utils.data.DataLoader`` with ``batch_size=None``. Items are batch numbers, so the
DataLoader's own ordering guarantees batches come out in input order whatever
``num_workers`` is, and each worker handles whole batches (batch ``b`` goes to worker
``b % num_workers``). Only the window range's batch boundaries are precomputed; windows are
built, read and encoded when their batch is asked for, so memory stays flat in the number of
regions. Each worker opens the genome/FASTA once, lazily.

dtype: ``float32`` (default) gives the model its input directly. ``uint8`` makes batches 4x
smaller to move to a GPU; the caller then converts on the device with
``x.to(device, non_blocking=True).float()`` (values are exactly 0/1 either way).

channels_last: lay each batch out position-major in memory, an (N, L, 4) array seen as
(N, 4, L) (``x.stride(1) == 1``). That is the layout the CPU model's channels-last
convolutions read (:mod:`grelu_cli.model.cpu_conv`), so the stem needs no layout copy, and the
encoder writes it in one table lookup. Same shape and values either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np

from grelu_cli.core.window import Window
from grelu_cli.genome.plan import WindowPlan
from grelu_cli.genome.sequence import WindowSequences

if TYPE_CHECKING:
    import torch

_DTYPES = {"float32": np.float32, "uint8": np.uint8}


class WindowBatches:
    """Map-style dataset: item ``b`` is batch ``b`` of the windows ``[lo, hi)``.

    A plain class (DataLoader needs only ``__len__``/``__getitem__``), so importing this
    module does not import torch.

    Returns ``(x, windows)``: ``x`` is a ``(N, 4, L + 2 * flank)`` tensor (A, C, G, T
    channels, '-' strand windows already reverse-complemented, ``flank`` extra context bases
    on each side for shift augmentation) and ``windows`` the N :class:`Window`s in input
    order.
    """

    def __init__(
        self,
        plan: WindowPlan,
        sequences: WindowSequences,
        lo: int = 0,
        hi: int | None = None,
        batch_size: int = 32,
        dtype: str = "float32",
        flank: int = 0,
        channels_last: bool = False,
    ) -> None:
        if dtype not in _DTYPES:
            raise ValueError(f"dtype {dtype!r}; expected one of {sorted(_DTYPES)}")
        hi = plan.count() if hi is None else hi
        self.plan = plan
        self.sequences = sequences
        self.lo, self.hi = lo, hi
        self.dtype = dtype
        self.flank = flank
        self.channels_last = channels_last
        self.bounds = plan.batch_bounds(lo, hi, batch_size)

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def windows(self, b: int) -> list[Window]:
        """The windows of batch ``b``."""
        return self.plan.window_list(int(self.bounds[b]), int(self.bounds[b + 1]))

    def __getitem__(self, b: int) -> tuple[torch.Tensor, list[Window]]:
        import torch

        if not 0 <= b < len(self):
            raise IndexError(b)
        wins = self.windows(b)
        length = wins[0].length + 2 * self.flank
        x = new_batch(len(wins), length, getattr(torch, self.dtype), self.channels_last)
        self.sequences.encode(wins, out=x.numpy(), flank=self.flank)
        return x, wins


def input_layout(device_type: str) -> tuple[str, bool]:
    """How model inputs are laid out for ``device_type``: ``(dtype, channels_last)``. On a
    GPU uint8 (4x less to copy; converted on the device); on the CPU float32 position-major
    (what its channels-last convolutions read, model/cpu_conv.py). Windows (the loader)
    and alleles (the variant scorer) are batched the same way."""
    return ("uint8", False) if device_type == "cuda" else ("float32", True)


def new_batch(n: int, length: int, dtype: torch.dtype, channels_last: bool) -> torch.Tensor:
    """An empty (n, 4, length) tensor (position-major memory when ``channels_last``); in a
    worker, allocated straight in shared memory so handing it to the main process copies
    nothing (torch's default_collate does the same, with the same storage calls)."""
    import torch
    from torch.utils.data import get_worker_info

    shape = (n, length, 4) if channels_last else (n, 4, length)
    if get_worker_info() is None:
        x = torch.empty(shape, dtype=dtype)
    else:
        storage = torch.empty(0, dtype=dtype)._typed_storage()._new_shared(n * 4 * length)
        x = torch.empty(0, dtype=dtype).new(storage).view(*shape)
    return x.transpose(1, 2) if channels_last else x


def _identity(item: Any) -> Any:
    return item


def make_loader(
    plan: WindowPlan,
    sequences: WindowSequences,
    *,
    lo: int = 0,
    hi: int | None = None,
    batch_size: int = 32,
    num_workers: int = 0,
    pin_memory: bool = False,
    dtype: str = "float32",
    prefetch_factor: int | None = None,
    flank: int = 0,
    multiprocessing_context: str | None = None,
    channels_last: bool = False,
) -> torch.utils.data.DataLoader:
    """DataLoader yielding ``(x: (N, 4, L) tensor, windows: list[Window])`` in input order.

    Args:
        plan: the window plan; ``lo``/``hi`` select windows ``[lo, hi)`` (a shard).
        sequences: the window reader (from :func:`grelu_cli.genome.inputs.prepare_input`).
        batch_size: windows per batch (as-is plans also break batches where lengths change).
        num_workers: worker processes reading and encoding (0 = in this process).
        pin_memory: page-locked batches for faster, asynchronous copies to a GPU.
        dtype: "float32" or "uint8" (see the module docstring).
        prefetch_factor: batches each worker keeps ready (torch's default when None).
        flank: context bases added on each side, in model orientation, for ``--shifts``:
            the shift-``d`` view of row i is ``x[i, :, flank + d : flank + d + L]``, as in
            gReLU's ``max_seq_shift`` (genome bases; N for FASTA records).
        multiprocessing_context: "fork", "spawn" or "forkserver" for the workers (Python's
            default when None); everything the workers need pickles.
        channels_last: position-major batches (see the module docstring).
    """
    from torch.utils.data import DataLoader

    ds = WindowBatches(plan, sequences, lo, hi, batch_size, dtype, flank, channels_last)
    kwargs: dict[str, Any] = {}
    if num_workers > 0:
        kwargs["persistent_workers"] = False
        if prefetch_factor is not None:
            kwargs["prefetch_factor"] = prefetch_factor
        if multiprocessing_context is not None:
            kwargs["multiprocessing_context"] = multiprocessing_context
    return DataLoader(
        cast(Any, ds),  # an IterableDataset subclass torch's stubs do not see through
        batch_size=None,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=pin_memory,
        collate_fn=_identity,
        **kwargs,
    )
