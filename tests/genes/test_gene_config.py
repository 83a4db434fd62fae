"""The shared gene options: cheap checks, the ids file, and loading with selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from grelu_cli.errors import InputDataError, MissingResourceError, UsageError
from grelu_cli.genes.config import GeneConfig, check_gene_config, load_genes, read_gene_ids

GTF = (
    'chr1\tt\texon\t101\t200\t.\t+\t.\tgene_id "G1.3"; gene_name "A"; gene_type "protein_coding";\n'
    'chr1\tt\texon\t301\t400\t.\t-\t.\tgene_id "G2.1"; gene_name "B"; gene_type "lncRNA";\n'
    'chr2\tt\texon\t11\t50\t.\t+\t.\tgene_id "G3.1"; gene_name "C"; gene_type "protein_coding";\n'
)


def test_gene_options_need_genes() -> None:
    with pytest.raises(UsageError, match="--gene-types, --background given without --genes"):
        check_gene_config(GeneConfig(gene_types=("x",), background="b.parquet"))
    check_gene_config(GeneConfig())  # nothing asked: fine


def test_bad_choices_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--gene-bins"):
        check_gene_config(GeneConfig(genes="x.gtf", gene_bins="most"))
    with pytest.raises(UsageError, match="--gene-stats"):
        check_gene_config(GeneConfig(genes="x.gtf", gene_stats=("SAD",)))
    with pytest.raises(MissingResourceError, match=r"--genes .*no such file"):
        check_gene_config(GeneConfig(genes=str(tmp_path / "none.gtf")))


def test_ids_file(tmp_path: Path) -> None:
    f = tmp_path / "ids.txt"
    f.write_text("# wanted\nG1\n\nB  # by name\nG1\n")
    assert read_gene_ids(str(f)) == ("G1", "B")
    f.write_text("# nothing\n")
    with pytest.raises(InputDataError, match="names no gene"):
        read_gene_ids(str(f))


def test_load_selects_and_renames(tmp_path: Path) -> None:
    gtf = tmp_path / "g.gtf"
    gtf.write_text(GTF)
    got = load_genes(GeneConfig(genes=str(gtf), gene_ids=("G1", "B", "nope")), ["1", "2"], "auto")
    assert sorted(got.index.gene_id) == ["G1.3", "G2.1"]
    assert got.index.chroms[0] == "1" and got.unmatched == ["nope"]
    got = load_genes(GeneConfig(genes=str(gtf), gene_types=("lncRNA",)), ["chr1"], "none")
    assert list(got.index.gene_id) == ["G2.1"]
    with pytest.raises(InputDataError, match="no gene left"):
        load_genes(GeneConfig(genes=str(gtf), gene_types=("miRNA",)), ["chr1"], "none")
