"""The option combinations of ``grelu predict --genes`` (exit 2), checked by
:func:`grelu_cli.run.config.check_job` before anything is read.

Takes the job as ``Any`` (a :class:`~grelu_cli.run.config.PredictJob`): ``config`` imports
this module, so this one cannot import ``config``.
"""

from __future__ import annotations

from typing import Any

from grelu_cli.errors import UsageError

#: ``--aggregate`` values with ``--genes`` (None: sum).
GENE_AGGREGATES = ("sum", "mean")


def gene_aggregate(job: Any) -> str:
    """``--aggregate`` of a gene job: ``sum`` (default) or ``mean`` over the gene's bins."""
    return job.predict.aggregate or "sum"


def check_gene_job(job: Any) -> None:
    """Option combinations of ``grelu predict --genes`` (UsageError, exit 2)."""
    inp, out, run = job.input, job.output, job.run
    given = [o for o, v in (("--bed", inp.bed), ("--fasta", inp.fasta)) if v is not None]
    given += [o for o, v in (("--region", inp.region), ("--chrom", inp.chrom)) if v]
    if given:
        raise UsageError(
            f"--genes and {' and '.join(given)} given together: --genes is the input "
            "(each gene's exon span becomes a region)",
            fix=f"drop {given[0]}, or drop --genes to predict tracks",
        )
    if inp.genome is None:
        raise UsageError("--genes needs --genome", fix="pass --genome FASTA")
    if out.format == "bigwig":
        raise UsageError(
            "--genes writes one value per gene and task, not tracks: --format bigwig does not "
            "apply",
            fix="write parquet (-o genes.parquet) or zarr (-o genes.zarr)",
        )
    if out.layout != "long":
        raise UsageError(
            f"--layout {out.layout} does not apply to --genes (one row per gene x task)",
            fix="drop --layout",
        )
    agg = job.predict.aggregate
    if agg is not None and agg not in GENE_AGGREGATES:
        raise UsageError(
            f"--aggregate {agg} does not apply to --genes (a gene's value is the sum or the mean "
            "over its bins)",
            fix="use --aggregate sum (the default) or --aggregate mean",
        )
    if inp.tile:
        raise UsageError(
            "--tile with --genes: genes longer than the output span are tiled already, "
            "the others get one centred window",
            fix="drop --tile",
        )
    if run.devices is not None:
        raise UsageError(
            "--devices is not supported with --genes",
            fix="run one shard per device (--shard i/N --device cuda:i) and grelu merge them",
        )
    if out.format == "zarr" and run.shard is not None:
        raise UsageError(
            "a --genes shard writes parquet (a gene zarr store is written whole)",
            fix="pass -o shard-i.parquet, then grelu merge shard-*.parquet -o genes.zarr",
        )
