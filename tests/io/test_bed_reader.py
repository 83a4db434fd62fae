"""BED reading: every column layout, header lines, gzip, stdin, and each bad line's message."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
from pathlib import Path

import pytest

from grelu_cli.errors import InputDataError, MissingResourceError
from grelu_cli.io.readers.bed import BedRecord, read_bed

INPUT = Path(__file__).parents[1] / "data" / "input"

EXPECTED = [
    BedRecord(5, "chr1", 100, 200, None, "+"),
    BedRecord(6, "chr1", 150, 250, "peak2", "+"),
    BedRecord(7, "chr2", 10, 20, "peak3", "-"),
    BedRecord(8, "chr2", 30, 40, None, "+"),
    BedRecord(9, "chrM", 0, 500, "mito", "+"),
    BedRecord(10, "chr1", 2990, 3000, "spaced", "+"),
]


def test_reads_all_layouts() -> None:
    assert list(read_bed(INPUT / "regions.bed")) == EXPECTED


def test_gzip_detected_by_content(tmp_path: Path) -> None:
    gz = tmp_path / "regions.txt"  # no .gz suffix on purpose
    gz.write_bytes(gzip.compress((INPUT / "regions.bed").read_bytes()))
    assert list(read_bed(gz)) == EXPECTED


def test_stdin_monkeypatched(monkeypatch) -> None:
    data = (INPUT / "regions.bed").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(gzip.compress(data))))
    assert list(read_bed("-")) == EXPECTED


def test_stdin_subprocess() -> None:
    code = (
        "from grelu_cli.io.readers.bed import read_bed\n"
        "print(sum(r.end - r.start for r in read_bed('-')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=(INPUT / "regions.bed").read_bytes(),
        capture_output=True,
        check=True,
    )
    assert out.stdout.decode().strip() == str(sum(r.end - r.start for r in EXPECTED))


BAD = [
    (1, "1 column(s)|2 column(s)"),
    (3, "start '-5' is negative"),
    (4, "start '1.5' is not an integer"),
    (5, "start '1e3' is not an integer"),
    (6, "start 30 >= end 20"),
    (7, "start 30 >= end 30"),
    (11, "strand (column 6) is 'plus'"),
    (12, "start 'abc' is not an integer"),
]


def test_bad_lines_collected() -> None:
    messages: list[str] = []
    good = list(read_bed(INPUT / "bad.bed", on_error=messages.append))
    # Lines 2, 8, 9, 10 parse (unknown chromosomes and sizes are checked against the genome).
    assert [r.line for r in good] == [2, 8, 9, 10]
    assert len(messages) == len(BAD)
    for msg, (line, pattern) in zip(messages, BAD, strict=True):
        assert msg.startswith(f"{INPUT / 'bad.bed'} line {line}: ")
        assert any(p in msg for p in pattern.split("|")), msg
        assert "\n" not in msg


def test_first_bad_line_raises() -> None:
    with pytest.raises(InputDataError, match=r"bad.bed line 1: 2 column\(s\)") as err:
        list(read_bed(INPUT / "bad.bed"))
    assert err.value.exit_code == 3


def test_missing_file_and_binary(tmp_path: Path) -> None:
    with pytest.raises(MissingResourceError, match="does not exist"):
        list(read_bed(tmp_path / "none.bed"))
    binary = tmp_path / "x.bed"
    binary.write_bytes(b"chr1\t1\t2\n\xff\xfe\x00\n")
    with pytest.raises(InputDataError, match="line 2: not UTF-8"):
        list(read_bed(binary))


def test_truncated_gzip(tmp_path: Path) -> None:
    gz = tmp_path / "t.bed.gz"
    gz.write_bytes(gzip.compress(b"chr1\t1\t2\n" * 1000)[:-20])
    with pytest.raises(InputDataError, match="truncated or corrupt"):
        list(read_bed(gz))


def test_header_hint_and_huge_coordinates(tmp_path: Path) -> None:
    bed = tmp_path / "h.bed"
    bed.write_text("chrom\tstart\tend\nchr1\t1\t99999999999999\n")
    messages: list[str] = []
    assert list(read_bed(bed, on_error=messages.append)) == []
    assert "start 'start' is not an integer" in messages[0] and "column header line?" in messages[0]
    assert "larger than any chromosome" in messages[1] and "column header" not in messages[1]


def test_chromosome_named_like_a_header_word(tmp_path: Path) -> None:
    bed = tmp_path / "t.bed"
    bed.write_text("track\tname=x\ntrack1\t0\t10\n")
    assert [r.chrom for r in read_bed(bed)] == ["track1"]


def test_non_utf8_byte_names_line_byte_and_column(tmp_path: Path) -> None:
    path = tmp_path / "r.bed"
    path.write_bytes(b"chr1\t0\t10\tok\nchr1\t0\t10\tna\xefme\n")
    with pytest.raises(InputDataError) as err:
        list(read_bed(path))
    assert str(err.value) == (
        f"{path} line 2: not UTF-8 text (byte 0xef at column 13) (text inputs must be UTF-8; "
        "fix the line, or is this a binary file?)"
    )
