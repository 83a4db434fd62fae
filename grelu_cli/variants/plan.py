"""Check each allele against the genome and place its window: scoreable, skipped or bad input.

:class:`AllelePlanner` turns an :class:`~grelu_cli.variants.alleles.Allele` into a
:class:`PlannedAllele` (window, padding, ``ref_status``, the ref and alt inputs as
:class:`~grelu_cli.variants.windows.SeqSpec`) or a :class:`~grelu_cli.variants.alleles.Skipped`,
and raises :class:`~grelu_cli.errors.InputDataError` (naming the record) for a chromosome the
genome lacks, a POS or REF past the chromosome end, ``--edge error`` windows, and REF
mismatches under ``--ref-mismatch error``.

Reference check (always): the genome's bases at ``[pos0, pos0 + len(REF))``, upper-cased, are
compared with REF: ``match``; else ``swapped`` when the genome holds ALT there (REF and ALT
exchanged in the input); else ``mismatch``. ``--ref-mismatch``:

* ``skip`` (default): mismatched and swapped alleles are not scored (counted, listed by
  ``--dry-run``);
* ``warn``: scored with the VCF's REF written into the ref window (as gReLU does for every
  variant);
* ``error``: the first one stops the run (exit 3);
* ``swap``: a swapped allele is scored with the genome as the window holding the VCF's ALT and
  the VCF's REF written in for the other; ``ref_value``/``alt_value`` stay those of the VCF's
  REF/ALT, so the sign of every score is VCF ALT vs VCF REF. Other mismatches are skipped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from grelu_cli.core.alias import find_alias
from grelu_cli.errors import InputDataError, UsageError
from grelu_cli.genome.genome import Genome
from grelu_cli.variants.alleles import SKIP_REASONS, Allele, Skipped
from grelu_cli.variants.windows import SeqSpec, genome_spec, place, window_start

REF_MISMATCH_MODES = ("skip", "warn", "error", "swap")
REF_STATUSES = ("match", "mismatch", "swapped")
EDGE_MODES = ("pad", "error", "drop", "shift")


@dataclass(frozen=True, slots=True)
class PlannedAllele:
    """An allele ready to predict.

    Attributes:
        allele: the allele (its record holds chrom/pos/id as written).
        chrom: the genome's name for the chromosome.
        ref_status: ``match``, ``mismatch`` or ``swapped``.
        window_start, window_end: the model window (0-based half-open, before flanks).
        padded: N bases of the window off the chromosome.
        ref_input, alt_input: the inputs holding the VCF's REF and ALT.
    """

    allele: Allele
    chrom: str
    ref_status: str
    window_start: int
    window_end: int
    padded: int
    ref_input: SeqSpec
    alt_input: SeqSpec


@dataclass
class VariantCounts:
    """Run counts for the summary and the output metadata."""

    records: int = 0
    alleles: int = 0
    scored: int = 0
    skipped: Counter = field(default_factory=Counter)
    ref_status: Counter = field(default_factory=Counter)
    variant_types: Counter = field(default_factory=Counter)
    padded_alleles: int = 0
    shifted_alleles: int = 0
    windows: int = 0  # distinct model inputs predicted (ref windows shared)
    no_gene: int | None = None  # --genes: alleles with no gene bin (not predicted)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict; every skip reason and status listed, zeros included."""
        return {
            "records": self.records,
            "alleles": self.alleles,
            "scored": self.scored,
            "skipped": sum(self.skipped.values()),
            "skipped_by_reason": {r: int(self.skipped.get(r, 0)) for r in SKIP_REASONS},
            "ref_status": {s: int(self.ref_status.get(s, 0)) for s in REF_STATUSES},
            "variant_types": dict(sorted(self.variant_types.items())),
            "padded_alleles": self.padded_alleles,
            "shifted_alleles": self.shifted_alleles,
            "windows": self.windows,
            **({"no_gene": self.no_gene} if self.no_gene is not None else {}),
        }


class AllelePlanner:
    """Reference check and window placement against one genome, for one input length.

    Args:
        genome: the genome (its ``--chrom-alias`` resolver maps input names).
        seq_len: model input length L.
        edge: ``pad`` | ``shift`` | ``drop`` | ``error``.
        ref_mismatch: one of :data:`REF_MISMATCH_MODES`.
        counts: updated as alleles are planned (statuses, skips, types, padding).
    """

    def __init__(
        self,
        genome: Genome,
        seq_len: int,
        *,
        edge: str = "pad",
        ref_mismatch: str = "skip",
        counts: VariantCounts | None = None,
    ) -> None:
        if edge not in EDGE_MODES:
            raise UsageError(f"--edge {edge!r} is not allowed", fix="use pad, shift, drop or error")
        if ref_mismatch not in REF_MISMATCH_MODES:
            raise UsageError(
                f"--ref-mismatch {ref_mismatch!r} is not allowed",
                fix=f"use one of {', '.join(REF_MISMATCH_MODES)}",
            )
        self.genome = genome
        self.seq_len = int(seq_len)
        self.edge = edge
        self.ref_mismatch = ref_mismatch
        self.counts = counts if counts is not None else VariantCounts()

    def chrom(self, name: str, where: str) -> str:
        """The genome's name for ``name``; InputDataError (with an alias hint) if absent."""
        got = self.genome.resolve(name)
        if got is not None:
            return got
        alt = find_alias(name, set(self.genome.chroms))
        if alt is not None and self.genome.resolver.mode == "none":
            fix = f"the genome calls it {alt!r}: add --chrom-alias auto"
        else:
            fix = "check that the variants and the genome are the same assembly"
        raise InputDataError(
            f"{where}: chromosome {name!r} is not in {self.genome.name} "
            f"(known: {self.genome.describe_known()})",
            fix=fix,
        )

    def plan(self, a: Allele) -> PlannedAllele | Skipped:
        """Check and place one allele (see the module docstring)."""
        rec = a.record
        chrom = self.chrom(rec.chrom, rec.where)
        size = self.genome.sizes[chrom]
        pos0 = rec.pos - 1
        if pos0 + len(a.ref) > size:
            past = "POS" if pos0 >= size else f"REF ({len(a.ref)} bp from POS {rec.pos})"
            raise InputDataError(
                f"{rec.where}: {past} runs past the end of {chrom} ({size:,} bp in "
                f"{self.genome.name})",
                fix="check that the variants and the genome are the same assembly",
            )
        status = self._status(a, chrom, pos0, size)
        self.counts.ref_status[status] += 1
        if status != "match":
            if self.ref_mismatch == "error":
                raise InputDataError(
                    f"{rec.where}: REF {a.ref} at {rec.chrom}:{rec.pos} does not match "
                    f"{self.genome.name} ({self._genome_bases(chrom, pos0, len(a.ref))})"
                    + (" but ALT does: REF and ALT look swapped" if status == "swapped" else ""),
                    fix="use --ref-mismatch skip|warn|swap, or check the genome build",
                )
            if self.ref_mismatch == "skip" or (self.ref_mismatch == "swap" and status != "swapped"):
                return self._skip(a, "ref_mismatch")
        placed = place(window_start(rec.pos, self.seq_len), self.seq_len, size, self.edge)
        if placed is None:
            return self._skip(a, "edge_dropped")
        ws, pad_left, pad_right, off = placed
        if off and self.edge == "error":
            raise InputDataError(
                f"{rec.where}: the {self.seq_len:,} bp window of {rec.chrom}:{rec.pos} runs "
                f"off {chrom} ({size:,} bp) (--edge error)",
                fix="use --edge pad (N-fill), shift or drop",
            )
        if pos0 + max(len(a.ref), len(a.alt)) > ws + self.seq_len:
            return self._skip(a, "allele_too_long")
        swap = status == "swapped" and self.ref_mismatch == "swap"
        if status == "match":
            ref_input = genome_spec(chrom, ws)
            alt_input = SeqSpec(chrom, ws, pos0, len(a.ref), a.alt)
        elif swap:  # the genome holds ALT: it is the ALT input; REF replaces ALT's bases
            ref_input = SeqSpec(chrom, ws, pos0, len(a.alt), a.ref)
            alt_input = genome_spec(chrom, ws)
        else:  # warn: the VCF's REF written in, whatever the genome says
            ref_input = SeqSpec(chrom, ws, pos0, len(a.ref), a.ref)
            alt_input = SeqSpec(chrom, ws, pos0, len(a.ref), a.alt)
        c = self.counts
        c.scored += 1
        c.variant_types[a.variant_type] += 1
        if pad_left or pad_right:
            c.padded_alleles += 1
        if off and self.edge == "shift":
            c.shifted_alleles += 1
        return PlannedAllele(
            allele=a,
            chrom=chrom,
            ref_status=status,
            window_start=ws,
            window_end=ws + self.seq_len,
            padded=pad_left + pad_right,
            ref_input=ref_input,
            alt_input=alt_input,
        )

    def _skip(self, a: Allele, reason: str) -> Skipped:
        self.counts.skipped[reason] += 1
        return Skipped(a.record, a.allele, a.alt, reason)

    def _genome_bases(self, chrom: str, pos0: int, n: int) -> str:
        return self.genome.fetch(chrom, pos0, pos0 + n).decode("ascii").upper()

    def _status(self, a: Allele, chrom: str, pos0: int, size: int) -> str:
        if self._genome_bases(chrom, pos0, len(a.ref)) == a.ref:
            return "match"
        if pos0 + len(a.alt) <= size and self._genome_bases(chrom, pos0, len(a.alt)) == a.alt:
            return "swapped"
        return "mismatch"
