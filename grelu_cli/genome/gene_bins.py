"""Which output bins of a window belong to each gene (Calico ``borzoi_sed.py``'s rule).

For an output span of ``n_bins`` bins of ``bin_size`` bases starting at genome position
``out_start``, each exon ``[s, e)`` of a gene covers bins ``b0`` to ``b1`` (half-open), with
``s' = max(0, s - out_start)``, ``e' = max(0, e - out_start)`` and

    majority (default): b0 = round(s' / bin_size), b1 = round(e' / bin_size)
    any:                b0 = floor(s' / bin_size), b1 = ceil(e' / bin_size)

``round`` is numpy's (half to even), exactly as ``map_snpseq_genes`` computes it; both ends are
clipped to ``[0, n_bins]`` and the gene's bins are the union over its exons. With ``span`` the
gene's exon span ``[first start, last end)`` is used instead of its exons. Merging overlapping
exons first (as Calico's IntervalTree does) gives the same union, since the rule is monotonic.
A gene with no bin is not returned.

The result is ragged: ``bins[offsets[i]:offsets[i+1]]`` are gene ``genes[i]``'s bins, sorted,
so reductions over genes are ``np.add.reduceat(x[bins], offsets[:-1])``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grelu_cli.genome.genes import GeneIndex, ragged_rows

BIN_RULES = ("majority", "any")


@dataclass(frozen=True)
class GeneBins:
    """The bins of the genes that have at least one in a window.

    Attributes:
        genes: (G,) int64 gene numbers in the :class:`GeneIndex`, ascending.
        offsets: (G+1,) int64 into ``bins``.
        bins: (B,) int64 output bin indices in ``[0, n_bins)``, sorted within each gene.
    """

    genes: np.ndarray
    offsets: np.ndarray
    bins: np.ndarray

    def __len__(self) -> int:
        return len(self.genes)

    @property
    def counts(self) -> np.ndarray:
        """(G,) int64 number of bins of each gene."""
        return np.diff(self.offsets)

    @property
    def row_gene(self) -> np.ndarray:
        """(B,) int64: for each entry of ``bins``, its gene's position 0..G-1."""
        return np.repeat(np.arange(len(self.genes), dtype=np.int64), self.counts)


def interval_bins(
    start: np.ndarray, end: np.ndarray, out_start: int, bin_size: int, n_bins: int, rule: str
) -> tuple[np.ndarray, np.ndarray]:
    """Bins ``[b0, b1)`` of intervals ``[start, end)``: (n,) int64 each (see module doc)."""
    if rule not in BIN_RULES:
        raise ValueError(f"gene bin rule {rule!r}; expected one of {BIN_RULES}")
    s = np.maximum(0, np.asarray(start, dtype=np.int64) - out_start) / bin_size
    e = np.maximum(0, np.asarray(end, dtype=np.int64) - out_start) / bin_size
    if rule == "majority":
        b0, b1 = np.round(s), np.round(e)
    else:
        b0, b1 = np.floor(s), np.ceil(e)
    return (
        np.clip(b0, 0, n_bins).astype(np.int64),
        np.clip(b1, 0, n_bins).astype(np.int64),
    )


def gene_bins(
    index: GeneIndex,
    genes: np.ndarray,
    out_start: int,
    bin_size: int,
    n_bins: int,
    rule: str = "majority",
    span: bool = False,
) -> GeneBins:
    """The bins of ``genes`` ((n,) gene numbers, e.g. from ``index.overlapping``) in the
    output span ``[out_start, out_start + n_bins * bin_size)``; genes without a bin dropped."""
    genes = np.asarray(genes, dtype=np.int64)
    if span:
        row = np.arange(len(genes), dtype=np.int64)
        start, end = index.start[genes], index.end[genes]
    else:
        rows, offsets = ragged_rows(index.exon_offsets, genes)
        row = np.repeat(np.arange(len(genes), dtype=np.int64), np.diff(offsets))
        start, end = index.exon_start[rows], index.exon_end[rows]
    b0, b1 = interval_bins(start, end, out_start, bin_size, n_bins, rule)
    ok = b1 > b0
    # Union of [b0, b1) per gene: +1/-1 at the ends, cumulative sum > 0 inside any interval.
    diff = np.zeros((len(genes), n_bins + 1), dtype=np.int32)
    np.add.at(diff, (row[ok], b0[ok]), 1)
    np.add.at(diff, (row[ok], b1[ok]), -1)
    g_row, bins = np.nonzero(np.cumsum(diff[:, :n_bins], axis=1) > 0)
    counts = np.bincount(g_row, minlength=len(genes))
    keep = counts > 0
    offsets = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
    np.cumsum(counts[keep], out=offsets[1:])
    return GeneBins(genes=genes[keep], offsets=offsets, bins=bins.astype(np.int64))
