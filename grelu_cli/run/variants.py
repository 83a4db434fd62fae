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
from grelu_cli.errors import GreluCliError, InputDataError, UsageError
from grelu_cli.run.config import (
    InputConfig,
    ModelConfig,
    OutputConfig,
    PredictConfig,
    PredictJob,
    RunConfig,
    absolute_output,
)
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
            run=RunConfig(device=self.device, threads=self.threads),
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
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The one-line human summary."""
        c = self.counts
        skipped = ", ".join(f"{k} {v:,}" for k, v in c["skipped_by_reason"].items() if v)
        return (
            f"scored {c['scored']:,} of {c['alleles']:,} alleles ({c['records']:,} records, "
            f"{c['windows']:,} windows; skipped: {skipped or 'none'}) in {self.seconds:.1f} s "
            f"-> {', '.join(self.files)}"
        )

    def fields(self) -> dict[str, Any]:
        """The machine-readable summary (JSON log event, API users)."""
        return {"output": self.output, "files": self.files, **self.counts}


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


def _check_output(job: VariantJob) -> str:
    from grelu_cli.io.atomic import check_output

    if not job.output:
        raise UsageError("no output given", fix="pass -o OUT.parquet")
    if not job.output.lower().endswith((".parquet", ".pq")):
        raise UsageError(
            f"-o {job.output}: grelu variants writes parquet (zarr is not supported yet)",
            fix="end the output in .parquet",
        )
    check_output(job.output, overwrite=job.overwrite)
    return job.output


def run_variants(job: VariantJob, observer: RunObserver | None = None) -> VariantSummary:
    """Score every allele of ``job.vcf`` and write ``job.output`` (atomically).

    Progress is counted in input records (the input is counted first, only when the
    observer shows progress: ``observer.shows_progress``). Raises
    :mod:`grelu_cli.errors` exceptions for bad options (2), bad input (3), missing files (4).
    """
    from grelu_cli.genome.genome import Genome
    from grelu_cli.io.variant_parquet import VariantParquetWriter
    from grelu_cli.predict.background import BackgroundWriter
    from grelu_cli.predict.transform import activation_name
    from grelu_cli.run.job import sigterm_as_interrupt
    from grelu_cli.variants.pipeline import ResultsWriter, plan_variants, score_variants
    from grelu_cli.variants.plan import AllelePlanner, VariantCounts

    obs = observer if observer is not None else SilentObserver()
    warnings: list[str] = []
    t0 = time.perf_counter()
    check_job(job)
    output = _check_output(job)
    source = open_input(job)
    genome = Genome(job.genome, job.chrom_alias)
    obs.start("variants", model=job.model, vcf=job.vcf, output=output)
    loaded, seq_len = _load(job, obs)
    scores = parse_scores(job.scores, activation_name(loaded.output_activation))
    predictor = build_predictor(job, loaded, seq_len)
    counts = VariantCounts()
    planner = AllelePlanner(
        genome, seq_len, edge=job.edge, ref_mismatch=job.ref_mismatch, counts=counts
    )
    metadata = _provenance(job, loaded, genome, source, predictor, seq_len, scores)
    tasks = predictor.task_names
    total = source.count() if getattr(obs, "shows_progress", False) else 0
    inner = VariantParquetWriter(
        output, tasks, scores, layout=job.layout, metadata=metadata, overwrite=job.overwrite
    )
    # The writer runs on its own thread (its own malloc arena): with freed memory kept for
    # the next batch (keep_memory), row buffers built between batches on this thread would
    # strand activation-sized holes and the heap would grow with every batch.
    with (
        sigterm_as_interrupt(),
        BackgroundWriter(ResultsWriter(inner)) as writer,
        obs.progress(total, what="records") as progress,
    ):
        planned = plan_variants(source, planner, job.max_indel_len)
        done = 0
        for res in score_variants(
            planned,
            predictor,
            genome,
            scores,
            aggregate=job.aggregate,
            pseudocount=job.pseudocount,
            counts=counts,
        ):
            writer.write(res)
            progress.advance(counts.records - done)
            done = counts.records
        writer.flush()
        inner.metadata["counts"] = counts.as_dict()
    c = counts.as_dict()
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
        tasks=list(tasks),
        model=loaded.name,
        seq_len=seq_len,
        seconds=time.perf_counter() - t0,
        warnings=warnings,
    )


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
