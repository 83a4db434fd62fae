"""``grelu ism --genes GTF --gene-ids X``: the target of each task is the sum of the gene's
strand-matched track over the gene's output bins (CLI.md "genes": the bins by
:func:`grelu_cli.genome.gene_bins.gene_bins`, ``--gene-bins``/``--gene-span``; the tracks by
:func:`grelu_cli.genes.strands.gene_tasks`: one output task per strand pair, named by its '+'
member, plus each unstranded track; a '+' gene reads the '+' member, a '-' gene the '-' one).

One gene per run: ``--gene-ids`` (or ``--gene-ids-file``) must select exactly one. The
predictor keeps every output bin (no ``--aggregate``); each region's window gets its own
reduction (:meth:`GeneTarget.reducer`), since the gene's bins depend on where the window is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from grelu_cli.core.window import Window
from grelu_cli.errors import InputDataError, UsageError

if TYPE_CHECKING:
    from torch import Tensor

    from grelu_cli.genome.genes import GeneIndex
    from grelu_cli.run.ism_job import ISMJob


@dataclass(frozen=True)
class GeneTarget:
    """The gene and the tracks its targets read.

    Attributes:
        index: a one-gene :class:`~grelu_cli.genome.genes.GeneIndex`.
        names: (K,) output task names (gene tasks).
        tracks: (K,) model track names predicted for them, in the same order.
        rule: ``--gene-bins``; span: ``--gene-span``.
    """

    index: GeneIndex
    names: list[str]
    tracks: list[str]
    rule: str
    span: bool

    @property
    def label(self) -> str:
        return f"{self.index.gene_id[0]} ({self.index.gene_name[0]})"

    def provenance(self) -> dict[str, Any]:
        i = self.index
        return {
            "gene_id": str(i.gene_id[0]),
            "gene_name": str(i.gene_name[0]),
            "chrom": i.chroms[int(i.chrom[0])],
            "strand": str(i.strand[0]),
            "start": int(i.start[0]),
            "end": int(i.end[0]),
            "tracks": self.tracks,
            "gene_bins": self.rule,
            "gene_span": self.span,
        }

    def reducer(self, layout: Any, window: Window) -> Callable[[Tensor], Tensor]:
        """For ``window``: model outputs ``(N, K, B)`` (kept bins, genome orientation) ->
        ``(N, K)`` sums over the gene's bins. InputDataError (exit 3) when the gene has no
        bin in this window's output."""
        import torch

        from grelu_cli.genome.gene_bins import gene_bins

        starts, ends = layout.coordinates([window])
        starts, ends = np.asarray(starts)[0], np.asarray(ends)[0]
        i = self.index
        same_chrom = window.chrom == i.chroms[int(i.chrom[0])]
        found = gene_bins(
            i,
            np.zeros(1, dtype=np.int64),
            int(starts[0]),
            int(ends[0] - starts[0]),
            len(starts),
            self.rule,
            self.span,
        )
        if not same_chrom or len(found) == 0:
            raise InputDataError(
                f"gene {self.label} has no output bin in the window of region "
                f"{window.name} ({window.chrom}:{window.window_start}-{window.window_end})",
                fix="give regions whose model output covers the gene's exons",
            )
        bins = torch.from_numpy(found.bins)

        def reduce(y: Tensor) -> Tensor:
            return y[..., bins.to(y.device)].sum(-1)

        return reduce


def gene_target(job: ISMJob, tasks: Any, genome_chroms: list[str]) -> GeneTarget:
    """Load ``--genes``, check exactly one gene is selected, and pick its tracks from the
    model's tasks table ``tasks`` (``--tasks``/``--tasks-file``/``--tasks-query`` keep the
    gene tasks whose '+' or '-' track they select)."""
    from grelu_cli.genes.config import load_genes
    from grelu_cli.genes.strands import gene_tasks
    from grelu_cli.predict.tasks import resolve_tasks

    g = job.genes
    loaded = load_genes(g, genome_chroms, job.input.chrom_alias)
    index = loaded.index
    if len(index) != 1:
        shown = ", ".join(str(x) for x in index.gene_id[:5])
        raise UsageError(
            f"grelu ism --genes scores one gene, but the selection matches {len(index)} "
            f"({shown}{', ...' if len(index) > 5 else ''})",
            fix="name one gene with --gene-ids",
        )
    if tasks is None:
        raise UsageError(
            "--genes needs the model's tasks table (strands of its tracks)",
            fix="use a model whose checkpoint records its tasks",
        )
    gt = gene_tasks(tasks)
    p = job.predict
    picked = resolve_tasks(
        tasks,
        names=list(p.tasks) if p.tasks is not None else None,
        file=p.tasks_file,
        query=p.tasks_query,
        model=job.model.model,
    )
    keep = [
        k
        for k in range(len(gt))
        if picked is None or int(gt.plus[k]) in picked or int(gt.minus[k]) in picked
    ]
    columns = gt.columns(index.minus[:1])[0]  # (K,) track a gene of this strand reads
    names = [str(v) for v in tasks["name"]] if "name" in tasks.columns else None
    tracks = [names[int(columns[k])] if names else str(int(columns[k])) for k in keep]
    return GeneTarget(
        index=index,
        names=[gt.names[k] for k in keep],
        tracks=tracks,
        rule=g.gene_bins,
        span=g.gene_span,
    )
