"""Borzoi trunk: conv tower, transformer tower, two-step U-net, pointwise conv and crop.

(N, 4, L) -> (N, round(1.25 * channels), L / 2**(n_conv - 2) - 2 * crop_len). The conv tower
halves the length ``n_conv`` times (stem included); the U-net doubles it twice, adding the
pre-pooling outputs of the last two conv blocks. L must be a multiple of ``2**n_conv``.
"""

from __future__ import annotations

from torch import Tensor, nn

from grelu_cli.core.geometry import Geometry, receptive_field
from grelu_cli.model.blocks import ConvBlock, Stem, TransformerTower, UnetTower
from grelu_cli.model.layers import Activation, Crop
from grelu_cli.model.position import exponential_linspace_int


class BorzoiConvTower(nn.Module):
    """Stem (conv + max pool 2) and ``n_blocks - 1`` blocks (norm, act, conv, max pool 2).

    Forward returns ``(x, y0, y1)``: the output, and the pre-pooling activations of the last
    and second-to-last blocks (skip inputs of the U-net).
    """

    def __init__(
        self,
        stem_channels: int,
        stem_kernel_size: int,
        init_channels: int,
        out_channels: int,
        kernel_size: int,
        n_blocks: int,
        norm_type: str | None = "batch",
        norm_kwargs: dict | None = None,
        act_func: str | None = "gelu_borzoi",
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        if n_blocks < 3:
            raise ValueError(f"Borzoi needs n_conv >= 3 (two U-net skips), got {n_blocks}")
        kw = {"dtype": dtype, "device": device}
        self.blocks = nn.ModuleList()
        self.blocks.append(
            Stem(
                out_channels=stem_channels,
                kernel_size=stem_kernel_size,
                act_func=None,
                pool_func="max",
                pool_size=2,
                **kw,
            )
        )
        self.filters = [
            stem_channels,
            *exponential_linspace_int(init_channels, out_channels, n_blocks - 1, 32),
        ]
        self.layer_specs: list[tuple] = [("conv", stem_kernel_size, 1), ("pool", 2)]
        for i in range(1, n_blocks):
            self.blocks.append(
                ConvBlock(
                    in_channels=self.filters[i - 1],
                    out_channels=self.filters[i],
                    kernel_size=kernel_size,
                    norm=True,
                    norm_type=norm_type,
                    norm_kwargs=norm_kwargs,
                    act_func=act_func,
                    order="NACDR",
                    pool_func="max",
                    pool_size=2,
                    return_pre_pool=(i > (n_blocks - 3)),
                    **kw,
                )
            )
            self.layer_specs += [("conv", kernel_size, 1), ("pool", 2)]

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        for block in self.blocks[:-2]:
            x = block(x)
        x, y1 = self.blocks[-2](x)
        x, y0 = self.blocks[-1](x)
        return x, y0, y1


class BorzoiTrunk(nn.Module):
    """Borzoi's trunk (see module docstring). Every output position sees the whole input."""

    def __init__(
        self,
        # Stem
        stem_channels: int,
        stem_kernel_size: int,
        # Conv tower
        init_channels: int,
        n_conv: int,
        kernel_size: int,
        channels: int,
        # Transformer tower
        n_transformers: int,
        key_len: int,
        value_len: int,
        pos_dropout: float,
        attn_dropout: float,
        ff_dropout: float,
        n_heads: int,
        n_pos_features: int,
        # Crop
        crop_len: int,
        flash_attn: bool,
        norm_type: str | None = "batch",
        norm_kwargs: dict | None = None,
        act_func: str | None = "gelu_borzoi",
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        kw = {"dtype": dtype, "device": device}
        self.n_conv = n_conv
        self.conv_tower = BorzoiConvTower(
            stem_channels=stem_channels,
            stem_kernel_size=stem_kernel_size,
            init_channels=init_channels,
            out_channels=channels,
            kernel_size=kernel_size,
            n_blocks=n_conv,
            act_func=act_func,
            norm_type=norm_type,
            norm_kwargs=norm_kwargs,
            **kw,
        )
        self.transformer_tower = TransformerTower(
            n_blocks=n_transformers,
            in_channels=channels,
            key_len=key_len,
            value_len=value_len,
            pos_dropout=pos_dropout,
            attn_dropout=attn_dropout,
            ff_dropout=ff_dropout,
            norm_kwargs=norm_kwargs,
            n_heads=n_heads,
            n_pos_features=n_pos_features,
            flash_attn=flash_attn,
            **kw,
        )
        self.unet_tower = UnetTower(
            n_blocks=2,
            in_channels=channels,
            y_in_channels=[channels, self.conv_tower.filters[-2]],
            act_func=act_func,
            norm_type=norm_type,
            norm_kwargs=norm_kwargs,
            **kw,
        )
        self.pointwise_conv = ConvBlock(
            in_channels=channels,
            out_channels=round(channels * 1.25),
            kernel_size=1,
            act_func=act_func,
            dropout=0.1,
            norm=True,
            order="NACDR",
            norm_type=norm_type,
            norm_kwargs=norm_kwargs,
            **kw,
        )
        self.act = Activation(act_func)
        self.crop = Crop(crop_len=crop_len)

    def forward(self, x: Tensor) -> Tensor:
        x, y0, y1 = self.conv_tower(x)
        x = self.transformer_tower(x)
        x = self.unet_tower(x, [y0, y1])
        x = self.pointwise_conv(x)
        return self.crop(self.act(x))

    def trunk_geometry(self) -> Geometry:
        return Geometry(
            bin_size=2 ** (self.n_conv - 2),
            crop_len=self.crop.crop_len,
            len_multiple=2**self.n_conv,
            receptive_field=receptive_field(self.conv_tower.layer_specs),
            global_context=True,
        )
