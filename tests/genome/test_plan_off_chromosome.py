"""Windows wholly off a chromosome end: ``padded`` is capped at the window width."""

from __future__ import annotations

import pytest

from grelu_cli.core.geometry import Geometry
from grelu_cli.genome.plan import WindowPlan
from grelu_cli.genome.table import table_from_arrays


@pytest.mark.parametrize(
    ("start", "end"),
    [(1_350_000, 1_351_000), (5_000, 5_010), (-3_000, -2_500)],
)
def test_window_wholly_off_a_chromosome_is_all_padding(start: int, end: int) -> None:
    table = table_from_arrays({"c": 1_000}, ["c"], [start], [end], ["+"])
    plan = WindowPlan(table, 1_000, edge="pad")
    (w,) = plan.windows()
    assert w.padded == 1_000 and w.pad_left + w.pad_right == 1_000
    counts = plan.counts()
    assert (counts.padded_windows, counts.padded_bases) == (1, 1_000)


def test_tiled_summary_counts_at_most_the_window_width_per_window() -> None:
    # 20 tiles of 100 bp over [0, 2000) on a 250 bp chromosome: 2 inside, 1 partly (50 bp
    # padding), 17 wholly off (100 bp each).
    table = table_from_arrays({"c": 250}, ["c"], [0], [2_000], ["+"])
    plan = WindowPlan(table, 100, tile=True, geometry=Geometry(bin_size=1), edge="pad")
    wins = list(plan.windows())
    assert [w.padded for w in wins] == [0, 0, 50] + [100] * 17
    counts = plan.counts()
    assert counts.padded_windows == 18
    assert counts.padded_bases == 50 + 17 * 100
