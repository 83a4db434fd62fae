"""Place a model's output bins on the genome: which bins are kept and the span each covers.

One :class:`BinLayout` describes, for one model input length, the output bins the run keeps
(all, the central K with ``--bins CENTER_K``, or one aggregate with ``--aggregate``) and turns a
batch of windows into per-bin genomic intervals with numpy. Bin ``j`` (genome orientation) of
a window starting at ``s`` covers::

    [s + (crop_len + j) * bin_size, s + (crop_len + j + 1) * bin_size)

Minus-strand windows were reverse-complemented before the model; the predictor flips their
outputs back along the bins, so bin 0 is always the leftmost genomic bin. That flip lands
exactly on the grid above only when the input length is a multiple of ``bin_size`` (the trunk
drops the ``L % bin_size`` leftover bases at the *end of its input*, which is the genomic
*start* of a minus-strand window), so :func:`bin_layout` requires it for non-pooled models.
A pooled head has one bin over every uncropped input base, placed exactly for either strand.

``--bins K`` keeps bins ``[(B - K) // 2, (B - K) // 2 + K)`` of the ``B`` output bins, in
genome orientation: when ``B - K`` is odd the extra bin is dropped on the right (gReLU's
``trim(end="both")`` convention).

Coordinates are 0-based half-open. This module needs only numpy (no torch, no model import);
the geometry is any object with gReLU's :class:`~grelu_cli.core.geometry.Geometry` fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from grelu_cli.core.choices import AGGREGATES
from grelu_cli.core.window import Window
from grelu_cli.errors import UsageError

if TYPE_CHECKING:
    from grelu_cli.core.block import Block
    from grelu_cli.core.geometry import Geometry


@dataclass(frozen=True)
class BinLayout:
    """The output bins a run keeps, for windows of one input length.

    Attributes:
        seq_len: model input length in bp.
        bin_size: input bp per output bin (the trunk's stride).
        crop_len: bins cropped from each end of the trunk output.
        n_out: bins the model outputs (``L_out``; 1 for pooled heads).
        pooled: the head reduces all positions to one bin.
        first: index of the first kept output bin (genome orientation).
        n_keep: number of kept output bins (before aggregation).
        aggregate: None, or "mean" | "sum" | "max" | "min" over the kept bins.
    """

    seq_len: int
    bin_size: int
    crop_len: int
    n_out: int
    pooled: bool
    first: int
    n_keep: int
    aggregate: str | None = None

    @property
    def n_bins(self) -> int:
        """Bins per window in the output (``B``): 1 when aggregated."""
        return 1 if self.aggregate else self.n_keep

    @property
    def bins(self) -> np.ndarray:
        """(B,) int64 output bin index of each output column (0 for an aggregate)."""
        if self.aggregate:
            return np.zeros(1, dtype=np.int64)
        return np.arange(self.first, self.first + self.n_keep, dtype=np.int64)

    @property
    def selects(self) -> bool:
        """True when only some of the model's output bins are kept."""
        return self.n_keep != self.n_out

    @property
    def span(self) -> int:
        """bp one model output bin covers (the whole uncropped span when pooled)."""
        trunk = self.seq_len // self.bin_size - 2 * self.crop_len
        return trunk * self.bin_size if self.pooled else self.bin_size

    def coordinates(self, windows: Sequence[Window]) -> tuple[np.ndarray, np.ndarray]:
        """Genomic ``(bin_start, bin_end)``, each (N, B) int64, of the output columns.

        For an aggregate, the one column spans the first kept bin's start to the last kept
        bin's end. FASTA windows give coordinates relative to the record.
        """
        ws = np.fromiter((w.window_start for w in windows), dtype=np.int64, count=len(windows))
        we = np.fromiter((w.window_end for w in windows), dtype=np.int64, count=len(windows))
        minus = np.fromiter((w.strand == "-" for w in windows), dtype=bool, count=len(windows))
        offset = self.crop_len * self.bin_size
        # Start of output bin 0: the plus-strand grid; for a pooled minus-strand window the
        # span ends crop bins before the window end (exact even when L % bin_size != 0).
        origin = ws + offset
        if self.pooled:
            origin = np.where(minus, we - offset - self.span, origin)
        if self.aggregate:
            j0 = np.array([self.first], dtype=np.int64)
            j1 = np.array([self.first + self.n_keep], dtype=np.int64)
        else:
            j0 = self.bins
            j1 = j0 + 1
        start = origin[:, None] + j0[None, :] * self.span
        end = origin[:, None] + j1[None, :] * self.span
        return start, end

    def block(self, values: np.ndarray, windows: list[Window]) -> Block:
        """A writer :class:`~grelu_cli.core.block.Block` from predictor output.

        values: (N, T, B) float32 in genome orientation, as the predictor yields it.
        """
        from grelu_cli.core.block import Block

        if values.shape[-1] != self.n_bins:
            raise ValueError(
                f"values have {values.shape[-1]} bins; this layout writes {self.n_bins}"
            )
        start, end = self.coordinates(windows)
        bins = self.bins
        return Block(
            windows=windows,
            values=np.ascontiguousarray(values, dtype=np.float32),
            bins=bins,
            bin_start=start,
            bin_end=end,
        )


def bin_layout(
    geometry: Geometry,
    seq_len: int,
    *,
    center_bins: int | None = None,
    aggregate: str | None = None,
) -> BinLayout:
    """The layout for ``seq_len`` bp inputs, validating ``--bins`` and ``--aggregate``.

    Raises UsageError when the input length is not a multiple of the bin size for a
    non-pooled model, when ``center_bins`` is not in ``1..B``, or for an unknown aggregate.
    """
    bin_size, crop = int(geometry.bin_size), int(geometry.crop_len)
    pooled = bool(geometry.pooled)
    trunk = seq_len // bin_size - 2 * crop
    if trunk < 1:
        raise UsageError(
            f"input length {seq_len} bp leaves no output bins ({bin_size} bp bins, "
            f"{crop} cropped at each end)",
            fix=f"use a --seq-len of at least {(2 * crop + 1) * bin_size} bp",
        )
    if not pooled and seq_len % bin_size:
        lo = seq_len - seq_len % bin_size
        raise UsageError(
            f"input length {seq_len} bp is not a multiple of the model's {bin_size} bp "
            "output bins, so minus-strand outputs cannot be placed exactly on the genome",
            fix=f"use --seq-len {lo} or {lo + bin_size}",
        )
    n_out = 1 if pooled else trunk
    if aggregate is not None and aggregate not in AGGREGATES:
        raise UsageError(
            f"--aggregate {aggregate!r} is not one of {', '.join(AGGREGATES)}",
            fix="use --aggregate mean, sum, max or min",
        )
    first, n_keep = 0, n_out
    if center_bins is not None:
        if not 1 <= center_bins <= n_out:
            raise UsageError(
                f"--bins {center_bins}: the model outputs {n_out} bins for {seq_len} bp inputs",
                fix=f"use --bins between 1 and {n_out}",
            )
        first, n_keep = (n_out - center_bins) // 2, center_bins
    return BinLayout(
        seq_len=seq_len,
        bin_size=bin_size,
        crop_len=crop,
        n_out=n_out,
        pooled=pooled,
        first=first,
        n_keep=n_keep,
        aggregate=aggregate,
    )
