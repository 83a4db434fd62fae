"""Predicted expression per gene (``grelu predict --genes``): genes -> windows -> gene values.

Each gene is one region, its exon span ``[first exon start, last exon end)`` on the '+'
strand (the model reads the genome forward; the gene's strand picks the track, not the
sequence). The window plan places it as ``grelu predict`` places a region: one centred window
when it fits the (kept) output span, else tiles whose output bins abut
(:class:`~grelu_cli.genome.plan.WindowPlan` with ``tile_long``).

:class:`GeneReducer` turns the predictor's blocks of windows, in run order, into
:class:`~grelu_cli.core.gene_block.GeneBlock` rows: for each gene and gene task (strand-collapsed,
:func:`~grelu_cli.genes.strands.gene_tasks`) the strand-matched track summed (or averaged) over
the gene's bins (:mod:`grelu_cli.genome.gene_bins`' rule) of all its windows. A window's bins
that lie before the end of the gene's previous window's output span are left out, so no
genomic bin counts twice even where ``--edge shift`` moved a tile onto its neighbour.
Vectorised over the windows of a block, the genes and the tasks.

A gene's windows are contiguous in run order; a range of windows *owns* the genes whose
first window lies in it (:func:`owned_genes`), and predicts the windows of those genes
(:func:`predicted_range`, widened to whole batches), so shards and chunks cut on whole genes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from grelu_cli.core.block import Block
from grelu_cli.core.gene_block import GeneBlock
from grelu_cli.genes.strands import GeneTasks
from grelu_cli.genome.gene_bins import interval_bins
from grelu_cli.genome.genes import GeneIndex, ragged_rows
from grelu_cli.genome.table import RegionTable, table_from_arrays


def gene_table(index: GeneIndex, chrom_sizes: dict[str, int], source: str) -> RegionTable:
    """The genes as a region table (row g = gene g): exon span, '+' strand, named by gene_id.

    ``chrom_sizes``: the genome's chromosome sizes, in index order (the index's chromosomes
    are spelled as the genome's)."""
    chroms = [index.chroms[c] for c in index.chrom.tolist()]
    return table_from_arrays(
        chrom_sizes,
        chroms,
        index.start,
        index.end,
        names=[str(g) for g in index.gene_id],
        source=source,
    )


def first_windows(plan_n: np.ndarray) -> np.ndarray:
    """(G,) int64 run index of each gene's first window (``plan.n``: windows per gene)."""
    n = np.asarray(plan_n, dtype=np.int64)
    return np.cumsum(n) - n


def owned_genes(first: np.ndarray, lo: int, hi: int) -> tuple[int, int]:
    """Genes ``[a, b)`` whose first window lies in windows ``[lo, hi)``."""
    a = int(np.searchsorted(first, lo, side="left"))
    b = int(np.searchsorted(first, hi, side="left"))
    return a, b


def predicted_range(
    plan_n: np.ndarray, genes: tuple[int, int], batch: int, total: int
) -> tuple[int, int]:
    """Windows to predict for genes ``[a, b)``: their windows, widened to whole batches of
    ``batch`` counted from window 0 (so every window is computed in the batch of a plain run);
    ``(w, w)`` when they have none."""
    n = np.asarray(plan_n, dtype=np.int64)
    a, b = genes
    first = int(n[:a].sum())
    last = first + int(n[a:b].sum())
    if last == first:
        return first, first
    lo = first // batch * batch
    hi = min(total, -(-last // batch) * batch)
    return lo, hi


@dataclass
class _Pending:
    """The gene whose windows are still arriving."""

    gene: int
    sums: np.ndarray  # (K,) float64
    bins: int
    bases: int
    windows: int
    out_end: int  # end of its last window's output span


class GeneReducer:
    """Blocks of windows (run order) -> per-gene values (see the module docstring).

    Args:
        index: the selected genes; window ``w`` of the plan belongs to gene ``region(w)``.
        tasks: the gene tasks over the predictor's output tasks.
        rule: ``majority`` or ``any`` (``--gene-bins``); ``span``: the gene's whole span.
        aggregate: ``sum`` or ``mean`` over the gene's bins.
    """

    def __init__(
        self, index: GeneIndex, tasks: GeneTasks, rule: str, span: bool, aggregate: str
    ) -> None:
        self.index, self.tasks, self.rule, self.span = index, tasks, rule, span
        self.aggregate = aggregate
        if span:
            self.total_bases = (index.end - index.start).astype(np.int64)
        else:
            lengths = (index.exon_end - index.exon_start).astype(np.int64)
            self.total_bases = (
                np.add.reduceat(lengths, index.exon_offsets[:-1])
                if len(lengths)
                else np.zeros(len(index), dtype=np.int64)
            )
        self.no_bins = 0  # genes with windows but no bin (not written)

    def _intervals(self, genes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, start, end): the intervals of each entry of ``genes`` ((W,) gene numbers):
        merged exons, or the span with ``span``; ``row`` the entry each interval belongs to."""
        idx = self.index
        if self.span:
            return np.arange(len(genes), dtype=np.int64), idx.start[genes], idx.end[genes]
        rows, offsets = ragged_rows(idx.exon_offsets, genes)
        row = np.repeat(np.arange(len(genes), dtype=np.int64), np.diff(offsets))
        return row, idx.exon_start[rows], idx.exon_end[rows]

    def window_values(
        self, block: Block, prev_end: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per window of ``block``: (sums (W, K) float64, bins (W,), covered bases (W,),
        out_end (W,)); ``prev_end`` (W,): the end of the gene's previous output span (bins and
        bases before it are left out)."""
        w, _, n_bins = block.values.shape
        genes = np.array([win.region_index for win in block.windows], dtype=np.int64)
        out_start = block.bin_start[:, 0].astype(np.int64)
        out_end = block.bin_end[:, -1].astype(np.int64)
        bin_size = int(block.bin_end[0, 0] - block.bin_start[0, 0])
        row, s, e = self._intervals(genes)
        # Bins of each interval in its window's output span; union per window (+1/-1 ends).
        b0, b1 = interval_bins(
            s - out_start[row], e - out_start[row], 0, bin_size, n_bins, self.rule
        )
        ok = b1 > b0
        diff = np.zeros((w, n_bins + 1), dtype=np.int32)
        np.add.at(diff, (row[ok], b0[ok]), 1)
        np.add.at(diff, (row[ok], b1[ok]), -1)
        mask = np.cumsum(diff[:, :n_bins], axis=1) > 0
        mask &= block.bin_start >= prev_end[:, None]  # counted in the gene's previous window
        # Gene bases inside [max(out_start, prev_end), out_end).
        lo = np.maximum(out_start, prev_end)[row]
        inside = np.clip(np.minimum(e, out_end[row]) - np.maximum(s, lo), 0, None)
        bases = np.bincount(row, weights=inside, minlength=w).astype(np.int64)
        # Per-track sums over each window's gene bins: only the gene's bins are gathered
        # ((n, T) for n gene bins), never a (W, K, B) copy of the block, so memory and time
        # follow the gene bins, not the output span (6,144 Borzoi bins, 7,611 tracks).
        rows, cols_b = np.nonzero(mask)  # row-major: grouped by window
        track_sums = np.zeros((w, block.values.shape[1]), dtype=np.float64)
        if len(rows):
            gathered = block.values[rows, :, cols_b].astype(np.float64)  # (n, T)
            first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
            track_sums[rows[first]] = np.add.reduceat(gathered, first, axis=0)
        cols = self.tasks.columns(self.index.minus[genes])  # (W, K) track per gene task
        sums = track_sums[np.arange(w)[:, None], cols]  # (W, K)
        return sums, mask.sum(axis=1).astype(np.int64), bases, out_end

    def reduce(
        self, blocks: Iterable[Block], genes: tuple[int, int]
    ) -> Iterator[tuple[np.ndarray, GeneBlock]]:
        """``(gene numbers (n,), rows)`` of the genes ``[a, b)`` whose windows are all in
        ``blocks`` (consecutive windows, run order), in gene order. Genes of the blocks outside
        ``[a, b)`` are left out; so are genes without a bin (counted in ``no_bins``)."""
        pending: _Pending | None = None
        for block in blocks:
            if not len(block.windows):
                continue
            region = np.array([win.region_index for win in block.windows], dtype=np.int64)
            out_end_all = block.bin_end[:, -1].astype(np.int64)
            # The previous window's output end when it is of the same gene (else -inf).
            prev = np.full(len(region), np.iinfo(np.int64).min, dtype=np.int64)
            same = region[1:] == region[:-1]
            prev[1:][same] = out_end_all[:-1][same]
            if pending is not None and region[0] == pending.gene:
                prev[0] = pending.out_end
            sums, bins, bases, out_end = self.window_values(block, prev)
            starts = np.flatnonzero(np.r_[True, region[1:] != region[:-1]])
            ends = np.r_[starts[1:], len(region)]
            # One row per run of windows of one gene (vectorised); the loop only chains runs.
            g_sums = np.add.reduceat(sums, starts, axis=0)
            g_bins = np.add.reduceat(bins, starts)
            g_bases = np.add.reduceat(bases, starts)
            done: list[_Pending] = []
            for i, (a, z) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
                g = int(region[a])
                part = _Pending(
                    g, g_sums[i], int(g_bins[i]), int(g_bases[i]), z - a, int(out_end[z - 1])
                )
                if pending is not None and pending.gene == g:
                    pending.sums += part.sums
                    pending.bins += part.bins
                    pending.bases += part.bases
                    pending.windows += part.windows
                    pending.out_end = part.out_end
                    continue
                if pending is not None:
                    done.append(pending)
                pending = part
            out = self._rows(done, genes)
            if out is not None:
                yield out
        out = self._rows([pending] if pending is not None else [], genes)
        if out is not None:
            yield out

    def _rows(
        self, done: list[_Pending], genes: tuple[int, int]
    ) -> tuple[np.ndarray, GeneBlock] | None:
        keep = [p for p in done if genes[0] <= p.gene < genes[1]]
        scored = [p for p in keep if p.bins > 0]
        self.no_bins += len(keep) - len(scored)
        if not scored:
            return None
        g = np.array([p.gene for p in scored], dtype=np.int64)
        sums = np.stack([p.sums for p in scored])
        nb = np.array([p.bins for p in scored], dtype=np.int64)
        values = sums / nb[:, None] if self.aggregate == "mean" else sums
        return g, self.block(g, values, nb, [p.windows for p in scored], [p.bases for p in scored])

    def block(
        self,
        g: np.ndarray,
        values: np.ndarray,
        bins: np.ndarray,
        windows: list[int],
        bases: list[int],
    ) -> GeneBlock:
        """The rows of genes ``g`` with their (n, K) values."""
        idx = self.index
        total = self.total_bases[g]
        covered = np.asarray(bases, dtype=np.float64) / np.maximum(total, 1)
        columns = {
            "gene_id": idx.gene_id[g].astype(object),
            "gene_name": idx.gene_name[g].astype(object),
            "gene_type": idx.gene_type[g].astype(object),
            "chrom": np.array([idx.chroms[c] for c in idx.chrom[g].tolist()], dtype=object),
            "start": idx.start[g].astype(np.int64),
            "end": idx.end[g].astype(np.int64),
            "strand": idx.strand[g].astype(object),
            "windows": np.asarray(windows, dtype=np.int64),
            "gene_bins": bins.astype(np.int64),
            "covered": covered,
        }
        return GeneBlock(columns, np.asarray(values, dtype=np.float32))
