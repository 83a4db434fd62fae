"""Open a text input for line-by-line reading: a path, ``-`` for stdin, gzip detected by content.

Readers (BED, FASTA) share this so that every input accepts the same forms. Gzip is recognised
by its magic bytes, not the file name, so ``zcat``-free piping and misnamed files both work.
"""

from __future__ import annotations

import gzip
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from grelu_cli.errors import InputDataError, MissingResourceError

_GZIP_MAGIC = b"\x1f\x8b"


def display_name(path: str | Path) -> str:
    """How messages name an input: the path as given, or ``<stdin>`` for ``-``."""
    return "<stdin>" if str(path) == "-" else str(path)


@contextmanager
def open_binary(path: str | Path) -> Iterator[BinaryIO]:
    """Open ``path`` (or stdin for ``-``) as a binary stream, decompressing gzip transparently.

    Raises:
        MissingResourceError: the file does not exist or cannot be read.
    """
    if str(path) == "-":
        raw: BinaryIO = sys.stdin.buffer
        owned = False
    else:
        try:
            raw = open(path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise MissingResourceError(
                f"input file {path} does not exist", fix="check the path"
            ) from None
        except (IsADirectoryError, PermissionError) as err:
            raise MissingResourceError(
                f"input file {path} cannot be read: {err.strerror}", fix="check the path"
            ) from None
        owned = True
    buffered: Any = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
    try:
        if buffered.peek(2)[:2] == _GZIP_MAGIC:
            with gzip.GzipFile(fileobj=buffered, mode="rb") as gz:
                yield gz  # type: ignore[misc]
        else:
            yield buffered
    finally:
        if owned:
            raw.close()


def iter_lines(stream: BinaryIO, name: str) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` with 1-based line numbers and line endings removed.

    Raises:
        InputDataError: the stream is not text (a decode error or a corrupt gzip member).
    """
    lineno = 0
    try:
        for lineno, raw in enumerate(stream, start=1):
            yield lineno, raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as err:
        bad = err.object[err.start : err.start + 1].hex()
        raise InputDataError(
            f"{name} line {lineno}: not UTF-8 text (byte 0x{bad} at column {err.start + 1})",
            fix="text inputs must be UTF-8; fix the line, or is this a binary file?",
        ) from None
    except (OSError, EOFError) as err:
        raise InputDataError(
            f"{name}: cannot decompress after line {lineno}: {err}",
            fix="the gzip file is truncated or corrupt; re-create it",
        ) from None
