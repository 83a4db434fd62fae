"""Fast ISM for convolution-only models: each mutant is computed only where the mutation can
change the activations (its receptive field, layer by layer), the reference elsewhere.

kundajelab/fastISM's idea (Nair et al., Bioinformatics 2022) for this package's PyTorch
models. The reference window runs once through :meth:`FastISM.reference`, which keeps every
layer's input; then :meth:`FastISM.mutants` takes a batch of ``(offset, base)`` mutants and
runs each layer only on the window its inputs changed in, widened by the kernel's reach
(dilation included), mapped through pooling (non-overlapping blocks) and cropping exactly, and
expanded to the whole activation only where a layer reads every position (a final pool over
length, ExplaiNN's flatten and fully-connected units, an MLP head). Eval-mode batch norm,
activations, dropout and 1x1 convolutions are per position. See :mod:`.fast_steps`; the model
is matched to steps by :mod:`.fast_compile`.

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

import numpy as np
import torch
from torch import Tensor, nn

from grelu_cli.ism.fast_compile import FastISMUnsupportedError, compile_steps
from grelu_cli.ism.fast_steps import Patch

__all__ = ["FastISM", "FastISMUnsupportedError", "compile_steps", "unsupported_reason"]


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
