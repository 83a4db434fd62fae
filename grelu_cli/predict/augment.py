"""Test-time augmentation (``--rc``, ``--shifts N``) as gReLU 1.1.0's ``SeqDataset`` does it.

gReLU makes ``(2 if rc else 1) * (2 * N + 1)`` copies of each window, rc-major: copy ``a`` has
``rc = a // (2N + 1)`` and offset ``k = a % (2N + 1)``. Its input is ``padded[k : k + L]`` of the
window widened by ``N`` bases on both sides (real genome flanks, read like the window itself;
already reverse-complemented for '-' windows), then reverse-complemented when ``rc``. So
``k = N`` is the unshifted window and the shifts are ``-N..+N`` bp. The predictor therefore
needs inputs of length ``L + 2N`` (the loader's flank).

After the model (and activation), outputs of rc copies are flipped back along length; shifted
outputs are averaged bin by bin *without* re-aligning for the shift (gReLU does not either;
shifts are meant to be smaller than a bin). Our one addition: when the model's tasks have
strand pairs, rc copies also swap each stranded track with its partner before averaging,
because the reverse complement of a '+' strand signal is the '-' strand signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Augmentation:
    """One augmented copy: reverse-complemented or not, and its offset into the flanked input."""

    rc: bool
    offset: int


def augmentations(rc: bool, shifts: int) -> list[Augmentation]:
    """The copies in gReLU's order (rc-major, offsets ``0..2 * shifts``)."""
    if shifts < 0:
        raise ValueError(f"shifts must be >= 0, got {shifts}")
    offsets = range(2 * shifts + 1)
    return [Augmentation(r, k) for r in ((False, True) if rc else (False,)) for k in offsets]


def augment(x: torch.Tensor, aug: Augmentation, seq_len: int) -> torch.Tensor:
    """x: (N, 4, seq_len + 2 * shifts) flanked one-hot -> (N, 4, seq_len) model input."""
    x = x[..., aug.offset : aug.offset + seq_len]
    # one-hot A, C, G, T: the complement reverses the channel order.
    return x.flip((1, 2)) if aug.rc else x


def swap_strands(y: torch.Tensor, aug: Augmentation, swap: Sequence[int] | None) -> torch.Tensor:
    """Swap each stranded track of an rc copy's output (N, T, L) with its partner.

    The flip back along bins is left to the caller, which combines it with the flip of
    '-' strand windows (an rc copy of a '-' window needs none) and skips it for aggregates.
    """
    if not aug.rc or swap is None:
        return y
    return y[:, list(swap)]
