"""Fast ISM for convolution-only models: each mutant is computed only where the mutation can
change the activations (its receptive field, layer by layer), the reference elsewhere.

kundajelab/fastISM's idea (Nair et al., Bioinformatics 2022) for this package's PyTorch
models. The reference window runs once through :meth:`FastISM.reference`, which keeps every
layer's input; then :meth:`FastISM.mutants` takes a batch of ``(offset, base)`` mutants and
runs each layer only on the window its inputs changed in, widened by the kernel's reach
(dilation included), mapped through pooling (non-overlapping blocks) and cropping exactly, and
expanded to the whole activation only where a layer reads every position (a final pool over
length, ExplaiNN's flatten and fully-connected units, an MLP head). Eval-mode batch norm,
activations, dropout and 1x1 convolutions are per position. See :mod:`.fast_steps`.

Served (exact module structure, checked; everything else raises
:class:`FastISMUnsupportedError`, and the caller runs plain ISM, :mod:`.plain`):

* ``ConvModel`` and ``DilatedConvModel`` (:class:`ConvTrunk`/:class:`DilatedConvTrunk`: stem,
  conv blocks in any CDNRA order with residuals, max/avg/attention pooling, crop) with a conv
  head (1x1 conv, optional norm/activation, optional final avg/max pool), and the same trunk
  with an MLP head (``ConvMLPModel``);
* ``ExplaiNNModel`` (units' convolution, batch norm, exp and max pool computed on the window;
  the flatten, the units' fully-connected layers and the head on the whole pooled activation);
* ``EnformerModel``: its conv tower (stem, conv blocks, residual 1x1 blocks, attention
  pooling) on the window, then the transformer tower, pointwise tail and head on the whole
  (pooled, so short) activation. The conv tower is most of Enformer's cost on a CPU.

Dilated residual blocks take a difference path (:mod:`.fast_delta`): the convolution of the
input's change instead of the output window's convolution, about half the products.

* ``ConvGRUModel`` with one GRU layer: the conv tower on the window, then each GRU direction
  only over the positions whose state the mutants change (:mod:`.fast_gru`), the feed-forward
  block and head on the whole activation.

* ``BorzoiModel``: the stem and the conv blocks before the U-net's skips on the window; the
  last two conv blocks, the transformer tower, the U-net, the tail and head on the whole
  activation.

Not served: ``ConvTransformerModel`` (its conv tower is a small part of the cost; every
transformer output reads every position), GRU towers of more than one layer. Models
in training mode and batch norm in training mode are refused too (their statistics depend on
the batch).

Original or rewritten modules: the steps read each layer's parameters and call the functional
ops (``F.conv1d`` on a window with explicit padding) or the layer modules on windows, so they
serve both the checkpoint's modules and the CPU rewrites of
:func:`grelu_cli.model.inference.optimize_for_inference` (folded batch norms are then
identities, channels-last convs are ``nn.Conv1d`` subclasses with the same weights, the
pool-first head computes the same mean). The engine should pass the model it predicts with
(rewritten on CPU): fast ISM then equals that model's own outputs within float32 rounding.
Computation runs in the dtype of the model's parameters (no autocast).

Augmentation (``--rc``/``--shifts``) stays the engine's, as for plain ISM: a shifted window is
another reference window (its own :meth:`FastISM.reference`, offsets moved by the shift), and a
reverse-complemented pass is the reverse-complement window with
:func:`grelu_cli.ism.mutants.reverse_complement_mutants`, its outputs flipped back as the
engine flips any reverse-complemented prediction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from grelu_cli.errors import UsageError
from grelu_cli.ism.fast_delta import DeltaLinear, DeltaResidual
from grelu_cli.ism.fast_gru import GRUStep, gru_servable
from grelu_cli.ism.fast_steps import (
    Conv,
    Crop,
    FlattenLinear,
    Full,
    Patch,
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


def unsupported_reason(model: nn.Module) -> str | None:
    """None when :class:`FastISM` serves ``model``, else why not (one line)."""
    try:
        compile_steps(model)
    except FastISMUnsupportedError as err:
        return str(err)
    return None


#: Automatic pass size: as many mutants as keep the widest window of a layer within this many
#: bytes (DilatedConvModel's 529 x 64 float32 windows: 31 mutants, 1.6x faster than 128 per
#: pass here; ConvModel's and ExplaiNN's narrow windows: the whole batch, one pass).
CHUNK_BYTES = 4 << 20
#: The smallest automatic pass (below it the per-layer overhead of a pass dominates).
MIN_CHUNK = 16


class FastISM:
    """Fast ISM over one model. Use: ``ref = f.reference(x)`` once per window, then
    ``f.mutants(offsets, bases)`` for batches of its mutants (any number per batch).

    Outputs equal ``model(mutated windows)`` within float32 rounding (tests/ism/test_fast.py).
    Build it once the model is final (after ``select_tasks`` and the inference rewrites): the
    steps hold the layers and parameters the model has at construction.
    """

    def __init__(self, model: nn.Module, chunk_size: int | None = None) -> None:
        self.steps = compile_steps(model)
        #: Mutants per pass through the layers (None: the whole batch). Smaller passes keep
        #: each layer's windows in the CPU caches (see :data:`CHUNK_SIZE`).
        self.chunk_size = chunk_size
        self._auto_chunk: int | None = None
        param = next(model.parameters())
        self.device, self.dtype = param.device, param.dtype
        self.length: int | None = None

    @torch.no_grad()
    def reference(self, x: np.ndarray | Tensor) -> Tensor:
        """One-hot window ``x: (4, L)`` -> the model output ``(1, T, L_out)``; keeps each
        layer's input for :meth:`mutants` (until the next call)."""
        y = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x)
        y = y.to(self.device, self.dtype).reshape(1, 4, -1)
        self.length = int(y.shape[-1])
        for step in self.steps:
            y = step.full(y)
        return y

    @torch.no_grad()
    def mutants(self, offsets: np.ndarray | Tensor, bases: np.ndarray | Tensor) -> Tensor:
        """Outputs ``(n, T, L_out)`` of the reference window with base ``bases[i]`` (0..3) at
        window offset ``offsets[i]``, for i < n."""
        if self.length is None:
            raise RuntimeError("call reference(x) before mutants()")
        start = torch.as_tensor(offsets, dtype=torch.int64, device=self.device).reshape(-1)
        base = torch.as_tensor(bases, dtype=torch.int64, device=self.device).reshape(-1)
        seg = torch.zeros(start.numel(), 4, 1, dtype=self.dtype, device=self.device)
        seg[torch.arange(start.numel(), device=self.device), base, 0] = 1.0
        n, chunk = start.numel(), self.chunk_size or self._auto_chunk or start.numel()
        if n <= chunk:
            return self._patch(Patch(seg, start, self.length))
        parts = [
            self._patch(Patch(seg[lo : lo + chunk], start[lo : lo + chunk], self.length))
            for lo in range(0, n, chunk)
        ]
        return torch.cat(parts)

    def _patch(self, p: Patch) -> Tensor:
        widest = 0  # bytes of one mutant's widest window
        for step in self.steps:
            p = step.patch(p)
            if not p.is_full:  # whole activations: layers whose cost is per pass, not per mutant
                widest = max(widest, p.seg[0].numel() * p.seg.element_size())
        if self.chunk_size is None and widest:
            self._auto_chunk = max(MIN_CHUNK, CHUNK_BYTES // widest)
        return p.seg
