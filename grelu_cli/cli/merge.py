"""``grelu merge``: join the shard outputs of ``grelu predict --shard i/N`` into one output.

Parquet shards are merged into one file (or bigWigs); a zarr store, which every shard wrote
into, is finalized in place, or turned into bigWig files. Parses the options, calls
:mod:`grelu_cli.run.merge` and prints the summary.
"""

from __future__ import annotations

import typer

from grelu_cli.cli.options import examples, one_of
from grelu_cli.core.choices import LOG_FORMATS, OVERLAPS
from grelu_cli.errors import UsageError

EPILOG = examples(
    "grelu merge shard-0.parquet shard-1.parquet shard-2.parquet -o preds.parquet",
    "grelu merge shards/*.parquet -o tracks/          # shards of a --format bigwig run",
    "grelu merge shards/*.parquet -o 'out/{task}.bw' --log-format json",
    "grelu merge preds.zarr                           # finalize a store its shards wrote",
    "grelu merge preds.zarr --format bigwig -o tracks/ --tasks DNASE:K562,CAGE:K562",
    "grelu merge effects-*.zarr -o effects.zarr       # shards of grelu variants -o X.zarr",
    "grelu merge ism.zarr -o importance/              # a grelu ism store's bigWig tracks",
)


def merge(
    inputs: list[str] = typer.Argument(
        ...,
        metavar="IN...",
        help="Every shard output of one run, any order (parquet files, or a variants run's "
        "zarr stores), or one grelu predict zarr store to finalize.",
    ),
    output: str | None = typer.Option(
        None,
        "--output",
        "-o",
        help="X.parquet for parquet shards; DIR/ or 'out/{task}.bw' for bigWig shards or a "
        "zarr store's tracks; X.zarr or X.parquet for a variants run's shards. Not needed to "
        "finalize a zarr store.",
    ),
    fmt: str | None = typer.Option(
        None, "--format", "-f", help="bigwig: write a zarr store's tracks (default: from -o)."
    ),
    tasks: str | None = typer.Option(
        None, "--tasks", help="zarr to bigWig: comma-separated tasks to write (default: all)."
    ),
    overlap: str = typer.Option(
        "mean",
        "--overlap",
        help=f"zarr to bigWig: overlapping predictions of a base: {one_of(OVERLAPS)}.",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary line."),
    log_format: str = typer.Option(
        "text", "--log-format", help="text, or json: one JSON object per line on stderr."
    ),
) -> None:
    """Merge the N shards of a sharded `grelu predict`, `grelu variants` or `grelu ism` run.

    Checks that all N shards of the same run (same model, input and options) are present,
    each once, then writes exactly what one unsharded run writes: parquet row for row, or
    one bigWig per task (for shards of a --format bigwig run). A zarr store (the shards of a
    -o X.zarr run all write into it) is finalized in place once every window is written, or
    turned into bigWig files with --format bigwig -o DIR/.
    """
    from grelu_cli.cli.runlog import RunLog
    from grelu_cli.run import merge as run_merge

    if log_format not in LOG_FORMATS:
        raise UsageError(
            f"--log-format {log_format!r} is not allowed", fix=f"use {one_of(LOG_FORMATS)}"
        )
    if overlap not in OVERLAPS:
        raise UsageError(f"--overlap {overlap!r} is not allowed", fix=f"use {one_of(OVERLAPS)}")
    log = RunLog(log_format, quiet=quiet)  # type: ignore[arg-type]
    store = run_merge.is_store(inputs)
    if not store and (tasks is not None or fmt is not None or overlap != "mean"):
        raise UsageError(
            "--format, --tasks and --overlap apply to a zarr store's tracks only",
            fix="merging parquet shards writes what the shards' run would have written",
        )
    if store and output is None:
        if fmt is not None or tasks is not None:
            raise UsageError("--format/--tasks need -o", fix="pass -o tracks/ for bigWig files")
        log.start("merge", inputs=1, output=inputs[0])
        record = run_merge.finalize(inputs[0])
        counts = record.get("counts") or {}
        clipped = (
            f", {counts['clipped']:,} values clipped to float16" if counts.get("clipped") else ""
        )
        log.summary(
            f"finalized {inputs[0]}: {counts.get('windows_written', 0):,} windows{clipped}",
            output=inputs[0],
            files=[inputs[0]],
            **counts,
        )
        return
    if output is None:
        raise UsageError("grelu merge of shard files needs -o", fix="pass -o merged.parquet")
    log.start("merge", inputs=len(inputs), output=output)
    if store:
        names = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else None
        files, nonfinite = run_merge.store_to_tracks(
            inputs[0], output, fmt=fmt, tasks=names, overlap=overlap, overwrite=overwrite
        )
        if nonfinite:
            log.warn(
                f"{nonfinite:,} NaN/inf predictions were not written to bigWig", count=nonfinite
            )
        log.summary(f"{inputs[0]} -> {', '.join(files)}", output=output, files=files)
        return
    files = run_merge.merge_shards(inputs, output, overwrite)
    log.summary(
        f"merged {len(inputs)} shards -> {', '.join(files)}",
        output=output,
        files=files,
        shards=len(inputs),
    )
