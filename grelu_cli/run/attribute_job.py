"""A ``grelu attribute`` job: the shared job parts plus the attribution options, and its
cheap checks (no torch, no model).

:class:`AttributeJob` composes :class:`~grelu_cli.run.config.ModelConfig`,
:class:`~grelu_cli.run.config.InputConfig` (``--bed``/``--region`` on ``--genome``; windows
placed as ``grelu predict`` places them, one central window per region),
:class:`~grelu_cli.run.config.PredictConfig` (tasks, ``--aggregate`` over the kept ``--bins``,
``--logits``, batch size), :class:`~grelu_cli.run.config.OutputConfig` (zarr or bigWig),
:class:`~grelu_cli.run.config.RunConfig` (device, shard, resume, ``--chunk-windows``) and the
kind's own :class:`~grelu_cli.attribute.options.AttributionOptions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from grelu_cli.attribute.options import AttributionOptions, check_options
from grelu_cli.core.choices import AGGREGATES, CHROM_ALIASES, DTYPES, EDGES, OVERLAPS, check_choice
from grelu_cli.errors import UsageError
from grelu_cli.run.config import (
    InputConfig,
    ModelConfig,
    OutputConfig,
    PredictConfig,
    RunConfig,
    absolute_output,
)

#: Formats ``grelu attribute`` writes.
ATTRIBUTE_FORMATS = ("zarr", "bigwig")
#: ``--batch-size auto`` on the CPU: windows per batch (gradients hold every activation).
CPU_AUTO_ATTRIBUTE = 16
#: ... on a GPU.
CUDA_AUTO_ATTRIBUTE = 128


@dataclass(frozen=True)
class AttributeJob:
    """One ``grelu attribute`` / :func:`grelu_cli.api.attribute` job."""

    kind: ClassVar[str] = "attribute"
    unit: ClassVar[str] = "windows"
    chunk_option: ClassVar[str] = "--chunk-windows"

    model: ModelConfig
    input: InputConfig
    output: OutputConfig
    attribution: AttributionOptions = field(default_factory=AttributionOptions)
    predict: PredictConfig = field(default_factory=lambda: PredictConfig(aggregate="mean"))
    run: RunConfig = field(default_factory=lambda: RunConfig(chunk_size=256))

    @property
    def chunked(self) -> bool:
        """bigWig with ``resume``: chunk by chunk into part files (a zarr store resumes by
        itself; a bigWig shard writes one parquet file)."""
        return self.output.format == "bigwig" and self.run.resume and self.run.shard is None

    @property
    def dense(self) -> bool:
        return self.output.format == "zarr"

    @property
    def shard_file(self) -> bool:
        """A bigWig shard writes a per-window parquet file (``grelu merge`` makes bigWigs)."""
        return self.output.format == "bigwig" and self.run.shard is not None

    def options(self) -> dict[str, Any]:
        """Every option by its CLI name (provenance and the fingerprint record these)."""
        m, i, o, p, r, a = (
            self.model,
            self.input,
            self.output,
            self.predict,
            self.run,
            self.attribution,
        )
        out: dict[str, Any] = {
            "model": m.model,
            "replicate": m.replicate,
            "species": m.species,
            "trust_checkpoint": m.trust_checkpoint,
            "seq_len": m.seq_len,
            "bed": i.bed,
            "region": list(i.region),
            "genome": i.genome,
            "chrom_alias": i.chrom_alias,
            "edge": i.edge,
            "output": absolute_output(o.output) if o.output else None,
            "fmt": o.format,
            "overlap": o.overlap,
            "overwrite": o.overwrite,
            "dtype": o.dtype,
            "tasks": list(p.tasks) if p.tasks is not None else None,
            "tasks_file": p.tasks_file,
            "tasks_query": p.tasks_query,
            "aggregate": p.aggregate,
            "bins": p.bins,
            "logits": p.logits,
            "batch_size": p.batch_size,
            "device": r.device,
            "threads": r.threads,
            "shard": r.shard,
            "resume": r.resume,
            "chunk_windows": r.chunk_size,
        }
        for f in fields(a):
            out[f.name] = getattr(a, f.name)
        return out


def attribute_format(output: str, fmt: str | None) -> str:
    """``zarr`` or ``bigwig``: ``fmt``, else from the output's name (UsageError otherwise)."""
    from grelu_cli.io.formats.registry import format_for

    name = format_for(output, fmt)
    if name not in ATTRIBUTE_FORMATS:
        raise UsageError(
            f"-o {output}: grelu attribute writes a zarr store or bigWig tracks, not {name}",
            fix="end -o in .zarr, or give a directory (-o tracks/ --format bigwig)",
        )
    return name


def check_attribute_job(job: AttributeJob) -> None:
    """Option values and combinations, input files, output path: UsageError (exit 2) or
    MissingResourceError (exit 4) before torch is imported."""
    from grelu_cli.core.shards import parse_shard
    from grelu_cli.genome.inputs import check_input
    from grelu_cli.run.limits import check_options as check_ranges

    inp, out, pred, run = job.input, job.output, job.predict, job.run
    check_options(job.attribution)
    for value, allowed, name in (
        (inp.chrom_alias, CHROM_ALIASES, "--chrom-alias"),
        (inp.edge, EDGES, "--edge"),
        (out.overlap, OVERLAPS, "--overlap"),
        (pred.aggregate, AGGREGATES, "--aggregate"),
        (out.dtype, DTYPES, "--dtype"),
    ):
        check_choice(value, allowed, name)
    if job.attribution.method == "deepliftshap" and pred.aggregate in ("max", "min"):
        raise UsageError(
            f"--aggregate {pred.aggregate} has no DeepLIFT rule (it picks one bin per window)",
            fix="use --aggregate mean or sum with --method deepliftshap",
        )
    if inp.bed is None and not inp.region:
        raise UsageError("no regions given", fix="pass --bed FILE or --region chr:start-end")
    if inp.genome is None:
        raise UsageError("grelu attribute needs --genome", fix="pass --genome FASTA")
    if out.dtype != "float32" and out.format != "zarr":
        raise UsageError(
            f"--dtype {out.dtype} applies to zarr output only (bigWig stores float32)",
            fix="write a zarr store (-o attr.zarr) or drop --dtype",
        )
    if run.resume and out.overwrite:
        raise UsageError(
            "--resume and --overwrite were both given",
            fix="--resume continues or keeps an output, --overwrite replaces it: pick one",
        )
    check_ranges(job.options())
    check_input(
        bed=inp.bed,
        regions=list(inp.region),
        genome=inp.genome,
        chrom_alias=inp.chrom_alias,
        edge=inp.edge,
    )
    if run.shard is not None:
        parse_shard(run.shard)
    if out.output:  # a dry run may have none
        check_attribute_output(job)


def check_attribute_output(job: AttributeJob) -> bool:
    """The output may be written (True: ``resume`` finds it finished, nothing to do)."""
    from grelu_cli.io.formats.registry import has_suffix
    from grelu_cli.io.fs.atomic import check_output

    out, run = job.output, job.run
    if not out.output:
        raise UsageError("no output given", fix="pass -o ATTR.zarr (or -o DIR/ --format bigwig)")
    if job.dense:
        from grelu_cli.io.formats.zarr import check_zarr_output

        return check_zarr_output(
            out.output, overwrite=out.overwrite, sharded=run.shard is not None, resume=run.resume
        )
    if job.shard_file:
        if not has_suffix(out.output, "parquet"):
            raise UsageError(
                f"a bigWig shard (--format bigwig --shard) writes one per-window parquet file "
                f"that grelu merge turns into bigWigs, but -o {out.output} is not a .parquet path",
                fix="pass e.g. -o shard-0.parquet, then grelu merge shard-*.parquet -o tracks/",
            )
        if run.resume and Path(out.output).is_file():
            return True
        check_output(out.output, overwrite=out.overwrite)
        return False
    return False
