"""Blocks made of layers: conv blocks and towers, feed-forward, GRU, transformer and U-net.

Attribute names follow gReLU 1.1.0 so that state_dict keys match. Conv blocks take and return
(N, C, L); :class:`LinearBlock`, :class:`FeedForwardBlock` and :class:`TransformerBlock` work
on the last axis ((N, L, C) inside a tower).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from grelu_cli.model.attention import Attention, FlashAttention
from grelu_cli.model.layers import Activation, ChannelTransform, Crop, Dropout, Norm, Pool


def _check_order(order: str, letters: str) -> None:
    if sorted(order) != sorted(letters):
        raise ValueError(f"order {order!r} must contain each of {letters!r} exactly once")


class LinearBlock(nn.Module):
    """Optional layer norm -> linear -> dropout -> activation, on the last axis."""

    def __init__(
        self,
        in_len: int,
        out_len: int,
        act_func: str | None = "relu",
        dropout: float = 0.0,
        norm: bool = False,
        norm_kwargs: dict | None = None,
        bias: bool = True,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        if norm:
            self.norm = Norm("layer", in_len, **(norm_kwargs or {}), dtype=dtype, device=device)
        else:
            self.norm = Norm(None)
        self.linear = nn.Linear(in_len, out_len, bias=bias, dtype=dtype, device=device)
        self.dropout = Dropout(dropout)
        self.act = Activation(act_func)

    def forward(self, x: Tensor) -> Tensor:
        """x: (..., in_len) -> (..., out_len)."""
        return self.act(self.dropout(self.linear(self.norm(x))))


class ConvBlock(nn.Module):
    """Conv with optional norm, activation, dropout and residual in ``order``, then pooling.

    ``order`` is a permutation of "CDNRA" (Conv, Dropout, Norm, Residual add, Activation);
    the norm acts on the input channels when N comes before C. With ``return_pre_pool`` the
    forward returns ``(pooled, before_pooling)``. The conv uses "same" padding.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        dilation: int = 1,
        act_func: str | None = "relu",
        pool_func: str | None = None,
        pool_size: int | None = None,
        dropout: float = 0.0,
        norm: bool = True,
        norm_type: str | None = "batch",
        norm_kwargs: dict | None = None,
        residual: bool = False,
        order: str = "CDNRA",
        bias: bool = True,
        return_pre_pool: bool = False,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        _check_order(order, "CDNRA")
        self.order = order
        kw = {"dtype": dtype, "device": device}
        if norm:
            norm_dim = out_channels if order.index("N") > order.index("C") else in_channels
            self.norm = Norm(norm_type, in_dim=norm_dim, **kw, **(norm_kwargs or {}))
        else:
            self.norm = Norm(None)
        self.conv = nn.Conv1d(
            in_channels,
            out_channels,
            kernel_size,
            stride=1,
            padding="same",
            dilation=dilation,
            bias=bias,
            **kw,
        )
        self.act = Activation(act_func)
        self.pool = Pool(func=pool_func, pool_size=pool_size, in_channels=out_channels, **kw)
        self.dropout = Dropout(dropout)
        self.residual = residual
        if residual:
            self.channel_transform = ChannelTransform(in_channels, out_channels, **kw)
        self.return_pre_pool = return_pre_pool

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """x: (N, C_in, L) -> (N, C_out, L / pool_size)."""
        x_input = self.channel_transform(x) if self.residual else None
        for name in self.order:
            if name == "C":
                x = self.conv(x)
            elif name == "D":
                x = self.dropout(x)
            elif name == "N":
                x = self.norm(x)
            elif name == "R":
                if x_input is not None:
                    x = torch.add(x, x_input)
            elif name == "A":
                x = self.act(x)
        if self.return_pre_pool:
            return self.pool(x), x
        return self.pool(x)


class ChannelTransformBlock(nn.Module):
    """1x1 conv with optional norm, activation and dropout in ``order`` (a permutation of CDNA).

    As in gReLU, a norm placed before the conv is always batch norm over the input channels.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm: bool = False,
        act_func: str | None = "relu",
        dropout: float = 0.0,
        order: str = "CDNA",
        norm_type: str | None = "batch",
        norm_kwargs: dict | None = None,
        if_equal: bool = False,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        _check_order(order, "CDNA")
        self.order = order
        kw = {"dtype": dtype, "device": device}
        if norm:
            if order.index("N") > order.index("C"):
                self.norm = Norm(norm_type, in_dim=out_channels, **kw, **(norm_kwargs or {}))
            else:
                self.norm = Norm("batch", in_dim=in_channels, **kw, **(norm_kwargs or {}))
        else:
            self.norm = Norm(None)
        self.conv = ChannelTransform(in_channels, out_channels, if_equal=if_equal, **kw)
        self.act = Activation(act_func)
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C_in, L) -> (N, C_out, L)."""
        for name in self.order:
            if name == "C":
                x = self.conv(x)
            elif name == "D":
                x = self.dropout(x)
            elif name == "N":
                x = self.norm(x)
            elif name == "A":
                x = self.act(x)
        return x


class Stem(nn.Module):
    """Conv on one-hot DNA, then activation and optional pooling: (N, 4, L) -> (N, C, L/p)."""

    def __init__(
        self,
        out_channels: int,
        kernel_size: int,
        act_func: str | None = "relu",
        pool_func: str | None = None,
        pool_size: int | None = None,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv1d(
            4, out_channels, kernel_size, padding="same", dtype=dtype, device=device
        )
        self.act = Activation(act_func)
        self.pool = Pool(pool_func, pool_size=pool_size)

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(self.act(self.conv(x)))


class SeparableConv(nn.Module):
    """Depthwise conv (no bias) then pointwise 1x1 conv, like Keras ``SeparableConv1D``."""

    def __init__(self, in_channels: int, kernel_size: int, dtype=None, device=None) -> None:
        super().__init__()
        kw = {"dtype": dtype, "device": device}
        self.depthwise = nn.Conv1d(
            in_channels,
            in_channels,
            kernel_size=kernel_size,
            groups=in_channels,
            padding="same",
            bias=False,
            **kw,
        )
        self.pointwise = nn.Conv1d(in_channels, in_channels, kernel_size=1, **kw)

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise(self.depthwise(x))


class ConvTower(nn.Module):
    """A stem plus ``n_blocks - 1`` conv blocks, then a crop: (N, 4, L) -> (N, C, L_emb).

    Attributes set for later layers and for geometry:
        out_channels: channels of the output.
        pool_factor: total pooling (input bp per output position).
        receptive_field: gReLU's estimate (used only for ``crop_len="auto"``, as gReLU does).
        layer_specs: ("conv", kernel, dilation) and ("pool", size) in order, for the exact
            receptive field.
    """

    def __init__(
        self,
        stem_channels: int,
        stem_kernel_size: int,
        n_blocks: int = 2,
        channel_init: int = 16,
        channel_mult: float = 1,
        kernel_size: int = 5,
        dilation_init: int = 1,
        dilation_mult: float = 1,
        act_func: str | None = "relu",
        norm: bool = False,
        norm_kwargs: dict | None = None,
        pool_func: str | None = None,
        pool_size: int | None = None,
        residual: bool = False,
        dropout: float = 0.0,
        order: str = "CDNRA",
        crop_len: int | str = 0,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList()
        # The stem never pools here, whatever pool_func says (as in gReLU).
        self.blocks.append(
            Stem(stem_channels, stem_kernel_size, act_func=act_func, dtype=dtype, device=device)
        )
        self.receptive_field = stem_kernel_size
        self.pool_factor = 1
        self.out_channels = stem_channels
        self.pool_func = pool_func
        self.layer_specs: list[tuple] = [("conv", stem_kernel_size, 1)]

        in_channels, out_channels, dilation = stem_channels, channel_init, dilation_init
        for i in range(1, n_blocks):
            self.blocks.append(
                ConvBlock(
                    in_channels=in_channels,
                    out_channels=out_channels,
                    kernel_size=kernel_size,
                    dilation=dilation,
                    act_func=act_func,
                    norm=norm,
                    norm_kwargs=norm_kwargs,
                    residual=residual,
                    pool_func=pool_func,
                    pool_size=pool_size,
                    dropout=dropout,
                    order=order,
                    dtype=dtype,
                    device=device,
                )
            )
            self.receptive_field += dilation * (kernel_size - 1)
            self.layer_specs.append(("conv", kernel_size, dilation))
            if pool_func is not None:
                self.receptive_field *= pool_size
                self.pool_factor *= pool_size
                self.layer_specs.append(("pool", pool_size))
            if i == n_blocks - 1:
                self.out_channels = out_channels
            else:
                in_channels = out_channels
                out_channels = int(out_channels * channel_mult)
                dilation = int(dilation * dilation_mult)

        self.crop = Crop(crop_len, receptive_field=self.receptive_field)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, 4, L) -> (N, out_channels, L // pool_factor - 2 * crop_len)."""
        for block in self.blocks:
            x = block(x)
        return self.crop(x)


class FeedForwardBlock(nn.Module):
    """Layer norm -> linear (2x wider) -> dropout -> act -> linear -> dropout, on the last axis."""

    def __init__(
        self,
        in_len: int,
        dropout: float = 0.0,
        act_func: str | None = "relu",
        norm_kwargs: dict | None = None,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        kw = {"dtype": dtype, "device": device, "norm_kwargs": norm_kwargs, "dropout": dropout}
        self.dense1 = LinearBlock(in_len, in_len * 2, norm=True, act_func=act_func, **kw)
        self.dense2 = LinearBlock(in_len * 2, in_len, norm=False, act_func=None, **kw)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, L, C) -> (N, L, C)."""
        return self.dense2(self.dense1(x))


class GRUBlock(nn.Module):
    """Bidirectional GRU (directions summed) then a feed-forward block: (N, C, L) -> (N, C, L).

    ``norm`` is accepted and ignored, as in gReLU (the feed-forward block always has its
    layer norm).
    """

    def __init__(
        self,
        in_channels: int,
        n_layers: int = 1,
        dropout: float = 0.0,
        act_func: str | None = "relu",
        norm: bool = False,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        self.gru = nn.GRU(
            input_size=in_channels,
            hidden_size=in_channels,
            dropout=dropout,
            bidirectional=True,
            batch_first=True,
            num_layers=n_layers,
            dtype=dtype,
            device=device,
        )
        self.ffn = FeedForwardBlock(
            in_len=in_channels, dropout=dropout, act_func=act_func, dtype=dtype, device=device
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.gru(x.transpose(1, 2))[0]
        hidden = self.gru.hidden_size
        x = x[:, :, :hidden] + x[:, :, hidden:]
        return self.ffn(x).transpose(1, 2)


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


class UnetBlock(nn.Module):
    """Borzoi upsampling step: (N, C, L) and skip (N, C_y, 2L) -> (N, C, 2L).

    norm -> act -> 1x1 conv on x, nearest 2x upsampling, plus norm -> act -> 1x1 conv of the
    skip input, then a separable conv (kernel 3).
    """

    def __init__(
        self,
        in_channels: int,
        y_in_channels: int,
        norm_type: str | None = "batch",
        norm_kwargs: dict | None = None,
        act_func: str | None = "gelu_borzoi",
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        kw = {"dtype": dtype, "device": device}
        self.conv = ConvBlock(
            in_channels,
            in_channels,
            1,
            norm=True,
            norm_type=norm_type,
            norm_kwargs=norm_kwargs,
            act_func=act_func,
            order="NACDR",
            **kw,
        )
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.channel_transform = ChannelTransformBlock(
            y_in_channels,
            in_channels,
            norm=True,
            norm_type=norm_type,
            norm_kwargs=norm_kwargs,
            act_func=act_func,
            order="NACD",
            if_equal=True,
            **kw,
        )
        self.sconv = SeparableConv(in_channels, 3, **kw)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        x = self.upsample(self.conv(x))
        return self.sconv(torch.add(x, self.channel_transform(y)))


class UnetTower(nn.Module):
    """One :class:`UnetBlock` per skip input, coarsest first."""

    def __init__(
        self,
        in_channels: int,
        y_in_channels: list[int],
        n_blocks: int,
        act_func: str | None = "gelu_borzoi",
        norm_type: str | None = "batch",
        norm_kwargs: dict | None = None,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        kw = {"norm_type": norm_type, "norm_kwargs": norm_kwargs, "dtype": dtype, "device": device}
        # n_blocks is implied by y_in_channels; kept for gReLU's signature.
        self.blocks = nn.ModuleList(
            [UnetBlock(in_channels, y_c, act_func=act_func, **kw) for y_c in y_in_channels]
        )

    def forward(self, x: Tensor, ys: list[Tensor]) -> Tensor:
        for block, y in zip(self.blocks, ys, strict=True):
            x = block(x, y)
        return x
