"""How many windows go through the model at once, and backing off on out-of-memory.

``--batch-size N`` is the number of windows per forward call (each augmented copy is its own
call of N windows). ``--batch-size auto`` starts large on CUDA and halves on
``torch.OutOfMemoryError``, retrying the failed windows, until a size fits (it is kept for the
rest of the run); at size 1 it gives up with :class:`grelu_cli.errors.OutOfMemoryError`. On the
CPU ``auto`` is about ``CPU_AUTO_BP`` input bases per forward call (at most ``CPU_AUTO``
windows): 128 windows of 2 kb, 32 of 8 kb, one Enformer or Borzoi window. Measured on 2 cores
(benchmarks/README.md), 128 x 2 kb spends less time per window in per-call overhead than 64 and
keeps activations of a few hundred MB; larger inputs only add memory.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TYPE_CHECKING

from grelu_cli.errors import OutOfMemoryError, UsageError

if TYPE_CHECKING:
    import torch

CUDA_AUTO_START = 1024
CPU_AUTO = 128
CPU_AUTO_BP = 128 * 2048
#: On the CPU, ``auto`` also keeps one forward call's attention logits under this many bytes.
#: Relative-position attention materialises (N, H, P, 2P) float32 logits: gReLU's default
#: ConvTransformerModel (one head over 2,048 positions) holds 4.3 GB of them at 128 windows
#: and runs 3.5x slower per window than at 4-16 windows, whose logits stay near the caches
#: (benchmarks/README.md).
CPU_ATTENTION_BYTES = 256 << 20


def cpu_auto_size(seq_len: int | None, attention_bytes: int = 0) -> int:
    """``--batch-size auto`` on the CPU: ``CPU_AUTO_BP // seq_len`` windows, 1..``CPU_AUTO``,
    and no more than ``CPU_ATTENTION_BYTES // attention_bytes`` when one window's attention
    logits take ``attention_bytes`` (see :func:`attention_logit_bytes`)."""
    size = CPU_AUTO if not seq_len or seq_len < 1 else CPU_AUTO_BP // int(seq_len)
    if attention_bytes > 0:
        size = min(size, CPU_ATTENTION_BYTES // int(attention_bytes))
    return max(1, min(CPU_AUTO, size))


def attention_logit_bytes(model: torch.nn.Module, positions: int) -> int:
    """Bytes of float32 attention logits one window needs in the largest relative-position
    attention layer of ``model``: ``heads * positions * 2 * positions * 4``.

    ``positions`` is the sequence length the attention sees; the output length
    (``seq_len // bin_size``) is used, which is exact for Enformer and ConvTransformer and an
    overestimate where attention runs coarser than the output (Borzoi: one window per batch
    anyway). Fused attention without position logits (``FlashAttention``) counts nothing.
    """
    from grelu_cli.model.attention import Attention, EnformerAttention

    heads = [
        int(getattr(m, "n_heads", None) or getattr(m, "heads", 0) or 0)
        for m in model.modules()
        if isinstance(m, (Attention, EnformerAttention))
    ]
    return max(heads, default=0) * int(positions) * 2 * int(positions) * 4


def parse_batch_size(value: int | str) -> int | None:
    """``--batch-size``: a positive int, or None for ``auto``."""
    if isinstance(value, str):
        v = value.strip().lower()
        if v == "auto":
            return None
        if not v.isdigit():
            raise UsageError(
                f"--batch-size {value!r} is not a positive integer or 'auto'",
                fix="use e.g. --batch-size 64 or --batch-size auto",
            )
        value = int(v)
    if int(value) < 1:
        raise UsageError(
            f"--batch-size {value} must be at least 1", fix="use --batch-size 1 or more"
        )
    return int(value)


def _oom_types() -> tuple[type[BaseException], ...]:
    import torch

    types: list[type[BaseException]] = [torch.cuda.OutOfMemoryError]
    if hasattr(torch, "OutOfMemoryError"):
        types.append(torch.OutOfMemoryError)
    return tuple(types)


class BatchSizer:
    """Runs work over ``n`` windows in chunks, halving the chunk on OOM when ``auto``.

    Args:
        batch_size: windows per chunk, or None for ``auto``.
        device: where the model runs (sets ``auto``'s starting size).
        seq_len: input length per window (sets ``auto``'s size on the CPU).
        attention_bytes: one window's attention logits (caps ``auto`` on the CPU).
    """

    def __init__(
        self,
        batch_size: int | None,
        device: torch.device,
        seq_len: int | None = None,
        attention_bytes: int = 0,
    ) -> None:
        self.auto = batch_size is None
        self.device = device
        if batch_size is None:
            batch_size = (
                CUDA_AUTO_START
                if device.type == "cuda"
                else cpu_auto_size(seq_len, attention_bytes)
            )
        self.size = int(batch_size)
        self.oom = _oom_types()

    def cap(self, most: int) -> int | None:
        """Lower ``auto``'s starting size to at most ``most`` windows (a shard's share of a
        small run, so that every shard gets work). Returns the size it had when it was
        lowered, else None (a fixed ``--batch-size`` is never changed)."""
        if not self.auto or self.size <= most:
            return None
        before, self.size = self.size, max(1, int(most))
        return before

    def run(self, n: int, work: Callable[[int, int], None]) -> None:
        """Call ``work(i, j)`` for consecutive chunks ``[i, j)`` covering ``0..n``.

        ``work`` must be safe to repeat for the same chunk (it is, when it writes results
        into its own slots). Raises :class:`OutOfMemoryError` (exit 5) when a chunk does not
        fit and the size cannot shrink (a fixed ``--batch-size``, or ``auto`` at 1).
        """
        i = 0
        while i < n:
            j = min(n, i + self.size)
            failed: str | None = None
            try:
                work(i, j)
            except self.oom as e:
                failed = (str(e).splitlines() or ["out of memory"])[0]
            if failed is None:
                i = j
                continue
            # Outside the except block the exception (and the failed chunk's activations its
            # traceback holds) is gone, so the memory can really be released.
            self._free()
            if not self.auto:
                raise OutOfMemoryError(
                    f"{self.device} ran out of memory at --batch-size {j - i}: {failed}",
                    fix="use a smaller --batch-size, or --batch-size auto",
                )
            if j - i <= 1:
                raise OutOfMemoryError(
                    f"{self.device} ran out of memory with one window per batch: {failed}",
                    fix="use a shorter --seq-len, fewer tasks (--tasks), --precision bf16, "
                    "or a device with more memory",
                )
            self.size = max(1, (j - i) // 2)

    def _free(self) -> None:
        # The exception's traceback holds the failed chunk's activations; drop them first.
        gc.collect()
        if self.device.type == "cuda":
            import torch

            torch.cuda.empty_cache()
