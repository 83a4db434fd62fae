"""Shards and chunks of a run's windows: contiguous ranges of whole batches.

A run predicts windows ``0 .. W-1`` in input order, in model batches of ``B`` windows counted
from window 0 (batch ``k`` holds windows ``[k*B, (k+1)*B)``; the last one may be shorter).
``--shard i/N`` takes the ``i``-th of ``N`` contiguous, balanced ranges of whole batches (sizes
differ by at most one batch; the first shards get the extra batch). Inside a shard, resumable
and multi-device runs cut the range into chunks of whole batches (the unit that is committed to
disk, resumed, or handed to a device).

Why whole batches: on these CPUs (torch 2.13, oneDNN) the same window can give results that
differ in the last bit depending on the size of the batch it is computed in. With every
boundary on a batch boundary, each window sits in the same batch in a plain, sharded, resumed
or chunked run, so all of them give identical bits, and no window is ever computed twice
(the earlier design padded small batches with copies: 8x the work for one-window batches).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grelu_cli.errors import UsageError

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based), as given by ``--shard index/count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``"2/8"`` -> ``Shard(2, 8)``; UsageError (exit 2) for anything else."""
    m = _SHARD.match(text)
    if m is None:
        raise UsageError(
            f"--shard {text!r} is not of the form i/N",
            fix="pass --shard i/N with 0 <= i < N, e.g. --shard 0/4",
        )
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1:
        raise UsageError(f"--shard {text!r}: N must be at least 1", fix="e.g. --shard 0/4")
    if index >= count:
        raise UsageError(
            f"--shard {text!r}: shard index {index} is not below N={count} (indices are 0-based)",
            fix=f"use --shard 0/{count} .. --shard {count - 1}/{count}",
        )
    return Shard(index, count)


def shard_range(total: int, shard: Shard | None, batch: int = 1) -> tuple[int, int]:
    """Window range ``[lo, hi)`` of ``shard`` over ``total`` windows (all of them for None).

    Shards hold whole batches of ``batch`` windows (see the module docstring): the
    ``ceil(total / batch)`` batches are split into ``shard.count`` balanced parts, so ``lo``
    is a multiple of ``batch`` and only the run's last shard may end inside a batch. With
    fewer batches than shards, the last shards are empty.
    """
    if batch < 1:
        raise ValueError(f"batch size {batch}; must be >= 1")
    if shard is None:
        return 0, total
    n_batches = -(-total // batch)
    q, r = divmod(n_batches, shard.count)
    first = shard.index * q + min(shard.index, r)
    last = first + q + (1 if shard.index < r else 0)
    return min(first * batch, total), min(last * batch, total)


def chunk_ranges(lo: int, hi: int, size: int, batch: int = 1) -> list[tuple[int, int]]:
    """``[lo, hi)`` cut into consecutive ranges of about ``size`` windows (the last may be
    shorter). ``size`` is rounded up to whole batches of ``batch`` windows, so that with ``lo``
    on a batch boundary every chunk starts on one."""
    if size < 1 or batch < 1:
        raise ValueError(f"chunk size {size}, batch size {batch}; both must be >= 1")
    size = -(-size // batch) * batch
    return [(a, min(a + size, hi)) for a in range(lo, hi, size)]


def interleave(n_items: int, n_workers: int) -> list[list[int]]:
    """Item ``k`` goes to worker ``k % n_workers``: balanced work, each worker's items in order."""
    return [list(range(w, n_items, n_workers)) for w in range(n_workers)]
