"""``grelu predict``: regions or sequences in, predicted tracks out (parquet or bigWig).

A thin command: it parses the options into a :class:`~grelu_cli.run.config.PredictJob`
(:func:`grelu_cli.api.job`), runs it (:func:`grelu_cli.run.job.run_job`) with a
:class:`~grelu_cli.cli.runlog.RunLog` rendering progress and warnings, and prints the summary.
All heavy imports happen inside the library, after the cheap checks.
"""

from __future__ import annotations

from pathlib import Path

import typer

from grelu_cli.cli.options import examples, one_of
from grelu_cli.core.choices import (
    AGGREGATES,
    CHROM_ALIASES,
    DEVICES,
    EDGES,
    LAYOUTS,
    LOG_FORMATS,
    OVERLAPS,
    PRECISIONS,
)
from grelu_cli.errors import UsageError
from grelu_cli.io.writers import FORMATS

_IN = "Input"
_MODEL = "Model"
_OUT = "Output"
_PRED = "Prediction"
_RUN = "Run"
_FLOW = "Workflows"

EPILOG = examples(
    "grelu predict --model borzoi --bed regions.bed --genome hg38.fa -o preds.parquet",
    "grelu predict -m model.ckpt --bed peaks.bed --genome hg38.fa --format bigwig -o tracks/",
    "grelu predict -m enformer --region chr1:1,000,001-1,200,000 --genome hg38.fa --tile "
    "--tasks-query \"assay == 'CAGE'\" -o 'out/{task}.bw'",
    "grelu predict -m model.ckpt --fasta seqs.fa --layout wide -o preds.parquet",
    "grelu predict -m model.ckpt --bed regions.bed --genome hg38.fa --dry-run",
    "grelu predict -m model.ckpt --bed regions.bed --genome hg38.fa --shard 0/8 --resume "
    "-o shard-0.parquet --log-format json",
)


def predict(
    # Model
    model: str = typer.Option(
        ...,
        "--model",
        "-m",
        rich_help_panel=_MODEL,
        help="Zoo name (borzoi), Hub repo (Org/repo or Org/repo/file) or checkpoint file.",
    ),
    replicate: int | None = typer.Option(
        None, "--replicate", rich_help_panel=_MODEL, help="Zoo replicate (default 0)."
    ),
    species: str | None = typer.Option(
        None, "--species", rich_help_panel=_MODEL, help="Zoo species: human or mouse."
    ),
    arch: str | None = typer.Option(
        None,
        "--arch",
        rich_help_panel=_MODEL,
        help="Architecture for weights-only files (.pt state dicts, .safetensors).",
    ),
    param: list[str] | None = typer.Option(
        None,
        "--param",
        rich_help_panel=_MODEL,
        help="KEY=VALUE constructor argument for --arch (repeatable).",
    ),
    trust_checkpoint: bool = typer.Option(
        False,
        "--trust-checkpoint",
        rich_help_panel=_MODEL,
        help="Allow arbitrary pickled objects in the checkpoint (only for files you trust).",
    ),
    # Input
    bed: str | None = typer.Option(
        None, "--bed", rich_help_panel=_IN, help="BED file of regions (0-based), '-' for stdin."
    ),
    fasta: str | None = typer.Option(
        None, "--fasta", rich_help_panel=_IN, help="FASTA of sequences, one input per record."
    ),
    region: list[str] | None = typer.Option(
        None,
        "--region",
        rich_help_panel=_IN,
        help="chr:start-end or chr:start-end:-, 1-based inclusive like samtools (repeatable).",
    ),
    chrom: list[str] | None = typer.Option(
        None, "--chrom", rich_help_panel=_IN, help="A whole chromosome, tiled (repeatable)."
    ),
    genome: str | None = typer.Option(
        None, "--genome", "-g", rich_help_panel=_IN, help="Genome FASTA (.fai built if missing)."
    ),
    chrom_alias: str = typer.Option(
        "none",
        "--chrom-alias",
        rich_help_panel=_IN,
        help=f"{one_of(CHROM_ALIASES)}; auto matches chr1/1 and chrM/MT between input and genome.",
    ),
    seq_len: int | None = typer.Option(
        None,
        "--seq-len",
        rich_help_panel=_IN,
        help="Model input length in bp (default: the model's training length).",
    ),
    tile: bool = typer.Option(
        False,
        "--tile",
        rich_help_panel=_IN,
        help="Cover each region with windows whose output bins abut (a contiguous track).",
    ),
    edge: str = typer.Option(
        "pad",
        "--edge",
        rich_help_panel=_IN,
        help=f"Windows past a chromosome end: {one_of(EDGES)} (pad fills with N).",
    ),
    # Output
    output: str = typer.Option(
        ...,
        "--output",
        "-o",
        rich_help_panel=_OUT,
        help="X.parquet, DIR/ (one DIR/{task}.bw per task) or a 'out/{task}.bw' template.",
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        "-f",
        rich_help_panel=_OUT,
        help=f"{one_of(FORMATS)} (default: from -o).",
    ),
    layout: str = typer.Option(
        "long",
        "--layout",
        rich_help_panel=_OUT,
        help=f"Parquet layout: {one_of(LAYOUTS)} (long: row per region x task x bin; wide: "
        "column per task).",
    ),
    overlap: str = typer.Option(
        "mean",
        "--overlap",
        rich_help_panel=_OUT,
        help=f"bigWig: overlapping predictions of a base: {one_of(OVERLAPS)}.",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", rich_help_panel=_OUT, help="Replace existing outputs."
    ),
    # Prediction
    tasks: str | None = typer.Option(
        None, "--tasks", rich_help_panel=_PRED, help="Comma-separated task names to keep."
    ),
    tasks_file: Path | None = typer.Option(
        None, "--tasks-file", rich_help_panel=_PRED, help="File of task names, one per line."
    ),
    tasks_query: str | None = typer.Option(
        None,
        "--tasks-query",
        rich_help_panel=_PRED,
        help="Select tasks by an expression over the tasks table's columns (comparisons, "
        "and/or/not, in, .str.contains/startswith...), e.g. \"assay == 'CAGE'\"; not Python.",
    ),
    aggregate: str | None = typer.Option(
        None,
        "--aggregate",
        rich_help_panel=_PRED,
        help=f"One value per region and task: {one_of(AGGREGATES)} over bins.",
    ),
    bins: int | None = typer.Option(
        None, "--bins", rich_help_panel=_PRED, help="Keep only the central K output bins."
    ),
    rc: bool = typer.Option(
        False,
        "--rc",
        rich_help_panel=_PRED,
        help="Average with the reverse complement (strand-paired tracks swapped).",
    ),
    shifts: int = typer.Option(
        0, "--shifts", rich_help_panel=_PRED, help="Average over shifts of -N..+N bp."
    ),
    untransform: bool = typer.Option(
        False,
        "--untransform",
        rich_help_panel=_PRED,
        help="Borzoi: undo the published track squashing (scale, clip_soft, 3/4 power).",
    ),
    logits: bool = typer.Option(
        False, "--logits", rich_help_panel=_PRED, help="Raw model outputs, no activation."
    ),
    # Run
    device: str = typer.Option(
        "auto", "--device", rich_help_panel=_RUN, help=f"{', '.join(DEVICES)} or cuda:N."
    ),
    precision: str = typer.Option(
        "fp32", "--precision", rich_help_panel=_RUN, help=f"{one_of(PRECISIONS)} (autocast)."
    ),
    batch_size: str = typer.Option(
        "auto",
        "--batch-size",
        "-b",
        rich_help_panel=_RUN,
        help="Windows per forward pass, or auto (GPU: largest that fits).",
    ),
    threads: int | None = typer.Option(
        None, "--threads", rich_help_panel=_RUN, help="CPU threads for torch."
    ),
    num_workers: int | None = typer.Option(
        None,
        "--num-workers",
        rich_help_panel=_RUN,
        help="Processes reading and encoding sequences (default: by CPU count).",
    ),
    compile_model: bool = typer.Option(
        False,
        "--compile",
        rich_help_panel=_RUN,
        help="torch.compile the model (pays off on GPUs for long runs; falls back to eager).",
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        rich_help_panel=_RUN,
        help="Check the input against the genome and model, report, and exit.",
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", rich_help_panel=_RUN, help="No progress bar or summary."
    ),
    log_format: str = typer.Option(
        "text",
        "--log-format",
        rich_help_panel=_RUN,
        help="text, or json: one JSON object per line on stderr (start, progress, warning, "
        "summary, error).",
    ),
    # Workflows
    shard: str | None = typer.Option(
        None,
        "--shard",
        rich_help_panel=_FLOW,
        help="i/N: predict only the i-th (0-based) of N contiguous parts of the windows, "
        "balanced in whole batches (give every shard the same --batch-size); join the N "
        "outputs with grelu merge. bigWig shards write a per-window "
        ".parquet (-o shard-i.parquet).",
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        rich_help_panel=_FLOW,
        help="Commit the run chunk by chunk and continue an interrupted run from its last "
        "committed chunk; a finished output is left as it is (exit 0).",
    ),
    chunk_windows: int = typer.Option(
        512,
        "--chunk-windows",
        rich_help_panel=_FLOW,
        help="Windows per committed chunk (--resume) or per work item (--devices), rounded "
        "up to whole batches.",
    ),
    devices: str | None = typer.Option(
        None,
        "--devices",
        rich_help_panel=_FLOW,
        help="cuda:0,cuda:1,... or all: one worker process per device over interleaved "
        "chunks, one output in input order.",
    ),
) -> None:
    """Predict tracks for regions (BED, --region, --chrom) or sequences (FASTA).

    Writes parquet (long or wide layout, with provenance metadata) or one bigWig per task.
    Outputs appear only when complete; errors leave nothing behind.
    """
    from grelu_cli import api
    from grelu_cli.cli.runlog import RunLog

    if log_format not in LOG_FORMATS:
        raise UsageError(
            f"--log-format {log_format!r} is not allowed",
            fix=f"use one of {', '.join(LOG_FORMATS)}",
        )
    job = api.job(
        model=model,
        replicate=replicate,
        species=species,
        arch=arch,
        param=list(param or []),
        trust_checkpoint=trust_checkpoint,
        seq_len=seq_len,
        bed=bed,
        fasta=fasta,
        region=list(region or []),
        chrom=list(chrom or []),
        genome=genome,
        chrom_alias=chrom_alias,
        tile=tile,
        edge=edge,
        output=output,
        format=fmt,
        layout=layout,
        overlap=overlap,
        overwrite=overwrite,
        tasks=tasks,
        tasks_file=tasks_file,
        tasks_query=tasks_query,
        aggregate=aggregate,
        bins=bins,
        rc=rc,
        shifts=shifts,
        untransform=untransform,
        logits=logits,
        precision=precision,
        batch_size=batch_size,
        compile=compile_model,
        device=device,
        devices=devices,
        threads=threads,
        num_workers=num_workers,
        shard=shard,
        resume=resume,
        chunk_windows=chunk_windows,
    )
    if dry_run:
        from grelu_cli.run.job import dry_run as check

        report = check(job)
        for line in report.lines:
            typer.echo(line)  # stdout: the report is the command's output
        raise typer.Exit(0 if report.ok else 3)
    from grelu_cli.run.job import run_job

    log = RunLog(log_format, quiet=quiet)  # type: ignore[arg-type]
    summary = run_job(job, log)
    log.summary(summary.line(), **summary.fields())
