"""The demo genes (examples/demo/genes.gtf): ``make_genes.py`` is deterministic, and in
``grelu predict --genes`` each gene with a planted motif in an exon stands out on its motif's
task while the background genes sit at the model's background."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from tests.cli.predict_helpers import invoke

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
MOTIF_GENES = {"MOTA1": "motif_a", "MOTB1": "motif_b", "MOTA3LONG": "motif_a"}


def test_make_genes_is_deterministic(tmp_path: Path) -> None:
    out = tmp_path / "genes.gtf"
    subprocess.run([sys.executable, str(DEMO / "make_genes.py"), str(out)], check=True)
    assert out.read_bytes() == (DEMO / "genes.gtf").read_bytes()


def test_motif_genes_stand_out_on_their_task(tmp_path: Path) -> None:
    out = tmp_path / "genes.parquet"
    result = invoke(
        "predict", "-m", DEMO / "model.ckpt", "--genes", DEMO / "genes.gtf",
        "-g", DEMO / "genome.fa", "--aggregate", "mean", "--device", "cpu", "-o", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    df = pq.read_table(out).to_pandas()
    assert set(df.gene_name) == {*MOTIF_GENES, "BG1", "BG2", "BGLONG"}
    assert set(df.strand) == {"+", "-"}
    assert df.loc[df.gene_name == "MOTA3LONG", "windows"].iloc[0] > 1  # tiled
    means = df.pivot(index="gene_name", columns="task", values="value")
    background = means.loc[["BG1", "BG2", "BGLONG"]]
    assert (background < 0.3).all().all(), background  # the model's background is 0.2
    for gene, task in MOTIF_GENES.items():
        other = "motif_b" if task == "motif_a" else "motif_a"
        assert means.loc[gene, task] > 3 * background[task].max(), (gene, means.loc[gene])
        assert means.loc[gene, other] < 0.3, (gene, means.loc[gene])


def test_sed_marks_the_variant_that_breaks_a_genes_motif(tmp_path: Path) -> None:
    """run.sh's `grelu variants --genes` step: the SNV breaking motif_a in an exon of MOTA1
    lowers MOTA1's summed motif_a expression by hundreds; inserts next to exons barely move."""
    text = (DEMO / "run.sh").read_text()
    assert '--genes "$DEMO/genes.gtf" --gene-stats SED,logSED,D1' in text
    out = tmp_path / "sed.parquet"
    result = invoke(
        "variants", "-m", DEMO / "model.ckpt", "--vcf", DEMO / "variants.vcf",
        "--genes", DEMO / "genes.gtf", "--gene-stats", "SED,logSED,D1",
        "-g", DEMO / "genome.fa", "--device", "cpu", "-o", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    df = pq.read_table(out).to_pandas()
    hit = df[(df.id == "break_snv:motif_a") & (df.task == "motif_a")]
    assert list(hit.gene_name) == ["MOTA1"]
    assert hit.SED.iloc[0] < -100 and hit.logSED.iloc[0] < -1
    assert (hit.SED.abs() <= hit.D1).all()  # D1 bounds |SED| (triangle inequality)
    others = df[df.id != "break_snv:motif_a"]
    assert (others[others.task == "motif_a"].SED.abs() < 1).all()
