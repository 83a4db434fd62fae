"""A ``grelu variants`` job: the shared job parts plus a :class:`VariantConfig`, and its checks.

:class:`VariantJob` composes :class:`~grelu_cli.run.config.ModelConfig`,
:class:`~grelu_cli.run.config.InputConfig` (genome, ``--chrom-alias``, ``--edge``),
:class:`~grelu_cli.run.config.PredictConfig` (no ``aggregate``: the bins are reduced after
the ref/alt profiles are averaged, by :attr:`VariantConfig.aggregate`),
:class:`~grelu_cli.run.config.OutputConfig`, :class:`~grelu_cli.run.config.RunConfig` (its
``chunk_size`` counts records: ``--chunk-records``), the kind's own
:class:`~grelu_cli.variants.config.VariantConfig` and the gene options
(:class:`~grelu_cli.genes.config.GeneConfig`: ``--genes`` turns the per-task scores into
gene statistics, result kind ``variant_genes``). The model and predictor are built from
these parts by :mod:`grelu_cli.run.build`, as for ``grelu predict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from grelu_cli.core.choices import EDGES, LAYOUTS, PRECISIONS, check_choice
from grelu_cli.errors import UsageError
from grelu_cli.genes.config import GeneConfig, check_gene_config
from grelu_cli.run.config import (
    InputConfig,
    ModelConfig,
    OutputConfig,
    PredictConfig,
    RunConfig,
    absolute_output,
)
from grelu_cli.run.limits import check_options
from grelu_cli.variants.config import CHUNK_OPTION, VariantConfig, check_variant_config

#: ``--chunk-records``' default: records per committed chunk.
DEFAULT_CHUNK_RECORDS = 4096


@dataclass(frozen=True)
class VariantJob:
    """One ``grelu variants`` / :func:`grelu_cli.api.variants` job."""

    kind: ClassVar[str] = "variants"
    unit: ClassVar[str] = "records"
    chunk_option: ClassVar[str] = CHUNK_OPTION

    model: ModelConfig
    input: InputConfig
    output: OutputConfig
    variant: VariantConfig
    predict: PredictConfig = field(default_factory=PredictConfig)
    run: RunConfig = field(default_factory=lambda: RunConfig(chunk_size=DEFAULT_CHUNK_RECORDS))
    genes: GeneConfig = field(default_factory=GeneConfig)

    @property
    def result_kind(self) -> str:
        """The writer registry's result kind: ``variant_genes`` with ``--genes``."""
        return "variant_genes" if self.genes.active else "variants"

    @property
    def chunked(self) -> bool:
        """Scores chunk by chunk into part files (``resume``)."""
        return self.run.resume

    @property
    def output_path(self) -> str | None:
        """The ``-o`` value (None for a dry run without one)."""
        return self.output.output or None

    def options(self) -> dict[str, Any]:
        """Every option by its CLI name (the provenance and the fingerprint record these)."""
        m, i, p, o, r, v = self.model, self.input, self.predict, self.output, self.run, self.variant
        g = self.genes

        def listed(value: Any) -> Any:
            return list(value) if isinstance(value, tuple) else value

        out = {
            "model": m.model,
            "vcf": v.vcf,
            "genome": i.genome,
            "output": absolute_output(o.output) if o.output else None,
            "scores": v.scores,
            "ref_mismatch": v.ref_mismatch,
            "max_indel_len": v.max_indel_len,
            "pseudocount": v.pseudocount,
            "region": v.region,
            "chrom": v.chrom,
            "chrom_alias": i.chrom_alias,
            "edge": i.edge,
            "seq_len": m.seq_len,
            "replicate": m.replicate,
            "species": m.species,
            "trust_checkpoint": m.trust_checkpoint,
            "bins": p.bins,
            "aggregate": v.aggregate,
            "rc": p.rc,
            "shifts": p.shifts,
            "tasks": p.tasks,
            "tasks_file": p.tasks_file,
            "tasks_query": p.tasks_query,
            "untransform": p.untransform,
            "untransform_mode": p.untransform_mode,
            "genes": g.genes,
            "gene_types": g.gene_types,
            "gene_ids": g.gene_ids,
            "gene_ids_file": g.gene_ids_file,
            "gene_bins": g.gene_bins,
            "gene_span": g.gene_span,
            "gene_stats": g.gene_stats,
            "background": g.background,
            "precision": p.precision,
            "batch_size": p.batch_size,
            "layout": o.layout,
            "overwrite": o.overwrite,
            "device": r.device,
            "threads": r.threads,
            "shard": r.shard,
            "resume": r.resume,
            "chunk_records": r.chunk_size,
        }
        return {k: listed(value) for k, value in out.items()}


def variant_format(output: str, kind: str = "variants") -> str | None:
    """The format of ``output``'s suffix among those the writer registry can write variant
    results of ``kind`` in (``parquet``, ``zarr``; ``h5`` for ``variant_genes``), or None."""
    from grelu_cli.io.formats.registry import kind_format

    return kind_format(output, kind)


def output_format(output: str, kind: str = "variants") -> str:
    """``parquet`` or ``zarr`` (or, for gene results, ``h5``), from the output's name;
    UsageError for anything else."""
    fmt = variant_format(output, kind)
    if fmt is None:
        if kind == "variant_genes":
            raise UsageError(
                f"-o {output}: grelu variants --genes writes parquet, zarr or h5",
                fix="end the output in .parquet, .zarr or .h5 (Calico's sed.h5 layout)",
            )
        hint = (
            " (.h5 is for gene scores: add --genes GTF)"
            if output.lower().endswith((".h5", ".hdf5"))
            else ""
        )
        raise UsageError(
            f"-o {output}: grelu variants writes parquet or zarr{hint}",
            fix="end the output in .parquet (or .zarr for a dense (variant, task) store)",
        )
    return fmt


def check_variant_job(job: VariantJob) -> None:
    """Cheap option checks, before anything is read or loaded (UsageError)."""
    inp, pred, run = job.input, job.predict, job.run
    check_choice(inp.edge, EDGES, "--edge")
    check_variant_config(job.variant, inp.chrom_alias)
    check_choice(job.output.layout, LAYOUTS, "--layout")
    check_choice(pred.precision, PRECISIONS, "--precision")
    from grelu_cli.predict.transform import UNTRANSFORM_MODES

    check_choice(pred.untransform_mode, UNTRANSFORM_MODES, "--untransform-mode")
    check_gene_config(job.genes)
    if job.genes.active:
        check_gene_options(job)
    if run.resume and job.output.overwrite:
        raise UsageError(
            "--resume and --overwrite were both given",
            fix="--resume continues or keeps an output, --overwrite replaces it: pick one",
        )
    check_options(job.options())  # every numeric option's range (run/limits.py)
    if run.shard is not None:
        from grelu_cli.core.shards import parse_shard

        parse_shard(run.shard)
    if job.output_path:
        check_variant_output(job)


def check_gene_options(job: VariantJob) -> None:
    """Options that mean nothing with ``--genes`` (gene statistics replace the per-task
    scores over kept bins): UsageError when given with a value of their own."""
    from grelu_cli.variants.config import DEFAULT_SCORES

    v, p = job.variant, job.predict
    given = []
    if p.bins is not None:
        given.append("--bins (gene statistics read every output bin)")
    if v.aggregate != "mean":
        given.append("--aggregate (gene statistics sum over the gene's bins)")
    if tuple(v.scores) != tuple(DEFAULT_SCORES):
        given.append("--scores (choose gene statistics with --gene-stats)")
    if job.output.layout != "long":
        given.append("--layout (gene scores are long rows)")
    if given:
        raise UsageError(
            f"{'; '.join(given)} given with --genes",
            fix="drop them; --gene-stats picks the statistics",
        )
    out = job.output_path
    if job.run.shard is not None and out and output_format(out, job.result_kind) == "h5":
        raise UsageError(
            f"--shard writes one file per shard; -o {out} is an h5 file",
            fix="write shards as .parquet, then: grelu merge shard-*.parquet -o sed.h5",
        )


def check_variant_output(job: VariantJob) -> str:
    """The output path, checked to name a format ``grelu variants`` writes."""
    out = job.output_path
    if not out:
        raise UsageError("no output given", fix="pass -o OUT.parquet")
    if output_format(out, job.result_kind) == "zarr" and job.output.layout != "long":
        raise UsageError(
            f"--layout {job.output.layout} applies to parquet; {out} is a dense zarr store",
            fix="drop --layout, or write .parquet",
        )
    return out


def open_input(job: VariantJob) -> Any:
    """The :class:`~grelu_cli.io.readers.vcf.VariantSource` with ``--region``/``--chrom``
    applied."""
    from grelu_cli.io.readers.vcf import RegionFilter, check_region_options, open_variants

    v = job.variant
    regions = check_region_options(v.region, v.chrom)
    where = RegionFilter(regions, tuple(v.chrom), job.input.chrom_alias)
    return open_variants(v.vcf, where)


def load_variant_model(job: VariantJob, observer: Any) -> tuple[Any, int]:
    """The model (through :func:`grelu_cli.run.build.load`) and its input length."""
    from grelu_cli.run.build import input_length, load

    loaded = load(job, show_downloads=bool(getattr(observer, "show_downloads", False)))
    return loaded, input_length(job, loaded)
