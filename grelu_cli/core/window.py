"""The unit of work: one model input window and where it sits on the genome.

Readers turn regions into windows (resize, tile, edge handling); the predictor runs the model
on each window's sequence; writers place each output bin using the window's coordinates and
the model's :class:`~grelu_cli.core.geometry.Geometry`.

All coordinates are 0-based half-open. For FASTA input ``chrom`` is None and every coordinate
is relative to the record (a record shorter than the model input has a negative
``window_start``: the N padding before it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Window:
    """One model input.

    Attributes:
        index: 0-based position of this window in the run's input order.
        region_index: 0-based index of the input region (BED line, FASTA record, --region)
            that produced it; tiling yields several windows per region.
        name: BED column 4, FASTA header's first word, or ``chrom:start-end(strand)``.
        chrom: chromosome, or None for FASTA records.
        start, end: the region as given (FASTA: 0 and the record length).
        strand: "+" or "-" ("." in BED is read as "+").
        window_start, window_end: the span fed to the model, on the reference; it can run
            past a chromosome end, where the sequence is N-padded.
        pad_left, pad_right: N bases added before / after the reference sequence.
    """

    index: int
    region_index: int
    name: str
    chrom: str | None
    start: int
    end: int
    strand: str
    window_start: int
    window_end: int
    pad_left: int = 0
    pad_right: int = 0

    @property
    def padded(self) -> int:
        """Bases of N padding in the window."""
        return self.pad_left + self.pad_right

    @property
    def length(self) -> int:
        """Input length in bp."""
        return self.window_end - self.window_start
