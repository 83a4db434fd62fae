"""A window with no base on its chromosome (its region overlaps the chromosome but the window
centred on it, or a tile of it, lies wholly past the end) is bad input under ``--edge pad``
(it would be predicted on all-N input), dropped and counted under ``--edge drop``, and moved
onto the region's part of the chromosome under ``--edge shift``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grelu_cli.core.geometry import Geometry
from grelu_cli.errors import InputDataError
from grelu_cli.genome.inputs import prepare_input
from grelu_cli.genome.plan import WindowPlan
from grelu_cli.genome.table import table_from_arrays


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(1, 3_000),
    regions=st.lists(
        st.tuples(st.integers(0, 4_000), st.integers(1, 20_000)), min_size=1, max_size=6
    ),
    seq_len=st.integers(1, 400),
    tile=st.booleans(),
)
def test_count_matches_the_windows_themselves(size, regions, seq_len, tile):
    starts = [s for s, _ in regions]
    ends = [s + n for s, n in regions]
    table = table_from_arrays({"c": size}, ["c"] * len(starts), starts, ends)
    geometry = Geometry(bin_size=1) if tile else None
    plan = WindowPlan(table, seq_len, tile=tile, geometry=geometry, edge="pad")
    # independent count: a padded window with no base is all padding
    brute = Counter(w.region_index for w in plan.windows() if w.pad_left + w.pad_right == seq_len)
    assert plan.no_base_windows().tolist() == [brute[i] for i in range(len(starts))]


def _bed(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.bed"
    path.write_text(text)
    return path


# chr1 of tiny.fa has 3000 bp; line 2's window (100 bp centred at 500,000) is wholly off it.
LINES = "chr1\t100\t200\nchr1\t2900\t997100\nchr2\t500\t600\n"


def test_pad_is_an_error_naming_the_line_and_the_window(genome_path, tmp_path):
    bed = _bed(tmp_path, LINES)
    inp = prepare_input(bed=bed, genome=genome_path, seq_len=100)
    assert inp.report.n_errors == 1
    (err,) = inp.report.errors
    assert err.startswith(
        f"{bed} line 2: the model window 499,950-500,050 of region chr1:2900-997100(+) lies "
        "wholly off chr1 (0-3,000), so it would be all N ("
    )
    assert "--edge drop" in err and "--edge shift" in err
    with pytest.raises(InputDataError) as e:
        inp.check()
    assert e.value.exit_code == 3


def test_drop_skips_and_counts_it(genome_path, tmp_path):
    inp = prepare_input(bed=_bed(tmp_path, LINES), genome=genome_path, seq_len=100, edge="drop")
    assert inp.report.ok
    c = inp.counts()
    assert (c.windows, c.dropped_windows, c.dropped_regions) == (2, 1, 1)
    assert [w.region_index for w in inp.plan.windows()] == [0, 2]
    assert any("no base on their chromosome" in w and "line 2" in w for w in inp.report.warnings)


def test_shift_moves_it_onto_the_regions_part_of_the_chromosome(genome_path, tmp_path):
    inp = prepare_input(bed=_bed(tmp_path, LINES), genome=genome_path, seq_len=100, edge="shift")
    assert inp.report.ok
    w = list(inp.plan.windows())[1]
    assert (w.window_start, w.window_end, w.padded) == (2900, 3000, 0)


def test_tiles_past_the_end_are_counted_per_region(genome_path, tmp_path):
    # 100 bp tiles over chr1:2800-3400: tiles 0-1 on chr1, 2-5 wholly past its end
    bed = _bed(tmp_path, "chr1\t2800\t3400\n")
    geometry = Geometry(bin_size=1)
    inp = prepare_input(bed=bed, genome=genome_path, seq_len=100, tile=True, geometry=geometry)
    (err,) = inp.report.errors
    assert "line 1: 4 of the 6 tiles of region chr1:2800-3400(+) lie wholly off chr1" in err
    dropped = prepare_input(
        bed=bed, genome=genome_path, seq_len=100, tile=True, geometry=geometry, edge="drop"
    )
    assert dropped.report.ok and dropped.counts().windows == 2


def test_a_window_with_one_base_on_the_chromosome_is_only_padded(genome_path, tmp_path):
    # window 2999-3099: one base of chr1, 99 of padding (a warning, as before)
    inp = prepare_input(bed=_bed(tmp_path, "chr1\t2999\t3099\n"), genome=genome_path, seq_len=100)
    assert inp.report.ok and inp.counts().padded_bases == 99
