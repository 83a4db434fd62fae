"""The variant pipeline's steps, each streaming in input order.

* :func:`plan_variants`: records -> :class:`~grelu_cli.variants.plan.PlannedAllele` stream
  (alleles split, skipped, checked against the genome, windows placed), counting as it goes;
* :func:`score_variants`: that stream -> :class:`~grelu_cli.variants.scorer.AlleleResults`
  through a :class:`~grelu_cli.predict.loop.Predictor`;
* :func:`result_columns`: the per-allele output columns of one result chunk.

The whole job (model, writer, shards, resume, progress) is :mod:`grelu_cli.run.variants`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from grelu_cli.errors import InputDataError
from grelu_cli.genome.genome import Genome
from grelu_cli.io.vcf import VariantRecord
from grelu_cli.variants.alleles import DEFAULT_MAX_INDEL_LEN, Skipped, split_alleles
from grelu_cli.variants.plan import AllelePlanner, PlannedAllele, VariantCounts
from grelu_cli.variants.scorer import AlleleResults, VariantScorer
from grelu_cli.variants.windows import SequenceReader


def plan_variants(
    records: Iterable[VariantRecord],
    planner: AllelePlanner,
    max_indel_len: int = DEFAULT_MAX_INDEL_LEN,
    on_skip: Callable[[Skipped], None] | None = None,
    allow_empty: bool = False,
) -> Iterator[PlannedAllele]:
    """Split, check and place every allele of ``records``; skipped ones are counted in
    ``planner.counts`` (and passed to ``on_skip``). Raises InputDataError on bad input,
    including an input with no records at all (unless ``allow_empty``: a shard's slice of a
    non-empty input may be empty)."""
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
    if counts.records == 0 and not allow_empty:
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
    group_records: int | None = None,
) -> Iterator[AlleleResults]:
    """Predict and score planned alleles, group by group, in input order."""
    reader = SequenceReader(genome, predictor.seq_len, predictor.flank)
    scorer = VariantScorer(
        predictor,
        reader,
        scores,
        aggregate=aggregate,
        pseudocount=pseudocount,
        counts=counts,
        group_records=group_records,
    )
    return scorer.score(planned)


def result_columns(results: AlleleResults) -> dict[str, list[Any]]:
    """The per-allele output columns (``chrom`` .. ``padded``) of one result chunk."""
    from grelu_cli.io.variant_parquet import VARIANT_COLUMNS

    cols: dict[str, list[Any]] = {k: [] for k in VARIANT_COLUMNS}
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
