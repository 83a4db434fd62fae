"""``grelu variants --genes``: the gene part of a variants run.

:func:`setup_genes` reads the annotation (:func:`~grelu_cli.genes.config.load_genes`), the
gene tasks of the predictor's output tracks and the ``--background``, and builds the
:class:`~grelu_cli.genes.variant_sed.GeneScorer` the variant scorer reduces each group's
profiles with. :func:`alleles_with_genes` drops (and counts) alleles with no gene before
anything is predicted; :func:`gene_block` turns a group's
:class:`~grelu_cli.genes.variant_sed.GeneResults` into the writers' block (one row per
allele x gene pair), adding ``{stat}_quantile`` against the background.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from grelu_cli.core.variant_block import GENE_COLUMNS, VARIANT_COLUMNS, VariantBlock
from grelu_cli.errors import InputDataError

if TYPE_CHECKING:
    from grelu_cli.genes.calibrate import BackgroundQuantiles
    from grelu_cli.genes.config import LoadedGenes
    from grelu_cli.genes.variant_sed import GeneResults, GeneScorer
    from grelu_cli.run.variant_job import VariantJob
    from grelu_cli.variants.plan import PlannedAllele, VariantCounts

#: The leading columns of gene results (CLI.md "genes").
LEADING = (*VARIANT_COLUMNS, *GENE_COLUMNS)


@dataclass
class GeneSetup:
    """What a ``--genes`` run needs beyond a plain variants run.

    Attributes:
        genes: the selected genes and what was left out.
        scorer: the reducer of each group's profiles.
        stats: the statistics, in the order asked.
        values: the value columns (statistics, then ``{stat}_quantile`` with a background).
        tasks: the gene task names (K).
        task_table: (K,) rows of the tasks table of the gene tasks' '+' members.
        background: statistic -> quantiles of the background (empty without one).
        sha256: the annotation file's.
        path: the annotation file.
    """

    genes: LoadedGenes
    scorer: GeneScorer
    stats: list[str]
    values: list[str]
    tasks: list[str]
    task_table: Any
    background: dict[str, BackgroundQuantiles] = field(default_factory=dict)
    sha256: str = ""
    path: str = ""

    def task_labels(self) -> list[str]:
        """(K,) the gene tasks' labels: the tasks table's ``description``, else the names."""
        t = self.task_table
        if t is not None and "description" in t.columns:
            return [str(v) for v in t["description"]]
        return list(self.tasks)

    def provenance(self) -> dict[str, Any]:
        """The ``genes`` entry of the output's provenance."""
        g = self.genes
        return {
            "gtf": str(Path(self.path).resolve()) if self.path else None,
            "gtf_sha256": self.sha256,
            "genes_selected": len(g.index),
            "genes_skipped": len(g.skipped),
            "skipped": [f"{s.gene_id}: {s.reason}" for s in g.skipped[:100]],
            "unmatched_gene_ids": list(g.unmatched),
            "chroms_not_in_genome": list(g.missing_chroms),
            "stats": self.stats,
            "task_labels": self.task_labels(),
            "gene_bins": self.scorer.rule,
            "gene_span": self.scorer.whole_gene,
            "untransform": "after averaging the augmentations (Calico)",
            "span": {
                "offset": self.scorer.span.offset,
                "bin_size": self.scorer.span.bin_size,
                "n_bins": self.scorer.span.n_bins,
            },
        }


def output_span(layout: Any) -> Any:
    """A bin layout's (the predictor's) output bins as an
    :class:`~grelu_cli.genes.variant_sed.OutputSpan` (every bin: the predictor keeps them
    all). UsageError for a model with pooled outputs."""
    from grelu_cli.errors import UsageError
    from grelu_cli.genes.variant_sed import OutputSpan

    if layout.pooled or layout.aggregate:
        raise UsageError(
            "--genes needs a model with binned outputs (a profile along the sequence); this "
            "model outputs one value per window",
            fix="use a profile model such as Borzoi or Enformer",
        )
    offset = (layout.crop_len + layout.first) * layout.bin_size
    return OutputSpan(offset=offset, bin_size=layout.bin_size, n_bins=layout.n_keep)


def setup_genes(
    job: VariantJob, loaded: Any, genome: Any, predictor: Any, selected: Any
) -> GeneSetup:
    """Load the genes, the gene tasks, the background; build the scorer (exit 2/3/4 on
    bad options, input or missing files)."""
    from grelu_cli.genes.config import load_genes
    from grelu_cli.genes.stats import parse_stats
    from grelu_cli.genes.variant_sed import GeneScorer, output_gene_tasks
    from grelu_cli.io.formats.provenance import sha256_file

    g = job.genes
    assert g.genes is not None
    loaded_genes = load_genes(g, genome.chroms, job.input.chrom_alias)
    gt = output_gene_tasks(loaded.tasks, selected)
    table = None
    if loaded.tasks is not None:
        rows = list(range(len(loaded.tasks))) if selected is None else list(selected)
        table = loaded.tasks.iloc[[rows[i] for i in gt.plus]].reset_index(drop=True)
    untransform = None
    if job.predict.untransform:
        untransform = _numpy_untransform(loaded.tasks, selected, job.predict.untransform_mode)
    stats = parse_stats(g.gene_stats)
    scorer = GeneScorer(
        loaded_genes.index,
        output_span(predictor.layout),
        gt,
        stats,
        rule=g.gene_bins,
        whole_gene=g.gene_span,
        untransform=untransform,
    )
    background = {}
    values = list(stats)
    if g.background is not None:
        background = load_background(g.background, gt.names, stats)
        values += [f"{s}_quantile" for s in stats]
    return GeneSetup(
        loaded_genes,
        scorer,
        stats,
        values,
        list(gt.names),
        table,
        background,
        sha256_file(g.genes),
        path=g.genes,
    )


def _numpy_untransform(tasks: Any, selected: Any, mode: str) -> Any:
    """``--untransform`` on averaged (N, T, L) numpy profiles of the output tracks."""
    import torch

    from grelu_cli.predict.transform import untransform_for

    rows = list(range(len(tasks))) if selected is None else list(selected)
    un = untransform_for(tasks, rows, mode=mode)

    def apply(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return un(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()

    return apply


def pct_values(setup: GeneSetup) -> list[str]:
    """Statistics whose percentile grid the dense outputs carry (Calico skips REF, ALT)."""
    from grelu_cli.genes.calibrate import PCT_SKIP

    return [s for s in setup.stats if s not in PCT_SKIP]


def alleles_with_genes(
    planned: Iterable[PlannedAllele], scorer: GeneScorer, counts: VariantCounts
) -> Iterator[PlannedAllele]:
    """The planned alleles whose ref window's output span holds a gene bin; the others are
    counted (``counts.no_gene``) and never predicted."""
    for p in planned:
        if len(scorer.genes(p)) == 0:
            counts.no_gene = (counts.no_gene or 0) + 1
            continue
        yield p


def gene_block(res: GeneResults, setup: GeneSetup, allele_columns: Any) -> VariantBlock:
    """The writers' block of a group's gene results: P pair rows, leading columns
    :data:`LEADING`, values the statistics (then ``{stat}_quantile``), (P, K) each."""
    index = setup.genes.index
    per_allele = allele_columns(res.alleles)
    at = res.pair_allele
    columns = {c: np.asarray(per_allele[c])[at] for c in VARIANT_COLUMNS}
    g = res.gene
    columns["gene_id"] = index.gene_id[g].astype(object)
    columns["gene_name"] = index.gene_name[g].astype(object)
    columns["gene_type"] = index.gene_type[g].astype(object)
    columns["gene_strand"] = index.strand[g].astype(object)
    columns["gene_bins"] = np.asarray(res.gene_bins, dtype=np.int64)
    values = {s: np.asarray(res.scores[s], dtype=np.float32) for s in setup.stats}
    for s, quantiles in setup.background.items():
        values[f"{s}_quantile"] = quantiles(values[s])
    return VariantBlock(columns, values, res.windows)


def load_background(path: str, tasks: list[str], stats: list[str]) -> dict[str, Any]:
    """Per statistic, the :class:`~grelu_cli.genes.calibrate.BackgroundQuantiles` of a
    finished ``grelu variants --genes`` output (parquet, zarr or h5), tasks in ``tasks``'
    order. InputDataError (exit 3) naming the statistics or tasks it lacks."""
    from grelu_cli.genes.calibrate import BackgroundQuantiles

    have_tasks, mats = _read_background(path, stats)
    missing_stats = [s for s in stats if s not in mats]
    missing_tasks = [t for t in tasks if t not in have_tasks]
    if missing_stats or missing_tasks:
        what = []
        if missing_stats:
            what.append(f"statistics {', '.join(missing_stats)}")
        if missing_tasks:
            more = f" and {len(missing_tasks) - 5} more" if len(missing_tasks) > 5 else ""
            what.append(f"tasks {', '.join(missing_tasks[:5])}{more}")
        raise InputDataError(
            f"--background {path} lacks {' and '.join(what)}",
            fix="score the background with the same model, tasks and --gene-stats",
        )
    order = [have_tasks.index(t) for t in tasks]
    return {s: BackgroundQuantiles(mats[s][:, order]) for s in stats}


def _read_background(path: str, stats: list[str]) -> tuple[list[str], dict[str, np.ndarray]]:
    """(task names, {stat: (rows, tasks) float32}) of a gene output in any of its formats."""
    p = Path(path)
    try:
        if p.is_dir():
            import zarr

            group: Any = zarr.open_group(str(p), mode="r")
            tasks = [str(t) for t in np.asarray(group["task"][...])]
            names = set(group.array_keys())
            return tasks, {s: np.asarray(group[s][...], np.float32) for s in stats if s in names}
        if p.suffix.lower() in (".h5", ".hdf5"):
            import h5py

            with h5py.File(p, "r") as f:
                tasks = [v.decode() for v in f["target_ids"][...]]
                return tasks, {s: np.asarray(f[s][...], np.float32) for s in stats if s in f}
        import pyarrow.parquet as pq

        schema = pq.read_schema(p)
        cols = [s for s in stats if s in schema.names]
        if "task" not in schema.names:
            raise InputDataError(
                f"--background {path} is not a grelu variants --genes output (no task column)",
                fix="give a finished grelu variants --genes output (parquet, zarr or h5)",
            )
        table = pq.read_table(p, columns=["task", *cols])
        task = table.column("task").to_numpy(zero_copy_only=False).astype(str)
        tasks = list(dict.fromkeys(task.tolist()))
        k = len(tasks)
        if k == 0 or len(task) % k or any(task[:k] != np.array(tasks)):
            raise InputDataError(
                f"--background {path}: rows are not whole pairs of {k} tasks",
                fix="give a finished grelu variants --genes output",
            )
        return tasks, {
            s: table.column(s).to_numpy().astype(np.float32).reshape(-1, k) for s in cols
        }
    except (OSError, KeyError, ValueError) as e:
        raise InputDataError(
            f"--background {path} cannot be read as a gene output ({e})",
            fix="give a finished grelu variants --genes output (parquet, zarr or h5)",
        ) from e


def dry_run_genes(
    job: VariantJob, loaded: Any, genome: Any, seq_len: int, limit: int = 50
) -> tuple[list[str], Any]:
    """``--dry-run`` with ``--genes``: lines on the annotation (genes loaded, selected,
    skipped and why, unmatched ``--gene-ids``, chromosomes the genome lacks) and a function
    telling whether a planned allele has a gene (alleles with none are counted)."""
    from grelu_cli.genes.config import load_genes
    from grelu_cli.genes.variant_sed import genes_of_window
    from grelu_cli.genome.bins import bin_layout

    g = job.genes
    got = load_genes(g, genome.chroms, job.input.chrom_alias)
    span = output_span(bin_layout(loaded.geometry, seq_len))
    lines = [
        f"genes: {g.genes}: {len(got.index):,} selected, {len(got.skipped):,} skipped "
        f"(exons on more than one chromosome or strand); output span "
        f"{span.n_bins:,} bins of {span.bin_size} bp"
    ]
    for s in got.skipped[:limit]:
        lines.append(f"skip gene: {s.gene_id} ({s.gene_name}): {s.reason}")
    if got.unmatched:
        lines.append(f"--gene-ids matching no gene: {', '.join(got.unmatched[:limit])}")
    if got.missing_chroms:
        lines.append(
            "annotation chromosomes not in the genome (their genes dropped): "
            + ", ".join(got.missing_chroms[:limit])
        )

    def has_gene(p: Any) -> bool:
        genes = genes_of_window(got.index, span, p.chrom, p.window_start, g.gene_bins, g.gene_span)
        return len(genes) > 0

    return lines, has_gene
