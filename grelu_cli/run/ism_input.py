"""The windows a ``grelu ism`` run mutates, and their one-hot sequences.

:class:`RegionWindows`: ``--bed``/``--region``/``--fasta`` windows, placed by ``grelu
predict``'s preparation (:func:`grelu_cli.run.build.load_and_prepare`), read by its
:class:`~grelu_cli.genome.sequence.WindowSequences`. :class:`VariantWindows` (``--vcf``):
each variant's window as ``grelu variants`` places it (:mod:`grelu_cli.variants.windows`:
start ``pos - ceil(L/2)``, the first REF base at offset ``ceil(L/2) - 1``), on the reference
sequence or, with ``--allele alt``, the alternate one (SNVs and equal-length MNVs: the
alternate bases in place).

Both are :class:`~grelu_cli.io.formats.zarr.schema.WindowSource` s (``count``,
``window_list``) with ``encode(window)``: ``(4, L + 2 flank)`` float32 in model orientation
('-' windows reverse-complemented), as predict's loader encodes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grelu_cli.core.window import Window
from grelu_cli.errors import InputDataError


class RegionWindows:
    """Windows of a prepared region input (``grelu predict``'s plan)."""

    def __init__(self, inp: Any, flank: int) -> None:
        self.inp, self.flank = inp, flank

    def count(self) -> int:
        return int(self.inp.plan.count())

    def window_list(self, lo: int, hi: int) -> list[Window]:
        return list(self.inp.plan.window_list(lo, hi))

    def encode(self, window: Window) -> np.ndarray:
        from grelu_cli.genome.encode import one_hot

        return one_hot(self.inp.sequences.read(window, self.flank))

    def span(self, window: Window) -> tuple[int, int]:
        """``(offset, length)`` of the region in its window (the ISM span is its centre)."""
        return window.start - window.window_start, window.end - window.start

    def provenance(self) -> dict[str, Any]:
        out: dict[str, Any] = self.inp.provenance()
        return out

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = self.inp.counts().as_dict()
        return out


@dataclass
class VariantWindows:
    """One window per (SNV or MNV) ALT allele of a variant file, as ``grelu variants`` places
    it; ``allele`` ``ref`` or ``alt`` picks its sequence."""

    genome: Any
    seq_len: int
    flank: int
    allele: str
    width: int
    windows: list[Window] = field(default_factory=list)
    alts: list[tuple[int, bytes]] = field(default_factory=list)  # (window offset, ALT bases)
    skipped: dict[str, int] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)

    def count(self) -> int:
        return len(self.windows)

    def window_list(self, lo: int, hi: int) -> list[Window]:
        return self.windows[lo:hi]

    def encode(self, window: Window) -> np.ndarray:
        from grelu_cli.genome.encode import one_hot

        assert window.chrom is not None
        seq = bytearray(
            self.genome.fetch(
                window.chrom, window.window_start - self.flank, window.window_end + self.flank
            )
        )
        if self.allele == "alt":
            offset, alt = self.alts[window.index]
            at = self.flank + offset
            seq[at : at + len(alt)] = alt
        return one_hot(bytes(seq))

    def span(self, window: Window) -> tuple[int, int]:
        """``(offset, length)`` of the ISM span: ``--ism-width`` bases around the variant (its
        first REF base, plus half its length, at offset ``W // 2`` of the span)."""
        centre = window.start - window.window_start + (window.end - window.start) // 2
        return centre - self.width // 2, self.width

    def provenance(self) -> dict[str, Any]:
        return {**self.source, "allele": self.allele, "skipped": dict(self.skipped)}

    def counts(self) -> dict[str, int]:
        return {"regions": len(self.windows), "windows": len(self.windows)}


def variant_windows(
    vcf: str, genome: Any, seq_len: int, flank: int, allele: str, edge: str, width: int
) -> VariantWindows:
    """Read ``vcf`` and place a window on every SNV/MNV ALT allele (others are skipped and
    counted: indels, symbolic alleles, windows ``--edge drop`` leaves out). The mutated
    region of a window is its REF bases; ``name`` is ``chrom:pos:ref>alt`` (or the ID)."""
    from grelu_cli.io.readers.vcf import RegionFilter, open_variants
    from grelu_cli.variants.windows import place, window_start

    out = VariantWindows(genome, seq_len, flank, allele, width)
    source = open_variants(vcf, RegionFilter())
    out.source = dict(source.provenance())
    for record in source:
        for a in _alleles(record):
            ref, alt = a["ref"].upper(), a["alt"].upper()
            if len(ref) != len(alt) or not alt.isalpha() or set(alt) - set("ACGTN"):
                out.skipped["not_snv_mnv"] = out.skipped.get("not_snv_mnv", 0) + 1
                continue
            chrom = genome.resolve(a["chrom"])
            if chrom is None:
                raise InputDataError(
                    f"chromosome '{a['chrom']}' of variant {a['label']} is not in the genome",
                    fix="check that --vcf and --genome use the same assembly",
                )
            start = window_start(a["pos"], seq_len)
            placed = place(start, seq_len, genome.sizes[chrom], edge)
            if placed is None:
                out.skipped["edge"] = out.skipped.get("edge", 0) + 1
                continue
            s, pad_left, pad_right, _ = placed
            pos0 = a["pos"] - 1
            i = len(out.windows)
            out.windows.append(
                Window(
                    index=i,
                    region_index=i,
                    name=a["label"],
                    chrom=chrom,
                    start=pos0,
                    end=pos0 + len(ref),
                    strand="+",
                    window_start=s,
                    window_end=s + seq_len,
                    pad_left=pad_left,
                    pad_right=pad_right,
                )
            )
            out.alts.append((pos0 - s, alt.encode()))
    return out


def _alleles(record: Any) -> list[dict[str, Any]]:
    """A variant record's ALT alleles as plain dicts (chrom, pos, ref, alt, label)."""
    out = []
    for alt in record.alts:
        label = record.id or f"{record.chrom}:{record.pos}:{record.ref}>{alt}"
        out.append(
            {
                "chrom": record.chrom,
                "pos": int(record.pos),
                "ref": record.ref,
                "alt": str(alt),
                "label": str(label),
            }
        )
    return out
