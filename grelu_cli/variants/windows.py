"""Where a variant's model window sits, and the bases of its ref and alt inputs.

Placement (CLI.md, as gReLU 1.1.0 and Calico): a window of length L starts at 0-based
``pos - ceil(L/2)`` (``pos`` the 1-based VCF POS), so the first REF base sits at window offset
``ceil(L/2) - 1``.

Sequences: an input is the genome window with the bases ``[pos0, pos0 + rlen)`` replaced by an
allele (:class:`SeqSpec`). The left flank is fixed: a deletion pulls in downstream genome bases
at the right end, an insertion pushes bases out on the right; SNVs and MNVs replace bases in
place. With ``--shifts N`` every input carries N extra bases on each side (the predictor crops
the shifted copies), built by the same rule over the widened span, so each shifted copy is
the genome shifted by the shift with the allele spliced in, as gReLU's ``VariantDataset``
does for SNVs.

Windows off a chromosome end follow ``--edge`` exactly as ``grelu predict`` does (see
:mod:`grelu_cli.genome.plan`): ``pad`` fills with N, ``shift`` moves the window inside the
chromosome (the variant then sits off centre), ``drop`` skips the allele, ``error`` stops.
"""

from __future__ import annotations

from dataclasses import dataclass

from grelu_cli.genome.genome import Genome


def window_start(pos: int, seq_len: int) -> int:
    """0-based window start for 1-based ``pos``: ``pos - ceil(L/2)``."""
    return pos - (seq_len + 1) // 2


def ref_offset(seq_len: int) -> int:
    """0-based offset of the first REF base in an unshifted window: ``ceil(L/2) - 1``."""
    return (seq_len + 1) // 2 - 1


def place(start: int, seq_len: int, size: int, edge: str) -> tuple[int, int, int, bool] | None:
    """Apply ``--edge`` to a window ``[start, start + L)`` on a chromosome of ``size`` bp.

    Returns ``(start, pad_left, pad_right, off)`` (``off``: the window ran off an end), or
    None when ``edge`` is ``drop`` and the window runs off. ``error`` returns the window
    unchanged with ``off`` set (the caller raises, naming the record).
    """
    off = start < 0 or start + seq_len > size
    if off and edge == "drop":
        return None
    if off and edge == "shift":
        start = 0 if size < seq_len else min(max(start, 0), size - seq_len)
    return start, max(0, -start), max(0, start + seq_len - size), off


@dataclass(frozen=True, slots=True)
class SeqSpec:
    """A model input: the window at ``start`` with ``[pos0, pos0 + rlen)`` replaced by ``ins``.

    ``rlen == 0 and ins == ""`` is the plain genome window.
    """

    chrom: str
    start: int
    pos0: int = 0
    rlen: int = 0
    ins: str = ""

    @property
    def is_genome(self) -> bool:
        return self.rlen == 0 and not self.ins

    @property
    def key(self) -> tuple:
        """Equal keys mean equal inputs (deduplication)."""
        if self.is_genome:
            return (self.chrom, self.start)
        return (self.chrom, self.start, self.pos0, self.rlen, self.ins)

    @property
    def extra(self) -> int:
        """Downstream genome bases a deletion pulls in beyond the window."""
        return max(0, self.rlen - len(self.ins))


def genome_spec(chrom: str, start: int) -> SeqSpec:
    """The plain genome window at ``start``."""
    return SeqSpec(chrom, start)


def splice(base: bytes, off: int, rlen: int, ins: bytes, total: int) -> bytes:
    """``base`` with ``[off, off + rlen)`` replaced by ``ins``, cut to ``total`` bases.

    ``base`` must hold at least ``total + max(0, rlen - len(ins))`` bases.
    """
    return (base[:off] + ins + base[off + rlen :])[:total]


class SequenceReader:
    """Bytes of :class:`SeqSpec` inputs, ``L + 2 * flank`` long, from the genome.

    Keeps the last genome read, so the ref and alt inputs of an allele (and all alleles of
    a multi-allelic site) cost one read.
    """

    def __init__(self, genome: Genome, seq_len: int, flank: int = 0) -> None:
        self.genome = genome
        self.seq_len = seq_len
        self.flank = flank
        self._last: tuple[tuple[str, int, int], bytes] | None = None

    @property
    def total(self) -> int:
        """Bases per input: ``L + 2 * flank``."""
        return self.seq_len + 2 * self.flank

    def _base(self, chrom: str, start: int, length: int) -> bytes:
        key = (chrom, start, length)
        if self._last is not None and self._last[0][:2] == key[:2] and self._last[0][2] >= length:
            return self._last[1]
        data = self.genome.fetch(chrom, start, start + length)
        self._last = (key, data)
        return data

    def read(self, spec: SeqSpec) -> bytes:
        """The input bases of ``spec`` (N off the chromosome), case kept for genome bases."""
        lo = spec.start - self.flank
        base = self._base(spec.chrom, lo, self.total + max(spec.extra, 64))
        if spec.is_genome:
            return base[: self.total]
        return splice(base, spec.pos0 - lo, spec.rlen, spec.ins.encode("ascii"), self.total)
