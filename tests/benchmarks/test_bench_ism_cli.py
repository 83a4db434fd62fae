"""benchmarks/bench_ism_cli.py without gReLU: one tiny case through a real ``grelu ism``
process, its store read back, the agreement measure, the rates and the table (the timed runs
against gReLU are made by hand, benchmarks/README)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))

import bench_ism_cli


def _args() -> argparse.Namespace:
    return bench_ism_cli.parse_args(
        ["--tiny", "--skip-grelu", "--cases", "ConvModel", "--regions", "2", "--positions", "3"]
    )


def test_one_tiny_case_writes_the_deltas_grelu_is_compared_with(tmp_path: Path) -> None:
    args = _args()
    case = bench_ism_cli.build_case("ConvModel", 0, args, tmp_path)
    assert case["end"] - case["start"] == 3 and case["mutants"] == 2 * 3 * 3
    # The BED's regions are exactly one window long, so the span is the window's centre.
    lines = Path(case["bed"]).read_text().splitlines()
    assert len(lines) == 2
    assert all(int(f.split()[2]) - int(f.split()[1]) == case["length"] for f in lines)
    assert set(Path(case["genome"]).read_text().replace("\n", "").split(">")[1][4:]) <= set("ACGT")
    run = bench_ism_cli.run_ours(case, args, tmp_path / "o.zarr")
    assert run["wall_s"] > 0 and run["summary"]["mutants"] == case["mutants"]
    assert run["summary"]["method"] == "fast"
    delta, target_ref = bench_ism_cli.read_deltas(tmp_path / "o.zarr")
    assert delta.shape == (2, 3, 4, bench_ism_cli.N_TASKS) and target_ref.shape == (2, 2)
    assert int(np.isnan(delta).sum()) == 2 * 3 * bench_ism_cli.N_TASKS  # the reference bases
    # gReLU's layout: 0 at the reference base. The same deltas agree exactly ...
    theirs = np.nan_to_num(delta, nan=0.0)
    assert bench_ism_cli.agreement(delta, theirs, 1.0) == 0.0
    # ... a changed mutant or a non-zero reference entry is measured against the scale.
    moved = theirs.copy()
    moved[0, 0, np.flatnonzero(~np.isnan(delta[0, 0, :, 0]))[0], 0] += 0.5
    assert bench_ism_cli.agreement(delta, moved, 2.0) == 0.25
    at_ref = theirs.copy()
    at_ref[np.isnan(delta)] = 1.0
    assert bench_ism_cli.agreement(delta, at_ref, 4.0) == 0.25


def test_rates_ratio_target_and_table() -> None:
    case = {"name": "ConvModel", "mutants": 600, "length": 2048, "positions": 100}
    row = bench_ism_cli.summarize(case, {"ours": [3.0, 2.0], "grelu": [60.0, 40.0]})
    assert row["ours_per_s"] == 300.0 and row["grelu_per_s"] == 15.0
    assert row["ratio"] == 20.0 and row["target"] == 10.0 and row["meets_target"] is True
    gru = bench_ism_cli.summarize({**case, "name": "ConvGRUModel"}, {"ours": [2.0], "grelu": []})
    assert gru["target"] == 3.0 and gru["ratio"] is None and gru["meets_target"] is None
    text = bench_ism_cli.table(
        [
            {**case, **row, "regions": 2, "method": "fast", "agreement": 1e-7},
            {**case, **gru, "name": "ConvGRUModel", "regions": 2, "grelu_error": ["boom"]},
        ]
    )
    assert "| ConvModel | 2,048 | 2 x 100 | fast | 300 | 15.0 | 20.0x | 10x | 1.0e-07 |" in text
    assert "| ConvGRUModel |" in text and "- | -" in text and "gReLU failed" in text
