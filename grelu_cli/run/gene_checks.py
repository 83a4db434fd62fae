"""``grelu predict --genes``' checks: the cheap ones before torch, and the dry run.

:func:`check_gene_job` (:mod:`grelu_cli.run.gene_options`) checks the option combinations
(called by :func:`grelu_cli.run.config.check_job`); :func:`check_gene_cheap` adds the genome and the
output path; :func:`dry_run_genes` loads the model and the genes and reports what a run would
predict (genes loaded, selected and skipped, unmatched ``--gene-ids``, chromosomes the genome
lacks, windows), predicting nothing.
"""

from __future__ import annotations

from pathlib import Path

from grelu_cli.errors import MissingResourceError
from grelu_cli.run.config import PredictJob, check_job
from grelu_cli.run.gene_options import check_gene_job, gene_aggregate
from grelu_cli.run.summary import DryRunReport

__all__ = ["check_gene_cheap", "check_gene_job", "dry_run_genes", "gene_aggregate"]


def gene_output_done(job: PredictJob) -> bool:
    """Whether ``resume`` finds the output finished (a file, or a complete store)."""
    path = Path(job.output.output)
    if not job.run.resume:
        return False
    if job.output.format != "zarr":
        return path.is_file()
    from grelu_cli.errors import InputDataError
    from grelu_cli.io.formats.zarr.read import read_record

    try:
        return bool(read_record(path).get("complete"))
    except (InputDataError, MissingResourceError, OSError):
        return False


def check_gene_cheap(job: PredictJob) -> None:
    """Every check before torch: options, the GTF and genome exist, the output is free."""
    from grelu_cli.io.formats.gene_zarr import check_gene_store_output
    from grelu_cli.io.fs.atomic import check_output

    check_job(job)
    if job.run.shard is not None:
        from grelu_cli.core.shards import parse_shard

        parse_shard(job.run.shard)
    genome = job.input.genome
    if genome is not None and not Path(genome).exists():
        raise MissingResourceError(f"genome FASTA {genome} does not exist", fix="check --genome")
    if gene_output_done(job):
        return
    overwrite = job.output.overwrite or job.run.resume
    if job.output.format == "zarr":
        check_gene_store_output(job.output.output, overwrite=job.output.overwrite)
    else:
        check_output(job.output.output, overwrite=overwrite)


def dry_run_genes(job: PredictJob) -> DryRunReport:
    """Check the genes against the genome and model; predict nothing, write nothing."""
    from grelu_cli.run.gene_setup import prepare_genes

    check_job(job)
    setup = prepare_genes(job, None, build_predictor=False)
    genes, inp = setup.genes, setup.inp
    lines = [
        f"model: {setup.loaded.name} ({setup.loaded.model_type}, {setup.loaded.n_tasks} tasks, "
        f"{setup.seq_len:,} bp in)",
        f"genes: {setup.loaded_total:,} in {job.genes.genes}, {len(genes.index):,} selected, "
        f"{len(genes.skipped):,} skipped (exons disagree on chrom or strand)",
    ]
    for s in genes.skipped[:20]:
        lines.append(f"  skipped {s.gene_id} ({s.gene_name}): {s.reason}")
    if len(genes.skipped) > 20:
        lines.append(f"  ... and {len(genes.skipped) - 20:,} more skipped genes")
    if genes.unmatched:
        shown = ", ".join(genes.unmatched[:10]) + (", ..." if len(genes.unmatched) > 10 else "")
        lines.append(f"--gene-ids matching no gene: {len(genes.unmatched):,} ({shown})")
    if genes.missing_chroms:
        shown = ", ".join(genes.missing_chroms[:10])
        lines.append(
            f"chromosomes not in the genome (their genes dropped): {len(genes.missing_chroms):,} "
            f"({shown})"
        )
    n = inp.plan.n
    tiled = int((n > 1).sum())
    lines.append(
        f"{int(n.sum()):,} windows of {setup.seq_len:,} bp for {len(n):,} genes "
        f"({tiled:,} longer than the output span, tiled)"
    )
    if job.run.shard is not None:
        from grelu_cli.core.shards import parse_shard

        shard = parse_shard(job.run.shard)
        lo, hi, a, b = setup.shard_genes(shard, job)
        lines.append(
            f"shard {shard}: genes {a:,}-{b:,} ({b - a:,} of {len(n):,}), windows {lo:,}-{hi:,}"
        )
    lines += inp.report.lines()
    if inp.report.ok:
        lines.append("ok: input is valid")
    return DryRunReport(lines, inp.report.ok)
