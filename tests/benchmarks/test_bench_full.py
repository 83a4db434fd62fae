"""benchmarks/bench_full.py: its agreement and summary arithmetic on tiny synthetic inputs (the
script itself needs full-size models and gReLU; it is run by hand, see benchmarks/README.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))

import bench_full


def test_agreement_per_track_pearson_over_windows_and_bins(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4, 50)).astype(np.float32)
    b = a.copy()
    b[:, 2] = -a[:, 2]  # one track anti-correlated
    b[:, 3] += 0.01  # a constant shift leaves r at 1
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    res = bench_full.agreement(tmp_path / "a.npy", tmp_path / "b.npy")
    assert res["bf16_min_track_pearson"] == pytest.approx(-1.0)
    assert res["bf16_median_track_pearson"] == pytest.approx(1.0)
    assert res["shape"] == [3, 4, 50]
    assert res["bf16_max_rel_diff"] == pytest.approx(2 * np.abs(a[:, 2]).max() / np.abs(a).max())


def test_summary_ratios_against_grelu() -> None:
    s = {
        "fwd_fp32": [
            {
                "seconds": 40.0,
                "regions": 2,
                "cpu_s": 70.0,
                "batch_s": [20, 20],
                "load_s": 3.0,
                "peak_rss_mb": 4000.0,
            },
        ],
        "grelu": [
            {"run_s": 100.0, "user_s": 150.0, "sys_s": 10.0, "load_s": 5.0, "peak_rss_mb": 4400.0}
        ],
        "e2e_fp32": [
            {"run_s": 50.0, "loop_per_s": 0.05, "user_s": 80.0, "sys_s": 2.0, "peak_rss_mb": 4100.0}
        ],
    }
    res = bench_full.summarise(s, windows=2)
    assert res["fwd_fp32"]["s_per_window"] == 20.0 and res["fwd_fp32"]["x_grelu"] == 2.5
    assert res["grelu"]["s_per_window"] == 50.0
    assert res["e2e_fp32"]["x_grelu"] == 2.0 and res["e2e_fp32"]["e2e_over_fwd"] == 0.8
