"""Mutated positions, the mutant list and batches of mutated windows, checked against windows
re-encoded from mutated sequence strings."""

from __future__ import annotations

import numpy as np
import pytest

from grelu_cli.errors import UsageError
from grelu_cli.ism.mutants import (
    ism_positions,
    mutant_batches,
    mutant_list,
    reference_bases,
)

SEQ = "ACGTNACGGTTA"


def _one_hot(seq: str) -> np.ndarray:
    out = np.zeros((4, len(seq)), dtype=np.float32)
    for i, c in enumerate(seq):
        if c in "ACGT":
            out["ACGT".index(c), i] = 1.0
    return out


def test_central_width_of_the_region() -> None:
    # Region [10, 30) of a 50 bp window, width 6: 7 bases on each side of the span.
    assert ism_positions(50, 10, 20, ism_width=6).tolist() == list(range(17, 23))
    # Odd difference: the extra base is left of the span.
    assert ism_positions(50, 10, 21, ism_width=6).tolist() == list(range(17, 23))
    # The whole region when it is shorter than the width.
    assert ism_positions(50, 10, 5, ism_width=200).tolist() == list(range(10, 15))
    # Only offsets inside the window (a region that runs past a window edge).
    assert ism_positions(8, -3, 6, ism_width=6).tolist() == [0, 1, 2]


def test_explicit_start_end_and_errors() -> None:
    assert ism_positions(50, 10, 20, ism_start=0, ism_end=3).tolist() == [0, 1, 2]
    assert ism_positions(50, 10, 20, ism_start=47, ism_end=50).tolist() == [47, 48, 49]
    for start, end in [(5, 5), (-1, 3), (10, 51)]:
        with pytest.raises(UsageError, match="--ism-start"):
            ism_positions(50, 0, 50, ism_start=start, ism_end=end)
    with pytest.raises(UsageError, match="together"):
        ism_positions(50, 0, 50, ism_start=3)
    with pytest.raises(UsageError, match="--ism-width"):
        ism_positions(50, 0, 50, ism_width=0)
    with pytest.raises(UsageError, match="no base inside"):
        ism_positions(50, 60, 10)


def test_reference_bases_and_bad_columns() -> None:
    assert reference_bases(_one_hot(SEQ)).tolist() == [0, 1, 2, 3, -1, 0, 1, 2, 2, 3, 3, 0]
    bad = _one_hot(SEQ)
    bad[1, 0] = 1.0  # two bases in column 0
    with pytest.raises(ValueError, match="column 0"):
        reference_bases(bad)
    with pytest.raises(ValueError, match=r"\(4, L\)"):
        reference_bases(np.zeros((5, 3)))


def test_mutant_list_three_per_base_four_at_n() -> None:
    x = _one_hot(SEQ)
    m = mutant_list(x, np.array([0, 3, 4, 11]))
    assert len(m) == 3 + 3 + 4 + 3
    got = [(int(m.offset[i]), "ACGT"[m.base[i]]) for i in range(len(m))]
    want = [(p, b) for p in (0, 3, 4, 11) for b in "ACGT" if b != SEQ[p]]
    assert got == want  # position-major, bases in A, C, G, T order, never the reference
    assert m.ref.tolist() == [0, 3, -1, 0]


@pytest.mark.parametrize("batch_size", [1, 4, 5, 100])
def test_batches_equal_re_encoded_mutated_sequences(batch_size: int) -> None:
    x = _one_hot(SEQ)
    m = mutant_list(x, np.arange(len(SEQ)))
    rows, sizes = [], []
    for sl, batch in mutant_batches(x, m, batch_size):
        assert batch.dtype == np.float32 and batch.shape[1:] == (4, len(SEQ))
        sizes.append(batch.shape[0])
        rows += list(batch)
        assert sl.stop - sl.start == batch.shape[0]
    # Full batches except the last.
    assert all(s == batch_size for s in sizes[:-1]) and 1 <= sizes[-1] <= batch_size
    assert len(rows) == len(m) == 3 * 11 + 4
    for i, row in enumerate(rows):
        p, b = int(m.offset[i]), "ACGT"[m.base[i]]
        np.testing.assert_array_equal(row, _one_hot(SEQ[:p] + b + SEQ[p + 1 :]))
    # The reference is untouched.
    np.testing.assert_array_equal(x, _one_hot(SEQ))
