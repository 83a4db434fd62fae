"""One call from the CLI's input options to a validated, lazy window plan.

:func:`prepare_input` reads the input (BED, FASTA, ``--region`` or ``--chrom``), builds the
compact region table and the window plan, and validates both against the genome and the
model geometry, collecting every problem in a report instead of raising (so ``--dry-run``
can list them). :meth:`PreparedInput.check` then raises the first problem (exit 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grelu_cli.core.alias import ALIAS_MODES
from grelu_cli.core.geometry import Geometry
from grelu_cli.errors import MissingResourceError, UsageError
from grelu_cli.genome.genome import Genome
from grelu_cli.genome.plan import EDGE_MODES, RunCounts, WindowPlan
from grelu_cli.genome.report import ValidationReport
from grelu_cli.genome.sequence import WindowSequences
from grelu_cli.genome.table import (
    RegionTable,
    table_from_bed,
    table_from_chroms,
    table_from_fasta,
    table_from_regions,
)
from grelu_cli.genome.validate import validate
from grelu_cli.io.readers.fasta import FastaSource
from grelu_cli.io.readers.regions import parse_region


@dataclass
class PreparedInput:
    """Everything the predict loop needs from the input side.

    Attributes:
        table: the regions (compact numpy columns).
        plan: the lazy window plan (``plan.count()``, ``plan.windows(lo, hi)``).
        genome: the genome (None for FASTA input).
        sequences: reads and encodes windows (hand it to the loader).
        report: problems found; ``report.lines()`` is what ``--dry-run`` prints.
    """

    table: RegionTable
    plan: WindowPlan
    genome: Genome | None
    sequences: WindowSequences
    report: ValidationReport

    def counts(self) -> RunCounts:
        """Run counts for the summary and metadata."""
        return self.plan.counts()

    def check(self) -> None:
        """Raise the first error as InputDataError (exit 3) when the report has any."""
        self.report.raise_if_errors()

    def summary(self) -> str:
        """One line for ``--dry-run`` and logs, e.g. ``1,000 regions from a.bed -> 1,000
        windows of 2,048 bp (resize, --edge pad): 3 padded, 0 dropped``."""
        p, c = self.plan, self.counts()
        length = f"{p.seq_len:,} bp" if p.seq_len is not None else "their own length"
        mode = "tile" if p.tile else ("resize" if p.seq_len is not None else "as is")
        return (
            f"{c.regions:,} regions from {self.table.source} -> {c.windows:,} windows of "
            f"{length} ({mode}, --edge {p.edge}): {c.padded_windows:,} padded, "
            f"{c.dropped_windows:,} dropped, {c.shifted_windows:,} shifted"
        )

    def provenance(self) -> dict[str, object]:
        """Input facts for output metadata (JSON-ready)."""
        p = self.plan
        out: dict[str, object] = {
            "input": self.table.source,
            "input_kind": "fasta" if self.table.kind == "fasta" else "genome",
            "seq_len": p.seq_len,
            "tile": p.tile,
            "edge": p.edge,
            "counts": self.counts().as_dict(),
        }
        if self.genome is not None:
            out["genome"] = self.genome.path
            out["genome_fai_sha256"] = self.genome.index_sha256()
            out["chrom_alias"] = self.genome.resolver.mode
        return out


def prepare_input(
    *,
    bed: str | Path | None = None,
    fasta: str | Path | None = None,
    regions: Sequence[str] = (),
    chroms: Sequence[str] = (),
    genome: str | Path | None = None,
    chrom_alias: str = "none",
    seq_len: int | None,
    geometry: Geometry | None = None,
    tile: bool = False,
    edge: str = "pad",
    spool_dir: str | Path | None = None,
    center_bins: int | None = None,
) -> PreparedInput:
    """Read and validate the input; bad data ends up in ``.report`` (bad options raise).

    Args:
        bed: BED path or ``-`` (needs ``genome``).
        fasta: FASTA path or ``-`` (each record is one input).
        regions: ``--region`` strings, 1-based inclusive (need ``genome``).
        chroms: ``--chrom`` names: whole chromosomes (need ``genome``; usually with ``tile``).
        genome: genome FASTA (indexed on first use).
        chrom_alias: "none" or "auto".
        seq_len: model input length; None takes each input as is (free-length models).
        geometry: the model's geometry (needed for ``tile`` and length checks).
        tile: tile each region with abutting output windows.
        edge: "pad", "error", "drop" or "shift".
        spool_dir: where gzip/stdin FASTA input is decompressed for random access.
        center_bins: ``--bins K``: with ``tile``, step tiles by the K kept central bins.

    Raises:
        UsageError: no input, several inputs, a genome missing, bad option values.
        MissingResourceError: a file does not exist, or the genome cannot be indexed here.
    """
    check_input(
        bed=bed,
        fasta=fasta,
        regions=regions,
        chroms=chroms,
        genome=genome,
        chrom_alias=chrom_alias,
        edge=edge,
        files=False,
    )
    if tile and (seq_len is None or geometry is None):
        raise UsageError("--tile needs a fixed input length", fix="pass --seq-len")

    report = ValidationReport()
    gen: Genome | None = None
    if fasta is not None:
        table = table_from_fasta(FastaSource(fasta, spool_dir=spool_dir), report)
    else:
        gen = Genome(genome, chrom_alias=chrom_alias)  # type: ignore[arg-type]
        if bed is not None:
            table = table_from_bed(bed, gen, report)
        elif regions:
            table = table_from_regions([parse_region(r) for r in regions], gen)
        else:
            table = table_from_chroms(chroms, gen)
    plan = WindowPlan(
        table, seq_len, tile=tile, geometry=geometry, edge=edge, center_bins=center_bins
    )
    validate(
        plan,
        report,
        genome_name=gen.name if gen else None,
        known=gen.chroms if gen else None,
        chrom_alias=chrom_alias,
    )
    return PreparedInput(table, plan, gen, WindowSequences(table, gen), report)


def check_input(
    *,
    bed: str | Path | None = None,
    fasta: str | Path | None = None,
    regions: Sequence[str] = (),
    chroms: Sequence[str] = (),
    genome: str | Path | None = None,
    chrom_alias: str = "none",
    edge: str = "pad",
    files: bool = True,
) -> None:
    """The checks of :func:`prepare_input` that read no file contents: one kind of input,
    option values, ``--region`` syntax and (with ``files``) that the named files exist.

    Cheap enough to run before the model is loaded.

    Raises:
        UsageError: no input, several inputs, a genome missing, bad option values.
        MissingResourceError: a named input file or the genome does not exist.
    """
    given = [o for o, v in (("--bed", bed), ("--fasta", fasta)) if v is not None]
    given += [o for o, v in (("--region", regions), ("--chrom", chroms)) if v]
    if not given:
        raise UsageError("no input given", fix="pass --bed FILE, --fasta FILE, --region or --chrom")
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)} given together", fix="pass one kind of input")
    if edge not in EDGE_MODES:
        raise UsageError(f"--edge {edge!r} is not a mode", fix=f"use one of {EDGE_MODES}")
    if chrom_alias not in ALIAS_MODES:
        raise UsageError(
            f"--chrom-alias {chrom_alias!r} is not a mode", fix=f"use one of {ALIAS_MODES}"
        )
    if fasta is None and genome is None:
        raise UsageError(f"{given[0]} needs --genome", fix="pass --genome FASTA")
    for r in regions:
        parse_region(r)
    if not files:
        return
    for path in (bed, fasta):
        if path is not None and str(path) != "-" and not Path(path).exists():
            raise MissingResourceError(f"input file {path} does not exist", fix="check the path")
    if fasta is None and genome is not None and not Path(genome).exists():
        raise MissingResourceError(f"genome FASTA {genome} does not exist", fix="check --genome")
