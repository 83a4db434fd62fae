"""Targets, scores, the delta layout and the importance track against hand numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grelu_cli.core.geometry import Geometry
from grelu_cli.errors import UsageError
from grelu_cli.genome.bins import bin_layout
from grelu_cli.ism.mutants import mutant_list
from grelu_cli.ism.scores import delta_layout, importance, score, targets


def _y() -> torch.Tensor:
    # (N=2, T=2, L_out=4)
    return torch.tensor(
        [[[1.0, 2.0, 3.0, 6.0], [0.0, -1.0, 4.0, 1.0]], [[2.0, 2.0, 2.0, 2.0], [5, 1, 1, 1]]]
    )


@pytest.mark.parametrize(
    ("agg", "want"),
    [
        ("mean", [[3.0, 1.0], [2.0, 2.0]]),
        ("sum", [[12.0, 4.0], [8.0, 8.0]]),
        # Central 2 bins kept: [2, 5] / [-1, 4] / [2, 2] / [1, 1].
        ("max", [[5.0, 4.0], [2.0, 1.0]]),
        ("min", [[2.0, -1.0], [2.0, 1.0]]),
    ],
)
def test_targets_reduce_the_kept_bins(agg: str, want: list) -> None:
    geometry = Geometry(bin_size=1)
    y = _y()
    if agg in ("max", "min"):
        y[0, 0, 1:3] = torch.tensor([2.0, 5.0])
        layout = bin_layout(geometry, 4, center_bins=2, aggregate=agg)
    else:
        layout = bin_layout(geometry, 4, aggregate=agg)
    np.testing.assert_allclose(targets(y, layout).numpy(), want)


def test_targets_need_one_value_per_task() -> None:
    layout = bin_layout(Geometry(bin_size=1), 4)
    with pytest.raises(UsageError, match="one target per task"):
        targets(_y(), layout)
    one = bin_layout(Geometry(bin_size=1), 4, center_bins=1)
    # One bin of 4: bin (4 - 1) // 2 = 1.
    np.testing.assert_allclose(targets(_y(), one).numpy(), [[2.0, -1.0], [2.0, 1.0]])


def test_scores_diff_and_log2fc() -> None:
    mut = np.array([[3.0, 1.0], [0.5, 7.0]], dtype=np.float32)
    ref = np.array([1.0, 3.0], dtype=np.float32)
    np.testing.assert_allclose(score(mut, ref, "diff"), [[2.0, -2.0], [-0.5, 4.0]])
    np.testing.assert_allclose(
        score(mut, ref, "log2fc", pseudocount=1.0),
        [[np.log2(4 / 2), np.log2(2 / 4)], [np.log2(1.5 / 2), np.log2(8 / 4)]],
        rtol=1e-6,
    )
    with np.errstate(divide="ignore"):
        assert np.isinf(score(np.array([[1.0]]), np.array([0.0]), "log2fc"))[0, 0]
    with pytest.raises(UsageError, match="--ism-score"):
        score(mut, ref, "ratio")


def test_delta_layout_and_importance() -> None:
    # Positions 0 (C) and 1 (N): 3 + 4 mutants, 2 tasks.
    x = np.zeros((4, 2), dtype=np.float32)
    x[1, 0] = 1.0
    m = mutant_list(x, np.array([0, 1]))
    s = np.arange(14, dtype=np.float32).reshape(7, 2)
    delta = delta_layout(s, m)
    assert delta.shape == (2, 4, 2) and delta.dtype == np.float32
    assert np.isnan(delta[0, 1]).all()  # the reference base C
    np.testing.assert_array_equal(delta[0, [0, 2, 3]], s[:3])
    np.testing.assert_array_equal(delta[1], s[3:])  # N: all four bases, no NaN
    imp = importance(delta)
    np.testing.assert_allclose(imp[0], -s[:3].mean(axis=0))
    np.testing.assert_allclose(imp[1], -s[3:].mean(axis=0))
    with pytest.raises(ValueError, match="score rows"):
        delta_layout(s[:3], m)
