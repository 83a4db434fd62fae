"""U-net blocks and tower (Borzoi's upsampling path)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from grelu_cli.model.blocks.conv import ChannelTransformBlock, ConvBlock, SeparableConv


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
