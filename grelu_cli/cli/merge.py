"""``grelu merge``: join the shard outputs of ``grelu predict --shard i/N`` into one output.

The shards' rows are read back, in shard order, as the blocks the predictor produced and fed
into the same writer an unsharded run uses, so the merged parquet has the unsharded rows and
row groups, and merged bigWigs the unsharded values (overlaps across shard boundaries
averaged over every prediction). All heavy imports happen inside the command.
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
    """Merge the N shards of a sharded `grelu predict` run into one output.

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
    files = _merge(inputs, output, overwrite)
    log.summary(
        f"merged {len(inputs)} shards -> {', '.join(files)}",
        output=output,
        files=files,
        shards=len(inputs),
    )


def _merge(inputs: list[str], output: str, overwrite: bool) -> list[str]:
    from grelu_cli.io.merge import merged_blocks, merged_record, order_shards
    from grelu_cli.io.writers import WriterSpec, has_suffix, open_writer

    shards = order_shards(inputs)
    first = shards[0][1]
    tasks = list(first["output"]["tasks"])
    record = merged_record(shards, output)
    bigwig = first.get("bigwig")
    if bigwig is not None:
        if has_suffix(output, "parquet"):
            raise UsageError(
                f"the shards are of a --format bigwig run but -o {output} is a parquet file",
                fix="give a directory (-o tracks/) or a template ('out/{task}.bw')",
            )
        sizes = [(str(c), int(n)) for c, n in bigwig["chrom_sizes"]]
        spec = WriterSpec(output, tasks, chrom_sizes=sizes, overlap=bigwig["overlap"],
                          overwrite=overwrite)  # fmt: skip
        writer = open_writer("bigwig", spec)
    else:
        if not has_suffix(output, "parquet"):
            raise UsageError(
                f"the shards are parquet output but -o {output} does not end in .parquet",
                fix="pass -o merged.parquet",
            )
        spec = WriterSpec(output, tasks, metadata=record, layout=first["output"]["layout"],
                          overwrite=overwrite)  # fmt: skip
        writer = open_writer("parquet", spec)
    with writer:
        for block in merged_blocks(shards):
            writer.write(block)
    return [str(p) for p in writer.paths]
