"""Gene statistics of scored alleles (``grelu variants --genes``): profiles -> one row per
(allele x gene) x gene task.

:class:`GeneScorer` is the reducer the variant scorer calls for each group of alleles
(:class:`~grelu_cli.variants.scorer.VariantScorer`'s ``reduce``): it takes the
augmentation-averaged ref and alt profiles of every output bin, untransforms them when asked
(after averaging, as Calico does), finds each allele's genes in its ref window's output span
(CLI.md "Coordinates": bin j covers ``[s + (crop + j) * bin, s + (crop + j + 1) * bin)``),
their bins (:func:`~grelu_cli.genome.gene_bins.gene_bins`) and computes the statistics
(:func:`~grelu_cli.genes.stats.gene_stats`), vectorised over the genes and gene tasks of one
allele. :func:`genes_of_window` is the same lookup alone (the allele filter and the dry run).

Indels: the alt profile is compared bin by bin with the ref profile of the same window (the
left flank is fixed, :mod:`grelu_cli.variants.windows`), and the genes and their bins come
from the ref window's coordinates. Downstream of the variant an indel shifts the alt bases by
its length difference (under a bin for short indels); Calico's ``borzoi_sed.py`` does the
same (one gene slice for both profiles).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from grelu_cli.genes.stats import gene_stats, parse_stats, pseudocounts
from grelu_cli.genes.strands import GeneTasks
from grelu_cli.genome.gene_bins import GeneBins, gene_bins
from grelu_cli.genome.genes import GeneIndex


@dataclass
class GeneResults:
    """Gene statistics of consecutive scored alleles (every one has at least one gene).

    The float arrays can be averaged elementwise across model replicates (the genes and
    their bins depend only on coordinates, so the int fields are the same for every one).

    Attributes:
        alleles: the N alleles, in input order.
        pair_allele: (P,) int64 the allele (0..N-1) of each (allele x gene) pair.
        gene: (P,) int64 the pair's gene number in the :class:`GeneIndex`.
        gene_bins: (P,) int64 its number of output bins.
        scores: statistic -> (P, K) float32, K gene tasks.
        windows: distinct inputs predicted for them (their group's).
    """

    alleles: list[Any]
    pair_allele: np.ndarray
    gene: np.ndarray
    gene_bins: np.ndarray
    scores: dict[str, np.ndarray]
    windows: int = 0


@dataclass(frozen=True)
class OutputSpan:
    """Where a window's output bins sit: bin j of a window at s starts at
    ``s + offset + j * bin_size`` (``offset = crop_len * bin_size``); ``n_bins`` bins."""

    offset: int
    bin_size: int
    n_bins: int

    def start(self, window_start: int) -> int:
        return int(window_start) + self.offset

    def end(self, window_start: int) -> int:
        return self.start(window_start) + self.n_bins * self.bin_size


def genes_of_window(
    index: GeneIndex,
    span: OutputSpan,
    chrom: str,
    window_start: int,
    rule: str = "majority",
    whole_gene: bool = False,
) -> GeneBins:
    """The genes with at least one bin in the output span of the window at ``window_start``."""
    out_start = span.start(window_start)
    genes = index.overlapping(chrom, out_start, span.end(window_start), span=whole_gene)
    return gene_bins(index, genes, out_start, span.bin_size, span.n_bins, rule, whole_gene)


class GeneScorer:
    """Reduce the profiles of a group of alleles to gene statistics.

    Args:
        index: the selected genes, chromosomes spelled as the genome.
        span: the model's output span (all output bins: the predictor keeps every bin).
        tasks: the gene tasks of the predictor's output tracks (in output order).
        stats: statistic names (:data:`~grelu_cli.genes.stats.STATS`).
        rule, whole_gene: ``--gene-bins``, ``--gene-span``.
        untransform: applied to the averaged (N, T, L) profiles (None: as predicted).
    """

    def __init__(
        self,
        index: GeneIndex,
        span: OutputSpan,
        tasks: GeneTasks,
        stats: Sequence[str],
        *,
        rule: str = "majority",
        whole_gene: bool = False,
        untransform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self.index, self.span, self.tasks = index, span, tasks
        self.stats = parse_stats(stats)
        self.rule, self.whole_gene = rule, whole_gene
        self.untransform = untransform
        self._normalised = bool({"nD2", "nDi", "JS"} & set(self.stats))
        self._tracks = np.unique(np.concatenate([tasks.plus, tasks.minus]))

    def genes(self, allele: Any) -> GeneBins:
        """The genes of a planned allele's ref window."""
        return genes_of_window(
            self.index, self.span, allele.chrom, allele.window_start, self.rule, self.whole_gene
        )

    def __call__(
        self, alleles: list[Any], ref: np.ndarray, alt: np.ndarray, windows: int = 0
    ) -> GeneResults:
        """alleles: N planned alleles; ref, alt: (N, T, L) averaged profiles, all L output
        bins, genome orientation -> :class:`GeneResults`."""
        if ref.shape[-1] != self.span.n_bins:
            raise ValueError(f"profiles have {ref.shape[-1]} bins, expected {self.span.n_bins}")
        if self.untransform is not None:
            ref, alt = self.untransform(ref), self.untransform(alt)
        pair_allele, gene, n_bins = [], [], []
        parts: dict[str, list[np.ndarray]] = {s: [] for s in self.stats}
        for i, allele in enumerate(alleles):  # per allele; genes and tasks are vectorised
            gb = self.genes(allele)
            if len(gb) == 0:
                continue
            r = np.asarray(ref[i], dtype=np.float32)  # (T, L) contiguous
            # The 25th percentiles of the tracks the gene tasks read, over all bins, along
            # the rows of the contiguous (T, L) profile (genes.stats.pseudocounts).
            pseudo = pseudocounts(r.T, self._tracks) if self._normalised else None
            res = gene_stats(
                r.T,
                np.asarray(alt[i], dtype=np.float32).T,
                gb,
                self.index.minus[gb.genes],
                self.tasks,
                self.stats,
                pseudo=pseudo,
            )
            for s in self.stats:
                parts[s].append(res[s])
            pair_allele.append(np.full(len(gb), i, dtype=np.int64))
            gene.append(gb.genes)
            n_bins.append(gb.counts)
        k = len(self.tasks)

        def cat(xs: list[np.ndarray], dtype: Any) -> np.ndarray:
            return np.concatenate(xs).astype(dtype) if xs else np.zeros(0, dtype=dtype)

        scores = {
            s: np.concatenate(v) if v else np.zeros((0, k), dtype=np.float32)
            for s, v in parts.items()
        }
        return GeneResults(
            list(alleles),
            cat(pair_allele, np.int64),
            cat(gene, np.int64),
            cat(n_bins, np.int64),
            scores,
            windows,
        )


def output_gene_tasks(table: Any, selected: Sequence[int] | None) -> GeneTasks:
    """The gene tasks of the predictor's output tracks: rows ``selected`` of the model's
    tasks table (None: all), ``strand_pair`` renumbered to output positions.

    Raises:
        UsageError: a selected stranded track whose pair member is not selected (exit 2).
        InputDataError: the table's strands do not pair up (:func:`track_strands`).
    """
    import pandas as pd

    from grelu_cli.errors import UsageError
    from grelu_cli.genes.strands import gene_tasks, track_strands

    if table is None:
        raise UsageError(
            "--genes needs the model's tasks table (track names and strands)",
            fix="use a model whose checkpoint records its tasks",
        )
    rows = list(range(len(table))) if selected is None else [int(i) for i in selected]
    strand, pairs = track_strands(table)
    where = {r: k for k, r in enumerate(rows)}
    names = [str(v) for v in table["name"]] if "name" in table.columns else None
    missing = [r for r in rows if pairs[r] not in where]
    if missing:
        r = missing[0]
        label = names[pairs[r]] if names else str(pairs[r])
        mine = names[r] if names else str(r)
        raise UsageError(
            f"--genes: task {mine!r} is selected but its strand pair {label!r} is not "
            f"({len(missing)} such tasks)",
            fix="select both members of every strand pair (or neither)",
        )
    sub = table.iloc[rows].reset_index(drop=True).copy()
    if "strand_pair" in sub.columns:
        sub["strand_pair"] = [where[pairs[r]] for r in rows]
    if "strand" not in sub.columns:
        sub["strand"] = pd.Series([str(strand[r]) for r in rows], dtype=object)
    return gene_tasks(sub)
