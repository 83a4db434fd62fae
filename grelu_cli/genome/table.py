"""The region list as a compact table: numpy columns, not one Python object per region.

A million BED lines take about 40 MB here (chrom id, start, end, strand, line number, and the
names in one byte buffer), so the input can be read once, validated, counted and split into
shards without holding a Python object per region. Builders read BED files, ``--region``
strings, whole chromosomes (``--chrom``) and FASTA records, sending bad lines to a
:class:`~grelu_cli.genome.report.ValidationReport`.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grelu_cli.genome.genome import Genome
from grelu_cli.genome.report import ValidationReport
from grelu_cli.io.readers.bed import read_bed
from grelu_cli.io.readers.fasta import FastaSource
from grelu_cli.io.readers.regions import RegionSpec
from grelu_cli.io.readers.textfile import display_name

#: Unknown-chromosome line numbers kept per name (the count keeps growing past this).
_KEEP_LINES = 5


class _Names:
    """Names in one UTF-8 byte buffer with offsets; '' means "no name"."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.offsets = array("q", [0])

    def append(self, name: str | None) -> None:
        if name:
            self.buf += name.encode("utf-8")
        self.offsets.append(len(self.buf))


@dataclass
class RegionTable:
    """Input regions in input order, as numpy columns (length ``n``).

    Attributes:
        kind: "genome" (BED, --region, --chrom) or "fasta" (records; coordinates relative to
            the record, ``chrom`` all -1).
        source: how messages name the input (a path, ``<stdin>``, ``--region``, ``--chrom``).
        chrom_names: genome chromosome names; ``chrom`` holds indices into this list.
        chrom_sizes: (C,) int64 sizes of ``chrom_names``.
        chrom: (n,) int32 chromosome index, -1 when unknown to the genome (or FASTA).
        start, end: (n,) int64 0-based half-open region as given (FASTA: 0 and the length).
        minus: (n,) bool, True for '-' strand.
        line: (n,) int64 1-based line (BED line, FASTA header line, or option position).
        name_buf, name_off: names as UTF-8 bytes; region i is ``name_buf[name_off[i]:
            name_off[i+1]]`` ('' when absent).
        offset, nbytes: (n,) int64 FASTA sequence location (None for genome input).
        fasta_path: the seekable FASTA file records are read from (None for genome input).
        unknown: input chromosome name -> the first few lines naming it, for messages.
        unknown_counts: input chromosome name -> regions naming it.
    """

    kind: str
    source: str
    chrom_names: list[str]
    chrom_sizes: np.ndarray
    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    minus: np.ndarray
    line: np.ndarray
    name_buf: bytes
    name_off: np.ndarray
    offset: np.ndarray | None = None
    nbytes: np.ndarray | None = None
    fasta_path: str | None = None
    unknown: dict[str, list[int]] = field(default_factory=dict)
    unknown_counts: dict[str, int] = field(default_factory=dict)
    labels: list[str] | None = None
    _keepalive: object = None

    def __len__(self) -> int:
        return len(self.start)

    def raw_name(self, i: int) -> str:
        """The name given in the input ('' when there was none)."""
        return self.name_buf[self.name_off[i] : self.name_off[i + 1]].decode("utf-8")

    def chrom_name(self, i: int) -> str | None:
        """The genome's chromosome name for region ``i`` (None for FASTA or unknown)."""
        c = int(self.chrom[i])
        return self.chrom_names[c] if c >= 0 else None

    def where(self, i: int) -> str:
        """Message prefix locating region ``i``: ``file line N`` or ``--region 'text'``."""
        if self.labels is not None:
            return f"{self.source} {self.labels[i]!r}"
        return f"{self.source} line {int(self.line[i])}"

    def nbytes_used(self) -> int:
        """Memory held by the columns, in bytes."""
        cols = [self.chrom, self.start, self.end, self.minus, self.line, self.name_off]
        cols += [c for c in (self.offset, self.nbytes) if c is not None]
        return sum(c.nbytes for c in cols) + len(self.name_buf)

    def __getstate__(self) -> dict:
        # Worker processes get the columns; the spooled-FASTA owner stays in this process.
        state = self.__dict__.copy()
        state["_keepalive"] = None
        return state


def table_from_arrays(
    chrom_sizes: dict[str, int],
    chrom: list[str],
    start: list[int] | np.ndarray,
    end: list[int] | np.ndarray,
    strand: list[str] | None = None,
    names: list[str | None] | None = None,
    source: str = "<table>",
) -> RegionTable:
    """A genome-input table from plain columns (tests, and callers that already hold
    regions); chromosome names must be keys of ``chrom_sizes``."""
    order = list(chrom_sizes)
    ids = {c: i for i, c in enumerate(order)}
    n = len(chrom)
    nm = _Names()
    for x in names if names is not None else [None] * n:
        nm.append(x)
    return RegionTable(
        kind="genome",
        source=source,
        chrom_names=order,
        chrom_sizes=np.array([chrom_sizes[c] for c in order], dtype=np.int64),
        chrom=np.array([ids[c] for c in chrom], dtype=np.int32),
        start=np.asarray(start, dtype=np.int64),
        end=np.asarray(end, dtype=np.int64),
        minus=np.array([s == "-" for s in (strand or ["+"] * n)], dtype=bool),
        line=np.arange(1, n + 1, dtype=np.int64),
        name_buf=bytes(nm.buf),
        name_off=np.frombuffer(nm.offsets, dtype=np.int64).copy(),
    )


class _GenomeBuilder:
    def __init__(self, genome: Genome, source: str) -> None:
        self.genome = genome
        self.source = source
        self.ids = {c: i for i, c in enumerate(genome.chroms)}
        self.chrom = array("i")
        self.start = array("q")
        self.end = array("q")
        self.minus = array("b")
        self.line = array("q")
        self.names = _Names()
        self.unknown: dict[str, list[int]] = {}
        self.unknown_counts: dict[str, int] = {}

    def add(self, chrom: str, start: int, end: int, strand: str, name: str | None, line: int):
        resolved = self.genome.resolve(chrom)
        if resolved is None:
            self.unknown_counts[chrom] = self.unknown_counts.get(chrom, 0) + 1
            lines = self.unknown.setdefault(chrom, [])
            if len(lines) < _KEEP_LINES:
                lines.append(line)
            self.chrom.append(-1)
        else:
            self.chrom.append(self.ids[resolved])
        self.start.append(start)
        self.end.append(end)
        self.minus.append(strand == "-")
        self.line.append(line)
        self.names.append(name)

    def build(self, labels: list[str] | None = None) -> RegionTable:
        sizes = np.array([self.genome.sizes[c] for c in self.genome.chroms], dtype=np.int64)
        return RegionTable(
            kind="genome",
            source=self.source,
            chrom_names=list(self.genome.chroms),
            chrom_sizes=sizes,
            chrom=np.frombuffer(self.chrom, dtype=np.int32).copy(),
            start=np.frombuffer(self.start, dtype=np.int64).copy(),
            end=np.frombuffer(self.end, dtype=np.int64).copy(),
            minus=np.frombuffer(self.minus, dtype=np.int8).astype(bool),
            line=np.frombuffer(self.line, dtype=np.int64).copy(),
            name_buf=bytes(self.names.buf),
            name_off=np.frombuffer(self.names.offsets, dtype=np.int64).copy(),
            unknown=self.unknown,
            unknown_counts=self.unknown_counts,
            labels=labels,
        )


def table_from_bed(path: str | Path, genome: Genome, report: ValidationReport) -> RegionTable:
    """Read a BED file (or ``-``) into a table; bad lines go to ``report`` and are skipped."""
    b = _GenomeBuilder(genome, display_name(path))
    for rec in read_bed(path, on_error=report.error):
        b.add(rec.chrom, rec.start, rec.end, rec.strand, rec.name, rec.line)
    return b.build()


def table_from_regions(specs: Iterable[RegionSpec], genome: Genome) -> RegionTable:
    """``--region`` values (already parsed) as a table; ``line`` is the option's position."""
    specs = list(specs)
    b = _GenomeBuilder(genome, "--region")
    for i, s in enumerate(specs, start=1):
        b.add(s.chrom, s.start, s.end, s.strand, None, i)
    return b.build(labels=[s.text for s in specs])


def table_from_chroms(chroms: Iterable[str], genome: Genome) -> RegionTable:
    """Whole chromosomes (``--chrom``), each as the region ``[0, size)`` on '+'."""
    chroms = list(chroms)
    b = _GenomeBuilder(genome, "--chrom")
    for i, c in enumerate(chroms, start=1):
        resolved = genome.resolve(c)
        size = genome.sizes[resolved] if resolved is not None else 1
        b.add(c, 0, size, "+", None, i)
    return b.build(labels=chroms)


def table_from_fasta(source: FastaSource, report: ValidationReport) -> RegionTable:
    """Scan FASTA records into a table; bad records go to ``report``."""
    length = array("q")
    line = array("q")
    offset = array("q")
    nbytes = array("q")
    names = _Names()
    for e in source.scan(on_error=report.error):
        length.append(e.length)
        line.append(e.line)
        offset.append(e.offset)
        nbytes.append(e.nbytes)
        names.append(e.name)
    n = len(length)
    return RegionTable(
        kind="fasta",
        source=source.name,
        chrom_names=[],
        chrom_sizes=np.zeros(0, dtype=np.int64),
        chrom=np.full(n, -1, dtype=np.int32),
        start=np.zeros(n, dtype=np.int64),
        end=np.frombuffer(length, dtype=np.int64).copy(),
        minus=np.zeros(n, dtype=bool),
        line=np.frombuffer(line, dtype=np.int64).copy(),
        name_buf=bytes(names.buf),
        name_off=np.frombuffer(names.offsets, dtype=np.int64).copy(),
        offset=np.frombuffer(offset, dtype=np.int64).copy(),
        nbytes=np.frombuffer(nbytes, dtype=np.int64).copy(),
        fasta_path=source.path,
        _keepalive=source,
    )
