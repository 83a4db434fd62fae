"""1-D convolutions for CPU inference: channels-last kernels with the bias, a residual add and a
ReLU fused in, and weights cast once per dtype.

:class:`ChannelsLastConv1d` is an ``nn.Conv1d`` (same parameters, same ``state_dict``) that
computes as a 2-D convolution on an ``(N, C, 1, L)`` channels-last view. Its
:meth:`~ChannelsLastConv1d.fused` computes ``relu(conv(x) + residual)`` (either part optional)
in one oneDNN call (``torch.ops.mkldnn._convolution_pointwise``, the kernels inductor's CPU
backend uses): the add and the ReLU are post-ops applied while each output tile is still in
cache, instead of two more passes over a multi-megabyte activation.

Why this matters here (benchmarks/README.md, 2 cores): for ConvModel in fp32 the separate ReLU
is about 11% of the forward pass; under bf16 autocast the ReLU on the channels-last bf16
activation took longer than the bf16 convolutions themselves, and autocast cast every weight to
bf16 again on every call. Fused and with cached bf16 weights, bf16 DilatedConvModel runs 4x
faster than with autocast around the plain layers.

dtype: under CPU autocast to bf16 the convolution runs in bf16 like autocast's own ``conv2d``
(input cast to bf16, output bf16); otherwise in the input's dtype. Accumulation is fp32 in both.

Whenever the fused kernel cannot be used (no oneDNN in this torch build, gradients needed, a
device other than the CPU, padding that is not symmetric, a dtype oneDNN lacks here), the same
arithmetic runs as ``F.conv2d`` followed by in-place add and ReLU.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ChannelsLastConv1d", "fused_conv_available"]


@functools.cache
def fused_conv_available(dtype: torch.dtype = torch.float32) -> bool:
    """Whether oneDNN's fused convolution runs in ``dtype`` on this CPU and torch build."""
    if not torch.backends.mkldnn.is_available():
        return False
    ops = torch.ops.mkldnn
    if not hasattr(ops, "_convolution_pointwise"):
        return False
    if dtype == torch.float32:
        return True
    if dtype == torch.bfloat16:
        return bool(getattr(ops, "_is_mkldnn_bf16_supported", lambda: False)())
    return False


def _compute_dtype(x: Tensor) -> torch.dtype:
    """The dtype a convolution of ``x`` runs in: autocast's on the CPU, else ``x``'s own."""
    if x.device.type != "cpu":
        return x.dtype
    try:
        if torch.is_autocast_enabled("cpu"):
            return torch.get_autocast_dtype("cpu")
    except TypeError:  # torch < 2.4: the CPU-specific calls
        if torch.is_autocast_cpu_enabled():
            return torch.get_autocast_cpu_dtype()
    return x.dtype


class ChannelsLastConv1d(nn.Conv1d):
    """``nn.Conv1d`` computed as a channels-last 2-D convolution: (N, C_in, L) -> (N, C_out,
    L_out) with ``stride(1) == 1`` (channels-last strides), so elementwise ops after it keep the
    layout and ``transpose(1, 2)`` into a transformer is free. Same parameters and state_dict.
    """

    _cache: dict | None = None

    def _weights(self, dtype: torch.dtype) -> tuple[Tensor, Tensor | None]:
        """(O, I, 1, k) channels-last weight and (O,) bias in ``dtype``, made once per dtype.

        Rebuilt when the parameters change (``select_tasks`` replaces them; an in-place edit
        bumps their version), so the cache can never serve stale weights.
        """
        w, b = self.weight, self.bias
        key = (id(w), w._version, id(b), None if b is None else b._version, w.device)
        if self._cache is None or self._cache.get("key") != key:
            self._cache = {"key": key}
        if dtype not in self._cache:
            w4 = w.detach().to(dtype).unsqueeze(2).contiguous(memory_format=torch.channels_last)
            self._cache[dtype] = (w4, None if b is None else b.detach().to(dtype))
        return self._cache[dtype]

    def _symmetric_padding(self) -> int | None:
        """Padding on each side along L, or None when it is not the same on both sides."""
        if isinstance(self.padding, str):
            if self.padding == "valid":
                return 0
            total = self.dilation[0] * (self.kernel_size[0] - 1)  # "same" (stride 1)
            return total // 2 if total % 2 == 0 else None
        return int(self.padding[0])

    def forward(self, x: Tensor) -> Tensor:
        return self.fused(x)

    def fused(self, x: Tensor, residual: Tensor | None = None, relu: bool = False) -> Tensor:
        """``relu(conv(x) + residual)``: x (N, C_in, L), residual (N, C_out, L_out) or None ->
        (N, C_out, L_out) with channels-last strides. ``x`` and ``residual`` are never written.
        """
        if x.ndim != 3 or (torch.is_grad_enabled() and self.weight.requires_grad):
            # Training (or an unbatched input): the plain module, with autograd.
            y = super().forward(x)
            if residual is not None:
                y = y + residual
            return y.relu() if relu else y
        dtype = _compute_dtype(x)
        x4 = x.unsqueeze(2).to(dtype)
        if not x4.is_contiguous(memory_format=torch.channels_last):
            x4 = x4.contiguous(memory_format=torch.channels_last)
        r4 = None
        if residual is not None:
            r4 = residual.unsqueeze(2).to(dtype)
            if not r4.is_contiguous(memory_format=torch.channels_last):
                r4 = r4.contiguous(memory_format=torch.channels_last)
        w, b = self._weights(dtype)
        pad = self._symmetric_padding()
        stride, dilation = [1, self.stride[0]], [1, self.dilation[0]]
        if pad is not None and x.device.type == "cpu" and fused_conv_available(dtype):
            conv = torch.ops.mkldnn._convolution_pointwise
            unary = "relu" if relu else None
            if r4 is None:
                y = conv(x4, w, b, [0, pad], stride, dilation, self.groups, unary or "none", [], "")
            else:
                y = conv.binary(
                    x4, r4, w, b, [0, pad], stride, dilation, self.groups, "add", 1.0, unary, [], ""
                )
            return y.squeeze(2)
        padding = self.padding if isinstance(self.padding, str) else (0, self.padding[0])
        y = F.conv2d(x4, w, b, stride, padding, dilation, self.groups)
        if r4 is not None:
            y.add_(r4)
        if relu:
            y.relu_()
        return y.squeeze(2)
