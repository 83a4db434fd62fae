"""Output bins on the genome: contract formula, minus strand, pooled heads, --bins, --aggregate."""

from __future__ import annotations

import numpy as np
import pytest

from grelu_cli.core.geometry import Geometry
from grelu_cli.core.window import Window
from grelu_cli.errors import UsageError
from grelu_cli.genome.bins import bin_layout


def win(ws: int, we: int, strand: str = "+", chrom: str | None = "chr1") -> Window:
    return Window(0, 0, "r", chrom, ws, we, strand, ws, we)


def test_plus_and_minus_bins_follow_the_contract_formula() -> None:
    g = Geometry(bin_size=4, crop_len=2)
    layout = bin_layout(g, 64)
    assert layout.n_out == 64 // 4 - 4 and layout.n_bins == 12
    for strand in "+-":
        start, end = layout.coordinates([win(1000, 1064, strand)])
        j = np.arange(12)
        np.testing.assert_array_equal(start[0], 1000 + (2 + j) * 4)
        np.testing.assert_array_equal(end[0], 1000 + (3 + j) * 4)
    np.testing.assert_array_equal(layout.bins, np.arange(12))


def test_geometry_bin_bounds_agree() -> None:
    g = Geometry(bin_size=8, crop_len=1)
    layout = bin_layout(g, 128)
    start, end = layout.coordinates([win(-16, 112, chrom=None)])  # FASTA: record-relative
    for j in range(layout.n_bins):
        assert (start[0, j], end[0, j]) == g.bin_bounds(-16, 128, j)


def test_length_not_multiple_of_bin_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"65 bp is not a multiple of the model's 4 bp.*64 or 68"):
        bin_layout(Geometry(bin_size=4), 65)


def test_pooled_bin_spans_uncropped_input_on_both_strands() -> None:
    g = Geometry(bin_size=4, crop_len=1, pooled=True)
    layout = bin_layout(g, 66)  # 16 trunk bins, 2 bp left over; allowed when pooled
    assert layout.n_out == 1 and layout.span == 14 * 4
    start, end = layout.coordinates([win(100, 166, "+"), win(100, 166, "-")])
    assert (start[0, 0], end[0, 0]) == (104, 160)
    # The model saw the reverse complement: its trunk covered [166 - 64, 166), cropped by 4.
    assert (start[1, 0], end[1, 0]) == (106, 162)


@pytest.mark.parametrize(("n_out", "k", "first"), [(12, 4, 4), (12, 5, 3), (12, 1, 5), (13, 2, 5)])
def test_center_bins_drop_the_odd_bin_on_the_right(n_out: int, k: int, first: int) -> None:
    layout = bin_layout(Geometry(bin_size=2), 2 * n_out, center_bins=k)
    assert layout.first == first and layout.n_keep == k
    assert layout.first + k + (n_out - k) // 2 + (n_out - k) % 2 == n_out
    np.testing.assert_array_equal(layout.bins, np.arange(first, first + k))
    start, _ = layout.coordinates([win(0, 2 * n_out, "-")])
    np.testing.assert_array_equal(start[0], 2 * np.arange(first, first + k))


def test_center_bins_out_of_range() -> None:
    with pytest.raises(UsageError, match="--bins 13: the model outputs 12 bins"):
        bin_layout(Geometry(bin_size=2), 24, center_bins=13)


def test_aggregate_spans_the_kept_bins() -> None:
    layout = bin_layout(Geometry(bin_size=4, crop_len=1), 64, center_bins=4, aggregate="max")
    assert layout.n_bins == 1
    np.testing.assert_array_equal(layout.bins, [0])
    start, end = layout.coordinates([win(1000, 1064)])
    # 14 bins, central 4 are 5..8 -> genome [1000 + 6*4, 1000 + 10*4)
    assert (start[0, 0], end[0, 0]) == (1024, 1040)
    with pytest.raises(UsageError, match="--aggregate 'median'"):
        bin_layout(Geometry(bin_size=4), 64, aggregate="median")


def test_block_from_values() -> None:
    layout = bin_layout(Geometry(bin_size=4), 16)
    values = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4)
    block = layout.block(values, [win(0, 16), win(40, 56, "-")])
    assert block.values.dtype == np.float32 and block.values.shape == (2, 3, 4)
    np.testing.assert_array_equal(block.bin_start[1], [40, 44, 48, 52])
    with pytest.raises(ValueError, match="values have 3 bins"):
        layout.block(values[..., :3], [win(0, 16), win(40, 56)])


def test_too_short_input() -> None:
    with pytest.raises(UsageError, match="leaves no output bins"):
        bin_layout(Geometry(bin_size=4, crop_len=2), 16)
