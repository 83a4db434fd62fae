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

import csv
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grelu_cli.core.alias import ChromResolver, alias_candidates
from grelu_cli.errors import InputDataError, MissingResourceError, UsageError
from grelu_cli.io.bed import MAX_COORDINATE
from grelu_cli.io.regions import RegionSpec
from grelu_cli.io.textfile import iter_lines, open_binary

KINDS = ("vcf", "bcf", "table")
TABLE_COLUMNS = ("chrom", "pos", "ref", "alt")


@dataclass(frozen=True, slots=True)
class VariantRecord:
    """One input record (VCF line or table row), as written.

    Attributes:
        index: 0-based record number in reading order.
        where: how messages name it: ``calls.vcf line 12``, ``calls.bcf record 3
            (chr1:1234)``, ``calls.parquet row 7``.
        chrom: chromosome as written in the input.
        pos: 1-based POS of the first REF base.
        id: the ID column, or None for ``.``/missing.
        ref: REF as written.
        alts: the ALT alleles as written (``()`` when ALT is ``.``).
    """

    index: int
    where: str
    chrom: str
    pos: int
    id: str | None
    ref: str
    alts: tuple[str, ...]


@dataclass(frozen=True)
class RegionFilter:
    """Which records to keep: those whose POS lies in a region or on a listed chromosome.

    regions: 0-based half-open :class:`RegionSpec`; chroms: whole chromosomes. Names are
    matched per ``alias`` (``auto``: ``chr1`` = ``1``, ``chrM`` = ``MT``).
    """

    regions: tuple[RegionSpec, ...] = ()
    chroms: tuple[str, ...] = ()
    alias: str = "none"

    @property
    def active(self) -> bool:
        return bool(self.regions or self.chroms)

    def __post_init__(self) -> None:
        # Every spelling each query matches, worked out once (keep() runs per record).
        chroms = frozenset().union(*(self._names(c) for c in self.chroms))
        regions = tuple((self._names(r.chrom), r.start, r.end) for r in self.regions)
        object.__setattr__(self, "_chrom_names", chroms)
        object.__setattr__(self, "_region_names", regions)

    def _names(self, name: str) -> frozenset[str]:
        """``name`` and, with ``auto``, its other spellings."""
        if self.alias != "auto":
            return frozenset((name,))
        return frozenset((name, *alias_candidates(name)))

    def keep(self, chrom: str, pos: int) -> bool:
        """True when the record at ``chrom``:``pos`` (1-based) is selected."""
        if chrom in self._chrom_names:  # type: ignore[attr-defined]
            return True
        return any(
            chrom in names and lo < pos <= hi
            for names, lo, hi in self._region_names  # type: ignore[attr-defined]
        )


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


class VariantSource:
    """Iterable of :class:`VariantRecord`; ``kind``, ``indexed`` and ``provenance()``."""

    path: str
    kind: str
    indexed: bool = False

    def __iter__(self) -> Iterator[VariantRecord]:  # pragma: no cover - interface
        raise NotImplementedError

    def count(self) -> int:
        """Records this source yields (one pass over the input; for progress totals)."""
        return sum(1 for _ in self)

    def provenance(self) -> dict[str, Any]:
        """What outputs record about the input."""
        return {"path": str(Path(self.path).absolute()), "kind": self.kind, "indexed": self.indexed}


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
            raise InputDataError(
                f"{where}: POS {pos:,} is larger than any chromosome", fix=_POS_FIX
            )
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
                f"{where}: POS {_clip(pos, 30)} is larger than any chromosome", fix=_POS_FIX
            )
        return InputDataError(
            f"{where}: htslib cannot parse this record: {_clip(line)!r}",
            fix="check the line against the VCF specification (bcftools view shows the error)",
        )


_POS_FIX = f"POS must be at most {MAX_COORDINATE:,}; is the column order right?"
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


# -- tables --------------------------------------------------------------------------------
class TableVariants(VariantSource):
    """``chrom, pos, ref, alt[, id]`` tables: TSV/CSV (gzip ok; header line required) or
    parquet (read one row group batch at a time). An ``alt`` holding commas lists several
    ALT alleles, as in a VCF."""

    kind = "table"

    def __init__(self, path: str, fmt: str, where: RegionFilter | None) -> None:
        self.path = path
        self.fmt = fmt
        self.where = where or RegionFilter()

    def __iter__(self) -> Iterator[VariantRecord]:
        rows = self._parquet() if self.fmt == "parquet" else self._text()
        out = 0
        for where, chrom, pos, ref, alt, vid in rows:
            if self.where.active and not self.where.keep(chrom, pos):
                continue
            alts = tuple(a.strip() for a in alt.split(",")) if alt not in ("", ".") else ()
            yield VariantRecord(out, where, chrom, pos, vid, ref, alts)
            out += 1

    def _columns(self, names: Sequence[str], where: str) -> dict[str, int]:
        lower = [str(n).strip().lstrip("#").lower() for n in names]
        missing = [c for c in TABLE_COLUMNS if c not in lower]
        if missing:
            raise InputDataError(
                f"{where}: no column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"(found: {', '.join(map(str, names))})",
                fix="a variant table needs a header with chrom, pos, ref, alt and optionally "
                "id; or give a VCF",
            )
        cols = {c: lower.index(c) for c in TABLE_COLUMNS}
        if "id" in lower:
            cols["id"] = lower.index("id")
        return cols

    def _text(self) -> Iterator[tuple[str, str, int, str, str, str | None]]:
        low = self.path.lower()
        delim = "," if low.endswith((".csv", ".csv.gz")) else "\t"
        with open_binary(self.path) as stream:
            lines = iter_lines(stream, self.path)
            header = None
            for lineno, line in lines:
                if line.strip():
                    header = (lineno, line)
                    break
            if header is None:
                raise InputDataError(f"variant table {self.path} has no header line")
            if delim == "\t" and "\t" not in header[1] and "," in header[1]:
                delim = ","
            cols = self._columns(next(csv.reader([header[1]], delimiter=delim)), self.path)
            width = len(next(csv.reader([header[1]], delimiter=delim)))
            for lineno, line in lines:
                if not line.strip() or line.startswith("#"):
                    continue
                fields = next(csv.reader([line], delimiter=delim))
                where = f"{self.path} line {lineno}"
                if len(fields) != width:
                    raise InputDataError(
                        f"{where}: {len(fields)} columns, the header has {width}",
                        fix="every row needs the header's columns",
                    )
                pos = _int_pos(fields[cols["pos"]], where)
                vid = fields[cols["id"]] if "id" in cols else None
                yield (
                    where,
                    fields[cols["chrom"]],
                    pos,
                    fields[cols["ref"]],
                    fields[cols["alt"]],
                    vid if vid not in (None, "", ".") else None,
                )

    def _parquet(self) -> Iterator[tuple[str, str, int, str, str, str | None]]:
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(self.path)
        except Exception as err:  # pyarrow raises ArrowInvalid, OSError...
            raise InputDataError(f"{self.path} is not a readable parquet file: {err}") from None
        names = pf.schema_arrow.names
        cols = self._columns(names, self.path)
        wanted = [names[cols[c]] for c in (*TABLE_COLUMNS, "id") if c in cols]
        row = 0
        for batch in pf.iter_batches(batch_size=1 << 16, columns=wanted):
            data = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for values in zip(*data, strict=True):
                row += 1
                where = f"{self.path} row {row}"
                chrom, pos, ref, alt = values[:4]
                vid = values[4] if len(values) > 4 else None
                if chrom is None or pos is None or ref is None or alt is None:
                    raise InputDataError(
                        f"{where}: a null in chrom, pos, ref or alt",
                        fix="fill or drop the row",
                    )
                yield (
                    where,
                    str(chrom),
                    _int_pos(pos, where),
                    str(ref),
                    str(alt),
                    str(vid) if vid not in (None, "", ".") else None,
                )


def _int_pos(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InputDataError(
                f"{where}: pos {value!r} is not an integer", fix="pos is the 1-based VCF POS"
            )
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("-").isdigit():
            raise InputDataError(
                f"{where}: pos {value!r} is not an integer", fix="pos is the 1-based VCF POS"
            )
        value = int(text)
    if value < 1:
        raise InputDataError(
            f"{where}: pos {value} is {'negative' if value < 0 else 'not a position'} (pos is "
            "1-based, like VCF POS)",
            fix="pos must be an integer >= 1",
        )
    if value > MAX_COORDINATE:
        raise InputDataError(f"{where}: pos {value:,} is larger than any chromosome", fix=_POS_FIX)
    return value


def check_region_options(regions: Sequence[str], chroms: Sequence[str]) -> tuple[RegionSpec, ...]:
    """Parse ``--region`` values (UsageError on bad text)."""
    from grelu_cli.io.regions import parse_region

    out = tuple(parse_region(r) for r in regions)
    if any(not c.strip() for c in chroms):
        raise UsageError("--chrom '' is empty", fix="give a chromosome name")
    return out
