"""Complete models: an ``embedding`` trunk and a ``head``. (N, 4, L) one-hot -> (N, T, L_out).

Class names, constructor arguments (names, order, defaults), submodule names and state_dict
keys follow gReLU 1.1.0, so a gReLU state_dict loads with ``strict=True``. Models never
download, read files or print; the pretrained classes build the published architecture and
leave the weights to :mod:`grelu_cli.zoo`. Every model reports its :class:`Geometry` without
a forward pass and can restrict its outputs to a subset of tasks (:meth:`BaseModel.select_tasks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from torch import Tensor, nn

from grelu_cli.core.geometry import Geometry
from grelu_cli.model.heads import ConvHead, MLPHead
from grelu_cli.model.trunks import (
    ConvGRUTrunk,
    ConvTransformerTrunk,
    ConvTrunk,
    DilatedConvTrunk,
)
from grelu_cli.model.trunks.borzoi import BorzoiTrunk
from grelu_cli.model.trunks.enformer import EnformerTrunk
from grelu_cli.model.trunks.explainn import ExplaiNNTrunk

__all__ = [
    "BaseModel",
    "BorzoiModel",
    "BorzoiPretrainedModel",
    "ConvGRUModel",
    "ConvMLPModel",
    "ConvModel",
    "ConvTransformerModel",
    "DilatedConvModel",
    "EnformerModel",
    "EnformerPretrainedModel",
    "ExplaiNNModel",
]

# Published input lengths of the pretrained architectures.
BORZOI_SEQ_LEN = 524_288
ENFORMER_SEQ_LEN = 196_608


class BaseModel(nn.Module):
    """An ``embedding`` (trunk) followed by a ``head``; the head must have ``n_tasks``."""

    def __init__(self, embedding: nn.Module, head: nn.Module) -> None:
        super().__init__()
        if not hasattr(head, "n_tasks"):
            raise ValueError(f"head {type(head).__name__} has no attribute n_tasks")
        self.embedding = embedding
        self.head = head

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, 4, L) one-hot -> (N, T, L_out)."""
        return self.head(self.embedding(x))

    @property
    def n_tasks(self) -> int:
        """Number of output channels (after any :meth:`select_tasks`)."""
        return self.head.n_tasks

    def geometry(self) -> Geometry:
        """Input-length rules and output-bin map, from the architecture alone (no forward)."""
        trunk_geometry = getattr(self.embedding, "trunk_geometry", None)
        if trunk_geometry is None:
            raise TypeError(
                f"{type(self.embedding).__name__} does not report its geometry "
                "(it needs a trunk_geometry() method)"
            )
        geometry = trunk_geometry()
        pools = isinstance(self.head, MLPHead) or getattr(self.head, "pool_func", None)
        if pools:
            geometry = replace(geometry, pooled=True, global_context=True)
        return geometry

    def select_tasks(self, indices: Sequence[int]) -> None:
        """Keep only output channels ``indices``, in that order, by slicing the head's last layer.

        Afterwards ``model(x)`` equals the full model's ``model(x)[:, indices]`` and computes
        only those channels. Raises ValueError for an empty list or an index out of range.
        """
        select = getattr(self.head, "select_tasks", None)
        if select is None:
            raise TypeError(f"head {type(self.head).__name__} cannot select tasks")
        select(indices)


def _conv_head(n_tasks: int, in_channels: int, pool: str | None, dtype, device) -> ConvHead:
    return ConvHead(
        n_tasks,
        in_channels,
        pool_func=pool,
        act_func=None,
        norm=False,
        dtype=dtype,
        device=device,
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


class ExplaiNNModel(BaseModel):
    """ExplaiNN (Novakovsky et al., Genome Biology 2023): ``channels`` independent CNN units,
    each one filter of width ``kernel_size`` -> batch norm -> exp -> max pool 7 -> its own
    fully-connected layers (100 hidden, then 1), summed per task by a final linear layer.

    gReLU 1.1.0's ExplaiNNModel cannot be constructed (its trunk never calls
    ``super().__init__`` and its first layer's sizes are swapped), so there are no gReLU
    checkpoints to be compatible with. This implementation follows the paper and its reference
    code, keeps gReLU's signature and module names (``embedding.blocks.{0,1,2}.{conv,norm}``,
    ``head.channel_transform.conv.layer`` as the final linear layer), and uses the exact
    pooled length ``(in_len - kernel_size + 1) // 7``. Input length is fixed to ``in_len``;
    the output is one position: (N, 4, in_len) -> (N, n_tasks, 1).
    """

    def __init__(
        self,
        n_tasks: int,
        in_len: int,
        channels=300,
        kernel_size=19,
        dtype=None,
        device=None,
    ) -> None:
        embedding = ExplaiNNTrunk(
            in_len=in_len, channels=channels, kernel_size=kernel_size, dtype=dtype, device=device
        )
        head = ConvHead(n_tasks=n_tasks, in_channels=channels, dtype=dtype, device=device)
        super().__init__(embedding=embedding, head=head)

    def geometry(self) -> Geometry:
        return replace(super().geometry(), pooled=True)


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
