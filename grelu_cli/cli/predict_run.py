"""Run one ``grelu predict`` request: model -> validated input -> predictor -> writer.

Kept apart from the Typer signature in :mod:`grelu_cli.cli.predict` so the option list
stays readable and this wiring stays testable. Everything heavy is imported here, lazily.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grelu_cli.cli.runlog import RunLog
from grelu_cli.errors import UsageError


@dataclass(frozen=True)
class PredictRequest:
    """Every ``grelu predict`` option, validated for type and choice by the CLI layer."""

    model: str
    output: str
    fmt: str
    replicate: int | None = None
    species: str | None = None
    arch: str | None = None
    params: list[str] = field(default_factory=list)
    trust_checkpoint: bool = False
    bed: str | None = None
    fasta: str | None = None
    regions: list[str] = field(default_factory=list)
    chroms: list[str] = field(default_factory=list)
    genome: str | None = None
    chrom_alias: str = "none"
    seq_len: int | None = None
    tile: bool = False
    edge: str = "pad"
    layout: str = "long"
    overlap: str = "mean"
    overwrite: bool = False
    task_names: list[str] | None = None
    tasks_file: Path | None = None
    tasks_query: str | None = None
    aggregate: str | None = None
    bins: int | None = None
    rc: bool = False
    shifts: int = 0
    untransform: bool = False
    logits: bool = False
    device: str = "auto"
    precision: str = "fp32"
    batch_size: str = "auto"
    threads: int | None = None
    num_workers: int | None = None
    dry_run: bool = False
    quiet: bool = False
    log_format: str = "text"
    options: dict[str, Any] = field(default_factory=dict)


def run_predict(req: PredictRequest) -> int:
    """Execute ``req``; returns the exit code (errors are raised as GreluCliError)."""
    log = RunLog(req.log_format, quiet=req.quiet)  # type: ignore[arg-type]
    _check_request(req)
    if req.fmt == "parquet" and not req.dry_run:
        from grelu_cli.io.atomic import check_output

        check_output(req.output, overwrite=req.overwrite)  # fail before any slow work
    log.start("predict", model=req.model, output=req.output, format=req.fmt)

    loaded = _load(req)
    seq_len = req.seq_len if req.seq_len is not None else loaded.seq_len
    if seq_len is None:
        raise UsageError(
            f"model {loaded.name} does not record its input length",
            fix="pass --seq-len N",
        )
    inp = _prepare(req, seq_len, loaded.geometry)
    if req.dry_run:
        return _dry_run(inp, loaded, seq_len)
    inp.check()
    for message in inp.report.warnings:  # errors were raised above
        log.warn(message)
    if inp.report.n_warnings > len(inp.report.warnings):
        log.warn(f"... and {inp.report.n_warnings - len(inp.report.warnings)} more warnings")

    from grelu_cli.predict.tasks import resolve_tasks

    selected = resolve_tasks(
        loaded.tasks, names=req.task_names, file=req.tasks_file, query=req.tasks_query
    )
    predictor = _predictor(req, loaded, seq_len, selected)
    writer = _writer(req, inp, predictor.task_names, _provenance(req, loaded, inp, predictor))
    counts = inp.counts()
    total = inp.plan.count()
    loader = _loader(req, inp, predictor, total)
    with _sigterm_as_interrupt(), writer, log.progress(total) as progress:
        for block in predictor.blocks(loader):
            writer.write(block)
            progress.advance(len(block.windows), bp=len(block.windows) * seq_len)
        if hasattr(writer, "metadata"):
            writer.metadata["counts"] = counts.as_dict()
    nonfinite = sum(getattr(writer, "nonfinite", []) or [0])
    if nonfinite:
        log.warn(
            f"{nonfinite:,} NaN/inf predictions were not written to bigWig", nonfinite=nonfinite
        )
    where = ", ".join(str(p) for p in getattr(writer, "paths", [req.output]))
    log.summary(
        f"predicted {counts.regions:,} regions ({total:,} windows, {counts.padded_windows:,} "
        f"padded, {counts.dropped_windows:,} dropped) in {log.elapsed:.1f} s -> {where}",
        output=req.output,
        files=[str(p) for p in getattr(writer, "paths", [req.output])],
        **counts.as_dict(),
    )
    return 0


def _check_request(req: PredictRequest) -> None:
    if req.fmt == "bigwig" and req.fasta is not None:
        raise UsageError(
            "bigWig output needs genomic coordinates but the input is --fasta",
            fix="write parquet (-o preds.parquet) or give regions with --bed/--region and --genome",
        )
    if req.fmt == "bigwig" and req.layout != "long":
        raise UsageError("--layout applies to parquet output only", fix="drop --layout")
    if req.bins is not None and req.bins < 1:
        raise UsageError(f"--bins {req.bins} must be at least 1", fix="pass --bins K with K >= 1")
    if req.seq_len is not None and req.seq_len < 1:
        raise UsageError(f"--seq-len {req.seq_len} must be positive", fix="pass --seq-len N")
    if req.num_workers is not None and req.num_workers < 0:
        raise UsageError(f"--num-workers {req.num_workers} must be 0 or more", fix="use 0..N")
    if req.arch is None and req.params:
        raise UsageError("--param needs --arch", fix="pass --arch NAME or drop --param")


def _load(req: PredictRequest) -> Any:
    from grelu_cli.zoo import load_model
    from grelu_cli.zoo.build import parse_param

    params = dict(parse_param(p) for p in req.params) if req.arch else None
    return load_model(
        req.model,
        replicate=req.replicate,
        species=req.species,
        trust_checkpoint=req.trust_checkpoint,
        logits=req.logits,
        arch=req.arch,
        model_params=params,
        progress=not req.quiet and req.log_format == "text",
    )


def _prepare(req: PredictRequest, seq_len: int, geometry: Any) -> Any:
    from grelu_cli.genome.inputs import prepare_input

    return prepare_input(
        bed=req.bed,
        fasta=req.fasta,
        regions=req.regions,
        chroms=req.chroms,
        genome=req.genome,
        chrom_alias=req.chrom_alias,
        seq_len=seq_len,
        geometry=geometry,
        tile=req.tile,
        edge=req.edge,
    )


def _dry_run(inp: Any, loaded: Any, seq_len: int) -> int:
    """Print what would run and every problem found (stdout); exit 3 when there are errors."""
    print(f"model: {loaded.name} ({loaded.model_type}, {loaded.n_tasks} tasks, {seq_len:,} bp in)")
    print(inp.summary())
    for line in inp.report.lines():
        print(line)
    if inp.report.ok:
        print("ok: input is valid")
        return 0
    return 3


def _predictor(req: PredictRequest, loaded: Any, seq_len: int, selected: Any) -> Any:
    from grelu_cli.predict.loop import PredictOptions, Predictor

    opts = PredictOptions(
        device=req.device,
        precision=req.precision,
        batch_size=req.batch_size,
        threads=req.threads,
        rc=req.rc,
        shifts=req.shifts,
        logits=req.logits,
        untransform=req.untransform,
        aggregate=req.aggregate,
        center_bins=req.bins,
    )
    return Predictor(
        loaded.model,
        seq_len=seq_len,
        options=opts,
        activation=loaded.activation,
        tasks=loaded.tasks,
        selected=selected,
        geometry=loaded.geometry,
    )


def _default_workers(device_type: str) -> int:
    """Reader processes: none on small CPU-only machines (they would compete with the
    model's threads), a few when a GPU does the compute."""
    cores = os.cpu_count() or 1
    if device_type == "cuda":
        return max(1, min(4, cores - 1))
    return 0 if cores <= 2 else min(2, cores // 4)


def _loader(req: PredictRequest, inp: Any, predictor: Any, total: int) -> Any:
    from grelu_cli.predict.loader import make_loader

    cuda = predictor.device.type == "cuda"
    workers = (
        req.num_workers if req.num_workers is not None else _default_workers(predictor.device.type)
    )
    return make_loader(
        inp.plan,
        inp.sequences,
        lo=0,
        hi=total,
        batch_size=predictor.sizer.size,
        num_workers=workers,
        pin_memory=cuda,
        dtype="uint8" if cuda else "float32",
        flank=predictor.flank,
    )


def _provenance(req: PredictRequest, loaded: Any, inp: Any, predictor: Any) -> dict[str, Any]:
    from grelu_cli.io.provenance import build_provenance

    return build_provenance(
        model=loaded.name,
        model_path=loaded.path,
        weights_sha256=loaded.sha256,
        genome=inp.genome.path if inp.genome is not None else None,
        options=req.options,
        counts=inp.counts().as_dict(),
        tasks=predictor.task_names,
        extra={
            "model_info": loaded.provenance(),
            "input": inp.provenance(),
            "seq_len": predictor.seq_len,
            "geometry": _geometry_record(loaded.geometry),
            "torch": _torch_version(),
        },
    )


def _geometry_record(geometry: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(geometry)


def _torch_version() -> str:
    import torch

    return str(torch.__version__)


def _writer(req: PredictRequest, inp: Any, task_names: list[str], metadata: dict) -> Any:
    if req.fmt == "parquet":
        from grelu_cli.io.parquet import ParquetWriter

        return ParquetWriter(
            req.output, task_names, layout=req.layout, metadata=metadata, overwrite=req.overwrite
        )
    from grelu_cli.io.bigwig import BigWigWriter

    if inp.genome is None:
        raise UsageError("bigWig output needs --genome", fix="pass --genome FASTA")
    sizes = [(c, inp.genome.sizes[c]) for c in inp.genome.chroms]
    return BigWigWriter(req.output, task_names, sizes, overlap=req.overlap, overwrite=req.overwrite)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM (what cluster schedulers send) into KeyboardInterrupt so writers clean up
    their temporary files before the process exits."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. embedded use): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.stderr.flush()
