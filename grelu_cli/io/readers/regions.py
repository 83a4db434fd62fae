"""Parse ``--region`` strings: samtools/IGV style, 1-based inclusive, commas allowed.

``chr1:1,001-2,000`` is the BED interval ``chr1 1000 2000``. An optional ``:+`` or ``:-``
suffix sets the strand (``:.`` is ``+``). Chromosome names may themselves contain ':'
(e.g. ``HLA-A*01:01``); the coordinates are matched from the right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grelu_cli.errors import UsageError

_REGION = re.compile(r"^(?P<chrom>\S+):(?P<start>[0-9,]+)-(?P<end>[0-9,]+)(?::(?P<strand>[-+.]))?$")


@dataclass(frozen=True, slots=True)
class RegionSpec:
    """A parsed ``--region``: 0-based half-open ``[start, end)`` and its text as given."""

    chrom: str
    start: int
    end: int
    strand: str
    text: str


def parse_region(text: str) -> RegionSpec:
    """Parse ``chrom:start-end[:strand]`` (1-based, inclusive) into a 0-based half-open region.

    Raises:
        UsageError: the string is malformed, the start is 0, start > end, or a coordinate is
            larger than any chromosome (:data:`~grelu_cli.io.readers.bed.MAX_COORDINATE`).
    """
    from grelu_cli.io.readers.bed import MAX_COORDINATE

    fix = "write it as chrom:start-end[:+|-], 1-based inclusive, e.g. chr1:1,001-2,000:-"
    m = _REGION.match(text.strip())
    if m is None:
        raise UsageError(f"--region {text!r} is not a region", fix=fix)
    start1 = int(m["start"].replace(",", "") or "0")
    end = int(m["end"].replace(",", "") or "0")
    for value in (start1, end):
        if value > MAX_COORDINATE:  # numpy's int64 would overflow further on
            raise UsageError(
                f"--region {text!r}: {value:,} is larger than any chromosome "
                f"(coordinates go up to {MAX_COORDINATE:,})",
                fix=fix,
            )
    if start1 < 1:
        raise UsageError(f"--region {text!r}: start {start1} is before base 1", fix=fix)
    if start1 > end:
        raise UsageError(f"--region {text!r}: start {start1} is after end {end}", fix=fix)
    strand = "-" if m["strand"] == "-" else "+"
    return RegionSpec(m["chrom"], start1 - 1, end, strand, text)
