"""The Python API of ``grelu attribute``: :func:`attribute_job` declares its options once;
:func:`attribute` runs one and :func:`check_attribute` is its ``--dry-run``.

    from grelu_cli import api

    summary = api.attribute(model="m.ckpt", bed="peaks.bed", genome="hg38.fa",
                            method="deepliftshap", shuffles=20, output="attr.zarr")
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grelu_cli.attribute.options import AttributionOptions
from grelu_cli.core.arguments import checked, takes
from grelu_cli.errors import ArgumentError
from grelu_cli.run.attribute_job import AttributeJob, attribute_format
from grelu_cli.run.attribute_run import AttributeSummary
from grelu_cli.run.config import InputConfig, ModelConfig, OutputConfig, PredictConfig, RunConfig
from grelu_cli.run.observer import RunObserver
from grelu_cli.run.summary import DryRunReport

_PathLike = str | Path


def _csv(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value
    return tuple(t.strip() for t in items if t.strip())


@checked(hide=("observer",))
def attribute_job(
    *,
    model: _PathLike,
    genome: _PathLike,
    output: _PathLike | None = None,
    method: str = "saliency",
    # Model
    replicate: int | None = None,
    species: str | None = None,
    trust_checkpoint: bool = False,
    seq_len: int | None = None,
    # Input
    bed: _PathLike | None = None,
    region: str | Sequence[str] = (),
    chrom_alias: str = "none",
    edge: str = "pad",
    # Output
    format: str | None = None,
    overlap: str = "mean",
    overwrite: bool = False,
    dtype: str = "float32",
    # Attribution
    per_task: bool = False,
    correct_grad: bool = False,
    hypothetical: bool = False,
    shuffles: int = 20,
    seed: int = 0,
    ig_steps: int = 50,
    # Target
    tasks: str | Sequence[str] | None = None,
    tasks_file: _PathLike | None = None,
    tasks_query: str | None = None,
    aggregate: str = "mean",
    bins: int | None = None,
    logits: bool = False,
    # Run
    batch_size: int | str = "auto",
    device: str = "auto",
    threads: int | None = None,
    shard: str | None = None,
    resume: bool = False,
    chunk_windows: int = 256,
    # The Python API's own: attribute() takes it, attribute_job() and check_attribute() refuse it
    observer: RunObserver | None = None,
) -> AttributeJob:
    """An :class:`~grelu_cli.run.attribute_job.AttributeJob` from the options of ``grelu
    attribute``, by their CLI names (``region`` and ``tasks`` as lists or comma-separated)."""
    out = str(output) if output else ""
    regions = (region,) if isinstance(region, str) else tuple(region)
    return AttributeJob(
        model=ModelConfig(
            model=str(model),
            replicate=replicate,
            species=species,
            trust_checkpoint=trust_checkpoint,
            seq_len=seq_len,
        ),
        input=InputConfig(
            bed=str(bed) if bed is not None else None,
            region=regions,
            genome=str(genome),
            chrom_alias=chrom_alias,
            edge=edge,
        ),
        output=OutputConfig(
            output=out,
            format=attribute_format(out, format) if out else (format or "zarr"),
            overlap=overlap,
            overwrite=overwrite,
            dtype=dtype,
        ),
        attribution=AttributionOptions(
            method=method,
            per_task=per_task,
            correct_grad=correct_grad,
            hypothetical=hypothetical,
            shuffles=shuffles,
            seed=seed,
            ig_steps=ig_steps,
        ),
        predict=PredictConfig(
            tasks=_csv(tasks),
            tasks_file=str(tasks_file) if tasks_file is not None else None,
            tasks_query=tasks_query,
            aggregate=aggregate,
            bins=bins,
            logits=logits,
            batch_size=str(batch_size),
        ),
        run=RunConfig(
            device=device, threads=threads, shard=shard, resume=resume, chunk_size=chunk_windows
        ),
    )


@takes(attribute_job)
def attribute(*, observer: RunObserver | None = None, **options: Any) -> AttributeSummary:
    """Attribute and write ``output`` (zarr or bigWig); returns the run's summary.

    Takes the keyword arguments of :func:`attribute_job` (the ``grelu attribute`` options).
    """
    from grelu_cli.run.job import run_job

    if not options.get("output"):
        raise ArgumentError("attribute() needs output=...", fix="pass output=ATTR.zarr")
    return run_job(attribute_job(**options), observer)


@takes(attribute_job, hide=("observer",))
def check_attribute(**options: Any) -> DryRunReport:
    """What ``grelu attribute --dry-run`` reports (``.lines``, ``.ok``)."""
    from grelu_cli.run.job import dry_run

    return dry_run(attribute_job(**options))
