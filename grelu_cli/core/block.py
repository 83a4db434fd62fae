"""The unit writers consume: predictions for a batch of windows, placed on the genome.

The CLI builds a :class:`Block` from the predictor's output and the windows, then hands it to
a writer (parquet or bigWig). Writers never see tensors or models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grelu_cli.core.window import Window


@dataclass
class Block:
    """Predictions for ``N`` windows, ``T`` tasks and ``B`` output bins.

    Attributes:
        windows: the N windows, in input order.
        values: (N, T, B) float32, in genome orientation (minus-strand outputs already
            flipped back).
        bins: (B,) int64 output bin index of each column (0-based, genome orientation); for
            aggregated output a single 0.
        bin_start, bin_end: (N, B) int64 genomic half-open span of each bin (FASTA:
            relative to the record); for aggregated output the span the aggregate covers.
    """

    windows: list[Window]
    values: np.ndarray
    bins: np.ndarray
    bin_start: np.ndarray
    bin_end: np.ndarray

    def __post_init__(self) -> None:
        n, _, b = self.values.shape
        if len(self.windows) != n or self.bins.shape != (b,):
            raise ValueError(
                f"Block shapes disagree: {len(self.windows)} windows, values {self.values.shape}, "
                f"bins {self.bins.shape}"
            )
        if self.bin_start.shape != (n, b) or self.bin_end.shape != (n, b):
            raise ValueError(
                f"Block bin coordinates must be ({n}, {b}); got {self.bin_start.shape} and "
                f"{self.bin_end.shape}"
            )
