"""The streaming scorer: reference windows shared (multi-allelic sites, duplicates, several
variants at one POS) within a group of records, counted at the model's forward; batches are
exactly a group's distinct inputs (no padding); grouping never changes the numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.variants.helpers import REF, copy_genome, run_library

CONV = REF / "checkpoints" / "conv_poisson.ckpt"


def _chr1(tmp_path: Path) -> str:
    text = (REF / "inputs" / "genome.fa").read_text().split(">")[1]
    return "".join(text.splitlines()[1:]).upper()


def _vcf(tmp_path: Path) -> Path:
    chr1 = _chr1(tmp_path)
    a, b, c = 2000, 2500, 4000  # 1-based POS
    ra, rb, rc = chr1[a - 1], chr1[b - 1], chr1[c - 1]
    alts_a = [x for x in "ACGT" if x != ra]
    snv_b = next(x for x in "ACGT" if x != rb)
    snv_c = next(x for x in "ACGT" if x != rc)
    rows = [
        (a, ra, ",".join(alts_a)),  # 3 ALTs: 1 ref + 3 alt windows
        (a, ra, alts_a[0]),  # duplicate of the first allele: nothing new
        (b, rb, snv_b),  # 1 ref + 1 alt
        (b, chr1[b - 1 : b + 2], rb),  # deletion at the same POS: shares the ref, 1 alt
        (c, rc, snv_c),  # 1 ref + 1 alt
    ]
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += [f"chr1\t{p}\t.\t{r}\t{x}\t.\t.\t." for p, r, x in rows]
    path = tmp_path / "dups.vcf"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_reference_windows_are_predicted_once(tmp_path: Path) -> None:
    seen: list[bytes] = []

    def hook(module, args, output) -> None:
        x = args[0].detach().contiguous().numpy()
        seen.extend(row.tobytes() for row in x)

    vcf = _vcf(tmp_path)
    alleles, ref, alt, _out, counts = run_library(
        CONV, vcf, copy_genome(tmp_path), ("diff",), model_hook=hook
    )
    assert len(alleles) == 3 + 1 + 1 + 1 + 1
    assert counts.windows == 4 + 0 + 2 + 1 + 2
    assert len(set(seen)) == counts.windows  # the model saw exactly the distinct inputs
    # Alleles of one site share one reference value; the duplicate repeats the first allele.
    np.testing.assert_array_equal(ref[0], ref[1])
    np.testing.assert_array_equal(ref[0], ref[2])
    np.testing.assert_array_equal(ref[0], ref[3])
    np.testing.assert_array_equal(alt[0], alt[3])
    np.testing.assert_array_equal(ref[4], ref[5])
    assert not np.array_equal(alt[4], alt[5])


def test_grouping_does_not_change_values(tmp_path: Path) -> None:
    vcf = _vcf(tmp_path)
    genome = copy_genome(tmp_path)
    scores = ("diff", "log2fc", "sad")
    big = run_library(CONV, vcf, genome, scores)
    assert big[4].windows == 9
    for batch, group, windows in ((2, 5, 9), (3, 5, 9), (16, 1, 4 + 2 + 2 + 2 + 2)):
        small = run_library(CONV, vcf, genome, scores, batch_windows=batch, group_records=group)
        np.testing.assert_allclose(small[1], big[1], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(small[2], big[2], rtol=1e-6, atol=1e-7)
        for s in scores:
            np.testing.assert_allclose(small[3][s], big[3][s], rtol=1e-5, atol=1e-7)
        # inputs are shared within a group (cut into batches as needed), not across groups
        assert small[4].windows == windows


def test_batches_are_the_groups_distinct_inputs(tmp_path: Path) -> None:
    sizes: list[int] = []

    def hook(module, args, output) -> None:
        sizes.append(args[0].shape[0])

    vcf = _vcf(tmp_path)
    run_library(
        CONV, vcf, copy_genome(tmp_path), batch_windows=16, group_records=2, model_hook=hook
    )
    # records 0-1: ref + 3 alts; 2-3: ref, SNV, deletion; 4: ref + alt. Nothing padded.
    assert sizes == [4, 3, 2]
