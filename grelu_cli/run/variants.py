"""One ``grelu variants`` job: variants + genome + model + options -> scores per allele.

:func:`run_variants` runs a :class:`~grelu_cli.run.variant_job.VariantJob`, reporting
through a :class:`~grelu_cli.run.observer.RunObserver` like ``grelu predict``, and returns a
:class:`~grelu_cli.run.summary.VariantSummary`; :func:`dry_run_variants`
(:mod:`grelu_cli.run.variant_check`) checks the whole input. The model and predictor are
built from the job's shared parts by :mod:`grelu_cli.run.build`; shards, the chunk engine
(``resume``), the plain run and the writers are the engine's (:mod:`grelu_cli.run.chunked`,
:mod:`grelu_cli.run.plain`, :mod:`grelu_cli.io.formats.registry`), the variant work is
:mod:`grelu_cli.run.variant_work`.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from grelu_cli.errors import InputDataError, MissingResourceError
from grelu_cli.run.observer import RunObserver, SilentObserver
from grelu_cli.run.summary import Recorder, VariantCheck, VariantSummary
from grelu_cli.run.variant_check import dry_run_variants
from grelu_cli.run.variant_job import (
    VariantJob,
    check_variant_job,
    check_variant_output,
    load_variant_model,
    open_input,
    output_format,
)
from grelu_cli.run.variant_merge import merge_variant_shards

__all__ = [
    "VariantCheck",
    "VariantJob",
    "VariantSummary",
    "dry_run_variants",
    "merge_variant_shards",
    "output_format",
    "run_variants",
]


def build_predictor(job: VariantJob, loaded: Any, seq_len: int) -> Any:
    """The job's :class:`~grelu_cli.predict.loop.Predictor`, built by
    :func:`grelu_cli.run.build.make_predictor` (no ``aggregate``: the bins are reduced
    after the ref/alt profiles are averaged)."""
    return build_predictor_selected(job, loaded, seq_len)[0]


def build_predictor_selected(job: VariantJob, loaded: Any, seq_len: int) -> tuple[Any, Any]:
    """The predictor and the selected rows of the tasks table (None: all). With ``--genes``
    the predictor does not untransform: the gene scorer untransforms the averaged profiles
    (Calico's order; :mod:`grelu_cli.run.variant_genes`)."""
    from dataclasses import replace

    from grelu_cli.predict.tasks import resolve_tasks
    from grelu_cli.run.build import make_predictor

    p = job.predict
    selected = resolve_tasks(
        loaded.tasks,
        names=list(p.tasks) if p.tasks is not None else None,
        file=p.tasks_file,
        query=p.tasks_query,
        model=job.model.model,
    )
    built = job
    if job.genes.active and p.untransform:
        built = replace(job, predict=replace(p, untransform=False))
    return make_predictor(built, loaded, seq_len, selected, job.run.device), selected


def _finished(output: str, fmt: str) -> bool:
    """Whether ``output`` is a finished output of a variants run (``--resume`` keeps it when
    it is this run's)."""
    if fmt != "zarr":
        return Path(output).is_file()
    from grelu_cli.io.formats.zarr.read import read_record

    try:
        record = read_record(output)
    except (InputDataError, MissingResourceError, OSError):
        return False
    return record.get("command") == "variants" and record.get("complete") is True


def run_variants(job: VariantJob, observer: RunObserver | None = None) -> VariantSummary:
    """Score every allele of the variant file (or the shard's records) and write the output.

    Records are predicted in groups of :attr:`~grelu_cli.variants.scorer.VariantScorer`'s
    ``group_records`` counted from the start of the input; ``shard`` (``i/N``) takes a
    contiguous run of whole groups (sizes differing by at most one group) and ``resume``
    commits chunks of whole groups as part files (the chunk engine, as ``grelu predict
    --resume``), so both give the batches, and the numbers, of one uninterrupted run.
    Progress counts input records (counted first when the observer shows progress, or for a
    shard or resume). Raises :mod:`grelu_cli.errors` exceptions for bad options (2), bad
    input (3), missing files (4).
    """
    from grelu_cli.core.shards import parse_shard
    from grelu_cli.genome.genome import Genome
    from grelu_cli.predict.transform import activation_name
    from grelu_cli.run.fingerprint import check_finished, read_output_record, variant_inputs
    from grelu_cli.variants.scorer import group_size
    from grelu_cli.variants.scores import parse_scores

    obs = observer if observer is not None else SilentObserver()
    t0 = time.perf_counter()
    check_variant_job(job)
    output = check_variant_output(job)
    shard = parse_shard(job.run.shard) if job.run.shard is not None else None
    fmt = output_format(output, job.result_kind)
    finished = job.run.resume and _finished(output, fmt)
    if not finished:
        _check_writable(job, output, fmt)
    source = open_input(job)
    genome = Genome(str(job.input.genome), job.input.chrom_alias)
    # A finished output is only compared with this run (nothing is shown or predicted).
    rec = Recorder(obs if not finished else SilentObserver())
    if not finished:
        obs.start(
            "variants",
            model=job.model.model,
            vcf=job.variant.vcf,
            output=output,
            shard=job.run.shard,
        )
    loaded, seq_len = load_variant_model(job, rec)
    predictor, selected = build_predictor_selected(job, loaded, seq_len)
    genes = None
    if job.genes.active:
        from grelu_cli.run.variant_genes import setup_genes

        genes = setup_genes(job, loaded, genome, predictor, selected)
        scores: tuple[str, ...] = ()
        tasks = list(genes.tasks)
        _warn_genes(genes, rec)
    else:
        scores = parse_scores(job.variant.scores, activation_name(loaded.output_activation))
        tasks = list(predictor.task_names)
    batch = max(2, int(predictor.sizer.size))
    group = group_size(batch)
    target = {
        "format": fmt,
        "layout": job.output.layout,
        "group_records": group,
        "batch_windows": batch,
    }
    if genes is not None:
        target["kind"] = job.result_kind
    inputs = variant_inputs(job, loaded, genome, tasks, target)
    if finished:
        check_finished(Path(output), read_output_record(Path(output)), inputs, job.kind)
        return VariantSummary(output, [output], {}, [], job.model.model, 0, already_complete=True)
    split = shard is not None or job.run.resume
    total = source.count() if split or rec.shows_progress else None
    lo, hi = 0, total
    capped = None
    if shard is not None:  # whole groups per shard, as grelu predict's whole batches
        assert total is not None
        group, capped = _shard_group(job, batch, group, total, shard.count)
        from grelu_cli.core.shards import shard_range

        lo, hi = shard_range(total, shard, group)
    record = _provenance(job, loaded, genome, source, predictor, seq_len, scores)
    if genes is not None:
        record["genes"] = genes.provenance()
        record["tasks"] = tasks
    from grelu_cli.run.fingerprint import record_fingerprint

    fp = record_fingerprint(record, inputs)
    record["group_records"] = group
    record["shard"] = None
    if shard is not None:
        assert hi is not None
        record["shard"] = {
            "index": shard.index,
            "count": shard.count,
            "records": hi - lo,
            "total_windows": total,
        }
        if capped is not None:  # --batch-size auto, lowered so that every shard gets work
            record["shard"]["group_records_auto"] = capped
    counts, windows = _score(
        job,
        fmt,
        predictor,
        genome,
        scores,
        group,
        tasks,
        record,
        source,
        seq_len,
        shard,
        lo,
        hi,
        fp,
        target,
        inputs,
        rec,
        genes,
    )
    c = counts.as_dict()
    c["windows"] = windows
    bad = c["ref_status"]["mismatch"] + c["ref_status"]["swapped"]
    if bad:
        rec.warn(
            f"{c['ref_status']['mismatch']:,} alleles with REF not matching the genome and "
            f"{c['ref_status']['swapped']:,} with REF/ALT swapped (--ref-mismatch "
            f"{job.variant.ref_mismatch})",
            count=bad,
        )
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
        warnings=rec.messages,
    )


def _warn_genes(genes: Any, rec: Recorder) -> None:
    """Warnings about the annotation: skipped genes, unmatched --gene-ids."""
    g = genes.genes
    if g.skipped:
        rec.warn(
            f"{len(g.skipped):,} genes skipped: their exons disagree on chromosome or strand "
            "(listed by --dry-run)",
            count=len(g.skipped),
        )
    if g.unmatched:
        rec.warn(
            f"--gene-ids: {len(g.unmatched):,} match no gene: {', '.join(g.unmatched[:5])}",
            count=len(g.unmatched),
        )


def _check_writable(job: VariantJob, output: str, fmt: str) -> None:
    """The output may be written (or, with ``resume``, continued)."""
    from grelu_cli.io.formats.variant_zarr import check_variant_store_output
    from grelu_cli.io.fs.atomic import check_output

    if fmt == "zarr":
        check_variant_store_output(output, overwrite=job.output.overwrite)
    else:
        check_output(output, overwrite=job.output.overwrite or job.run.resume)


def _shard_group(
    job: VariantJob, batch: int, group: int, total: int, n_shards: int
) -> tuple[int, int | None]:
    """A shard's records per group: lowered to ``ceil(total / n_shards)`` when ``--batch-size
    auto`` starts above the CPU's largest automatic batch (a GPU's 1,024), so that every
    shard gets work; kept otherwise (shards then merge bit-identical to a plain run)."""
    from grelu_cli.run.predict_checks import shard_batch

    most = shard_batch(batch, job.predict.batch_size, total, n_shards)
    if most == batch or group <= most:
        return group, None
    return most, group


def _score(
    job: VariantJob,
    fmt: str,
    predictor: Any,
    genome: Any,
    scores: tuple[str, ...],
    group: int,
    tasks: list[str],
    record: dict[str, Any],
    source: Any,
    seq_len: int,
    shard: Any,
    lo: int,
    hi: int | None,
    fp: str,
    target: dict[str, Any],
    inputs: dict[str, Any],
    rec: Recorder,
    genes: Any = None,
) -> tuple[Any, int]:
    """Plan and score the run's records into the output: (counts, windows predicted)."""
    from grelu_cli.run.signals import sigterm_as_interrupt
    from grelu_cli.run.variant_work import AlleleScoring, score_plain
    from grelu_cli.variants.pipeline import plan_variants
    from grelu_cli.variants.plan import AllelePlanner, VariantCounts

    v = job.variant
    counts = VariantCounts()
    planner = AllelePlanner(
        genome, seq_len, edge=job.input.edge, ref_mismatch=v.ref_mismatch, counts=counts
    )
    records = source if shard is None or not hi else _slice(source, lo, hi)
    planned = plan_variants(records, planner, v.max_indel_len, allow_empty=shard is not None)
    if genes is not None:  # alleles with no gene are counted, never predicted
        from grelu_cli.run.variant_genes import alleles_with_genes

        counts.no_gene = 0
        planned = alleles_with_genes(planned, genes.scorer, counts)
    scoring = AlleleScoring(
        job, fmt, predictor, genome, scores, counts, group, tasks, record, genes
    )
    with sigterm_as_interrupt():
        if not job.run.resume:
            return counts, score_plain(scoring, planned, lo, hi, rec)
        from grelu_cli.run.chunked import ChunkPlan, run_chunked
        from grelu_cli.run.variant_work import AlleleParts

        assert hi is not None
        plan = ChunkPlan(
            Path(job.output.output),
            fp,
            record["fingerprint_inputs"],
            str(shard) if shard is not None else None,
            (lo, hi),
            job.run.chunk_size,
            group,
            {"format": fmt, "layout": job.output.layout},
            tasks,
            job.unit,
            job.chunk_option,
        )
        work = AlleleParts(scoring, planned, lo, hi, fp)
        run_chunked(plan, work, rec, resume=True)
        return counts, work.windows


def _slice(source: Any, lo: int, hi: int) -> Any:
    """Records ``[lo, hi)`` of ``source`` (by input index)."""
    for rec in source:
        if rec.index >= hi:
            return
        if rec.index >= lo:
            yield rec


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

    from grelu_cli.io.formats.provenance import build_provenance

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
                "aggregate": job.variant.aggregate,
                "pseudocount": job.variant.pseudocount,
                "ref_mismatch": job.variant.ref_mismatch,
                "max_indel_len": job.variant.max_indel_len,
                "window": "start = pos - ceil(L/2); first REF base at offset ceil(L/2) - 1",
                "edge": job.input.edge,
            },
        },
    )
