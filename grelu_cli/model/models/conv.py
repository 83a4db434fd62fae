"""Convolutional models: plain, dilated, with a GRU, with transformers, with an MLP head."""

from __future__ import annotations

from dataclasses import replace

from grelu_cli.core.geometry import Geometry
from grelu_cli.model.heads import MLPHead
from grelu_cli.model.models.base import BaseModel, _conv_head
from grelu_cli.model.trunks import (
    ConvGRUTrunk,
    ConvTransformerTrunk,
    ConvTrunk,
    DilatedConvTrunk,
)


class ConvModel(BaseModel):
    """Convolutional model: stem + ``n_conv - 1`` conv blocks (optional pooling, residuals,
    batch norm, dilation), crop, then a 1x1 conv head with optional final pooling."""

    def __init__(
        self,
        n_tasks: int,
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
        # Final pool
        final_pool_func: str = "avg",
        dtype=None,
        device=None,
    ) -> None:
        embedding = ConvTrunk(
            stem_channels=stem_channels,
            stem_kernel_size=stem_kernel_size,
            n_conv=n_conv,
            channel_init=channel_init,
            channel_mult=channel_mult,
            kernel_size=kernel_size,
            dilation_init=dilation_init,
            dilation_mult=dilation_mult,
            act_func=act_func,
            norm=norm,
            pool_func=pool_func,
            pool_size=pool_size,
            residual=residual,
            dropout=dropout,
            crop_len=crop_len,
            dtype=dtype,
            device=device,
        )
        out_channels = embedding.conv_tower.out_channels
        head = _conv_head(n_tasks, out_channels, final_pool_func, dtype, device)
        super().__init__(embedding=embedding, head=head)


class DilatedConvModel(BaseModel):
    """ChromBPNet-like model: residual dilated conv blocks, crop ("auto": half of gReLU's
    receptive-field estimate), then a 1x1 conv head with optional final pooling."""

    def __init__(
        self,
        n_tasks: int,
        channels: int = 64,
        stem_kernel_size: int = 21,
        kernel_size: int = 3,
        dilation_mult: float = 2,
        act_func: str = "relu",
        n_conv: int = 8,
        crop_len: int | str = "auto",
        final_pool_func: str = "avg",
        dtype=None,
        device=None,
    ) -> None:
        embedding = DilatedConvTrunk(
            channels=channels,
            stem_kernel_size=stem_kernel_size,
            n_conv=n_conv,
            kernel_size=kernel_size,
            dilation_mult=dilation_mult,
            act_func=act_func,
            crop_len=crop_len,
            dtype=dtype,
            device=device,
        )
        head = _conv_head(n_tasks, channels, final_pool_func, dtype, device)
        super().__init__(embedding=embedding, head=head)


class ConvGRUModel(BaseModel):
    """Conv tower, bidirectional GRU and feed-forward block, then a 1x1 conv head."""

    def __init__(
        self,
        n_tasks: int,
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
        # Final pool
        final_pool_func: str = "avg",
        dtype=None,
        device=None,
    ) -> None:
        embedding = ConvGRUTrunk(
            stem_channels=stem_channels,
            stem_kernel_size=stem_kernel_size,
            n_conv=n_conv,
            channel_init=channel_init,
            channel_mult=channel_mult,
            kernel_size=kernel_size,
            act_func=act_func,
            conv_norm=conv_norm,
            pool_func=pool_func,
            pool_size=pool_size,
            residual=residual,
            crop_len=crop_len,
            n_gru=n_gru,
            dropout=dropout,
            gru_norm=gru_norm,
            dtype=dtype,
            device=device,
        )
        out_channels = embedding.conv_tower.out_channels
        head = _conv_head(n_tasks, out_channels, final_pool_func, dtype, device)
        super().__init__(embedding=embedding, head=head)


class ConvTransformerModel(BaseModel):
    """Conv tower, transformer blocks (relative positions), then a 1x1 conv head."""

    def __init__(
        self,
        n_tasks: int,
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
        n_transformers=1,
        key_len: int = 8,
        value_len: int = 8,
        n_heads: int = 1,
        n_pos_features: int = 4,
        pos_dropout: float = 0.0,
        attn_dropout: float = 0.0,
        ff_dropout: float = 0.0,
        # Final pool
        final_pool_func: str = "avg",
        dtype=None,
        device=None,
    ) -> None:
        embedding = ConvTransformerTrunk(
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
            n_transformers=n_transformers,
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
        out_channels = embedding.conv_tower.out_channels
        head = _conv_head(n_tasks, out_channels, final_pool_func, dtype, device)
        super().__init__(embedding=embedding, head=head)


class ConvMLPModel(BaseModel):
    """Conv tower, then an MLP over the flattened embedding: fixed input length ``seq_len``,
    one output position. Note the argument order (``seq_len`` first), as in gReLU."""

    def __init__(
        self,
        seq_len: int,
        n_tasks: int,
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
        residual: bool = True,
        # MLP
        mlp_norm: bool = False,
        mlp_act_func: str | None = "relu",
        mlp_hidden_size: list[int] = [8],  # noqa: B006 (gReLU's default; never mutated)
        dropout: float = 0.0,
        dtype=None,
        device=None,
    ) -> None:
        # gReLU builds this trunk without dtype/device; passing them makes bf16 work.
        embedding = ConvTrunk(
            stem_channels=stem_channels,
            stem_kernel_size=stem_kernel_size,
            n_conv=n_conv,
            channel_init=channel_init,
            channel_mult=channel_mult,
            kernel_size=kernel_size,
            dilation_init=1,
            dilation_mult=1,
            act_func=act_func,
            norm=conv_norm,
            pool_func=pool_func,
            pool_size=pool_size,
            residual=residual,
            crop_len=0,
            dtype=dtype,
            device=device,
        )
        head = MLPHead(
            n_tasks=n_tasks,
            in_len=seq_len // embedding.conv_tower.pool_factor,
            in_channels=embedding.conv_tower.out_channels,
            hidden_size=mlp_hidden_size,
            norm=mlp_norm,
            act_func=mlp_act_func,
            dropout=dropout,
            dtype=dtype,
            device=device,
        )
        super().__init__(embedding=embedding, head=head)
        self.seq_len = seq_len

    def geometry(self) -> Geometry:
        return replace(super().geometry(), fixed_len=self.seq_len, default_len=self.seq_len)
