"""Run one ``grelu predict --genes`` job: genes -> windows -> predictor -> values per gene.

:func:`run_gene_predict` is what :func:`grelu_cli.run.predict_run.run_predict` runs for a
job with ``--genes``. Cheap checks first (:mod:`grelu_cli.run.gene_checks`), then the model,
genes and windows (:mod:`grelu_cli.run.gene_setup`). The run's windows are cut into shards
(and, with ``resume``, chunks) on the batches of a plain run, as ``grelu predict`` cuts them;
a range owns the genes whose first window lies in it and predicts all their windows, widened
to whole batches (:func:`grelu_cli.genes.predicted.predicted_range`), so a gene is never
split and every window is computed in the batch of a plain run. The engine's plain writer
loop (:func:`grelu_cli.run.plain.write_plain`) and chunk engine
(:func:`grelu_cli.run.chunked.run_chunked`, with :class:`GeneParts`) do the rest; writers come
from the registry (result kind ``gene_expression``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from grelu_cli.run.config import PredictJob
from grelu_cli.run.gene_checks import check_gene_cheap, gene_aggregate, gene_output_done
from grelu_cli.run.gene_setup import GeneSetup, prepare_genes, task_table
from grelu_cli.run.observer import RunObserver, SilentObserver
from grelu_cli.run.parts import Chunk, PartWriter, contiguous_runs
from grelu_cli.run.summary import PredictSummary, Recorder

if TYPE_CHECKING:
    from grelu_cli.core.block import Block
    from grelu_cli.core.gene_block import GeneBlock
    from grelu_cli.genes.predicted import GeneReducer
    from grelu_cli.run.resume import PartStore

KIND = "gene_expression"


def run_gene_predict(job: PredictJob, observer: RunObserver | None = None) -> PredictSummary:
    """Run ``job`` (with ``--genes``) to its output; raises :mod:`grelu_cli.errors`
    exceptions, prints nothing."""
    from grelu_cli.core.shards import parse_shard
    from grelu_cli.run.fingerprint import check_finished, read_output_record, record_fingerprint

    obs = observer if observer is not None else SilentObserver()
    t0 = time.perf_counter()
    check_gene_cheap(job)
    shard = parse_shard(job.run.shard) if job.run.shard is not None else None
    finished = gene_output_done(job)
    rec = Recorder(obs if not finished else SilentObserver())
    out = job.output
    if not finished:
        obs.start(
            "predict",
            model=job.model.model,
            genes=job.genes.genes,
            output=out.output,
            format=out.format,
            shard=job.run.shard,
        )
    setup = prepare_genes(job, rec if not finished else None)
    target: dict[str, Any] = {"format": out.format, "layout": "genes"}
    if out.format == "zarr":
        target["dtype"] = out.dtype
    inputs = gene_inputs(job, setup, target)
    if finished:
        path = Path(out.output)
        check_finished(path, read_output_record(path), inputs, job.kind)
        return PredictSummary(output=out.output, files=[out.output], already_complete=True)
    batch = setup.batch(job, shard)
    lo, hi, a, b = setup.shard_genes(shard, job)
    total = setup.inp.plan.count()
    record = provenance(job, setup)
    fp = record_fingerprint(record, inputs)
    record["window_range"] = [lo, hi]
    record["shard"] = None
    if shard is not None:
        record["shard"] = {
            "index": shard.index,
            "count": shard.count,
            "windows": hi - lo,
            "total_windows": total,
            "batch_size": batch,
            "genes": [a, b],
        }
    work = GeneWork(job, setup, batch, record)
    from grelu_cli.run.signals import sigterm_as_interrupt

    with sigterm_as_interrupt():
        if job.run.resume:
            from grelu_cli.run.chunked import ChunkPlan, run_chunked
            from grelu_cli.run.resume import INPUTS_KEY

            plan = ChunkPlan(
                Path(out.output),
                fp,
                record[INPUTS_KEY],
                job.run.shard,
                (lo, hi),
                job.run.chunk_size,
                batch,
                target,
                work.task_names,
                job.unit,
                job.chunk_option,
            )
            parts = GeneParts(work, (lo, hi), fp)
            run_chunked(plan, parts, rec, resume=True)
            written, windows = parts.written, parts.windows
        else:
            written, windows = work.plain((lo, hi), (a, b), rec)
    counts = {**setup.inp.counts().as_dict(), **gene_counts(setup, (a, b), written)}
    from grelu_cli.predict.augment import augmentations

    copies = len(augmentations(job.predict.rc, job.predict.shifts))
    return PredictSummary(
        output=out.output,
        files=[out.output],
        counts=counts,
        windows=windows,
        forward_passes=windows * copies,
        seconds=time.perf_counter() - t0,
        shard=str(shard) if shard is not None else None,
        window_range=(lo, hi),
        clipped=work.clipped,
        warnings=rec.messages,
        regions_word="gene",
    )


def gene_counts(setup: GeneSetup, genes: tuple[int, int], written: int) -> dict[str, int]:
    """The gene counts of a run (or shard) over genes ``[a, b)`` with ``written`` rows."""
    g = setup.genes
    return {
        "genes_in_file": setup.loaded_total,
        "genes_selected": len(g.index),
        "genes_skipped": len(g.skipped),
        "genes_owned": genes[1] - genes[0],
        "genes_written": written,
        "genes_without_bins": genes[1] - genes[0] - written,
    }


def gene_inputs(job: PredictJob, setup: GeneSetup, target: dict[str, Any]) -> dict[str, Any]:
    """What a gene run's fingerprint covers: the GTF's contents (not its path), the gene
    regions, the genome index, the gene tasks and the value-deciding options."""
    from grelu_cli.run.identity import fingerprint_inputs, table_digest

    options = job.options()
    for run_only in ("genes", "gene_ids_file"):
        options.pop(run_only, None)
    assert setup.tasks is not None
    return fingerprint_inputs(
        weights_sha256=setup.loaded.sha256,
        input_digest=f"{setup.gtf_sha256}:{table_digest(setup.inp.table)}",
        genome_index_sha256=setup.inp.genome.index_sha256() if setup.inp.genome else None,
        tasks=setup.tasks.names,
        options=options,
        target=target,
    )


def provenance(job: PredictJob, setup: GeneSetup) -> dict[str, Any]:
    """The output's provenance: predict's, plus a ``gene_expression`` entry."""
    import torch

    from grelu_cli.io.formats.provenance import build_provenance

    loaded, inp, tasks, predictor = setup.loaded, setup.inp, setup.tasks, setup.predictor
    assert tasks is not None and predictor is not None
    names = predictor.task_names
    g = job.genes
    return build_provenance(
        model=loaded.name,
        model_path=loaded.path,
        weights_sha256=loaded.sha256,
        genome=inp.genome.path if inp.genome is not None else None,
        options=job.options(),
        counts=inp.counts().as_dict(),
        tasks=tasks.names,
        extra={
            "command": "predict",
            "model_info": loaded.provenance(),
            "input": inp.provenance(),
            "seq_len": setup.seq_len,
            "geometry": asdict(loaded.geometry),
            "torch": str(torch.__version__),
            "gene_expression": {
                "genes": str(Path(str(g.genes)).absolute()),
                "genes_sha256": setup.gtf_sha256,
                "gene_bins": g.gene_bins,
                "gene_span": g.gene_span,
                "aggregate": gene_aggregate(job),
                "plus_tracks": [names[int(i)] for i in tasks.plus],
                "minus_tracks": [names[int(i)] for i in tasks.minus],
                "skipped_genes": [s.gene_id for s in setup.genes.skipped[:100]],
                "unmatched_gene_ids": setup.genes.unmatched[:100],
                "missing_chroms": setup.genes.missing_chroms,
            },
        },
    )


class GeneWork:
    """Predicts windows and reduces them to gene rows; opens the writers."""

    def __init__(self, job: PredictJob, setup: GeneSetup, batch: int, record: dict[str, Any]):
        from grelu_cli.genes.predicted import GeneReducer

        assert setup.tasks is not None
        self.job, self.setup, self.batch, self.record = job, setup, batch, record
        self.task_names = list(setup.tasks.names)
        g = job.genes
        self.reducer: GeneReducer = GeneReducer(
            setup.genes.index, setup.tasks, g.gene_bins, g.gene_span, gene_aggregate(job)
        )
        self.first = setup.first_windows()
        self.clipped = 0

    def writer(self, path: str | Path, metadata: dict[str, Any], part: bool = False) -> Any:
        """The output's writer, or (``part``) a resume part's (parquet)."""
        from grelu_cli.io.formats.registry import WriterSpec, open_writer

        out = self.job.output
        spec = WriterSpec(
            str(path),
            self.task_names,
            metadata=metadata,
            overwrite=part or out.overwrite,
            compression="lz4" if part else None,
            kind=KIND,
            dtype="float32" if part else out.dtype,
            task_table=None if part else task_table(self.setup),
        )
        return open_writer("parquet" if part else out.format, spec)

    def blocks(self, genes: tuple[int, int], seen: list[int]) -> Iterator[Block]:
        """The predicted blocks of the windows of ``genes`` (whole batches); ``seen[0]``
        counts the windows predicted."""
        from grelu_cli.genes.predicted import predicted_range
        from grelu_cli.run.batches import predicted_blocks

        plan, setup = self.setup.inp.plan, self.setup
        assert setup.predictor is not None
        lo, hi = predicted_range(plan.n, genes, self.batch, plan.count())
        if hi <= lo:
            return
        for block in predicted_blocks(setup.inp, setup.predictor, lo, hi, self.job.run.num_workers):
            seen[0] += len(block.windows)
            yield block

    def rows(
        self, genes: tuple[int, int], seen: list[int]
    ) -> Iterator[tuple[np.ndarray, GeneBlock]]:
        """``(gene numbers, rows)`` of ``genes``, in order."""
        return self.reducer.reduce(self.blocks(genes, seen), genes)

    def plain(
        self, span: tuple[int, int], genes: tuple[int, int], obs: RunObserver
    ) -> tuple[int, int]:
        """Every gene of ``genes`` into the output in one pass: (genes written, windows)."""
        from grelu_cli.genes.predicted import predicted_range
        from grelu_cli.io.formats.registry import write_report
        from grelu_cli.run.chunked import discard_partial_run
        from grelu_cli.run.plain import write_plain

        plan = self.setup.inp.plan
        w_lo, w_hi = predicted_range(plan.n, genes, self.batch, plan.count())
        discard_partial_run(Path(self.job.output.output))
        seen = [0]
        written = [0]
        seq_len = self.setup.seq_len

        def steps() -> Iterator[tuple[Any, int, int]]:
            done = 0
            for _, block in self.rows(genes, seen):
                written[0] += block.n
                yield block, seen[0] - done, (seen[0] - done) * seq_len
                done = seen[0]
            yield None, seen[0] - done, (seen[0] - done) * seq_len

        def at_end(writer: Any) -> None:
            writer.metadata["counts"] = {
                **self.setup.inp.counts().as_dict(),
                **gene_counts(self.setup, genes, written[0]),
            }

        writer = self.writer(self.job.output.output, self.record)
        write_plain(writer, steps(), obs, w_hi - w_lo, "windows", at_end)
        self.clipped = write_report(writer).clipped
        return written[0], seen[0]


class GeneParts:
    """``grelu predict --genes``' chunked work: chunks of the run's windows (whole batches);
    a chunk's part holds the rows of the genes whose first window lies in it."""

    unit = "windows"

    def __init__(self, work: GeneWork, span: tuple[int, int], fingerprint: str) -> None:
        self.work, self.span, self.fingerprint = work, span, fingerprint
        self.written = 0  # genes in the stitched output
        self.windows = 0  # windows predicted by this run

    def pieces(self, todo: list[Chunk]) -> Iterable[tuple[int, Any]]:
        from grelu_cli.genes.predicted import owned_genes

        for group in contiguous_runs(todo):
            genes = owned_genes(self.work.first, group[0][1], group[-1][2])
            los = np.array([c[1] for c in group], dtype=np.int64)
            seen = [0]
            for g, block in self.work.rows(genes, seen):
                which = np.searchsorted(los, self.work.first[g], side="right") - 1
                for j in np.unique(which).tolist():
                    yield group[j][0], _subset(block, np.flatnonzero(which == j))
            self.windows += seen[0]

    def open_part(self, path: Path, chunk: Chunk) -> PartWriter:
        k, a, b = chunk
        meta = {"chunk": k, "window_range": [a, b], "fingerprint": self.fingerprint}
        writer: PartWriter = self.work.writer(path, meta, part=True)
        return writer

    def bases(self, n: int) -> int:
        return n * self.work.setup.seq_len

    def stitch(self, store: PartStore) -> None:
        import pyarrow.parquet as pq

        from grelu_cli.io.formats.registry import write_report

        work = self.work
        k_tasks = max(1, len(work.task_names))
        written = 0
        writer = work.writer(work.job.output.output, work.record)
        with writer:
            for k in range(store.n_chunks):
                table = pq.read_table(store.part(k))
                written += table.num_rows // k_tasks
                writer.write_table(table)
            first, last = self.span
            from grelu_cli.genes.predicted import owned_genes

            genes = owned_genes(work.first, first, last)
            writer.metadata["counts"] = {
                **work.setup.inp.counts().as_dict(),
                **gene_counts(work.setup, genes, written),
            }
        self.written = written
        work.clipped = write_report(writer).clipped


def _subset(block: GeneBlock, rows: np.ndarray) -> GeneBlock:
    from grelu_cli.core.gene_block import GeneBlock

    return GeneBlock({c: v[rows] for c, v in block.columns.items()}, block.values[rows])
