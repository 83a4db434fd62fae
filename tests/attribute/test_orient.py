"""Model orientation -> genome orientation, reference bases and positions, and the per-base
track view, on hand-made windows (numpy only)."""

from __future__ import annotations

import numpy as np

from grelu_cli.attribute.orient import to_genome
from grelu_cli.core.window import Window


def one_hot(seq: str) -> np.ndarray:
    return np.array([[c == b for c in seq] for b in "ACGT"], dtype=np.float32)


def test_a_minus_strand_map_is_flipped_and_complemented() -> None:
    genome_seq = "AACGTN"  # the window on the genome, left to right
    rc = "NACGTT"  # what the model saw: its reverse complement
    w = Window(0, 0, "r", "chr1", 100, 106, "-", 100, 106)
    maps = np.arange(4 * 6, dtype=np.float32).reshape(1, 1, 4, 6)  # (N, G, 4, L) model order
    block = to_genome(one_hot(rc)[None], maps, [w])
    # genome column j is model column 5 - j; genome base b is model channel 3 - b
    for j in range(6):
        for b in range(4):
            assert block.values[0, 0, j, b] == maps[0, 0, 3 - b, 5 - j]
    assert "".join("ACGTN"[c] for c in block.ref[0]) == genome_seq
    np.testing.assert_array_equal(block.pos[0], np.arange(100, 106))


def test_reference_values_and_padding() -> None:
    seq = "NNACGT"  # two bases of N padding before the chromosome start
    w = Window(0, 0, "r", "chr1", 0, 4, "+", -2, 4, pad_left=2)
    maps = np.random.default_rng(0).normal(size=(1, 2, 4, 6)).astype(np.float32)
    block = to_genome(one_hot(seq)[None], maps, [w])
    np.testing.assert_array_equal(block.pos[0], [-1, -1, 0, 1, 2, 3])
    ref = block.reference_values()  # (N, G, P)
    assert np.isnan(ref[0, :, :2]).all()
    for g in range(2):
        for j, base in enumerate(seq[2:], start=2):
            assert ref[0, g, j] == maps[0, g, "ACGT".index(base), j]
    track = block.track_block()
    np.testing.assert_array_equal(track.bin_end - track.bin_start, 1)
    np.testing.assert_array_equal(track.values, ref)
