"""The record types of variant input: one record, a region filter, a source of records.

Shared by the VCF/BCF reader (:mod:`grelu_cli.io.readers.vcf`) and the table reader
(:mod:`grelu_cli.io.readers.variant_table`). POS stays 1-based, as in the VCF.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grelu_cli.core.alias import alias_candidates
from grelu_cli.errors import InputDataError
from grelu_cli.io.readers.bed import MAX_COORDINATE
from grelu_cli.io.readers.regions import RegionSpec

POS_FIX = f"POS must be at most {MAX_COORDINATE:,}; is the column order right?"


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


def int_pos(value: Any, where: str) -> int:
    """A table's ``pos`` value as a 1-based position (InputDataError naming ``where``)."""
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
        raise InputDataError(f"{where}: pos {value:,} is larger than any chromosome", fix=POS_FIX)
    return value
