"""Relative-position attention for inference (part of :mod:`grelu_cli.model.inference`).

Borzoi/ConvTransformer :class:`Attention` and Enformer's :class:`EnformerAttention` compute
``softmax((q + content_bias) k^T + shift((q + pos_bias) pos_k^T)) v``. Where key and value heads
have the same size, :func:`torch.nn.functional.scaled_dot_product_attention` runs it fused with
the position logits as an additive mask; Borzoi's and Enformer's wider value heads run the plain
arithmetic instead, a group of heads at a time (:data:`_ATTN_BYTES` of logits), with the
position logits added in place and the softmax in place. Eval only (attention dropout is the
identity then); outputs equal the modules' own within float rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from grelu_cli.model.attention import (
    Attention,
    EnformerAttention,
    _at_least_fp32,
    _at_least_fp32_dtype,
    _merge_heads,
    _split_heads,
    relative_shift,
)
from grelu_cli.model.position import get_central_mask, get_positional_embed


def _sdpa_applies(k: Tensor, v: Tensor) -> bool:
    """Whether SDPA has a fused kernel for these heads.

    With wider value than key heads (Borzoi, Enformer: 64 vs 192) torch's fused CPU kernel does
    not apply and SDPA runs its unfused "math" path: the same (L, L) logits as the plain module
    plus a contiguous copy of the shifted mask and a "safe" softmax with three more passes
    (``isneginf``, ``all``, ``where``) over the logits, 3% of a full Borzoi forward on 2 cores.
    The plain module's arithmetic is then cheaper. (Computing the attention a block of queries
    at a time was measured too: 30-40% slower here, from the per-block copies of the shifted
    position logits and of the outputs.)
    """
    return k.shape[-1] == v.shape[-1]


#: bytes of attention logits (content + relative position) computed at once on the plain path
_ATTN_BYTES = 256 << 20


def _attend(
    q: Tensor, k: Tensor, v: Tensor, content_bias: Tensor, pos_bias: Tensor, pos_k: Tensor
) -> Tensor:
    """softmax((q + content_bias) k^T + shift((q + pos_bias) pos_k^T)) v, q already scaled.

    q, k: (N, H, L, D); v: (N, H, L, Dv); pos_k: (H, 2L - 1, D) -> (N, L, H*Dv).
    """
    if not _sdpa_applies(k, v):
        n, h, length, _ = q.shape
        # Heads in groups whose (N, h, L, 2L - 1) position logits stay under _ATTN_BYTES:
        # at Borzoi's 4,096 positions all 8 heads at once hold 1.6 GB of logits (fp32).
        per_head = n * length * (3 * length) * 4
        step = max(1, min(h, _ATTN_BYTES // max(1, per_head)))
        q_c, q_p = q + content_bias, q + pos_bias
        outs = []
        for i in range(0, h, step):
            sl = slice(i, i + step)
            logits = torch.matmul(q_c[:, sl], k[:, sl].transpose(-1, -2))
            pos_logits = relative_shift(torch.matmul(q_p[:, sl], pos_k[sl].transpose(-1, -2)))
            if logits.dtype == pos_logits.dtype:
                logits.add_(pos_logits)
            else:
                logits = logits + pos_logits
            del pos_logits  # freed before the softmax, a lower peak
            outs.append(torch.matmul(_softmax_(logits), v[:, sl]))
            del logits
        return _merge_heads(outs[0] if len(outs) == 1 else torch.cat(outs, dim=1))
    pos_logits = relative_shift(torch.matmul(q + pos_bias, pos_k.transpose(-1, -2)))
    out = F.scaled_dot_product_attention(
        q + content_bias, k, v, attn_mask=pos_logits.to(q.dtype), scale=1.0
    )
    return _merge_heads(out)


def _softmax_(x: Tensor) -> Tensor:
    """Softmax over the last axis, in place where autocast leaves the dtype alone (fp32)."""
    autocast = torch.is_autocast_enabled(x.device.type)
    if x.dtype == torch.float32 and not autocast and x.is_contiguous():
        return torch.softmax(x, dim=-1, out=x)
    return x.softmax(dim=-1)


class SDPAAttention(Attention):
    """:class:`Attention` (gReLU's relative-position attention), fused or blockwise."""

    def forward(self, x: Tensor) -> Tensor:
        if self.training and self.attn_dropout.p > 0:
            return super().forward(x)
        h = self.n_heads
        q, k, v = (_split_heads(f(x), h) for f in (self.to_q, self.to_k, self.to_v))
        q = q / (self.key_len**0.5)
        positions = get_central_mask(_at_least_fp32(x), out_channels=self.n_pos_features)
        positions = self.pos_dropout(positions.to(x.dtype))
        pos_k = self.to_pos_k(positions)
        pos_k = pos_k.reshape(pos_k.shape[0], h, -1).transpose(0, 1)
        out = _attend(q, k, v, self.rel_content_bias, self.rel_pos_bias, pos_k)
        return self.to_out(out)


class SDPAEnformerAttention(EnformerAttention):
    """:class:`EnformerAttention`, fused or blockwise."""

    def forward(self, x: Tensor) -> Tensor:
        if self.training and self.attn_dropout.p > 0:
            return super().forward(x)
        n, h = x.shape[-2], self.heads
        q, k, v = (_split_heads(f(x), h) for f in (self.to_q, self.to_k, self.to_v))
        q = q * self.scale
        weight_dtype = self.to_rel_k.weight.dtype
        positions = get_positional_embed(
            n, self.num_rel_pos_features, x.device, dtype=_at_least_fp32_dtype(weight_dtype)
        )
        rel_k = self.to_rel_k(self.pos_dropout(positions.to(weight_dtype)))
        rel_k = rel_k.reshape(rel_k.shape[0], h, -1).transpose(0, 1)
        out = _attend(q, k, v, self.rel_content_bias, self.rel_pos_bias, rel_k)
        return self.to_out(out)


def sdpa_attention(model: nn.Module) -> int:
    """Swap every eval-mode relative-position attention for its SDPA/blockwise form; the
    number swapped."""
    n = 0
    for module in model.modules():
        if type(module) is Attention and not module.training:
            module.__class__ = SDPAAttention
            n += 1
        elif type(module) is EnformerAttention and not module.training:
            module.__class__ = SDPAEnformerAttention
            n += 1
    return n
