"""Run one ``grelu predict`` job: cheap checks -> model and input -> predictor -> writer.

:func:`run_predict` is what :func:`grelu_cli.run.job.run_job` calls for a
:class:`~grelu_cli.run.config.PredictJob`. Checks that need no model come first
(:mod:`grelu_cli.run.predict_checks`); then the model is loaded, the input read and checked,
the shard's window range planned on batch boundaries, and the windows predicted into the
writer by the engine: in one pass (:mod:`grelu_cli.run.plain`), into a zarr store that
records what it holds, or chunk by chunk (:mod:`grelu_cli.run.chunked`: ``resume``, several
devices).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grelu_cli.run.config import PredictJob
from grelu_cli.run.observer import RunObserver, SilentObserver
from grelu_cli.run.predict_checks import _one_file, _zarr_done, check_cheap, shard_batch
from grelu_cli.run.summary import PredictSummary, Recorder

if TYPE_CHECKING:
    from grelu_cli.core.shards import Shard
    from grelu_cli.run.build import BuiltRun


@dataclass(frozen=True)
class WindowRange:
    """The windows this run predicts: ``[lo, hi)`` of ``total``, in batches of ``batch``
    (``capped_from``: ``auto``'s size before a shard lowered it)."""

    lo: int
    hi: int
    total: int
    batch: int
    capped_from: int | None = None


def run_predict(job: PredictJob, observer: RunObserver | None = None) -> PredictSummary:
    """Run ``job`` to its output; raises :mod:`grelu_cli.errors` exceptions, prints nothing."""
    from grelu_cli.core.shards import parse_shard
    from grelu_cli.io.formats.registry import output_paths
    from grelu_cli.io.fs.atomic import check_output
    from grelu_cli.run.build import finish_build, load_and_prepare

    if job.gene_level:  # values per gene: its own windows, reduction and writers
        from grelu_cli.run.gene_predict import run_gene_predict

        return run_gene_predict(job, observer)
    obs = observer if observer is not None else SilentObserver()
    t0 = time.perf_counter()
    check_cheap(job)
    out, run_opts = job.output, job.run
    shard = parse_shard(run_opts.shard) if run_opts.shard is not None else None
    finished = _finished(job)
    devices = _devices(job)
    # A finished output is only compared with this run (nothing is shown or predicted).
    rec = Recorder(obs if finished is None else SilentObserver())
    if finished is None:
        obs.start(
            "predict",
            model=job.model.model,
            output=out.output,
            format=out.format,
            shard=run_opts.shard,
        )
    loaded, seq_len, inp = load_and_prepare(job, rec if finished is None else None)
    multi = devices is not None and len(devices) > 1
    # With several devices this process only plans and stitches: its predictor stays on
    # the CPU (for task names and metadata); the workers build their own.
    device = run_opts.device if devices is None else ("cpu" if multi else devices[0])
    run = finish_build(job, loaded, seq_len, inp, rec, device=device)
    fmt = "parquet" if job.shard_file else out.format
    finals = output_paths(fmt, out.output, run.predictor.task_names)
    if finished is None and not job.dense and run_opts.resume and all(p.is_file() for p in finals):
        finished = finals
    target = _target(job)
    inputs = _inputs(job, run, target)
    if finished is not None:
        return _keep_finished(job, finished, inputs)
    if getattr(run.predictor, "compile_error", None):
        rec.warn(f"--compile failed, running uncompiled: {run.predictor.compile_error}")
    if not job.dense:
        for path in finals:  # before predicting: a chunked run opens its writer only at the end
            check_output(path, overwrite=out.overwrite)
    span = _plan(job, run, shard, devices if multi else None)
    _size_warning(job, run, span, rec)
    writer = _open_writer(job, run, fmt, span, shard, target, inputs)
    counts = _execute(
        job, run, writer, finals[0], span, target, inputs, devices if multi else None, rec
    )
    return _summary(job, writer, span, shard, counts, rec, t0)


def _finished(job: PredictJob) -> list[Path] | None:
    """The output ``resume`` finds finished, when known before the model load."""
    if not job.run.resume:
        return None
    if job.dense:
        return [Path(job.output.output)] if _zarr_done(job) else None
    one = _one_file(job)
    return [one] if one is not None and one.is_file() else None


def _keep_finished(job: PredictJob, finals: list[Path], inputs: dict[str, Any]) -> PredictSummary:
    """``resume`` on a finished output: kept when it is this run's (exit 0), else refused."""
    from grelu_cli.run.fingerprint import check_finished, read_output_record

    record = read_output_record(finals[0])
    check_finished(finals[0], record, inputs, job.kind)
    warnings = []
    if record is None or "fingerprint" not in record:  # kept unchecked: say so, not "checked"
        # bigWig tracks have no room for a record of the run; older outputs may lack one
        what = "bigWig tracks record" if job.output.format == "bigwig" else f"{finals[0]} records"
        warnings.append(
            f"not compared with this run: {what} no run fingerprint (pass --overwrite to "
            "predict it again)"
        )
    return PredictSummary(
        output=job.output.output,
        files=[str(p) for p in finals],
        already_complete=True,
        warnings=warnings,
    )


def _target(job: PredictJob) -> dict[str, Any]:
    """What the output is (part of the fingerprint and the manifest)."""
    out = job.output
    target: dict[str, Any] = {
        "format": out.format,
        "layout": out.layout if out.format == "parquet" else "long",
        "overlap": out.overlap if out.format == "bigwig" else None,
    }
    if job.dense:
        target["dtype"] = out.dtype
    return target


def _inputs(job: PredictJob, run: BuiltRun, target: dict[str, Any]) -> dict[str, Any]:
    from grelu_cli.run.fingerprint import predict_inputs

    return predict_inputs(job, run, target)


def _plan(
    job: PredictJob, run: BuiltRun, shard: Shard | None, devices: list[str] | None
) -> WindowRange:
    """The shard's window range, on batch boundaries (:mod:`grelu_cli.run.batches`): the same
    bits in every run. A shard of a small run lowers ``auto``'s batch so that every shard
    gets work."""
    from grelu_cli.core.shards import shard_range
    from grelu_cli.run.batches import run_batch_size

    total = run.inp.plan.count()
    batch = run.predictor.sizer.size  # what its loader uses
    if devices is not None:  # this process plans on the CPU; the workers' device type counts
        batch = run_batch_size(job.predict.batch_size, devices[0].split(":")[0], run.seq_len)
    capped: int | None = None
    if shard is not None:
        most = shard_batch(batch, job.predict.batch_size, total, shard.count)
        if most < batch:
            capped, batch = batch, most
            run.predictor.sizer.cap(most)
    lo, hi = shard_range(total, shard, batch)
    return WindowRange(lo, hi, total, batch, capped)


def _size_warning(job: PredictJob, run: BuiltRun, span: WindowRange, rec: Recorder) -> None:
    if job.writes_parquet and not job.shard_file:
        from grelu_cli.io.formats.sizes import parquet_size_warning

        message = parquet_size_warning(
            layout=_target(job)["layout"],
            windows=span.hi - span.lo,
            tasks=len(run.predictor.task_names),
            bins=len(run.predictor.layout.bins),
            output=job.output.output,
        )
        if message:
            rec.warn(message)


def _open_writer(
    job: PredictJob,
    run: BuiltRun,
    fmt: str,
    span: WindowRange,
    shard: Shard | None,
    target: dict[str, Any],
    inputs: dict[str, Any],
) -> Any:
    """The output's writer (not yet entered), its metadata the run's provenance."""
    from grelu_cli.io.formats.registry import WriterSpec, open_writer
    from grelu_cli.run.build import provenance
    from grelu_cli.run.fingerprint import record_fingerprint

    out, inp = job.output, run.inp
    record = provenance(job, run)
    record_fingerprint(record, inputs)
    record["window_range"] = [span.lo, span.hi]
    record["shard"] = None
    if shard is not None:
        record["shard"] = {
            "index": shard.index,
            "count": shard.count,
            "windows": span.hi - span.lo,
            "total_windows": span.total,
            "batch_size": span.batch,
        }
        if span.capped_from is not None:  # --batch-size auto, lowered for this shard
            record["shard"]["batch_size_auto"] = span.capped_from
    sizes = [(c, inp.genome.sizes[c]) for c in inp.genome.chroms] if inp.genome else None
    if job.shard_file:
        record["bigwig"] = {"overlap": out.overlap, "chrom_sizes": [list(s) for s in sizes or []]}
    spec = WriterSpec(
        out.output,
        run.predictor.task_names,
        metadata=record,
        layout=target["layout"],
        overlap=out.overlap,
        chrom_sizes=sizes,
        overwrite=out.overwrite,
        windows=inp.plan,
        bin_layout=run.predictor.layout,
        task_table=_task_table(run) if job.dense else None,
        dtype=out.dtype,
        window_range=(span.lo, span.hi),
        sharded=shard is not None,
        resume=job.run.resume and not job.chunked,
    )
    return open_writer(fmt, spec)


def _execute(
    job: PredictJob,
    run: BuiltRun,
    writer: Any,
    first_final: Path,
    span: WindowRange,
    target: dict[str, Any],
    inputs: dict[str, Any],
    devices: list[str] | None,
    rec: Recorder,
) -> dict[str, int]:
    """Predict the run's windows into ``writer`` (plain, dense or chunked); its counts."""
    from grelu_cli.run.signals import sigterm_as_interrupt

    counts = run.inp.counts().as_dict()
    with sigterm_as_interrupt():
        if job.chunked:
            from grelu_cli.run.chunked import ChunkPlan, run_chunked
            from grelu_cli.run.identity import compact_inputs, fingerprint_of
            from grelu_cli.run.parts import TrackParts

            fp = fingerprint_of(inputs)
            plan = ChunkPlan(
                first_final,
                fp,
                compact_inputs(inputs),
                job.run.shard,
                (span.lo, span.hi),
                job.run.chunk_size,
                span.batch,
                target,
                run.predictor.task_names,
                job.unit,
                job.chunk_option,
            )
            work = TrackParts(run, target["layout"], fp, writer)
            on_devices = None
            if devices:  # workers batch as this plan does (a shard's lowered auto size too)
                sub = job
                if span.capped_from is not None:
                    sub = replace(job, predict=replace(job.predict, batch_size=str(span.batch)))
                on_devices = _device_runner(sub, devices, target["layout"], fp)
            run_chunked(plan, work, rec, job.run.resume, on_devices)
        elif job.dense:
            from grelu_cli.run.plain import run_dense

            run_dense(run, writer, counts, rec)
        else:
            from grelu_cli.run.plain import run_plain

            run_plain(run, writer, first_final, span.lo, span.hi, counts, rec)
    return counts


def _device_runner(job: PredictJob, devices: list[str], layout: str, fp: str) -> Any:
    """The chunk engine's ``on_devices``: one worker process per device."""

    def on_devices(todo: Any, store: Any, on_done: Any) -> None:
        from grelu_cli.run.devices import run_workers
        from grelu_cli.run.workers import device_worker, worker_jobs

        shares = worker_jobs(job, devices, todo, store, layout, fp)
        run_workers(device_worker, shares, lambda msg: on_done(*msg[1:]))

    return on_devices


def _summary(
    job: PredictJob,
    writer: Any,
    span: WindowRange,
    shard: Shard | None,
    counts: dict[str, int],
    rec: Recorder,
    t0: float,
) -> PredictSummary:
    from grelu_cli.io.formats.registry import write_report
    from grelu_cli.predict.augment import augmentations

    report = write_report(writer)
    if report.already_complete:
        return PredictSummary(
            output=job.output.output, files=[str(p) for p in writer.paths], already_complete=True
        )
    if report.nonfinite:
        rec.warn(
            f"{report.nonfinite:,} NaN/inf predictions were not written to bigWig",
            count=report.nonfinite,
        )
    if report.clipped:
        rec.warn(
            f"{report.clipped:,} predictions beyond the float16 range (+-65,504) were clipped "
            "to it (--dtype float16; counts.clipped in the store)",
            count=report.clipped,
        )
    copies = len(augmentations(job.predict.rc, job.predict.shifts))
    return PredictSummary(
        output=job.output.output,
        files=[str(p) for p in writer.paths],
        counts=counts,
        windows=span.hi - span.lo,
        forward_passes=(span.hi - span.lo) * copies,
        seconds=time.perf_counter() - t0,
        shard=str(shard) if shard is not None else None,
        window_range=(span.lo, span.hi),
        nonfinite=report.nonfinite,
        clipped=report.clipped,
        warnings=rec.messages,
    )


def _task_table(run: BuiltRun) -> Any:
    """The tasks-table rows of the output tasks, in output order (None without a table)."""
    table, plan = getattr(run.loaded, "tasks", None), run.predictor.plan
    if table is None or plan is None or not hasattr(table, "iloc"):
        return None
    return table.iloc[list(plan.selected)].reset_index(drop=True)


def _devices(job: PredictJob) -> list[str] | None:
    """The ``devices`` list, each checked to exist here, before anything is created."""
    if job.run.devices is None:
        return None
    from grelu_cli.run.devices import check_devices, parse_devices

    devices = parse_devices(job.run.devices)
    check_devices(devices, job.run.devices)
    return devices
