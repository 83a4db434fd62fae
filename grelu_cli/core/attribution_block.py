"""The unit attribution writers consume: per-base maps of a batch of windows, in genome
orientation, and their per-base track view (``grelu attribute --format bigwig``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grelu_cli.core.block import Block
from grelu_cli.core.window import Window

#: The base axis, in one-hot channel order; code 4 is N.
BASES = ("A", "C", "G", "T")
LETTERS = np.array([*BASES, "N"])


@dataclass
class AttributionBlock:
    """Attributions of ``N`` windows, ``G`` targets, ``P`` positions.

    Attributes:
        windows: the N windows, in input order.
        values: (N, G, P, 4) float32, genome orientation (minus-strand maps flipped back
            along positions and complemented along bases).
        ref: (N, P) int8 reference base code (0..3 = A, C, G, T; 4 = N), genome orientation.
        pos: (N, P) int64 0-based genomic position of each column (-1 where none: FASTA).
    """

    windows: list[Window]
    values: np.ndarray
    ref: np.ndarray
    pos: np.ndarray

    def __post_init__(self) -> None:
        n, _, p, b = self.values.shape
        if len(self.windows) != n or b != 4 or self.ref.shape != (n, p) or self.pos.shape != (n, p):
            raise ValueError(
                f"AttributionBlock shapes disagree: {len(self.windows)} windows, values "
                f"{self.values.shape}, ref {self.ref.shape}, pos {self.pos.shape}"
            )

    def reference_values(self) -> np.ndarray:
        """(N, G, P) float32: the value on the reference base; NaN at N."""
        n, g, p, _ = self.values.shape
        code = np.minimum(self.ref, 3).astype(np.int64)
        picked = np.take_along_axis(self.values, code[:, None, :, None].repeat(g, 1), axis=3)
        out = picked[..., 0].astype(np.float32)
        out[np.broadcast_to((self.ref > 3)[:, None, :], (n, g, p))] = np.nan
        return out

    def track_block(self) -> Block:
        """One bin per base: values (N, G, P) on the reference base at ``[pos, pos + 1)``."""
        p = self.values.shape[2]
        return Block(
            self.windows,
            self.reference_values(),
            np.arange(p, dtype=np.int64),
            self.pos.astype(np.int64),
            self.pos.astype(np.int64) + 1,
        )
