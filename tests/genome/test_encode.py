"""One-hot encoding and reverse complement against gReLU and a per-base reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from grelu_cli.genome.encode import (
    invalid_positions,
    one_hot,
    one_hot_batch,
    reverse_complement,
)

IUPAC = "ACGTURYKMSWBDHVNacgturykmswbdhvn"


def reference_one_hot(seq: str) -> np.ndarray:
    """Straightforward per-base encoder: A, C, G, T rows; anything else all-zero."""
    out = np.zeros((4, len(seq)), dtype=np.float32)
    for j, base in enumerate(seq.upper()):
        if base in "ACGT":
            out["ACGT".index(base), j] = 1
    return out


def test_matches_grelu_strings_to_one_hot(grelu_reference: dict) -> None:
    assert grelu_reference["one_hot_dtype"] == "torch.float32"
    for seq, expected in grelu_reference["one_hot"].items():
        got = one_hot(seq)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, np.array(expected, dtype=np.float32))


def test_lowercase_and_iupac() -> None:
    np.testing.assert_array_equal(one_hot("acgt"), one_hot("ACGT"))
    assert not one_hot("RYKMSWBDHVN-").any()


@given(st.text(alphabet=IUPAC + "X*-", max_size=200))
def test_matches_reference(seq: str) -> None:
    np.testing.assert_array_equal(one_hot(seq), reference_one_hot(seq))
    np.testing.assert_array_equal(one_hot(seq.encode(), dtype=np.uint8), reference_one_hot(seq))


@given(st.lists(st.text(alphabet="ACGTNacgtn", min_size=7, max_size=7), min_size=1, max_size=9))
def test_batch_matches_single(seqs: list[str]) -> None:
    batch = one_hot_batch(seqs)
    assert batch.shape == (len(seqs), 4, 7) and batch.dtype == np.float32
    for row, seq in zip(batch, seqs, strict=True):
        np.testing.assert_array_equal(row, reference_one_hot(seq))
    assert one_hot_batch([s.encode() for s in seqs], dtype=np.uint8).dtype == np.uint8


@given(
    st.lists(st.text(alphabet=IUPAC + "X*-", min_size=9, max_size=9), min_size=1, max_size=6),
    st.sampled_from([np.float32, np.uint8, np.float64]),
)
def test_position_major_out_equals_channel_major(seqs: list[str], dtype) -> None:
    # An (N, L, 4) array seen as (N, 4, L): what the CPU model's channels-last convs read.
    want = one_hot_batch(seqs, dtype=dtype)
    out = np.full((len(seqs), 9, 4), 7, dtype=dtype).transpose(0, 2, 1)  # stale values
    got = one_hot_batch(seqs, out=out)
    assert got is out and got.strides[1] == got.itemsize
    np.testing.assert_array_equal(got, want)


@given(st.text(alphabet=IUPAC.replace("U", "").replace("u", ""), max_size=100))
def test_reverse_complement(seq: str) -> None:
    raw = seq.encode()
    rc = reverse_complement(raw)
    assert reverse_complement(rc) == raw
    # On one-hot, reverse complement is a flip of both axes (A,C,G,T <-> T,G,C,A).
    np.testing.assert_array_equal(one_hot(rc), one_hot(raw)[::-1, ::-1])


def test_reverse_complement_examples() -> None:
    assert reverse_complement(b"AACGTN") == b"NACGTT"
    assert reverse_complement(b"acgR") == b"Ycgt"


def test_invalid_positions() -> None:
    assert invalid_positions(b"ACGTX-N*").tolist() == [4, 5, 7]
