"""BigWigWriter: read back with pyBigWig and pybigtools, against a dense per-base reference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pybigtools
import pyBigWig
import pytest

from grelu_cli.core.block import Block
from grelu_cli.core.window import Window
from grelu_cli.errors import InputDataError, OutputExistsError, UsageError
from grelu_cli.io.formats.bigwig import BigWigWriter, bigwig_paths, safe_task_name, task_file_stems

CHROMS = [("chr2", 300), ("chr10", 120), ("chr1", 500), ("chrM", 40)]  # index order, unsorted
TASKS = ["plus", "minus"]


def block_of(windows: list[tuple], bin_size: int, n_bins: int, values=None, crop: int = 0):
    """Windows from (index, chrom, window_start) tuples; bins of ``bin_size`` after ``crop``."""
    ws = [
        Window(
            index=i,
            region_index=i,
            name=f"r{i}",
            chrom=chrom,
            start=s,
            end=s + (n_bins + 2 * crop) * bin_size,
            strand="+",
            window_start=s,
            window_end=s + (n_bins + 2 * crop) * bin_size,
        )
        for i, chrom, s in windows
    ]
    starts = np.array([w.window_start for w in ws], dtype=np.int64)[:, None]
    bin_start = starts + (crop + np.arange(n_bins)) * bin_size
    if values is None:
        rng = np.random.default_rng(len(ws))
        values = rng.normal(size=(len(ws), len(TASKS), n_bins)).astype(np.float32)
    return Block(
        ws, np.asarray(values, np.float32), np.arange(n_bins), bin_start, bin_start + bin_size
    )


def write(out, blocks, tasks=TASKS, chroms=CHROMS, **kwargs):
    with BigWigWriter(out, tasks, chroms, **kwargs) as writer:
        for block in blocks:
            writer.write(block)
    return writer


def dense_reference(blocks, mode: str, chroms=CHROMS, n_tasks=len(TASKS)):
    """Per-base values (NaN where nothing predicted), by plain loops over every bin."""
    sums = {c: np.zeros((n_tasks, n)) for c, n in chroms}
    counts = {c: np.zeros(n) for c, n in chroms}
    first = {c: np.full(n, np.iinfo(np.int64).max) for c, n in chroms}
    firstval = {c: np.full((n_tasks, n), np.nan) for c, n in chroms}
    for block in blocks:
        for i, w in enumerate(block.windows):
            size = dict(chroms)[w.chrom]
            for j in range(len(block.bins)):
                lo = max(int(block.bin_start[i, j]), 0)
                hi = min(int(block.bin_end[i, j]), size)
                if hi <= lo:
                    continue
                v = block.values[i, :, j].astype(np.float64)[:, None]
                sums[w.chrom][:, lo:hi] += v
                counts[w.chrom][lo:hi] += 1
                newer = first[w.chrom][lo:hi] > w.index
                firstval[w.chrom][:, lo:hi][:, newer] = v[:, [0] * int(newer.sum())]
                first[w.chrom][lo:hi] = np.minimum(first[w.chrom][lo:hi], w.index)
    out = {}
    for c, _ in chroms:
        with np.errstate(invalid="ignore"):
            mean = sums[c] / counts[c]
        out[c] = (mean if mode == "mean" else firstval[c]).astype(np.float32)
    return out


def read_both(path, chroms=CHROMS):
    """Per-base values from pyBigWig and from pybigtools; they must agree."""
    bw = pyBigWig.open(str(path))
    try:
        assert list(bw.chroms().items()) == chroms
        assert bw.header()["nLevels"] > 0
        got = {c: np.array(bw.values(c, 0, n), dtype=np.float32) for c, n in chroms}
    finally:
        bw.close()
    reader = pybigtools.open(str(path))
    assert list(reader.chroms().items()) == chroms
    assert reader.info()["zoomLevels"] > 0
    for c, n in chroms:
        other = np.asarray(reader.values(c, 0, n, fillna=None), dtype=np.float32)
        np.testing.assert_array_equal(other, got[c])
    reader.close()
    return got


def assert_matches(out_dir, blocks, mode, tasks=TASKS):
    ref = dense_reference(blocks, mode, n_tasks=len(tasks))
    for t, task in enumerate(tasks):
        got = read_both(out_dir / f"{task}.bw")
        for c, _ in CHROMS:
            np.testing.assert_allclose(got[c], ref[c][t], rtol=1e-6, atol=0, equal_nan=True)


def test_values_at_exact_bases_and_edges(tmp_path):
    values = np.arange(2 * 2 * 4, dtype=np.float32).reshape(2, 2, 4) + 1
    # chr10 is 120 bp: window at -16 has bins [-16,-6) [-6,4) [4,14) [14,24); window at 100
    # has [100,110) [110,120) [120,130) [130,140) -> the last two are off the end.
    block = block_of([(0, "chr10", -16), (1, "chr10", 100)], bin_size=10, n_bins=4, values=values)
    write(tmp_path / "o/", [block])
    got = read_both(tmp_path / "o" / "plus.bw")
    expect = np.full(120, np.nan, np.float32)
    expect[0:4], expect[4:14], expect[14:24] = 2, 3, 4
    expect[100:110], expect[110:120] = 9, 10
    np.testing.assert_array_equal(got["chr10"], expect)
    assert np.isnan(got["chr1"]).all() and np.isnan(got["chr2"]).all()
    minus = read_both(tmp_path / "o" / "minus.bw")["chr10"]
    assert minus[0] == 6 and minus[119] == 14
    bw = pyBigWig.open(str(tmp_path / "o" / "plus.bw"))
    assert bw.intervals("chr10") == (
        (0, 4, 2.0),
        (4, 14, 3.0),
        (14, 24, 4.0),
        (100, 110, 9.0),
        (110, 120, 10.0),
    )
    bw.close()


def test_overlap_mean_is_per_base(tmp_path):
    # Windows offset by 3 bp with 8 bp bins: bins straddle each other.
    a = block_of([(0, "chr1", 0)], 8, 3, values=np.full((1, 2, 3), 1.0))
    b = block_of([(1, "chr1", 3)], 8, 3, values=np.full((1, 2, 3), 4.0))
    write(tmp_path / "o", [b, a])
    got = read_both(tmp_path / "o" / "plus.bw")["chr1"]
    np.testing.assert_array_equal(got[:3], 1)
    np.testing.assert_array_equal(got[3:24], 2.5)
    np.testing.assert_array_equal(got[24:27], 4)
    assert np.isnan(got[27:]).all()


def test_overlap_first_keeps_earliest_input(tmp_path):
    a = block_of([(0, "chr1", 0)], 8, 3, values=np.full((1, 2, 3), 1.0))
    b = block_of([(1, "chr1", 3)], 8, 3, values=np.full((1, 2, 3), 4.0))
    write(tmp_path / "o", [b, a], overlap="first")  # arrival order does not matter
    got = read_both(tmp_path / "o" / "plus.bw")["chr1"]
    np.testing.assert_array_equal(got[:24], 1)
    np.testing.assert_array_equal(got[24:27], 4)


def test_overlap_error_sorted_input_fails_early(tmp_path):
    with (
        pytest.raises(InputDataError) as err,
        BigWigWriter(tmp_path / "o", TASKS, CHROMS, overlap="error") as writer,
    ):
        writer.write(block_of([(0, "chr1", 0), (1, "chr1", 24)], 8, 3))  # abutting: fine
        writer.write(block_of([(2, "chr1", 40)], 8, 3))
        pytest.fail("overlap not detected when the window arrived")
    message = str(err.value)
    assert "'r1' (chr1:24-48)" in message and "'r2' (chr1:40-64)" in message
    assert "chr1:41" in message and "--overlap mean" in message and "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_overlap_error_unsorted_input_fails_at_close(tmp_path):
    blocks = [block_of([(1, "chr1", 100)], 8, 3), block_of([(0, "chr1", 90)], 8, 3)]
    with pytest.raises(InputDataError, match=r"'r0' \(chr1:90-114\) and 'r1' \(chr1:100-124\)"):
        write(tmp_path / "o", blocks, overlap="error")
    assert list(tmp_path.iterdir()) == []
    # Without overlaps the same mode writes normally, in any order.
    blocks = [block_of([(1, "chr1", 100)], 8, 3), block_of([(0, "chr1", 70)], 8, 3)]
    write(tmp_path / "o", blocks, overlap="error")
    assert_matches(tmp_path / "o", blocks, "mean")


@pytest.mark.parametrize("mode", ["mean", "first"])
@pytest.mark.parametrize("seed", range(12))
def test_random_blocks_match_dense_reference(tmp_path, mode, seed):
    rng = np.random.default_rng(seed)
    bin_size = int(rng.choice([1, 5, 8]))
    n_bins = int(rng.integers(1, 9))
    specs = []
    for i in range(int(rng.integers(1, 40))):
        chrom, size = CHROMS[int(rng.integers(len(CHROMS)))]
        start = int(rng.integers(-n_bins * bin_size, size + 5))
        specs.append((i, chrom, start))
    rng.shuffle(specs)  # arrival order differs from input order
    blocks, pos = [], 0
    while pos < len(specs):
        k = int(rng.integers(1, 6))
        vals = rng.normal(size=(len(specs[pos : pos + k]), 2, n_bins)).astype(np.float32)
        if seed % 2:
            vals = np.round(vals)  # equal neighbours: coalesced entries
        blocks.append(block_of(specs[pos : pos + k], bin_size, n_bins, values=vals))
        pos += k
    write(tmp_path / "o", blocks, overlap=mode, files_open=1 + seed % 2)
    assert_matches(tmp_path / "o", blocks, mode)


def test_pooled_bins_spanning_windows(tmp_path):
    # Aggregated output: one bin per window spanning 50 bp, sliding by 20 bp.
    blocks = [block_of([(i, "chr2", 20 * i)], 50, 1) for i in range(5)]
    write(tmp_path / "o", blocks)
    assert_matches(tmp_path / "o", blocks, "mean")


def test_output_names(tmp_path):
    assert bigwig_paths(tmp_path / "d", ["a", "b"]) == [tmp_path / "d/a.bw", tmp_path / "d/b.bw"]
    assert bigwig_paths(f"{tmp_path}/x/{{task}}.sig.bw", ["a"]) == [tmp_path / "x/a.sig.bw"]
    assert bigwig_paths(tmp_path / "one.bw", ["a"]) == [tmp_path / "one.bw"]
    with pytest.raises(UsageError, match="2 tasks"):
        bigwig_paths(tmp_path / "one.bw", ["a", "b"])
    assert safe_task_name("DNASE:K562 (ENCODE)") == "DNASE_K562_ENCODE"
    assert safe_task_name("../x") == "x" and safe_task_name("///") == "task"
    assert safe_task_name("CNhs11250.1-a+b") == "CNhs11250.1-a+b"
    assert task_file_stems(["a/b", "a_b", "A:b", "c"]) == ["a_b_0", "a_b_1", "A_b_2", "c"]


def test_template_and_task_file_names(tmp_path):
    tasks = ["DNase:K562", "CAGE/HepG2"]
    block = block_of([(0, "chr1", 0)], 8, 2)
    write(f"{tmp_path}/tracks/{{task}}.bw", [block], tasks=tasks)
    assert sorted(p.name for p in (tmp_path / "tracks").iterdir()) == [
        "CAGE_HepG2.bw",
        "DNase_K562.bw",
    ]


def test_existing_output_and_overwrite(tmp_path):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "minus.bw").write_text("old")
    block = block_of([(0, "chr1", 0)], 8, 2, values=np.ones((1, 2, 2)))
    with pytest.raises(OutputExistsError, match=r"minus\.bw already exists"):
        write(tmp_path / "o", [block])
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["minus.bw"]
    write(tmp_path / "o", [block], overwrite=True)
    assert read_both(tmp_path / "o" / "minus.bw")["chr1"][0] == 1


def test_failure_inside_with_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt), BigWigWriter(tmp_path / "o", TASKS, CHROMS) as writer:
        writer.write(block_of([(0, "chr1", 0)], 8, 2))
        assert any(p.name.endswith(".partial.d") for p in (tmp_path / "o").iterdir())
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_no_scratch_left_after_success(tmp_path):
    write(tmp_path, [block_of([(0, "chr1", 0)], 8, 2)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["minus.bw", "plus.bw"]


def test_fasta_windows_and_unknown_chromosomes_are_rejected(tmp_path):
    fasta = block_of([(0, None, 0)], 8, 2)
    with pytest.raises(UsageError, match="FASTA"):
        write(tmp_path / "o", [fasta])
    with pytest.raises(InputDataError, match=r"'chr7'.*not in the genome index"):
        write(tmp_path / "o", [block_of([(0, "chr7", 0)], 8, 2)])
    assert list(tmp_path.iterdir()) == []


def test_nothing_predicted_gives_valid_empty_files(tmp_path):
    write(tmp_path / "o", [block_of([(0, "chrM", 100)], 8, 2)])  # wholly off chrM's end
    bw = pyBigWig.open(str(tmp_path / "o" / "plus.bw"))
    assert list(bw.chroms().items()) == CHROMS and bw.intervals("chrM") is None
    bw.close()


def test_bad_arguments(tmp_path):
    with pytest.raises(UsageError, match="overlap mode 'max'"):
        BigWigWriter(tmp_path / "o", TASKS, CHROMS, overlap="max")
    with pytest.raises(UsageError, match="--genome"):
        BigWigWriter(tmp_path / "o", TASKS, [])
    with pytest.raises(ValueError, match="1 tasks"), BigWigWriter(tmp_path, TASKS, CHROMS) as w:
        w.write(Block([], np.zeros((0, 1, 2), np.float32), np.arange(2), *np.zeros((2, 0, 2))))


def test_non_finite_values_are_not_written(tmp_path):
    v = np.array([[[np.nan, 1, np.inf, 2], [1, 1, 1, 1]], [[5, 5, 5, 5], [2, 2, 2, 2]]])
    blocks = [block_of([(0, "chr1", 0)], 8, 4, values=v[:1])]
    blocks.append(block_of([(1, "chr1", 4)], 8, 4, values=v[1:]))
    with BigWigWriter(tmp_path / "o", TASKS, CHROMS) as writer:
        for block in blocks:
            writer.write(block)
    assert writer.nonfinite == [2, 0]
    got = read_both(tmp_path / "o" / "plus.bw")["chr1"]
    expect = np.full(40, np.nan, np.float32)
    expect[4:8] = 5  # NaN in [0, 8): only the second window predicts 4..7
    expect[8:16] = 3
    expect[16:24] = 5  # inf in [16, 24)
    expect[24:32] = 3.5
    expect[32:36] = 5
    np.testing.assert_array_equal(got[:40], expect)


def test_minus_strand_values_are_placed_as_given(tmp_path):
    # Blocks hold values in genome orientation already: strand must not flip anything here.
    values = np.arange(8, dtype=np.float32).reshape(1, 2, 4)
    plus = block_of([(0, "chr2", 10)], 5, 4, values=values)
    window = dataclasses.replace(plus.windows[0], strand="-")
    minus = Block([window], values, plus.bins, plus.bin_start, plus.bin_end)
    write(tmp_path / "p", [plus])
    write(tmp_path / "m", [minus])
    assert read_both(tmp_path / "m" / "plus.bw")["chr2"][10] == 0
    for task in TASKS:
        np.testing.assert_array_equal(
            read_both(tmp_path / "p" / f"{task}.bw")["chr2"],
            read_both(tmp_path / "m" / f"{task}.bw")["chr2"],
        )
