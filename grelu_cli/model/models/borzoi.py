"""Borzoi: the architecture with random weights, and the published trunk + a new head."""

from __future__ import annotations

from dataclasses import replace

from grelu_cli.core.geometry import Geometry
from grelu_cli.model.heads import ConvHead
from grelu_cli.model.models.base import BORZOI_SEQ_LEN, BaseModel
from grelu_cli.model.trunks.borzoi import BorzoiTrunk


class BorzoiModel(BaseModel):
    """Borzoi: conv tower, transformer tower, U-net, crop, then a 1x1 conv head.

    Output bins are ``2**(n_conv - 2)`` bp (32 for the published 7); inputs must be a multiple
    of ``2**n_conv`` bp. ``flash_attn=True`` swaps in rotary-position attention computed with
    ``scaled_dot_product_attention`` (gReLU needs the CUDA flash-attn package for it); then
    ``key_len``, ``value_len``, ``pos_dropout`` and ``n_pos_features`` are ignored.
    ``norm_kwargs`` defaults to ``{"eps": 0.001}``.
    """

    def __init__(
        self,
        n_tasks: int,
        # Stem
        stem_channels: int = 512,
        stem_kernel_size: int = 15,
        # Conv tower
        init_channels: int = 608,
        channels: int = 1536,
        n_conv: int = 7,
        kernel_size: int = 5,
        # Transformer tower
        n_transformers: int = 8,
        key_len: int = 64,
        value_len: int = 192,
        pos_dropout: float = 0.01,
        attn_dropout: float = 0.05,
        ff_dropout: float = 0.2,
        norm_kwargs: dict | None = None,
        n_heads: int = 8,
        n_pos_features: int = 32,
        # Head
        crop_len: int = 16,
        act_func: str = "gelu_borzoi",
        final_act_func: str | None = None,
        final_pool_func: str | None = "avg",
        flash_attn=False,
        dtype=None,
        device=None,
    ) -> None:
        norm_kwargs = norm_kwargs or {"eps": 0.001}
        embedding = BorzoiTrunk(
            stem_channels=stem_channels,
            stem_kernel_size=stem_kernel_size,
            init_channels=init_channels,
            channels=channels,
            n_conv=n_conv,
            kernel_size=kernel_size,
            n_transformers=n_transformers,
            key_len=key_len,
            value_len=value_len,
            pos_dropout=pos_dropout,
            attn_dropout=attn_dropout,
            ff_dropout=ff_dropout,
            norm_kwargs=norm_kwargs,
            n_heads=n_heads,
            n_pos_features=n_pos_features,
            crop_len=crop_len,
            flash_attn=flash_attn,
            act_func=act_func,
            dtype=dtype,
            device=device,
        )
        head = ConvHead(
            n_tasks,
            in_channels=round(channels * 1.25),
            norm=False,
            norm_kwargs=norm_kwargs,
            act_func=final_act_func,
            pool_func=final_pool_func,
            dtype=dtype,
            device=device,
        )
        super().__init__(embedding=embedding, head=head)


class BorzoiPretrainedModel(BaseModel):
    """The published Borzoi architecture (human: 524,288 bp in, 32 bp bins, 8 transformers,
    1920-channel embedding) with a fresh ``n_tasks`` head. Weights are NOT loaded here: the
    zoo loads a checkpoint into this model (7611 human tracks in gReLU's checkpoints).

    ``fold`` selected which published replicate gReLU downloaded; it is accepted for
    signature compatibility and ignored. ``n_transformers`` keeps the first that many
    transformer blocks, as gReLU's truncation does.
    """

    def __init__(
        self,
        n_tasks: int,
        # weights
        fold: int = 0,
        n_transformers: int = 8,
        # head
        crop_len=0,
        act_func="gelu_borzoi",
        norm_kwargs: dict | None = None,
        final_pool_func="avg",
        dtype=None,
        device=None,
    ) -> None:
        norm_kwargs = norm_kwargs or {"eps": 0.001}
        embedding = BorzoiModel(
            crop_len=crop_len,
            n_tasks=1,
            stem_channels=512,
            stem_kernel_size=15,
            init_channels=608,
            n_conv=7,
            kernel_size=5,
            n_transformers=n_transformers,
            key_len=64,
            value_len=192,
            pos_dropout=0.01,
            attn_dropout=0.05,
            ff_dropout=0.2,
            norm_kwargs=norm_kwargs,
            n_heads=8,
            n_pos_features=32,
            act_func=act_func,
            final_act_func=None,
            final_pool_func=None,
            dtype=dtype,
            device=device,
        ).embedding
        head = ConvHead(
            n_tasks=n_tasks,
            in_channels=1920,
            pool_func=final_pool_func,
            dtype=dtype,
            device=device,
        )
        super().__init__(embedding=embedding, head=head)
        self.fold = fold

    def geometry(self) -> Geometry:
        return replace(super().geometry(), default_len=BORZOI_SEQ_LEN)
