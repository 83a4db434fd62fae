"""Set a ``grelu predict --genes`` job up: model, genes, their windows, predictor, gene tasks.

:func:`prepare_genes` loads the model, reads the GTF (:func:`grelu_cli.genes.config.load_genes`),
makes each selected gene one region (its exon span) and plans its windows with the window
planner ``grelu predict`` uses (one centred window when the gene fits the output span, else
abutting tiles), validated against the genome. The predictor outputs the selected tracks
and, for stranded ones, their strand partners (a '-' gene reads the partner), unreduced
(the gene reduction sums bins); the gene tasks are the strand-collapsed selection.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from grelu_cli.run.config import PredictJob
from grelu_cli.run.observer import RunObserver

if TYPE_CHECKING:
    from grelu_cli.core.shards import Shard
    from grelu_cli.genes.config import LoadedGenes
    from grelu_cli.genes.strands import GeneTasks
    from grelu_cli.genome.inputs import PreparedInput
    from grelu_cli.predict.loop import Predictor
    from grelu_cli.zoo.loader import LoadedModel


@dataclass
class GeneSetup:
    """A gene job ready to predict.

    Attributes:
        loaded, seq_len: the model and its input length.
        genes: the selected genes (``genes.index``: gene g is region g of ``inp``).
        inp: the gene regions and their window plan, validated (problems in ``inp.report``).
        predictor: None for a dry run. ``tasks``: the gene tasks over its output tracks.
        gtf_sha256: the annotation file's checksum (provenance and fingerprint).
    """

    loaded: LoadedModel
    seq_len: int
    genes: LoadedGenes
    inp: PreparedInput
    predictor: Predictor | None
    tasks: GeneTasks | None
    gtf_sha256: str

    @property
    def loaded_total(self) -> int:
        """Genes in the annotation (before selection and skips)."""
        return self.genes.total or len(self.genes.index)

    def first_windows(self) -> np.ndarray:
        """(G,) run index of each gene's first window."""
        from grelu_cli.genes.predicted import first_windows

        return first_windows(self.inp.plan.n)

    def shard_genes(self, shard: Shard | None, job: PredictJob) -> tuple[int, int, int, int]:
        """``(lo, hi, a, b)``: the shard's windows ``[lo, hi)`` (whole batches, as ``grelu
        predict`` cuts them) and the genes ``[a, b)`` whose first window lies in them."""
        from grelu_cli.core.shards import shard_range
        from grelu_cli.genes.predicted import owned_genes

        total = self.inp.plan.count()
        lo, hi = shard_range(total, shard, self.batch(job, shard))
        a, b = owned_genes(self.first_windows(), lo, hi)
        return lo, hi, a, b

    def batch(self, job: PredictJob, shard: Shard | None) -> int:
        """Windows per model batch (a shard of a small run lowers ``auto``'s, as predict)."""
        from grelu_cli.predict.device import resolve_device
        from grelu_cli.run.batches import run_batch_size
        from grelu_cli.run.predict_checks import shard_batch

        if self.predictor is not None:
            batch = int(self.predictor.sizer.size)
        else:
            device = resolve_device(job.run.device).type
            batch = run_batch_size(job.predict.batch_size, device, self.seq_len)
        if shard is not None:
            most = shard_batch(batch, job.predict.batch_size, self.inp.plan.count(), shard.count)
            if most < batch:
                batch = most
                if self.predictor is not None:
                    self.predictor.sizer.cap(most)
        return batch


def prepare_genes(
    job: PredictJob, observer: RunObserver | None, build_predictor: bool = True
) -> GeneSetup:
    """Load the model and genes, plan and validate the windows, build the predictor."""
    from grelu_cli.genes.config import load_genes
    from grelu_cli.genes.predicted import gene_table
    from grelu_cli.genome.genome import Genome
    from grelu_cli.genome.inputs import PreparedInput
    from grelu_cli.genome.plan import WindowPlan
    from grelu_cli.genome.report import ValidationReport
    from grelu_cli.genome.sequence import WindowSequences
    from grelu_cli.genome.validate import validate
    from grelu_cli.io.formats.provenance import sha256_file
    from grelu_cli.run.build import input_length, load

    loaded = load(job, show_downloads=observer is not None and observer.show_downloads)
    seq_len = input_length(job, loaded)
    i = job.input
    assert i.genome is not None and job.genes.genes is not None  # check_gene_job
    genome = Genome(i.genome, chrom_alias=i.chrom_alias)
    genes = load_genes(job.genes, genome.chroms, i.chrom_alias)
    sizes = {c: genome.sizes[c] for c in genome.chroms}
    table = gene_table(genes.index, sizes, source=f"--genes {job.genes.genes}")
    plan = WindowPlan(
        table,
        seq_len,
        tile_long=True,
        geometry=loaded.geometry,
        edge=i.edge,
        center_bins=job.predict.bins,
    )
    report = ValidationReport()
    validate(plan, report, genome_name=genome.name, known=genome.chroms, chrom_alias=i.chrom_alias)
    inp = PreparedInput(table, plan, genome, WindowSequences(table, genome), report)
    setup = GeneSetup(loaded, seq_len, genes, inp, None, None, sha256_file(job.genes.genes))
    if build_predictor:
        inp.check()
        if observer is not None:
            for message in inp.report.warnings:
                observer.warn(message)
        setup.predictor, setup.tasks = _predictor(job, loaded, seq_len)
    return setup


def _predictor(job: PredictJob, loaded: LoadedModel, seq_len: int) -> tuple[Predictor, GeneTasks]:
    """The predictor over the selected tracks plus their strand partners, and the gene tasks
    of the selection (a pair is kept when either member was selected)."""
    from grelu_cli.genes.strands import GeneTasks, gene_tasks
    from grelu_cli.predict.tasks import resolve_tasks
    from grelu_cli.run.build import make_predictor

    p = job.predict
    table = loaded.tasks
    selected = resolve_tasks(
        table,
        names=list(p.tasks) if p.tasks is not None else None,
        file=p.tasks_file,
        query=p.tasks_query,
        model=job.model.model,
    )
    full = gene_tasks(table)
    chosen = set(range(len(table)) if selected is None else selected)
    keep = [k for k in range(len(full)) if full.plus[k] in chosen or full.minus[k] in chosen]
    order = list(range(len(table))) if selected is None else list(selected)
    for k in keep:  # strand partners a gene of the other strand reads
        for t in (int(full.plus[k]), int(full.minus[k])):
            if t not in order:
                order.append(t)
    unreduced = replace(job, predict=replace(job.predict, aggregate=None))
    predictor = make_predictor(unreduced, loaded, seq_len, order, job.run.device)
    pos = {t: j for j, t in enumerate(order)}
    tasks = GeneTasks(
        names=[full.names[k] for k in keep],
        plus=np.array([pos[int(full.plus[k])] for k in keep], dtype=np.int64),
        minus=np.array([pos[int(full.minus[k])] for k in keep], dtype=np.int64),
        track_strand=full.track_strand[np.array(order, dtype=np.int64)],
    )
    return predictor, tasks


def task_table(setup: GeneSetup) -> Any:
    """The tasks-table rows of the gene tasks' '+' members (None without names)."""
    if setup.tasks is None or setup.predictor is None or setup.predictor.plan is None:
        return None
    rows = [setup.predictor.plan.selected[int(j)] for j in setup.tasks.plus]
    return setup.loaded.tasks.iloc[rows].reset_index(drop=True)
