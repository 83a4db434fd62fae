"""Background quantiles and the percentile grid, against plain loops."""

from __future__ import annotations

import numpy as np
import pytest

from grelu_cli.genes.calibrate import BackgroundQuantiles, percentile_grid, stat_percentiles


def _brute(scores: np.ndarray, bg: np.ndarray) -> np.ndarray:
    out = np.full(scores.shape, np.nan)
    for k in range(scores.shape[1]):
        col = [abs(float(v)) for v in bg[:, k] if not np.isnan(v)]
        for i in range(scores.shape[0]):
            s = float(scores[i, k])
            if col and not np.isnan(s):
                out[i, k] = sum(v < abs(s) for v in col) / len(col)
    return out


@pytest.mark.parametrize("seed", range(3))
def test_quantiles_equal_a_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    bg = rng.normal(0, 1, size=(300, 6)).astype(np.float32)
    bg[rng.random(bg.shape) < 0.1] = np.nan
    bg[:, 5] = np.nan  # a task the background lacks
    bg[:20, 0] = 0.5  # ties
    bg[20:25, 1] = -0.0
    scores = rng.normal(0, 1.5, size=(50, 6)).astype(np.float32)
    scores[0] = [0.5, -0.5, 0.0, np.inf, np.nan, 1.0]
    got = BackgroundQuantiles(bg)(scores)
    np.testing.assert_allclose(got, _brute(scores, bg), rtol=1e-6, atol=0)
    assert got.dtype == np.float32 and np.isnan(got[:, 5]).all()


def test_quantile_shape_checked() -> None:
    with pytest.raises(ValueError, match="rows, 3"):
        BackgroundQuantiles(np.zeros((4, 3)))(np.zeros((2, 4)))


def test_percentiles_per_task() -> None:
    x = np.random.default_rng(0).normal(size=(500, 3)).astype(np.float32)
    got = stat_percentiles(x)
    assert got.shape == (3, 279)
    for k in range(3):
        want = [np.quantile(x[:, k].astype(np.float64), q) for q in percentile_grid()]
        np.testing.assert_allclose(got[k], want, rtol=1e-5, atol=1e-6)
