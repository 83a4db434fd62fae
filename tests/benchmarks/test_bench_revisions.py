"""benchmarks/bench_revisions.py end to end on tiny cases: the same tree as base and head gives
identical values and ratios near one (the full-size cases are run by hand, benchmarks/README)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))

import bench_revisions

REPO = Path(__file__).parents[2]


def test_same_tree_on_both_sides_gives_identical_values(tmp_path: Path) -> None:
    out = tmp_path / "rev.json"
    rc = bench_revisions.main(
        [
            "--base",
            str(REPO),
            "--head",
            str(REPO),
            "--cases",
            "conv-predict,conv-variants",
            "--regions",
            "6",
            "--variants",
            "6",
            "--workdir",
            str(tmp_path / "w"),
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    res = json.loads(out.read_text())["cases"]
    assert set(res) == {"conv-predict", "conv-variants"}
    for case in res.values():
        assert case["identical_values"] is True
        assert case["wall_ratio"] > 0 and case["cpu_ratio"] > 0
        assert len(case["runs"]["base"]) == len(case["runs"]["head"]) == 1


def test_same_values_compares_numbers_not_provenance(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def write(name: str, values: list[float], meta: str) -> Path:
        table = pa.table({"task": ["a", "b", "c"], "value": pa.array(values, pa.float32())})
        path = tmp_path / name
        pq.write_table(table.replace_schema_metadata({"grelu": meta}), path)
        return path

    a = write("a.parquet", [1.0, float("nan"), 3.0], "run one")
    same = write("b.parquet", [1.0, float("nan"), 3.0], "run two, other paths")
    other = write("c.parquet", [1.0, float("nan"), 3.5], "run one")
    assert bench_revisions.same_values(a, same)
    assert not bench_revisions.same_values(a, other)
