"""``grelu ism --genes GTF --gene-ids X``: the target is the sum over the gene's exon bins
(majority rule) of its track. Checked against ``grelu predict`` run independently on the
reference window and on a mutated copy of it (``--fasta``): the sums over the bins picked by
the rule written out here must be ``target_ref`` and ``target_ref + delta``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import zarr

from tests.cli.predict_helpers import invoke, one_error_line

REF = Path(__file__).resolve().parents[1] / "data" / "reference"
CKPT = REF / "checkpoints" / "conv_poisson.ckpt"  # 64 bp in, 32 bins of 2 bp, no crop
GENOME = REF / "inputs" / "genome.fa"
TASKS = ["dnase_k562", "cage_hepg2_plus", "cage_hepg2_minus"]
EXONS = [(2003, 2011), (2020, 2031)]  # 0-based half-open, on chr1


def _chr1() -> str:
    return "".join(GENOME.read_text().split(">")[1].splitlines()[1:])


def _gtf(path: Path) -> Path:
    rows = []
    for s, e in EXONS:
        attrs = 'gene_id "G1.2"; gene_name "GENEA"; gene_type "protein_coding";'
        rows.append(f'chr1\tt\texon\t{s + 1}\t{e}\t.\t-\t.\t{attrs} transcript_id "T1";')
    other = 'gene_id "G2"; gene_name "OTHER"; gene_type "lncRNA"; transcript_id "T2";'
    rows.append(f"chr1\tt\texon\t4001\t4100\t.\t+\t.\t{other}")
    path.write_text("\n".join(rows) + "\n")
    return path


def _ok(*args) -> None:
    result = invoke(*args)
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)


def _gene_sum(parquet: Path, window_start: int) -> np.ndarray:
    """(T,) sums over the gene's bins by CLI.md's rule (Calico's ``map_snpseq_genes``): exon
    ``[s, e)`` covers bins ``round((s - out_start) / bin)`` to ``round((e - out_start) / bin)``
    (numpy's round, half to even). The output span starts at the window (no crop)."""
    df = pd.read_parquet(parquet)
    bins: set[int] = set()
    for s, e in EXONS:
        bins |= set(
            range(int(np.round((s - window_start) / 2)), int(np.round((e - window_start) / 2)))
        )
    assert len(bins) == 10  # 4 + 6: [2003, 2011) -> 10..13, [2020, 2031) -> 18..23
    picked = df[df.bin.isin(bins)]
    return np.array([picked[picked.task == t].value.sum() for t in TASKS])


def test_gene_target_is_the_sum_over_the_gene_bins(tmp_path):
    gtf = _gtf(tmp_path / "genes.gtf")
    out = tmp_path / "ism.zarr"
    region = "chr1:2,001-2,032"  # 32 bp: the 64 bp window is [1984, 2048)
    _ok(
        "ism",
        "-m",
        CKPT,
        "--region",
        region,
        "-g",
        GENOME,
        "--genes",
        gtf,
        "--gene-ids",
        "GENEA",
        "--ism-width",
        "4",
        "-q",
        "-o",
        out,
    )
    store = zarr.open_group(str(out), mode="r")
    assert [str(t) for t in np.asarray(store["task"])] == TASKS
    record = store.attrs["grelu"]
    assert record["ism"]["target"] == "gene" and record["ism"]["gene"]["gene_id"] == "G1.2"
    ws = int(np.asarray(store["window_start"])[0])
    assert ws == 1984
    seq = _chr1()[ws : ws + 64]
    # The reference window through grelu predict (FASTA: the same bases, no genome).
    fa = tmp_path / "w.fa"
    fa.write_text(f">w\n{seq}\n")
    _ok("predict", "-m", CKPT, "--fasta", fa, "-o", tmp_path / "r.parquet", "-q")
    target_ref = np.asarray(store["target_ref"])[0]
    np.testing.assert_allclose(target_ref, _gene_sum(tmp_path / "r.parquet", ws), rtol=1e-5)
    # One mutant: the first mutated position to its first non-reference base.
    offset = int(np.asarray(store["offset"])[0][0])
    base = next(b for b in "ACGT" if b != seq[offset])
    fa.write_text(f">m\n{seq[:offset]}{base}{seq[offset + 1 :]}\n")
    _ok("predict", "-m", CKPT, "--fasta", fa, "-o", tmp_path / "m.parquet", "-q")
    delta = np.asarray(store["delta"])[0, 0, "ACGT".index(base)]
    np.testing.assert_allclose(
        target_ref + delta, _gene_sum(tmp_path / "m.parquet", ws), rtol=1e-5, atol=1e-6
    )


def test_genes_needs_one_gene(tmp_path):
    gtf = _gtf(tmp_path / "genes.gtf")
    base = ["ism", "-m", CKPT, "--region", "chr1:2,001-2,032", "-g", GENOME, "--genes", gtf]
    result = invoke(*base, "-o", tmp_path / "a.zarr")
    assert result.exit_code == 2 and "--gene-ids" in one_error_line(result)
    result = invoke(*base, "--gene-ids", "GENEA,OTHER", "-o", tmp_path / "b.zarr")
    assert result.exit_code == 2 and "matches 2" in one_error_line(result)
    far = ["ism", "-m", CKPT, "--region", "chr1:5,001-5,032", "-g", GENOME, "--genes", gtf]
    result = invoke(*far, "--gene-ids", "GENEA", "-o", tmp_path / "c.zarr")
    assert result.exit_code == 3 and "no output bin" in one_error_line(result)
    assert not any(tmp_path.glob("*.zarr"))
