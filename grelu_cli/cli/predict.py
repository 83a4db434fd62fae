"""``grelu predict``: regions or sequences in, predicted tracks out (parquet or bigWig).

A thin command: it parses options, then connects the library pieces in order:
``zoo.load_model`` -> ``genome.inputs.prepare_input`` (validation) -> ``predict.loader`` ->
``predict.loop.Predictor`` -> an ``io`` writer. All heavy imports happen inside the command.
"""

from __future__ import annotations

from pathlib import Path

import typer

from grelu_cli.cli.options import examples, split_csv
from grelu_cli.errors import UsageError

FORMATS = ("parquet", "bigwig")
LAYOUTS = ("long", "wide")
OVERLAPS = ("mean", "first", "error")
AGGREGATES = ("mean", "sum", "max", "min")
PRECISIONS = ("fp32", "bf16", "fp16")
LOG_FORMATS = ("text", "json")

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


def output_format(output: str, fmt: str | None) -> str:
    """The output format: ``--format`` if given, else inferred from ``-o``.

    ``.parquet``/``.pq`` -> parquet; a trailing ``/``, an existing directory, a ``{task}``
    template or ``.bw``/``.bigwig`` -> bigwig.
    """
    if fmt is not None:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise UsageError(f"--format {fmt!r} is not a format", fix="use parquet or bigwig")
        return fmt
    low = output.lower()
    if low.endswith((".parquet", ".pq")):
        return "parquet"
    if "{task}" in output or low.endswith((".bw", ".bigwig", "/")) or Path(output).is_dir():
        return "bigwig"
    raise UsageError(
        f"cannot tell the output format from -o {output!r}",
        fix="end it in .parquet, end it in / for a bigWig directory, or pass --format",
    )


def _choice(value: str | None, allowed: tuple[str, ...], option: str) -> str | None:
    if value is not None and value not in allowed:
        raise UsageError(
            f"{option} {value!r} is not allowed", fix=f"use one of {', '.join(allowed)}"
        )
    return value


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
        None, "--chrom", rich_help_panel=_IN, help="A whole chromosome (repeatable; use --tile)."
    ),
    genome: str | None = typer.Option(
        None, "--genome", "-g", rich_help_panel=_IN, help="Genome FASTA (.fai built if missing)."
    ),
    chrom_alias: str = typer.Option(
        "none",
        "--chrom-alias",
        rich_help_panel=_IN,
        help="none, or auto: match chr1/1 and chrM/MT between input and genome.",
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
        help="Windows past a chromosome end: pad (with N), shift, drop or error.",
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
        help="parquet or bigwig (default: from -o).",
    ),
    layout: str = typer.Option(
        "long",
        "--layout",
        rich_help_panel=_OUT,
        help="Parquet layout: long (row per region x task x bin) or wide (column per task).",
    ),
    overlap: str = typer.Option(
        "mean",
        "--overlap",
        rich_help_panel=_OUT,
        help="bigWig: overlapping predictions of a base: mean, first or error.",
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
        help="One value per region and task: mean, sum, max or min over bins.",
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
        "auto", "--device", rich_help_panel=_RUN, help="auto, cpu, cuda or cuda:N."
    ),
    precision: str = typer.Option(
        "fp32", "--precision", rich_help_panel=_RUN, help="fp32, bf16 or fp16 (autocast)."
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
        help="i/N: predict only the i-th (0-based) of N contiguous, balanced parts of the "
        "windows; join the N outputs with grelu merge. bigWig shards write a per-window "
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
        help="Windows per committed chunk (--resume) or per work item (--devices).",
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
    options = {k: v for k, v in locals().items()}
    from grelu_cli.cli.predict_run import PredictRequest, run_predict

    for value, allowed, name in (
        (chrom_alias, ("none", "auto"), "--chrom-alias"),
        (edge, ("pad", "shift", "drop", "error"), "--edge"),
        (layout, LAYOUTS, "--layout"),
        (overlap, OVERLAPS, "--overlap"),
        (aggregate, AGGREGATES, "--aggregate"),
        (precision, PRECISIONS, "--precision"),
        (log_format, LOG_FORMATS, "--log-format"),
    ):
        _choice(value, allowed, name)
    request = PredictRequest(
        model=model,
        replicate=replicate,
        species=species,
        arch=arch,
        params=list(param or []),
        trust_checkpoint=trust_checkpoint,
        bed=bed,
        fasta=fasta,
        regions=list(region or []),
        chroms=list(chrom or []),
        genome=genome,
        chrom_alias=chrom_alias,
        seq_len=seq_len,
        tile=tile,
        edge=edge,
        output=output,
        fmt=output_format(output, fmt),
        layout=layout,
        overlap=overlap,
        overwrite=overwrite,
        task_names=split_csv(tasks),
        tasks_file=tasks_file,
        tasks_query=tasks_query,
        aggregate=aggregate,
        bins=bins,
        rc=rc,
        shifts=shifts,
        untransform=untransform,
        logits=logits,
        device=device,
        precision=precision,
        batch_size=batch_size,
        threads=threads,
        num_workers=num_workers,
        dry_run=dry_run,
        quiet=quiet,
        log_format=log_format,
        shard=shard,
        resume=resume,
        chunk_windows=chunk_windows,
        devices=devices,
        compile_model=compile_model,
        options=options,
    )
    raise typer.Exit(run_predict(request))
