"""The mutants of one window: which positions are mutated, to which bases, and batches of the
mutated one-hot windows (numpy only).

A window is one-hot ``x: (4, L)`` with channels A, C, G, T; an N (or any other non-ACGT code)
is an all-zero column. The mutated positions ``P`` are window offsets (:func:`ism_positions`).
Each position is mutated to every base other than its reference base: 3 mutants at an A/C/G/T
position and **4 at an N position** (an N is not one of the four bases, so each of A, C, G, T
is a real change there; the delta layout then has no NaN at that position).

Mutants are listed position-major, bases in A, C, G, T order, as compact arrays
(:class:`Mutants`); :func:`mutant_batches` builds full batches of mutated windows by copying
the reference once per batch and rewriting one column per mutant, with no per-mutant
re-encoding in Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from grelu_cli.errors import UsageError

BASES = "ACGT"


def ism_positions(
    window_len: int,
    region_offset: int,
    region_len: int,
    *,
    ism_width: int = 200,
    ism_start: int | None = None,
    ism_end: int | None = None,
) -> np.ndarray:
    """Window offsets to mutate, (P,) int64, ascending.

    Either ``[ism_start, ism_end)`` (0-based offsets in the window, both given), or the central
    ``ism_width`` bases of the region that starts ``region_offset`` bases into the window and is
    ``region_len`` long (the whole region when it is shorter). When the region and the width
    differ by an odd number, the extra base is left of the span (start = offset + (len - W) // 2).
    Only offsets inside the window are kept (a region may run past a padded window edge).

    Raises UsageError for an empty or out-of-window span or a non-positive width.
    """
    if (ism_start is None) != (ism_end is None):
        raise UsageError(
            "--ism-start and --ism-end go together", fix="give both, or neither and --ism-width"
        )
    if ism_start is not None and ism_end is not None:
        if not 0 <= ism_start < ism_end <= window_len:
            raise UsageError(
                f"--ism-start {ism_start} --ism-end {ism_end} is not a span inside the "
                f"{window_len} bp window",
                fix=f"use 0 <= start < end <= {window_len}",
            )
        return np.arange(ism_start, ism_end, dtype=np.int64)
    if ism_width < 1:
        raise UsageError(f"--ism-width {ism_width} must be at least 1", fix="use e.g. 200")
    width = min(ism_width, region_len)
    start = region_offset + (region_len - width) // 2
    pos = np.arange(start, start + width, dtype=np.int64)
    pos = pos[(pos >= 0) & (pos < window_len)]
    if pos.size == 0:
        raise UsageError(
            f"the region at offset {region_offset} ({region_len} bp) has no base inside the "
            f"{window_len} bp window",
            fix="check the region coordinates",
        )
    return pos


def reference_bases(x: np.ndarray) -> np.ndarray:
    """One-hot ``x: (4, L)`` -> (L,) int8 base index 0..3 (A, C, G, T), -1 for an N column.

    Raises ValueError for a column that is neither one-hot nor all zero.
    """
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] != 4:
        raise ValueError(f"expected a one-hot window (4, L), got shape {x.shape}")
    total = x.sum(axis=0)
    bad = np.flatnonzero(~((total == 0) | ((total == 1) & (x.max(axis=0) == 1))))
    if bad.size:
        raise ValueError(f"column {int(bad[0])} of the window is not one-hot or all-zero")
    return np.where(total == 0, -1, x.argmax(axis=0)).astype(np.int8)


@dataclass(frozen=True)
class Mutants:
    """The mutants of one window, position-major, bases in A, C, G, T order.

    Attributes:
        positions: (P,) int64 mutated window offsets.
        ref: (P,) int8 reference base at each position (0..3; -1 for N).
        index: (M,) int64 index into ``positions`` of each mutant.
        base: (M,) int8 the base each mutant puts there (0..3, never its ``ref``).
    """

    positions: np.ndarray
    ref: np.ndarray
    index: np.ndarray
    base: np.ndarray

    def __len__(self) -> int:
        return int(self.index.size)

    @property
    def offset(self) -> np.ndarray:
        """(M,) int64 window offset of each mutant."""
        return self.positions[self.index]


def mutant_list(x: np.ndarray, positions: np.ndarray) -> Mutants:
    """Every single-base mutant of ``x: (4, L)`` at ``positions: (P,)`` window offsets:
    3 per A/C/G/T position, 4 per N position (see the module docstring)."""
    positions = np.asarray(positions, dtype=np.int64)
    length = np.asarray(x).shape[-1]
    if positions.size and (positions.min() < 0 or positions.max() >= length):
        raise ValueError(f"positions must lie in [0, {length}), got {positions.min()}..")
    ref = reference_bases(x)[positions]
    # (P, 4) grid of candidate bases; keep the ones that differ from the reference.
    keep = np.arange(4, dtype=np.int8)[None, :] != ref[:, None]
    index, base = np.nonzero(keep)
    return Mutants(
        positions=positions,
        ref=ref,
        index=index.astype(np.int64),
        base=base.astype(np.int8),
    )


def mutate_batch(x: np.ndarray, offsets: np.ndarray, bases: np.ndarray) -> np.ndarray:
    """``x: (4, L)`` -> (n, 4, L) float32: the reference copied n times, then in copy i the
    column ``offsets[i]`` set to the one-hot of ``bases[i]`` (one vectorized write)."""
    n = int(offsets.size)
    out = np.empty((n, 4, x.shape[-1]), dtype=np.float32)
    out[:] = x
    rows = np.arange(n)
    out[rows, :, offsets] = 0.0
    out[rows, bases, offsets] = 1.0
    return out


def reverse_complement_mutants(
    offsets: np.ndarray, bases: np.ndarray, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """The same mutants on the reverse-complement window: ``(length - 1 - offsets, 3 - bases)``.

    For ``--rc`` with fast ISM (which takes mutants, not windows): the engine runs the reverse
    complement of the reference window with these mutants and flips the outputs back, as it
    does for any reverse-complemented prediction (complement of base b is 3 - b in A, C, G, T).
    """
    return length - 1 - np.asarray(offsets), 3 - np.asarray(bases)


def mutant_batches(
    x: np.ndarray, mutants: Mutants, batch_size: int
) -> Iterator[tuple[slice, np.ndarray]]:
    """Full batches of mutated windows: yields ``(slice into the mutant list, (n, 4, L)
    float32)`` with ``n == batch_size`` except for the last batch."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    offsets, bases = mutants.offset, mutants.base
    for lo in range(0, len(mutants), batch_size):
        sl = slice(lo, min(lo + batch_size, len(mutants)))
        yield sl, mutate_batch(x, offsets[sl], bases[sl])
