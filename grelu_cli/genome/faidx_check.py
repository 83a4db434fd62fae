"""Check that a ``.fai`` index still describes its FASTA, reading only a few bytes.

An index is a table of byte offsets. If the FASTA changed after the index was built (a record
shortened, a header edited) while the old ``.fai`` stayed (copied along, newer mtime), every
fetch after the change reads the wrong bytes, silently. Before a genome is used we check, per
record, that its sequence offset lands just after a ``>NAME`` header line (the byte before it
is a newline, and the line before that starts with ``>`` and the record's name), and that the
file ends where the last record's sequence (with its line breaks) ends, give or take a missing
final newline or trailing blank lines. That is one small read per record (455 for hg38), so it
costs milliseconds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO

from grelu_cli.errors import InputDataError

_HEADER_READ = 512  # bytes read before an offset; grown when a header line is longer
_MAX_HEADER = 1 << 20
_MAX_TRAILING = 4096  # trailing whitespace allowed after the last record


@dataclass(frozen=True)
class FaiRecord:
    """One ``.fai`` line: name, length (bp), byte offset of the first base, bases per line,
    bytes per line (bases plus the line break)."""

    name: str
    length: int
    offset: int
    line_bases: int
    line_width: int

    def sequence_bytes(self) -> int:
        """Bytes from the first base to the end of the record's last line break."""
        if self.length == 0 or self.line_bases <= 0:
            return 0
        full, rest = divmod(self.length, self.line_bases)
        brk = self.line_width - self.line_bases
        return full * self.line_width + (rest + brk if rest else 0)


def read_fai_records(fai: str) -> list[FaiRecord]:
    """Every line of a samtools/pyfaidx index (five integer columns after the name)."""
    records = []
    with open(fai, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            fields = line.rstrip("\r\n").split("\t")
            try:
                name, *nums = fields[:5]
                length, offset, bases, width = (int(x) for x in nums)
            except ValueError:
                what = f"line {lineno} is malformed: {line.strip()[:60]!r}"
                raise _stale(fai, None, what) from None
            if min(length, offset, bases, width) < 0 or width < bases:
                raise _stale(fai, None, f"line {lineno} has impossible numbers")
            records.append(FaiRecord(name, length, offset, bases, width))
    return records


def check_fai(fasta: str, fai: str) -> None:
    """Raise InputDataError (exit 3) when ``fai`` does not describe ``fasta`` as it is now, or
    lists a name twice (an index left by an older grelu-cli that indexed a FASTA with
    repeated record names: reading by name would pick one of them silently)."""
    records = read_fai_records(fai)
    _check_unique(records, fasta, fai)
    size = os.path.getsize(fasta)
    with open(fasta, "rb") as fh:
        for rec in records:
            _check_header(fh, rec, size, fasta, fai)
        if records:
            last = max(records, key=lambda r: r.offset)
            _check_end(fh, last, size, fasta, fai)


def _check_unique(records: list[FaiRecord], fasta: str, fai: str) -> None:
    first: dict[str, int] = {}
    for lineno, rec in enumerate(records, start=1):
        if rec.name in first:
            raise InputDataError(
                f"genome index {fai} lists record {rec.name!r} twice (lines {first[rec.name]} "
                f"and {lineno}): {fasta} has two records with that name",
                fix=f"give every record of {fasta} a unique name, then delete {fai} so it is "
                "rebuilt",
            )
        first[rec.name] = lineno


def _check_header(fh: BinaryIO, rec: FaiRecord, size: int, fasta: str, fai: str) -> None:
    if not 0 < rec.offset <= size:
        raise _stale(
            fai, fasta, f"record {rec.name!r} starts at byte {rec.offset:,}, the file has {size:,}"
        )
    n = _HEADER_READ
    while True:
        lo = max(0, rec.offset - n)
        fh.seek(lo)
        buf = fh.read(rec.offset - lo)
        if not buf.endswith(b"\n"):
            break
        start = buf.rfind(b"\n", 0, len(buf) - 1)
        if start >= 0 or lo == 0:
            line = buf[start + 1 : -1].rstrip(b"\r")
            words = line[1:].split(maxsplit=1)
            if line.startswith(b">") and words and words[0] == rec.name.encode():
                return
            break
        if n >= _MAX_HEADER:
            break
        n *= 8
    raise _stale(
        fai,
        fasta,
        f"record {rec.name!r} does not start at byte {rec.offset:,} (no '>{rec.name}' header "
        "line just before it)",
    )


def _check_end(fh: BinaryIO, last: FaiRecord, size: int, fasta: str, fai: str) -> None:
    end = last.offset + last.sequence_bytes()
    brk = last.line_width - last.line_bases
    if end - brk <= size <= end:
        return  # complete, or the final line break missing
    if end < size <= end + _MAX_TRAILING:
        fh.seek(end)
        if not fh.read(size - end).strip():
            return  # trailing blank lines
    raise _stale(
        fai,
        fasta,
        f"its last record {last.name!r} ends at byte {end:,} but the file has {size:,} bytes",
    )


def _stale(fai: str, fasta: str | None, what: str) -> InputDataError:
    target = f"does not match {fasta}" if fasta else "is not a valid index"
    return InputDataError(
        f"genome index {fai} {target}: {what}",
        fix=f"rebuild with `samtools faidx {fasta or fai[:-4]}` or delete the .fai",
    )
