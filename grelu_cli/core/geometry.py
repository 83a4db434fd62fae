"""How a model maps input bases to output bins, known without a forward pass.

Every model in :mod:`grelu_cli.model.models` reports a :class:`Geometry`. The prediction
pipeline turns output bin ``j`` of a window starting at genomic position ``s`` into the
half-open interval::

    [s + (crop_len + j) * bin_size, s + (crop_len + j + 1) * bin_size)

For heads that pool over the whole sequence (``pooled=True``, one output position), the
single bin spans every uncropped input position instead.

This module imports only the standard library: models report it and the genome side plans
windows with it, without either importing the other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Geometry:
    """Input-length rules and the output-bin map of one model.

    Attributes:
        bin_size: input bp per output position (the trunk's total stride).
        crop_len: output positions removed from each end of the trunk output.
        len_multiple: the input length must be a multiple of this (1 = any length).
        fixed_len: the only input length the model accepts, or None when free.
        receptive_field: input bp that can influence one output position.
        pooled: the head reduces all positions to one (``L_out == 1``).
        default_len: the input length the model was designed for, if it has one.
        global_context: every output position can depend on every input base (attention,
            GRU, MLP or a pooling head). ``receptive_field`` is then the local field of the
            convolutional layers only; :meth:`context_len` gives the effective one.
    """

    bin_size: int
    crop_len: int = 0
    len_multiple: int = 1
    fixed_len: int | None = None
    receptive_field: int = 1
    pooled: bool = False
    default_len: int | None = None
    global_context: bool = False

    def check_len(self, seq_len: int) -> None:
        """Raise ValueError naming the rule when ``seq_len`` is not a valid input length."""
        if self.fixed_len is not None and seq_len != self.fixed_len:
            raise ValueError(
                f"input length {seq_len} bp: this model takes exactly {self.fixed_len} bp"
            )
        if seq_len % self.len_multiple != 0:
            raise ValueError(
                f"input length {seq_len} bp: this model needs a multiple of {self.len_multiple} bp"
            )
        if seq_len // self.bin_size - 2 * self.crop_len < 1:
            raise ValueError(
                f"input length {seq_len} bp leaves no output after {self.bin_size} bp bins "
                f"and cropping {self.crop_len} bins at each end"
            )

    def trunk_len(self, seq_len: int) -> int:
        """Output positions of the trunk after cropping, before any pooling head."""
        return seq_len // self.bin_size - 2 * self.crop_len

    def out_len(self, seq_len: int) -> int:
        """Output positions (``L_out``) for an input of ``seq_len`` bp."""
        return 1 if self.pooled else self.trunk_len(seq_len)

    def bin_span(self, seq_len: int) -> int:
        """Input bp that one output bin covers (the whole uncropped span when pooled)."""
        return self.trunk_len(seq_len) * self.bin_size if self.pooled else self.bin_size

    def bin_bounds(self, window_start: int, seq_len: int, j: int) -> tuple[int, int]:
        """Half-open genomic interval of output bin ``j`` for a window at ``window_start``."""
        first = window_start + self.crop_len * self.bin_size
        span = self.bin_span(seq_len)
        return first + j * span, first + (j + 1) * span

    def output_offset(self) -> int:
        """bp from the window start to the start of the first output bin."""
        return self.crop_len * self.bin_size

    def context_len(self, seq_len: int) -> int:
        """Input bp that can influence one output position for an input of ``seq_len`` bp."""
        return seq_len if self.global_context else min(self.receptive_field, seq_len)


def receptive_field(layers: list[tuple]) -> int:
    """Exact receptive field of a stack of "same"-padded convs and non-overlapping pools.

    Args:
        layers: in order, ``("conv", kernel_size, dilation)`` or ``("pool", pool_size)``.

    Returns:
        The number of consecutive input positions that one output position depends on.
    """
    field, jump = 1, 1
    for layer in layers:
        if layer[0] == "conv":
            field += (layer[1] - 1) * layer[2] * jump
        elif layer[0] == "pool":
            field += (layer[1] - 1) * jump
            jump *= layer[1]
        else:
            raise ValueError(f"unknown layer kind {layer[0]!r}")
    return field
