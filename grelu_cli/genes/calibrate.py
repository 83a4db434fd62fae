"""How large is a gene score: Calico's percentile grid and quantiles against a background.

``{stat}_pct``: per task, the percentiles of the run's own scores at Calico's grid
(``borzoi_sed.py``'s ``write_pct``: 0.001..0.099 by 0.001, 0.10..0.89 by 0.01, 0.90..0.999 by
0.001; 279 values, built with the same ``np.arange`` calls). Calico leaves REF and ALT out.

``{stat}_quantile``: the fraction of background scores (a finished run over a null set, e.g.
common variants) of the same task and statistic whose absolute value is smaller than the
score's. The background's |values| are kept sorted once, keyed by task, so a block of scores is
answered by one ``np.searchsorted`` (no loop over tasks or rows).
"""

from __future__ import annotations

import numpy as np

PCT_SKIP = ("REF", "ALT")


def percentile_grid() -> np.ndarray:
    """Calico's 279 percentiles as fractions (float64), ascending."""
    d_fine, d_coarse = 0.001, 0.01
    return np.concatenate(
        [np.arange(d_fine, 0.1, d_fine), np.arange(0.1, 0.9, d_coarse), np.arange(0.9, 1, d_fine)]
    )


def stat_percentiles(scores: np.ndarray) -> np.ndarray:
    """Per-task percentiles of scores (N, K) at :func:`percentile_grid` -> (K, 279) float32."""
    return np.percentile(scores, 100 * percentile_grid(), axis=0).T.astype(np.float32)


def _keys(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) -> uint64 keys task << 32 | float32 bits of |value| (monotonic in |value|), and
    the NaN mask. Non-negative float32 bit patterns sort as their values do."""
    v = np.abs(np.asarray(values, dtype=np.float32))
    task = np.broadcast_to(np.arange(v.shape[1], dtype=np.uint64), v.shape)
    keys = (task << np.uint64(32)) | v.view(np.uint32).astype(np.uint64)
    return keys, np.isnan(v)


class BackgroundQuantiles:
    """Quantiles of |score| within a background of one statistic.

    Args:
        background: (M, K) scores of the null set, K tasks in the same order as the scores
            to calibrate; NaN entries (a task the background lacks) are left out. Memory:
            8 bytes per background value.
    """

    def __init__(self, background: np.ndarray) -> None:
        bg = np.asarray(background, dtype=np.float32)
        if bg.ndim != 2:
            raise ValueError(f"background must be (rows, tasks), got shape {bg.shape}")
        keys, nan = _keys(bg)
        self.n_tasks = bg.shape[1]
        self.sorted = np.sort(keys[~nan])
        self.counts = (~nan).sum(axis=0)
        self.first = np.zeros(self.n_tasks, dtype=np.int64)
        np.cumsum(self.counts[:-1], out=self.first[1:])

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """scores (N, K) -> (N, K) float32 fraction of background |values| < |score|; NaN
        for NaN scores and for tasks without background values."""
        s = np.asarray(scores, dtype=np.float32)
        if s.ndim != 2 or s.shape[1] != self.n_tasks:
            raise ValueError(f"scores must be (rows, {self.n_tasks}), got shape {s.shape}")
        keys, nan = _keys(s)
        # Task-major needles walk the sorted background forwards: 2-3x fewer cache misses.
        below = np.searchsorted(self.sorted, keys.T.ravel(), side="left")
        below = below.reshape(keys.shape[::-1]).T - self.first[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            q = below / self.counts[None, :]
        q = np.where(nan | (self.counts[None, :] == 0), np.nan, q)
        return q.astype(np.float32)
