"""Variant readers: VCF, bgzipped VCF (+tabix), BCF (+CSI) through pysam, and tables.

Real files: bgzip/tabix/BCF are written with pysam itself; every malformed input must give one
InputDataError line naming the file and the line.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pysam
import pytest

from grelu_cli.errors import InputDataError, MissingResourceError
from grelu_cli.io.readers.regions import parse_region
from grelu_cli.io.readers.vcf import RegionFilter, open_variants, sniff

HEADER = (
    "##fileformat=VCFv4.2\n"
    '##ALT=<ID=DEL,Description="Deletion">\n'
    '##INFO=<ID=END,Number=1,Type=Integer,Description="End (htslib adds it for <DEL>)">\n'
    "##contig=<ID=chr1,length=6000>\n"
    "##contig=<ID=chr2,length=2500>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
)
RECORDS = (
    "chr1\t10\trs1\tA\tG,t\t.\t.\t.\n"
    "chr1\t50\t.\tac\t<DEL>,*\t.\t.\t.\n"
    "chr1\t300\trs3\tG\t.\t.\t.\t.\n"
    "chr2\t5\trs4\tC\tG\t.\t.\t.\n"
)


def _vcf(tmp_path: Path, body: str = RECORDS, name: str = "calls.vcf") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body)
    return path


def _tuples(source) -> list[tuple]:
    return [(r.chrom, r.pos, r.id, r.ref, r.alts) for r in source]


EXPECTED = [
    ("chr1", 10, "rs1", "A", ("G", "t")),
    ("chr1", 50, None, "ac", ("<DEL>", "*")),
    ("chr1", 300, "rs3", "G", ()),
    ("chr2", 5, "rs4", "C", ("G",)),
]


def _bgzip_tabix(path: Path) -> Path:
    out = pysam.tabix_index(str(path), preset="vcf", keep_original=True, force=True)
    return Path(out)


def _bcf(tmp_path: Path, vcf: Path) -> Path:
    out = tmp_path / "calls.bcf"
    with (
        pysam.VariantFile(str(vcf)) as src,
        pysam.VariantFile(str(out), "wb", header=src.header) as dst,
    ):
        for rec in src:
            dst.write(rec)
    pysam.tabix_index(str(out), preset="bcf", csi=True, force=True, keep_original=True)
    return out


def test_plain_vcf_records_and_lines(tmp_path: Path) -> None:
    src = open_variants(_vcf(tmp_path))
    assert src.kind == "vcf" and not src.indexed
    recs = list(src)
    assert _tuples(recs) == EXPECTED
    assert recs[0].where.endswith("calls.vcf line 7")
    assert recs[3].where.endswith("calls.vcf line 10")
    assert [r.index for r in recs] == [0, 1, 2, 3]
    assert src.count() == 4
    assert open_variants(_vcf(tmp_path, RECORDS.rstrip("\n"), "noeol.vcf")).count() == 4


def test_bgzip_tabix_and_bcf_csi_read_the_same(tmp_path: Path) -> None:
    vcf = _vcf(tmp_path)
    gz = _bgzip_tabix(vcf)
    assert gz.name == "calls.vcf.gz" and Path(str(gz) + ".tbi").exists()
    bcf = _bcf(tmp_path, vcf)
    assert sniff(gz) == "vcf" and sniff(bcf) == "bcf"
    assert _tuples(open_variants(gz)) == EXPECTED
    src = open_variants(bcf)
    assert src.kind == "bcf" and src.indexed
    assert _tuples(src) == EXPECTED


@pytest.mark.parametrize("kind", ["vcf.gz", "bcf", "plain"])
def test_region_and_chrom_queries(tmp_path: Path, kind: str) -> None:
    vcf = _vcf(tmp_path)
    path = {"vcf.gz": lambda: _bgzip_tabix(vcf), "bcf": lambda: _bcf(tmp_path, vcf)}.get(
        kind, lambda: vcf
    )()
    # chr1:11-300 holds POS 50 and 300 (POS 10 is before it); chr2 whole.
    where = RegionFilter((parse_region("chr1:11-300"),), ("chr2",))
    src = open_variants(path, where)
    assert src.indexed == (kind != "plain")
    assert src.count() == 3
    assert sorted(r.pos for r in src) == [5, 50, 300]
    # alias: the VCF says chr1, the user says 1
    where = RegionFilter((parse_region("1:1-20"),), (), alias="auto")
    assert [r.pos for r in open_variants(path, where)] == [10]


def test_index_older_than_vcf_is_bad_input(tmp_path: Path) -> None:
    gz = _bgzip_tabix(_vcf(tmp_path))
    tbi = Path(str(gz) + ".tbi")
    old = time.time() - 100
    os.utime(tbi, (old, old))
    with pytest.raises(InputDataError, match=r"index .*\.tbi is older than .*calls\.vcf\.gz"):
        open_variants(gz, RegionFilter((), ("chr1",)))


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("chr1\t10\t.\tA\n", r"calls\.vcf line 7: 4 tab-separated columns"),
        ("chr1\t10\t.\tA\tG\t.\t.\t.\nchr1\t11\n", r"line 8: 2 tab-separated columns"),
        ("chr1\tabc\t.\tA\tG\t.\t.\t.\n", r"line 7: POS 'abc' is not an integer"),
        ("chr1\t-4\t.\tA\tG\t.\t.\t.\n", r"line 7: POS -4 is negative \(VCF POS is 1-based\)"),
        ("chr1\t0\t.\tA\tG\t.\t.\t.\n", r"line 7: POS 0 is not a position"),
    ],
)
def test_malformed_records(tmp_path: Path, body: str, match: str) -> None:
    with pytest.raises(InputDataError, match=match) as err:
        list(open_variants(_vcf(tmp_path, body)))
    assert "\n" not in str(err.value)


def test_missing_chrom_line_and_empty_files(tmp_path: Path) -> None:
    bad = tmp_path / "nohead.vcf"
    bad.write_text("##fileformat=VCFv4.2\nchr1\t10\t.\tA\tG\t.\t.\t.\n")
    with pytest.raises(InputDataError, match=r"nohead\.vcf has no '#CHROM' header line"):
        open_variants(bad)
    empty = tmp_path / "empty.vcf"
    empty.write_text("")
    with pytest.raises(InputDataError, match=r"empty\.vcf is empty"):
        open_variants(empty)
    with pytest.raises(MissingResourceError, match="does not exist"):
        open_variants(tmp_path / "nope.vcf")
    assert list(open_variants(_vcf(tmp_path, "", "header_only.vcf"))) == []


def test_htslib_messages_stay_off_stderr(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    # A contig missing from the header makes htslib warn on stderr unless silenced.
    recs = list(open_variants(_vcf(tmp_path, "chrZ\t10\t.\tA\tG\t.\t.\t.\n")))
    assert recs[0].chrom == "chrZ"
    assert capfd.readouterr().err == ""


def test_tsv_csv_and_parquet_tables(tmp_path: Path) -> None:
    tsv = tmp_path / "v.tsv"
    tsv.write_text("chrom\tpos\tref\talt\tid\nchr1\t10\tA\tG,T\trs1\nchr2\t5\tc\tg\t.\n")
    csv = tmp_path / "v.csv"
    csv.write_text('CHROM,POS,REF,ALT\nchr1,10,A,"G,T"\nchr2,5,c,g\n')
    pqf = tmp_path / "v.parquet"
    table = pa.table(
        {"chrom": ["chr1", "chr2"], "pos": [10, 5], "ref": ["A", "c"], "alt": ["G,T", "g"]}
    )
    pq.write_table(table, pqf, row_group_size=1)
    for path, ids in ((tsv, ["rs1", None]), (csv, [None, None]), (pqf, [None, None])):
        recs = list(open_variants(path))
        assert [(r.chrom, r.pos, r.ref, r.alts) for r in recs] == [
            ("chr1", 10, "A", ("G", "T")),
            ("chr2", 5, "c", ("g",)),
        ], path
        assert [r.id for r in recs] == ids
    assert list(open_variants(tsv))[1].where.endswith("v.tsv line 3")
    assert list(open_variants(pqf))[1].where.endswith("v.parquet row 2")
    where = RegionFilter((), ("chr2",))
    assert [r.pos for r in open_variants(pqf, where)] == [5]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("chrom\tpos\tref\nchr1\t10\tA\n", r"no column alt"),
        ("chrom\tpos\tref\talt\nchr1\t10\tA\n", r"line 2: 3 columns, the header has 4"),
        ("chrom\tpos\tref\talt\nchr1\tten\tA\tG\n", r"line 2: pos 'ten' is not an integer"),
        ("chrom\tpos\tref\talt\nchr1\t0\tA\tG\n", r"line 2: pos 0 is not a position"),
        ("chrom\tpos\tref\talt\nchr1\t-3\tA\tG\n", r"line 2: pos -3 is negative"),
        (
            "chrom\tpos\tref\talt\nchr1\t99999999999999999999\tA\tG\n",
            r"line 2: pos 99,999,999,999,999,999,999 is larger than any chromosome",
        ),
    ],
)
def test_table_errors(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "v.tsv"
    path.write_text(text)
    with pytest.raises(InputDataError, match=match):
        list(open_variants(path))
