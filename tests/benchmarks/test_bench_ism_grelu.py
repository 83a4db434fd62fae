"""benchmarks/bench_ism_grelu.py without gReLU (CI has none): argument checks, our side end to
end on tiny models (plain and fast deltas agree, rates and the table), and the agreement check
that guards the gReLU comparison. The full-size run with gReLU is run by hand
(benchmarks/README.md); nothing here is timed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))

import bench_ism_grelu as bench


def test_arguments_are_checked() -> None:
    args = bench.parse_args(["--cases", "ConvModel,ConvGRUModel", "--positions", "5"])
    assert args.case_list == ["ConvModel", "ConvGRUModel"]
    assert args.grelu_python is None and args.batch_size == 128 and args.threads == 1
    with pytest.raises(SystemExit):
        bench.parse_args(["--cases", "ConvModel,NoSuchModel"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--positions", "0"])
    assert set(bench.CASES) == set(bench.TINY)


def test_our_side_end_to_end_on_tiny_models(tmp_path: Path) -> None:
    """A served and an unserved architecture: fast equals plain, rates and the table come out,
    no gReLU column without --grelu-python."""
    out = tmp_path / "ism.json"
    rc = bench.main(
        [
            "--tiny",
            "--cases",
            "DilatedConvModel,ConvTransformerModel",
            "--positions",
            "4",
            "--slow-positions",
            "4",
            "--sequences",
            "2",
            "--repeats",
            "1",
            "--batch-size",
            "5",
            "--workdir",
            str(tmp_path / "w"),
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    res = json.loads(out.read_text())
    rows = {r["case"]: r for r in res["rows"]}
    dilated, gru = rows["DilatedConvModel"], rows["ConvTransformerModel"]
    assert dilated["mutants"] == gru["mutants"] == 2 * 4 * 3  # ACGT only: 3 per position
    assert dilated["rel_err_fast"] <= 1e-5
    assert dilated["fast_per_s"] > 0 and dilated["plain_per_s"] > 0
    assert gru["fast_per_s"] is None and "rel_err_fast" not in gru  # not served: plain only
    assert dilated["grelu_per_s"] is None and dilated["best_vs_grelu"] is None
    assert "| DilatedConvModel | 160 | 24 | - |" in res["table"]
    assert len(res["samples"]["DilatedConvModel"]["plain"]) == 1


def _deltas(rng: np.random.Generator) -> np.ndarray:
    """(S, P, 4, T) deltas with NaN at one reference base per position, as ours."""
    d = rng.normal(size=(2, 3, 4, 2)).astype(np.float32)
    ref = rng.integers(0, 4, size=(2, 3))
    d[np.arange(2)[:, None], np.arange(3)[None, :], ref] = np.nan
    return d


def test_agreement_reads_grelu_zero_reference_rows_and_flags_differences() -> None:
    rng = np.random.default_rng(0)
    ours = _deltas(rng)
    theirs = np.nan_to_num(ours, nan=0.0)  # gReLU: exactly 0 at the reference base
    assert bench.agreement(ours, theirs, scale=2.0) == 0.0
    near = theirs.copy()
    near[~np.isnan(ours)] += 1e-6
    assert bench.agreement(ours, near, scale=2.0) == pytest.approx(5e-7, rel=0.05)
    off = theirs.copy()
    off[np.isnan(ours)] = 1e-3  # a nonzero reference row: gReLU's misbroadcast
    assert bench.agreement(ours, off, scale=1.0) == pytest.approx(1e-3)
    nan = theirs.copy()
    nan[~np.isnan(ours)] = np.nan
    assert bench.agreement(ours, nan, scale=1.0) == float("inf")
    with pytest.raises(ValueError, match="shapes differ"):
        bench.agreement(ours, theirs[:1], scale=1.0)


def test_rows_and_table_with_a_grelu_failure() -> None:
    case = {"length": 100, "mutants": 30}
    row = bench.summarize(
        "ExplaiNN",
        case,
        {"plain": [3.0, 2.0], "fast": [0.5, 0.4]},
        {"grelu_error": "AttributeError: cannot assign module", "rel_err_fast": 1e-7},
    )
    assert row["plain_per_s"] == 15.0 and row["fast_per_s"] == 75.0 and row["best_per_s"] == 75.0
    assert row["fast_vs_plain"] == pytest.approx(5.0) and row["best_vs_grelu"] is None
    ok = bench.summarize("ConvModel", case, {"plain": [1.0], "grelu": [3.0, 6.0]}, {})
    assert ok["best_vs_grelu"] == pytest.approx(3.0) and ok["fast_per_s"] is None
    text = bench.table([row, ok])
    assert "| ExplaiNN | 100 | 30 | failed | 15.0 | 75.0 | - | - | 5.0x |" in text
    assert "| ConvModel | 100 | 30 | 10.0 | 30.0 | - | 3.0x | 3.0x | - |" in text
    assert "- ExplaiNN: gReLU failed: AttributeError" in text
