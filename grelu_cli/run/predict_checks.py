"""``grelu predict``'s checks: the cheap ones before torch, and the dry run.

:func:`check_cheap` checks options, input files, ``--region`` syntax, the output path and
format, before torch is imported; :func:`dry_run_predict` loads the model and checks the
input against the genome, predicting nothing.
"""

from __future__ import annotations

from pathlib import Path

from grelu_cli.run.config import PredictJob, check_job
from grelu_cli.run.summary import DryRunReport


def shard_batch(batch: int, option: str, total: int, n_shards: int) -> int:
    """A shard's batch size. ``--batch-size auto`` starting above the CPU's largest automatic
    batch (a GPU starts at 1,024 windows) is lowered to ``ceil(total / n_shards)`` windows, so
    that every shard of a small run gets work. On the CPU (``auto`` at most 128 windows) and
    with an explicit ``--batch-size`` the batch is kept: shards then cut on the plain run's
    batches and merge bit-identical to it (on these CPUs a window's bits depend on its
    batch's size)."""
    from grelu_cli.predict.batch_size import CPU_AUTO, parse_batch_size

    if parse_batch_size(option) is not None or batch <= CPU_AUTO:
        return batch
    return max(1, min(batch, -(-total // max(1, n_shards))))


def check_cheap(job: PredictJob) -> None:
    """Every check before torch is imported: options, input files, output path and format."""
    from grelu_cli.core.shards import parse_shard
    from grelu_cli.genome.inputs import check_input
    from grelu_cli.io.fs.atomic import check_output

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
    if job.dense:
        _zarr_done(job)  # raises for an existing store this run may not write into
        return
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
    from grelu_cli.io.formats.registry import get_format

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


def _zarr_done(job: PredictJob) -> bool:
    """Cheap check of a zarr output; True when ``resume`` finds the store finished."""
    from grelu_cli.io.formats.zarr import check_zarr_output

    return check_zarr_output(
        job.output.output,
        overwrite=job.output.overwrite,
        sharded=job.run.shard is not None,
        resume=job.run.resume,
    )


def _one_file(job: PredictJob) -> Path | None:
    """The single output file, when it is known without the model's task names."""
    from grelu_cli.io.formats.registry import get_format, has_suffix

    out = job.output.output
    if job.writes_parquet or not get_format(job.output.format).tracks:
        return Path(out)
    if "{task}" not in out and not out.endswith("/") and has_suffix(out, job.output.format):
        return Path(out)  # one track file named by the user
    return None


def dry_run_predict(job: PredictJob) -> DryRunReport:
    """Check the input against the genome and model; predict nothing, write nothing."""
    from grelu_cli.core.shards import parse_shard, shard_range
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
        batch = shard_batch(
            run_batch_size(job.predict.batch_size, device_type, seq_len),
            job.predict.batch_size,
            total,
            shard.count,
        )
        lo, hi = shard_range(total, shard, batch)
        lines.append(
            f"shard {shard}: windows {lo:,}-{hi:,} ({hi - lo:,} of {total:,}; "
            f"boundaries on batches of {batch:,})"
        )
    lines += inp.report.lines()
    if inp.report.ok:
        lines.append("ok: input is valid")
    return DryRunReport(lines, inp.report.ok)
