"""``grelu variants``' work for the run engine: planned alleles -> variant blocks -> writers.

:class:`AlleleScoring` scores planned alleles (group by group, :mod:`grelu_cli.variants`)
and opens the writers through the registry (result kind ``variants``). The engine runs it in
one pass (:func:`score_plain`, :func:`grelu_cli.run.plain.write_plain`) or, with ``resume``,
chunk by chunk (:class:`AlleleParts`, a :class:`~grelu_cli.run.parts.ChunkedWork` for
:func:`grelu_cli.run.chunked.run_chunked`): chunks of whole record groups, each a long (or,
for a parquet output, the output's layout) variant parquet part, stitched into the output.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grelu_cli.run.observer import RunObserver
from grelu_cli.run.parts import Chunk, PartWriter

if TYPE_CHECKING:
    from grelu_cli.run.resume import PartStore
    from grelu_cli.run.variant_genes import GeneSetup
    from grelu_cli.run.variant_job import VariantJob
    from grelu_cli.variants.plan import PlannedAllele, VariantCounts
    from grelu_cli.variants.scorer import AlleleResults


class AlleleScoring:
    """Planned alleles -> :class:`~grelu_cli.variants.scorer.AlleleResults`, and the writers.

    Args:
        job: the variants job; ``fmt``: its output format.
        predictor, genome, scores, counts, group: what the scorer needs (``group``: records
            per group).
        tasks: output task names; ``record``: the output's provenance record.
        genes: with ``--genes``, the :class:`~grelu_cli.run.variant_genes.GeneSetup`: the
            groups are reduced to gene statistics and written as result kind
            ``variant_genes`` (``tasks`` are then the gene tasks).
    """

    def __init__(
        self,
        job: VariantJob,
        fmt: str,
        predictor: Any,
        genome: Any,
        scores: tuple[str, ...],
        counts: VariantCounts,
        group: int,
        tasks: list[str],
        record: dict[str, Any],
        genes: GeneSetup | None = None,
    ) -> None:
        self.job, self.fmt, self.predictor, self.genome = job, fmt, predictor, genome
        self.scores, self.counts, self.group, self.tasks = scores, counts, group, tasks
        self.record = record
        self.genes = genes
        self.values = genes.values if genes else ["ref_value", "alt_value", *scores]
        self.columns: tuple[str, ...] = ()
        if genes is not None:
            from grelu_cli.run.variant_genes import LEADING

            self.columns = LEADING

    def results(self, planned: Iterable[PlannedAllele]) -> Iterator[AlleleResults]:
        from grelu_cli.variants.pipeline import score_variants

        v = self.job.variant
        return score_variants(
            planned,
            self.predictor,
            self.genome,
            self.scores,
            aggregate=v.aggregate,
            pseudocount=v.pseudocount,
            counts=self.counts,
            group_records=self.group,
            reduce=self.genes.scorer if self.genes is not None else None,
        )

    def block(self, res: Any) -> Any:
        """The writers' :class:`~grelu_cli.core.variant_block.VariantBlock` of one group's
        results (per allele, or with ``--genes`` per allele x gene pair)."""
        from grelu_cli.variants.pipeline import allele_columns, result_block

        if self.genes is None:
            return result_block(res)
        from grelu_cli.run.variant_genes import gene_block

        return gene_block(res, self.genes, allele_columns)

    @property
    def part_layout(self) -> str:
        """Parts are long rows, except for a parquet output: its layout (stitched as is)."""
        return self.job.output.layout if self.fmt == "parquet" else "long"

    def writer(self, path: str | Path, metadata: dict[str, Any], part: bool = False) -> Any:
        """The output's writer, or (``part``) a resume part's (always parquet)."""
        from grelu_cli.io.formats.registry import WriterSpec, open_writer

        out = self.job.output
        pct: list[str] = []
        grid = None
        if self.genes is not None and not part:
            from grelu_cli.genes.calibrate import percentile_grid
            from grelu_cli.run.variant_genes import pct_values

            pct, grid = pct_values(self.genes), percentile_grid()
        spec = WriterSpec(
            str(path),
            self.tasks,
            metadata=metadata,
            layout=self.part_layout if part else out.layout,
            overwrite=part or out.overwrite,
            compression="lz4" if part else None,
            kind=self.job.result_kind,
            values=self.values,
            columns=self.columns,
            percentiles=pct,
            pct_grid=grid,
            task_table=self.genes.task_table if self.genes is not None else None,
        )
        return open_writer("parquet" if part else self.fmt, spec)

    def write_table(self, writer: Any, table: Any) -> None:
        """Rows read back from a part or shard into ``writer``: as they are into a parquet
        writer (its row groups as if written there), as blocks into any other format."""
        from grelu_cli.io.formats.variant_parquet import table_block

        if hasattr(writer, "write_table"):
            writer.write_table(table)
        elif table.num_rows:
            writer.write(table_block(table, self.tasks, self.values, self.columns or None))


def score_plain(
    scoring: AlleleScoring,
    planned: Iterable[PlannedAllele],
    lo: int,
    hi: int | None,
    obs: RunObserver,
) -> int:
    """Score every planned allele into the output in one pass; the windows predicted."""
    from grelu_cli.run.chunked import discard_partial_run
    from grelu_cli.run.plain import write_plain

    output = scoring.job.output.output
    discard_partial_run(Path(output))
    counts = scoring.counts

    def steps() -> Iterator[tuple[Any, int, int]]:
        done = 0
        for res in scoring.results(planned):
            yield scoring.block(res), counts.records - done, 0
            done = counts.records
        yield None, counts.records - done, 0

    def at_end(writer: Any) -> None:
        writer.metadata["counts"] = {**counts.as_dict()}
        writer.metadata["window_range"] = [lo, lo + counts.records]

    writer = scoring.writer(output, scoring.record)
    write_plain(writer, steps(), obs, hi - lo if hi is not None else 0, "records", at_end)
    return counts.windows


class _AllelePart:
    """A part file's writer taking :class:`~grelu_cli.variants.scorer.AlleleResults`; it
    records the windows predicted for them (summed into the output's counts)."""

    def __init__(self, inner: Any, scoring: AlleleScoring) -> None:
        self.inner = inner
        self.scoring = scoring
        self.windows = 0

    @property
    def rows_written(self) -> int:
        return int(self.inner.rows_written)

    def __enter__(self) -> _AllelePart:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:
            self.inner.metadata["windows"] = self.windows
        self.inner.__exit__(*exc)

    def write(self, res: AlleleResults) -> None:
        self.inner.write(self.scoring.block(res))
        self.windows += res.windows


class AlleleParts:
    """``grelu variants``' chunked work: chunks of whole record groups (chunk ``k`` holds
    records ``[lo + k*size, lo + (k+1)*size)``). Committed chunks' records are still read
    and checked (the counts cover the whole range); only their alleles are not scored."""

    unit = "records"

    def __init__(
        self,
        scoring: AlleleScoring,
        planned: Iterable[PlannedAllele],
        lo: int,
        hi: int,
        fingerprint: str | None,
    ) -> None:
        self.scoring, self.planned, self.lo, self.hi = scoring, planned, lo, hi
        self.size = -(-scoring.job.run.chunk_size // scoring.group) * scoring.group
        self.fingerprint = fingerprint
        self.windows = 0  # windows predicted for the whole output (stitched parts' sum)

    def _chunk_of(self, index: int) -> int:
        return (index - self.lo) // self.size

    def pieces(self, todo: list[Chunk]) -> Iterator[tuple[int, AlleleResults]]:
        wanted = {k for k, _, _ in todo}
        keep = (p for p in self.planned if self._chunk_of(p.allele.record.index) in wanted)
        for res in self.scoring.results(keep):
            yield self._chunk_of(res.alleles[0].allele.record.index), res

    def open_part(self, path: Path, chunk: Chunk) -> PartWriter:
        k, a, b = chunk
        meta = {"chunk": k, "window_range": [a, b], "fingerprint": self.fingerprint}
        return _AllelePart(self.scoring.writer(path, meta, part=True), self.scoring)

    def bases(self, n: int) -> int:
        return 0

    def stitch(self, store: PartStore) -> None:
        import pyarrow.parquet as pq

        from grelu_cli.io.formats.merge import read_record

        s = self.scoring
        windows = 0
        with s.writer(s.job.output.output, s.record) as writer:
            for k in range(store.n_chunks):
                windows += int(read_record(store.part(k)).get("windows", 0))
                s.write_table(writer, pq.read_table(store.part(k)))
            writer.metadata["counts"] = {**s.counts.as_dict(), "windows": windows}
            writer.metadata["window_range"] = [self.lo, self.hi]
        self.windows = windows
