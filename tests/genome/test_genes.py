"""Gene index: exon unions, skipped genes, selection, aliases, overlap queries, gene bins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grelu_cli.genome.gene_bins import gene_bins
from grelu_cli.genome.genes import (
    build_gene_index,
    load_gene_index,
    rename_chroms,
    select_genes,
    unversioned,
)
from grelu_cli.io.readers.gtf import ExonRecord
from tests.genes.annotation import GENES, expected_exons, write_annotation


@pytest.fixture
def annotation(tmp_path: Path) -> tuple[Path, Path]:
    return write_annotation(tmp_path)


def test_genes_are_exon_unions_sorted_by_chrom_and_start(annotation: tuple[Path, Path]) -> None:
    idx = load_gene_index(annotation[0])
    assert len(idx) == len(GENES) and not idx.skipped
    for g in range(len(idx)):
        gid = str(idx.gene_id[g])
        chrom, strand, gtype, _, _ = GENES[gid]
        exons = expected_exons(gid)
        assert [tuple(e) for e in idx.exons(g).tolist()] == exons, gid
        assert idx.chroms[idx.chrom[g]] == chrom and idx.strand[g] == strand
        assert idx.gene_type[g] == gtype and idx.minus[g] == (strand == "-")
        assert (idx.start[g], idx.end[g]) == (exons[0][0], exons[-1][1])
    keys = list(zip(idx.chrom.tolist(), idx.start.tolist(), strict=True))
    assert keys == sorted(keys)
    assert idx.exons(int(np.flatnonzero(idx.gene_name == "KAPPA")[0])).tolist() == [
        [5276, 5576]  # touching exons of two transcripts merged
    ]


def test_gtf_and_gff3_indexes_are_identical(annotation: tuple[Path, Path]) -> None:
    a, b = load_gene_index(annotation[0]), load_gene_index(annotation[1])
    for field in (
        "gene_id",
        "gene_name",
        "gene_type",
        "chrom",
        "strand",
        "start",
        "end",
        "exon_offsets",
        "exon_start",
        "exon_end",
        "chrom_offsets",
        "max_len",
    ):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert a.chroms == b.chroms


def _rec(gid: str, chrom: str, strand: str, s: int, e: int) -> ExonRecord:
    return ExonRecord(1, chrom, s, e, strand, gid, gid.lower(), "protein_coding")


def test_genes_whose_exons_disagree_are_skipped_and_listed() -> None:
    idx = build_gene_index(
        [
            _rec("G1", "chr1", "+", 10, 20),
            _rec("SPLIT", "chr1", "+", 30, 40),
            _rec("SPLIT", "chr2", "+", 50, 60),
            _rec("BOTH", "chr1", "+", 5, 9),
            _rec("BOTH", "chr1", "-", 70, 80),
            _rec("G2", "chr1", "-", 1, 3),
        ]
    )
    assert list(idx.gene_id) == ["G2", "G1"]
    assert [(s.gene_id, s.reason) for s in idx.skipped] == [
        ("SPLIT", "its exons are on more than one chromosome: chr1, chr2"),
        ("BOTH", "its exons are on more than one strand: +, -"),
    ]
    assert build_gene_index([]).gene_id.shape == (0,)


def test_select_by_type_id_version_and_name(annotation: tuple[Path, Path]) -> None:
    idx = load_gene_index(annotation[0])
    lnc, none = select_genes(idx, gene_types={"lncRNA"})
    assert sorted(lnc.gene_name) == ["BETA;2", "IOTA", "ZETA"] and none == []
    sel, missing = select_genes(
        idx, gene_ids=["ENSG00000000001", "ENSG00000000003.1", "DELTA", "ENSG00000000005.9", "X"]
    )
    assert sorted(sel.gene_name) == ["ALPHA", "DELTA", "GAMMA"]
    assert missing == ["ENSG00000000005.9", "X"]
    both, missing = select_genes(idx, gene_types=["lncRNA"], gene_ids=["ALPHA", "IOTA"])
    assert list(both.gene_name) == ["IOTA"] and missing == ["ALPHA"]
    assert unversioned("ENSG00000182378.14_PAR_Y") == "ENSG00000182378_PAR_Y"
    assert unversioned("GENE.X") == "GENE.X"
    # a subset still answers queries
    g = both.overlapping("chr2", 0, 1000)
    assert list(both.gene_name[g]) == ["IOTA"]


def test_chrom_aliases(annotation: tuple[Path, Path]) -> None:
    idx = load_gene_index(annotation[0])
    auto, dropped = rename_chroms(idx, {"1", "2", "MT"}, "auto")
    assert auto.chroms == ["1", "2"] and dropped == [] and len(auto) == len(idx)
    exact, dropped = rename_chroms(idx, {"chr1"}, "none")
    assert dropped == ["chr2"] and set(exact.chroms[c] for c in exact.chrom) == {"chr1"}
    assert len(exact.overlapping("chr2", 0, 10_000)) == 0


def _random_index(rng: np.random.Generator, n: int) -> tuple:
    recs = []
    for g in range(n):
        chrom = f"chr{rng.integers(1, 3)}"
        strand = "+-"[int(rng.integers(2))]
        base = int(rng.integers(0, 200_000))
        for _ in range(int(rng.integers(1, 6))):
            s = base + int(rng.integers(0, 30_000 if g % 7 else 3_000))
            recs.append(_rec(f"G{g}", chrom, strand, s, s + int(rng.integers(1, 800))))
    return build_gene_index(recs), recs


@pytest.mark.parametrize("span", [False, True])
def test_overlapping_equals_a_loop(span: bool) -> None:
    rng = np.random.default_rng(1)
    idx, _ = _random_index(rng, 300)
    for _ in range(200):
        chrom = f"chr{rng.integers(1, 4)}"
        s = int(rng.integers(-1000, 240_000))
        e = s + int(rng.integers(1, 20_000))
        got = set(idx.gene_id[idx.overlapping(chrom, s, e, span=span)])
        want = set()
        for g in range(len(idx)):
            if idx.chroms[idx.chrom[g]] != chrom:
                continue
            ivs = [(idx.start[g], idx.end[g])] if span else idx.exons(g).tolist()
            if any(a < e and b > s for a, b in ivs):
                want.add(idx.gene_id[g])
        assert got == want


@pytest.mark.parametrize("rule", ["majority", "any"])
@pytest.mark.parametrize("span", [False, True])
def test_gene_bins_equal_a_loop(rule: str, span: bool) -> None:
    rng = np.random.default_rng(2)
    idx, _ = _random_index(rng, 200)
    bin_size, n_bins = 32, 512
    for out_start in rng.integers(-5_000, 200_000, size=20):
        out_start = int(out_start)
        genes = idx.overlapping("chr1", out_start, out_start + bin_size * n_bins, span=span)
        gb = gene_bins(idx, genes, out_start, bin_size, n_bins, rule=rule, span=span)
        want = {}
        for g in genes:
            ivs = [(idx.start[g], idx.end[g])] if span else idx.exons(int(g)).tolist()
            bins: set[int] = set()
            for s, e in ivs:
                a, b = max(0, s - out_start) / bin_size, max(0, e - out_start) / bin_size
                lo, hi = (
                    (round(a), round(b))
                    if rule == "majority"
                    else (int(np.floor(a)), int(np.ceil(b)))
                )
                bins |= set(range(max(0, min(lo, n_bins)), max(0, min(hi, n_bins))))
            if bins:
                want[int(g)] = sorted(bins)
        got = {
            int(g): gb.bins[gb.offsets[i] : gb.offsets[i + 1]].tolist()
            for i, g in enumerate(gb.genes)
        }
        assert got == want


def test_half_bin_boundaries_round_to_even() -> None:
    idx = build_gene_index(
        [_rec("A", "c", "+", 16, 48), _rec("B", "c", "+", 48, 80), _rec("C", "c", "+", 80, 112)]
    )
    gb = gene_bins(idx, np.arange(3), 0, 32, 10)
    # A: 0.5 -> 0, 1.5 -> 2; B: 1.5 -> 2, 2.5 -> 2 (no bin); C: 2.5 -> 2, 3.5 -> 4
    assert [str(idx.gene_id[g]) for g in gb.genes] == ["A", "C"]
    assert gb.bins.tolist() == [0, 1, 2, 3] and gb.offsets.tolist() == [0, 2, 4]


def test_nested_and_touching_exons_merge_into_disjoint_intervals() -> None:
    recs = [(0, 100), (10, 20), (50, 60), (100, 110), (150, 160), (155, 158), (159, 170)]
    idx = build_gene_index([_rec("G", "c", "+", s, e) for s, e in recs[::-1]])
    assert idx.exons(0).tolist() == [[0, 110], [150, 170]]
