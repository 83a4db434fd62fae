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
from dataclasses import dataclass, field, replace
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
    shard: str | None = None
    resume: bool = False
    chunk_windows: int = 512
    devices: str | None = None
    compile_model: bool = False
    options: dict[str, Any] = field(default_factory=dict)


def run_predict(req: PredictRequest) -> int:
    """Execute ``req``; returns the exit code (errors are raised as GreluCliError).

    (The root app reports errors: one ``error:`` line, or one JSON ``error`` event with
    ``--log-format json``.)
    """
    log = RunLog(req.log_format, quiet=req.quiet)  # type: ignore[arg-type]
    return _run(req, log)


@dataclass
class BuiltRun:
    """A request set up for predicting: model, validated input and predictor."""

    req: PredictRequest
    loaded: Any
    seq_len: int
    inp: Any
    predictor: Any

    def blocks(self, lo: int, hi: int) -> Iterator[Any]:
        """Writer blocks of windows ``[lo, hi)``, in input order.

        Batches of fewer than :data:`MIN_BATCH` windows, or of an odd number, are padded with
        copies of their first window (the copies' outputs are dropped). Measured on these CPUs
        (torch 2.13, oneDNN): a batch of an odd size gives results that differ in the last bit
        from the same windows in an even-sized batch. A shard, chunk or input tail must give
        the same values as the same windows inside a full batch, so that sharded + merged and
        resumed outputs equal one plain run exactly.
        """
        from collections import deque

        loader = _loader(self.req, self.inp, self.predictor, lo, hi)
        sizes: deque[int] = deque()
        layout = self.predictor.layout
        for values, windows in self.predictor.predict(_pad_small(loader, sizes)):
            n = sizes.popleft()
            yield layout.block(values[:n], windows[:n])


MIN_BATCH = 8


def _pad_small(batches: Any, sizes: Any) -> Iterator[tuple[Any, list[Any]]]:
    import torch

    for x, windows in batches:
        n = len(windows)
        sizes.append(n)
        if n > 0 and (n < MIN_BATCH or n % 2):
            extra = max(MIN_BATCH, n + 1) - n
            x = torch.cat([x, x[:1].expand(extra, *x.shape[1:])])
            windows = list(windows) + [windows[0]] * extra
        yield x, windows


def build_run(req: PredictRequest, log: RunLog | None) -> BuiltRun:
    """Load the model, prepare and check the input, resolve tasks and build the predictor."""
    loaded, seq_len, inp = _load_and_prepare(req)
    return _finish_build(req, loaded, seq_len, inp, log)


def _load_and_prepare(req: PredictRequest) -> tuple[Any, int, Any]:
    loaded = _load(req)
    seq_len = req.seq_len if req.seq_len is not None else loaded.seq_len
    if seq_len is None:
        raise UsageError(
            f"model {loaded.name} does not record its input length",
            fix="pass --seq-len N",
        )
    return loaded, seq_len, _prepare(req, seq_len, loaded.geometry)


def _finish_build(
    req: PredictRequest, loaded: Any, seq_len: int, inp: Any, log: RunLog | None
) -> BuiltRun:
    inp.check()
    if log is not None:
        for message in inp.report.warnings:  # errors were raised above
            log.warn(message)
        if inp.report.n_warnings > len(inp.report.warnings):
            more = inp.report.n_warnings - len(inp.report.warnings)
            log.warn(f"... and {more} more warnings", count=more)

    from grelu_cli.predict.tasks import resolve_tasks

    selected = resolve_tasks(
        loaded.tasks,
        names=req.task_names,
        file=req.tasks_file,
        query=req.tasks_query,
        model=req.model,
    )
    return BuiltRun(req, loaded, seq_len, inp, _predictor(req, loaded, seq_len, selected))


def _run(req: PredictRequest, log: RunLog) -> int:
    from grelu_cli.io.shards import parse_shard, shard_range

    _check_request(req)
    shard = parse_shard(req.shard) if req.shard is not None else None
    shard_file = req.fmt == "bigwig" and shard is not None  # per-window parquet for merge
    if shard_file and not req.output.lower().endswith((".parquet", ".pq")):
        raise UsageError(
            f"a bigWig shard (--format bigwig --shard) writes one per-window parquet file that "
            f"grelu merge turns into bigWigs, but -o {req.output} is not a .parquet path",
            fix="pass e.g. -o shard-0.parquet, then grelu merge shard-*.parquet -o tracks/",
        )
    devices = _devices(req)
    parquet_file = req.fmt == "parquet" or shard_file
    if parquet_file and not req.dry_run:
        if req.resume and Path(req.output).is_file():
            return _already_done(log, [req.output])
        from grelu_cli.io.atomic import check_output

        check_output(req.output, overwrite=req.overwrite)  # fail before any slow work
    log.start("predict", model=req.model, output=req.output, format=req.fmt, shard=req.shard)

    loaded, seq_len, inp = _load_and_prepare(req)
    if req.dry_run:
        return _dry_run(inp, loaded, seq_len, shard)
    multi = devices is not None and len(devices) > 1
    # With several devices this process only plans and stitches: its predictor stays on
    # the CPU (for task names and metadata); the workers build their own.
    device = req.device if devices is None else ("cpu" if multi else devices[0])
    run = _finish_build(replace(req, device=device), loaded, seq_len, inp, log)
    if getattr(run.predictor, "compile_error", None):
        log.warn(f"--compile failed, running uncompiled: {run.predictor.compile_error}")
    tasks = run.predictor.task_names
    finals = [Path(req.output)] if parquet_file else _bigwig_paths(req.output, tasks)
    if req.resume and all(p.is_file() for p in finals):
        return _already_done(log, [str(p) for p in finals])
    from grelu_cli.io.atomic import check_output

    for path in finals:  # before predicting: a chunked run opens its writer only at the end
        check_output(path, overwrite=req.overwrite)

    total = inp.plan.count()
    lo, hi = shard_range(total, shard)
    target = {
        "format": req.fmt,
        "layout": req.layout if req.fmt == "parquet" else "long",
        "overlap": req.overlap if req.fmt == "bigwig" else None,
    }
    fp = _fingerprint(req, loaded, inp, tasks, target)
    record = _provenance(req, loaded, inp, run.predictor)
    record["fingerprint"] = fp
    record["window_range"] = [lo, hi]
    record["shard"] = None
    if shard is not None:
        record["shard"] = {
            "index": shard.index,
            "count": shard.count,
            "windows": hi - lo,
            "total_windows": total,
        }
    if shard_file:
        record["bigwig"] = {
            "overlap": req.overlap,
            "chrom_sizes": [[c, inp.genome.sizes[c]] for c in inp.genome.chroms],
        }
    writer = _writer(req, inp, tasks, record, shard_file)
    counts = inp.counts()
    with _sigterm_as_interrupt():
        if req.resume or multi:
            identity = {
                "fingerprint": fp,
                "shard": str(shard) if shard is not None else None,
                "window_range": [lo, hi],
                "chunk_windows": req.chunk_windows,
                "target": target,
                "tasks": tasks,
            }
            _run_chunked(run, devices if multi else None, writer, finals[0], identity, log)
        else:
            _discard_partial_run(finals[0])
            from grelu_cli.predict.background import BackgroundWriter

            # The writer runs on its own thread: writing overlaps the next batch, and its
            # buffers stay out of the model's malloc arena (see predict/background.py).
            with BackgroundWriter(writer) as background, log.progress(hi - lo) as progress:
                for block in run.blocks(lo, hi):
                    background.write(block)
                    progress.advance(len(block.windows), bp=len(block.windows) * seq_len)
                if hasattr(writer, "metadata"):
                    writer.metadata["counts"] = counts.as_dict()
    nonfinite = sum(getattr(writer, "nonfinite", []) or [0])
    if nonfinite:
        log.warn(f"{nonfinite:,} NaN/inf predictions were not written to bigWig", count=nonfinite)
    where = ", ".join(str(p) for p in getattr(writer, "paths", [req.output]))
    part = f" (shard {shard}: windows {lo:,}-{hi:,})" if shard is not None else ""
    log.summary(
        f"predicted {counts.regions:,} regions ({total:,} windows, {counts.padded_windows:,} "
        f"padded, {counts.dropped_windows:,} dropped){part} in {log.elapsed:.1f} s -> {where}",
        output=req.output,
        files=[str(p) for p in getattr(writer, "paths", [req.output])],
        shard=str(shard) if shard is not None else None,
        shard_windows=hi - lo,
        **counts.as_dict(),
    )
    return 0


def _devices(req: PredictRequest) -> list[str] | None:
    if req.devices is None:
        return None
    from grelu_cli.predict.multigpu import parse_devices

    if req.device != "auto":
        raise UsageError(
            f"--device {req.device} and --devices {req.devices} were both given",
            fix="use --devices for several devices, --device for one",
        )
    return parse_devices(req.devices)


def _already_done(log: RunLog, outputs: list[str]) -> int:
    log.summary(
        f"{', '.join(outputs)}: already complete (--resume); nothing to do",
        output=outputs[0],
        files=outputs,
        already_complete=True,
    )
    return 0


def _run_chunked(
    run: BuiltRun,
    devices: list[str] | None,
    writer: Any,
    first_final: Path,
    identity: dict[str, Any],
    log: RunLog,
) -> None:
    """Predict chunk by chunk into part files (resumable), then stitch them into ``writer``."""
    from grelu_cli.cli.predict_chunked import (
        device_worker,
        part_writer,
        predict_chunks,
        stitch,
        worker_jobs,
    )
    from grelu_cli.io.resume import PartStore
    from grelu_cli.io.shards import chunk_ranges
    from grelu_cli.predict.multigpu import run_workers

    req = run.req
    lo, hi = identity["window_range"]
    chunks = [(k, a, b) for k, (a, b) in enumerate(chunk_ranges(lo, hi, req.chunk_windows))]
    store = PartStore(first_final, identity, len(chunks), resume=req.resume)
    done = store.open()
    if done:
        log.info(f"resuming {first_final}: {done} of {len(chunks)} chunks already done")
    todo = [chunks[k] for k in store.todo()]
    layout = identity["target"]["layout"]
    with log.progress(hi - lo) as progress:
        already = sum(b - a for k, a, b in chunks if k in store.done)
        if already:
            progress.skip(already)  # the bar and JSON progress count the whole run

        def on_done(k: int, rows: int, n: int) -> None:
            store.commit(k, rows)
            progress.advance(n, bp=n * run.seq_len)

        if devices is None:
            parts = {k: str(store.part(k)) for k, _, _ in todo}
            write = part_writer(parts, run.predictor.task_names, layout, identity["fingerprint"])
            predict_chunks(todo, run.blocks, write, on_done)
        elif todo:
            jobs = worker_jobs(req, devices, todo, store, layout, identity["fingerprint"])
            run_workers(device_worker, jobs, lambda msg: on_done(*msg[1:]))
    with writer:
        stitch(store, writer)
    store.discard()


def _discard_partial_run(first_final: Path) -> None:
    """A run without --resume starts again: remove what an interrupted resumable run left."""
    from grelu_cli.io.resume import PartStore

    PartStore(first_final, {}, 0, resume=False).discard()


def _bigwig_paths(output: str, tasks: list[str]) -> list[Path]:
    from grelu_cli.io.bigwig import bigwig_paths

    return bigwig_paths(output, tasks)


def _fingerprint(
    req: PredictRequest, loaded: Any, inp: Any, tasks: list[str], target: dict[str, Any]
) -> str:
    from grelu_cli.io.provenance import sha256_file
    from grelu_cli.io.shards import fingerprint, table_digest

    digest = table_digest(inp.table)
    if inp.table.fasta_path is not None:  # record names and lengths are not the sequences
        digest += ":" + sha256_file(inp.table.fasta_path)
    return fingerprint(
        weights_sha256=loaded.sha256,
        input_digest=digest,
        genome_index_sha256=inp.genome.index_sha256() if inp.genome is not None else None,
        tasks=tasks,
        options=req.options,
        target=target,
    )


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
    if req.resume and req.overwrite:
        raise UsageError(
            "--resume and --overwrite were both given",
            fix="--resume continues or keeps an output, --overwrite replaces it: pick one",
        )
    if req.chunk_windows < 1:
        raise UsageError(f"--chunk-windows {req.chunk_windows} must be at least 1", fix="e.g. 512")
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
        center_bins=req.bins,
    )


def _dry_run(inp: Any, loaded: Any, seq_len: int, shard: Any = None) -> int:
    """Print what would run and every problem found (stdout); exit 3 when there are errors."""
    print(f"model: {loaded.name} ({loaded.model_type}, {loaded.n_tasks} tasks, {seq_len:,} bp in)")
    print(inp.summary())
    if shard is not None:
        from grelu_cli.io.shards import shard_range

        total = inp.plan.count()
        lo, hi = shard_range(total, shard)
        print(f"shard {shard}: windows {lo:,}-{hi:,} ({hi - lo:,} of {total:,})")
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
        compile=req.compile_model,
        # Reusing freed memory (glibc's trim/mmap off) pays only when every writer runs on
        # the background thread, which the chunked (--resume/--devices) path does not do.
        keep_memory=not (req.resume or req.devices is not None),
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


def _loader(req: PredictRequest, inp: Any, predictor: Any, lo: int, hi: int) -> Any:
    from grelu_cli.predict.loader import make_loader

    cuda = predictor.device.type == "cuda"
    workers = (
        req.num_workers if req.num_workers is not None else _default_workers(predictor.device.type)
    )
    return make_loader(
        inp.plan,
        inp.sequences,
        lo=lo,
        hi=hi,
        batch_size=predictor.sizer.size,
        num_workers=workers,
        pin_memory=cuda,
        dtype="uint8" if cuda else "float32",
        flank=predictor.flank,
        # The CPU model's convolutions read position-major input (model/cpu_conv.py).
        channels_last=not cuda,
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


def _writer(
    req: PredictRequest, inp: Any, task_names: list[str], metadata: dict, shard_file: bool
) -> Any:
    if req.fmt == "parquet" or shard_file:
        from grelu_cli.io.parquet import ParquetWriter

        layout = req.layout if req.fmt == "parquet" else "long"
        return ParquetWriter(
            req.output, task_names, layout=layout, metadata=metadata, overwrite=req.overwrite
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
