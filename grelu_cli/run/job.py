"""Run one prediction job: cheap checks -> model and input -> predictor -> writer -> summary.

:func:`run_job` is what ``grelu predict`` and :func:`grelu_cli.api.predict` call. Checks that
need no model (options, input files, ``--region`` syntax, output path and format, devices)
come first, before torch is imported; then the model is loaded, the input read and checked,
and the windows predicted into the writer, in one pass (:mod:`grelu_cli.run.plain`) or chunk
by chunk (:mod:`grelu_cli.run.chunked`: ``resume``, several devices).
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grelu_cli.run.config import PredictJob, check_job
from grelu_cli.run.observer import RunObserver, SilentObserver


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


@dataclass(frozen=True)
class PredictSummary:
    """What a finished run did.

    Attributes:
        output: the ``output`` option; ``files``: the final files written (or found complete).
        counts: regions, windows, padded/dropped/shifted windows, padded bases (whole input).
        windows: windows predicted by this run (a shard's share; 0 when already complete).
        forward_passes: model inputs run: windows x augmented copies (``rc``, ``shifts``).
        seconds: wall time of the run.
        shard: ``"i/N"`` or None; ``window_range``: the run's ``[lo, hi)``.
        nonfinite: NaN/inf predictions not written to bigWig.
        already_complete: ``resume`` found the output finished and left it as it was.
        warnings: every warning the run gave.
    """

    output: str
    files: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    windows: int = 0
    forward_passes: int = 0
    seconds: float = 0.0
    shard: str | None = None
    window_range: tuple[int, int] = (0, 0)
    nonfinite: int = 0
    already_complete: bool = False
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The one-line human summary."""
        where = ", ".join(self.files)
        if self.already_complete:
            return f"{where}: already complete (--resume); nothing to do"
        c = self.counts
        lo, hi = self.window_range
        part = f" (shard {self.shard}: windows {lo:,}-{hi:,})" if self.shard is not None else ""
        return (
            f"predicted {_plural(c.get('regions', 0), 'region')} "
            f"({_plural(c.get('windows', 0), 'window')}, {c.get('padded_windows', 0):,} padded, "
            f"{c.get('dropped_windows', 0):,} dropped){part}, "
            f"{self.forward_passes:,} forward pass{'' if self.forward_passes == 1 else 'es'} "
            f"in {self.seconds:.1f} s -> {where}"
        )

    def fields(self) -> dict[str, Any]:
        """The machine-readable summary (JSON log event, API users)."""
        if self.already_complete:
            return {"output": self.output, "files": self.files, "already_complete": True}
        return {
            "output": self.output,
            "files": self.files,
            "shard": self.shard,
            "shard_windows": self.windows,
            "forward_passes": self.forward_passes,
            **self.counts,
        }


@dataclass(frozen=True)
class DryRunReport:
    """What a run would do and every problem found; ``ok`` is False when there are errors."""

    lines: list[str]
    ok: bool


def check_cheap(job: PredictJob) -> None:
    """Every check before torch is imported: options, input files, output path and format."""
    from grelu_cli.genome.inputs import check_input
    from grelu_cli.io.atomic import check_output
    from grelu_cli.io.shards import parse_shard

    check_job(job)
    i = job.input
    check_input(
        bed=i.bed,
        fasta=i.fasta,
        regions=list(i.region),
        chroms=list(i.chrom),
        genome=i.genome,
        chrom_alias=i.chrom_alias,
        edge=i.edge,
    )
    if job.run.shard is not None:
        parse_shard(job.run.shard)
    one = _one_file(job)
    if one is not None and not (job.run.resume and one.is_file()):
        check_output(one, overwrite=job.output.overwrite)
    if one is None and not (job.output.overwrite or job.run.resume):
        _check_track_files(job)


def _check_track_files(job: PredictJob) -> None:
    """A bigWig directory or template whose files exist is refused before the model load.

    The file names come from the model's task names, so any track file there counts:
    writing into a directory of earlier tracks needs ``overwrite`` (or a new directory).
    """
    from grelu_cli.errors import OutputExistsError
    from grelu_cli.io.writers import get_format

    out = job.output.output
    suffixes = get_format(job.output.format).suffixes
    if "{task}" in out:
        pattern = Path(out.replace("{task}", "*"))
        folder, glob = pattern.parent, pattern.name
    else:
        folder, glob = Path(out), "*"
    if not folder.is_dir():
        return
    found = sorted(p.name for p in folder.glob(glob) if p.name.lower().endswith(suffixes))
    if found:
        shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        raise OutputExistsError(
            f"output {out} already exists: {folder} holds track files ({shown})",
            fix="use --overwrite to replace them, or write to a new directory",
        )


def _one_file(job: PredictJob) -> Path | None:
    """The single output file, when it is known without the model's task names."""
    from grelu_cli.io.writers import get_format, has_suffix

    out = job.output.output
    if job.writes_parquet or not get_format(job.output.format).tracks:
        return Path(out)
    if "{task}" not in out and not out.endswith("/") and has_suffix(out, job.output.format):
        return Path(out)  # one track file named by the user
    return None


def dry_run(job: PredictJob) -> DryRunReport:
    """Check the input against the genome and model; predict nothing, write nothing."""
    from grelu_cli.io.shards import parse_shard, shard_range
    from grelu_cli.run.build import load_and_prepare

    check_job(job)
    loaded, seq_len, inp = load_and_prepare(job)
    lines = [
        f"model: {loaded.name} ({loaded.model_type}, {loaded.n_tasks} tasks, {seq_len:,} bp in)",
        inp.summary(),
    ]
    if job.run.shard is not None:
        from grelu_cli.predict.device import resolve_device
        from grelu_cli.run.batches import run_batch_size

        shard = parse_shard(job.run.shard)
        total = inp.plan.count()
        if job.run.devices is not None:  # the workers' device type, as in run_job
            device_type = job.run.devices.split(",")[0].split(":")[0].strip()
            device_type = "cpu" if device_type == "cpu" else "cuda"
        else:
            device_type = resolve_device(job.run.device).type
        batch = run_batch_size(job.predict.batch_size, device_type, seq_len)
        lo, hi = shard_range(total, shard, batch)
        lines.append(
            f"shard {shard}: windows {lo:,}-{hi:,} ({hi - lo:,} of {total:,}; "
            f"boundaries on batches of {batch:,})"
        )
    lines += inp.report.lines()
    if inp.report.ok:
        lines.append("ok: input is valid")
    return DryRunReport(lines, inp.report.ok)


def run_job(job: PredictJob, observer: RunObserver | None = None) -> PredictSummary:
    """Run ``job`` to its output; raises :mod:`grelu_cli.errors` exceptions, prints nothing."""
    from grelu_cli.io.atomic import check_output
    from grelu_cli.io.shards import parse_shard, shard_range
    from grelu_cli.io.writers import WriterSpec, open_writer, output_paths
    from grelu_cli.run.build import fingerprint, finish_build, load_and_prepare, provenance

    obs = observer if observer is not None else SilentObserver()
    warnings = _Recorder(obs)
    t0 = time.perf_counter()
    check_cheap(job)
    out, run_opts = job.output, job.run
    shard = parse_shard(run_opts.shard) if run_opts.shard is not None else None
    one = _one_file(job)
    if one is not None and run_opts.resume and one.is_file():
        return _already_done(job, [one])
    devices = _devices(job)
    obs.start("predict", model=job.model.model, output=out.output, format=out.format,
              shard=run_opts.shard)  # fmt: skip

    loaded, seq_len, inp = load_and_prepare(job, obs)
    multi = devices is not None and len(devices) > 1
    # With several devices this process only plans and stitches: its predictor stays on
    # the CPU (for task names and metadata); the workers build their own.
    device = run_opts.device if devices is None else ("cpu" if multi else devices[0])
    run = finish_build(job, loaded, seq_len, inp, warnings, device=device)
    if getattr(run.predictor, "compile_error", None):
        warnings.warn(f"--compile failed, running uncompiled: {run.predictor.compile_error}")
    tasks = run.predictor.task_names
    fmt = "parquet" if job.shard_file else out.format
    finals = output_paths(fmt, out.output, tasks)
    if run_opts.resume and all(p.is_file() for p in finals):
        return _already_done(job, finals)
    for path in finals:  # before predicting: a chunked run opens its writer only at the end
        check_output(path, overwrite=out.overwrite)

    from grelu_cli.run.batches import run_batch_size

    total = inp.plan.count()
    # Shards and chunks hold whole batches (run/batches.py): the same bits in every run.
    batch = run.predictor.sizer.size  # what its loader uses
    if multi:  # this process plans on the CPU; the workers' device type sets the size
        batch = run_batch_size(job.predict.batch_size, devices[0].split(":")[0], seq_len)
    lo, hi = shard_range(total, shard, batch)
    target = {
        "format": out.format,
        "layout": out.layout if out.format == "parquet" else "long",
        "overlap": out.overlap if out.format == "bigwig" else None,
    }
    fp = fingerprint(job, run, target)
    record = provenance(job, run)
    record["fingerprint"] = fp
    record["window_range"] = [lo, hi]
    record["shard"] = None
    if shard is not None:
        record["shard"] = {
            "index": shard.index,
            "count": shard.count,
            "windows": hi - lo,
            "total_windows": total,
            "batch_size": batch,
        }
    sizes = [(c, inp.genome.sizes[c]) for c in inp.genome.chroms] if inp.genome else None
    if job.shard_file:
        record["bigwig"] = {"overlap": out.overlap, "chrom_sizes": [list(s) for s in sizes or []]}
    spec = WriterSpec(
        out.output,
        tasks,
        metadata=record,
        layout=target["layout"],
        overlap=out.overlap,
        chrom_sizes=sizes,
        overwrite=out.overwrite,
    )
    writer = open_writer(fmt, spec)
    counts = inp.counts()
    with sigterm_as_interrupt():
        if job.chunked:
            from grelu_cli.run.chunked import run_chunked

            identity = {
                "fingerprint": fp,
                "shard": str(shard) if shard is not None else None,
                "window_range": [lo, hi],
                "chunk_windows": run_opts.chunk_windows,
                "batch_size": batch,
                "target": target,
                "tasks": tasks,
            }
            run_chunked(run, devices if multi else None, writer, finals[0], identity, warnings)
        else:
            from grelu_cli.run.plain import run_plain

            run_plain(run, writer, finals[0], lo, hi, counts.as_dict(), warnings)
    nonfinite = sum(getattr(writer, "nonfinite", []) or [0])
    if nonfinite:
        warnings.warn(
            f"{nonfinite:,} NaN/inf predictions were not written to bigWig", count=nonfinite
        )
    from grelu_cli.predict.augment import augmentations

    copies = len(augmentations(job.predict.rc, job.predict.shifts))
    return PredictSummary(
        output=out.output,
        files=[str(p) for p in writer.paths],
        counts=counts.as_dict(),
        windows=hi - lo,
        forward_passes=(hi - lo) * copies,
        seconds=time.perf_counter() - t0,
        shard=str(shard) if shard is not None else None,
        window_range=(lo, hi),
        nonfinite=nonfinite,
        warnings=warnings.messages,
    )


class _Recorder:
    """Passes everything to the caller's observer and keeps the warnings for the summary."""

    def __init__(self, inner: RunObserver) -> None:
        self.inner = inner
        self.show_downloads = inner.show_downloads
        self.messages: list[str] = []

    def start(self, command: str, **fields: Any) -> None:
        self.inner.start(command, **fields)

    def info(self, message: str) -> None:
        self.inner.info(message)

    def warn(self, message: str, **counts: Any) -> None:
        self.messages.append(message)
        self.inner.warn(message, **counts)

    def progress(self, total: int) -> Any:
        return self.inner.progress(total)


def _devices(job: PredictJob) -> list[str] | None:
    """The ``devices`` list, each checked to exist here, before anything is created."""
    if job.run.devices is None:
        return None
    from grelu_cli.run.devices import check_devices, parse_devices

    devices = parse_devices(job.run.devices)
    check_devices(devices, job.run.devices)
    return devices


def _already_done(job: PredictJob, finals: list[Path]) -> PredictSummary:
    return PredictSummary(
        output=job.output.output, files=[str(p) for p in finals], already_complete=True
    )


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
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
