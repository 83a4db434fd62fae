"""Inference-only rewrites of a loaded model that keep its outputs and make CPU inference faster.

:func:`optimize_for_inference` changes a model **in place**, after its weights are loaded (its
``state_dict`` afterwards is not a checkpoint: folded batch norms are gone and conv weights
are rescaled). Outputs stay within 1e-5 relative of the unmodified model (float rounding of a
different summation order). What it does, and why each pays on CPU:

* Batch norm folding: a batch norm right after a convolution (orders "CD?N...", eval mode,
  running statistics) becomes part of the conv's weight and bias; one pass over the
  activations fewer per block.
* Channels-last convolutions: every ``nn.Conv1d`` computes as a 2-D convolution on an
  ``(N, C, 1, L)`` channels-last view. oneDNN's direct kernels for that layout are about 1.5-2x
  faster here than the ``(N, C, L)`` path, which reorders activations into a blocked layout and
  back around every convolution. Outputs keep the ``(N, C, L)`` shape with channels-last
  strides (``stride(1) == 1``), so elementwise ops between convolutions keep that layout and
  no copies are made; ``transpose(1, 2)`` into a transformer is then free.
* Fused convolutions: in conv blocks and stems, a conv directly followed by the residual add
  and/or a ReLU runs as one oneDNN call (:meth:`ChannelsLastConv1d.fused`, in
  :mod:`grelu_cli.model.cpu_conv`), with bf16 weights cast once under autocast.
* In-place activations and residual adds in conv blocks and stems otherwise, where the tensor
  was made by the block itself: fewer fresh allocations per batch (each a page-fault storm for
  multi-megabyte activations on glibc) and fewer memory passes.
* Pool-first conv heads (:class:`InferenceConvHead`): with average pooling and no norm or
  activation, the mean over positions moves before the 1x1 conv (``mean(W x + b) ==
  W mean(x) + b``), and a bf16 trunk output is averaged in fp32 by the head itself.
* Relative-position attention (Borzoi/ConvTransformer :class:`Attention`, Enformer's
  :class:`EnformerAttention`): the logits are ``(q + content_bias) k^T + shift((q +
  pos_bias) pos_k^T)``. Where key and value heads have the same size, SDPA of ``q +
  content_bias`` with the relative-position logits as an additive mask and scale 1 (q is
  pre-scaled): the fused kernel never materialises the content logits or the softmax
  separately. Borzoi's and Enformer's value heads are wider (192 vs 64), which torch's fused
  CPU kernel does not take; SDPA's fallback "math" path adds a copy of the mask and a "safe"
  softmax (three extra passes over the (L, L) logits) to the plain arithmetic, so those run
  the plain arithmetic with the position logits added in place, freed before the softmax, and
  the softmax in place. Eval only (attention dropout is the identity then).
* Pooling on position-major activations (:mod:`grelu_cli.model.cpu_pool`): max pooling
  (Borzoi's conv tower) as an elementwise maximum of strided views instead of
  ``max_pool1d``'s copy to channel-major and back; Enformer's attention pooling over pairs as
  one matmul over channels and a sigmoid of the logit difference instead of a reshape copy,
  a 2-D conv and a softmax over an axis of length 2.
* Crop first (Borzoi, Enformer trunks): the trunk's last conv block is 1x1 and its final
  activation position-wise, so the crop moves before them (Borzoi's published geometry keeps
  6,144 of 16,384 positions).

All of these compute the same function with the same parameters; only the order of
floating-point operations (pool-first heads, fused epilogues) and where intermediate values
live change (the attention pooling's pair softmax is a sigmoid of the difference).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from grelu_cli.model.blocks import ChannelTransformBlock, ConvBlock, Stem
from grelu_cli.model.cpu_conv import ChannelsLastConv1d
from grelu_cli.model.cpu_pool import ChannelsLastMaxPool1d, attention_pool_pairs
from grelu_cli.model.heads import ConvHead
from grelu_cli.model.inference_attention import (
    SDPAAttention,
    SDPAEnformerAttention,
    sdpa_attention,
)
from grelu_cli.model.layers import AttentionPool, ChannelTransform
from grelu_cli.model.trunks.borzoi import BorzoiTrunk
from grelu_cli.model.trunks.enformer import EnformerTrunk

__all__ = [
    "ChannelsLastConv1d",
    "ChannelsLastMaxPool1d",
    "InferenceAttentionPool",
    "InferenceConvBlock",
    "InferenceConvHead",
    "InferenceStem",
    "SDPAAttention",
    "SDPAEnformerAttention",
    "fold_batch_norms",
    "optimize_for_inference",
]


# ---------------------------------------------------------------------------------------------
# Batch norm folding
def _foldable_bn(norm: nn.Module) -> nn.BatchNorm1d | None:
    layer = getattr(norm, "layer", None)
    if not isinstance(layer, nn.BatchNorm1d) or isinstance(layer, nn.SyncBatchNorm):
        return None
    if layer.training or layer.running_mean is None or layer.running_var is None:
        return None
    return layer


def _conv_then_norm(order: str) -> bool:
    """Whether the norm directly follows the conv in ``order`` (dropouts are identities in
    eval mode, so "CDN" counts)."""
    c, n = order.index("C"), order.index("N")
    return c < n and set(order[c + 1 : n]) <= {"D"}


@torch.no_grad()
def _fold_into(conv: nn.Conv1d, bn: nn.BatchNorm1d) -> None:
    """conv -> bn  ==>  conv' (weight (O, I, k) and bias (O,) rescaled per output channel)."""
    mean, var = bn.running_mean, bn.running_var
    if mean is None or var is None:  # _foldable_bn picks only norms with running statistics
        raise ValueError("a batch norm without running statistics cannot be folded")
    scale = torch.rsqrt(var.double() + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight.double()
    shift = -mean.double() * scale
    if bn.bias is not None:
        shift = shift + bn.bias.double()
    w = conv.weight.double() * scale.reshape(-1, *([1] * (conv.weight.ndim - 1)))
    b = shift if conv.bias is None else conv.bias.double() * scale + shift
    conv.weight = nn.Parameter(w.to(conv.weight.dtype), requires_grad=False)
    conv.bias = nn.Parameter(b.to(conv.weight.dtype), requires_grad=False)


def fold_batch_norms(model: nn.Module) -> int:
    """Fold every batch norm that directly follows a convolution into it (in place).

    Covers :class:`ConvBlock` and :class:`ChannelTransformBlock` (conv heads) whose order has
    the norm after the conv. Returns how many were folded. The model must be in eval mode.
    """
    n = 0
    for module in model.modules():
        conv: nn.Module
        if isinstance(module, ConvBlock):
            conv = module.conv
        elif isinstance(module, ChannelTransformBlock) and isinstance(
            module.conv, ChannelTransform
        ):
            conv = module.conv.layer
        else:
            continue
        if not isinstance(conv, nn.Conv1d) or not _conv_then_norm(module.order):
            continue
        bn = _foldable_bn(module.norm)
        if bn is None or bn.num_features != conv.out_channels:
            continue
        _fold_into(conv, bn)
        module.norm.layer = nn.Identity()
        n += 1
    return n


# ---------------------------------------------------------------------------------------------
# Channels-last convolutions (with fused add and ReLU: grelu_cli/model/cpu_conv.py)
def _channels_last_convs(model: nn.Module) -> int:
    n = 0
    for module in model.modules():
        if type(module) is nn.Conv1d and module.padding_mode == "zeros":
            module.__class__ = ChannelsLastConv1d
            n += 1
    return n


# ---------------------------------------------------------------------------------------------
# In-place activations and residual adds
def _inplace_act(act: nn.Module, x: Tensor) -> Tensor:
    """Apply ``act`` (an :class:`Activation`) to a tensor we own, in place when possible."""
    layer = getattr(act, "layer", act)
    if isinstance(layer, nn.Identity):
        return x
    if type(layer) is nn.ReLU:
        return x.relu_()
    return act(x)


def _is_relu(act: nn.Module) -> bool:
    return type(getattr(act, "layer", act)) is nn.ReLU


def _is_identity(module: nn.Module) -> bool:
    return isinstance(getattr(module, "layer", module), nn.Identity)


class InferenceConvBlock(ConvBlock):
    """:class:`ConvBlock` for inference: a conv directly followed by the residual add and/or a
    ReLU runs as one fused call (:meth:`ChannelsLastConv1d.fused`); the other residual adds and
    activations work in place on tensors the block itself created (never on its input)."""

    def _steps(self) -> list[tuple[str, bool, bool]]:
        """``order`` without the steps that do nothing here, as ``(letter, residual, relu)``;
        for "C", ``residual``/``relu`` say which of the steps after it are fused in."""
        active = [
            c
            for c in self.order
            if not (
                (c == "D" and not self.training)
                or (c == "N" and _is_identity(self.norm))
                or (c == "R" and not self.residual)
                or (c == "A" and _is_identity(self.act))
            )
        ]
        steps: list[tuple[str, bool, bool]] = []
        i = 0
        while i < len(active):
            if active[i] == "C" and isinstance(self.conv, ChannelsLastConv1d):
                res = active[i + 1 : i + 2] == ["R"]
                j = i + 1 + res
                relu = active[j : j + 1] == ["A"] and _is_relu(self.act)
                steps.append(("C", res, relu))
                i = j + relu
            else:
                steps.append((active[i], False, False))
                i += 1
        return steps

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        x_input = self.channel_transform(x) if self.residual else None
        owned = False  # whether x was made here (safe to overwrite)
        for name, fuse_residual, fuse_relu in self._steps():
            if name == "C":
                # _steps fuses only into a ChannelsLastConv1d; isinstance says so to mypy
                if (fuse_residual or fuse_relu) and isinstance(self.conv, ChannelsLastConv1d):
                    residual = x_input if fuse_residual else None
                    x = self.conv.fused(x, residual=residual, relu=fuse_relu)
                else:
                    x = self.conv(x)
                owned = True
            elif name == "D":
                x = self.dropout(x)
            elif name == "N":
                x = self.norm(x)
                owned = True
            elif name == "R" and x_input is not None:  # "R" is a step only with a residual
                x = x.add_(x_input) if owned and x.shape == x_input.shape else x + x_input
                owned = True
            elif name == "A":
                if owned:
                    x = _inplace_act(self.act, x)
                else:
                    x = self.act(x)
                    owned = True
        if self.return_pre_pool:
            return self.pool(x), x
        return self.pool(x)


class InferenceStem(Stem):
    """:class:`Stem` with its ReLU fused into the conv (or any other activation in place)."""

    def forward(self, x: Tensor) -> Tensor:
        if isinstance(self.conv, ChannelsLastConv1d) and _is_relu(self.act):
            return self.pool(self.conv.fused(x, relu=True))
        return self.pool(_inplace_act(self.act, self.conv(x)))


class InferenceConvHead(ConvHead):
    """:class:`ConvHead` that averages over positions *before* its 1x1 conv when that is the
    same arithmetic: with average pooling and no norm or activation between, ``mean_L(W x + b)
    == W mean_L(x) + b``. The conv then sees (N, C, 1) instead of (N, C, L).

    It accepts a trunk output in a lower precision (bf16 under autocast) and computes in its
    weights' dtype; a mean is accumulated in that dtype too (``takes_low_precision``: the
    predictor then skips its own cast of the whole activation).
    """

    takes_low_precision = True

    def _pools_first(self) -> bool:
        block = self.channel_transform
        return (
            isinstance(self.pool.layer, nn.AdaptiveAvgPool1d)
            and isinstance(block.conv, ChannelTransform)
            and isinstance(block.conv.layer, nn.Conv1d)
            and _is_identity(block.norm)
            and _is_identity(block.act)
            and (not self.training or _is_identity(block.dropout))
        )

    def forward(self, x: Tensor) -> Tensor:
        dtype = _head_dtype(self)
        if self._pools_first():
            return self.channel_transform(_mean_over_length(x, dtype))
        return self.pool(self.channel_transform(x.to(dtype)))


#: positions summed per step when a lower-precision activation is averaged: small enough that
#: each block's fp32 copy stays in cache (measured 64-256 best, batch 128 x 64 channels)
_MEAN_BLOCK = 128


def _mean_over_length(x: Tensor, dtype: torch.dtype) -> Tensor:
    """(N, C, L) -> (N, C, 1) mean over L, accumulated and returned in ``dtype``.

    For a bf16 ``x`` torch's sum with ``dtype=float32`` first converts all of ``x`` to a new
    fp32 tensor (67 MB for a batch of 128 x 64 x 2048), at memory speed at best. Summing blocks
    of positions whose fp32 copies stay in cache cut the whole bf16 ConvModel forward from 19
    to 15 ms per batch here.
    """
    if x.dtype == dtype or x.shape[-1] <= _MEAN_BLOCK:
        return x.mean(-1, keepdim=True, dtype=dtype)
    acc = x[..., :_MEAN_BLOCK].sum(-1, keepdim=True, dtype=dtype)
    for i in range(_MEAN_BLOCK, x.shape[-1], _MEAN_BLOCK):
        acc += x[..., i : i + _MEAN_BLOCK].sum(-1, keepdim=True, dtype=dtype)
    return acc / x.shape[-1]


def _head_dtype(head: ConvHead) -> torch.dtype:
    for p in head.parameters():
        return p.dtype if p.is_floating_point() else torch.float32
    return torch.float32


def _inplace_blocks(model: nn.Module) -> int:
    n = 0
    for module in model.modules():
        if type(module) is ConvBlock and not module.training:
            module.__class__ = InferenceConvBlock
            n += 1
        elif type(module) is Stem and not module.training:
            module.__class__ = InferenceStem
            n += 1
        elif type(module) is ConvHead and not module.training:
            module.__class__ = InferenceConvHead
            n += 1
    return n


# ---------------------------------------------------------------------------------------------
# Pooling on position-major activations (grelu_cli/model/cpu_pool.py)
class InferenceAttentionPool(AttentionPool):
    """:class:`AttentionPool` over pairs of a position-major input without the reshape copy
    (:func:`attention_pool_pairs`); anything else runs the plain module."""

    def forward(self, x: Tensor) -> Tensor:
        if self.pool_size == 2 and not (torch.is_grad_enabled() and x.requires_grad):
            y = attention_pool_pairs(x, self.to_attn_logits.weight)
            if y is not None:
                return y
        return super().forward(x)


def _fast_pools(model: nn.Module) -> int:
    n = 0
    for module in model.modules():
        if type(module) is nn.MaxPool1d:
            module.__class__ = ChannelsLastMaxPool1d
            n += 1
        elif type(module) is AttentionPool and not module.training:
            module.__class__ = InferenceAttentionPool
            n += 1
    return n


# ---------------------------------------------------------------------------------------------
# Crop before the pointwise tail of Borzoi and Enformer
def _pointwise(block: nn.Module | None) -> bool:
    """Whether a conv block computes each position from that position alone (1x1 conv, no
    pooling), so that cropping before it gives the same values as cropping after it."""
    return (
        isinstance(block, ConvBlock)
        and block.conv.kernel_size[0] == 1
        and isinstance(block.pool.layer, nn.Identity)
        and not block.return_pre_pool
    )


class InferenceBorzoiTrunk(BorzoiTrunk):
    """:class:`BorzoiTrunk` that crops before its pointwise conv and final activation (both
    position-wise). Published geometry: 6,144 of 16,384 positions kept, so the 1536 -> 1920
    conv (97 GFLOP per window), its norm and two activations run on 37.5% of the positions."""

    def forward(self, x: Tensor) -> Tensor:
        x, y0, y1 = self.conv_tower(x)
        x = self.transformer_tower(x)
        x = self.unet_tower(x, [y0, y1])
        return self.act(self.pointwise_conv(self.crop(x)))


class InferenceEnformerTrunk(EnformerTrunk):
    """:class:`EnformerTrunk` that crops before its pointwise conv and final activation
    (published geometry: 896 of 1,536 positions kept)."""

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv_tower(x)
        x = self.transformer_tower(x)
        return self.act(self.pointwise_conv(self.crop(x)))


def _crop_first(model: nn.Module) -> int:
    n = 0
    for module in model.modules():
        if module.training or not _pointwise(getattr(module, "pointwise_conv", None)):
            continue
        if type(module) is BorzoiTrunk:
            module.__class__ = InferenceBorzoiTrunk
            n += 1
        elif type(module) is EnformerTrunk:
            module.__class__ = InferenceEnformerTrunk
            n += 1
    return n


# ---------------------------------------------------------------------------------------------
def optimize_for_inference(model: nn.Module, *, channels_last: bool = True) -> dict[str, int]:
    """Rewrite ``model`` in place for inference (see the module docstring); eval mode is set.

    Call it after the weights are loaded and after any ``select_tasks``, before moving the
    model between devices is fine (parameters are kept). Not for training: gradients are not
    supported through the in-place blocks, and the state_dict no longer matches a checkpoint.

    Args:
        model: any module; parts that are not recognised are left alone.
        channels_last: compute ``nn.Conv1d`` as channels-last 2-D convolutions (CPU speed-up;
            on CUDA, cuDNN prefers the default layout for 1-D convolutions).

    Returns:
        Counts of what was changed: ``{"folded_bn", "channels_last_convs", "inplace_blocks",
        "sdpa_attention", "fast_pools", "crop_first"}``.
    """
    model.eval()
    folded = fold_batch_norms(model)
    convs = _channels_last_convs(model) if channels_last else 0
    blocks = _inplace_blocks(model)
    attention = sdpa_attention(model)
    pools = _fast_pools(model) if channels_last else 0
    crops = _crop_first(model)
    return {
        "folded_bn": folded,
        "channels_last_convs": convs,
        "inplace_blocks": blocks,
        "sdpa_attention": attention,
        "fast_pools": pools,
        "crop_first": crops,
    }
