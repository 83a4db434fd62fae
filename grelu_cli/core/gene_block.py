"""The unit gene writers consume: predicted expression of consecutive genes, as arrays.

``grelu predict --genes`` reduces the predictor's blocks of windows to one value per gene and
gene task; a :class:`GeneBlock` carries those values with the per-gene columns to a writer
(parquet rows, a zarr store, a resume part), as a :class:`~grelu_cli.core.block.Block` carries
windows to the track writers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: The per-gene columns, in output order (CLI.md "genes"); ``task`` and ``value`` follow.
GENE_COLUMNS = (
    "gene_id",
    "gene_name",
    "gene_type",
    "chrom",
    "start",
    "end",
    "strand",
    "windows",
    "gene_bins",
    "covered",
)
#: Which of them hold text (object arrays of str).
GENE_STRING_COLUMNS = ("gene_id", "gene_name", "gene_type", "chrom", "strand")
#: Which hold floats (the rest are int64).
GENE_FLOAT_COLUMNS = ("covered",)


@dataclass
class GeneBlock:
    """Results of ``G`` genes for ``K`` gene tasks.

    Attributes:
        columns: each of :data:`GENE_COLUMNS` -> (G,) array (object for text, float64 for
            ``covered``, int64 otherwise).
        values: (G, K) float32, one value per gene and gene task.
    """

    columns: dict[str, np.ndarray]
    values: np.ndarray
    n: int = field(init=False)

    def __post_init__(self) -> None:
        self.n = len(self.columns["gene_id"])
        for name in GENE_COLUMNS:
            if len(self.columns[name]) != self.n:
                raise ValueError(
                    f"gene column {name} has {len(self.columns[name])} rows, not {self.n}"
                )
        if self.values.ndim != 2 or self.values.shape[0] != self.n:
            raise ValueError(f"gene values are {self.values.shape}; expected ({self.n}, K)")


def concat_gene_blocks(blocks: list[GeneBlock], n_tasks: int) -> GeneBlock:
    """One block of the rows of ``blocks``, in order (an empty one for no blocks)."""
    if not blocks:
        cols: dict[str, np.ndarray] = {}
        for c in GENE_COLUMNS:
            kind = (
                object
                if c in GENE_STRING_COLUMNS
                else (np.float64 if c in GENE_FLOAT_COLUMNS else np.int64)
            )
            cols[c] = np.zeros(0, dtype=kind)
        return GeneBlock(cols, np.zeros((0, n_tasks), dtype=np.float32))
    if len(blocks) == 1:
        return blocks[0]
    return GeneBlock(
        {c: np.concatenate([b.columns[c] for b in blocks]) for c in GENE_COLUMNS},
        np.concatenate([b.values for b in blocks], axis=0),
    )
