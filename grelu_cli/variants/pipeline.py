"""The variant pipeline's steps, each streaming in input order.

* :func:`plan_variants`: records -> :class:`~grelu_cli.variants.plan.PlannedAllele` stream
  (alleles split, skipped, checked against the genome, windows placed), counting as it goes;
* :func:`score_variants`: that stream -> :class:`~grelu_cli.variants.scorer.AlleleResults`
  through a :class:`~grelu_cli.predict.loop.Predictor`;
* :func:`result_block`: one result chunk as a
  :class:`~grelu_cli.core.variant_block.VariantBlock` (arrays), what the writers take.

The whole job (model, writer, shards, resume, progress) is :mod:`grelu_cli.run.variants`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from grelu_cli.core.variant_block import VariantBlock
from grelu_cli.errors import InputDataError
from grelu_cli.genome.genome import Genome
from grelu_cli.io.readers.vcf import VariantRecord
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
    reduce: Callable[..., Any] | None = None,
) -> Iterator[Any]:
    """Predict and score planned alleles, group by group, in input order
    (:class:`AlleleResults`, or what ``reduce`` makes of each group's profiles)."""
    reader = SequenceReader(genome, predictor.seq_len, predictor.flank)
    scorer = VariantScorer(
        predictor,
        reader,
        scores,
        aggregate=aggregate,
        pseudocount=pseudocount,
        counts=counts,
        group_records=group_records,
        reduce=reduce,
    )
    return scorer.score(planned)


def result_block(results: AlleleResults) -> VariantBlock:
    """The :class:`~grelu_cli.core.variant_block.VariantBlock` of one result chunk: its
    per-allele columns (``chrom`` .. ``padded``) as arrays, and its values."""
    columns = allele_columns(results.alleles)
    values = {"ref_value": results.ref_value, "alt_value": results.alt_value, **results.scores}
    return VariantBlock(columns, values, results.windows)


def allele_columns(alleles: list[PlannedAllele]) -> dict[str, np.ndarray]:
    """The per-allele columns (:data:`~grelu_cli.core.variant_block.VARIANT_COLUMNS`) of
    ``alleles`` as (N,) arrays (object for text, int64 otherwise)."""
    records = [p.allele.record for p in alleles]

    def text(values: list[Any]) -> np.ndarray:
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out

    def ints(values: list[int]) -> np.ndarray:
        return np.fromiter(values, dtype=np.int64, count=len(values))

    return {
        "chrom": text([r.chrom for r in records]),
        "pos": ints([r.pos for r in records]),
        "id": text([r.id for r in records]),
        "ref": text([p.allele.ref for p in alleles]),
        "alt": text([p.allele.alt for p in alleles]),
        "allele": ints([p.allele.allele for p in alleles]),
        "variant_type": text([p.allele.variant_type for p in alleles]),
        "ref_status": text([p.ref_status for p in alleles]),
        "window_start": ints([p.window_start for p in alleles]),
        "window_end": ints([p.window_end for p in alleles]),
        "padded": ints([p.padded for p in alleles]),
    }
