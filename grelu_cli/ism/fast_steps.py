"""The layer steps of fast ISM: each step computes a layer on the whole reference window once
(:meth:`Step.full`, keeping what it needs) and then, for a batch of mutants, only on the
slice of positions that the mutation can have changed (:meth:`Step.patch`).

A batch of mutants is a :class:`Patch`: for mutant b, the activation equals the reference
activation (length ``length``) except on ``[start[b], start[b] + width)``, where it is
``seg[b]``. All mutants of a batch carry windows of the same width; a window is shifted back
inside ``[0, length)`` at the edges (it then holds some unchanged positions, recomputed from
the same inputs). Each step maps the changed window of its input to the window of its output
that can differ, and computes only that, reading the reference activation around the window
(kernel reach, pooling blocks, crop offsets) with :func:`window`. When a window would cover the
whole activation it becomes the whole activation, and the step is then the plain computation.

Exactness: every value is computed by the same layer arithmetic as the plain forward, on
exactly the inputs the plain forward would use; only the order of floating-point summation may
differ (a convolution over a slice may pick another kernel): outputs agree within float32
rounding (tests/ism/test_fast.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from grelu_cli.model.cpu_conv import fused_conv_available


@dataclass
class Patch:
    """A batch of mutant activations as windows over the reference one.

    seg: (B, C, width) values on each mutant's window; start: (B,) int64 window starts;
    length: the activation's full length L.
    """

    seg: Tensor
    start: Tensor
    length: int

    @property
    def width(self) -> int:
        return int(self.seg.shape[-1])

    @property
    def is_full(self) -> bool:
        return self.width == self.length


class Ref:
    """A reference activation ``(1, C, L)`` zero-padded by ``(left, right)`` for window reads,
    kept position-major, ``(L + left + right, C)``, so windows come out channels-last."""

    def __init__(self, x: Tensor, left: int = 0, right: int = 0) -> None:
        self.length = int(x.shape[-1])
        self.left = left
        padded = F.pad(x[0], (left, right)) if left or right else x[0]
        self.padded = padded.t().contiguous()


def rows(x: Tensor, start: Tensor, width: int) -> Tensor:
    """Windows ``x[start[b] : start[b] + width]`` of a contiguous position-major ``x: (n, C)``
    as one new (B, width, C) tensor.

    Each window is one contiguous run of ``width * C`` values, so they are gathered as the rows
    of a 2-D strided view: 1.5-8x faster than ``index_select`` on an ``unfold`` view, which
    copies element by element.
    """
    n, c = (int(s) for s in x.shape)
    runs = x.as_strided((n - width + 1, width * c), (c, 1))
    return runs.index_select(0, start).view(-1, width, c)


def window(ref: Ref, patch: Patch, start: Tensor, width: int) -> Tensor:
    """The mutants' activation on ``[start[b], start[b] + width)``: (B, C, width).

    Positions inside a mutant's patched window come from ``patch.seg``, the others from the
    reference (zeros beyond its ends, within the padding ``ref`` was built with).
    """
    w = patch.width
    # Reference values: one copy of sliding windows, (B, C, width) with channels-last memory
    # (position-major), the layout oneDNN's fastest CPU convolutions read and write.
    out = rows(ref.padded, start + ref.left, width).permute(0, 2, 1)
    # Overlay each mutant's segment where it falls. Its offset in the new window is the same
    # for every mutant away from the activation's ends, so this is one slice copy per
    # distinct offset (a few per batch), not a per-element gather.
    rel = patch.start - start
    for r in torch.unique(rel).tolist():
        lo, hi = max(r, 0), min(r + w, width)
        if lo >= hi:
            continue
        if bool((rel == r).all()):
            out[:, :, lo:hi] = patch.seg[:, :, lo - r : hi - r]
        else:
            sel = torch.nonzero(rel == r).flatten()
            out[sel, :, lo:hi] = patch.seg[sel, :, lo - r : hi - r]
    return out


def _clamped(start: Tensor, width: int, length: int) -> Tensor:
    return start.clamp(0, length - width)


class DeltaPath(Protocol):
    """What :class:`Residual` needs of a difference path (:mod:`.fast_delta`)."""

    def full(self, pre: Tensor) -> None: ...

    def fits(self, p: Patch) -> Tensor: ...

    def patch(self, p: Patch) -> Patch: ...


class Step:
    """One layer. ``full`` runs the reference (1, C, L) -> (1, C', L'), keeping what ``patch``
    needs; ``patch`` maps a :class:`Patch` of its input to a :class:`Patch` of its output."""

    def full(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def patch(self, p: Patch) -> Patch:
        raise NotImplementedError


class Pointwise(Step):
    """A layer that maps each position on its own (activation, eval batch norm, eval dropout,
    1x1 convolution): the window is unchanged."""

    def __init__(self, fn: Callable[[Tensor], Tensor]) -> None:
        self.fn = fn

    def full(self, x: Tensor) -> Tensor:
        return self.fn(x)

    def patch(self, p: Patch) -> Patch:
        return Patch(self.fn(p.seg), p.start, p.length)


class Conv(Step):
    """A 1-D convolution (stride 1) with explicit zero padding ``(left, right)``:
    (N, C, L) -> (N, O, L + left + right - reach), ``reach = dilation * (kernel - 1)``.

    Output i reads inputs ``i - left + j * dilation``; a changed input window ``[s, s + W)``
    changes outputs ``[s + left - reach, s + W + left)``, width ``W + reach``.
    """

    def __init__(
        self,
        weight: Tensor,
        bias: Tensor | None,
        dilation: int = 1,
        groups: int = 1,
        padding: str | int = "same",
    ) -> None:
        self.weight = weight
        self.bias = bias
        self.dilation = dilation
        self.groups = groups
        self.reach = dilation * (int(weight.shape[-1]) - 1)
        if padding == "same":
            # torch's "same": the odd unit of padding goes on the right.
            self.left = self.reach // 2
            self.right = self.reach - self.left
        elif padding == "valid":
            self.left = self.right = 0
        else:
            self.left = self.right = int(padding)
        self.ref: Ref | None = None
        self._weight_2d: tuple[Tensor, Tensor] | None = None
        self.last_input: tuple[Tensor, Tensor] | None = None

    @classmethod
    def of(cls, conv: nn.Conv1d) -> Conv:
        """The step for a ``nn.Conv1d`` (stride 1 and zero padding are checked by the caller)."""
        pad = conv.padding if isinstance(conv.padding, str) else int(conv.padding[0])
        return cls(conv.weight, conv.bias, int(conv.dilation[0]), int(conv.groups), pad)

    def _conv(self, x: Tensor) -> Tensor:
        if x.device.type != "cpu":
            return F.conv1d(x, self.weight, self.bias, dilation=self.dilation, groups=self.groups)
        # On the CPU as a channels-last 2-D convolution (as grelu_cli.model.cpu_conv does):
        # about 1.5x faster than the (N, C, L) path on these windows, and the windows are
        # already channels-last, so no copy is made.
        y = F.conv2d(
            x.unsqueeze(2), self._w2(), self.bias, dilation=(1, self.dilation), groups=self.groups
        )
        return y.squeeze(2)

    def _w2(self) -> Tensor:
        """The weight as (O, I, 1, k) channels-last, made once."""
        if self._weight_2d is None or self._weight_2d[0] is not self.weight:
            w2 = self.weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)
            self._weight_2d = (self.weight, w2)
        return self._weight_2d[1]

    def full(self, x: Tensor) -> Tensor:
        self.ref = Ref(x, self.left, self.right)
        return self._conv(F.pad(x, (self.left, self.right)))

    def patch(self, p: Patch) -> Patch:
        assert self.ref is not None, "full() first"
        out_len = p.length + self.left + self.right - self.reach
        width = min(p.width + self.reach, out_len)
        start = _clamped(p.start + self.left - self.reach, width, out_len)
        x = window(self.ref, p, start - self.left, width + self.reach)
        # Kept for a residual add: the block input on the output window is a slice of x.
        self.last_input = (x, start)
        return Patch(self._conv(x), start, out_len)

    def patch_fused(self, p: Patch, transform: Callable[[Tensor], Tensor], relu: bool) -> Patch:
        """``relu?(conv(x) + transform(x))`` on the window, for a residual block whose
        convolution reads the block input and keeps its length ("same" padding): one oneDNN
        call with the add and the ReLU fused on the CPU, as the inference rewrites do."""
        out_len = p.length + self.left + self.right - self.reach
        width = min(p.width + self.reach, out_len)
        start = _clamped(p.start + self.left - self.reach, width, out_len)
        x = window(self.ref, p, start - self.left, width + self.reach)  # type: ignore[arg-type]
        res = transform(x[..., self.left : self.left + width])
        if x.device.type == "cpu" and x.dtype == torch.float32 and fused_conv_available():
            r4 = res.unsqueeze(2).contiguous(memory_format=torch.channels_last)
            y = torch.ops.mkldnn._convolution_pointwise.binary(
                x.unsqueeze(2),
                r4,
                self._w2(),
                self.bias,
                [0, 0],
                [1, 1],
                [1, self.dilation],
                self.groups,
                "add",
                1.0,
                "relu" if relu else None,
                [],
                "",
            ).squeeze(2)
        else:
            y = self._conv(x) + res
            if relu:
                y = y.relu_()
        return Patch(y, start, out_len)


class Pool(Step):
    """Non-overlapping pooling of ``size`` positions (kernel == stride, the tail dropped):
    max, average, or a module such as attention pooling. A changed window ``[s, s + W)``
    changes outputs ``[s // size, (s + W - 1) // size]``."""

    def __init__(self, size: int, fn: Callable[[Tensor], Tensor], drops_tail: bool = True):
        self.size = size
        self.fn = fn
        # Attention pooling pads an odd tail instead of dropping it: then only the plain
        # computation on the whole activation is exact.
        self.drops_tail = drops_tail
        self.ref: Ref | None = None

    def full(self, x: Tensor) -> Tensor:
        self.ref = Ref(x)
        return self.fn(x)

    def patch(self, p: Patch) -> Patch:
        assert self.ref is not None, "full() first"
        size = self.size
        if not self.drops_tail and p.length % size:
            x = window(self.ref, p, torch.zeros_like(p.start), p.length)
            y = self.fn(x)
            return Patch(y, torch.zeros_like(p.start), int(y.shape[-1]))
        out_len = p.length // size
        width = min((p.width + size - 2) // size + 1, out_len)
        start = _clamped(torch.div(p.start, size, rounding_mode="floor"), width, out_len)
        x = window(self.ref, p, start * size, width * size)
        return Patch(self.fn(x), start, out_len)


class Crop(Step):
    """Remove ``crop`` positions from each end: the window moves by ``-crop``."""

    def __init__(self, crop: int) -> None:
        self.crop = crop
        self.ref: Ref | None = None

    def full(self, x: Tensor) -> Tensor:
        self.ref = Ref(x)
        return x[..., self.crop : x.shape[-1] - self.crop]

    def patch(self, p: Patch) -> Patch:
        assert self.ref is not None, "full() first"
        if self.crop == 0:
            return p
        out_len = p.length - 2 * self.crop
        width = min(p.width, out_len)
        start = _clamped(p.start - self.crop, width, out_len)
        x = window(self.ref, p, start + self.crop, width)
        return Patch(x, start, out_len)


class Full(Step):
    """Expand the windows to the whole activation (the reference outside them), for layers
    that read every position: a final pool over length, a flatten, a linear head."""

    def __init__(self) -> None:
        self.ref: Ref | None = None

    def full(self, x: Tensor) -> Tensor:
        self.ref = Ref(x)
        return x

    def patch(self, p: Patch) -> Patch:
        assert self.ref is not None, "full() first"
        if p.is_full:
            return p
        zero = torch.zeros_like(p.start)
        return Patch(window(self.ref, p, zero, p.length), zero, p.length)


class Whole(Step):
    """Any module on the whole activation (after :class:`Full`): the plain computation."""

    def __init__(self, fn: Callable[[Tensor], Tensor]) -> None:
        self.fn = fn

    def full(self, x: Tensor) -> Tensor:
        return self.fn(x)

    def patch(self, p: Patch) -> Patch:
        if not p.is_full:
            raise RuntimeError("Whole step reached with a partial window (missing Full step)")
        y = self.fn(p.seg)
        return Patch(y, torch.zeros_like(p.start), int(y.shape[-1]))


class Residual(Step):
    """A block with a residual branch: ``steps`` run in order; at each ``None`` entry the
    block input, through ``transform`` (a position-wise channel transform), is added on the
    current window."""

    def __init__(
        self,
        steps: Sequence[Step | None],
        transform: Callable[[Tensor], Tensor],
        identity: bool = False,
    ) -> None:
        self.steps = list(steps)
        self.transform = transform
        self.ref: Ref | None = None
        self.identity = identity
        #: The difference path (:class:`grelu_cli.ism.fast_delta.DeltaResidual`, set by the
        #: compiler where :meth:`delta_candidate` allows it); None: the direct path.
        self.delta: DeltaPath | None = None

    def delta_candidate(self) -> tuple[Conv, bool] | None:
        """``(conv, relu)`` when the block is ``conv -> + x -> relu?`` with an identity
        residual and a length-keeping, ungrouped convolution (the difference path's shape)."""
        fusable = self._fusable()
        if not self.identity or fusable is None:
            return None
        conv, relu, _ = fusable
        if conv.groups != 1 or conv.reach != conv.left + conv.right:
            return None
        return conv, relu

    def full(self, x: Tensor) -> Tensor:
        self.ref = Ref(x)
        y = x
        for i, step in enumerate(self.steps):
            y = y + self.transform(x) if step is None else step.full(y)
            if i == 1 and self.delta is not None:
                self.delta.full(y)  # conv(x) + b + x, before the activation
        return y

    def _block_input(self, p: Patch, q: Patch) -> Tensor:
        """The block input ``p`` on ``q``'s window. When the block starts with its
        convolution and ``q`` is still on that convolution's output window (the steps between
        are position-wise), it is the middle of the convolution's input window: no new read."""
        first = self.steps[0]
        if isinstance(first, Conv) and first.last_input is not None and q.length == p.length:
            x, start = first.last_input
            if start is q.start:
                return x[..., first.left : first.left + q.width]
        assert self.ref is not None, "full() first"
        return window(self.ref, p, q.start, q.width)

    def _fusable(self) -> tuple[Conv, bool, int] | None:
        """(conv, relu, steps used) when the block starts conv -> residual add [-> ReLU]."""
        steps = self.steps
        if len(steps) < 2 or not isinstance(steps[0], Conv) or steps[1] is not None:
            return None
        nxt = steps[2] if len(steps) > 2 else None
        relu = isinstance(nxt, Pointwise) and type(nxt.fn) is nn.ReLU
        return steps[0], relu, 2 + relu

    def _patch_fused(self, p: Patch, conv: Conv, relu: bool) -> Patch:
        """``relu?(conv(x) + transform(x))`` on the window: the difference path for the
        mutants whose windows fit it, the direct one for the others (near the ends)."""
        delta = self.delta
        if delta is None or p.width + conv.reach >= p.length:
            return conv.patch_fused(p, self.transform, relu)
        fits = delta.fits(p)
        n_fit = int(fits.sum())
        if n_fit == fits.numel():
            return delta.patch(p)
        if n_fit == 0:
            return conv.patch_fused(p, self.transform, relu)
        inner, edge = torch.nonzero(fits).flatten(), torch.nonzero(~fits).flatten()
        a = delta.patch(Patch(p.seg[inner], p.start[inner], p.length))
        e = conv.patch_fused(Patch(p.seg[edge], p.start[edge], p.length), self.transform, relu)
        seg = a.seg.new_empty((p.seg.shape[0], a.width, a.seg.shape[1]))  # channels-last
        seg[inner] = a.seg.transpose(1, 2)
        seg[edge] = e.seg.transpose(1, 2)
        start = torch.empty_like(p.start)
        start[inner], start[edge] = a.start, e.start
        return Patch(seg.transpose(1, 2), start, a.length)

    def patch(self, p: Patch) -> Patch:
        q = p
        steps: Sequence[Step | None] = self.steps
        fusable = self._fusable()
        if fusable is not None and fusable[0].reach == fusable[0].left + fusable[0].right:
            conv, relu, used = fusable
            q = self._patch_fused(p, conv, relu)
            steps = self.steps[used:]
        for step in steps:
            if step is None:
                res = self.transform(self._block_input(p, q))
                # In place on a tensor the block made itself (never on its input).
                seg = q.seg.add_(res) if q.seg is not p.seg else q.seg + res
                q = Patch(seg, q.start, q.length)
            else:
                q = step.patch(q)
        return q
