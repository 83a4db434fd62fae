"""The public Python API: what ``grelu predict`` does, as functions.

Keyword arguments are named like the CLI options (``--chunk-windows`` -> ``chunk_windows``,
``--format`` -> ``format``, ``--compile`` -> ``compile``); defaults are the CLI's. Each job
kind declares its options once: :func:`job` those of ``grelu predict``, :func:`variants_job`
those of ``grelu variants``; :func:`predict`, :func:`check`, :func:`predict_arrays`,
:func:`variants` and :func:`check_variants` take the same keywords (``help()``, IDEs and type
checkers show them, through :func:`grelu_cli.core.arguments.takes`). Every call is checked
at the boundary against the annotations: an unknown name, a missing one or a value of the
wrong type (``rc="no"``, ``shifts="2"``) raises :class:`~grelu_cli.errors.ArgumentError`
(a ``UsageError`` and a ``TypeError``) naming the parameter and what it takes. Functions
raise :mod:`grelu_cli.errors` exceptions (each also a builtin such as ``ValueError`` or
``FileNotFoundError``), never exit and never print.

    from grelu_cli import api

    summary = api.predict(model="m.ckpt", bed="r.bed", genome="hg38.fa",
                          output="p.parquet", rc=True, tasks=["A"])
    print(summary.files, summary.counts["windows"], summary.seconds)

    for windows, values in api.predict_arrays(model="m.ckpt", region=["chr1:1-2,000"],
                                              genome="hg38.fa"):
        ...  # values: (N, T, B) float32, one row per window

    effects = api.variants(model="m.ckpt", vcf="calls.vcf.gz", genome="hg38.fa",
                           output="effects.parquet", scores=["diff", "log2fc"])
    print(effects.counts["scored"], effects.files)

``grelu ism`` is :func:`ism` / :func:`ism_job` / :func:`check_ism` (:mod:`grelu_cli.api.ism`).

Pass ``observer=`` (a :class:`~grelu_cli.run.observer.RunObserver`) to see progress.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from grelu_cli.api.attribute import attribute, attribute_job, check_attribute
from grelu_cli.api.ism import check_ism, ism, ism_job
from grelu_cli.api.models import build_model, download_model, list_models, model_info
from grelu_cli.api.values import PathLike, as_tuple, opt_str
from grelu_cli.core.arguments import checked, takes
from grelu_cli.core.window import Window
from grelu_cli.errors import ArgumentError
from grelu_cli.genes.config import GeneConfig
from grelu_cli.run.config import (
    InputConfig,
    ModelConfig,
    OutputConfig,
    PredictConfig,
    PredictJob,
    RunConfig,
)
from grelu_cli.run.job import DryRunReport, PredictSummary
from grelu_cli.run.observer import RunObserver
from grelu_cli.run.replicates import parse_replicates
from grelu_cli.run.variants import VariantCheck, VariantJob, VariantSummary
from grelu_cli.variants.alleles import DEFAULT_MAX_INDEL_LEN
from grelu_cli.variants.scores import DEFAULT_SCORES

__all__ = [
    "DryRunReport",
    "PredictJob",
    "PredictSummary",
    "attribute",
    "attribute_job",
    "build_model",
    "check",
    "check_attribute",
    "check_ism",
    "check_variants",
    "download_model",
    "ism",
    "ism_job",
    "job",
    "list_models",
    "model_info",
    "predict",
    "predict_arrays",
    "variants",
    "variants_job",
]


@checked(hide=("observer",))
def job(
    *,
    model: PathLike,
    output: PathLike = "",
    # Model
    replicate: int | str | Sequence[int] | None = None,
    species: str | None = None,
    arch: str | None = None,
    param: str | Sequence[str] = (),
    trust_checkpoint: bool = False,
    seq_len: int | None = None,
    # Input
    bed: PathLike | None = None,
    fasta: PathLike | None = None,
    region: str | Sequence[str] = (),
    chrom: str | Sequence[str] = (),
    genome: PathLike | None = None,
    chrom_alias: str = "none",
    tile: bool = False,
    edge: str = "pad",
    # Output
    format: str | None = None,
    layout: str = "long",
    overlap: str = "mean",
    overwrite: bool = False,
    dtype: str = "float32",
    # Prediction
    tasks: str | Sequence[str] | None = None,
    tasks_file: PathLike | None = None,
    tasks_query: str | None = None,
    aggregate: str | None = None,
    bins: int | None = None,
    rc: bool = False,
    shifts: int = 0,
    untransform: bool = False,
    untransform_mode: str = "grelu",
    logits: bool = False,
    precision: str = "fp32",
    batch_size: int | str = "auto",
    compile: bool = False,
    # Genes
    genes: PathLike | None = None,
    gene_types: str | Sequence[str] | None = None,
    gene_ids: str | Sequence[str] | None = None,
    gene_ids_file: PathLike | None = None,
    gene_bins: str = "majority",
    gene_span: bool = False,
    # Run
    device: str = "auto",
    devices: str | Sequence[str] | None = None,
    threads: int | None = None,
    num_workers: int | None = None,
    shard: str | None = None,
    resume: bool = False,
    chunk_windows: int = 512,
    # The Python API's own: predict() and predict_arrays() take it, job() and check() refuse it
    observer: RunObserver | None = None,
) -> PredictJob:
    """A :class:`PredictJob` from the options of ``grelu predict``, by their CLI names.

    The one declaration of these options: :func:`predict`, :func:`check` and
    :func:`predict_arrays` take the same keywords. Each is the option of the same name
    (``grelu predict --help``; ``--chunk-windows`` -> ``chunk_windows``) with the CLI's
    default; repeatable options (``region``, ``chrom``, ``param``) take a list or one
    string, ``tasks`` a list or a comma-separated string; ``replicate`` one zoo replicate, a
    list of them or a comma-separated string (``"0,1,2,3"``, ``"all"``: their predictions are
    averaged, :mod:`grelu_cli.run.replicates`). The output format is inferred from
    ``output`` when ``format`` is None. ``observer=`` (a
    :class:`~grelu_cli.run.observer.RunObserver`) is for :func:`predict` and
    :func:`predict_arrays`, which report their progress and warnings to it; ``job()`` and
    :func:`check` run nothing and do not take it. ``genes=`` (a GTF or GFF3) makes the job
    answer per gene (``grelu predict --genes``); ``gene_types`` and ``gene_ids`` take a list
    or a comma-separated string.
    """
    from grelu_cli.io.formats.registry import format_for

    out = str(output)
    if isinstance(tasks, str):
        tasks = [t.strip() for t in tasks.split(",") if t.strip()]
    if devices is not None and not isinstance(devices, str):
        devices = ",".join(devices)
    return PredictJob(
        model=ModelConfig(
            model=str(model),
            replicate=parse_replicates(replicate, str(model), species),
            species=species,
            arch=arch,
            param=as_tuple(param),
            trust_checkpoint=trust_checkpoint,
            seq_len=seq_len,
        ),
        input=InputConfig(
            bed=opt_str(bed),
            fasta=opt_str(fasta),
            region=as_tuple(region),
            chrom=as_tuple(chrom),
            genome=opt_str(genome),
            chrom_alias=chrom_alias,
            tile=tile,
            edge=edge,
        ),
        output=OutputConfig(
            output=out,
            format=format_for(out, format) if out or format else "parquet",
            layout=layout,
            overlap=overlap,
            overwrite=overwrite,
            dtype=dtype,
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
            untransform_mode=untransform_mode,
            logits=logits,
            precision=precision,
            batch_size=str(batch_size),
            compile=compile,
        ),
        run=RunConfig(
            device=device,
            devices=devices,
            threads=threads,
            num_workers=num_workers,
            shard=shard,
            resume=resume,
            chunk_size=chunk_windows,
        ),
        genes=GeneConfig(
            genes=opt_str(genes),
            gene_types=_names(gene_types),
            gene_ids=_names(gene_ids),
            gene_ids_file=opt_str(gene_ids_file),
            gene_bins=gene_bins,
            gene_span=gene_span,
        ),
    )


def _names(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """A list or a comma-separated string of names as a tuple (None stays None)."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(s.strip() for s in items if s.strip())


@takes(job)
def predict(*, observer: RunObserver | None = None, **options: Any) -> PredictSummary:
    """Predict and write ``output``; returns the run's summary (counts, seconds, files).

    Takes the keyword arguments of :func:`job` (the ``grelu predict`` options).
    """
    from grelu_cli.run.job import run_job

    if not options.get("output"):
        raise ArgumentError("predict() needs output=...", fix="use predict_arrays() for arrays")
    return run_job(job(**options), observer)


@takes(job, hide=("observer",))
def check(**options: Any) -> DryRunReport:
    """What ``grelu predict --dry-run`` reports: the plan and every input problem."""
    from grelu_cli.run.job import dry_run

    return dry_run(job(**options))


@takes(job)
def predict_arrays(
    *, observer: RunObserver | None = None, **options: Any
) -> Iterator[tuple[list[Window], object]]:
    """Yield ``(windows, values)`` per batch, in input order, writing no file.

    ``values`` is a (N, T, B) float32 numpy array (windows x tasks x bins, genome
    orientation); ``windows`` the N :class:`~grelu_cli.core.window.Window` records. Takes the
    keyword arguments of :func:`job` except the output ones.
    """
    from grelu_cli.run.batches import predicted_arrays
    from grelu_cli.run.build import build_run
    from grelu_cli.run.config import check_job

    the_job = job(**options)
    if the_job.gene_level:
        raise ArgumentError(
            "predict_arrays() yields windows, not genes: genes= does not apply",
            fix="use predict(genes=..., output=...) for values per gene",
        )
    check_job(the_job)
    run = build_run(the_job, observer)
    yield from predicted_arrays(
        run.inp, run.predictor, 0, run.inp.plan.count(), the_job.run.num_workers
    )


@checked(hide=("observer",))
def variants_job(
    *,
    model: PathLike,
    vcf: PathLike,
    genome: PathLike,
    output: PathLike | None = None,
    scores: str | Sequence[str] | None = ",".join(DEFAULT_SCORES),
    ref_mismatch: str = "skip",
    max_indel_len: int | None = DEFAULT_MAX_INDEL_LEN,
    pseudocount: float = 0.0,
    region: str | Sequence[str] = (),
    chrom: str | Sequence[str] = (),
    chrom_alias: str = "none",
    edge: str = "pad",
    seq_len: int | None = None,
    replicate: int | str | Sequence[int] | None = None,
    species: str | None = None,
    trust_checkpoint: bool = False,
    bins: int | None = None,
    aggregate: str = "mean",
    rc: bool = False,
    shifts: int = 0,
    tasks: str | Sequence[str] | None = None,
    tasks_file: PathLike | None = None,
    tasks_query: str | None = None,
    untransform: bool = False,
    untransform_mode: str = "grelu",
    genes: PathLike | None = None,
    gene_types: str | Sequence[str] | None = None,
    gene_ids: str | Sequence[str] | None = None,
    gene_ids_file: PathLike | None = None,
    gene_bins: str = "majority",
    gene_span: bool = False,
    gene_stats: str | Sequence[str] = "SED,logSED",
    background: PathLike | None = None,
    precision: str = "fp32",
    batch_size: int | str = "auto",
    layout: str = "long",
    overwrite: bool = False,
    device: str = "auto",
    threads: int | None = None,
    shard: str | None = None,
    resume: bool = False,
    chunk_records: int = 4096,
    # The Python API's own: variants() takes it, variants_job() and check_variants() refuse it
    observer: RunObserver | None = None,
) -> VariantJob:
    """A :class:`~grelu_cli.run.variants.VariantJob` from the options of ``grelu variants``,
    by their CLI names (``scores`` and ``tasks`` as lists or comma-separated strings;
    ``replicate`` as for :func:`job`: several replicates' scores are averaged).

    The one declaration of these options: :func:`variants` and :func:`check_variants` take
    the same keywords, with the CLI's defaults. ``observer=`` is for :func:`variants`, which
    reports its progress and warnings to it; ``variants_job()`` and :func:`check_variants` do
    not take it.
    """

    def csv(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        items = value.split(",") if isinstance(value, str) else value
        return tuple(t.strip() for t in items if t.strip())

    from grelu_cli.genes.config import GeneConfig
    from grelu_cli.run.variant_job import variant_format
    from grelu_cli.variants.config import VariantConfig

    out = opt_str(output)
    gene_config = GeneConfig(
        genes=opt_str(genes),
        gene_types=csv(gene_types),
        gene_ids=csv(gene_ids),
        gene_ids_file=opt_str(gene_ids_file),
        gene_bins=gene_bins,
        gene_span=gene_span,
        gene_stats=csv(gene_stats) or (),
        background=opt_str(background),
    )
    kind = "variant_genes" if gene_config.active else "variants"
    return VariantJob(
        model=ModelConfig(
            model=str(model),
            replicate=parse_replicates(replicate, str(model), species),
            species=species,
            trust_checkpoint=trust_checkpoint,
            seq_len=seq_len,
        ),
        input=InputConfig(genome=str(genome), chrom_alias=chrom_alias, edge=edge),
        output=OutputConfig(
            output=out or "",
            format=(variant_format(out, kind) if out else None) or "parquet",
            layout=layout,
            overwrite=overwrite,
        ),
        variant=VariantConfig(
            vcf=str(vcf),
            scores=csv(scores) or DEFAULT_SCORES,
            ref_mismatch=ref_mismatch,
            max_indel_len=DEFAULT_MAX_INDEL_LEN if max_indel_len is None else max_indel_len,
            pseudocount=pseudocount,
            aggregate=aggregate,
            region=as_tuple(region),
            chrom=as_tuple(chrom),
        ),
        predict=PredictConfig(
            tasks=csv(tasks),
            tasks_file=opt_str(tasks_file),
            tasks_query=tasks_query,
            bins=bins,
            rc=rc,
            shifts=shifts,
            # --untransform-mode calico is Calico's untransform: it turns --untransform on.
            untransform=untransform or untransform_mode == "calico",
            untransform_mode=untransform_mode,
            precision=precision,
            batch_size=str(batch_size),
        ),
        run=RunConfig(
            device=device, threads=threads, shard=shard, resume=resume, chunk_size=chunk_records
        ),
        genes=gene_config,
    )


@takes(variants_job)
def variants(*, observer: RunObserver | None = None, **options: Any) -> VariantSummary:
    """Score variant effects and write ``output`` (parquet); returns the run's summary
    (``counts``, ``files``, ``tasks``, ``seconds``, ``warnings``).

    Takes the keyword arguments of :func:`variants_job` (the ``grelu variants`` options).
    """
    from grelu_cli.run.job import run_job

    if not options.get("output"):
        raise ArgumentError("variants() needs output=...", fix="pass output=EFFECTS.parquet")
    return run_job(variants_job(**options), observer)


@takes(variants_job, hide=("observer",))
def check_variants(**options: Any) -> VariantCheck:
    """What ``grelu variants --dry-run`` reports (``.lines``, ``.ok``, ``.counts``)."""
    from grelu_cli.run.job import dry_run

    return dry_run(variants_job(**options))
