"""The fast 25th-percentile pseudocounts equal ``np.percentile`` bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from grelu_cli.genes.stats import percentile25_rows, pseudocounts


@pytest.mark.parametrize("n_bins", [1, 2, 3, 4, 5, 7, 13, 64, 97, 6144])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equals_numpy_percentile(n_bins: int, dtype: type) -> None:
    rng = np.random.default_rng(n_bins)
    ref = rng.gamma(0.5, 5.0, size=(n_bins, 9)).astype(dtype)
    ref[: n_bins // 2, 0] = 0  # ties at the order statistics
    ref[:, 1] = 3.0
    ref[::2, 2] = -ref[::2, 2]
    want = np.percentile(ref, 25, axis=0)
    got = pseudocounts(ref)
    assert got.dtype == want.dtype
    assert np.array_equal(got, want)
    rows = np.ascontiguousarray(ref.T)
    assert np.array_equal(percentile25_rows(rows), np.percentile(rows, 25, axis=-1))


def test_nan_and_inf_rows_as_numpy() -> None:
    rng = np.random.default_rng(3)
    ref = rng.gamma(0.5, 5.0, size=(50, 4)).astype(np.float32)
    ref[7, 1] = np.nan
    ref[9, 2] = np.inf
    ref[:, 3] = np.inf
    want = np.percentile(ref, 25, axis=0)
    assert np.array_equal(pseudocounts(ref), want, equal_nan=True)


def test_only_the_tracks_asked_for() -> None:
    ref = np.random.default_rng(4).random((40, 6)).astype(np.float32)
    got = pseudocounts(ref, tracks=np.array([4, 1]))
    want = np.percentile(ref, 25, axis=0)
    assert np.array_equal(got[[1, 4]], want[[1, 4]])
    assert np.isnan(got[[0, 2, 3, 5]]).all()
