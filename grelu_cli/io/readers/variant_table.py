"""Variant tables: ``chrom, pos, ref, alt[, id]`` as TSV/CSV (gzip ok) or parquet, streamed."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence

from grelu_cli.errors import InputDataError
from grelu_cli.io.readers.textfile import iter_lines, open_binary
from grelu_cli.io.readers.variant_records import RegionFilter, VariantRecord, VariantSource, int_pos

TABLE_COLUMNS = ("chrom", "pos", "ref", "alt")


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
                pos = int_pos(fields[cols["pos"]], where)
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
                    int_pos(pos, where),
                    str(ref),
                    str(alt),
                    str(vid) if vid not in (None, "", ".") else None,
                )
