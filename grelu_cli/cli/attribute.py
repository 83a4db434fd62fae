"""``grelu attribute``: per-base attributions of regions (saliency, input x gradient,
integrated gradients, DeepLIFT-SHAP), streamed to a zarr store or bigWig tracks.

Its parameters are :func:`grelu_cli.api.attribute_job`'s keyword arguments; the options it
shares with ``grelu predict`` are declared in :mod:`grelu_cli.cli.params`, its own here (one
declaration each); :func:`~grelu_cli.cli.runlog.execute` builds and runs the job.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from grelu_cli.cli import params
from grelu_cli.cli.options import examples

ATTRIBUTION = "Attribution"

EPILOG = examples(
    "grelu attribute -m model.ckpt --bed peaks.bed -g hg38.fa --method inputxgradient -o attr.zarr",
    "grelu attribute -m model.ckpt --region chr1:10,001-12,048 -g hg38.fa --method "
    "deepliftshap --shuffles 20 --seed 0 --hypothetical -o modisco.zarr",
    "grelu attribute -m model.ckpt --bed peaks.bed -g hg38.fa --per-task --tasks A,B "
    "--format bigwig -o attr/",
    "grelu attribute -m model.ckpt --bed peaks.bed -g hg38.fa --shard 0/4 -o attr.zarr  "
    "# every shard into one store, then: grelu merge attr.zarr",
    "grelu plot attr.zarr --region chr1:10,901-11,100 -o logo.png",
)

HELP = {
    "method": "saliency (gradient, all four bases), inputxgradient, integratedgradients "
    "(captum) or deepliftshap (tangermeme, dinucleotide-shuffled references).",
    "per_task": "One map per selected task (target = task name) instead of one for their mean "
    "(target = mean).",
    "correct_grad": "saliency: subtract each position's mean gradient over the four bases "
    "(Majdandzic et al. 2023).",
    "hypothetical": "deepliftshap: hypothetical contributions of all four bases (tf-modisco's "
    "input) instead of attribution x one-hot.",
    "shuffles": "deepliftshap: dinucleotide-shuffled references per window.",
    "seed": "deepliftshap: seed of the shuffles (shuffle k uses seed + k).",
    "ig_steps": "integratedgradients: steps from the all-zero baseline.",
    "output": "X.zarr (attribution (region, target, position, base)), or DIR/ with --format "
    "bigwig (DIR/{target}.bw: the attribution on the reference base).",
    "aggregate": "The target over the kept bins, per task: mean, sum, max or min "
    "(deepliftshap: mean or sum).",
    "batch_size": "Windows attributed per batch, or auto (CPU 16, GPU 128).",
    "shard": "i/N: attribute only the i-th (0-based) of N contiguous parts of the windows "
    "(whole batches); zarr shards all write into one store (grelu merge STORE.zarr), bigWig "
    "shards a per-window .parquet each (grelu merge shard-*.parquet -o DIR/).",
    "resume": "Continue an interrupted run (zarr: the windows already written; bigWig: the "
    "committed chunks); a finished output is left as it is (exit 0).",
    "chunk_windows": "bigWig with --resume: windows per committed chunk.",
}


def _opt(panel: str, name: str, *flags: str) -> Any:
    flags = flags or ("--" + name.replace("_", "-"),)
    return typer.Option(*flags, rich_help_panel=panel, help=HELP[name])


MethodOpt = Annotated[str, _opt(ATTRIBUTION, "method")]
PerTaskOpt = Annotated[bool, _opt(ATTRIBUTION, "per_task")]
CorrectGradOpt = Annotated[bool, _opt(ATTRIBUTION, "correct_grad")]
HypotheticalOpt = Annotated[bool, _opt(ATTRIBUTION, "hypothetical")]
ShufflesOpt = Annotated[int, _opt(ATTRIBUTION, "shuffles")]
SeedOpt = Annotated[int, _opt(ATTRIBUTION, "seed")]
IgStepsOpt = Annotated[int, _opt(ATTRIBUTION, "ig_steps")]
OutputOpt = Annotated[str | None, _opt(params.OUTPUT, "output", "--output", "-o")]
AggregateOpt = Annotated[str, _opt(params.PREDICTION, "aggregate")]
BatchSizeOpt = Annotated[str, _opt(params.RUN, "batch_size", "--batch-size", "-b")]
ShardOpt = Annotated[str | None, _opt(params.WORKFLOWS, "shard")]
ResumeOpt = Annotated[bool, _opt(params.WORKFLOWS, "resume")]
ChunkWindowsOpt = Annotated[int, _opt(params.WORKFLOWS, "chunk_windows")]


def attribute(
    *,
    model: params.ModelOpt,
    replicate: params.ReplicateOpt = None,
    species: params.SpeciesOpt = None,
    trust_checkpoint: params.TrustCheckpointOpt = False,
    bed: params.BedOpt = None,
    region: params.RegionOpt = None,
    genome: params.GenomeOpt,
    chrom_alias: params.ChromAliasOpt = "none",
    seq_len: params.SeqLenOpt = None,
    edge: params.EdgeOpt = "pad",
    output: OutputOpt = None,
    format: params.FormatOpt = None,
    overlap: params.OverlapOpt = "mean",
    overwrite: params.OverwriteOpt = False,
    dtype: params.DtypeOpt = "float32",
    method: MethodOpt = "saliency",
    per_task: PerTaskOpt = False,
    correct_grad: CorrectGradOpt = False,
    hypothetical: HypotheticalOpt = False,
    shuffles: ShufflesOpt = 20,
    seed: SeedOpt = 0,
    ig_steps: IgStepsOpt = 50,
    tasks: params.TasksOpt = None,
    tasks_file: params.TasksFileOpt = None,
    tasks_query: params.TasksQueryOpt = None,
    aggregate: AggregateOpt = "mean",
    bins: params.BinsOpt = None,
    logits: params.LogitsOpt = False,
    device: params.DeviceOpt = "auto",
    batch_size: BatchSizeOpt = "auto",
    threads: params.ThreadsOpt = None,
    shard: ShardOpt = None,
    resume: ResumeOpt = False,
    chunk_windows: ChunkWindowsOpt = 256,
    dry_run: params.DryRunOpt = False,
    quiet: params.QuietOpt = False,
    log_format: params.LogFormatOpt = "text",
) -> None:
    """Attribute regions: which bases drive the model's target, per base.

    The target of a window is its output over the kept bins reduced by --aggregate, per
    selected task, then their mean (or each task with --per-task). Windows are placed as
    grelu predict places them; every base of the window is attributed. Needs captum and
    tangermeme: pip install 'grelu-cli\\[attribute]'.
    """
    options = dict(locals())
    from grelu_cli import api
    from grelu_cli.cli.runlog import execute

    execute(options, api.attribute_job)
