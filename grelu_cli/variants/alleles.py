"""Split variant records into scoreable alleles: one per ALT, classified, or skipped by reason.

Alleles are case-insensitive (upper-cased here). A record with several ALTs gives one
:class:`Allele` per ALT, ``allele`` being the 1-based ALT index. ALTs that cannot be scored are
skipped and counted by reason (:data:`SKIP_REASONS`): ``*`` (a deletion spanning the site),
``.`` / no ALT, symbolic alleles (``<DEL>``, ``<*>``), breakends (``G]chr2:5]``, ``.A``),
and indels longer than ``max_indel_len``. A REF that is not A/C/G/T/N, or an ALT that is none of
those skip kinds and not A/C/G/T/N, is bad input (:class:`~grelu_cli.errors.InputDataError`).

``variant_type``: ``snv`` (1 base -> 1 base), ``mnv`` (n -> n bases, n > 1), ``ins`` (ALT longer
than REF), ``del`` (ALT shorter). VCF indels carry a shared anchor base (``A -> AT``); it is kept:
the window rule in :mod:`grelu_cli.variants.windows` replaces the REF bases by the ALT bases.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from grelu_cli.errors import InputDataError
from grelu_cli.io.readers.vcf import VariantRecord

VARIANT_TYPES = ("snv", "mnv", "ins", "del")
#: Why an allele was not scored (counted in the summary and the output metadata).
SKIP_REASONS = (
    "no_alt",  # ALT is '.'
    "star",  # '*': overlapping deletion
    "symbolic",  # <DEL>, <INS>, <*>, ...
    "breakend",  # G]chr2:5], .A, A.
    "indel_too_long",  # |len(ALT) - len(REF)| > --max-indel-len
    "allele_too_long",  # REF or ALT does not fit in the window after its offset
    "ref_mismatch",  # REF differs from the genome (--ref-mismatch skip / swap)
    "edge_dropped",  # window off a chromosome end with --edge drop
)

#: Default ``--max-indel-len`` (bp of length change).
DEFAULT_MAX_INDEL_LEN = 50

_DNA = re.compile(r"^[ACGTN]+$")
_BREAKEND = re.compile(r"[\[\]]")


@dataclass(frozen=True, slots=True)
class Allele:
    """One ALT allele of one record, alleles upper-cased.

    Attributes:
        record: the input record.
        allele: 1-based ALT index in the record.
        ref, alt: REF and this ALT, upper case.
        variant_type: one of :data:`VARIANT_TYPES`.
    """

    record: VariantRecord
    allele: int
    ref: str
    alt: str
    variant_type: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """An ALT that is not scored, and why (one of :data:`SKIP_REASONS`)."""

    record: VariantRecord
    allele: int
    alt: str
    reason: str


def variant_type(ref: str, alt: str) -> str:
    """``snv``, ``mnv``, ``ins`` or ``del`` for upper-case DNA alleles."""
    if len(ref) == len(alt):
        return "snv" if len(ref) == 1 else "mnv"
    return "ins" if len(alt) > len(ref) else "del"


def skip_kind(alt: str) -> str | None:
    """The skip reason for an ALT that is not a sequence (``*``, ``.``, symbolic,
    breakend), or None."""
    if alt in ("", "."):
        return "no_alt"
    if alt == "*":
        return "star"
    if alt.startswith("<") and alt.endswith(">"):
        return "symbolic"
    if _BREAKEND.search(alt) or (len(alt) > 1 and (alt.startswith(".") or alt.endswith("."))):
        return "breakend"
    return None


def split_alleles(record: VariantRecord, max_indel_len: int) -> Iterator[Allele | Skipped]:
    """One :class:`Allele` or :class:`Skipped` per ALT of ``record``, in ALT order.

    Raises:
        InputDataError: REF is empty or not A/C/G/T/N; an ALT is not DNA nor a skip kind.
    """
    ref = record.ref.upper()
    if not _DNA.match(ref):
        raise InputDataError(
            f"{record.where}: REF {record.ref!r} is not a DNA allele (A, C, G, T, N)",
            fix="fix the REF column; symbolic or missing REFs cannot be scored",
        )
    if not record.alts:
        yield Skipped(record, 1, ".", "no_alt")
        return
    for i, raw in enumerate(record.alts, start=1):
        alt = raw.upper()
        reason = skip_kind(alt)
        if reason is not None:
            yield Skipped(record, i, raw, reason)
            continue
        if not _DNA.match(alt):
            raise InputDataError(
                f"{record.where}: ALT {raw!r} is not a DNA allele (A, C, G, T, N), nor '*', "
                "'.', a symbolic allele or a breakend",
                fix="fix the ALT column",
            )
        if abs(len(alt) - len(ref)) > max_indel_len:
            yield Skipped(record, i, raw, "indel_too_long")
            continue
        yield Allele(record, i, ref, alt, variant_type(ref, alt))
