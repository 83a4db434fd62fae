"""benchmarks/bench_genes.py and genes_vs_calico.py: the Calico comparison's logic on a tiny
geometry (the full-size run is by hand, see benchmarks/README.md). Not timed."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))

import bench_genes
import genes_vs_calico as gvc

from grelu_cli.genes.stats import STATS

N_TRACKS, N_PAIRS, N_BINS = 7, 2, 6144  # full span (genes per window as at full size)


@pytest.fixture(scope="module")
def dense(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("dense")
    return bench_genes.dense_annotation(tmp, 2)


@pytest.fixture(scope="module")
def compared(dense):
    gtf, index = dense
    return bench_genes.bench_compare(gtf, index, 2, N_TRACKS, N_PAIRS, N_BINS)


def test_dense_annotation_has_borzoi_like_windows(dense) -> None:
    _, index = dense
    from grelu_cli.genes.variant_sed import OutputSpan, genes_of_window

    span = OutputSpan(bench_genes.CROP, bench_genes.BIN, N_BINS)
    for pos in bench_genes.variant_positions(index, 4):
        gb = genes_of_window(
            index, span, "chr1", pos - span.n_bins * span.bin_size // 2 - span.offset
        )
        assert 30 <= len(gb) <= 60  # about 40 genes per output span
        assert index.minus[gb.genes].any() and (~index.minus[gb.genes]).any()
        assert (gb.counts > 1).any()  # multi-exon genes with several bins


def test_comparison_agrees_with_calico_on_the_same_rows(compared) -> None:
    assert compared["variants"] == 2 and compared["rel_entr"] == "scipy"
    for label in ("SED,logSED", "all_11"):
        row = compared[label]
        assert len(row["calico_seconds"]) == len(row["ours_seconds"]) == 2
        assert all(n >= 30 for n in row["genes_per_variant"])
        assert row["calico_over_ours"] == pytest.approx(
            row["calico_s_per_variant"] / row["ours_s_per_variant"]
        )
        assert row["ours_pct_of_one_forward"] == pytest.approx(
            100 * row["ours_s_per_variant"] / bench_genes.FORWARD_S
        )
        assert row["vs_calico_float32"]["rows"] == sum(row["genes_per_variant"])
    agree = compared["agreement"]
    assert agree["ok"], agree["problems"]
    assert agree["stats"] == "all_11" and set(agree["max_rel_diff"]) == set(STATS)
    assert agree["rows"] == compared["all_11"]["genes_per_variant"][0]
    red = compared["predict_genes_reduction"]
    assert red["windows"] == 2 and red["genes_written"] >= 1


def test_the_benchmark_loop_is_calicos_score_snps(dense) -> None:
    """The benchmark's copy of score_snps' loop body gives score_snps' own answer."""
    gtf, index = dense
    mod = gvc.calico_module()
    names, pairs = gvc.borzoi_tasks(N_TRACKS, N_PAIRS)
    positions = bench_genes.variant_positions(index, 2)

    def profiles(si: int):
        return gvc.random_profiles(N_BINS, N_TRACKS, 1000 + si)

    ours = gvc.calico_scores(mod, gtf, positions, "chr1", profiles, names, pairs,
                             bench_genes.BIN, N_BINS, list(STATS))  # fmt: skip
    snps = [mod.SNP("chr1", p, f"v{i}", "A", "G") for i, p in enumerate(positions)]
    preds = {f"v{i}": profiles(i) for i in range(len(positions))}
    targets = mod.calico_targets(names, pairs)
    sed_out, rows, bins, _ = mod.score_snps(
        snps, preds, str(gtf), targets, N_BINS * bench_genes.BIN, bench_genes.BIN, list(STATS)
    )
    assert [(int(r[1:]), g) for r, g in rows] == list(ours["scores"])
    for xi, (rsid, g) in enumerate(rows):
        key = (int(rsid[1:]), g)
        np.testing.assert_array_equal(ours["bins"][key], bins[(rsid, g)])
        for s in STATS:
            np.testing.assert_array_equal(ours["scores"][key][s], sed_out[s][xi], err_msg=s)


def test_agreement_fails_on_a_wrong_value_a_missing_row_or_other_bins(dense) -> None:
    gtf, index = dense
    mod = gvc.calico_module()
    names, pairs = gvc.borzoi_tasks(N_TRACKS, N_PAIRS)
    positions = bench_genes.variant_positions(index, 1)

    def profiles(si: int):
        r, a = gvc.random_profiles(N_BINS, N_TRACKS, 1000 + si)
        return r.astype(np.float64), a.astype(np.float64)

    args = (positions, "chr1", profiles, names, pairs, bench_genes.BIN, N_BINS, ["SED", "JS"])
    theirs = gvc.calico_scores(mod, gtf, *args)
    ours = gvc.our_scores(index, *args, offset=bench_genes.CROP)
    assert gvc.agreement(ours, theirs)["ok"]
    key = next(iter(ours["scores"]))

    wrong = copy.deepcopy(ours)
    wrong["scores"][key]["JS"][1] *= 1 + 3e-5  # just outside rtol 1e-5
    res = gvc.agreement(wrong, theirs)
    assert not res["ok"] and res["mismatched_values"] == 1
    assert res["max_rel_diff"]["JS"] == pytest.approx(3e-5, rel=1e-3)
    assert "JS[1]" in res["problems"][0]
    assert gvc.agreement(wrong, theirs, rtol=1e-4)["ok"]

    nan = copy.deepcopy(ours)
    nan["scores"][key]["SED"][0] = np.nan
    assert not gvc.agreement(nan, theirs)["ok"]

    missing = copy.deepcopy(ours)
    del missing["scores"][key]
    assert "rows differ" in gvc.agreement(missing, theirs)["problems"][0]

    shifted = copy.deepcopy(ours)
    shifted["bins"][key] = shifted["bins"][key] + 1
    assert "bins differ" in gvc.agreement(shifted, theirs)["problems"][0]


def test_scoring_rss_reports_after_n_and_2n_variants(dense) -> None:
    gtf, index = dense
    positions = bench_genes.variant_positions(index, 4)
    res = gvc.scoring_rss(gtf, positions, "chr1", N_TRACKS, N_PAIRS, bench_genes.BIN,
                          N_BINS, ["SED"], bench_genes.CROP)  # fmt: skip
    assert list(res) == ["after_index", "after_2_variants", "after_4_variants"]
    for v in res.values():
        assert 0 < v["rss_mb"] <= v["peak_rss_mb"]
    assert res["after_4_variants"]["peak_rss_mb"] >= res["after_index"]["peak_rss_mb"]
