"""The Python API of ``grelu ism``: :func:`ism_job` declares its options once (the CLI
options' names and defaults); :func:`ism` runs a job, :func:`check_ism` dry-runs it.

    from grelu_cli import api

    summary = api.ism(model="m.ckpt", bed="peaks.bed", genome="hg38.fa",
                      output="ism.zarr", ism_width=100, tasks=["K562"])
    print(summary.files, summary.mutants, summary.method)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grelu_cli.api.values import PathLike, as_tuple, opt_str
from grelu_cli.core.arguments import checked, takes
from grelu_cli.errors import ArgumentError
from grelu_cli.genes.config import GeneConfig
from grelu_cli.ism.config import DEFAULT_ISM_WIDTH, ISMConfig
from grelu_cli.run.config import InputConfig, ModelConfig, OutputConfig, PredictConfig, RunConfig
from grelu_cli.run.ism_job import DEFAULT_CHUNK_REGIONS, ISMJob, ism_format
from grelu_cli.run.ism_summary import ISMSummary
from grelu_cli.run.observer import RunObserver
from grelu_cli.run.summary import DryRunReport


@checked(hide=("observer",))
def ism_job(
    *,
    model: PathLike,
    output: PathLike = "",
    # Model
    replicate: int | None = None,
    species: str | None = None,
    trust_checkpoint: bool = False,
    seq_len: int | None = None,
    # Input
    bed: PathLike | None = None,
    fasta: PathLike | None = None,
    region: str | Sequence[str] = (),
    vcf: PathLike | None = None,
    allele: str = "ref",
    genome: PathLike | None = None,
    chrom_alias: str = "none",
    edge: str = "pad",
    # ISM
    ism_width: int = DEFAULT_ISM_WIDTH,
    ism_start: int | None = None,
    ism_end: int | None = None,
    ism_score: str = "diff",
    pseudocount: float = 0.0,
    ism_method: str = "auto",
    # Genes
    genes: PathLike | None = None,
    gene_ids: str | Sequence[str] | None = None,
    gene_ids_file: PathLike | None = None,
    gene_bins: str = "majority",
    gene_span: bool = False,
    # Output
    format: str | None = None,
    overlap: str = "mean",
    overwrite: bool = False,
    dtype: str = "float32",
    # Prediction
    tasks: str | Sequence[str] | None = None,
    tasks_file: PathLike | None = None,
    tasks_query: str | None = None,
    aggregate: str = "mean",
    bins: int | None = None,
    rc: bool = False,
    shifts: int = 0,
    untransform: bool = False,
    precision: str = "fp32",
    batch_size: int | str = "auto",
    # Run
    device: str = "auto",
    threads: int | None = None,
    shard: str | None = None,
    resume: bool = False,
    chunk_regions: int = DEFAULT_CHUNK_REGIONS,
    # The Python API's own: ism() takes it, ism_job() and check_ism() refuse it
    observer: RunObserver | None = None,
) -> ISMJob:
    """An :class:`~grelu_cli.run.ism_job.ISMJob` from the options of ``grelu ism``, by their
    CLI names (``tasks`` a list or a comma-separated string; ``region`` a list or one
    string; ``gene_ids`` likewise). The output format comes from ``output`` when ``format``
    is None."""
    out = str(output)
    if isinstance(gene_ids, str):
        gene_ids = [g.strip() for g in gene_ids.split(",") if g.strip()]
    if isinstance(tasks, str):
        tasks = [t.strip() for t in tasks.split(",") if t.strip()]
    return ISMJob(
        model=ModelConfig(
            model=str(model),
            replicate=replicate,
            species=species,
            trust_checkpoint=trust_checkpoint,
            seq_len=seq_len,
        ),
        input=InputConfig(
            bed=opt_str(bed),
            fasta=opt_str(fasta),
            region=as_tuple(region),
            genome=opt_str(genome),
            chrom_alias=chrom_alias,
            edge=edge,
        ),
        output=OutputConfig(
            output=out,
            format=ism_format(out, format) if out or format else "zarr",
            overlap=overlap,
            overwrite=overwrite,
            dtype=dtype,
        ),
        ism=ISMConfig(
            ism_width=ism_width,
            ism_start=ism_start,
            ism_end=ism_end,
            ism_score=ism_score,
            pseudocount=pseudocount,
            ism_method=ism_method,
            vcf=opt_str(vcf),
            allele=allele,
        ),
        genes=GeneConfig(
            genes=opt_str(genes),
            gene_ids=tuple(gene_ids) if gene_ids is not None else None,
            gene_ids_file=opt_str(gene_ids_file),
            gene_bins=gene_bins,
            gene_span=gene_span,
        ),
        predict=PredictConfig(
            tasks=tuple(tasks) if tasks is not None else None,
            tasks_file=opt_str(tasks_file),
            tasks_query=tasks_query,
            aggregate=aggregate,
            bins=bins,
            rc=rc,
            shifts=shifts,
            untransform=untransform,
            precision=precision,
            batch_size=str(batch_size),
        ),
        run=RunConfig(
            device=device, threads=threads, shard=shard, resume=resume, chunk_size=chunk_regions
        ),
    )


@takes(ism_job)
def ism(*, observer: RunObserver | None = None, **options: Any) -> ISMSummary:
    """In-silico mutagenesis of every region into ``output`` (zarr, parquet or bigWig);
    returns the run's summary (``files``, ``mutants``, ``method``, ``seconds``).

    Takes the keyword arguments of :func:`ism_job` (the ``grelu ism`` options).
    """
    from grelu_cli.run.job import run_job

    if not options.get("output"):
        raise ArgumentError("ism() needs output=...", fix="pass output=ISM.zarr")
    return run_job(ism_job(**options), observer)


@takes(ism_job, hide=("observer",))
def check_ism(**options: Any) -> DryRunReport:
    """What ``grelu ism --dry-run`` reports: the plan and every input problem."""
    from grelu_cli.run.job import dry_run

    return dry_run(ism_job(**options))
