"""Transformer blocks and towers over (N, L, C)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from grelu_cli.model.attention import Attention, FlashAttention
from grelu_cli.model.blocks.dense import FeedForwardBlock
from grelu_cli.model.layers import Dropout, Norm


class TransformerBlock(nn.Module):
    """Pre-norm attention with residual, then feed-forward with residual: (N, L, C) -> same.

    With ``flash_attn`` the attention is :class:`FlashAttention` (rotary positions) and
    ``n_pos_features``, ``key_len``, ``value_len`` and ``pos_dropout`` are ignored.
    """

    def __init__(
        self,
        in_len: int,
        n_heads: int,
        attn_dropout: float,
        ff_dropout: float,
        flash_attn: bool,
        n_pos_features: int | None = None,
        key_len: int | None = None,
        value_len: int | None = None,
        pos_dropout: float | None = None,
        norm_kwargs: dict | None = None,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        kw = {"dtype": dtype, "device": device}
        self.norm = Norm("layer", in_len, **(norm_kwargs or {}), **kw)
        if flash_attn:
            self.mha: nn.Module = FlashAttention(
                embed_dim=in_len, n_heads=n_heads, dropout_p=attn_dropout, **kw
            )
        else:
            if (
                n_pos_features is None
                or key_len is None
                or value_len is None
                or pos_dropout is None
            ):
                raise ValueError(
                    "relative-position attention needs n_pos_features, key_len, value_len "
                    "and pos_dropout"
                )
            self.mha = Attention(
                in_len=in_len,
                n_heads=n_heads,
                n_pos_features=n_pos_features,
                key_len=key_len,
                value_len=value_len,
                pos_dropout=pos_dropout,
                attn_dropout=attn_dropout,
                **kw,
            )
        self.dropout = Dropout(ff_dropout)
        self.ffn = FeedForwardBlock(
            in_len=in_len, dropout=ff_dropout, act_func="relu", norm_kwargs=norm_kwargs, **kw
        )

    def forward(self, x: Tensor) -> Tensor:
        x = torch.add(x, self.dropout(self.mha(self.norm(x))))
        return torch.add(x, self.ffn(x))


class TransformerTower(nn.Module):
    """Stacked :class:`TransformerBlock` s: (N, C, L) -> (N, C, L)."""

    def __init__(
        self,
        in_channels: int,
        n_blocks: int = 1,
        n_heads: int = 1,
        n_pos_features: int = 32,
        key_len: int = 64,
        value_len: int = 64,
        pos_dropout: float = 0.0,
        attn_dropout: float = 0.0,
        ff_dropout: float = 0.0,
        norm_kwargs: dict | None = None,
        flash_attn: bool = False,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            [
                TransformerBlock(
                    in_len=in_channels,
                    n_heads=n_heads,
                    attn_dropout=attn_dropout,
                    ff_dropout=ff_dropout,
                    flash_attn=flash_attn,
                    n_pos_features=n_pos_features,
                    key_len=key_len,
                    value_len=value_len,
                    pos_dropout=pos_dropout,
                    norm_kwargs=norm_kwargs,
                    dtype=dtype,
                    device=device,
                )
                for _ in range(n_blocks)
            ]
        )

    def forward(self, x: Tensor) -> Tensor:
        x = x.transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        return x.transpose(1, 2)
