"""Reference genome access over pyfaidx: chromosome order and sizes, and sequence by interval.

The ``.fai`` index is built next to the FASTA when it is missing and the directory is
writable; otherwise the error says how to make one. Chromosome order and sizes come from the
index (the order bigWig headers use). :meth:`Genome.fetch` reads ``[start, end)`` with N
padding for any part off the chromosome. The pyfaidx handle opens lazily in each process, so a
``Genome`` can be handed to DataLoader workers.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

from grelu_cli.core.alias import ChromResolver
from grelu_cli.errors import InputDataError, MissingResourceError
from grelu_cli.genome.faidx_check import check_fai

_GZIP_MAGIC = b"\x1f\x8b"


class Genome:
    """An indexed genome FASTA.

    Attributes:
        path: the FASTA path as given.
        fai: the index path (``path + '.fai'``).
        chroms: chromosome names in index order.
        sizes: chromosome name -> length in bp.
    """

    def __init__(self, path: str | Path, chrom_alias: str = "none") -> None:
        self.path = str(path)
        self.fai = self.path + ".fai"
        _check_readable(self.path)
        ensure_index(self.path)
        check_fai(self.path, self.fai)  # a stale index would read the wrong bases silently
        self.chroms, self.sizes = read_fai(self.fai)
        self.resolver = ChromResolver(self.sizes, chrom_alias)
        self._fa: Any = None
        self._pid: int | None = None

    @property
    def name(self) -> str:
        """File name used in messages."""
        return os.path.basename(self.path)

    def resolve(self, chrom: str) -> str | None:
        """The genome's spelling of ``chrom`` (per ``--chrom-alias``), or None if absent."""
        return self.resolver.resolve(chrom)

    def fetch(self, chrom: str, start: int, end: int) -> bytes:
        """Bases ``[start, end)`` of ``chrom`` as bytes (case kept), N-padded off the ends.

        Raises:
            KeyError: ``chrom`` is not in the genome (validation catches this earlier).
        """
        size = self.sizes[chrom]
        lo, hi = max(start, 0), min(end, size)
        if hi <= lo:
            return b"N" * (end - start)
        seq = self._handle().fetch(chrom, lo + 1, hi)
        data = (seq if isinstance(seq, str) else seq.seq).encode("ascii", errors="replace")
        if len(data) != hi - lo:
            raise InputDataError(
                f"genome {self.path}: read {len(data)} bp for {chrom}:{lo}-{hi}, expected "
                f"{hi - lo}",
                fix=f"the index is stale or the FASTA changed; delete {self.fai} and rerun",
            )
        if lo > start or hi < end:
            data = b"N" * (lo - start) + data + b"N" * (end - hi)
        return data

    def index_sha256(self) -> str:
        """SHA-256 of the ``.fai`` file (provenance: names the exact genome build)."""
        with open(self.fai, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()

    def describe_known(self, limit: int = 6) -> str:
        """A short list of the genome's chromosomes for messages, e.g. ``chr1, chr2, ... chrM``."""
        if len(self.chroms) <= limit:
            return ", ".join(self.chroms)
        head = ", ".join(self.chroms[: limit - 1])
        return f"{head}, ... {self.chroms[-1]} ({len(self.chroms)} in all)"

    def _handle(self) -> Any:
        if self._fa is None or self._pid != os.getpid():
            import pyfaidx

            self._fa = pyfaidx.Faidx(self.path, as_raw=True, rebuild=False, build_index=False)
            self._pid = os.getpid()
        return self._fa

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_fa"] = None
        state["_pid"] = None
        return state


def _check_readable(path: str) -> None:
    if not os.path.exists(path):
        raise MissingResourceError(f"genome FASTA {path} does not exist", fix="check --genome")
    if os.path.isdir(path):
        raise MissingResourceError(
            f"genome {path} is a directory", fix="pass the FASTA file itself to --genome"
        )
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head[:2] == _GZIP_MAGIC:
        raise InputDataError(
            f"genome {path} is gzip-compressed; random access needs an uncompressed FASTA",
            fix=f"decompress it: gunzip -k {path}",
        )
    if b"\0" not in head and not _decodes(head) and head.startswith(b">"):
        raise _not_utf8(path)  # a text FASTA with one bad byte, not a binary file
    if b"\0" in head or not _decodes(head):
        raise InputDataError(
            f"genome {path} is not a text FASTA (it starts with binary data)",
            fix="pass an uncompressed FASTA ('>name' lines, then bases) to --genome; "
            "decompress it first if it is compressed, e.g. with bgzip -d or zstd -d",
        )


def _decodes(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start >= len(head) - 3  # a multi-byte character cut by the 4 kB read
    return True


def ensure_index(path: str) -> None:
    """Build ``path.fai`` with pyfaidx when it is missing (needs a writable directory).

    The index is built under a temporary name and renamed into place only when pyfaidx
    accepts the FASTA, so a refused genome leaves no index behind (the next run would
    otherwise take the bad index as current) and an index the user already had is never
    replaced by a failed rebuild.

    Raises:
        MissingResourceError: no index and the directory is not writable.
        InputDataError: the FASTA cannot be indexed (ragged line lengths, duplicate names,
            text that is not UTF-8).
    """
    fai = path + ".fai"
    if os.path.exists(fai) and os.path.getmtime(fai) >= os.path.getmtime(path):
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(fai) and not _writable(directory):
        raise MissingResourceError(
            f"genome {path} has no index {fai} and {directory} is not writable",
            fix=f"run `samtools faidx {path}` where you can write, or copy the FASTA "
            "to a writable directory",
        )
    if os.path.exists(fai) and not _writable(directory):
        return  # stale-looking but we cannot rebuild; use it
    import pyfaidx

    # A name that does not exist yet: pyfaidx reads (rather than builds) an index file that
    # is newer than the FASTA, so it must not be created beforehand.
    tmp = os.path.join(directory, f".{os.path.basename(fai)}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        pyfaidx.Faidx(path, indexname=tmp, rebuild=True, build_index=True).close()
        os.replace(tmp, fai)
    except pyfaidx.FastaIndexingError as err:
        raise InputDataError(
            f"genome {path} cannot be indexed: {err}",
            fix="every sequence line of a record must have the same length; reformat it "
            "with `samtools faidx` or `seqkit seq -w 60`",
        ) from None
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except ValueError as err:  # duplicate record names
        raise InputDataError(
            f"genome {path} cannot be indexed: {err}",
            fix="give a text FASTA with unique record names ('>name' lines, then bases); "
            "check it with `samtools faidx`",
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _not_utf8(path: str) -> InputDataError:
    """The error for a FASTA with a line that is not UTF-8 text, naming the first one."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as err:
                what = "header" if raw.startswith(b">") else "line"
                return InputDataError(
                    f"genome {path} line {lineno}: {what} is not UTF-8 text (byte "
                    f"0x{raw[err.start]:02x} at column {err.start + 1})",
                    fix="record names must be UTF-8 text and sequences A, C, G, T, N; fix the line",
                )
    return InputDataError(f"genome {path} is not UTF-8 text", fix="check the file")


def _writable(directory: str) -> bool:
    return os.access(directory, os.W_OK)


def read_fai(fai: str) -> tuple[list[str], dict[str, int]]:
    """Chromosome names (in order) and sizes from a samtools/pyfaidx ``.fai`` file."""
    chroms: list[str] = []
    sizes: dict[str, int] = {}
    with open(fai) as fh:
        for lineno, line in enumerate(fh, start=1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 2 or not fields[1].isdigit():
                raise InputDataError(
                    f"genome index {fai} line {lineno} is malformed: {line.strip()!r}",
                    fix=f"delete {fai} to have it rebuilt",
                )
            chroms.append(fields[0])
            sizes[fields[0]] = int(fields[1])
    return chroms, sizes
