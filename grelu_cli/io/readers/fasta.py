"""Read FASTA input (one model input per record) by scanning once and seeking later.

:func:`scan_fasta` streams the file and yields one :class:`FastaEntry` per record: its name
(the header's first word), its header line number, its length and where its sequence bytes
lie, checking every character on the way. :class:`FastaRecords` later reads a record's sequence
by offset, so only the records being encoded are ever in memory. Gzip input and stdin cannot
be seeked; they are copied (decompressed) to a temporary file during the scan.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from grelu_cli.core.alphabet import DNA_CHARS
from grelu_cli.errors import InputDataError
from grelu_cli.io.readers.textfile import display_name, open_binary

OnError = Callable[[str], None]

_DNA_BYTES = bytes(sorted(DNA_CHARS))
_SPACE = b" \t\r\n\x0b\x0c"


@dataclass(frozen=True, slots=True)
class FastaEntry:
    """One record: header line number, name, sequence length and its bytes' location.

    ``offset`` is the byte offset of the first sequence line and ``nbytes`` the bytes up to the
    next header (line breaks included) in the file the scan leaves for reading.
    """

    line: int
    name: str
    length: int
    offset: int
    nbytes: int


class FastaSource:
    """A scannable FASTA input; after :meth:`scan`, :attr:`path` is a seekable plain file."""

    def __init__(self, path: str | Path, spool_dir: str | Path | None = None) -> None:
        self.given = str(path)
        self.name = display_name(path)
        self.path: str | None = None
        self._spool_dir = spool_dir

    def scan(self, on_error: OnError | None = None) -> Iterator[FastaEntry]:
        """Yield the records in file order, validating their characters.

        Args:
            on_error: receives one-line messages for bad records (which are still yielded
                when they have a sequence, so indices stay aligned); None raises on the first.

        Raises:
            InputDataError: bad content (when ``on_error`` is None).
            MissingResourceError: the file does not exist.
        """

        def report(msg: str) -> None:
            if on_error is None:
                raise InputDataError(msg)
            on_error(msg)

        with open_binary(self.given) as stream:
            spool = self._spool(stream)
            yield from _scan(stream, spool, self.name, report)
            if spool is not None:
                spool.close()

    def _spool(self, stream: BinaryIO) -> BinaryIO | None:
        """Plain seekable files are read in place; anything else is copied as it is scanned."""
        plain = self.given != "-" and not isinstance(stream, gzip.GzipFile)
        if plain:
            self.path = self.given
            return None
        fd, tmp = tempfile.mkstemp(prefix="grelu-fasta-", suffix=".fa", dir=self._spool_dir)
        self.path = tmp
        # Delete the copy when this source is garbage-collected or the process exits (only in
        # the process that made it: forked workers hold copies of this object).
        weakref.finalize(self, _unlink, tmp, os.getpid())
        return os.fdopen(fd, "wb")


def _unlink(path: str, pid: int) -> None:
    if os.getpid() == pid:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _scan(
    stream: BinaryIO, spool: BinaryIO | None, name: str, report: Callable[[str], None]
) -> Iterator[FastaEntry]:
    offset = 0
    current: list | None = None  # [line, name, length, seq_offset, bad_reported]
    lineno = 0
    for lineno, raw in enumerate(stream, start=1):
        if spool is not None:
            spool.write(raw)
        if raw.startswith(b">"):
            if current is not None:
                entry = _finish(current, offset, name, report)
                if entry is not None:
                    yield entry
            try:
                header = raw[1:].decode("utf-8").strip()
            except UnicodeDecodeError as err:
                report(
                    f"{name} line {lineno}: header is not UTF-8 text (byte "
                    f"0x{raw[1 + err.start]:02x} at column {err.start + 2}) (record names "
                    "must be UTF-8 text; fix the header)"
                )
                header = raw[1:].decode("utf-8", errors="replace").strip()
            words = header.split()
            if not words:
                report(f"{name} line {lineno}: header '>' has no name (write '>name ...')")
            current = [lineno, words[0] if words else f"record{lineno}", 0, offset + len(raw), 0]
        else:
            seq = raw.translate(None, _SPACE)
            if seq:
                if current is None:
                    report(
                        f"{name} line {lineno}: sequence before the first '>' header "
                        "(is this a FASTA file?)"
                    )
                    current = [lineno, f"line{lineno}", 0, offset, 1]
                bad = seq.translate(None, _DNA_BYTES)
                if bad and not current[4]:
                    col = current[2] + seq.index(bad[:1]) + 1
                    report(
                        f"{name} line {lineno}: record {current[1]!r} has non-DNA character "
                        f"{bad[:1].decode('latin-1')!r} at base {col} (use A, C, G, T, N or "
                        "IUPAC codes; remove gaps and protein sequences)"
                    )
                    current[4] = 1
                current[2] += len(seq)
        offset += len(raw)
    if spool is not None:
        spool.flush()
    if current is not None:
        entry = _finish(current, offset, name, report)
        if entry is not None:
            yield entry
    else:
        report(f"{name}: no FASTA records found (is the file empty?)")


def _finish(
    current: list, offset: int, name: str, report: Callable[[str], None]
) -> FastaEntry | None:
    line, rec_name, length, seq_offset, _ = current
    if length == 0:
        report(f"{name} line {line}: record {rec_name!r} has no sequence (remove it)")
        return None
    return FastaEntry(line, rec_name, length, seq_offset, offset - seq_offset)


class FastaRecords:
    """Random access to scanned records' sequences; open lazily, one handle per process."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid: int | None = None

    def read(self, offset: int, nbytes: int) -> bytes:
        """The sequence bytes of one record (line breaks removed, case kept)."""
        if self._fd is None or self._pid != os.getpid():
            # A handle inherited through fork shares its offset; pread avoids that, but a
            # fresh descriptor per process keeps workers fully independent.
            self._fd = os.open(self.path, os.O_RDONLY)
            self._pid = os.getpid()
        return os.pread(self._fd, nbytes, offset).translate(None, _SPACE)

    def __getstate__(self) -> dict:
        return {"path": self.path, "_fd": None, "_pid": None}

    def __del__(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
