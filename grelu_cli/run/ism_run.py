"""Run one ``grelu ism`` job on the engine: windows -> ISM blocks (one per region) -> writer.

:func:`run_ism` is what :func:`grelu_cli.run.job.run_job` calls for an
:class:`~grelu_cli.run.ism_job.ISMJob`. The model, windows and predictor are ``grelu
predict``'s (:mod:`grelu_cli.run.build`; ``--vcf`` windows as ``grelu variants`` places them,
:mod:`grelu_cli.run.ism_input`); the job kind's producer is
:class:`~grelu_cli.ism.producer.ISMProducer`; writers come from the registry (result kind
``ism``). How the regions are run is the engine's: a zarr store records its written regions
(shards write into one store, ``--resume`` skips what is written, ``grelu merge STORE``
finalizes it); parquet and bigWig outputs are written in one pass
(:func:`grelu_cli.run.plain.write_plain`), or with ``--resume`` chunk by chunk
(:func:`grelu_cli.run.chunked.run_chunked`, :class:`~grelu_cli.run.ism_work.ISMParts`).
A shard (``--shard i/N``) takes a contiguous run of whole regions.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from grelu_cli.run.ism_build import BuiltISM, build_ism
from grelu_cli.run.ism_job import ISMJob, check_ism_job
from grelu_cli.run.ism_summary import ISMSummary
from grelu_cli.run.observer import RunObserver, SilentObserver
from grelu_cli.run.summary import DryRunReport, Recorder


def run_ism(job: ISMJob, observer: RunObserver | None = None) -> ISMSummary:
    """Run ``job`` to its output; raises :mod:`grelu_cli.errors` exceptions, prints nothing."""
    from grelu_cli.core.shards import parse_shard, shard_range
    from grelu_cli.run.fingerprint import check_finished, read_output_record, record_fingerprint
    from grelu_cli.run.signals import sigterm_as_interrupt

    obs = observer if observer is not None else SilentObserver()
    t0 = time.perf_counter()
    check_cheap_ism(job)
    fmt, out = job.output.format, job.output.output
    shard = parse_shard(job.run.shard) if job.run.shard is not None else None
    done = _finished(job)
    rec = Recorder(obs if not done else SilentObserver())
    if not done:
        obs.start("ism", model=job.model.model, output=out, format=fmt, shard=job.run.shard)
    built = build_ism(job, rec)
    if job.run.resume and fmt == "bigwig" and all(Path(p).is_file() for p in built.finals):
        # Finished tracks (their names needed the task names): kept, as predict keeps them;
        # bigWig records no run fingerprint, so they are not compared with this run.
        return ISMSummary(
            output=out,
            files=[str(p) for p in built.finals],
            already_complete=True,
            warnings=["not compared with this run: bigWig tracks record no run fingerprint"],
        )
    if done:
        first = Path(built.finals[0])
        check_finished(first, read_output_record(first), built.inputs, job.kind)
        return ISMSummary(output=out, files=[str(p) for p in built.finals], already_complete=True)
    if not job.chunked and fmt != "zarr":
        from grelu_cli.io.fs.atomic import check_output

        for path in built.finals:
            check_output(path, overwrite=job.output.overwrite)
    total = built.source.count()
    lo, hi = shard_range(total, shard, 1)
    record = built.record
    fp = record_fingerprint(record, built.inputs)
    record["window_range"] = [lo, hi]
    record["shard"] = None
    if shard is not None:
        record["shard"] = {
            "index": shard.index,
            "count": shard.count,
            "windows": hi - lo,
            "total_windows": total,
            "batch_size": 1,  # shards cut on whole regions
        }
    writer = _open_writer(job, built, record, (lo, hi), shard is not None)
    with sigterm_as_interrupt():
        if fmt == "zarr":
            _run_dense(built, writer, rec)
        elif job.chunked:
            _run_chunked(job, built, writer, fp, (lo, hi), rec)
        else:
            from grelu_cli.run.chunked import discard_partial_run
            from grelu_cli.run.plain import write_plain

            discard_partial_run(Path(built.finals[0]))
            steps = ((b, 1, built.seq_len) for b in built.blocks(lo, hi))
            write_plain(writer, steps, rec, hi - lo, "regions", _counts_at_end(built))
    from grelu_cli.io.formats.registry import write_report

    report = write_report(writer)
    if report.already_complete:
        return ISMSummary(output=out, files=[str(p) for p in writer.paths], already_complete=True)
    if report.nonfinite:
        rec.warn(f"{report.nonfinite:,} NaN/inf values were not written to bigWig")
    return ISMSummary(
        output=out,
        files=[str(p) for p in writer.paths],
        counts=built.source.counts(),
        regions=hi - lo,
        mutants=built.producer.mutants_done,
        method=built.method,
        seconds=time.perf_counter() - t0,
        ism_seconds=built.producer.seconds,
        shard=str(shard) if shard is not None else None,
        region_range=(lo, hi),
        clipped=report.clipped,
        warnings=rec.messages,
    )


def check_cheap_ism(job: ISMJob) -> None:
    """Checks before torch: options, input files, the output path."""
    from grelu_cli.errors import MissingResourceError
    from grelu_cli.genome.inputs import check_input

    check_ism_job(job)
    i = job.input
    if job.ism.vcf is not None:
        if not Path(job.ism.vcf).is_file():
            raise MissingResourceError(f"--vcf {job.ism.vcf} does not exist", fix="check the path")
        if i.genome is not None and not Path(i.genome).is_file():
            raise MissingResourceError(f"--genome {i.genome} does not exist", fix="check the path")
    else:
        check_input(
            bed=i.bed,
            fasta=i.fasta,
            regions=list(i.region),
            chroms=[],
            genome=i.genome,
            chrom_alias=i.chrom_alias,
            edge=i.edge,
        )
    if job.output.format == "zarr":
        from grelu_cli.io.formats.zarr import check_zarr_output

        check_zarr_output(
            job.output.output,
            overwrite=job.output.overwrite,
            sharded=job.run.shard is not None,
            resume=job.run.resume,
        )
    elif job.output.format == "parquet" and not job.run.resume:
        from grelu_cli.io.fs.atomic import check_output

        check_output(job.output.output, overwrite=job.output.overwrite)


def _finished(job: ISMJob) -> bool:
    """``resume`` on an output that is already finished (kept when it is this run's)."""
    if not job.run.resume:
        return False
    out = job.output.output
    if job.output.format == "zarr":
        from grelu_cli.io.formats.zarr import is_complete

        try:
            return Path(out).is_dir() and is_complete(out)
        except Exception:  # not a grelu store: the writer names the problem
            return False
    if job.output.format == "parquet":
        return Path(out).is_file()
    return False  # bigWig: known only once the task names are


def _open_writer(
    job: ISMJob, built: BuiltISM, record: dict[str, Any], span: tuple[int, int], sharded: bool
) -> Any:
    from grelu_cli.io.formats.registry import WriterSpec, open_writer

    genome = built.genome
    sizes = [(ch, genome.sizes[ch]) for ch in genome.chroms] if genome is not None else None
    spec = WriterSpec(
        job.output.output,
        built.tasks,
        metadata=record,
        overlap=job.output.overlap,
        chrom_sizes=sizes,
        overwrite=job.output.overwrite,
        windows=built.source,
        dtype=job.output.dtype,
        window_range=span,
        sharded=sharded,
        resume=job.run.resume,
        kind="ism",
    )
    return open_writer(job.output.format, spec)


def _counts_at_end(built: BuiltISM) -> Any:
    def at_end(writer: Any) -> None:
        if hasattr(writer, "metadata"):
            writer.metadata["counts"] = {
                **built.source.counts(),
                "mutants": built.producer.mutants_done,
            }

    return at_end


def _run_dense(built: BuiltISM, writer: Any, observer: RunObserver) -> None:
    """A zarr store: only the regions its ``todo()`` lists (``resume`` needs no parts)."""
    with writer:
        todo = writer.todo()
        lo, hi = writer.lo, writer.hi
        with observer.progress(hi - lo, what="regions") as progress:
            done = (hi - lo) - sum(b - a for a, b in todo)
            if done and not writer.already_complete:
                observer.info(f"resuming {writer.path}: {done:,} of {hi - lo:,} regions written")
            if done:
                progress.skip(done)
            for a, b in todo:
                for block in built.blocks(a, b):
                    writer.write(block)
                    progress.advance(1, bp=built.seq_len)
        writer.metadata["counts"] = {
            **built.source.counts(),
            "mutants": built.producer.mutants_done,
        }


def _run_chunked(
    job: ISMJob,
    built: BuiltISM,
    writer: Any,
    fp: str,
    span: tuple[int, int],
    observer: RunObserver,
) -> None:
    from grelu_cli.run.chunked import ChunkPlan, run_chunked
    from grelu_cli.run.identity import compact_inputs
    from grelu_cli.run.ism_work import ISMParts

    plan = ChunkPlan(
        Path(built.finals[0]),
        fp,
        compact_inputs(built.inputs),
        job.run.shard,
        span,
        job.run.chunk_size,
        1,
        built.target,
        built.tasks,
        job.unit,
        job.chunk_option,
    )
    run_chunked(plan, ISMParts(built, writer, fp), observer, resume=True)


def dry_run_ism(job: ISMJob) -> DryRunReport:
    """Check the input against the genome and model; mutate nothing, write nothing."""
    from grelu_cli.core.shards import parse_shard, shard_range

    check_ism_job(job)
    built = build_ism(job, None)
    n = built.source.count()
    lines = [
        f"model: {built.loaded.name} ({built.loaded.n_tasks} tasks, {built.seq_len:,} bp in)",
        f"{n:,} regions; up to {built.positions:,} positions x 3 mutants each; "
        f"{len(built.tasks):,} tasks; ISM method {built.method}"
        + (f" ({built.why_not_fast})" if built.why_not_fast else ""),
    ]
    if job.run.shard is not None:
        shard = parse_shard(job.run.shard)
        lo, hi = shard_range(n, shard, 1)
        lines.append(f"shard {shard}: regions {lo:,}-{hi:,} ({hi - lo:,} of {n:,})")
    ok = True
    inp = getattr(built.source, "inp", None)
    if inp is not None:
        lines.insert(1, inp.summary())
        lines += inp.report.lines()
        ok = inp.report.ok
    if ok:
        lines.append("ok: input is valid")
    return DryRunReport(lines, ok)
