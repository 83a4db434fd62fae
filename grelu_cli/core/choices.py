"""Every fixed choice list of a prediction run, in one place.

The library validates against these tuples and the CLI builds its help and checks from them,
so a new choice is added here once.
"""

from __future__ import annotations

#: Parquet layouts: a row per region x task x bin, or a column per task.
LAYOUTS = ("long", "wide")
#: What a bigWig writer does with overlapping predictions of one base.
OVERLAPS = ("mean", "first", "error")
#: Windows that run past a chromosome end.
EDGES = ("pad", "error", "drop", "shift")
#: One value per region and task, over the kept bins.
AGGREGATES = ("mean", "sum", "max", "min")
#: Autocast precisions.
PRECISIONS = ("fp32", "bf16", "fp16")
#: Chromosome-name matching between input and genome.
CHROM_ALIASES = ("none", "auto")
#: Device names ``--device`` takes (``cuda:N`` as well).
DEVICES = ("auto", "cpu", "cuda")
#: How a run reports on stderr.
LOG_FORMATS = ("text", "json")
#: Value types of a dense zarr store (float16 clips finite values beyond +-65,504).
DTYPES = ("float32", "float16")
#: Output formats: the writer registry's names in its order
#: (``grelu_cli.io.formats.registry.FORMATS``, kept equal by a test), listed here so that the
#: CLI's help need not import io.
FORMATS = ("parquet", "bigwig", "zarr")


def check_choice(value: str | None, allowed: tuple[str, ...], option: str) -> None:
    """Raise UsageError (naming ``option``) when ``value`` is not one of ``allowed``."""
    from grelu_cli.errors import UsageError

    if value is not None and value not in allowed:
        raise UsageError(
            f"{option} {value!r} is not allowed", fix=f"use one of {', '.join(allowed)}"
        )
