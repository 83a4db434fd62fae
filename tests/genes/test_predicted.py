"""Gene windows and the gene reduction of ``grelu predict --genes`` (library level).

The CLI tests (``tests/cli/test_predict_genes.py``) check values against a plain run; these
check what a plain run cannot show: the ``tile_long`` plan is exactly resize for a short
region and ``--tile`` for a long one, tiles moved onto each other (``--edge shift``) never
count a bin twice, and ranges own whole genes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from grelu_cli.core.block import Block
from grelu_cli.core.geometry import Geometry
from grelu_cli.core.window import Window
from grelu_cli.genes.predicted import GeneReducer, owned_genes, predicted_range
from grelu_cli.genes.strands import GeneTasks
from grelu_cli.genome.genes import load_gene_index
from grelu_cli.genome.plan import WindowPlan
from grelu_cli.genome.table import table_from_arrays

GEOM = Geometry(bin_size=2, crop_len=3)
SEQ_LEN = 200  # 94 bins, 188 bp out, 6 bp in


def _starts(plan: WindowPlan) -> list[int]:
    return [w.window_start for w in plan.windows()]


def test_tile_long_is_resize_for_short_and_tile_for_long_regions():
    sizes = {"c": 5000}
    short, long = (100, 251), (1000, 1501)
    both = table_from_arrays(sizes, ["c", "c"], [short[0], long[0]], [short[1], long[1]])
    plan = WindowPlan(both, SEQ_LEN, tile_long=True, geometry=GEOM)
    one = table_from_arrays(sizes, ["c"], [short[0]], [short[1]])
    other = table_from_arrays(sizes, ["c"], [long[0]], [long[1]])
    resized = _starts(WindowPlan(one, SEQ_LEN, geometry=GEOM))
    tiled = _starts(WindowPlan(other, SEQ_LEN, tile=True, geometry=GEOM))
    assert resized == [(100 + 251 - 200 + 1) // 2]
    assert tiled == [1000 - 6 + k * 188 for k in range(3)]
    assert _starts(plan) == resized + tiled
    assert plan.n.tolist() == [1, 3]
    # A region exactly one output span long still gets one centred window.
    exact = table_from_arrays(sizes, ["c"], [300], [488])
    assert WindowPlan(exact, SEQ_LEN, tile_long=True, geometry=GEOM).n.tolist() == [1]


def _index(tmp_path: Path, exons: list[tuple[int, int]], strand: str = "+"):
    lines = [
        f'c\tt\texon\t{s + 1}\t{e}\t.\t{strand}\t.\tgene_id "g"; transcript_id "t";'
        for s, e in exons
    ]
    path = tmp_path / "g.gtf"
    path.write_text("\n".join(lines) + "\n")
    return load_gene_index(path)


def _window(i: int, out_start: int) -> Window:
    ws = out_start - 6
    return Window(i, 0, "g", "c", 0, 100, "+", ws, ws + SEQ_LEN)


def _block(out_starts: list[int], n_bins: int = 30, bin_size: int = 2) -> Block:
    starts = np.array([[s + j * bin_size for j in range(n_bins)] for s in out_starts])
    values = np.ones((len(out_starts), 1, n_bins), dtype=np.float32)
    windows = [_window(i, s) for i, s in enumerate(out_starts)]
    return Block(windows, values, np.arange(n_bins), starts, starts + bin_size)


def test_overlapping_tiles_count_each_bin_once(tmp_path: Path):
    index = _index(tmp_path, [(0, 100)])
    tasks = GeneTasks(["t"], np.array([0]), np.array([0]), np.array(["."]))
    reducer = GeneReducer(index, tasks, "majority", False, "sum")
    # Output spans [0, 60) and [40, 100): the second was shifted onto the first by 20 bp.
    [(genes, rows)] = list(reducer.reduce([_block([0, 40])], (0, 1)))
    assert genes.tolist() == [0]
    assert rows.columns["gene_bins"].tolist() == [50]  # 30 + 20, not 60
    assert rows.values[0, 0] == 50.0
    assert rows.columns["windows"].tolist() == [2]
    assert rows.columns["covered"].tolist() == [1.0]
    # The same windows in two blocks (a batch boundary between them) give the same row.
    again = GeneReducer(index, tasks, "majority", False, "sum")
    [(_, split)] = list(again.reduce([_block([0]), _block([40])], (0, 1)))
    assert split.values[0, 0] == 50.0 and split.columns["gene_bins"][0] == 50


def test_covered_fraction_and_mean(tmp_path: Path):
    index = _index(tmp_path, [(0, 40), (100, 160)])  # 100 exon bases
    tasks = GeneTasks(["t"], np.array([0]), np.array([0]), np.array(["."]))
    reducer = GeneReducer(index, tasks, "majority", False, "mean")
    # One window with output [0, 120): 40 + 20 exon bases inside, 20 + 10 bins.
    [(_, rows)] = list(reducer.reduce([_block([0], n_bins=60)], (0, 1)))
    assert rows.columns["covered"][0] == 0.6
    assert rows.columns["gene_bins"][0] == 30
    assert rows.values[0, 0] == 1.0  # the mean of ones


def test_ranges_own_whole_genes():
    n = np.array([1, 3, 0, 2, 1])  # windows per gene; first windows 0, 1, 4, 4, 6
    assert owned_genes(np.cumsum(n) - n, 0, 4) == (0, 2)
    assert owned_genes(np.cumsum(n) - n, 4, 8) == (2, 5)
    # gene 1's windows 1..3 with batches of 2 from window 0: windows [0, 4)
    assert predicted_range(n, (1, 2), 2, 7) == (0, 4)
    assert predicted_range(n, (3, 5), 4, 7) == (4, 7)
    assert predicted_range(n, (2, 3), 2, 7) == (4, 4)  # no window
