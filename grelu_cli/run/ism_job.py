"""A ``grelu ism`` job: the shared job parts plus an :class:`~grelu_cli.ism.config.ISMConfig`,
and its cheap checks.

:class:`ISMJob` composes :class:`~grelu_cli.run.config.ModelConfig`,
:class:`~grelu_cli.run.config.InputConfig` (``--bed``/``--region``/``--fasta``, genome,
``--chrom-alias``, ``--edge``), :class:`~grelu_cli.run.config.PredictConfig` (``aggregate``
reduces the kept bins to one target per task), :class:`~grelu_cli.run.config.OutputConfig`,
:class:`~grelu_cli.run.config.RunConfig` (its ``chunk_size`` counts regions:
``--chunk-regions``) and the kind's :class:`~grelu_cli.ism.config.ISMConfig`. Windows are
placed by ``grelu predict``'s own preparation (:meth:`ISMJob.predict_job`), so a region's ISM
window is the window ``grelu predict`` gives it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

from grelu_cli.core.choices import (
    AGGREGATES,
    CHROM_ALIASES,
    DTYPES,
    EDGES,
    PRECISIONS,
    check_choice,
)
from grelu_cli.errors import UsageError
from grelu_cli.genes.config import GeneConfig, check_gene_config
from grelu_cli.ism.config import ISMConfig, check_ism_config
from grelu_cli.run.config import (
    InputConfig,
    ModelConfig,
    OutputConfig,
    PredictConfig,
    PredictJob,
    RunConfig,
    absolute_output,
)
from grelu_cli.run.limits import check_options

#: ``--chunk-regions``' default: regions per committed chunk (``--resume``).
DEFAULT_CHUNK_REGIONS = 64
#: The formats ``grelu ism`` writes (result kind ``ism`` of the writer registry).
ISM_FORMATS = ("zarr", "parquet", "bigwig")


@dataclass(frozen=True)
class ISMJob:
    """One ``grelu ism`` / :func:`grelu_cli.api.ism` job."""

    kind: ClassVar[str] = "ism"
    unit: ClassVar[str] = "regions"
    chunk_option: ClassVar[str] = "--chunk-regions"

    model: ModelConfig
    input: InputConfig
    output: OutputConfig
    ism: ISMConfig = field(default_factory=ISMConfig)
    genes: GeneConfig = field(default_factory=GeneConfig)
    predict: PredictConfig = field(default_factory=lambda: PredictConfig(aggregate="mean"))
    run: RunConfig = field(default_factory=lambda: RunConfig(chunk_size=DEFAULT_CHUNK_REGIONS))

    @property
    def chunked(self) -> bool:
        """Parquet and bigWig outputs resume from committed part files; a zarr store
        records its own written regions."""
        return self.run.resume and self.output.format != "zarr"

    def predict_job(self) -> PredictJob:
        """The ``grelu predict`` job with the same model, input and prediction options: its
        preparation places the windows and builds the predictor."""
        out = OutputConfig(output=self.output.output, format="parquet")
        pred = self.predict
        if self.genes.active:  # every kept bin: the gene's bins are summed per window
            pred = replace(pred, aggregate=None)
        run = RunConfig(
            device=self.run.device,
            threads=self.run.threads,
            resume=self.chunked,  # the predictor keeps memory as predict's chunked path does
        )
        return PredictJob(self.model, self.input, out, pred, run)

    def options(self) -> dict[str, Any]:
        """Every option by its CLI name (provenance and fingerprint record these)."""
        out: dict[str, Any] = {}
        for part in (self.model, self.input, self.output, self.predict, self.run, self.ism):
            for f in fields(part):
                value = getattr(part, f.name)
                out[f.name] = list(value) if isinstance(value, tuple) else value
        for unused in ("layout", "compile", "devices", "num_workers", "tile", "chrom"):
            out.pop(unused, None)
        g = self.genes
        out.update(
            genes=g.genes,
            gene_types=list(g.gene_types) if g.gene_types is not None else None,
            gene_ids=list(g.gene_ids) if g.gene_ids is not None else None,
            gene_ids_file=g.gene_ids_file,
            gene_bins=g.gene_bins,
            gene_span=g.gene_span,
        )
        out["fmt"] = out.pop("format")
        out["chunk_regions"] = out.pop("chunk_size")
        out["output"] = absolute_output(self.output.output) if self.output.output else None
        return out


def ism_format(output: str, fmt: str | None = None) -> str:
    """The output format from ``fmt`` or ``output``'s name: zarr, parquet or bigwig."""
    from grelu_cli.io.formats.registry import format_for

    name = format_for(output, fmt)
    if name not in ISM_FORMATS:
        raise UsageError(f"grelu ism does not write {name}", fix="write .zarr, .parquet or DIR/")
    return name


def check_ism_job(job: ISMJob) -> None:
    """Every check that needs neither torch nor the model (UsageError, exit 2)."""
    inp, out, pred, run = job.input, job.output, job.predict, job.run
    for value, allowed, name in (
        (inp.chrom_alias, CHROM_ALIASES, "--chrom-alias"),
        (inp.edge, EDGES, "--edge"),
        (pred.aggregate, AGGREGATES, "--aggregate"),
        (pred.precision, PRECISIONS, "--precision"),
        (out.dtype, DTYPES, "--dtype"),
    ):
        check_choice(value, allowed, name)
    check_ism_config(job.ism)
    check_gene_config(job.genes)
    if job.genes.active and inp.fasta is not None:
        raise UsageError(
            "--genes needs genomic coordinates but the input is --fasta",
            fix="give regions with --bed/--region/--vcf and --genome",
        )
    if job.genes.active and job.genes.gene_ids is None and job.genes.gene_ids_file is None:
        raise UsageError(
            "grelu ism --genes scores one gene", fix="name it with --gene-ids ID_OR_NAME"
        )
    given = [n for n, v in (("--bed", inp.bed), ("--fasta", inp.fasta)) if v is not None]
    given += ["--region"] if inp.region else []
    given += ["--vcf"] if job.ism.vcf is not None else []
    if len(given) != 1:
        raise UsageError(
            "grelu ism takes exactly one input" + (f" (got {', '.join(given)})" if given else ""),
            fix="pass --bed FILE, --region chr:start-end, --fasta FILE or --vcf FILE",
        )
    if inp.fasta is None and inp.genome is None:
        raise UsageError(f"{given[0]} needs --genome", fix="pass --genome FASTA")
    if out.dtype != "float32" and out.format != "zarr":
        raise UsageError(
            f"--dtype {out.dtype} applies to zarr output only (parquet and bigWig store float32)",
            fix="write a zarr store (-o ism.zarr) or drop --dtype",
        )
    if out.format == "bigwig" and inp.fasta is not None:
        raise UsageError(
            "bigWig output needs genomic coordinates but the input is --fasta",
            fix="write zarr (-o ism.zarr) or parquet",
        )
    if out.format == "bigwig" and run.shard is not None:
        raise UsageError(
            "--shard with bigWig output: shards write into one zarr store",
            fix="run the shards with -o ism.zarr, then grelu merge ism.zarr, then "
            "grelu merge ism.zarr -o tracks/",
        )
    if run.resume and out.overwrite:
        raise UsageError(
            "--resume and --overwrite were both given",
            fix="--resume continues or keeps an output, --overwrite replaces it: pick one",
        )
    if job.model.arch is None and job.model.param:
        raise UsageError("--param needs --arch", fix="pass --arch NAME or drop --param")
    check_options(job.options())  # the numeric ranges of run/limits.py
    if run.shard is not None:
        from grelu_cli.core.shards import parse_shard

        parse_shard(run.shard)
