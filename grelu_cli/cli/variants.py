"""``grelu variants``: variant effect prediction from a VCF (or table) against a genome.

A thin command: it parses options into a :class:`~grelu_cli.run.variants.VariantJob`
(through :func:`grelu_cli.api.variants_job`), calls
:func:`~grelu_cli.run.variants.run_variants` (or the dry run) with the same
:class:`~grelu_cli.cli.runlog.RunLog` as ``grelu predict`` (progress, warnings, JSON log), and
prints the summary. Heavy imports happen inside the command.
"""

from __future__ import annotations

import typer

from grelu_cli.cli.options import examples
from grelu_cli.core.choices import LOG_FORMATS
from grelu_cli.errors import UsageError

_IN = "Input"
_MODEL = "Model"
_OUT = "Output"
_SCORE = "Scores"
_PRED = "Prediction"
_RUN = "Run"

EPILOG = examples(
    "grelu variants -m model.ckpt --vcf calls.vcf.gz --genome hg38.fa -o effects.parquet",
    "grelu variants -m borzoi --vcf gtex.vcf.gz -g hg38.fa --chrom-alias auto "
    "--scores diff,log2fc,sad --rc --tasks-query \"assay == 'CAGE'\" -o eqtl.parquet",
    "grelu variants -m borzoi --vcf gwas.vcf.gz -g hg38.fa --scores logsed -o effects.zarr",
    "grelu variants -m model.ckpt --vcf calls.vcf.gz -g hg38.fa --region chr1:1-2,000,000 "
    "--ref-mismatch swap -o part.parquet",
    "grelu variants -m model.ckpt --vcf variants.tsv -g hg38.fa --dry-run",
    "grelu variants -m model.ckpt --vcf calls.vcf.gz -g hg38.fa --shard 0/8 --resume "
    "-o shard-0.parquet  # then: grelu merge shard-*.parquet -o effects.parquet",
)


def variants(
    model: str = typer.Option(
        ...,
        "--model",
        "-m",
        rich_help_panel=_MODEL,
        help="Zoo name, Hub repo (Org/repo or Org/repo/file) or checkpoint file.",
    ),
    replicate: int | None = typer.Option(
        None, "--replicate", rich_help_panel=_MODEL, help="Zoo replicate (default 0)."
    ),
    species: str | None = typer.Option(
        None, "--species", rich_help_panel=_MODEL, help="Zoo species: human or mouse."
    ),
    trust_checkpoint: bool = typer.Option(
        False,
        "--trust-checkpoint",
        rich_help_panel=_MODEL,
        help="Allow arbitrary pickled objects in the checkpoint (only for files you trust).",
    ),
    vcf: str = typer.Option(
        ...,
        "--vcf",
        rich_help_panel=_IN,
        help="VCF, VCF.gz or BCF; or a TSV/CSV/parquet table with chrom, pos, ref, alt[, id].",
    ),
    genome: str = typer.Option(
        ..., "--genome", "-g", rich_help_panel=_IN, help="Genome FASTA (.fai built if missing)."
    ),
    region: list[str] | None = typer.Option(
        None,
        "--region",
        rich_help_panel=_IN,
        help="Only variants in chr:start-end (1-based inclusive; repeatable). Uses the "
        "tabix/CSI index when present.",
    ),
    chrom: list[str] | None = typer.Option(
        None, "--chrom", rich_help_panel=_IN, help="Only variants on this chromosome (repeatable)."
    ),
    chrom_alias: str = typer.Option(
        "none",
        "--chrom-alias",
        rich_help_panel=_IN,
        help="none, or auto: match chr1/1 and chrM/MT between variants and genome.",
    ),
    seq_len: int | None = typer.Option(
        None, "--seq-len", rich_help_panel=_IN, help="Model input length (default: the model's)."
    ),
    edge: str = typer.Option(
        "pad",
        "--edge",
        rich_help_panel=_IN,
        help="Windows past a chromosome end: pad (with N), shift, drop or error.",
    ),
    ref_mismatch: str = typer.Option(
        "skip",
        "--ref-mismatch",
        rich_help_panel=_IN,
        help="REF differs from the genome: skip (count), warn (score with the VCF's REF), "
        "error (exit 3), swap (score swapped REF/ALT with the sign of VCF ALT - REF).",
    ),
    max_indel_len: int = typer.Option(
        50,
        "--max-indel-len",
        rich_help_panel=_IN,
        help="Longest indel scored (bp of length change); longer ones are skipped.",
    ),
    output: str | None = typer.Option(
        None,
        "--output",
        "-o",
        rich_help_panel=_OUT,
        help="Output .parquet file, or .zarr for a dense (variant, task) store.",
    ),
    layout: str = typer.Option(
        "long",
        "--layout",
        rich_help_panel=_OUT,
        help="Parquet: long (row per allele x task) or wide (row per allele, {task}_{value} "
        "columns).",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", rich_help_panel=_OUT, help="Replace an existing output."
    ),
    scores: str = typer.Option(
        "diff",
        "--scores",
        rich_help_panel=_SCORE,
        help="Comma-separated: diff, ratio, log2fc, logit_diff, sad, logsed, d1, d2, sax.",
    ),
    pseudocount: float = typer.Option(
        0.0, "--pseudocount", rich_help_panel=_SCORE, help="c in log2((alt + c) / (ref + c))."
    ),
    aggregate: str = typer.Option(
        "mean",
        "--aggregate",
        rich_help_panel=_SCORE,
        help="ref_value/alt_value over the kept bins: mean, sum, max or min.",
    ),
    bins: int | None = typer.Option(
        None, "--bins", rich_help_panel=_SCORE, help="Keep only the central K output bins."
    ),
    tasks: str | None = typer.Option(
        None, "--tasks", rich_help_panel=_PRED, help="Comma-separated task names to keep."
    ),
    tasks_file: str | None = typer.Option(
        None, "--tasks-file", rich_help_panel=_PRED, help="File of task names, one per line."
    ),
    tasks_query: str | None = typer.Option(
        None, "--tasks-query", rich_help_panel=_PRED, help="pandas query over the tasks table."
    ),
    rc: bool = typer.Option(
        False,
        "--rc",
        rich_help_panel=_PRED,
        help="Average ref and alt with their reverse complements (strand pairs swapped).",
    ),
    shifts: int = typer.Option(
        0, "--shifts", rich_help_panel=_PRED, help="Average over shifts of -N..+N bp."
    ),
    untransform: bool = typer.Option(
        False, "--untransform", rich_help_panel=_PRED, help="Borzoi: undo the track squashing."
    ),
    device: str = typer.Option(
        "auto", "--device", rich_help_panel=_RUN, help="auto, cpu, cuda or cuda:N."
    ),
    precision: str = typer.Option(
        "fp32", "--precision", rich_help_panel=_RUN, help="fp32, bf16 or fp16 (autocast)."
    ),
    batch_size: str = typer.Option(
        "auto", "--batch-size", "-b", rich_help_panel=_RUN, help="Windows per forward pass."
    ),
    threads: int | None = typer.Option(
        None, "--threads", rich_help_panel=_RUN, help="CPU threads for torch."
    ),
    shard: str | None = typer.Option(
        None,
        "--shard",
        rich_help_panel=_RUN,
        help="i/N: score the i-th (0-based) of N contiguous parts of the records (whole "
        "groups of records); join the N outputs with grelu merge.",
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        rich_help_panel=_RUN,
        help="Commit the run chunk by chunk and continue an interrupted run from its last "
        "committed chunk; a finished output is left as it is (exit 0).",
    ),
    chunk_records: int = typer.Option(
        4096,
        "--chunk-records",
        rich_help_panel=_RUN,
        help="Records per committed chunk (--resume; rounded up to whole groups).",
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        rich_help_panel=_RUN,
        help="Check every variant against the genome (REF, chromosomes, positions), "
        "report, and exit.",
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", rich_help_panel=_RUN, help="No progress bar or summary."
    ),
    log_format: str = typer.Option(
        "text", "--log-format", rich_help_panel=_RUN, help="text, or json (one object per line)."
    ),
) -> None:
    """Score variant effects: ref and alt windows through the model, compared per task.

    One row per ALT allele x task with ref_value, alt_value and the requested scores.
    REF is always checked against the genome (ref_status). Outputs appear only when complete.
    """
    from grelu_cli import api
    from grelu_cli.cli.runlog import RunLog

    if log_format not in LOG_FORMATS:
        raise UsageError(
            f"--log-format {log_format!r} is not allowed",
            fix=f"use one of {', '.join(LOG_FORMATS)}",
        )
    if output is None and not dry_run:
        raise UsageError("no output given", fix="pass -o OUT.parquet (or --dry-run)")
    job = api.variants_job(
        model=model,
        vcf=vcf,
        genome=genome,
        output=output,
        scores=scores,
        ref_mismatch=ref_mismatch,
        max_indel_len=max_indel_len,
        pseudocount=pseudocount,
        bins=bins,
        aggregate=aggregate,
        rc=rc,
        shifts=shifts,
        tasks=tasks,
        tasks_file=tasks_file,
        tasks_query=tasks_query,
        untransform=untransform,
        precision=precision,
        device=device,
        batch_size=batch_size,
        threads=threads,
        chrom_alias=chrom_alias,
        edge=edge,
        region=list(region or []),
        chrom=list(chrom or []),
        layout=layout,
        overwrite=overwrite,
        seq_len=seq_len,
        replicate=replicate,
        species=species,
        trust_checkpoint=trust_checkpoint,
        shard=shard,
        resume=resume,
        chunk_records=chunk_records,
    )
    if dry_run:
        from grelu_cli.run.variants import dry_run_variants

        report = dry_run_variants(job)
        for line in report.lines:
            typer.echo(line)  # stdout: the report is the command's output
        raise typer.Exit(0 if report.ok else 3)
    from grelu_cli.run.variants import run_variants

    log = RunLog(log_format, quiet=quiet)  # type: ignore[arg-type]
    summary = run_variants(job, log)
    log.summary(summary.line(), **summary.fields())
