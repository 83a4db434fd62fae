"""The unit ISM writers consume: one region's in-silico mutagenesis, placed on the genome.

Result kind ``ism`` of the writer registry (:mod:`grelu_cli.io.formats.registry`): the job
kind (:mod:`grelu_cli.ism.producer`) yields one :class:`ISMBlock` per region; writers never
see tensors or models. Positions and bases are in genome orientation (a '-' strand window's
mutants are complemented back), so ``pos`` and ``ref`` read the same on either strand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grelu_cli.core.window import Window

#: The ``base`` dimension of ``delta``: the base each mutant puts at a position.
BASES = ("A", "C", "G", "T")

#: Long parquet columns of an ISM output, in order (CLI.md, "ism and attribute").
ISM_COLUMNS = (
    "name",
    "chrom",
    "start",
    "end",
    "strand",
    "window_start",
    "window_end",
    "position",
    "pos",
    "ref_base",
    "alt_base",
    "task",
    "ref_value",
    "alt_value",
    "delta",
)


@dataclass
class ISMBlock:
    """ISM of one region: ``P`` mutated positions, 4 bases, ``T`` tasks.

    Attributes:
        window: the model input window (its ``index`` is the region's row in the output).
        offset: (P,) int64 window offsets of the mutated bases (genome orientation:
            ``window_start + offset`` is the base).
        pos: (P,) int64 0-based genomic position (-1 for FASTA input).
        ref: (P,) int8 reference base 0..3 (A, C, G, T), -1 for N.
        delta: (P, 4, T) float32 score of each mutant, NaN at the reference base.
        alt: (P, 4, T) float32 target of each mutant, NaN at the reference base.
        target_ref: (T,) float32 target of the reference window.
    """

    window: Window
    offset: np.ndarray
    pos: np.ndarray
    ref: np.ndarray
    delta: np.ndarray
    alt: np.ndarray
    target_ref: np.ndarray

    def __post_init__(self) -> None:
        p = self.offset.shape[0]
        t = self.target_ref.shape[0]
        if self.pos.shape != (p,) or self.ref.shape != (p,):
            raise ValueError(f"ISMBlock: pos {self.pos.shape} / ref {self.ref.shape} for {p}")
        if self.delta.shape != (p, 4, t) or self.alt.shape != (p, 4, t):
            raise ValueError(
                f"ISMBlock: delta {self.delta.shape} / alt {self.alt.shape}, expected ({p}, 4, {t})"
            )

    @property
    def n_positions(self) -> int:
        return int(self.offset.shape[0])


def ref_letters(ref: np.ndarray) -> np.ndarray:
    """(P,) int8 base index -> (P,) str ``A/C/G/T`` (``N`` for -1)."""
    table = np.array(["A", "C", "G", "T", "N"], dtype=object)
    idx = np.asarray(ref, dtype=np.int64)
    return table[np.where(idx < 0, 4, idx)]


def ref_codes(letters: np.ndarray) -> np.ndarray:
    """Inverse of :func:`ref_letters`: (P,) letters -> (P,) int8 (-1 for anything not ACGT)."""
    lookup = {"A": 0, "C": 1, "G": 2, "T": 3}
    return np.array([lookup.get(str(v), -1) for v in letters], dtype=np.int8)
