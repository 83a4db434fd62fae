"""The unit variant writers consume: results of consecutive scored alleles, as arrays.

The variant scorer hands a :class:`VariantBlock` to a writer (parquet rows, a dense zarr
store, a resume part), as the predictor hands a :class:`~grelu_cli.core.block.Block` to the
track writers. Everything travels as numpy arrays, never as Python lists of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: The per-allele columns, in output order (CLI.md "variants").
VARIANT_COLUMNS = (
    "chrom",
    "pos",
    "id",
    "ref",
    "alt",
    "allele",
    "variant_type",
    "ref_status",
    "window_start",
    "window_end",
    "padded",
)
#: Which of them hold text (object arrays of str; ``id`` None where the input had none).
STRING_COLUMNS = ("chrom", "id", "ref", "alt", "variant_type", "ref_status")
#: The per-gene columns of ``grelu variants --genes`` (after the per-allele ones), one row
#: per (allele x gene) pair (CLI.md "genes").
GENE_COLUMNS = ("gene_id", "gene_name", "gene_type", "gene_strand", "gene_bins")
#: Every text column of either kind of block.
TEXT_COLUMNS = frozenset((*STRING_COLUMNS, "gene_id", "gene_name", "gene_type", "gene_strand"))


@dataclass
class VariantBlock:
    """Results of ``N`` alleles for ``T`` tasks.

    Attributes:
        columns: each of :data:`VARIANT_COLUMNS` (with ``--genes`` then each of
            :data:`GENE_COLUMNS`, N = allele x gene pairs) -> (N,) array (object for text,
            int64 otherwise).
        values: ``ref_value``, ``alt_value`` and each score (with ``--genes``: each gene
            statistic, then each ``{stat}_quantile``) -> (N, T) float32.
        windows: distinct model inputs predicted for these alleles (their groups').
    """

    columns: dict[str, np.ndarray]
    values: dict[str, np.ndarray]
    windows: int = 0
    n: int = field(init=False)

    def __post_init__(self) -> None:
        self.n = len(self.columns["pos"]) if "pos" in self.columns else 0
        for name, array in (*self.columns.items(), *self.values.items()):
            if len(array) != self.n:
                raise ValueError(f"VariantBlock: {name} has {len(array)} rows, not {self.n}")
