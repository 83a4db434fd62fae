"""Pooling over positions on position-major ("channels-last") activations, without copies.

After :func:`~grelu_cli.model.inference.optimize_for_inference`, convolution outputs are
(N, C, L) tensors whose memory is position-major (``stride(1) == 1``: the layout oneDNN's fast
kernels write). ``max_pool1d`` does not take that layout: it first copies the whole activation
to channel-major and back. In a full Borzoi forward (524,288 bp, 2 cores) those copies were
12 of 14 s spent in max pooling, 10% of the forward.

* :class:`ChannelsLastMaxPool1d`: ``nn.MaxPool1d`` (same module, same state) whose forward,
  for a position-major input and plain windows (kernel == stride, no padding, dilation 1, no
  ceil mode or indices), takes the maximum over each window as an elementwise maximum of
  strided views of the (N, L, C) memory: one pass, output position-major too. Max is exact
  and NaN propagates as in ``max_pool1d``.
* :func:`attention_pool_pairs`: Enformer's attention pooling with pool size 2 on the same
  layout: the 1x1 logits as one matmul over channels, and the softmax over a pair as a
  sigmoid of the logit difference, ``x1 + sigmoid(l0 - l1) * (x0 - x1)``, instead of a
  reshape to (N, C, L/2, 2) (a full copy for position-major memory), a 2-D conv and a
  softmax over an axis of length 2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ChannelsLastMaxPool1d", "attention_pool_pairs", "position_major"]


def position_major(x: Tensor) -> Tensor | None:
    """``x`` (N, C, L) as its (N, L, C) contiguous transpose, or None if its memory is not
    position-major."""
    if x.ndim != 3:
        return None
    xt = x.transpose(1, 2)
    return xt if xt.is_contiguous() else None


class ChannelsLastMaxPool1d(nn.MaxPool1d):
    """``nn.MaxPool1d`` with a copy-free path for position-major inputs (module docstring).

    (N, C, L) -> (N, C, L // k) with position-major strides; any other input or setting runs
    the plain ``max_pool1d``.
    """

    def _window(self) -> int | None:
        """The window size when pooling is plain non-overlapping windows, else None."""

        def one(v: int | tuple[int, ...]) -> int:
            return v if isinstance(v, int) else (v[0] if len(v) == 1 else -1)

        k = one(self.kernel_size)
        stride = one(self.stride) if self.stride is not None else k
        if (
            k < 1
            or stride != k
            or one(self.padding) != 0
            or one(self.dilation) != 1
            or self.ceil_mode
            or self.return_indices
        ):
            return None
        return k

    def forward(self, x: Tensor) -> Tensor:
        k = self._window()
        xt = position_major(x) if k is not None else None
        if (
            k is None
            or xt is None
            or x.shape[1] == 1
            or (torch.is_grad_enabled() and x.requires_grad)
        ):
            return super().forward(x)
        n, length, c = xt.shape
        out_len = length // k
        win = xt[:, : out_len * k].reshape(n, out_len, k, c)  # a view: (N, L/k, k, C)
        if k == 2:
            y = torch.maximum(win[:, :, 0], win[:, :, 1])
        else:
            y = win.amax(dim=2)
        return y.transpose(1, 2)


def attention_pool_pairs(x: Tensor, weight: Tensor) -> Tensor | None:
    """Enformer's attention pooling over pairs of positions for a position-major ``x``.

    Args:
        x: (N, C, L) with position-major memory and even L.
        weight: (C, C, 1, 1) ``to_attn_logits`` weight of :class:`AttentionPool`.

    Returns:
        (N, C, L / 2), position-major; None when ``x`` does not qualify (odd length, other
        layout), so that the caller runs the plain module.
    """
    xt = position_major(x)
    if xt is None or x.shape[-1] % 2:
        return None
    n, length, c = xt.shape
    logits = F.linear(xt, weight.reshape(weight.shape[0], weight.shape[1]).to(xt.dtype))
    lp = logits.reshape(n, length // 2, 2, c)
    xp = xt.reshape(n, length // 2, 2, c)
    x0, x1 = xp[:, :, 0], xp[:, :, 1]
    # softmax over (l0, l1) gives weights (sigmoid(l0 - l1), sigmoid(l1 - l0)).
    a0 = torch.sigmoid(lp[:, :, 0] - lp[:, :, 1])
    y = torch.sub(x0, x1).mul_(a0).add_(x1)
    return y.transpose(1, 2)
