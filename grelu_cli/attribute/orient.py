"""Model orientation -> genome orientation, and the reference base and genomic position of
every column of a window (-1 for FASTA records and for the N padding past a chromosome end).

The loader reverse-complements minus-strand windows before the model, so column ``i`` of such
a map is genome position ``window_end - 1 - i`` and its base axis is complemented (in A, C, G,
T order the complement of channel ``b`` is ``3 - b``): both axes are flipped back.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grelu_cli.core.attribution_block import AttributionBlock
from grelu_cli.core.window import Window


def to_genome(x: np.ndarray, maps: np.ndarray, windows: Sequence[Window]) -> AttributionBlock:
    """``x: (N, 4, L)`` model inputs and ``maps: (N, G, 4, L)`` -> an AttributionBlock with
    values ``(N, G, L, 4)`` in genome orientation."""
    x = np.asarray(x, dtype=np.float32)
    values = np.ascontiguousarray(np.asarray(maps, dtype=np.float32).transpose(0, 1, 3, 2))
    minus = np.array([w.strand == "-" for w in windows], dtype=bool)
    if minus.any():
        values[minus] = values[minus][:, :, ::-1, ::-1]
        x = x.copy()
        x[minus] = x[minus][:, ::-1, ::-1]
    ref = np.where(x.sum(axis=1) > 0, x.argmax(axis=1), 4).astype(np.int8)
    length = x.shape[2]
    pos = np.full((len(windows), length), -1, dtype=np.int64)
    for i, w in enumerate(windows):
        if w.chrom is not None:  # N padding past a chromosome end has no position
            pos[i, w.pad_left : length - w.pad_right] = np.arange(
                w.window_start + w.pad_left, w.window_end - w.pad_right, dtype=np.int64
            )
    return AttributionBlock(list(windows), values, ref, pos)
