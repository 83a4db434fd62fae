"""Gene bins and SED statistics against a literal transcription of Calico's borzoi_sed.py.

A Borzoi-shaped case: 64 bins of 32 bp, tracks in strand pairs (adjacent '+'/'-' as in
Borzoi's tables) plus unstranded tracks, the multi-exon annotation of ``annotation.py`` and
random profiles (one track mostly zero, so its 25th percentile is 0 and JS meets its 0 and inf
cases). Calico's code runs one variant at a time in Python loops (``calico_reference``); ours is
the vectorised library path: GeneIndex.overlapping -> gene_bins -> gene_stats.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grelu_cli.genes.calibrate import percentile_grid, stat_percentiles
from grelu_cli.genes.stats import STATS, gene_stats
from grelu_cli.genes.strands import gene_tasks
from grelu_cli.genome.gene_bins import gene_bins
from grelu_cli.genome.genes import GeneIndex, load_gene_index
from tests.genes import calico_reference as ref
from tests.genes.annotation import BIN, N_BINS, SEQ_LEN, gtf_text

# name, strand_pair (0-based); pairs adjacent as in Borzoi's targets table
TRACKS = [
    ("RNA:liver+", 1),
    ("RNA:liver-", 0),
    ("RNA:brain+", 3),
    ("RNA:brain-", 2),
    ("DNASE:liver", 4),
    ("CAGE:lung+", 6),
    ("CAGE:lung-", 5),
    ("ATAC:heart", 7),
]
# chrom, VCF pos (1-based), rsid: A and C overlap the annotation at a non-integer bin shift,
# B sits near chr2's start (output span starts at -724), D has no gene.
VARIANTS = [
    ("chr1", 5000, "rsA"),
    ("chr2", 300, "rsB"),
    ("chr1", 5600, "rsC"),
    ("chr1", 50_000, "rsD"),
]


def _tasks() -> pd.DataFrame:
    return pd.DataFrame({"name": [n for n, _ in TRACKS], "strand_pair": [p for _, p in TRACKS]})


def _profiles(seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = {}
    for _, _, rsid in VARIANTS:
        r = rng.gamma(0.6, 20.0, size=(N_BINS, len(TRACKS))).astype(np.float32)
        a = (r * rng.lognormal(0, 0.3, size=r.shape)).astype(np.float32)
        zero = rng.random((N_BINS,)) < 0.8  # track 4 mostly zero: pseudocount 0
        r[zero, 4] = 0
        a[zero & (rng.random(N_BINS) < 0.9), 4] = 0
        out[rsid] = (r, a)
    return out


def _ours(
    index: GeneIndex, profiles: dict, stats: list[str], rule: str = "majority", span: bool = False
) -> tuple[dict, dict]:
    """{(rsid, gene_id): {stat: (K,)}} and {(rsid, gene_id): bins} from the library."""
    gt = gene_tasks(_tasks())
    scores: dict = {}
    bins: dict = {}
    for chrom, pos, rsid in VARIANTS:
        out_start = pos - SEQ_LEN // 2
        genes = index.overlapping(chrom, out_start, out_start + SEQ_LEN, span=span)
        gb = gene_bins(index, genes, out_start, BIN, N_BINS, rule=rule, span=span)
        r, a = profiles[rsid]
        res = gene_stats(r, a, gb, index.minus[gb.genes], gt, stats)
        for i, g in enumerate(gb.genes):
            key = (rsid, str(index.gene_id[g]))
            scores[key] = {s: res[s][i] for s in stats}
            bins[key] = gb.bins[gb.offsets[i] : gb.offsets[i + 1]]
    return scores, bins


def _calico(
    gtf: Path, profiles: dict, stats: list[str], span: bool = False
) -> tuple[dict, dict, dict]:
    snps = [ref.SNP(c, p, rs, "A", "G") for c, p, rs in VARIANTS]
    # The same float32 values, in float64: Calico sums float32 pairwise, we sum float64.
    profiles = {k: (r.astype(np.float64), a.astype(np.float64)) for k, (r, a) in profiles.items()}
    targets = ref.calico_targets([n for n, _ in TRACKS], [p for _, p in TRACKS])
    sed_out, rows, bins, targets_strand = ref.score_snps(
        snps, profiles, str(gtf), targets, SEQ_LEN, BIN, stats, span=span
    )
    scores = {key: {s: sed_out[s][xi] for s in stats} for xi, key in enumerate(rows)}
    return scores, bins, {"targets_strand": targets_strand, "sed_out": sed_out, "rows": rows}


@pytest.fixture
def gtf(tmp_path: Path) -> Path:
    p = tmp_path / "genes.gtf"
    p.write_text(gtf_text(tricky=False))
    return p


@pytest.mark.parametrize("stats", [list(STATS), ["SED", "logSED", "REF", "ALT"]])
@pytest.mark.parametrize("span", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_stats_equal_calico_per_variant_loop(
    gtf: Path, seed: int, span: bool, stats: list[str]
) -> None:
    """All statistics (gathered blocks) and the sums-only set (run sums), both bin rules."""
    profiles = _profiles(seed)
    index = load_gene_index(gtf)
    ours, our_bins = _ours(index, profiles, stats, span=span)
    theirs, their_bins, _ = _calico(gtf, profiles, stats, span=span)
    assert sorted(ours) == sorted(theirs)  # the same (variant, gene) rows
    assert len(ours) >= 8
    for key, sl in their_bins.items():
        np.testing.assert_array_equal(our_bins[key], sl, err_msg=str(key))
    for key in theirs:
        for s in stats:
            np.testing.assert_allclose(
                ours[key][s], theirs[key][s], rtol=1e-6, atol=1e-9, err_msg=f"{key} {s}"
            )


def test_reference_case_covers_the_edge_cases(gtf: Path) -> None:
    """The fixture really has what the comparison is meant to exercise."""
    profiles = _profiles(0)
    theirs, bins, _ = _calico(gtf, profiles, ["JS"])
    genes = {g for _, g in theirs}
    assert ("rsA", "ENSG00000000006.1") not in theirs  # exon too small for a majority bin
    assert "ENSG00000000008.1" not in genes  # far away
    assert ("rsB", "ENSG00000000009.2") in theirs  # window starting before the chromosome
    assert list(bins[("rsA", "ENSG00000000004.7")]) == [40]  # a single-bin exon
    assert list(bins[("rsA", "ENSG00000000005.2")]) == [10, 11, 12, 13, 22, 23, 30, 31, 32, 33]
    assert bins[("rsA", "ENSG00000000003.1")][-1] == N_BINS - 1  # cut by the right edge
    assert list(bins[("rsA", "ENSG00000000007.4")]) == [0]  # cut by the left edge
    js = np.concatenate([v["JS"] for v in theirs.values()])
    assert np.isinf(js).any() or (js == 0).any()


@pytest.mark.parametrize("seed", [0, 3])
def test_any_overlap_rule_equals_calico(gtf: Path, seed: int) -> None:
    profiles = _profiles(seed)
    index = load_gene_index(gtf)
    snps = [ref.SNP(c, p, rs, "A", "G") for c, p, rs in VARIANTS]
    slices = ref.map_snpseq_genes(
        snps, SEQ_LEN, ref.Transcriptome(str(gtf)), BIN, False, majority_overlap=False
    )
    _, ours = _ours(index, profiles, ["SED"], rule="any")
    theirs = {(s.rsid, g): sl for s, d in zip(snps, slices, strict=True) for g, sl in d.items()}
    assert sorted(ours) == sorted(theirs)
    for key, sl in theirs.items():
        np.testing.assert_array_equal(ours[key], sl, err_msg=str(key))


def test_gene_tasks_are_calicos_collapsed_targets(gtf: Path) -> None:
    _, _, extra = _calico(gtf, _profiles(0), ["SED"])
    gt = gene_tasks(_tasks())
    assert gt.names == list(extra["targets_strand"].identifier)


def test_percentile_grid_equals_write_pct(gtf: Path) -> None:
    stats = ["SED", "logSED", "JS", "REF"]
    _, _, extra = _calico(gtf, _profiles(2), stats)
    sed_out = extra["sed_out"]
    ref.write_pct(sed_out, stats)
    np.testing.assert_array_equal(percentile_grid(), sed_out["percentiles"])
    assert len(percentile_grid()) == 279
    for s in ("SED", "logSED", "JS"):
        ours = stat_percentiles(sed_out[s].astype(np.float32))
        np.testing.assert_allclose(ours, sed_out[f"{s}_pct"], rtol=1e-5, atol=1e-6)
    assert "REF_pct" not in sed_out


@pytest.mark.parametrize("seed", range(3))
def test_sums_only_path_equals_the_block_path(seed: int) -> None:
    """SED/logSED/REF/ALT alone take the whole-row sums path; with D1 the per-strand blocks."""
    rng = np.random.default_rng(seed)
    n_bins, t = 300, len(TRACKS)
    ref_p = rng.gamma(0.5, 10, size=(n_bins, t)).astype(np.float32)
    alt_p = (ref_p * rng.lognormal(0, 0.2, size=ref_p.shape)).astype(np.float32)
    # overlapping genes, runs touching both edges, one-bin runs, genes in no particular order
    genes_bins = [
        np.r_[0:5, 9, 20:30, 299],
        np.r_[250:300],
        np.r_[3:12],
        np.r_[150],
        np.sort(rng.choice(n_bins, 40, replace=False)),
    ]
    from grelu_cli.genome.gene_bins import GeneBins

    counts = [len(g) for g in genes_bins]
    gb = GeneBins(np.arange(len(counts)), np.r_[0, np.cumsum(counts)], np.concatenate(genes_bins))
    minus = np.array([False, True, True, False, True])
    gt = gene_tasks(_tasks())
    sums = gene_stats(ref_p, alt_p, gb, minus, gt, ["SED", "logSED", "REF", "ALT"])
    block = gene_stats(ref_p, alt_p, gb, minus, gt, ["SED", "logSED", "REF", "ALT", "D1"])
    for s in ("SED", "logSED", "REF", "ALT"):
        np.testing.assert_allclose(sums[s], block[s], rtol=1e-6, atol=1e-9, err_msg=s)
    cols = gt.columns(minus)
    for i, g in enumerate(genes_bins):
        want = ref_p[g][:, cols[i]].astype(np.float64).sum(axis=0)
        np.testing.assert_allclose(sums["REF"][i], want, rtol=1e-6)


def test_task_blocks_do_not_change_values(gtf: Path) -> None:
    """Blocks of 1..3 tasks (block_elements tiny) give the one-block values exactly."""
    index = load_gene_index(gtf)
    out_start = 5000 - SEQ_LEN // 2
    gb = gene_bins(
        index, index.overlapping("chr1", out_start, out_start + SEQ_LEN), out_start, BIN, N_BINS
    )
    r, a = _profiles(4)["rsA"]
    gt = gene_tasks(_tasks())
    one = gene_stats(r, a, gb, index.minus[gb.genes], gt, list(STATS))
    for be in (1, 40, 100):
        many = gene_stats(r, a, gb, index.minus[gb.genes], gt, list(STATS), block_elements=be)
        for s in STATS:
            np.testing.assert_array_equal(many[s], one[s], err_msg=f"{s} {be}")


def test_a_window_without_genes_gives_empty_blocks(gtf: Path) -> None:
    index = load_gene_index(gtf)
    gb = gene_bins(index, index.overlapping("chr1", 10**7, 10**7 + SEQ_LEN), 10**7, BIN, N_BINS)
    assert len(gb) == 0 and gb.offsets.tolist() == [0]
    r, a = _profiles(0)["rsA"]
    for stats in (["SED"], list(STATS)):
        out = gene_stats(r, a, gb, index.minus[gb.genes], gene_tasks(_tasks()), stats)
        assert all(v.shape == (0, 5) for v in out.values())
