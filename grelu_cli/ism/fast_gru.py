"""Fast ISM through a bidirectional GRU block (ConvGRUModel): each direction runs only over
the positions whose hidden state the mutation can change.

The forward direction's state at position t depends on inputs ``0..t`` only, the backward
direction's on inputs ``t..L-1``. A batch of mutants whose inputs differ from the reference
on ``[s, e)`` (the union of their windows) therefore has the reference's forward states before
``s`` and backward states from ``e`` on. Each direction is run from there, starting from the
reference's state at the boundary (the same recurrence, so the same arithmetic), over about
half the length when the mutated positions are central: half the GRU's cost. The directions'
sum and the feed-forward block (position-wise) then run on the whole length.

Served: :class:`grelu_cli.model.blocks.GRUBlock` with one bidirectional layer (gReLU's
``n_gru=1`` default); anything else is refused by the compiler (:mod:`.fast`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from grelu_cli.ism.fast_steps import Patch, Ref, Step, window


def _direction(gru: nn.GRU, suffix: str) -> nn.GRU:
    """One direction of ``gru`` as a unidirectional GRU sharing its parameters."""
    one = nn.GRU(
        gru.input_size,
        gru.hidden_size,
        batch_first=True,
        bias=gru.bias,
        device=gru.weight_ih_l0.device,
        dtype=gru.weight_ih_l0.dtype,
    )
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        if hasattr(gru, f"{name}_l0{suffix}"):
            setattr(one, f"{name}_l0", getattr(gru, f"{name}_l0{suffix}"))
    return one.eval()


def gru_servable(block: Any) -> bool:
    """Whether :class:`GRUStep` serves ``block`` (one bidirectional, batch-first layer)."""
    gru = getattr(block, "gru", None)
    return (
        isinstance(gru, nn.GRU)
        and type(gru) is nn.GRU
        and gru.num_layers == 1
        and gru.bidirectional
        and gru.batch_first
        and not gru.training
        and gru.proj_size == 0
    )


class GRUStep(Step):
    """A :class:`~grelu_cli.model.blocks.GRUBlock`: (N, C, L) -> (N, C, L), whole output."""

    def __init__(self, block: Any) -> None:
        self.block = block
        self.forward_gru = _direction(block.gru, "")
        self.backward_gru = _direction(block.gru, "_reverse")
        self.hidden = int(block.gru.hidden_size)
        self.ref: Ref | None = None
        self.states: Tensor | None = None  # (L, 2H) reference GRU output

    def _tail(self, out: Tensor) -> Tensor:
        """GRUBlock.forward after the GRU: directions summed, feed-forward, (N, C, L)."""
        h = self.hidden
        return self.block.ffn(out[:, :, :h] + out[:, :, h:]).transpose(1, 2)

    def full(self, x: Tensor) -> Tensor:
        self.ref = Ref(x)
        out = self.block.gru(x.transpose(1, 2))[0]  # (1, L, 2H)
        self.states = out[0]
        return self._tail(out)

    def patch(self, p: Patch) -> Patch:
        assert self.ref is not None and self.states is not None, "full() first"
        b, length, h = int(p.seg.shape[0]), p.length, self.hidden
        lo = int(p.start.min())
        hi = int((p.start + p.width).max())
        zero = torch.zeros_like(p.start)
        states = self.states
        # Forward direction over [lo, L), from the reference state at lo - 1.
        x_f = window(self.ref, p, zero + lo, length - lo).transpose(1, 2)  # (B, L - lo, C)
        h0 = states[lo - 1, :h] if lo > 0 else states.new_zeros(h)
        fwd = self.forward_gru(x_f, h0.expand(1, b, h).contiguous())[0]
        # Backward direction over [0, hi), from the reference state at hi.
        x_b = window(self.ref, p, zero, hi).transpose(1, 2).flip(1)  # (B, hi, C) reversed
        h0 = states[hi, h:] if hi < length else states.new_zeros(h)
        bwd = self.backward_gru(x_b, h0.expand(1, b, h).contiguous())[0].flip(1)
        out = states.new_empty((b, length, 2 * h))
        out[:, :lo, :h] = states[:lo, :h]
        out[:, lo:, :h] = fwd
        out[:, :hi, h:] = bwd
        out[:, hi:, h:] = states[hi:, h:]
        return Patch(self._tail(out), zero, length)
