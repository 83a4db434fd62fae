"""One ``grelu variants`` job: variants + genome + model + options -> a parquet of scores.

The CLI parses options into a :class:`VariantRequest` and calls :func:`run_variants` (or
:func:`dry_run_variants`); progress and warnings come back through callbacks, so this module
never prints. The pieces are usable on their own:

* :func:`plan_variants`: records -> :class:`~grelu_cli.variants.plan.PlannedAllele` stream
  (alleles split, skipped, checked against the genome, windows placed), counting as it goes;
* :func:`score_variants`: that stream -> :class:`~grelu_cli.variants.scorer.AlleleResults`
  through a :class:`~grelu_cli.predict.loop.Predictor`;
* :func:`result_columns`: the per-allele output columns of one result chunk.

Phase-2 hook (shards, resume, zarr): the planned-allele stream is in input order and each
result chunk is independent of the others except for reference-window reuse, so a shard is a
contiguous slice of records and chunks can be committed as parts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from grelu_cli.errors import GreluCliError, InputDataError, UsageError
from grelu_cli.genome.genome import Genome
from grelu_cli.io.vcf import RegionFilter, VariantRecord, VariantSource, open_variants
from grelu_cli.variants.alleles import DEFAULT_MAX_INDEL_LEN, Skipped, split_alleles
from grelu_cli.variants.plan import AllelePlanner, PlannedAllele, VariantCounts
from grelu_cli.variants.scorer import AlleleResults, VariantScorer
from grelu_cli.variants.scores import AGGREGATES, DEFAULT_SCORES, parse_scores
from grelu_cli.variants.windows import SequenceReader


@dataclass(frozen=True)
class VariantRequest:
    """Every ``grelu variants`` option (CLI.md "variants"), checked for type by the CLI."""

    model: str
    vcf: str
    genome: str
    output: str | None = None
    scores: tuple[str, ...] = DEFAULT_SCORES
    ref_mismatch: str = "skip"
    max_indel_len: int = DEFAULT_MAX_INDEL_LEN
    pseudocount: float = 0.0
    bins: int | None = None
    aggregate: str = "mean"
    rc: bool = False
    shifts: int = 0
    task_names: list[str] | None = None
    tasks_file: str | None = None
    tasks_query: str | None = None
    untransform: bool = False
    precision: str = "fp32"
    device: str = "auto"
    batch_size: str = "auto"
    threads: int | None = None
    chrom_alias: str = "none"
    edge: str = "pad"
    regions: tuple[str, ...] = ()
    chroms: tuple[str, ...] = ()
    layout: str = "long"
    overwrite: bool = False
    seq_len: int | None = None
    replicate: int | None = None
    species: str | None = None
    trust_checkpoint: bool = False
    progress_download: bool = False
    #: every option as given (provenance)
    options: dict[str, Any] = field(default_factory=dict)


def check_request(req: VariantRequest) -> None:
    """Cheap option checks, before anything is read or loaded (UsageError)."""
    parse_scores(req.scores)
    if req.aggregate not in AGGREGATES:
        raise UsageError(
            f"--aggregate {req.aggregate!r} is not allowed", fix="use mean, sum, max or min"
        )
    if req.max_indel_len < 0:
        raise UsageError(f"--max-indel-len {req.max_indel_len} is negative", fix="use 0 or more")
    if req.pseudocount < 0:
        raise UsageError(f"--pseudocount {req.pseudocount} is negative", fix="use 0 or more")
    if req.bins is not None and req.bins < 1:
        raise UsageError(f"--bins {req.bins} must be at least 1", fix="pass --bins K, K >= 1")
    if req.shifts < 0:
        raise UsageError(f"--shifts {req.shifts} must be 0 or more", fix="use --shifts 0..N")
    if req.seq_len is not None and req.seq_len < 1:
        raise UsageError(f"--seq-len {req.seq_len} must be positive", fix="pass --seq-len N")


def open_input(req: VariantRequest) -> VariantSource:
    """The variant source with ``--region``/``--chrom`` applied."""
    from grelu_cli.io.vcf import check_region_options

    regions = check_region_options(req.regions, req.chroms)
    where = RegionFilter(regions, tuple(req.chroms), req.chrom_alias)
    return open_variants(req.vcf, where)


def plan_variants(
    records: Iterable[VariantRecord],
    planner: AllelePlanner,
    max_indel_len: int = DEFAULT_MAX_INDEL_LEN,
    on_skip: Callable[[Skipped], None] | None = None,
) -> Iterator[PlannedAllele]:
    """Split, check and place every allele of ``records``; skipped ones are counted in
    ``planner.counts`` (and passed to ``on_skip``). Raises InputDataError on bad input,
    including an input with no records at all."""
    counts = planner.counts
    for rec in records:
        counts.records += 1
        for item in split_alleles(rec, max_indel_len):
            counts.alleles += 1
            if isinstance(item, Skipped):
                counts.skipped[item.reason] += 1
                if on_skip is not None:
                    on_skip(item)
                continue
            planned = planner.plan(item)
            if isinstance(planned, Skipped):
                if on_skip is not None:
                    on_skip(planned)
                continue
            yield planned
    if counts.records == 0:
        name = getattr(records, "path", "the variant input")
        where = getattr(records, "where", None)
        regions = " in the requested --region/--chrom" if where is not None and where.active else ""
        raise InputDataError(
            f"{name} has no variant records{regions}",
            fix="check the file" + (" and the regions" if regions else ""),
        )


def score_variants(
    planned: Iterable[PlannedAllele],
    predictor: Any,
    genome: Genome,
    scores: tuple[str, ...],
    *,
    aggregate: str = "mean",
    pseudocount: float = 0.0,
    counts: VariantCounts | None = None,
) -> Iterator[AlleleResults]:
    """Predict and score planned alleles, chunk by chunk, in input order."""
    reader = SequenceReader(genome, predictor.seq_len, predictor.flank)
    scorer = VariantScorer(
        predictor, reader, scores, aggregate=aggregate, pseudocount=pseudocount, counts=counts
    )
    return scorer.score(planned)


def result_columns(results: AlleleResults) -> dict[str, list[Any]]:
    """The per-allele output columns (``chrom`` .. ``padded``) of one result chunk."""
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "chrom",
            "pos",
            "id",
            "ref",
            "alt",
            "allele",
            "variant_type",
            "ref_status",
            "window_start",
            "window_end",
            "padded",
        )
    }
    for p in results.alleles:
        a, rec = p.allele, p.allele.record
        cols["chrom"].append(rec.chrom)
        cols["pos"].append(rec.pos)
        cols["id"].append(rec.id)
        cols["ref"].append(a.ref)
        cols["alt"].append(a.alt)
        cols["allele"].append(a.allele)
        cols["variant_type"].append(a.variant_type)
        cols["ref_status"].append(p.ref_status)
        cols["window_start"].append(p.window_start)
        cols["window_end"].append(p.window_end)
        cols["padded"].append(p.padded)
    return cols


class ResultsWriter:
    """Adapts a :class:`~grelu_cli.io.variant_parquet.VariantParquetWriter` to ``write(results)``
    (one :class:`AlleleResults` at a time), so it can run inside a
    :class:`~grelu_cli.predict.background.BackgroundWriter`."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __enter__(self) -> ResultsWriter:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.inner.__exit__(*exc)

    def write(self, res: AlleleResults) -> None:
        self.inner.write(result_columns(res), res.ref_value, res.alt_value, res.scores)


# -- the whole job -------------------------------------------------------------------------
@dataclass
class VariantRun:
    """What a finished run reports: counts, tasks, output path, seconds spent predicting."""

    counts: VariantCounts
    tasks: list[str]
    output: str | None
    model: str
    seq_len: int


def load(req: VariantRequest) -> tuple[Any, int]:
    """Load the model (zoo name, Hub repo or file) and its input length."""
    from grelu_cli.zoo import load_model

    loaded = load_model(
        req.model,
        replicate=req.replicate,
        species=req.species,
        trust_checkpoint=req.trust_checkpoint,
        progress=req.progress_download,
    )
    seq_len = req.seq_len if req.seq_len is not None else loaded.seq_len
    if seq_len is None:
        raise UsageError(
            f"model {loaded.name} does not record its input length", fix="pass --seq-len N"
        )
    return loaded, int(seq_len)


def build_predictor(req: VariantRequest, loaded: Any, seq_len: int) -> Any:
    """The :class:`~grelu_cli.predict.loop.Predictor` for a variants run (no aggregate:
    bins are reduced after the ref/alt profiles are averaged over augmentations)."""
    from grelu_cli.predict.loop import PredictOptions, Predictor
    from grelu_cli.predict.tasks import resolve_tasks

    selected = resolve_tasks(
        loaded.tasks, names=req.task_names, file=req.tasks_file, query=req.tasks_query
    )
    opts = PredictOptions(
        device=req.device,
        precision=req.precision,
        batch_size=req.batch_size,
        threads=req.threads,
        rc=req.rc,
        shifts=req.shifts,
        untransform=req.untransform,
        center_bins=req.bins,
        # Keep freed memory for the next batch (CPU): ~10% faster. Safe here because what
        # happens between batches allocates little (per-allele rows, not per-bin tables).
        keep_memory=True,
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


def run_variants(
    req: VariantRequest,
    *,
    on_start: Callable[[VariantSource], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_skip: Callable[[Skipped], None] | None = None,
) -> VariantRun:
    """Score every allele of ``req.vcf`` and write ``req.output`` (atomically).

    ``on_start(source)`` is called once the model is loaded, before predicting (e.g. to
    count records for a progress bar); ``on_progress(records_done)`` after each result
    chunk is written.

    Raises GreluCliError subclasses for bad options (2), bad input (3), missing files (4).
    """
    from grelu_cli.io.atomic import check_output
    from grelu_cli.io.variant_parquet import VariantParquetWriter
    from grelu_cli.predict.transform import activation_name

    check_request(req)
    if req.output is None:
        raise UsageError("no output given", fix="pass -o OUT.parquet")
    if not req.output.lower().endswith((".parquet", ".pq")):
        raise UsageError(
            f"-o {req.output}: grelu variants writes parquet", fix="end the output in .parquet"
        )
    check_output(req.output, overwrite=req.overwrite)
    source = open_input(req)
    genome = Genome(req.genome, req.chrom_alias)
    loaded, seq_len = load(req)
    scores = parse_scores(req.scores, activation_name(loaded.output_activation))
    predictor = build_predictor(req, loaded, seq_len)
    counts = VariantCounts()
    planner = AllelePlanner(
        genome, seq_len, edge=req.edge, ref_mismatch=req.ref_mismatch, counts=counts
    )
    metadata = _provenance(req, loaded, genome, source, predictor, seq_len, scores)
    tasks = predictor.task_names
    if on_start is not None:
        on_start(source)
    from grelu_cli.predict.background import BackgroundWriter

    inner = VariantParquetWriter(
        req.output, tasks, scores, layout=req.layout, metadata=metadata, overwrite=req.overwrite
    )
    # The writer runs on its own thread (its own malloc arena): with freed memory kept for
    # the next batch (keep_memory), row buffers built between batches on this thread would
    # strand activation-sized holes and the heap would grow with every batch.
    with BackgroundWriter(ResultsWriter(inner)) as writer:
        planned = plan_variants(source, planner, req.max_indel_len, on_skip)
        for res in score_variants(
            planned,
            predictor,
            genome,
            scores,
            aggregate=req.aggregate,
            pseudocount=req.pseudocount,
            counts=counts,
        ):
            writer.write(res)
            if on_progress is not None:
                on_progress(counts.records)
        writer.flush()
        inner.metadata["counts"] = counts.as_dict()
    return VariantRun(counts, tasks, req.output, loaded.name, seq_len)


def dry_run_variants(req: VariantRequest, limit: int = 50) -> tuple[list[str], VariantCounts, int]:
    """Check the whole input without predicting: ``(lines, counts, n_errors)``.

    Lines list every bad record (one line each, up to ``limit``) and every allele skipped
    for a REF mismatch; a reader-level error (a file htslib cannot go on reading) ends the
    check. The model is loaded for its input length.
    """
    check_request(req)
    source = open_input(req)
    genome = Genome(req.genome, req.chrom_alias)
    loaded, seq_len = load(req)
    counts = VariantCounts()
    planner = AllelePlanner(
        genome, seq_len, edge=req.edge, ref_mismatch=req.ref_mismatch, counts=counts
    )
    lines: list[str] = [
        f"model: {loaded.name} ({loaded.model_type}, {loaded.n_tasks} tasks, {seq_len:,} bp in)",
        f"variants: {req.vcf} ({source.kind}{', indexed' if source.indexed else ''})",
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
            for _ in plan_variants([rec], planner, req.max_indel_len, note_skip):
                pass
        except InputDataError as err:
            n_errors += 1
            if len(problems) < limit:
                problems.append(f"error: {err}")
    if counts.records == 0 and n_errors == 0:
        n_errors += 1
        problems.append(f"error: {req.vcf} has no variant records (check the file)")
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
    return lines, counts, n_errors


def _provenance(
    req: VariantRequest,
    loaded: Any,
    genome: Genome,
    source: VariantSource,
    predictor: Any,
    seq_len: int,
    scores: tuple[str, ...],
) -> dict[str, Any]:
    from dataclasses import asdict

    import torch

    from grelu_cli.io.provenance import build_provenance

    return build_provenance(
        model=loaded.name,
        model_path=loaded.path,
        weights_sha256=loaded.sha256,
        genome=genome.path,
        options=req.options or {k: v for k, v in req.__dict__.items() if k != "options"},
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
                "aggregate": req.aggregate,
                "pseudocount": req.pseudocount,
                "ref_mismatch": req.ref_mismatch,
                "max_indel_len": req.max_indel_len,
                "window": "start = pos - ceil(L/2); first REF base at offset ceil(L/2) - 1",
                "edge": req.edge,
            },
        },
    )
