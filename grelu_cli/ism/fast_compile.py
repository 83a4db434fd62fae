"""Fast ISM's compiler: a model's modules -> the layer steps of :mod:`.fast_steps` (with the
difference paths of :mod:`.fast_delta` and the GRU step of :mod:`.fast_gru`), or
:class:`FastISMUnsupportedError` naming the first module whose outputs it cannot localise.

Each served structure is matched exactly (classes and their ``forward``); what is served and
why is in :mod:`grelu_cli.ism.fast`'s docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from grelu_cli.errors import UsageError
from grelu_cli.ism.fast_delta import DeltaLinear, DeltaResidual, FlattenLinear
from grelu_cli.ism.fast_gru import GRUStep, gru_servable
from grelu_cli.ism.fast_steps import (
    Conv,
    Crop,
    Full,
    Pointwise,
    Pool,
    Residual,
    Step,
    Whole,
)
from grelu_cli.model.blocks import (
    ChannelTransformBlock,
    ConvBlock,
    ConvTower,
    GRUBlock,
    LinearBlock,
    Stem,
)
from grelu_cli.model.heads import ConvHead, MLPHead
from grelu_cli.model.inference import InferenceBorzoiTrunk, InferenceEnformerTrunk
from grelu_cli.model.layers import (
    Activation,
    AdaptivePool,
    AttentionPool,
    ChannelTransform,
    Dropout,
    EnformerGELU,
    Exp,
    Norm,
    TaskSelect,
)
from grelu_cli.model.models.base import BaseModel
from grelu_cli.model.trunks import ConvGRUTrunk, ConvTrunk, DilatedConvTrunk
from grelu_cli.model.trunks.borzoi import BorzoiConvTower, BorzoiTrunk
from grelu_cli.model.trunks.enformer import EnformerConvTower, EnformerTrunk
from grelu_cli.model.trunks.explainn import ExplaiNNTrunk


class FastISMUnsupportedError(UsageError):
    """The model has a layer whose outputs fast ISM cannot localise (exit 2): use plain ISM."""


#: Elementwise activation modules (each output position from the same input position only).
_ELEMENTWISE = (nn.ReLU, nn.ELU, nn.GELU, nn.Softplus, nn.Sigmoid, nn.Tanh, Exp, EnformerGELU)


def _refuse(what: str) -> FastISMUnsupportedError:
    return FastISMUnsupportedError(
        f"fast ISM cannot compute {what} on a window", fix="run plain ISM for this model"
    )


def _pointwise(module: nn.Module, where: str) -> Pointwise | None:
    """A position-wise wrapper layer as a step, None for an identity; refuses anything else."""
    layer = getattr(module, "layer", module)
    if isinstance(layer, nn.Identity):
        return None
    if isinstance(module, Activation) and isinstance(layer, _ELEMENTWISE):
        return Pointwise(layer)
    if isinstance(module, Norm) and type(layer) is nn.BatchNorm1d:
        if layer.training or layer.running_mean is None or layer.running_var is None:
            raise _refuse(f"{where}: batch norm without eval-mode running statistics")
        return Pointwise(layer)
    if isinstance(module, Dropout) and isinstance(layer, nn.Dropout):
        if layer.training:
            raise _refuse(f"{where}: dropout in training mode")
        return None
    if isinstance(module, ChannelTransform):
        if isinstance(layer, TaskSelect):
            return Pointwise(layer)
        if isinstance(layer, nn.Conv1d) and _is_1x1(layer):
            return Pointwise(_matmul_1x1(layer) if layer.groups == 1 else layer)
    raise _refuse(f"{where} ({type(layer).__name__})")


def _matmul_1x1(conv: nn.Conv1d) -> Callable[[Tensor], Tensor]:
    """A 1x1 convolution as a matmul over channels: on the channels-last, often sliced,
    windows the convolution modules copy and reorder first (10x slower measured here)."""
    weight_t = conv.weight[:, :, 0].t()  # (C_in, C_out)
    bias = conv.bias

    def apply(x: Tensor) -> Tensor:
        y = torch.matmul(x.transpose(1, 2), weight_t)  # (N, L, C_out)
        if bias is not None:
            y = y + bias
        return y.transpose(1, 2)

    return apply


def _is_1x1(conv: nn.Conv1d) -> bool:
    return (
        conv.kernel_size[0] == 1
        and conv.stride[0] == 1
        and conv.dilation[0] == 1
        and conv.padding in ("same", "valid", (0,))
    )


def _conv(conv: nn.Module, where: str) -> Conv:
    if not isinstance(conv, nn.Conv1d) or conv.stride[0] != 1 or conv.padding_mode != "zeros":
        raise _refuse(f"{where} ({type(conv).__name__}; needs a stride-1 zero-padded Conv1d)")
    return Conv.of(conv)


def _pool(pool: nn.Module, where: str) -> Pool | None:
    layer = getattr(pool, "layer", pool)
    if isinstance(layer, nn.Identity):
        return None
    if isinstance(layer, AttentionPool):
        return Pool(layer.pool_size, lambda x: AttentionPool.forward(layer, x), drops_tail=False)
    if isinstance(layer, (nn.MaxPool1d, nn.AvgPool1d)):
        k, s, pad = (_one(getattr(layer, a)) for a in ("kernel_size", "stride", "padding"))
        dil = _one(getattr(layer, "dilation", 1))
        if k == s and pad == 0 and dil == 1 and not layer.ceil_mode:
            return Pool(k, layer)
    raise _refuse(f"{where} ({type(layer).__name__}; needs non-overlapping pooling)")


def _one(v: int | tuple[int, ...]) -> int:
    return int(v[0]) if isinstance(v, tuple) else int(v)


def _some(*steps: Step | None) -> list[Step]:
    return [s for s in steps if s is not None]


def _block(block: nn.Module, where: str) -> list[Step]:
    if isinstance(block, Stem):
        return _some(
            _conv(block.conv, f"{where}.conv"),
            _pointwise(block.act, f"{where}.act"),
            _pool(block.pool, f"{where}.pool"),
        )
    if not isinstance(block, ConvBlock) or block.return_pre_pool:
        raise _refuse(f"{where} ({type(block).__name__})")
    inner: list[Step | None] = []
    for letter in block.order:
        if letter == "C":
            inner.append(_conv(block.conv, f"{where}.conv"))
        elif letter == "R":
            if block.residual:
                inner.append(None)  # the residual add (see Residual)
        else:
            name = {"D": "dropout", "N": "norm", "A": "act"}[letter]
            step = _pointwise(getattr(block, name), f"{where}.{name}")
            if step is not None:
                inner.append(step)
    if block.residual:
        transform = _pointwise(block.channel_transform, f"{where}.channel_transform")
        fn: Callable[[Tensor], Tensor] = transform.fn if transform else (lambda x: x)
        residual = Residual(inner, fn, identity=transform is None)
        candidate = residual.delta_candidate()
        if candidate is not None:
            residual.delta = DeltaResidual(*candidate)
        steps: list[Step] = [residual]
    else:
        steps = [s for s in inner if s is not None]
    return steps + _some(_pool(block.pool, f"{where}.pool"))


def _tower(tower: Any, where: str) -> list[Step]:
    if type(tower).forward is not ConvTower.forward:
        raise _refuse(f"{where} ({type(tower).__name__})")
    steps: list[Step] = []
    for i, block in enumerate(tower.blocks):
        steps += _block(block, f"{where}.blocks.{i}")
    return [*steps, Crop(int(tower.crop.crop_len))]


def _explainn(trunk: ExplaiNNTrunk, where: str) -> list[Step]:
    blocks: Any = trunk.blocks
    first, *rest = blocks
    conv = first.conv
    # Unit u's grouped conv reads the u-th copy of the repeated input: the same as an ordinary
    # conv of the one-hot input with the weight (units, 4, k).
    steps: list[Step] = [Conv(conv.weight, conv.bias, int(conv.dilation[0]), 1, "valid")]
    steps += _some(
        _pointwise(first.norm, f"{where}.blocks.0.norm"),
        _pointwise(first.act, f"{where}.blocks.0.act"),
        _pointwise(first.dropout, f"{where}.blocks.0.dropout"),
        _pool(first.pool, f"{where}.blocks.0.pool"),
    )
    second = rest[0]
    if second.pool is not None or not isinstance(second.conv, nn.Conv1d):
        raise _refuse(f"{where}.blocks.1 ({type(second).__name__})")
    # The flatten and the units' first fully-connected layer, incrementally; the rest reads
    # one position per unit (the whole activation) and runs as it is.
    steps.append(FlattenLinear(second.conv, trunk.channels))
    steps += [Whole(m) for m in (second.norm, second.act, second.dropout)]
    steps += [Whole(block) for block in rest[1:]]
    return steps


def _enformer(trunk: Any, where: str) -> list[Step]:
    """Enformer's conv tower (stem conv, then conv and residual 1x1 blocks with attention
    pooling) incrementally; the transformer tower and the pointwise tail, which read every
    position, on the whole activation (as the trunk's own forward orders them)."""
    tower = trunk.conv_tower
    if type(tower).forward is not EnformerConvTower.forward:
        raise _refuse(f"{where}.conv_tower ({type(tower).__name__})")
    steps: list[Step] = []
    for i, seq in enumerate(tower.blocks):
        if type(seq) is not nn.Sequential:
            raise _refuse(f"{where}.conv_tower.blocks.{i} ({type(seq).__name__})")
        for j, module in enumerate(seq):
            at = f"{where}.conv_tower.blocks.{i}.{j}"
            steps += [_conv(module, at)] if isinstance(module, nn.Conv1d) else _block(module, at)
    t = trunk
    if type(t) is EnformerTrunk:

        def tail(x: Tensor) -> Tensor:
            return t.crop(t.act(t.pointwise_conv(t.transformer_tower(x))))

    else:  # InferenceEnformerTrunk: crops first (the tail is position-wise)

        def tail(x: Tensor) -> Tensor:
            return t.act(t.pointwise_conv(t.crop(t.transformer_tower(x))))

    return [*steps, Full(), Whole(tail)]


def _mlp_head(head: MLPHead) -> list[Step]:
    """The first linear layer incrementally (:class:`DeltaLinear`) when nothing before it
    reads the whole activation (no layer norm); the rest on its (short) output."""
    first, rest = head.blocks[0], list(head.blocks[1:])
    if type(first) is not LinearBlock or not isinstance(first.norm.layer, nn.Identity):
        return [Full(), Whole(head)]

    def tail(y: Tensor) -> Tensor:  # MLPHead.forward after the first linear layer
        y = first.act(first.dropout(y))
        for block in rest:
            y = block(y)
        return y.transpose(1, 2)

    return [DeltaLinear(first.linear, head.in_channels), Whole(tail)]


def _borzoi(trunk: Any, where: str) -> list[Step]:
    """Borzoi's stem and conv blocks up to the U-net's skips on the window; the last two conv
    blocks (their pre-pooling activations feed the U-net), the transformer tower, the U-net
    and the pointwise tail on the whole activation, as the trunk's own forward orders them."""
    tower = trunk.conv_tower
    if type(tower).forward is not BorzoiConvTower.forward:
        raise _refuse(f"{where}.conv_tower ({type(tower).__name__})")
    blocks = list(tower.blocks)
    steps: list[Step] = []
    for i, block in enumerate(blocks[:-2]):
        steps += _block(block, f"{where}.conv_tower.blocks.{i}")
    skip1, skip0 = blocks[-2:]
    t = trunk
    crop_first = type(t) is InferenceBorzoiTrunk

    def tail(x: Tensor) -> Tensor:
        x, y1 = skip1(x)
        x, y0 = skip0(x)
        x = t.unet_tower(t.transformer_tower(x), [y0, y1])
        if crop_first:
            return t.act(t.pointwise_conv(t.crop(x)))
        return t.crop(t.act(t.pointwise_conv(x)))

    return [*steps, Full(), Whole(tail)]


def _head(head: nn.Module, where: str) -> list[Step]:
    if type(head) is MLPHead:
        return _mlp_head(head)
    if not isinstance(head, ConvHead) or type(head.channel_transform) is not ChannelTransformBlock:
        raise _refuse(f"{where} ({type(head).__name__})")
    block = head.channel_transform
    names = {"C": "conv", "D": "dropout", "N": "norm", "A": "act"}
    steps = _some(
        *(_pointwise(getattr(block, names[c]), f"{where}.{names[c]}") for c in block.order)
    )
    pool = head.pool
    if not isinstance(pool, AdaptivePool):
        raise _refuse(f"{where}.pool ({type(pool).__name__})")
    steps.append(Full())
    if not isinstance(pool.layer, nn.Identity):
        steps.append(Whole(pool.layer))
    return steps


def compile_steps(model: nn.Module) -> list[Step]:
    """The layer steps of ``model`` (see the module docstring for what is served).

    Raises FastISMUnsupportedError, naming the first layer it cannot localise.
    """
    if not isinstance(model, BaseModel) or type(model).forward is not BaseModel.forward:
        raise _refuse(f"model {type(model).__name__} (not a trunk + head model)")
    if model.training:
        raise _refuse("a model in training mode (call model.eval())")
    trunk: Any = model.embedding
    if type(trunk) in (ConvTrunk, DilatedConvTrunk):
        steps = _tower(trunk.conv_tower, "embedding.conv_tower")
    elif type(trunk) is ExplaiNNTrunk:
        steps = _explainn(trunk, "embedding")
    elif type(trunk) is ConvGRUTrunk:
        steps = _tower(trunk.conv_tower, "embedding.conv_tower")
        gru = trunk.gru_tower
        if type(gru) is not GRUBlock or not gru_servable(gru):
            raise _refuse(f"embedding.gru_tower ({type(gru).__name__}; needs one GRU layer)")
        steps.append(GRUStep(gru))
    elif type(trunk) in (BorzoiTrunk, InferenceBorzoiTrunk):
        steps = _borzoi(trunk, "embedding")
    elif type(trunk) in (EnformerTrunk, InferenceEnformerTrunk):
        steps = _enformer(trunk, "embedding")
    else:
        raise _refuse(f"the {type(trunk).__name__} trunk (every output reads every position)")
    steps += _head(model.head, "head")
    if not isinstance(steps[-1], (Full, Whole)):
        steps.append(Full())
    return steps
