"""Fast ISM's difference paths: outputs as the reference's plus the effect of the input's
change on the mutant's window.

:class:`DeltaResidual`, a residual block ``relu?(conv(x) + x)`` whose convolution
keeps the length ("same" padding): the mutant's block output on its window is the reference's
pre-activation sum there plus the convolution of the input's *change*, which is zero outside the
input window. :class:`DeltaLinear`: an MLP head's first linear layer over the flattened
activation. :class:`FlattenLinear`: ExplaiNN's flatten and units' first fully-connected layer.

Why: a dilated convolution widens the changed window by ``reach = dilation * (kernel - 1)`` on
each layer (DilatedConvModel: 273 changed positions in, 529 out, at dilation 128). Computing
the output window directly costs ``kernel * (w + reach)`` products per channel pair; each
changed input position is read by only ``kernel`` outputs, so the change costs ``kernel * w``:
about half on the dilated layers, where the window is about twice the reach. As matrices: tap
``j`` adds ``delta (B, w, C_in) @ W_j^T`` to the outputs ``reach - j * dilation`` positions
further (the same offset for every mutant of the batch: its window moves with it). The
identity residual adds the change at the middle tap's offset, so it is folded into that tap's
weight (``W_mid + I``).

Exactness: ``base + D`` equals ``conv(x_mut) + b + x_mut`` up to float32 rounding of the
summation order (the reference terms are summed once in ``base``): the tests' 1e-5 relative.
Mutants whose unclamped output window would leave the activation (near its ends) take the
direct path (:meth:`grelu_cli.ism.fast_steps.Conv.patch_fused`), the rest this one.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from grelu_cli.ism.fast_steps import Conv, Patch, Step, rows


class DeltaResidual:
    """The difference path of one ``conv -> + x -> relu?`` block (identity residual).

    Built by :class:`grelu_cli.ism.fast_steps.Residual` when its block has that shape;
    :meth:`full` keeps the reference's pre-activation sum, :meth:`patch` serves the mutants
    whose windows fit (None when none do).
    """

    def __init__(self, conv: Conv, relu: bool) -> None:
        self.conv = conv
        self.relu = relu
        weight = conv.weight.detach()  # (C_out, C_in, k)
        c_out, c_in, k = (int(s) for s in weight.shape)
        d = conv.dilation
        # taps[j]: W_j^T, (C_in, C_out).
        taps = [weight[:, :, j].t().contiguous() for j in range(k)]
        self.separate_residual = True
        if c_in == c_out and conv.left % d == 0:
            taps[conv.left // d] += torch.eye(c_in, dtype=weight.dtype, device=weight.device)
            self.separate_residual = False
        self.taps = taps
        #: output offset of tap j's contribution within the output window
        self.offsets = [conv.reach - j * d for j in range(k)]
        self.base: Tensor | None = None  # (L, C_out) reference pre-activation sum

    def full(self, pre: Tensor) -> None:
        """Keep the reference's pre-activation sum ``pre: (1, C_out, L)`` position-major."""
        self.base = pre[0].t().contiguous()

    def fits(self, p: Patch) -> Tensor:
        """(B,) bool: the mutants whose unclamped output window lies inside the activation."""
        start = p.start + self.conv.left - self.conv.reach
        return (start >= 0) & (start + p.width + self.conv.reach <= p.length)

    def patch(self, p: Patch) -> Patch:
        """The block output on ``[start - reach + left, start + w + left)`` for mutants that
        all :meth:`fits`: (B, C_out, w + reach) channels-last."""
        conv, ref, base = self.conv, self.conv.ref, self.base
        assert ref is not None and base is not None, "full() first"
        b, w = int(p.seg.shape[0]), p.width
        width = w + conv.reach
        # The change on the input window: (B, w, C_in).
        ref_in = rows(ref.padded, p.start + ref.left, w)
        delta = p.seg.transpose(1, 2) - ref_in
        start = p.start + conv.left - conv.reach
        out = rows(base, start, width)  # (B, width, C)
        # Each tap's product accumulated in place into its slice of the output windows (a
        # strided batched GEMM): 1.5x faster than one GEMM into a buffer and three adds.
        for tap, off in zip(self.taps, self.offsets, strict=True):
            out[:, off : off + w].baddbmm_(delta, tap.expand(b, -1, -1))
        if self.separate_residual:
            off = conv.reach - conv.left
            out[:, off : off + w] += delta
        if self.relu:
            out.relu_()
        return Patch(out.transpose(1, 2), start, p.length)


class DeltaLinear(Step):
    """The first linear layer of an MLP head over the flattened activation, incrementally:
    ``(N, C, L)`` flattened channel-major to ``C*L`` features, then ``nn.Linear`` to H.

    A mutant changes the activation on its window only, so its output is the reference output
    plus the weight columns of the window's features times the change: ``H*C*w`` products
    instead of ``H*C*L``, and no copy of the whole activation per mutant. The columns of each
    mutant's window are gathered as rows of the position-major weight (:func:`rows`).
    Output: a whole patch ``(B, 1, H)`` for the rest of the head (:class:`Whole`).
    """

    def __init__(self, linear: nn.Linear, channels: int) -> None:
        self.linear = linear
        self.channels = channels
        self.ref_t: Tensor | None = None  # (L, C) position-major reference input
        self.ref_out: Tensor | None = None  # (1, 1, H)
        self.weight_t: Tensor | None = None  # (L, H*C) position-major

    def full(self, x: Tensor) -> Tensor:
        c, length = int(x.shape[1]), int(x.shape[2])
        self.ref_t = x[0].t().contiguous()
        w = self.linear.weight.detach()  # (H, C*L), channel-major features
        self.weight_t = w.reshape(-1, c, length).permute(2, 0, 1).reshape(length, -1).contiguous()
        y = self.linear(x.reshape(x.shape[0], 1, -1))
        self.ref_out = y
        return y

    def patch(self, p: Patch) -> Patch:
        assert self.ref_t is not None and self.ref_out is not None, "full() first"
        assert self.weight_t is not None
        b, w = int(p.seg.shape[0]), p.width
        c = self.channels
        ref = rows(self.ref_t, p.start, w)  # (B, w, C)
        delta = p.seg.transpose(1, 2) - ref
        cols = rows(self.weight_t, p.start, w).view(b, w, -1, c)  # (B, w, H, C)
        change = torch.einsum("bwc,bwhc->bh", delta, cols)
        out = self.ref_out.reshape(1, -1) + change
        return Patch(out.reshape(b, 1, -1), torch.zeros_like(p.start), int(out.shape[-1]))


class FlattenLinear(Step):
    """ExplaiNN's flatten and first fully-connected layer, incrementally.

    Full: ``(N, U, P)`` flattened unit-major to ``(N, U*P, 1)``, then a 1x1 convolution with U
    groups (unit u's P pooled positions -> its G outputs): ``(N, U*G, 1)``. A mutant changes
    a few pooled positions per unit (its window), so its output is the reference output plus
    the weights of those positions times the change: ``U*G*width`` multiply-adds instead of
    ``U*G*P``. The weight slice depends only on the window start, which few mutants of a
    batch do not share: one product per distinct start.
    """

    def __init__(self, conv: nn.Conv1d, units: int) -> None:
        self.conv = conv
        self.units = units
        # (U*G, P, 1) grouped weight -> (U, G, P)
        self.weight = conv.weight.reshape(units, -1, conv.weight.shape[1])
        self.ref_x: Tensor | None = None
        self.ref_out: Tensor | None = None

    def full(self, x: Tensor) -> Tensor:
        self.ref_x = x[0]
        y = self.conv(x.reshape(x.shape[0], -1, 1))
        self.ref_out = y
        return y

    def patch(self, p: Patch) -> Patch:
        assert self.ref_x is not None and self.ref_out is not None, "full() first"
        b, w = p.seg.shape[0], p.width
        pos = p.start[:, None] + torch.arange(w, device=p.start.device)[None, :]
        delta = p.seg - self.ref_x[:, pos].permute(1, 0, 2)  # (B, U, w)
        out = self.ref_out.reshape(1, self.units, -1).repeat(b, 1, 1)  # (B, U, G)
        for s in torch.unique(p.start).tolist():
            rows = torch.nonzero(p.start == s).flatten()
            part = torch.einsum("buw,ugw->bug", delta[rows], self.weight[:, :, s : s + w])
            out[rows] += part
        return Patch(out.reshape(b, -1, 1), torch.zeros_like(p.start), 1)
