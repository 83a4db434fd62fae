"""Enformer trunk: conv tower with attention pooling, transformer tower, pointwise conv, crop.

(N, 4, L) -> (N, 2 * channels, L / 2**n_conv - 2 * crop_len). L should be a multiple of
``2**n_conv`` (attention pooling zero-pads odd lengths, which shifts bins).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from grelu_cli.core.geometry import Geometry, receptive_field
from grelu_cli.model.attention import EnformerAttention
from grelu_cli.model.blocks import ConvBlock, FeedForwardBlock
from grelu_cli.model.layers import Activation, Crop, Dropout, Norm
from grelu_cli.model.position import exponential_linspace_int


class EnformerConvTower(nn.Module):
    """Stem (conv 15 + residual 1x1 block + attention pool) and ``n_blocks - 1`` blocks
    (conv 5 block, residual 1x1 block with attention pool). Channels grow geometrically from
    ``out_channels // 2`` to ``out_channels`` in multiples of 128."""

    def __init__(self, n_blocks: int, out_channels: int, dtype=None, device=None) -> None:
        super().__init__()
        kw = {"dtype": dtype, "device": device}
        half_dim = out_channels // 2
        # Every conv block runs norm, activation (Enformer's GELU), conv, dropout, residual.
        act, order = "gelu_enformer", "NACDR"
        self.blocks = nn.ModuleList()
        self.blocks.append(
            nn.Sequential(
                nn.Conv1d(4, half_dim, 15, padding="same", **kw),
                ConvBlock(
                    half_dim,
                    half_dim,
                    kernel_size=1,
                    residual=True,
                    pool_func="attn",
                    pool_size=2,
                    act_func=act,
                    order=order,
                    **kw,
                ),
            )
        )
        self.layer_specs: list[tuple] = [("conv", 15, 1), ("pool", 2)]
        filters = [
            half_dim,
            *exponential_linspace_int(half_dim, out_channels, num=n_blocks - 1, divisible_by=128),
        ]
        for i in range(1, n_blocks):
            self.blocks.append(
                nn.Sequential(
                    ConvBlock(
                        filters[i - 1], filters[i], kernel_size=5, act_func=act, order=order, **kw
                    ),
                    ConvBlock(
                        filters[i],
                        filters[i],
                        kernel_size=1,
                        residual=True,
                        pool_func="attn",
                        pool_size=2,
                        act_func=act,
                        order=order,
                        **kw,
                    ),
                )
            )
            self.layer_specs += [("conv", 5, 1), ("pool", 2)]

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)
        return x


class EnformerTransformerBlock(nn.Module):
    """Pre-norm Enformer attention + residual, then feed-forward + residual: (N, L, C)."""

    def __init__(
        self,
        in_len: int,
        n_heads: int,
        key_len: int,
        attn_dropout: float,
        pos_dropout: float,
        ff_dropout: float,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        kw = {"dtype": dtype, "device": device}
        self.norm = Norm("layer", in_len, **kw)
        self.mha = EnformerAttention(
            dim=in_len,
            heads=n_heads,
            dim_key=key_len,
            dim_value=in_len // n_heads,
            dropout=attn_dropout,
            pos_dropout=pos_dropout,
            num_rel_pos_features=in_len // n_heads,
            **kw,
        )
        self.dropout = Dropout(ff_dropout)
        self.ffn = FeedForwardBlock(in_len=in_len, dropout=ff_dropout, act_func="relu", **kw)

    def forward(self, x: Tensor) -> Tensor:
        x = torch.add(x, self.dropout(self.mha(self.norm(x))))
        return torch.add(x, self.ffn(x))


class EnformerTransformerTower(nn.Module):
    """Stacked :class:`EnformerTransformerBlock` s: (N, C, L) -> (N, C, L)."""

    def __init__(
        self,
        in_channels: int,
        n_blocks: int,
        n_heads: int,
        key_len: int,
        attn_dropout: float,
        pos_dropout: float,
        ff_dropout: float,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            [
                EnformerTransformerBlock(
                    in_len=in_channels,
                    n_heads=n_heads,
                    key_len=key_len,
                    attn_dropout=attn_dropout,
                    pos_dropout=pos_dropout,
                    ff_dropout=ff_dropout,
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


class EnformerTrunk(nn.Module):
    """Enformer's trunk (see module docstring). Every output position sees the whole input."""

    def __init__(
        self,
        # Conv
        n_conv: int = 7,
        channels: int = 1536,
        # Transformer
        n_transformers: int = 11,
        n_heads: int = 8,
        key_len: int = 64,
        attn_dropout: float = 0.05,
        pos_dropout: float = 0.01,
        ff_dropout: float = 0.4,
        # Crop
        crop_len: int = 0,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        kw = {"dtype": dtype, "device": device}
        self.n_conv = n_conv
        self.conv_tower = EnformerConvTower(n_blocks=n_conv, out_channels=channels, **kw)
        self.transformer_tower = EnformerTransformerTower(
            in_channels=channels,
            n_blocks=n_transformers,
            n_heads=n_heads,
            key_len=key_len,
            attn_dropout=attn_dropout,
            pos_dropout=pos_dropout,
            ff_dropout=ff_dropout,
            **kw,
        )
        self.pointwise_conv = ConvBlock(
            in_channels=channels,
            out_channels=channels * 2,
            kernel_size=1,
            act_func="gelu_enformer",
            # Floor division as in gReLU: 0.0 for every ff_dropout below 8.
            dropout=ff_dropout // 8,
            order="NACDR",
            **kw,
        )
        self.act = Activation("gelu_enformer")
        self.crop = Crop(crop_len)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv_tower(x)
        x = self.transformer_tower(x)
        x = self.pointwise_conv(x)
        return self.crop(self.act(x))

    def trunk_geometry(self) -> Geometry:
        return Geometry(
            bin_size=2**self.n_conv,
            crop_len=self.crop.crop_len,
            len_multiple=2**self.n_conv,
            receptive_field=receptive_field(self.conv_tower.layer_specs),
            global_context=True,
        )
