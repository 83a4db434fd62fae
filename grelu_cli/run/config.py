"""Jobs as data: five shared frozen parts, composed into one job per job kind.

Every job kind is composed from what the model is (:class:`ModelConfig`), what the input is
(:class:`InputConfig`), how to predict (:class:`PredictConfig`), what to write
(:class:`OutputConfig`) and how to run (:class:`RunConfig`: device, devices, shard, resume,
chunk size), plus the kind's own part: :class:`PredictJob` (``grelu predict``) has a
:class:`~grelu_cli.genes.config.GeneConfig` (``--genes``: values per gene instead of
tracks); :class:`~grelu_cli.run.variant_job.VariantJob` adds a
:class:`~grelu_cli.variants.config.VariantConfig`. Field names follow the CLI options; the
chunk size is neutral (``chunk_size``) and each job kind names its option
(:attr:`PredictJob.chunk_option`: ``--chunk-windows``) for messages.

:func:`check_job` does every check that reads no model and imports no torch (option values,
input files, output paths), so a mistake is reported in milliseconds, not after the model load.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Protocol

from grelu_cli.core.choices import (
    AGGREGATES,
    CHROM_ALIASES,
    DTYPES,
    EDGES,
    LAYOUTS,
    OVERLAPS,
    PRECISIONS,
    check_choice,
)
from grelu_cli.errors import UsageError
from grelu_cli.genes.config import GeneConfig
from grelu_cli.io.formats.registry import has_suffix
from grelu_cli.run.limits import check_options


@dataclass(frozen=True)
class ModelConfig:
    """Which model: a zoo name, a Hub repo or a checkpoint file, and how to load it."""

    model: str
    #: One zoo replicate, or two or more (sorted) averaged as an ensemble
    #: (:func:`grelu_cli.run.replicates.parse_replicates`).
    replicate: int | tuple[int, ...] | None = None
    species: str | None = None
    arch: str | None = None
    param: tuple[str, ...] = ()
    trust_checkpoint: bool = False
    seq_len: int | None = None


@dataclass(frozen=True)
class InputConfig:
    """Which windows: regions (BED, ``region``, ``chrom``) on a genome, or FASTA records."""

    bed: str | None = None
    fasta: str | None = None
    region: tuple[str, ...] = ()
    chrom: tuple[str, ...] = ()
    genome: str | None = None
    chrom_alias: str = "none"
    tile: bool = False
    edge: str = "pad"

    @property
    def tiles(self) -> bool:
        """Whole chromosomes (``chrom``) are always tiled: one central window would cover
        a sliver of them."""
        return self.tile or bool(self.chrom)


@dataclass(frozen=True)
class PredictConfig:
    """How to predict: tasks, augmentation, bins, activation, precision, batch size."""

    tasks: tuple[str, ...] | None = None
    tasks_file: str | None = None
    tasks_query: str | None = None
    aggregate: str | None = None
    bins: int | None = None
    rc: bool = False
    shifts: int = 0
    untransform: bool = False
    untransform_mode: str = "grelu"
    logits: bool = False
    precision: str = "fp32"
    batch_size: str = "auto"
    compile: bool = False


@dataclass(frozen=True)
class OutputConfig:
    """What to write: the path (or bigWig directory/template), format and its options."""

    output: str
    format: str = "parquet"
    layout: str = "long"
    overlap: str = "mean"
    overwrite: bool = False
    dtype: str = "float32"


@dataclass(frozen=True)
class RunConfig:
    """How to run: device(s), threads, reader processes, shard, resume, chunk size.

    ``chunk_size`` counts the job kind's unit of work (windows, records); the job kind names
    the option that sets it (``chunk_option``).
    """

    device: str = "auto"
    devices: str | None = None
    threads: int | None = None
    num_workers: int | None = None
    shard: str | None = None
    resume: bool = False
    chunk_size: int = 512


class JobParts(Protocol):
    """What every job kind has: the shared parts the model and predictor are built from."""

    @property
    def model(self) -> ModelConfig: ...
    @property
    def predict(self) -> PredictConfig: ...
    @property
    def run(self) -> RunConfig: ...
    @property
    def chunked(self) -> bool: ...


@dataclass(frozen=True)
class PredictJob:
    """One ``grelu predict`` / :func:`grelu_cli.api.predict` job."""

    #: The command, the unit of work and the option that sets ``run.chunk_size``.
    kind: ClassVar[str] = "predict"
    unit: ClassVar[str] = "windows"
    chunk_option: ClassVar[str] = "--chunk-windows"

    model: ModelConfig
    input: InputConfig
    output: OutputConfig
    predict: PredictConfig = field(default_factory=PredictConfig)
    run: RunConfig = field(default_factory=RunConfig)
    genes: GeneConfig = field(default_factory=GeneConfig)

    def options(self) -> dict[str, Any]:
        """Every option by its CLI name (provenance and the shard fingerprint record these).

        ``output`` is made absolute, like the other paths the provenance records. The gene
        options are those of ``grelu predict --genes`` (not ``grelu variants``' statistics).
        """
        out: dict[str, Any] = {}
        for part in (self.model, self.input, self.output, self.predict, self.run, self.genes):
            for f in fields(part):
                if part is self.genes and f.name in _VARIANT_GENE_OPTIONS:
                    continue
                value = getattr(part, f.name)
                out[f.name] = list(value) if isinstance(value, tuple) else value
        out["fmt"] = out.pop("format")
        out["compile_model"] = out.pop("compile")
        out["chunk_windows"] = out.pop("chunk_size")
        out["output"] = absolute_output(self.output.output)
        return out

    @property
    def gene_level(self) -> bool:
        """``--genes``: one value per gene and gene task instead of tracks."""
        return self.genes.active

    @property
    def shard_file(self) -> bool:
        """A bigWig shard writes one per-window parquet file (``grelu merge`` makes the
        bigWigs)."""
        return self.output.format == "bigwig" and self.run.shard is not None

    @property
    def writes_parquet(self) -> bool:
        """The output is one parquet file (a parquet run, or a bigWig shard)."""
        return self.output.format == "parquet" or self.shard_file

    @property
    def dense(self) -> bool:
        """The output is a zarr store, which records its own written windows: shards write
        into one store and ``resume`` needs no part files."""
        return self.output.format == "zarr"

    @property
    def chunked(self) -> bool:
        """Predicts chunk by chunk into part files (``resume`` or several devices; a zarr
        store resumes by itself, so only several devices; a gene store does not)."""
        if self.dense and not self.gene_level:
            return self.run.devices is not None
        return self.run.resume or self.run.devices is not None


#: GeneConfig fields that belong to ``grelu variants --genes`` only.
_VARIANT_GENE_OPTIONS = ("gene_stats", "background")
#: ``--untransform-mode`` values.
UNTRANSFORM_MODES = ("grelu", "calico")


def absolute_output(output: str) -> str:
    """``output`` as an absolute path, keeping a trailing ``/`` (a bigWig directory)."""
    if output == "-":
        return output
    path = str(Path(output).expanduser().absolute())
    return path + "/" if output.endswith("/") and not path.endswith("/") else path


def check_job(job: PredictJob) -> None:
    """Every check that needs neither torch nor the model; raises the library's errors.

    Option values and their combinations. (Input files and the output path are checked by
    :func:`grelu_cli.run.job.check_cheap`, which also knows about ``resume``.)
    """
    inp, out, pred, run = job.input, job.output, job.predict, job.run
    for value, allowed, name in (
        (inp.chrom_alias, CHROM_ALIASES, "--chrom-alias"),
        (inp.edge, EDGES, "--edge"),
        (out.layout, LAYOUTS, "--layout"),
        (out.overlap, OVERLAPS, "--overlap"),
        (pred.aggregate, AGGREGATES, "--aggregate"),
        (pred.precision, PRECISIONS, "--precision"),
        (out.dtype, DTYPES, "--dtype"),
        (pred.untransform_mode, UNTRANSFORM_MODES, "--untransform-mode"),
    ):
        check_choice(value, allowed, name)
    from grelu_cli.genes.config import check_gene_config

    check_gene_config(job.genes)  # gene options without --genes, a missing GTF
    if job.gene_level:
        from grelu_cli.run.gene_options import check_gene_job

        check_gene_job(job)
    if out.dtype != "float32" and out.format != "zarr":
        raise UsageError(
            f"--dtype {out.dtype} applies to zarr output only (parquet and bigWig store float32)",
            fix="write a zarr store (-o preds.zarr) or drop --dtype",
        )
    if out.format == "zarr" and run.shard is not None and run.devices is not None:
        raise UsageError(
            "--devices with --shard is not supported for a zarr store",
            fix="run one shard per device (--shard i/N --device cuda:i), all into the same store",
        )
    if out.format == "zarr" and out.layout != "long":
        raise UsageError(
            "--layout applies to parquet output only (a zarr store is (window, task, bin))",
            fix="drop --layout",
        )
    if out.format == "bigwig" and inp.fasta is not None:
        raise UsageError(
            "bigWig output needs genomic coordinates but the input is --fasta",
            fix="write parquet (-o preds.parquet) or give regions with --bed/--region and --genome",
        )
    if out.format == "bigwig" and out.layout != "long":
        raise UsageError("--layout applies to parquet output only", fix="drop --layout")
    if run.resume and out.overwrite:
        raise UsageError(
            "--resume and --overwrite were both given",
            fix="--resume continues or keeps an output, --overwrite replaces it: pick one",
        )
    if job.model.arch is None and job.model.param:
        raise UsageError("--param needs --arch", fix="pass --arch NAME or drop --param")
    if run.devices is not None and run.device != "auto":
        raise UsageError(
            f"--device {run.device} and --devices {run.devices} were both given",
            fix="use --devices for several devices, --device for one",
        )
    if job.shard_file and not has_suffix(out.output, "parquet"):
        raise UsageError(
            f"a bigWig shard (--format bigwig --shard) writes one per-window parquet file that "
            f"grelu merge turns into bigWigs, but -o {out.output} is not a .parquet path",
            fix="pass e.g. -o shard-0.parquet, then grelu merge shard-*.parquet -o tracks/",
        )
    if out.format == "bigwig" and inp.genome is None:
        raise UsageError("bigWig output needs --genome", fix="pass --genome FASTA")
    check_options(job.options())  # the numeric ranges of run/limits.py
