"""Window placement (resize, FASTA crop/pad, tiling, edges) against straightforward references."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grelu_cli.core.geometry import Geometry
from grelu_cli.genome.plan import WindowPlan, fasta_window_start, resize_start
from grelu_cli.genome.table import table_from_arrays

coords = st.integers(min_value=0, max_value=2**40)


@given(coords, st.integers(min_value=1, max_value=10**6), st.integers(1, 600_000))
def test_resize_matches_grelu_formula(s: int, n: int, L: int) -> None:
    e = s + n
    exact = math.ceil(Fraction(s + e, 2) - Fraction(L, 2))
    assert resize_start(s, e, L) == exact
    # gReLU computes in float64: ceil((start + end) / 2 - seq_len / 2)
    assert int(np.ceil((np.int64(s) + e) / 2 - L / 2)) == exact
    vec = resize_start(np.array([s]), np.array([e]), L)
    assert vec.tolist() == [exact]


def grelu_string_resize(seq: str, L: int) -> str:
    """gReLU 1.1.0's string resize, restated: trim or pad at both ends, odd extra on the right."""
    if len(seq) > L:
        start = (len(seq) - L) // 2
        return seq[start : start + L]
    pad = L - len(seq)
    return "N" * (pad // 2) + seq + "N" * (pad - pad // 2)


def apply_window(seq: str, ws: int, L: int) -> str:
    return "".join(seq[i] if 0 <= i < len(seq) else "N" for i in range(ws, ws + L))


def test_fasta_resize_matches_grelu(grelu_reference: dict) -> None:
    for case in grelu_reference["fasta_resize"]:
        seq, L = case["seq"], case["seq_len"]
        ws = int(fasta_window_start(len(seq), L))
        assert apply_window(seq, ws, L) == case["out"], case


@given(st.text(alphabet="ACGT", min_size=1, max_size=300), st.integers(1, 300))
def test_fasta_resize_property(seq: str, L: int) -> None:
    ws = int(fasta_window_start(len(seq), L))
    assert apply_window(seq, ws, L) == grelu_string_resize(seq, L)


def one(table_kwargs: dict, seq_len: int | None, **kw) -> list:
    return list(WindowPlan(table_from_arrays(**table_kwargs), seq_len, **kw).windows())


@st.composite
def geometries(draw):
    bin_size = draw(st.integers(1, 16))
    crop = draw(st.integers(0, 3))
    n_out = draw(st.integers(1, 12))
    L = (n_out + 2 * crop) * bin_size
    pooled = draw(st.booleans())
    return Geometry(bin_size=bin_size, crop_len=crop, pooled=pooled), L


@given(geometries(), st.integers(0, 5000), st.integers(1, 3000))
def test_tiles_abut_and_cover(geo, s: int, n: int) -> None:
    g, L = geo
    e = s + n
    table = dict(chrom_sizes={"c": 10**7}, chrom=["c"], start=[s], end=[e])
    plan = WindowPlan(table_from_arrays(**table), L, tile=True, geometry=g)
    wins = list(plan.windows())
    assert len(wins) == plan.count()
    outs = [g.bin_bounds(w.window_start, L, 0)[0] for w in wins]
    last_bin = g.out_len(L) - 1
    ends = [g.bin_bounds(w.window_start, L, last_bin)[1] for w in wins]
    assert outs[0] == s
    assert all(a == b for a, b in zip(ends[:-1], outs[1:], strict=True))
    assert ends[-1] >= e > outs[-1]
    assert all(w.length == L and w.region_index == 0 for w in wins)
    assert [w.index for w in wins] == list(range(len(wins)))


@given(geometries(), st.integers(1, 12), st.integers(0, 5000), st.integers(1, 3000))
def test_tiles_with_center_bins_abut_and_cover(geo, k: int, s: int, n: int) -> None:
    """--tile --bins K: the K central bins of consecutive windows abut and cover the region."""
    g, L = geo
    if g.pooled:
        return
    e = s + n
    table = dict(chrom_sizes={"c": 10**7}, chrom=["c"], start=[s], end=[e])
    plan = WindowPlan(table_from_arrays(**table), L, tile=True, geometry=g, center_bins=k)
    wins = list(plan.windows())
    n_bins = g.out_len(L)
    kept = min(k, n_bins)
    first = (n_bins - kept) // 2  # the central-bins rule of grelu_cli.genome.bins
    starts = [g.bin_bounds(w.window_start, L, first)[0] for w in wins]
    ends = [g.bin_bounds(w.window_start, L, first + kept - 1)[1] for w in wins]
    assert starts[0] == s
    assert all(a == b for a, b in zip(ends[:-1], starts[1:], strict=True))
    assert ends[-1] >= e > starts[-1]


def reference_edges(ws: int, L: int, size: int, edge: str):
    """What one window becomes under each --edge mode: (start, pad_left, pad_right) or None."""
    off = ws < 0 or ws + L > size
    if not off:
        return ws, 0, 0
    if edge == "drop":
        return None
    if edge == "shift":
        ws = 0 if size < L else min(max(ws, 0), size - L)
    return ws, max(0, -ws), max(0, ws + L - size)


@settings(max_examples=200)
@given(
    st.integers(1, 400),
    st.lists(st.tuples(st.integers(0, 399), st.integers(1, 200), st.booleans()), max_size=8),
    st.integers(1, 300),
    st.sampled_from(["pad", "drop", "shift"]),
    st.booleans(),
)
def test_edges_and_counts(size: int, regs, L: int, edge: str, tile: bool) -> None:
    regs = [(min(s, size - 1), min(s, size - 1) + n, m) for s, n, m in regs]
    g = Geometry(bin_size=1)
    table = table_from_arrays(
        {"c": size},
        ["c"] * len(regs),
        [r[0] for r in regs],
        [min(r[1], size) for r in regs],
        ["-" if r[2] else "+" for r in regs],
    )
    plan = WindowPlan(table, L, tile=tile, geometry=g, edge=edge)
    expected = []
    for i in range(len(table)):
        s, e = int(table.start[i]), int(table.end[i])
        starts = range(s, e, L) if tile else [resize_start(s, e, L)]
        for ws in starts:
            out = reference_edges(ws, L, size, edge)
            if out is not None:
                expected.append((i, *out))
    got = [(w.region_index, w.window_start, w.pad_left, w.pad_right) for w in plan.windows()]
    assert got == expected
    counts = plan.counts()
    assert counts.windows == len(expected) == plan.count()
    assert counts.padded_windows == sum(1 for x in expected if x[2] + x[3])
    assert counts.padded_bases == sum(x[2] + x[3] for x in expected)
    all_windows = sum(len(range(r[0], min(r[1], size), L)) if tile else 1 for r in regs)
    assert counts.dropped_windows == (all_windows - len(expected) if edge == "drop" else 0)


@given(
    st.lists(st.integers(1, 900), min_size=1, max_size=20),
    st.integers(0, 60),
    st.integers(0, 60),
)
def test_window_ranges_compose(lengths: list[int], a: int, b: int) -> None:
    n = len(lengths)
    starts = list(range(0, 1000 * n, 1000))
    table = table_from_arrays(
        {"c": 1000 * n + 5000},
        ["c"] * n,
        starts,
        [s + x for s, x in zip(starts, lengths, strict=True)],
    )
    plan = WindowPlan(table, 64, tile=True, geometry=Geometry(bin_size=8))
    full = list(plan.windows())
    total = plan.count()
    lo, hi = sorted((min(a, total), min(b, total)))
    mid = (lo + hi) // 2
    assert list(plan.windows(lo, mid)) + list(plan.windows(mid, hi)) == full[lo:hi]
    assert [w.index for w in full] == list(range(total))


def test_minus_strand_and_default_name() -> None:
    table = table_from_arrays(
        {"chr1": 1000}, ["chr1", "chr1"], [100, 300], [200, 301], ["-", "+"], ["peak", None]
    )
    w0, w1 = WindowPlan(table, 10).windows()
    assert (w0.strand, w0.name, w0.window_start, w0.window_end) == ("-", "peak", 145, 155)
    assert (w1.strand, w1.name, w1.window_start) == ("+", "chr1:300-301(+)", 296)


def test_as_is_windows_and_batches() -> None:
    lengths = [4, 4, 4, 8, 8, 4, 4, 4, 4, 4]
    starts = [i * 10 for i in range(len(lengths))]
    table = table_from_arrays(
        {"c": 200}, ["c"] * 10, starts, [s + n for s, n in zip(starts, lengths, strict=True)]
    )
    plan = WindowPlan(table, None)
    wins = list(plan.windows())
    assert [w.length for w in wins] == lengths
    assert plan.batch_bounds(0, 10, 3).tolist() == [0, 3, 5, 8, 10]
    assert plan.batch_bounds(2, 7, 3).tolist() == [2, 3, 5, 7]
    fixed = WindowPlan(table, 16)
    assert fixed.batch_bounds(1, 10, 4).tolist() == [1, 5, 9, 10]


def test_bad_arguments() -> None:
    table = table_from_arrays({"c": 100}, ["c"], [0], [10])
    with pytest.raises(ValueError, match="edge"):
        WindowPlan(table, 10, edge="wrap")
    with pytest.raises(ValueError, match="tiling"):
        WindowPlan(table, 10, tile=True)
    with pytest.raises(ValueError, match="window range"):
        list(WindowPlan(table, 10).windows(2, 1))
