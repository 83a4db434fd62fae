"""Run one ``grelu attribute`` job: cheap checks -> model and input -> target -> writer.

:func:`run_attribute` is what :func:`grelu_cli.run.job.run_job` calls for an
:class:`~grelu_cli.run.attribute_job.AttributeJob`. The windows are planned as ``grelu
predict`` plans them and cut on batch boundaries (:func:`grelu_cli.core.shards.shard_range`);
the :class:`~grelu_cli.attribute.producer.AttributionProducer` feeds the engine's own paths:
a zarr store through :func:`~grelu_cli.run.plain.run_dense` (it records its written windows,
so shards join one store and ``--resume`` needs no part files), bigWig tracks through
:func:`~grelu_cli.run.plain.run_plain`, or chunk by chunk with ``--resume``
(:func:`~grelu_cli.run.chunked.run_chunked` with predict's
:class:`~grelu_cli.run.parts.TrackParts`), and a bigWig shard as predict's per-window parquet
file that ``grelu merge`` turns into bigWigs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from grelu_cli.run.attribute_job import (
    CPU_AUTO_ATTRIBUTE,
    CUDA_AUTO_ATTRIBUTE,
    AttributeJob,
    check_attribute_job,
    check_attribute_output,
)
from grelu_cli.run.observer import RunObserver, SilentObserver
from grelu_cli.run.summary import DryRunReport, Recorder

if TYPE_CHECKING:
    from grelu_cli.attribute.producer import AttributionProducer


@dataclass(frozen=True)
class AttributeSummary:
    """What a finished ``grelu attribute`` run did (``line()`` for humans, ``fields()`` for
    the JSON log and API users)."""

    output: str
    files: list[str]
    method: str = ""
    targets: list[str] = field(default_factory=list)
    windows: int = 0
    seconds: float = 0.0
    shard: str | None = None
    window_range: tuple[int, int] = (0, 0)
    clipped: int = 0
    already_complete: bool = False
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        where = ", ".join(self.files)
        if self.already_complete:
            return f"{where}: already complete (--resume); nothing to do"
        lo, hi = self.window_range
        part = f" (shard {self.shard}: windows {lo:,}-{hi:,})" if self.shard is not None else ""
        n = len(self.targets)
        return (
            f"attributed {self.windows:,} window{'s' if self.windows != 1 else ''} "
            f"({self.method}, {n} target{'s' if n != 1 else ''}){part} in "
            f"{self.seconds:.1f} s -> {where}"
            + (f" ({self.clipped:,} values clipped to float16)" if self.clipped else "")
        )

    def fields(self) -> dict[str, Any]:
        if self.already_complete:
            return {"output": self.output, "files": self.files, "already_complete": True}
        return {
            "output": self.output,
            "files": self.files,
            "method": self.method,
            "targets": self.targets,
            "windows": self.windows,
            "shard": self.shard,
            **({"clipped": self.clipped} if self.clipped else {}),
        }


@dataclass
class _Built:
    """The loaded model, the prepared input and the producer of a job."""

    loaded: Any
    inp: Any
    producer: AttributionProducer
    targets: list[str]
    total: int
    batch: int


def run_attribute(job: AttributeJob, observer: RunObserver | None = None) -> AttributeSummary:
    """Run ``job`` to its output; raises :mod:`grelu_cli.errors` exceptions, prints nothing."""
    from grelu_cli.core.shards import parse_shard, shard_range
    from grelu_cli.io.formats.registry import output_paths
    from grelu_cli.run.signals import sigterm_as_interrupt

    obs = observer if observer is not None else SilentObserver()
    t0 = time.perf_counter()
    check_attribute_job(job)
    finished = check_attribute_output(job)
    rec = Recorder(obs if not finished else SilentObserver())
    if not finished:
        obs.start("attribute", model=job.model.model, output=job.output.output)
    built = build(job, rec)
    shard = parse_shard(job.run.shard) if job.run.shard is not None else None
    lo, hi = shard_range(built.total, shard, built.batch)
    target = {"format": job.output.format, "overlap": job.output.overlap, "dtype": job.output.dtype}
    inputs = _inputs(job, built, target)
    fmt = "parquet" if job.shard_file else job.output.format
    kind = "attribution" if job.dense else "tracks"
    finals = output_paths(fmt, job.output.output, built.targets, kind)
    if job.run.resume and not job.dense and all(p.is_file() for p in finals):
        finished = True  # every bigWig track is there
    if finished:
        return _keep_finished(job, finals, inputs)
    writer = _open_writer(job, built, fmt, kind, (lo, hi), shard, inputs)
    counts = built.inp.counts().as_dict()
    run = cast(Any, built.producer)  # what the engine reads of a built run
    with sigterm_as_interrupt():
        if job.dense:
            from grelu_cli.run.plain import run_dense

            run_dense(run, writer, counts, rec)
        elif job.chunked:
            from grelu_cli.run.chunked import ChunkPlan, run_chunked
            from grelu_cli.run.identity import compact_inputs, fingerprint_of
            from grelu_cli.run.parts import TrackParts

            fp = fingerprint_of(inputs)
            plan = ChunkPlan(
                finals[0],
                fp,
                compact_inputs(inputs),
                job.run.shard,
                (lo, hi),
                job.run.chunk_size,
                built.batch,
                target,
                built.targets,
                job.unit,
                job.chunk_option,
            )
            run_chunked(plan, TrackParts(run, "long", fp, writer), rec, resume=True)
        else:
            from grelu_cli.run.plain import run_plain

            run_plain(run, writer, finals[0], lo, hi, counts, rec)
    from grelu_cli.io.formats.registry import write_report

    report = write_report(writer)
    return AttributeSummary(
        output=job.output.output,
        files=[str(p) for p in writer.paths],
        method=job.attribution.method,
        targets=built.targets,
        windows=hi - lo,
        seconds=time.perf_counter() - t0,
        shard=str(shard) if shard is not None else None,
        window_range=(lo, hi),
        clipped=report.clipped,
        already_complete=report.already_complete,
        warnings=rec.messages,
    )


def build(job: AttributeJob, rec: RunObserver | None = None) -> _Built:
    """Load the model, read and check the input, and build the producer."""
    import torch

    from grelu_cli.attribute.producer import AttributionProducer
    from grelu_cli.attribute.support import check_deeplift
    from grelu_cli.attribute.target import TargetModel
    from grelu_cli.genome.bins import bin_layout
    from grelu_cli.genome.inputs import prepare_input
    from grelu_cli.model.warmup import warm_up
    from grelu_cli.predict.batch_size import parse_batch_size
    from grelu_cli.predict.device import resolve_device, set_threads
    from grelu_cli.predict.tasks import resolve_tasks
    from grelu_cli.run.build import input_length, load

    loaded = load(job, show_downloads=bool(getattr(rec, "show_downloads", False)))
    seq_len = input_length(job, loaded)
    i, p, a = job.input, job.predict, job.attribution
    inp = prepare_input(
        bed=i.bed,
        regions=list(i.region),
        genome=i.genome,
        chrom_alias=i.chrom_alias,
        seq_len=seq_len,
        geometry=loaded.geometry,
        edge=i.edge,
    )
    inp.check()
    if rec is not None:
        for message in inp.report.warnings:
            rec.warn(message)
    selected = resolve_tasks(
        loaded.tasks,
        names=list(p.tasks) if p.tasks is not None else None,
        file=p.tasks_file,
        query=p.tasks_query,
        model=job.model.model,
    )
    index = list(selected) if selected is not None else list(range(len(loaded.task_names)))
    layout = bin_layout(loaded.geometry, seq_len, center_bins=p.bins, aggregate=p.aggregate)
    if a.method == "deepliftshap":
        check_deeplift(loaded.model, loaded.name, loaded.model_type)
    set_threads(job.run.threads)
    device = resolve_device(job.run.device)
    warm_up(device)
    activation = "none" if p.logits else loaded.output_activation.name
    target = TargetModel(loaded.model.to(device), activation, layout, index, a.per_task)
    names = [loaded.task_names[k] for k in index] if a.per_task else ["mean"]
    size = parse_batch_size(p.batch_size)
    if size is None:
        size = CUDA_AUTO_ATTRIBUTE if device.type == "cuda" else CPU_AUTO_ATTRIBUTE
    producer = AttributionProducer(
        target, a, inp, size, torch.device(device), names, tracks=not job.dense
    )
    return _Built(loaded, inp, producer, names, inp.plan.count(), size)


def _inputs(job: AttributeJob, built: _Built, target: dict[str, Any]) -> dict[str, Any]:
    """What the run fingerprint covers."""
    from grelu_cli.run.identity import fingerprint_inputs, table_digest

    options = job.options()
    options.pop("chunk_windows", None)
    return fingerprint_inputs(
        weights_sha256=built.loaded.sha256,
        input_digest=table_digest(built.inp.table),
        genome_index_sha256=built.inp.genome.index_sha256(),
        tasks=built.targets,
        options=options,
        target=target,
    )


def _open_writer(
    job: AttributeJob,
    built: _Built,
    fmt: str,
    kind: str,
    span: tuple[int, int],
    shard: Any,
    inputs: dict[str, Any],
) -> Any:
    """The output's writer (not yet entered), its metadata the run's provenance."""
    import torch

    from grelu_cli.attribute.options import full_matrix
    from grelu_cli.io.formats.provenance import build_provenance
    from grelu_cli.io.formats.registry import WriterSpec, open_writer
    from grelu_cli.run.fingerprint import record_fingerprint

    loaded, inp, out = built.loaded, built.inp, job.output
    record = build_provenance(
        model=loaded.name,
        model_path=loaded.path,
        weights_sha256=loaded.sha256,
        genome=inp.genome.path,
        options=job.options(),
        counts=inp.counts().as_dict(),
        tasks=built.targets,
        extra={
            "command": "attribute",
            "attribute": {
                "method": job.attribution.method,
                "per_task": job.attribution.per_task,
                "correct_grad": job.attribution.correct_grad,
                "hypothetical": job.attribution.hypothetical,
                "shuffles": job.attribution.shuffles,
                "seed": job.attribution.seed,
                "ig_steps": job.attribution.ig_steps,
                "aggregate": job.predict.aggregate,
                "positions": "window",
                # which bases hold values: all four (saliency, hypothetical), or the reference
                "bases": "all" if full_matrix(job.attribution) else "reference",
            },
            "model_info": loaded.provenance(),
            "input": inp.provenance(),
            "seq_len": built.producer.seq_len,
            "torch": str(torch.__version__),
        },
    )
    record_fingerprint(record, inputs)
    record["window_range"] = list(span)
    record["shard"] = None
    if shard is not None:
        record["shard"] = {
            "index": shard.index,
            "count": shard.count,
            "windows": span[1] - span[0],
            "total_windows": built.total,
            "batch_size": built.batch,
        }
    sizes = [(c, inp.genome.sizes[c]) for c in inp.genome.chroms]
    if job.shard_file:
        record["bigwig"] = {"overlap": out.overlap, "chrom_sizes": [list(s) for s in sizes]}
    spec = WriterSpec(
        out.output,
        built.targets,
        metadata=record,
        overlap=out.overlap,
        chrom_sizes=sizes,
        overwrite=out.overwrite,
        windows=inp.plan,
        dtype=out.dtype,
        window_range=span,
        sharded=shard is not None,
        resume=job.run.resume,
        kind=kind,
        values=[str(built.producer.seq_len)],
    )
    if kind == "tracks" and fmt == "parquet":  # a bigWig shard: per-base rows, long layout
        spec = WriterSpec(
            out.output, built.targets, metadata=record, overwrite=out.overwrite, layout="long"
        )
    return open_writer(fmt, spec)


def _keep_finished(job: AttributeJob, finals: list[Path], inputs: dict[str, Any]) -> Any:
    """``resume`` on a finished output: kept when it is this run's (exit 0), else refused."""
    from grelu_cli.run.fingerprint import check_finished, read_output_record

    record = read_output_record(finals[0])
    check_finished(finals[0], record, inputs, "predict")
    return AttributeSummary(
        output=job.output.output, files=[str(p) for p in finals], already_complete=True
    )


def dry_run_attribute(job: AttributeJob) -> DryRunReport:
    """Check the input against the genome and model (and DeepLIFT's rules); attribute
    nothing, write nothing."""
    check_attribute_job(job)
    built = build(job)
    loaded, inp = built.loaded, built.inp
    lines = [
        f"model: {loaded.name} ({loaded.model_type}, {loaded.n_tasks} tasks, "
        f"{built.producer.seq_len:,} bp in)",
        inp.summary(),
        f"method: {job.attribution.method}; targets: {', '.join(built.targets)}",
    ]
    lines += inp.report.lines()
    if inp.report.ok:
        lines.append("ok: input is valid")
    return DryRunReport(lines, inp.report.ok)
