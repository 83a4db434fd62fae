"""Read BED files (BED3 to BED6+) as a stream of regions, with line numbers for messages.

Coordinates are 0-based half-open. Column 4 is the name ('.' means none), column 6 the strand
('+', '-', or '.' read as '+'); other columns are ignored. ``track``/``browser``/``#`` lines and
blank lines are skipped. Gzip input and ``-`` (stdin) are accepted. Columns are split on tabs
(or on any whitespace in a line without tabs, which some tools write).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from grelu_cli.errors import InputDataError
from grelu_cli.io.readers.textfile import display_name, iter_lines, open_binary

#: Receives one-line problem messages instead of raising (validation collects them).
OnError = Callable[[str], None]

_HEADER_WORDS = ("track", "browser")


@dataclass(frozen=True, slots=True)
class BedRecord:
    """One BED line. ``name`` is None when column 4 is absent or '.'."""

    line: int
    chrom: str
    start: int
    end: int
    name: str | None
    strand: str


#: Larger than any chromosome; keeps coordinates far inside int64.
MAX_COORDINATE = 10**12


def parse_coordinate(token: str, what: str) -> int | str:
    """Parse a BED coordinate; returns the int, or a message fragment saying what is wrong."""
    if token.isascii() and token.isdigit():
        value = int(token)
        if value > MAX_COORDINATE:
            return f"{what} {token} is larger than any chromosome (is the column order right?)"
        return value
    if token.startswith("-") and token[1:].isascii() and token[1:].isdigit():
        return f"{what} {token!r} is negative (BED coordinates are 0-based and >= 0)"
    return f"{what} {token!r} is not an integer (BED needs whole numbers, e.g. 1000 not 1e3)"


def parse_bed_line(fields: list[str], lineno: int, where: str) -> BedRecord | str:
    """Turn one line's columns into a record, or a one-line message naming the problem.

    ``where`` is the ``file line N`` prefix used in messages.
    """
    if len(fields) < 3:
        text = " ".join(fields)
        return (
            f"{where}: {len(fields)} column(s) in {text!r}; BED needs at least "
            "chrom, start, end separated by tabs"
        )
    chrom = fields[0]
    start = parse_coordinate(fields[1], "start")
    if isinstance(start, str):
        return f"{where}: {start}"
    end = parse_coordinate(fields[2], "end")
    if isinstance(end, str):
        return f"{where}: {end}"
    if start >= end:
        return (
            f"{where}: start {start} >= end {end} for {chrom}; BED intervals are 0-based "
            "half-open and must not be empty (swap them or widen the interval)"
        )
    name = fields[3] if len(fields) > 3 and fields[3] not in ("", ".") else None
    strand = "+"
    if len(fields) > 5:
        token = fields[5]
        if token == "-":
            strand = "-"
        elif token not in ("+", "."):
            return (
                f"{where}: strand (column 6) is {token!r}; it must be '+', '-' or '.' "
                "(is this a BED file with a different column layout?)"
            )
    return BedRecord(lineno, chrom, start, end, name, strand)


def _is_int(tokens: list[str]) -> bool:
    return bool(tokens) and tokens[0].lstrip("-").isdigit()


def read_bed(path: str | Path, on_error: OnError | None = None) -> Iterator[BedRecord]:
    """Yield the regions of a BED file in file order.

    Args:
        path: a file (plain or gzip), or ``-`` for stdin.
        on_error: called with a one-line message for each bad line, which is then skipped;
            when None the first bad line raises.

    Raises:
        InputDataError: a bad line (when ``on_error`` is None) or undecodable input.
        MissingResourceError: the file does not exist.
    """
    name = display_name(path)
    first_data = True
    with open_binary(path) as stream:
        for lineno, text in iter_lines(stream, name):
            if not text.strip() or text.startswith("#"):
                continue
            fields = text.split("\t") if "\t" in text else text.split()
            if fields[0] in _HEADER_WORDS or fields[0].startswith(("track ", "browser ")):
                continue
            rec = parse_bed_line(fields, lineno, f"{name} line {lineno}")
            if isinstance(rec, str) and first_data and not _is_int(fields[1:2]):
                rec += "; a column header line? start it with '#' or remove it"
            first_data = False
            if isinstance(rec, str):
                if on_error is None:
                    raise InputDataError(rec)
                on_error(rec)
                continue
            yield rec
