"""GTF/GFF3 exon reader: formats, coordinates, attributes, bad lines (exit 3)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from grelu_cli.errors import InputDataError
from grelu_cli.io.readers.gtf import parse_gtf_attributes, read_exons
from tests.genes.annotation import GENES, TRICKY_NAME, gff3_text, gtf_text


def _genes(path: Path, fmt: str = "auto") -> dict[str, tuple]:
    """gene_id -> (name, type, chrom, strand, sorted set of exons) from the reader."""
    out: dict[str, tuple] = {}
    for r in read_exons(path, fmt):
        name, gtype, chrom, strand, exons = out.get(
            r.gene_id, (r.gene_name, r.gene_type, r.chrom, r.strand, set())
        )
        exons.add((r.start, r.end))
        out[r.gene_id] = (name, gtype, chrom, strand, exons)
    return {k: (*v[:4], sorted(v[4])) for k, v in out.items()}


def _expected() -> dict[str, tuple]:
    out = {}
    for gid, (chrom, strand, gtype, name, tx) in GENES.items():
        name = TRICKY_NAME if gid == "ENSG00000000002.3" else name
        out[gid] = (name, gtype, chrom, strand, sorted({e for ex in tx.values() for e in ex}))
    return out


def test_gtf_exons_are_zero_based_half_open(tmp_path: Path) -> None:
    p = tmp_path / "a.gtf"
    p.write_text(gtf_text())
    assert _genes(p) == _expected()
    first = next(iter(read_exons(p)))
    assert first.line == 5  # two header lines, gene, transcript, then the exon
    assert (first.start, first.end) == (GENES["ENSG00000000001.5"][4]["ENST01.1"][0])


@pytest.mark.parametrize("ensembl", [False, True])
def test_gff3_gives_the_same_genes_as_gtf(tmp_path: Path, ensembl: bool) -> None:
    gtf, gff = tmp_path / "a.gtf", tmp_path / "a.gff3"
    gtf.write_text(gtf_text(type_key="gene_biotype" if ensembl else "gene_type"))
    gff.write_text(gff3_text(ensembl=ensembl))
    assert _genes(gff) == _genes(gtf) == _expected()


def test_gzip_and_explicit_format(tmp_path: Path) -> None:
    gz = tmp_path / "a.gff3.gz"
    with gzip.open(gz, "wt") as f:
        f.write(gff3_text())
    assert _genes(gz, "gff3") == _expected()
    plain = tmp_path / "no_header.gff3"
    plain.write_text("\n".join(gff3_text().splitlines()[1:]) + "\n")  # no ##gff-version line
    assert _genes(plain) == _expected()


def test_gtf_attributes() -> None:
    text = 'gene_id "G.1"; gene_name "A;B \\"q\\""; tag "basic"; tag "CCDS"; level 2; x  y ;'
    got = parse_gtf_attributes(text)
    assert got == {
        "gene_id": "G.1",
        "gene_name": 'A;B \\"q\\"',
        "tag": "basic",
        "level": "2",
        "x": "y",
    }
    assert parse_gtf_attributes('gene_id "G1"; broken"') is None
    assert parse_gtf_attributes("") == {}


GOOD = 'chr1\tT\texon\t11\t20\t.\t+\t.\tgene_id "G1"; gene_name "A";'


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("chr1\tT\texon\t11\t20\t.\t+", "7 tab-separated column"),
        (GOOD.replace("\t11\t", "\t1e3\t"), "not whole numbers"),
        (GOOD.replace("\t11\t20\t", "\t30\t20\t"), "1-based inclusive"),
        (GOOD.replace("\t11\t", "\t0\t"), "1-based inclusive"),
        (GOOD.replace("\t+\t", "\tx\t"), "strand"),
        (GOOD.replace('gene_id "G1"', 'gene_id "G1'), "unclosed quote"),
        (GOOD.replace('gene_id "G1"', "gene_id G1 x y; junk"), "not GTF"),
        (GOOD.replace('gene_id "G1"; ', ""), "without a gene_id"),
    ],
)
def test_bad_gtf_lines_exit_3_with_file_and_line(tmp_path: Path, line: str, match: str) -> None:
    p = tmp_path / "bad.gtf"
    p.write_text(f"#header\n{GOOD}\n{line}\n{GOOD}\n")
    with pytest.raises(InputDataError, match=match) as exc:
        list(read_exons(p))
    assert exc.value.exit_code == 3
    assert f"{p} line 3:" in str(exc.value)


@pytest.mark.parametrize(
    ("exon_attrs", "match"),
    [
        ("ID=e1;Parent=nope", "Parent 'nope' is not the ID"),
        ("ID=e1", "without a Parent"),
        ("ID=e1;Parent=g1;junk", "not GFF3"),
    ],
)
def test_bad_gff3_parents_exit_3(tmp_path: Path, exon_attrs: str, match: str) -> None:
    p = tmp_path / "bad.gff3"
    p.write_text(
        "##gff-version 3\n"
        "chr1\tT\tgene\t1\t100\t.\t+\t.\tID=g1\n"
        f"chr1\tT\texon\t1\t50\t.\t+\t.\t{exon_attrs}\n"
    )
    with pytest.raises(InputDataError, match=match) as exc:
        list(read_exons(p))
    assert exc.value.exit_code == 3 and f"{p} line 3:" in str(exc.value)


def test_corrupt_gzip_is_exit_3(tmp_path: Path) -> None:
    p = tmp_path / "cut.gtf.gz"
    p.write_bytes(gzip.compress((gtf_text() * 20).encode())[:-200])
    with pytest.raises(InputDataError, match="cannot decompress"):
        list(read_exons(p))


def test_consecutive_exons_reuse_only_identical_attribute_prefixes(tmp_path: Path) -> None:
    head = "chr1\tT\texon\t{}\t{}\t.\t+\t.\t"
    attrs = [
        'gene_id "G1"; gene_name "A"; gene_type "x"; exon_number 1;',
        'gene_id "G1"; gene_name "A"; gene_type "x"; exon_number 2;',  # reused
        'gene_id "G1"; gene_name "A"; gene_type "xy"; exon_number 3;',
        'gene_id "G1"; gene_name "B"; gene_type "xy"; exon_number 4;',
        'gene_id "G12"; gene_name "B"; gene_type "xy"; exon_number 5;',
        'gene_id "G12"; exon_number 6; gene_name "C"; gene_biotype "z";',
        'gene_id G13; gene_name "D";',  # bare gene_id: the full parser
        'gene_id "G14"; xgene_name "Q"; tag "gene_name \'Z\'"; gene_name "E"; gene_type "t";',
    ]
    p = tmp_path / "a.gtf"
    p.write_text(
        "".join(head.format(10 * i + 1, 10 * i + 5) + a + "\n" for i, a in enumerate(attrs))
    )
    got = [(r.gene_id, r.gene_name, r.gene_type) for r in read_exons(p)]
    assert got == [
        ("G1", "A", "x"),
        ("G1", "A", "x"),
        ("G1", "A", "xy"),
        ("G1", "B", "xy"),
        ("G12", "B", "xy"),
        ("G12", "C", "z"),
        ("G13", "D", ""),
        ("G14", "E", "t"),
    ]
