"""Trunks: one-hot DNA (N, 4, L) -> embeddings (N, C, L_emb).

Each trunk reports its geometry (:meth:`trunk_geometry`): bin size, crop, length rule and
receptive field, before any head. The Borzoi, Enformer and ExplaiNN trunks live in their own
modules.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from grelu_cli.core.geometry import Geometry, receptive_field
from grelu_cli.model.blocks import ConvTower, GRUBlock, TransformerTower


def tower_geometry(tower: ConvTower, global_context: bool = False) -> Geometry:
    """Geometry of a :class:`ConvTower` (attention pooling pads odd lengths, so it needs
    lengths that are a multiple of the total pooling)."""
    return Geometry(
        bin_size=tower.pool_factor,
        crop_len=tower.crop.crop_len,
        len_multiple=tower.pool_factor if tower.pool_func == "attn" else 1,
        receptive_field=receptive_field(tower.layer_specs),
        global_context=global_context,
    )


class ConvTrunk(nn.Module):
    """Convolutional trunk: stem + ``n_conv - 1`` conv blocks (order CDNRA) + crop."""

    def __init__(
        self,
        # Stem
        stem_channels: int = 64,
        stem_kernel_size: int = 15,
        # Conv
        n_conv: int = 2,
        channel_init: int = 64,
        channel_mult: float = 1,
        kernel_size: int = 5,
        dilation_init: int = 1,
        dilation_mult: float = 1,
        act_func: str = "relu",
        norm: bool = False,
        pool_func: str | None = None,
        pool_size: int | None = None,
        residual: bool = False,
        dropout: float = 0.0,
        # Crop
        crop_len: int = 0,
        norm_kwargs: dict | None = None,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        self.conv_tower = ConvTower(
            stem_channels=stem_channels,
            stem_kernel_size=stem_kernel_size,
            n_blocks=n_conv,
            channel_init=channel_init,
            channel_mult=channel_mult,
            kernel_size=kernel_size,
            dilation_init=dilation_init,
            dilation_mult=dilation_mult,
            act_func=act_func,
            norm=norm,
            norm_kwargs=norm_kwargs,
            pool_func=pool_func,
            pool_size=pool_size,
            residual=residual,
            dropout=dropout,
            order="CDNRA",
            crop_len=crop_len,
            dtype=dtype,
            device=device,
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.conv_tower(x)

    def trunk_geometry(self) -> Geometry:
        return tower_geometry(self.conv_tower)


class DilatedConvTrunk(nn.Module):
    """ChromBPNet-like trunk: residual conv blocks with dilation 2, 4, 8, ... and a crop.

    ``crop_len="auto"`` crops half of gReLU's receptive-field estimate from each end.
    """

    def __init__(
        self,
        channels: int = 64,
        stem_kernel_size: int = 21,
        kernel_size: int = 3,
        dilation_mult: float = 2,
        act_func: str = "relu",
        n_conv: int = 8,
        crop_len: int | str = "auto",
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        self.conv_tower = ConvTower(
            stem_channels=channels,
            stem_kernel_size=stem_kernel_size,
            n_blocks=n_conv,
            channel_init=channels,
            channel_mult=1,
            kernel_size=kernel_size,
            dilation_init=2,
            dilation_mult=dilation_mult,
            act_func=act_func,
            norm=False,
            pool_func=None,
            pool_size=None,
            residual=True,
            dropout=0.0,
            crop_len=crop_len,
            order="CDNRA",
            dtype=dtype,
            device=device,
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.conv_tower(x)

    def trunk_geometry(self) -> Geometry:
        return tower_geometry(self.conv_tower)


def plain_conv_tower(
    stem_channels: int,
    stem_kernel_size: int,
    n_conv: int,
    channel_init: int,
    channel_mult: float,
    kernel_size: int,
    act_func: str,
    norm: bool,
    pool_func: str | None,
    pool_size: int | None,
    residual: bool,
    crop_len: int,
    dtype: torch.dtype | None,
    device: torch.device | str | None,
) -> ConvTower:
    """The undilated conv tower (order "CDNRA") that the GRU and transformer trunks start with:
    (N, 4, L) -> (N, C, L / pool - 2 * crop_len)."""
    return ConvTower(
        stem_channels=stem_channels,
        stem_kernel_size=stem_kernel_size,
        n_blocks=n_conv,
        channel_init=channel_init,
        channel_mult=channel_mult,
        kernel_size=kernel_size,
        dilation_init=1,
        dilation_mult=1,
        act_func=act_func,
        norm=norm,
        pool_func=pool_func,
        pool_size=pool_size,
        residual=residual,
        order="CDNRA",
        crop_len=crop_len,
        dtype=dtype,
        device=device,
    )


class ConvGRUTrunk(nn.Module):
    """Conv tower, then a bidirectional GRU block (every position sees the whole input)."""

    def __init__(
        self,
        # Stem
        stem_channels: int = 16,
        stem_kernel_size: int = 15,
        # Conv
        n_conv: int = 2,
        channel_init: int = 16,
        channel_mult: float = 1,
        kernel_size: int = 5,
        act_func: str = "relu",
        conv_norm: bool = False,
        pool_func: str | None = None,
        pool_size: int | None = None,
        residual: bool = False,
        # Crop
        crop_len: int = 0,
        # GRU
        n_gru: int = 1,
        dropout: float = 0.0,
        gru_norm: bool = False,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        self.conv_tower = plain_conv_tower(
            stem_channels=stem_channels,
            stem_kernel_size=stem_kernel_size,
            n_conv=n_conv,
            channel_init=channel_init,
            channel_mult=channel_mult,
            kernel_size=kernel_size,
            act_func=act_func,
            norm=conv_norm,
            pool_func=pool_func,
            pool_size=pool_size,
            residual=residual,
            crop_len=crop_len,
            dtype=dtype,
            device=device,
        )
        self.gru_tower = GRUBlock(
            in_channels=self.conv_tower.out_channels,
            n_layers=n_gru,
            dropout=dropout,
            act_func=act_func,
            norm=gru_norm,
            dtype=dtype,
            device=device,
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.gru_tower(self.conv_tower(x))

    def trunk_geometry(self) -> Geometry:
        return tower_geometry(self.conv_tower, global_context=True)


class ConvTransformerTrunk(nn.Module):
    """Conv tower, then transformer blocks with relative positions (global context)."""

    def __init__(
        self,
        # Stem
        stem_channels: int = 16,
        stem_kernel_size: int = 15,
        # Conv
        n_conv: int = 2,
        channel_init: int = 16,
        channel_mult: float = 1,
        kernel_size: int = 5,
        act_func: str = "relu",
        norm: bool = False,
        pool_func: str | None = None,
        pool_size: int | None = None,
        residual: bool = False,
        # Crop
        crop_len: int = 0,
        # Transformer
        n_transformers: int = 1,
        key_len: int = 8,
        value_len: int = 8,
        n_heads: int = 1,
        n_pos_features: int = 4,
        pos_dropout: float = 0.0,
        attn_dropout: float = 0.0,
        ff_dropout: float = 0.0,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        self.conv_tower = plain_conv_tower(
            stem_channels=stem_channels,
            stem_kernel_size=stem_kernel_size,
            n_conv=n_conv,
            channel_init=channel_init,
            channel_mult=channel_mult,
            kernel_size=kernel_size,
            act_func=act_func,
            norm=norm,
            pool_func=pool_func,
            pool_size=pool_size,
            residual=residual,
            crop_len=crop_len,
            dtype=dtype,
            device=device,
        )
        self.transformer_tower = TransformerTower(
            in_channels=self.conv_tower.out_channels,
            n_blocks=n_transformers,
            n_heads=n_heads,
            n_pos_features=n_pos_features,
            key_len=key_len,
            value_len=value_len,
            pos_dropout=pos_dropout,
            attn_dropout=attn_dropout,
            ff_dropout=ff_dropout,
            dtype=dtype,
            device=device,
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.transformer_tower(self.conv_tower(x))

    def trunk_geometry(self) -> Geometry:
        return tower_geometry(self.conv_tower, global_context=True)
