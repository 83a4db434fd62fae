"""Enformer: the architecture with random weights, and the published trunk + a new head."""

from __future__ import annotations

from dataclasses import replace

from grelu_cli.core.geometry import Geometry
from grelu_cli.model.heads import ConvHead
from grelu_cli.model.models.base import ENFORMER_SEQ_LEN, BaseModel
from grelu_cli.model.trunks.enformer import EnformerTrunk


class EnformerModel(BaseModel):
    """Enformer: conv tower with attention pooling, transformer tower, pointwise conv, crop,
    then a 1x1 conv head. Output bins are ``2**n_conv`` bp (128 for the published 7)."""

    def __init__(
        self,
        n_tasks: int,
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
        # Head
        final_act_func: str | None = None,
        final_pool_func: str | None = "avg",
        dtype=None,
        device=None,
    ) -> None:
        embedding = EnformerTrunk(
            n_conv=n_conv,
            channels=channels,
            n_transformers=n_transformers,
            n_heads=n_heads,
            key_len=key_len,
            attn_dropout=attn_dropout,
            pos_dropout=pos_dropout,
            ff_dropout=ff_dropout,
            crop_len=crop_len,
            dtype=dtype,
            device=device,
        )
        head = ConvHead(
            n_tasks=n_tasks,
            in_channels=2 * channels,
            act_func=final_act_func,
            norm=False,
            pool_func=final_pool_func,
            dtype=dtype,
            device=device,
        )
        super().__init__(embedding=embedding, head=head)


class EnformerPretrainedModel(BaseModel):
    """The published Enformer architecture (human: 196,608 bp in, 128 bp bins, 11
    transformers, 3072-channel embedding) with a fresh ``n_tasks`` head. Weights are NOT
    loaded here: the zoo loads a checkpoint into this model (5313 human tracks in gReLU's
    checkpoints). ``n_transformers`` keeps the first that many transformer blocks.
    """

    def __init__(
        self,
        n_tasks: int,
        n_transformers: int = 11,
        # head
        crop_len=0,
        final_pool_func="avg",
        dtype=None,
        device=None,
    ) -> None:
        embedding = EnformerModel(
            crop_len=crop_len,
            n_tasks=1,
            channels=1536,
            n_transformers=n_transformers,
            n_heads=8,
            key_len=64,
            attn_dropout=0.05,
            pos_dropout=0.01,
            ff_dropout=0.4,
            final_act_func=None,
            final_pool_func=None,
            dtype=dtype,
            device=device,
        ).embedding
        head = ConvHead(
            n_tasks=n_tasks,
            in_channels=3072,
            pool_func=final_pool_func,
            dtype=dtype,
            device=device,
        )
        super().__init__(embedding=embedding, head=head)

    def geometry(self) -> Geometry:
        return replace(super().geometry(), default_len=ENFORMER_SEQ_LEN)
