"""One ``grelu variants`` job: variants + genome + model + options -> a parquet of scores.

:class:`VariantJob` holds every option (named like the CLI's, ``--ref-mismatch`` ->
``ref_mismatch``); :func:`run_variants` runs it, reporting through a
:class:`~grelu_cli.run.observer.RunObserver` like :func:`grelu_cli.run.job.run_job`, and
returns a :class:`VariantSummary`; :func:`dry_run_variants` checks the whole input. The model
and the predictor are built by :mod:`grelu_cli.run.build` from the job's
:meth:`VariantJob.predict_job` view, so ``grelu predict`` and ``grelu variants`` load models
and predict the same way. The steps themselves are :mod:`grelu_cli.variants.pipeline`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from grelu_cli.core.choices import CHROM_ALIASES, EDGES, LAYOUTS, PRECISIONS
from grelu_cli.errors import GreluCliError, InputDataError, MissingResourceError, UsageError
from grelu_cli.run.config import (
    InputConfig,
    ModelConfig,
    OutputConfig,
    PredictConfig,
    PredictJob,
    RunConfig,
    absolute_output,
)
from grelu_cli.run.limits import check_options, check_window
from grelu_cli.run.observer import RunObserver, SilentObserver
from grelu_cli.variants.alleles import DEFAULT_MAX_INDEL_LEN, Skipped
from grelu_cli.variants.scores import AGGREGATES, DEFAULT_SCORES, parse_scores

REF_MISMATCH = ("skip", "warn", "error", "swap")


@dataclass(frozen=True)
class VariantJob:
    """Every ``grelu variants`` option (CLI.md "variants")."""

    model: str
    vcf: str
    genome: str
    output: str | None = None
    # Variants
    scores: tuple[str, ...] = DEFAULT_SCORES
    ref_mismatch: str = "skip"
    max_indel_len: int = DEFAULT_MAX_INDEL_LEN
    pseudocount: float = 0.0
    region: tuple[str, ...] = ()
    chrom: tuple[str, ...] = ()
    chrom_alias: str = "none"
    edge: str = "pad"
    # Model
    seq_len: int | None = None
    replicate: int | None = None
    species: str | None = None
    trust_checkpoint: bool = False
    # Prediction
    bins: int | None = None
    aggregate: str = "mean"
    rc: bool = False
    shifts: int = 0
    tasks: tuple[str, ...] | None = None
    tasks_file: str | None = None
    tasks_query: str | None = None
    untransform: bool = False
    precision: str = "fp32"
    batch_size: str = "auto"
    # Output and run
    layout: str = "long"
    overwrite: bool = False
    device: str = "auto"
    threads: int | None = None
    shard: str | None = None
    resume: bool = False
    chunk_records: int = 4096

    def options(self) -> dict[str, Any]:
        """Every option by its CLI name (the provenance records these)."""
        out = {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in fields(self)
        }
        if self.output is not None:
            out["output"] = absolute_output(self.output)
        return out

    def predict_job(self) -> PredictJob:
        """The prediction part of this job as a :class:`PredictJob`, for
        :mod:`grelu_cli.run.build`. No ``aggregate``: bins are reduced after the ref/alt
        profiles are averaged over augmentations."""
        return PredictJob(
            model=ModelConfig(
                model=self.model,
                replicate=self.replicate,
                species=self.species,
                trust_checkpoint=self.trust_checkpoint,
                seq_len=self.seq_len,
            ),
            input=InputConfig(genome=self.genome, chrom_alias=self.chrom_alias, edge=self.edge),
            output=OutputConfig(output=self.output or "", overwrite=self.overwrite),
            predict=PredictConfig(
                tasks=self.tasks,
                tasks_file=self.tasks_file,
                tasks_query=self.tasks_query,
                bins=self.bins,
                rc=self.rc,
                shifts=self.shifts,
                untransform=self.untransform,
                precision=self.precision,
                batch_size=self.batch_size,
            ),
            run=RunConfig(device=self.device, threads=self.threads, resume=self.resume),
        )


@dataclass(frozen=True)
class VariantSummary:
    """What a finished variants run did: ``counts`` (records, alleles, scored, windows,
    skipped_by_reason, ref_status), the tasks, the files written, wall seconds, warnings."""

    output: str
    files: list[str]
    counts: dict[str, Any]
    tasks: list[str]
    model: str
    seq_len: int
    seconds: float = 0.0
    shard: str | None = None
    record_range: tuple[int, int] = (0, 0)
    already_complete: bool = False
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The one-line human summary."""
        if self.already_complete:
            return f"{', '.join(self.files)}: already complete (--resume); nothing to do"
        c = self.counts
        lo, hi = self.record_range
        part = f"shard {self.shard}: records {lo:,}-{hi:,}; " if self.shard is not None else ""
        skipped = ", ".join(f"{k} {v:,}" for k, v in c["skipped_by_reason"].items() if v)
        return (
            f"scored {c['scored']:,} of {c['alleles']:,} alleles ({part}{c['records']:,} records, "
            f"{c['windows']:,} windows; skipped: {skipped or 'none'}) in {self.seconds:.1f} s "
            f"-> {', '.join(self.files)}"
        )

    def fields(self) -> dict[str, Any]:
        """The machine-readable summary (JSON log event, API users)."""
        if self.already_complete:
            return {"output": self.output, "files": self.files, "already_complete": True}
        return {"output": self.output, "files": self.files, "shard": self.shard, **self.counts}


def _choice(value: str | None, allowed: tuple[str, ...], option: str) -> None:
    if value is not None and value not in allowed:
        raise UsageError(
            f"{option} {value!r} is not allowed", fix=f"use one of {', '.join(allowed)}"
        )


def check_job(job: VariantJob) -> None:
    """Cheap option checks, before anything is read or loaded (UsageError)."""
    for value, allowed, name in (
        (job.chrom_alias, CHROM_ALIASES, "--chrom-alias"),
        (job.edge, EDGES, "--edge"),
        (job.ref_mismatch, REF_MISMATCH, "--ref-mismatch"),
        (job.layout, LAYOUTS, "--layout"),
        (job.precision, PRECISIONS, "--precision"),
        (job.aggregate, AGGREGATES, "--aggregate"),
    ):
        _choice(value, allowed, name)
    parse_scores(job.scores)
    if job.max_indel_len < 0:
        raise UsageError(f"--max-indel-len {job.max_indel_len} is negative", fix="use 0 or more")
    if job.pseudocount < 0:
        raise UsageError(f"--pseudocount {job.pseudocount} is negative", fix="use 0 or more")
    if job.bins is not None and job.bins < 1:
        raise UsageError(f"--bins {job.bins} must be at least 1", fix="pass --bins K, K >= 1")
    if job.shifts < 0:
        raise UsageError(f"--shifts {job.shifts} must be 0 or more", fix="use --shifts 0..N")
    if job.seq_len is not None and job.seq_len < 1:
        raise UsageError(f"--seq-len {job.seq_len} must be positive", fix="pass --seq-len N")
    if job.resume and job.overwrite:
        raise UsageError(
            "--resume and --overwrite were both given",
            fix="--resume continues or keeps an output, --overwrite replaces it: pick one",
        )
    if job.chunk_records < 1:
        raise UsageError(f"--chunk-records {job.chunk_records} must be at least 1", fix="e.g. 4096")
    check_options(job.options())  # the numeric ranges of run/limits.py
    if job.shard is not None:
        from grelu_cli.io.shards import parse_shard

        parse_shard(job.shard)
    if job.output:
        _check_output(job)


def open_input(job: VariantJob) -> Any:
    """The :class:`~grelu_cli.io.vcf.VariantSource` with ``--region``/``--chrom`` applied."""
    from grelu_cli.io.vcf import RegionFilter, check_region_options, open_variants

    regions = check_region_options(job.region, job.chrom)
    where = RegionFilter(regions, tuple(job.chrom), job.chrom_alias)
    return open_variants(job.vcf, where)


def _load(job: VariantJob, observer: RunObserver) -> tuple[Any, int]:
    """The model (through :func:`grelu_cli.run.build.load`) and its input length."""
    from grelu_cli.run.build import load

    loaded = load(job.predict_job(), show_downloads=observer.show_downloads)
    seq_len = job.seq_len if job.seq_len is not None else loaded.seq_len
    if seq_len is None:
        raise UsageError(
            f"model {loaded.name} does not record its input length", fix="pass --seq-len N"
        )
    check_window(int(seq_len), job.shifts)  # --shifts below the model's window length
    return loaded, int(seq_len)


def build_predictor(job: VariantJob, loaded: Any, seq_len: int) -> Any:
    """The job's :class:`~grelu_cli.predict.loop.Predictor`, built by
    :func:`grelu_cli.run.build.make_predictor`."""
    from grelu_cli.predict.tasks import resolve_tasks
    from grelu_cli.run.build import make_predictor

    pjob = job.predict_job()
    selected = resolve_tasks(
        loaded.tasks,
        names=list(job.tasks) if job.tasks is not None else None,
        file=job.tasks_file,
        query=job.tasks_query,
        model=job.model,
    )
    return make_predictor(pjob, loaded, seq_len, selected, job.device)


def output_format(output: str) -> str:
    """``parquet`` or ``zarr``, from the output's name (the writer registry's suffixes);
    UsageError for anything else."""
    from grelu_cli.io.writers import has_suffix

    for fmt in ("parquet", "zarr"):
        if has_suffix(output, fmt):
            return fmt
    raise UsageError(
        f"-o {output}: grelu variants writes parquet or zarr",
        fix="end the output in .parquet (or .zarr for a dense (variant, task) store)",
    )


def _check_output(job: VariantJob) -> str:
    if not job.output:
        raise UsageError("no output given", fix="pass -o OUT.parquet")
    if output_format(job.output) == "zarr" and job.layout != "long":
        raise UsageError(
            f"--layout {job.layout} applies to parquet; {job.output} is a dense zarr store",
            fix="drop --layout, or write .parquet",
        )
    return job.output


def _finished(output: str) -> bool:
    """Whether ``output`` is a finished output of a variants run (``--resume`` leaves it)."""
    from pathlib import Path

    if output_format(output) == "parquet":
        return Path(output).is_file()
    from grelu_cli.io.zarr.read import read_record

    try:
        record = read_record(output)
    except (InputDataError, MissingResourceError, OSError):
        return False
    return record.get("command") == "variants" and record.get("complete") is True


def run_variants(job: VariantJob, observer: RunObserver | None = None) -> VariantSummary:
    """Score every allele of ``job.vcf`` (or the shard's records) and write ``job.output``.

    Records are predicted in groups of :attr:`~grelu_cli.variants.scorer.VariantScorer`'s
    ``group_records`` counted from the start of the input; ``shard`` (``i/N``) takes a
    contiguous run of whole groups (sizes differing by at most one group) and ``resume``
    commits chunks of whole groups as part files (:class:`~grelu_cli.io.resume.PartStore`,
    as ``grelu predict --resume``), so both give the batches, and the numbers, of one
    uninterrupted run. Progress counts input records (counted first when the observer shows
    progress, or for a shard or resume). Raises :mod:`grelu_cli.errors` exceptions for bad
    options (2), bad input (3), missing files (4).
    """

    from grelu_cli.genome.genome import Genome
    from grelu_cli.io.atomic import check_output
    from grelu_cli.io.shards import parse_shard, shard_range
    from grelu_cli.io.variant_zarr import check_variant_store_output
    from grelu_cli.predict.transform import activation_name
    from grelu_cli.run.job import sigterm_as_interrupt
    from grelu_cli.variants.pipeline import plan_variants
    from grelu_cli.variants.plan import AllelePlanner, VariantCounts
    from grelu_cli.variants.scorer import group_size

    obs = observer if observer is not None else SilentObserver()
    warnings: list[str] = []
    t0 = time.perf_counter()
    check_job(job)
    output = _check_output(job)
    shard = parse_shard(job.shard) if job.shard is not None else None
    fmt = output_format(output)
    if job.resume and _finished(output):
        return VariantSummary(output, [output], {}, [], job.model, 0, already_complete=True)
    if fmt == "zarr":
        check_variant_store_output(output, overwrite=job.overwrite)
    else:
        check_output(output, overwrite=job.overwrite or job.resume)
    source = open_input(job)
    genome = Genome(job.genome, job.chrom_alias)
    obs.start("variants", model=job.model, vcf=job.vcf, output=output, shard=job.shard)
    loaded, seq_len = _load(job, obs)
    scores = parse_scores(job.scores, activation_name(loaded.output_activation))
    predictor = build_predictor(job, loaded, seq_len)
    tasks = list(predictor.task_names)
    batch = max(2, int(predictor.sizer.size))
    group = group_size(batch)
    split = shard is not None or job.resume
    total = source.count() if split or getattr(obs, "shows_progress", False) else None
    lo, hi = 0, total
    if shard is not None:  # whole groups per shard, as grelu predict's whole batches
        assert total is not None
        lo, hi = shard_range(total, shard, group)
    target = {"format": fmt, "layout": job.layout, "group_records": group,
              "batch_windows": batch}  # fmt: skip
    record = _provenance(job, loaded, genome, source, predictor, seq_len, scores)
    record["fingerprint"] = _fingerprint(job, loaded, genome, tasks, target) if split else None
    record["group_records"] = group
    record["shard"] = None
    if shard is not None:
        record["shard"] = {"index": shard.index, "count": shard.count, "records": hi - lo,
                           "total_windows": total}  # fmt: skip
    counts = VariantCounts()
    planner = AllelePlanner(
        genome, seq_len, edge=job.edge, ref_mismatch=job.ref_mismatch, counts=counts
    )
    records = source if shard is None or total == 0 else _slice(source, lo, hi)
    planned = plan_variants(records, planner, job.max_indel_len, allow_empty=shard is not None)
    scoring = _Scoring(job, predictor, genome, scores, counts, group, tasks, output, record)
    with sigterm_as_interrupt():
        if job.resume:
            assert hi is not None
            windows = scoring.chunked(planned, lo, hi, shard, obs)
        else:
            windows = scoring.plain(planned, lo, hi, obs)
    c = counts.as_dict()
    c["windows"] = windows
    bad = c["ref_status"]["mismatch"] + c["ref_status"]["swapped"]
    if bad:
        message = (
            f"{c['ref_status']['mismatch']:,} alleles with REF not matching the genome and "
            f"{c['ref_status']['swapped']:,} with REF/ALT swapped (--ref-mismatch "
            f"{job.ref_mismatch})"
        )
        warnings.append(message)
        obs.warn(message, count=bad)
    return VariantSummary(
        output=output,
        files=[output],
        counts=c,
        tasks=tasks,
        model=loaded.name,
        seq_len=seq_len,
        seconds=time.perf_counter() - t0,
        shard=str(shard) if shard is not None else None,
        record_range=(lo, lo + counts.records),
        warnings=warnings,
    )


def _slice(source: Any, lo: int, hi: int) -> Any:
    """Records ``[lo, hi)`` of ``source`` (by input index)."""
    for rec in source:
        if rec.index >= hi:
            return
        if rec.index >= lo:
            yield rec


class _Scoring:
    """Planned alleles -> the output, in one pass (:meth:`plain`) or chunk by chunk into
    resumable parts (:meth:`chunked`). Both return the windows predicted in all."""

    def __init__(
        self,
        job: VariantJob,
        predictor: Any,
        genome: Any,
        scores: tuple[str, ...],
        counts: Any,
        group: int,
        tasks: list[str],
        output: str,
        record: dict[str, Any],
    ) -> None:
        self.job, self.predictor, self.genome, self.scores = job, predictor, genome, scores
        self.counts, self.group, self.tasks = counts, group, tasks
        self.output, self.record = output, record

    def results(self, planned: Any) -> Any:
        from grelu_cli.variants.pipeline import score_variants

        return score_variants(
            planned,
            self.predictor,
            self.genome,
            self.scores,
            aggregate=self.job.aggregate,
            pseudocount=self.job.pseudocount,
            counts=self.counts,
            group_records=self.group,
        )

    def writer(self, path: Any, metadata: dict[str, Any], part: bool = False) -> Any:
        """The output's writer, or (``part``) a resume part's: always parquet, long layout
        for a zarr output (the store takes long rows back, see ``write_table``)."""
        from grelu_cli.io.variant_parquet import VariantParquetWriter

        zarr_out = output_format(self.output) == "zarr"
        if zarr_out and not part:
            from grelu_cli.io.variant_zarr import VariantZarrWriter

            return VariantZarrWriter(path, self.tasks, self.scores, metadata=metadata,
                                     overwrite=self.job.overwrite)  # fmt: skip
        return VariantParquetWriter(
            path,
            self.tasks,
            self.scores,
            layout="long" if zarr_out else self.job.layout,
            metadata=metadata,
            overwrite=part or self.job.overwrite,
            compression="lz4" if part else "zstd",
        )

    def plain(self, planned: Any, lo: int, hi: int | None, obs: RunObserver) -> int:
        from pathlib import Path

        from grelu_cli.predict.background import BackgroundWriter
        from grelu_cli.run.chunked import discard_partial_run
        from grelu_cli.variants.pipeline import ResultsWriter

        discard_partial_run(Path(self.output))
        inner = self.writer(self.output, self.record)
        # The writer runs on its own thread (its own malloc arena): with freed memory kept
        # for the next batch (keep_memory), row buffers built between batches on this thread
        # would strand activation-sized holes and the heap would grow with every batch.
        with (
            BackgroundWriter(ResultsWriter(inner)) as writer,
            obs.progress(hi - lo if hi is not None else 0, what="records") as progress,
        ):
            done = 0
            for res in self.results(planned):
                writer.write(res)
                progress.advance(self.counts.records - done)
                done = self.counts.records
            writer.flush()
            progress.advance(self.counts.records - done)
            inner.metadata["counts"] = {**self.counts.as_dict()}
            inner.metadata["window_range"] = [lo, lo + self.counts.records]
        return self.counts.windows

    def chunked(self, planned: Any, lo: int, hi: int, shard: Any, obs: RunObserver) -> int:
        """Chunks of whole groups (``--chunk-records`` rounded up to a multiple of the
        group) are written as parts and committed; ``resume`` skips committed ones (their
        records are still read and checked, so the counts cover the whole range)."""
        from pathlib import Path

        import pyarrow.parquet as pq

        from grelu_cli.io.merge import read_record
        from grelu_cli.io.resume import PartStore
        from grelu_cli.io.shards import chunk_ranges
        from grelu_cli.run.chunked import bad_parts

        size = -(-self.job.chunk_records // self.group) * self.group
        chunks = chunk_ranges(lo, hi, self.job.chunk_records, self.group)  # chunks of `size`
        fp = self.record["fingerprint"]
        identity = {
            "fingerprint": fp,
            "shard": str(shard) if shard is not None else None,
            "window_range": [lo, hi],
            "chunk_windows": size,
            "batch_size": self.group,
            "target": {"format": output_format(self.output), "layout": self.job.layout},
            "tasks": self.tasks,
        }
        final = Path(self.output)
        store = PartStore(final, identity, len(chunks), resume=True)
        done = store.open()
        bad = bad_parts(store)
        if bad:
            store.forget(bad)
            obs.warn(
                f"resuming {final}: {len(bad)} committed chunk(s) could not be read back "
                f"(chunks {', '.join(map(str, bad))}); predicting them again",
                count=len(bad),
            )
            done -= len(bad)
        if done:
            obs.info(f"resuming {final}: {done} of {len(chunks)} chunks already done")
        todo = store.todo()
        wanted = set(todo)

        def chunk_of(index: int) -> int:
            return (index - lo) // size

        keep = (p for p in planned if chunk_of(p.allele.record.index) in wanted)
        with obs.progress(hi - lo, what="records") as progress:
            progress.skip(sum(b - a for k, (a, b) in enumerate(chunks) if k in store.done))
            state: dict[str, Any] = {"k": None, "writer": None, "windows": 0}

            def commit_until(k_end: int) -> None:
                """Close (or write empty) and commit every todo chunk before ``k_end``."""
                while todo and todo[0] < k_end:
                    k = todo.pop(0)
                    a, b = chunks[k]
                    writer = state["writer"] if state["k"] == k else None
                    if writer is None:
                        writer = self.part(store.part(k), k, a, b, fp)
                        writer.__enter__()
                    writer.metadata["windows"] = state["windows"] if state["k"] == k else 0
                    writer.__exit__(None, None, None)
                    store.commit(k, writer.rows_written)
                    state.update(k=None, writer=None, windows=0)
                    progress.advance(b - a)

            try:
                for res in self.results(keep):
                    k = chunk_of(res.alleles[0].allele.record.index)
                    commit_until(k)
                    if state["k"] != k:
                        a, b = chunks[k]
                        state.update(k=k, writer=self.part(store.part(k), k, a, b, fp))
                        state["writer"].__enter__()
                    state["writer"].write_results(res)
                    state["windows"] += res.windows
                commit_until(len(chunks))
            except BaseException as err:
                if state["writer"] is not None:
                    state["writer"].__exit__(type(err), err, None)
                raise
        windows = 0
        with self.writer(self.output, self.record) as writer:
            for k in range(len(chunks)):
                windows += int(read_record(store.part(k)).get("windows", 0))
                writer.write_table(pq.read_table(store.part(k)))
            writer.metadata["counts"] = {**self.counts.as_dict(), "windows": windows}
            writer.metadata["window_range"] = [lo, hi]
        store.discard()
        return windows

    def part(self, path: Any, k: int, a: int, b: int, fp: str | None) -> Any:

        meta = {"chunk": k, "window_range": [a, b], "fingerprint": fp}
        return _PartWriter(self.writer(path, meta, part=True))


class _PartWriter:
    """A part file's writer taking :class:`~grelu_cli.variants.scorer.AlleleResults`."""

    def __init__(self, inner: Any) -> None:
        from grelu_cli.variants.pipeline import ResultsWriter

        self.inner = inner
        self.results = ResultsWriter(inner)
        self.metadata = inner.metadata

    def __enter__(self) -> _PartWriter:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.inner.__exit__(*exc)

    @property
    def rows_written(self) -> int:
        return int(self.inner.rows_written)

    def write_results(self, res: Any) -> None:
        self.results.write(res)


def _fingerprint(
    job: VariantJob, loaded: Any, genome: Any, tasks: list[str], target: dict[str, Any]
) -> str:
    """The run fingerprint shards and resumed runs must share: weights, the variant file's
    contents (not its path), the genome index, tasks, value-deciding options, the target."""
    from grelu_cli.io.provenance import sha256_file
    from grelu_cli.io.shards import fingerprint

    options = job.options()
    for run_only in ("vcf", "chunk_records"):
        options.pop(run_only, None)
    return fingerprint(
        weights_sha256=loaded.sha256,
        input_digest=sha256_file(job.vcf),
        genome_index_sha256=genome.index_sha256(),
        tasks=tasks,
        options=options,
        target=target,
    )


def merge_variant_shards(shards: list[tuple[Any, dict[str, Any]]], output: str,
                         overwrite: bool = False) -> list[str]:  # fmt: skip
    """Write the shards of one ``grelu variants --shard`` run (checked and ordered by
    :func:`grelu_cli.io.merge.order_shards`) as one output: the unsharded run's rows (and,
    for parquet, row groups); its counts are the shards' summed. Parquet shards merge into
    parquet (or, long layout, a zarr store), zarr shards into a zarr store (or long parquet).
    """
    import pyarrow.parquet as pq

    from grelu_cli.io.merge import merged_record
    from grelu_cli.io.variant_parquet import VariantParquetWriter
    from grelu_cli.io.variant_zarr import VariantZarrWriter, read_variant_store

    fmt = output_format(output)
    first = shards[0][1]
    out = first["output"]
    record = merged_record(shards, output)
    record.pop("complete", None)
    record["counts"] = _sum_counts([r.get("counts", {}) for _, r in shards])
    layout = out.get("layout", "long")
    if fmt == "zarr" and out["format"] == "parquet" and layout != "long":
        raise UsageError(
            f"the shards are wide-layout parquet; a zarr store is made from long ones only "
            f"(-o {output})",
            fix="pass -o merged.parquet",
        )
    writer: Any
    if fmt == "zarr":
        writer = VariantZarrWriter(output, out["tasks"], out["values"][2:], metadata=record,
                                   overwrite=overwrite)  # fmt: skip
    else:
        writer = VariantParquetWriter(output, out["tasks"], out["values"][2:],
                                      layout="long" if layout == "dense" else layout,
                                      metadata=record, overwrite=overwrite)  # fmt: skip
    with writer:
        for path, rec in shards:
            if rec["output"]["format"] == "zarr":
                for columns, values in read_variant_store(path):
                    writer.write(columns, values["ref_value"], values["alt_value"], values)
            else:
                writer.write_table(pq.read_table(path))
    return [str(writer.path)]


def _sum_counts(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of several runs added key by key (nested dicts too)."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict):
                out[key] = _sum_counts([out.get(key, {}), value])
            else:
                out[key] = out.get(key, 0) + value
    return out


@dataclass(frozen=True)
class VariantCheck:
    """What ``--dry-run`` reports: ``lines`` (printed), ``counts``, ``n_errors``."""

    lines: list[str]
    counts: dict[str, Any]
    n_errors: int

    @property
    def ok(self) -> bool:
        """No errors were found."""
        return self.n_errors == 0


def dry_run_variants(job: VariantJob, limit: int = 50) -> VariantCheck:
    """Check the whole input without predicting.

    Lines list every bad record (one line each, up to ``limit``) and every allele skipped
    for a REF mismatch; a reader-level error (a file htslib cannot go on reading) ends the
    check. The model is loaded for its input length.
    """
    from grelu_cli.genome.genome import Genome
    from grelu_cli.variants.pipeline import plan_variants
    from grelu_cli.variants.plan import AllelePlanner, VariantCounts

    check_job(job)
    source = open_input(job)
    genome = Genome(job.genome, job.chrom_alias)
    loaded, seq_len = _load(job, SilentObserver())
    counts = VariantCounts()
    planner = AllelePlanner(
        genome, seq_len, edge=job.edge, ref_mismatch=job.ref_mismatch, counts=counts
    )
    lines: list[str] = [
        f"model: {loaded.name} ({loaded.model_type}, {loaded.n_tasks} tasks, {seq_len:,} bp in)",
        f"variants: {job.vcf} ({source.kind}{', indexed' if source.indexed else ''})",
    ]
    problems: list[str] = []
    mismatches: list[str] = []

    def note_skip(s: Skipped) -> None:
        if s.reason == "ref_mismatch" and len(mismatches) < limit:
            mismatches.append(
                f"skip: {s.record.where}: REF {s.record.ref} ALT {s.alt} at "
                f"{s.record.chrom}:{s.record.pos} does not match {genome.name} (ref_mismatch)"
            )

    n_errors = 0
    it = iter(source)
    while True:
        try:
            rec = next(it)
        except StopIteration:
            break
        except GreluCliError as err:
            n_errors += 1
            problems.append(f"error: {err}")
            break
        try:
            for _ in plan_variants([rec], planner, job.max_indel_len, note_skip):
                pass
        except InputDataError as err:
            n_errors += 1
            if len(problems) < limit:
                problems.append(f"error: {err}")
    if counts.records == 0 and n_errors == 0:
        n_errors += 1
        problems.append(f"error: {job.vcf} has no variant records (check the file)")
    c = counts.as_dict()
    skipped = ", ".join(f"{k} {v}" for k, v in c["skipped_by_reason"].items() if v) or "none"
    lines.append(
        f"records: {c['records']:,}, alleles: {c['alleles']:,}, to score: {c['scored']:,}; "
        f"skipped: {skipped}"
    )
    lines.append("ref_status: " + ", ".join(f"{k} {v:,}" for k, v in c["ref_status"].items()))
    lines += problems + mismatches
    if n_errors > len(problems):
        lines.append(f"... and {n_errors - len(problems):,} more errors")
    lines.append("ok: input is valid" if n_errors == 0 else f"{n_errors:,} errors")
    return VariantCheck(lines, c, n_errors)


def _provenance(
    job: VariantJob,
    loaded: Any,
    genome: Any,
    source: Any,
    predictor: Any,
    seq_len: int,
    scores: tuple[str, ...],
) -> dict[str, Any]:
    import torch

    from grelu_cli.io.provenance import build_provenance

    return build_provenance(
        model=loaded.name,
        model_path=loaded.path,
        weights_sha256=loaded.sha256,
        genome=genome.path,
        options=job.options(),
        counts={},
        tasks=predictor.task_names,
        extra={
            "command": "variants",
            "model_info": loaded.provenance(),
            "input": source.provenance(),
            "seq_len": seq_len,
            "geometry": asdict(loaded.geometry),
            "torch": str(torch.__version__),
            "variants": {
                "scores": list(scores),
                "aggregate": job.aggregate,
                "pseudocount": job.pseudocount,
                "ref_mismatch": job.ref_mismatch,
                "max_indel_len": job.max_indel_len,
                "window": "start = pos - ceil(L/2); first REF base at offset ceil(L/2) - 1",
                "edge": job.edge,
            },
        },
    )
