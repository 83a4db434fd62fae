"""Multi-head attention layers with relative or rotary positions. (N, L, C) -> (N, L, C).

* :class:`Attention`: gReLU's relative-position attention (ConvTransformer, Borzoi).
  Keys ``to_q, to_k, to_v, to_out, to_pos_k, rel_content_bias, rel_pos_bias``.
* :class:`EnformerAttention`: enformer-pytorch's ``Attention`` with ``use_tf_gamma=False``
  (Enformer). Keys ``to_q, to_k, to_v, to_out, to_rel_k, rel_content_bias, rel_pos_bias``.
* :class:`FlashAttention`: the ``flash_attn=True`` variant of Borzoi's transformer, with rotary
  positions; here computed with ``torch.nn.functional.scaled_dot_product_attention`` so it runs
  on CPU and GPU. Keys ``qkv, out``.

Note that the input layout is channels-last, unlike the rest of the model library.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from grelu_cli.model.position import get_central_mask, get_positional_embed, rotary_cos_sin


def relative_shift(x: Tensor) -> Tensor:
    """Turn logits indexed by relative distance into logits indexed by key position.

    Args:
        x: (N, H, L, 2L - 1), the last axis over distances ``-(L-1) .. L-1``.

    Returns:
        (N, H, L, L) with ``out[..., i, j] = x[..., i, j - i + L - 1]``: the same values as
        enformer-pytorch's pad-and-reshape ``relative_shift``, taken as a strided view so that
        no (N, H, L, 2L) copies are made (they dominate memory at Borzoi's 4096 positions).
    """
    x = x.contiguous()
    n, h, length, width = x.shape
    if width != 2 * length - 1:
        raise ValueError(f"relative logits need 2L - 1 = {2 * length - 1} columns, got {width}")
    s_n, s_h, s_i, _ = x.stride()
    return x.as_strided(
        (n, h, length, length), (s_n, s_h, s_i - 1, 1), x.storage_offset() + length - 1
    )


def _at_least_fp32_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.promote_types(dtype, torch.float32)


def _at_least_fp32(x: Tensor) -> Tensor:
    return x.to(_at_least_fp32_dtype(x.dtype))


def _split_heads(t: Tensor, n_heads: int) -> Tensor:
    """(N, L, H*D) -> (N, H, L, D)."""
    n, length, _ = t.shape
    return t.reshape(n, length, n_heads, -1).transpose(1, 2)


def _merge_heads(t: Tensor) -> Tensor:
    """(N, H, L, D) -> (N, L, H*D)."""
    n, h, length, d = t.shape
    return t.transpose(1, 2).reshape(n, length, h * d)


class Attention(nn.Module):
    """gReLU's multi-head attention with central-mask relative positions.

    Args:
        in_len: channels of the input (C).
        key_len: size of each query/key head.
        value_len: size of each value head.
        n_heads: number of heads.
        n_pos_features: positional features (even).
        pos_dropout: dropout on the positional features.
        attn_dropout: dropout on the attention weights.
    """

    def __init__(
        self,
        in_len: int,
        key_len: int,
        value_len: int,
        n_heads: int,
        n_pos_features: int,
        pos_dropout: float = 0,
        attn_dropout: float = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.in_len = in_len
        self.key_len = key_len
        self.value_len = value_len
        self.n_heads = n_heads
        self.n_pos_features = n_pos_features
        kw = {"device": device, "dtype": dtype}
        self.to_q = nn.Linear(in_len, key_len * n_heads, bias=False, **kw)
        self.to_k = nn.Linear(in_len, key_len * n_heads, bias=False, **kw)
        self.to_v = nn.Linear(in_len, value_len * n_heads, bias=False, **kw)
        self.to_out = nn.Linear(value_len * n_heads, in_len, **kw)
        self.to_pos_k = nn.Linear(n_pos_features, key_len * n_heads, bias=False, **kw)
        self.rel_content_bias = nn.Parameter(torch.randn(1, n_heads, 1, key_len, **kw))
        self.rel_pos_bias = nn.Parameter(torch.randn(1, n_heads, 1, key_len, **kw))
        self.pos_dropout = nn.Dropout(pos_dropout)
        self.attn_dropout = nn.Dropout(attn_dropout)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, L, C) -> (N, L, C)."""
        h = self.n_heads
        q, k, v = (_split_heads(f(x), h) for f in (self.to_q, self.to_k, self.to_v))
        q = q / (self.key_len**0.5)
        content_logits = torch.matmul(q + self.rel_content_bias, k.transpose(-1, -2))
        # Features in fp32 even for bf16 models: bf16 cannot count past 256 positions.
        positions = get_central_mask(_at_least_fp32(x), out_channels=self.n_pos_features)
        positions = self.pos_dropout(positions.to(x.dtype))
        pos_k = self.to_pos_k(positions)  # (2L-1, H*D)
        pos_k = pos_k.reshape(pos_k.shape[0], h, -1).transpose(0, 1)  # (H, 2L-1, D)
        pos_logits = relative_shift(torch.matmul(q + self.rel_pos_bias, pos_k.transpose(-1, -2)))
        attn = self.attn_dropout((content_logits + pos_logits).softmax(dim=-1))
        return self.to_out(_merge_heads(torch.matmul(attn, v)))


class EnformerAttention(nn.Module):
    """Enformer's attention (enformer-pytorch ``Attention``, ``use_tf_gamma=False``).

    Args:
        dim: channels of the input (C).
        num_rel_pos_features: positional features (a multiple of 6).
        heads: number of heads.
        dim_key: size of each query/key head.
        dim_value: size of each value head.
        dropout: dropout on the attention weights.
        pos_dropout: dropout on the positional features.
    """

    def __init__(
        self,
        dim: int,
        *,
        num_rel_pos_features: int,
        heads: int = 8,
        dim_key: int = 64,
        dim_value: int = 64,
        dropout: float = 0.0,
        pos_dropout: float = 0.0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.scale = dim_key**-0.5
        self.heads = heads
        self.num_rel_pos_features = num_rel_pos_features
        self.to_q = nn.Linear(dim, dim_key * heads, bias=False, **kw)
        self.to_k = nn.Linear(dim, dim_key * heads, bias=False, **kw)
        self.to_v = nn.Linear(dim, dim_value * heads, bias=False, **kw)
        self.to_out = nn.Linear(dim_value * heads, dim, **kw)
        # Zero output projection at init, as enformer-pytorch does (residual starts as identity).
        nn.init.zeros_(self.to_out.weight)
        nn.init.zeros_(self.to_out.bias)
        self.to_rel_k = nn.Linear(num_rel_pos_features, dim_key * heads, bias=False, **kw)
        self.rel_content_bias = nn.Parameter(torch.randn(1, heads, 1, dim_key, **kw))
        self.rel_pos_bias = nn.Parameter(torch.randn(1, heads, 1, dim_key, **kw))
        self.pos_dropout = nn.Dropout(pos_dropout)
        self.attn_dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, L, C) -> (N, L, C)."""
        n, h = x.shape[-2], self.heads
        q, k, v = (_split_heads(f(x), h) for f in (self.to_q, self.to_k, self.to_v))
        q = q * self.scale
        content_logits = torch.matmul(q + self.rel_content_bias, k.transpose(-1, -2))
        # Features in fp32 even for bf16 models: bf16 cannot count past 256 positions.
        weight_dtype = self.to_rel_k.weight.dtype
        positions = get_positional_embed(
            n, self.num_rel_pos_features, x.device, dtype=_at_least_fp32_dtype(weight_dtype)
        )
        rel_k = self.to_rel_k(self.pos_dropout(positions.to(weight_dtype)))
        rel_k = rel_k.reshape(rel_k.shape[0], h, -1).transpose(0, 1)  # (H, 2L-1, D)
        rel_logits = relative_shift(torch.matmul(q + self.rel_pos_bias, rel_k.transpose(-1, -2)))
        attn = self.attn_dropout((content_logits + rel_logits).softmax(dim=-1))
        return self.to_out(_merge_heads(torch.matmul(attn, v)))


def _rotate_half(x: Tensor) -> Tensor:
    """GPT-NeoX style: (x1, x2) -> (-x2, x1) over the two halves of the last axis."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class FlashAttention(nn.Module):
    """Bidirectional multi-head attention with rotary positions (gReLU ``flash_attn=True``).

    gReLU calls the CUDA ``flash_attn`` package: q, k, v packed by one bias-free linear
    (``qkv``, output laid out as (3, heads, head_dim)), non-interleaved rotary embedding with
    base 10000 on q and k, softmax scale ``head_dim ** -0.5``, no mask, then ``out``.
    Here the same math runs through ``scaled_dot_product_attention``; unlike gReLU (which passes
    ``dropout_p`` to flash-attn even in eval mode) dropout applies only in training.

    Args:
        embed_dim: channels of the input (C).
        n_heads: number of heads (C must divide evenly).
        dropout_p: attention dropout in training.
    """

    def __init__(
        self, embed_dim: int, n_heads: int, dropout_p: float = 0.0, device=None, dtype=None
    ) -> None:
        super().__init__()
        if embed_dim % n_heads != 0:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by n_heads {n_heads}")
        self.embed_dim = embed_dim
        self.n_heads = n_heads
        self.head_dim = embed_dim // n_heads
        self.dropout_p = dropout_p
        kw = {"device": device, "dtype": dtype}
        self.qkv = nn.Linear(embed_dim, embed_dim * 3, bias=False, **kw)
        self.out = nn.Linear(embed_dim, embed_dim, **kw)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, L, C) -> (N, L, C)."""
        n, length, _ = x.shape
        qkv = self.qkv(x).reshape(n, length, 3, self.n_heads, self.head_dim)
        q, k, v = (t.transpose(1, 2) for t in qkv.unbind(dim=2))  # (N, H, L, D)
        cos, sin = rotary_cos_sin(length, self.head_dim, x.device, x.dtype)
        cos, sin = torch.cat((cos, cos), dim=-1), torch.cat((sin, sin), dim=-1)  # (L, D)
        q = q * cos + _rotate_half(q) * sin
        k = k * cos + _rotate_half(k) * sin
        out = nn.functional.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout_p if self.training else 0.0
        )
        return self.out(_merge_heads(out))
