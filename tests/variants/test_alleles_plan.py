"""Alleles (split, classify, skip), reference check under every --ref-mismatch mode, window
placement, indel sequences (checked by hand) and edge handling, on a tiny synthetic genome."""

from __future__ import annotations

from pathlib import Path

import pytest

from grelu_cli.errors import InputDataError
from grelu_cli.genome.genome import Genome
from grelu_cli.io.readers.vcf import VariantRecord
from grelu_cli.variants.alleles import Allele, Skipped, split_alleles
from grelu_cli.variants.plan import AllelePlanner, PlannedAllele, VariantCounts
from grelu_cli.variants.windows import SequenceReader, window_start

# chr1: 40 bp; position p (0-based) holds CHR1[p].
CHR1 = "ACGTACGTAACCGGTTAACCGGTTAACCGGTTTTAAAACC"
CHR2 = "acgtnacgta"  # soft-masked, with an N


@pytest.fixture
def genome(tmp_path: Path) -> Genome:
    fa = tmp_path / "g.fa"
    fa.write_text(f">chr1\n{CHR1}\n>chr2\n{CHR2}\n")
    return Genome(fa)


def rec(pos: int, ref: str, alts: tuple[str, ...], chrom: str = "chr1") -> VariantRecord:
    return VariantRecord(0, "v.vcf line 3", chrom, pos, None, ref, alts)


def one(items) -> Allele:
    (a,) = list(items)
    assert isinstance(a, Allele)
    return a


def test_split_classify_and_skip_counts() -> None:
    items = list(
        split_alleles(rec(5, "ac", ("g", "*", "<DEL>", "G]chr2:3]", ".A", "acgt", "a", "TG")), 1)
    )
    assert [(i.allele, type(i).__name__) for i in items] == [
        (1, "Allele"),
        (2, "Skipped"),
        (3, "Skipped"),
        (4, "Skipped"),
        (5, "Skipped"),
        (6, "Skipped"),
        (7, "Allele"),
        (8, "Allele"),
    ]
    assert [i.reason for i in items if isinstance(i, Skipped)] == [
        "star",
        "symbolic",
        "breakend",
        "breakend",
        "indel_too_long",  # ac -> acgt: +2 > --max-indel-len 1
    ]
    a = [i for i in items if isinstance(i, Allele)]
    assert [(x.ref, x.alt, x.variant_type) for x in a] == [
        ("AC", "G", "del"),
        ("AC", "A", "del"),
        ("AC", "TG", "mnv"),
    ]
    assert one(split_alleles(rec(5, "a", ("c",)), 0)).variant_type == "snv"
    assert one(split_alleles(rec(5, "a", ("cg",)), 1)).variant_type == "ins"
    (s,) = split_alleles(rec(5, "A", ()), 1)
    assert isinstance(s, Skipped) and s.reason == "no_alt"


@pytest.mark.parametrize(("ref", "alts"), [("X", ("A",)), ("", ("A",)), ("A", ("R",))])
def test_bad_alleles_are_input_errors(ref: str, alts: tuple[str, ...]) -> None:
    with pytest.raises(InputDataError, match=r"v\.vcf line 3: (REF|ALT) '.*' is not a DNA allele"):
        list(split_alleles(rec(5, ref, alts), 10))


def test_window_placement_matches_grelu() -> None:
    # gReLU: start = pos - ceil(L/2); first REF base at offset ceil(L/2) - 1.
    for L in (10, 11, 64, 65):
        ws = window_start(100, L)
        assert ws == 100 - -(-L // 2)
        assert 99 - ws == -(-L // 2) - 1


def plan(genome: Genome, r: VariantRecord, **kw) -> PlannedAllele | Skipped:
    planner = AllelePlanner(genome, kw.pop("L", 10), **kw)
    return planner.plan(one(split_alleles(r, 50)))


def seqs(genome: Genome, p: PlannedAllele, L: int = 10, flank: int = 0) -> tuple[str, str]:
    reader = SequenceReader(genome, L, flank)
    return reader.read(p.ref_input).decode(), reader.read(p.alt_input).decode()


def test_snv_mnv_windows(genome: Genome) -> None:
    # POS 15 (0-based 14, 'T'); L=10 -> window [10, 20), REF at offset 4.
    p = plan(genome, rec(15, "t", ("a",)))
    assert isinstance(p, PlannedAllele)
    assert (p.window_start, p.window_end, p.padded, p.ref_status) == (10, 20, 0, "match")
    assert seqs(genome, p) == ("CCGGTTAACC", "CCGGATAACC")
    p = plan(genome, rec(15, "TT", ("GC",)))
    assert seqs(genome, p) == ("CCGGTTAACC", "CCGGGCAACC")
    # odd L=9: ceil(9/2) = 5 -> start 10, REF still at offset 4
    p = plan(genome, rec(15, "T", ("A",)), L=9)
    assert p.window_start == 10
    assert seqs(genome, p, L=9) == ("CCGGTTAAC", "CCGGATAAC")


def test_indels_keep_the_left_flank(genome: Genome) -> None:
    # Deletion TTA -> T at POS 15: downstream bases are pulled in at the right end.
    p = plan(genome, rec(15, "TTA", ("T",)))
    assert p.allele.variant_type == "del"
    assert seqs(genome, p) == ("CCGGTTAACC", "CCGGTACCGG")
    # Insertion T -> TGGG: bases pushed out on the right.
    p = plan(genome, rec(15, "T", ("TGGG",)))
    assert seqs(genome, p) == ("CCGGTTAACC", "CCGGTGGGTA")
    # With a flank of 2 (for --shifts 2) the rule holds over the widened span.
    ref, alt = seqs(genome, p, flank=2)
    assert ref == CHR1[8:22] and alt == "AACCGGTGGGTAAC"


def test_ref_status_and_modes(genome: Genome) -> None:
    mismatch = rec(15, "C", ("G",))  # genome has T
    swapped = rec(15, "A", ("T",))  # genome has T = ALT
    for r, status in ((mismatch, "mismatch"), (swapped, "swapped")):
        counts = VariantCounts()
        s = plan(genome, r, counts=counts)
        assert isinstance(s, Skipped) and s.reason == "ref_mismatch"
        assert counts.ref_status[status] == 1 and counts.skipped["ref_mismatch"] == 1
        with pytest.raises(InputDataError, match=r"v\.vcf line 3: REF .* does not match"):
            plan(genome, r, ref_mismatch="error")
    p = plan(genome, mismatch, ref_mismatch="warn")
    assert p.ref_status == "mismatch"
    assert seqs(genome, p) == ("CCGGCTAACC", "CCGGGTAACC")  # the VCF's REF written in
    # swap: the genome is the ALT window; the VCF REF replaces ALT's bases in the other one
    p = plan(genome, swapped, ref_mismatch="swap")
    assert p.ref_status == "swapped"
    assert seqs(genome, p) == ("CCGGATAACC", "CCGGTTAACC")
    assert p.alt_input.is_genome
    assert isinstance(plan(genome, mismatch, ref_mismatch="swap"), Skipped)
    # warn scores a swapped allele as written
    p = plan(genome, swapped, ref_mismatch="warn")
    assert seqs(genome, p) == ("CCGGATAACC", "CCGGTTAACC") and not p.alt_input.is_genome


def test_soft_masked_genome_and_n(genome: Genome) -> None:
    assert plan(genome, rec(1, "A", ("C",), "chr2"), L=4).ref_status == "match"
    assert plan(genome, rec(5, "N", ("C",), "chr2"), L=4).ref_status == "match"


def test_edges(genome: Genome) -> None:
    r = rec(3, "G", ("A",))  # window [-2, 8) for L=10
    p = plan(genome, r)
    assert (p.window_start, p.padded) == (-2, 2)
    assert seqs(genome, p) == ("NNACGTACGT", "NNACATACGT")
    p = plan(genome, r, edge="shift")
    assert (p.window_start, p.padded) == (0, 0)
    assert seqs(genome, p) == ("ACGTACGTAA", "ACATACGTAA")
    assert plan(genome, r, edge="drop").reason == "edge_dropped"
    with pytest.raises(InputDataError, match=r"v\.vcf line 3: the 10 bp window .* runs off chr1"):
        plan(genome, r, edge="error")


def test_bad_positions_and_chromosomes(genome: Genome) -> None:
    with pytest.raises(InputDataError, match=r"v\.vcf line 3: POS runs past the end of chr1"):
        plan(genome, rec(41, "A", ("C",)))
    with pytest.raises(InputDataError, match=r"REF \(3 bp from POS 39\) runs past the end"):
        plan(genome, rec(39, "CCA", ("C",)))
    with pytest.raises(
        InputDataError, match=r"chromosome '1' is not in g\.fa .*--chrom-alias auto"
    ):
        plan(genome, rec(15, "T", ("A",), "1"))
    aliased = Genome(genome.path, "auto")
    assert plan(aliased, rec(15, "T", ("A",), "1")).chrom == "chr1"


def test_allele_too_long_for_the_window(genome: Genome) -> None:
    # L=10: REF at offset 4, so at most 6 bases fit.
    assert plan(genome, rec(15, "T", ("TAAAAAA",))).reason == "allele_too_long"
    assert isinstance(plan(genome, rec(15, "T", ("TAAAAA",))), PlannedAllele)
