"""Read variants, streamed: VCF, bgzipped VCF and BCF through pysam (htslib), or a table.

:func:`open_variants` sniffs the file by content (BCF magic, a ``##fileformat=VCF`` or
``#CHROM`` first line, parquet's ``PAR1``; anything else is a TSV/CSV table with a header
naming ``chrom, pos, ref, alt`` and optionally ``id``) and returns a :class:`VariantSource`
whose iteration yields one :class:`VariantRecord` per input line, in file order. Nothing is
held beyond the current record, so memory stays flat in the number of variants.

Region queries (``--region``, ``--chrom``) use the tabix/CSI index when one sits next to a
VCF.gz/BCF (``FILE.tbi`` or ``FILE.csi``); an index older than its file is an error (it may
point at the wrong bytes). Without an index, or for tables, the file is scanned and filtered.
A record is in a region when its POS is.

htslib reports problems on stderr and turns every malformed record into ``OSError:
truncated file``. Its messages are switched off (``pysam.set_verbosity(0)``); when htslib
refuses a record, the raw line is re-read and diagnosed here, so every error is one line
naming the file, the line and the value (:class:`~grelu_cli.errors.InputDataError`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from grelu_cli.core.alias import ChromResolver
from grelu_cli.errors import InputDataError, MissingResourceError, UsageError
from grelu_cli.io.readers.bed import MAX_COORDINATE
from grelu_cli.io.readers.regions import RegionSpec
from grelu_cli.io.readers.textfile import iter_lines, open_binary
from grelu_cli.io.readers.variant_records import (
    POS_FIX,
    RegionFilter,
    VariantRecord,
    VariantSource,
)
from grelu_cli.io.readers.variant_table import TableVariants

__all__ = [
    "KINDS",
    "HtsVariants",
    "RegionFilter",
    "TableVariants",
    "VariantRecord",
    "VariantSource",
    "check_region_options",
    "index_path",
    "open_variants",
    "sniff",
]

KINDS = ("vcf", "bcf", "table")


def sniff(path: str | Path) -> str:
    """``"vcf"``, ``"bcf"`` or ``"table"`` from the file's first bytes (``"parquet"`` too).

    Raises:
        MissingResourceError: the file does not exist or is a directory.
        InputDataError: the file is empty.
    """
    name = str(path)
    if not os.path.exists(name):
        raise MissingResourceError(f"variant file {name} does not exist", fix="check --vcf")
    if os.path.isdir(name):
        raise MissingResourceError(f"variant file {name} is a directory", fix="check --vcf")
    with open(name, "rb") as fh:
        head = fh.read(4)
    if not head:
        raise InputDataError(f"variant file {name} is empty", fix="check the file")
    if head == b"PAR1":
        return "parquet"
    with open_binary(name) as stream:
        try:
            first = stream.read(64)
        except (OSError, EOFError):
            raise InputDataError(
                f"{name}: cannot decompress it", fix="the gzip file is corrupt; re-create it"
            ) from None
    if not first:
        raise InputDataError(f"variant file {name} is empty", fix="check the file")
    if first.startswith(b"BCF"):
        return "bcf"
    if first.startswith((b"##fileformat=VCF", b"#CHROM")):
        return "vcf"
    return "table"


def open_variants(path: str | Path, where: RegionFilter | None = None) -> VariantSource:
    """The variants of ``path`` (VCF, VCF.gz, BCF, TSV/CSV(.gz), parquet), optionally only
    those in ``where``'s regions. Cheap: files are read when iterated."""
    kind = sniff(path)
    if kind in ("vcf", "bcf"):
        return HtsVariants(str(path), kind, where or RegionFilter())
    return TableVariants(str(path), "parquet" if kind == "parquet" else "text", where)


# -- VCF / BCF -------------------------------------------------------------------------------
def index_path(path: str) -> str | None:
    """The tabix/CSI index next to ``path`` (``.tbi`` or ``.csi``), if any."""
    for suffix in (".tbi", ".csi"):
        if os.path.exists(path + suffix):
            return path + suffix
    return None


class HtsVariants(VariantSource):
    """VCF / VCF.gz / BCF records through ``pysam.VariantFile``."""

    def __init__(self, path: str, kind: str, where: RegionFilter) -> None:
        self.path = path
        self.kind = kind
        self.where = where
        self.index = index_path(path)
        if self.index is not None and os.path.getmtime(self.index) < os.path.getmtime(path):
            raise InputDataError(
                f"index {self.index} is older than {path}: it may not match the file",
                fix=f"re-index it: tabix -f -p vcf {path} (or bcftools index -f {path})",
            )
        self.indexed = self.index is not None
        self.header_lines = self._header_lines() if kind == "vcf" else 0

    def _header_lines(self) -> int:
        """Count the header lines of a text VCF (records then start at the next line), and
        refuse one without its ``#CHROM`` line before htslib does (with a vaguer message)."""
        with open_binary(self.path) as stream:
            for lineno, line in iter_lines(stream, self.path):
                if line.startswith("#CHROM"):
                    return lineno
                if not line.startswith("##"):
                    break
        raise InputDataError(
            f"{self.path} has no '#CHROM' header line before its first record",
            fix="a VCF needs a header ending in '#CHROM\\tPOS\\tID\\tREF\\tALT...'; "
            "for a plain table use columns chrom, pos, ref, alt",
        )

    def count(self) -> int:
        """Records this source yields; a whole text VCF is counted by its lines."""
        if self.kind == "vcf" and not self.where.active:
            n = 0
            with open_binary(self.path) as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    n += block.count(b"\n")
                    last = block
            if n and not last.endswith(b"\n"):
                n += 1
            return max(0, n - self.header_lines)
        return super().count()

    def _open(self) -> Any:
        import pysam

        pysam.set_verbosity(0)  # htslib's stderr messages become our one-line errors
        try:
            return pysam.VariantFile(self.path)
        except (ValueError, OSError) as err:
            raise InputDataError(
                f"{self.path} is not a readable VCF/BCF: {err}",
                fix="check that it is VCF, bgzipped VCF or BCF with a complete header",
            ) from None

    def __iter__(self) -> Iterator[VariantRecord]:
        vf = self._open()
        try:
            if self.where.active and self.indexed:
                yield from self._fetch(vf)
            else:
                yield from self._scan(vf)
        finally:
            vf.close()

    def _where(self, n: int, chrom: str | None = None, pos: int | None = None) -> str:
        if self.kind == "vcf" and not (self.where.active and self.indexed):
            return f"{self.path} line {self.header_lines + n + 1}"
        at = f" ({chrom}:{pos})" if chrom is not None else ""
        return f"{self.path} record {n + 1}{at}"

    def _records(self, it: Iterator[Any], n0: int = 0) -> Iterator[tuple[int, Any]]:
        n = n0
        while True:
            try:
                rec = next(it)
            except StopIteration:
                return
            except (OSError, ValueError) as err:
                raise self._diagnose(n, err) from None
            yield n, rec
            n += 1

    def _scan(self, vf: Any) -> Iterator[VariantRecord]:
        out = 0
        for n, rec in self._records(iter(vf)):
            if self.where.active and not self.where.keep(
                _text(rec, "chrom", self._where(n)), rec.pos
            ):
                continue
            yield self._record(out, n, rec)
            out += 1

    def _fetch(self, vf: Any) -> Iterator[VariantRecord]:
        known = list(vf.index.keys()) if vf.index is not None else []
        resolver = ChromResolver(known, self.where.alias)
        queries: list[tuple[str, int | None, int | None]] = []
        for c in self.where.chroms:
            queries.append((c, None, None))
        for r in self.where.regions:
            queries.append((r.chrom, r.start, r.end))
        out = 0
        done: list[tuple[str, int | None, int | None]] = []
        for chrom, start, end in queries:
            contig = resolver.resolve(chrom)
            if contig is None:
                continue  # no record on that chromosome
            it = vf.fetch(contig, start, end)
            for n, rec in self._records(iter(it)):
                if start is not None and not start < rec.pos <= end:
                    continue  # overlaps the region but starts before it
                if any(_in(_text(rec, "chrom", self._where(n)), rec.pos, q) for q in done):
                    continue  # already given for an earlier, overlapping query
                yield self._record(out, n, rec, fetched=True)
                out += 1
            done.append((contig, start, end))

    def _record(self, out: int, n: int, rec: Any, fetched: bool = False) -> VariantRecord:
        where = self._where(n)
        chrom = _text(rec, "chrom", where)
        if fetched:
            where = f"{self.path} record at {chrom}:{rec.pos}"
        pos = int(rec.pos)
        if pos < 1:
            raise InputDataError(
                f"{where}: POS {pos} is {'negative' if pos < 0 else 'not a position'} (VCF POS "
                "is 1-based)",
                fix="POS must be an integer >= 1",
            )
        if pos > MAX_COORDINATE:
            raise InputDataError(f"{where}: POS {pos:,} is larger than any chromosome", fix=POS_FIX)
        vid = _text(rec, "id", where)
        ref = _text(rec, "ref", where)
        alts = _text(rec, "alts", where)
        return VariantRecord(
            index=out,
            where=where,
            chrom=str(chrom),
            pos=pos,
            id=vid if vid not in (None, ".") else None,
            ref=str(ref) if ref is not None else "",
            alts=tuple(str(a) for a in (alts or ())),
        )

    def _diagnose(self, n: int, err: BaseException) -> InputDataError:
        """htslib refused record ``n``: say what is wrong with its line (text VCF)."""
        if self.kind != "vcf" or (self.where.active and self.indexed):
            return InputDataError(
                f"{self._where(n)}: htslib cannot decode this record ({err})",
                fix="check the file with bcftools view",
            )
        lineno = self.header_lines + n + 1
        line = _read_line(self.path, lineno)
        where = f"{self.path} line {lineno}"
        if line is None:
            return InputDataError(f"{where}: the file ends in the middle of a record ({err})")
        fields = line.split("\t")
        if len(fields) < 8:
            return InputDataError(
                f"{where}: {len(fields)} tab-separated column{'s' if len(fields) != 1 else ''};"
                " a VCF record has at least 8 (CHROM POS ID REF ALT QUAL FILTER INFO)",
                fix="fix the line or drop it",
            )
        pos = fields[1].strip()
        if pos.startswith("-") and pos[1:].isascii() and pos[1:].isdigit():
            return InputDataError(
                f"{where}: POS {pos} is negative (VCF POS is 1-based)",
                fix="POS must be an integer >= 1",
            )
        if not (pos.isascii() and pos.isdigit()):
            return InputDataError(
                f"{where}: POS {_clip(pos, 30)!r} is not an integer",
                fix="POS must be a 1-based integer >= 1",
            )
        if int(pos) > MAX_COORDINATE:
            return InputDataError(
                f"{where}: POS {_clip(pos, 30)} is larger than any chromosome", fix=POS_FIX
            )
        return InputDataError(
            f"{where}: htslib cannot parse this record: {_clip(line)!r}",
            fix="check the line against the VCF specification (bcftools view shows the error)",
        )


_FIELD_NAMES = {"chrom": "CHROM", "id": "ID", "ref": "REF", "alts": "ALT"}


def _text(rec: Any, attr: str, where: str) -> Any:
    """``rec.<attr>`` (pysam decodes it as UTF-8 on access), or a one-line InputDataError
    naming the column and the first bad byte."""
    try:
        return getattr(rec, attr)
    except UnicodeDecodeError as err:
        bad = err.object[err.start : err.start + 1].hex()
        raise InputDataError(
            f"{where}: {_FIELD_NAMES[attr]} is not UTF-8 text (byte 0x{bad} at offset "
            f"{err.start} of {bytes(err.object)[:40]!r})",
            fix="VCF text must be UTF-8 (IDs and alleles ASCII); fix or drop the record",
        ) from None


def _in(chrom: str, pos: int, query: tuple[str, int | None, int | None]) -> bool:
    c, start, end = query
    return chrom == c and (start is None or start < pos <= end)  # type: ignore[operator]


def _read_line(path: str, lineno: int) -> str | None:
    with open_binary(path) as stream:
        for n, line in iter_lines(stream, path):
            if n == lineno:
                return line
    return None


def _clip(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def check_region_options(regions: Sequence[str], chroms: Sequence[str]) -> tuple[RegionSpec, ...]:
    """Parse ``--region`` values (UsageError on bad text)."""
    from grelu_cli.io.readers.regions import parse_region

    out = tuple(parse_region(r) for r in regions)
    if any(not c.strip() for c in chroms):
        raise UsageError("--chrom '' is empty", fix="give a chromosome name")
    return out
