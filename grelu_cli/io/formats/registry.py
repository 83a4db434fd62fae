"""The writer registry: every output format, how its files are named, and how it is opened.

A writer is an :class:`~grelu_cli.io.fs.atomic.AllOrNothing` context manager with
``write(block)``: ``open()`` on entry, ``finish()`` (commit atomically) on success,
``abort()`` (leave nothing) on error; it lists its final files in ``paths`` and says what it
wrote in ``report()`` (a :class:`WriteReport`: rows, values not written or clipped, whether a
resumed output was found finished), read by :func:`write_report` after the ``with`` block.
Predict, variants, the chunk part writers and ``grelu merge`` open writers through
:func:`open_writer`.

A format writes one or more *result kinds*: ``tracks`` (a
:class:`~grelu_cli.core.block.Block` per batch of windows, ``grelu predict``) and ``variants``
(a :class:`~grelu_cli.core.variant_block.VariantBlock` per group of alleles, ``grelu
variants``), ``variant_genes`` (the same blocks with the per-gene columns, one row per
allele x gene pair: ``grelu variants --genes``; also Calico's ``sed.h5`` layout),
``gene_expression`` (a :class:`~grelu_cli.core.gene_block.GeneBlock` of genes, ``grelu predict
--genes``), ``ism`` (a :class:`~grelu_cli.core.ism_block.ISMBlock` per region, ``grelu
ism``) and ``attribution`` (a :class:`~grelu_cli.core.attribution_block.AttributionBlock` per
batch of windows, ``grelu attribute``; its bigWig tracks are ``tracks``). Each (format,
result kind) is one module, imported only when used, defining::

    def make_writer(spec: WriterSpec) -> Writer: ...
    def output_paths(output: str, tasks: Sequence[str]) -> list[Path]: ...

Adding a format is a module plus one line in :data:`REGISTRY`; adding a result kind to a
format is one module, named in that line's ``kinds``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from grelu_cli.core.block import Block
from grelu_cli.errors import UsageError


class Writer(Protocol):
    """What every format's writer provides (see the module docstring)."""

    paths: list[Path]

    def __enter__(self) -> Writer: ...
    def __exit__(self, *exc: object) -> None: ...
    def write(self, block: Block) -> None: ...
    def abort(self) -> None: ...


@dataclass(frozen=True)
class WriteReport:
    """What a finished writer wrote.

    Attributes:
        rows: rows (or windows, for dense formats) written.
        nonfinite: NaN/inf values a format cannot store and left out (bigWig).
        clipped: values clipped to the stored type's range (zarr ``--dtype float16``).
        already_complete: ``resume`` found the output finished and wrote nothing.
    """

    rows: int = 0
    nonfinite: int = 0
    clipped: int = 0
    already_complete: bool = False


def write_report(writer: Any) -> WriteReport:
    """``writer.report()``; a writer without one (a format written before reports existed)
    is read from the attributes the report replaces."""
    report = getattr(writer, "report", None)
    if callable(report):
        out: WriteReport = report()
        return out
    nonfinite = getattr(writer, "nonfinite", 0) or 0
    return WriteReport(
        rows=int(getattr(writer, "rows_written", 0) or 0),
        nonfinite=int(sum(nonfinite) if isinstance(nonfinite, list) else nonfinite),
        clipped=int(getattr(writer, "clipped", 0) or 0),
        already_complete=bool(getattr(writer, "already_complete", False)),
    )


@dataclass(frozen=True)
class Format:
    """One registry entry.

    Attributes:
        name: the ``--format`` value.
        suffixes: file-name endings that select this format (lower case).
        module: the module holding ``make_writer`` and ``output_paths`` for tracks (None:
            the format writes no tracks).
        tracks: takes a directory (``DIR/``) or ``{task}`` template: one file per task.
        kinds: the modules of the other result kinds it writes (``{"variants": ...}``).
    """

    name: str
    suffixes: tuple[str, ...]
    module: str | None
    tracks: bool = False
    kinds: Mapping[str, str] = field(default_factory=dict)

    def module_for(self, kind: str) -> str | None:
        """The module writing result kind ``kind`` in this format (None: it does not)."""
        return self.module if kind == "tracks" else self.kinds.get(kind)


@dataclass(frozen=True)
class WriterSpec:
    """Everything a writer factory may need; each format uses the fields that apply to it.

    Attributes:
        output: the ``-o`` value.
        tasks: task names, in the order of the blocks' task axis.
        metadata: the provenance record.
        layout: parquet layout ("long" or "wide").
        overlap: bigWig overlap mode.
        chrom_sizes: (name, length) of every chromosome of the genome, in index order.
        overwrite: replace existing outputs.
        compression: codec override (part files use a fast one).
        windows: every window of the run, in run order (a ``WindowPlan``); dense formats
            (zarr) write their coordinates from it up front.
        bin_layout: the kept output bins and their genomic spans (the predictor's layout).
        task_table: the tasks-table rows of the output tasks (pandas DataFrame) or None.
        dtype: stored value type of dense formats ("float32" or "float16").
        window_range: ``[lo, hi)`` of ``windows`` this writer fills (a shard's share).
        sharded: shards write into one shared output (zarr) instead of one file each.
        resume: continue an interrupted output of the same run, keeping what it wrote.
        kind: the result kind (``tracks``, ``variants``, ``variant_genes``).
        values: value names of a variant result (``ref_value``, ``alt_value``, scores; for
            ``variant_genes`` the statistics, then their ``{stat}_quantile``).
        columns: the leading columns of a variant result (empty: the per-allele ones).
        percentiles: ``variant_genes``: the values whose percentiles the dense formats add
            (``{stat}_pct``, Calico's ``write_pct``); ``pct_grid``: at these fractions.
    """

    output: str
    tasks: Sequence[str]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    layout: str = "long"
    overlap: str = "mean"
    chrom_sizes: Sequence[tuple[str, int]] | None = None
    overwrite: bool = False
    compression: str | None = None
    windows: Any = None
    bin_layout: Any = None
    task_table: Any = None
    dtype: str = "float32"
    window_range: tuple[int, int] | None = None
    sharded: bool = False
    resume: bool = False
    kind: str = "tracks"
    values: Sequence[str] = ()
    columns: Sequence[str] = ()
    percentiles: Sequence[str] = ()
    pct_grid: Any = None


REGISTRY: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "parquet",
            (".parquet", ".pq"),
            "grelu_cli.io.formats.parquet",
            kinds={
                "variants": "grelu_cli.io.formats.variant_parquet",
                "variant_genes": "grelu_cli.io.formats.variant_parquet",
                "gene_expression": "grelu_cli.io.formats.gene_parquet",
                "ism": "grelu_cli.io.formats.ism_parquet",
            },
        ),
        Format(
            "bigwig",
            (".bw", ".bigwig"),
            "grelu_cli.io.formats.bigwig",
            tracks=True,
            kinds={"ism": "grelu_cli.io.formats.ism_bigwig"},
        ),
        Format(
            "zarr",
            (".zarr",),
            "grelu_cli.io.formats.zarr",
            kinds={
                "variants": "grelu_cli.io.formats.variant_zarr",
                "variant_genes": "grelu_cli.io.formats.variant_zarr",
                "gene_expression": "grelu_cli.io.formats.gene_zarr",
                "ism": "grelu_cli.io.formats.ism_zarr",
                "attribution": "grelu_cli.io.formats.attribution_zarr",
            },
        ),
        Format(
            "h5",
            (".h5", ".hdf5"),
            None,
            kinds={"variant_genes": "grelu_cli.io.formats.variant_h5"},
        ),
    )
}

#: Every ``--format`` name (``grelu predict``'s: the formats that write tracks; ``h5`` is
#: chosen by its suffix for gene scores only).
FORMATS = tuple(name for name, f in REGISTRY.items() if f.module is not None)


def get_format(name: str) -> Format:
    """The registry entry of ``name`` (case-insensitive)."""
    fmt = REGISTRY.get(name.lower())
    if fmt is None:
        raise UsageError(f"--format {name!r} is not a format", fix=f"use {' or '.join(FORMATS)}")
    return fmt


def has_suffix(output: str | Path, name: str) -> bool:
    """Whether ``output``'s file name selects format ``name`` (``x.pq`` -> parquet)."""
    text = str(output).lower().rstrip("/")
    return text.endswith(REGISTRY[name].suffixes)


def format_for(output: str, fmt: str | None = None) -> str:
    """The output format: ``fmt`` if given, else inferred from ``output``.

    A registered suffix selects its format; a trailing ``/``, an existing directory or a
    ``{task}`` template selects the one-file-per-task format (bigWig).
    """
    if fmt is not None:
        return get_format(fmt).name
    for f in REGISTRY.values():
        if has_suffix(output, f.name) and not (f.tracks and output.endswith("/")):
            return f.name
    if "{task}" in output or output.endswith("/") or Path(output).is_dir():
        return next(f.name for f in REGISTRY.values() if f.tracks)
    endings = ", ".join(s for f in REGISTRY.values() for s in f.suffixes[:1])
    raise UsageError(
        f"cannot tell the output format from -o {output!r}",
        fix=f"end it in {endings}, end it in / for a bigWig directory, or pass --format",
    )


def kind_format(output: str | Path, kind: str) -> str | None:
    """The format whose suffix ``output`` ends in and that writes result kind ``kind``."""
    for f in REGISTRY.values():
        if f.module_for(kind) is not None and has_suffix(output, f.name):
            return f.name
    return None


def _module(name: str, kind: str = "tracks") -> Any:
    module = get_format(name).module_for(kind)
    if module is None:
        raise UsageError(
            f"the {name} format does not write {kind}", fix="choose another output format"
        )
    return importlib.import_module(module)


def open_writer(name: str, spec: WriterSpec) -> Writer:
    """A writer of format ``name`` for ``spec`` (of result kind ``spec.kind``; not yet
    entered)."""
    return _module(name, spec.kind).make_writer(spec)


def output_paths(name: str, output: str, tasks: Sequence[str], kind: str = "tracks") -> list[Path]:
    """The final files a writer of format ``name`` makes for ``output`` and ``tasks``."""
    return _module(name, kind).output_paths(output, tasks)
