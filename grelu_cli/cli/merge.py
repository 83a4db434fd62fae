"""``grelu merge``: join the shard outputs of ``grelu predict --shard i/N`` into one output.

Parses the options, calls :func:`grelu_cli.run.merge.merge_shards` and prints the summary.
"""

from __future__ import annotations

import typer

from grelu_cli.cli.options import examples, one_of
from grelu_cli.core.choices import LOG_FORMATS
from grelu_cli.errors import UsageError

EPILOG = examples(
    "grelu merge shard-0.parquet shard-1.parquet shard-2.parquet -o preds.parquet",
    "grelu merge shards/*.parquet -o tracks/          # shards of a --format bigwig run",
    "grelu merge shards/*.parquet -o 'out/{task}.bw' --log-format json",
)


def merge(
    inputs: list[str] = typer.Argument(
        ..., metavar="IN...", help="Every shard file of one run (any order)."
    ),
    output: str = typer.Option(
        ...,
        "--output",
        "-o",
        help="X.parquet for parquet shards; DIR/ or 'out/{task}.bw' for bigWig shards.",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary line."),
    log_format: str = typer.Option(
        "text", "--log-format", help="text, or json: one JSON object per line on stderr."
    ),
) -> None:
    """Merge the N shards of a sharded `grelu predict` or `grelu variants` run into one output.

    Checks that all N shards of the same run (same model, input and options) are present,
    each once, then writes exactly what one unsharded run writes: parquet row for row, or
    one bigWig per task (for shards of a --format bigwig run).
    """
    from grelu_cli.cli.runlog import RunLog

    if log_format not in LOG_FORMATS:
        raise UsageError(
            f"--log-format {log_format!r} is not allowed", fix=f"use {one_of(LOG_FORMATS)}"
        )
    log = RunLog(log_format, quiet=quiet)  # type: ignore[arg-type]
    log.start("merge", inputs=len(inputs), output=output)
    from grelu_cli.run.merge import merge_shards

    files = merge_shards(inputs, output, overwrite)
    log.summary(
        f"merged {len(inputs)} shards -> {', '.join(files)}",
        output=output,
        files=files,
        shards=len(inputs),
    )
