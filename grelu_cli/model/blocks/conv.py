"""Convolution blocks and towers: (N, C, L) -> (N, C', L')."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from grelu_cli.model.layers import Activation, ChannelTransform, Crop, Dropout, Norm, Pool


def _check_order(order: str, letters: str) -> None:
    if sorted(order) != sorted(letters):
        raise ValueError(f"order {order!r} must contain each of {letters!r} exactly once")


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
            # (Pool refuses a pool_func without a pool_size, so this is "if pool_func")
            if pool_func is not None and pool_size is not None:
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
