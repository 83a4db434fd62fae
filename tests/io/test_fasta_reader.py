"""FASTA input: scan once, read records by offset; multi-line, gzip and stdin (spooled)."""

from __future__ import annotations

import gzip
import io
import os
import sys
from pathlib import Path

import pytest

from grelu_cli.errors import InputDataError
from grelu_cli.io.readers.fasta import FastaRecords, FastaSource

INPUT = Path(__file__).parents[1] / "data" / "input"


def read_all(src: FastaSource, on_error=None) -> list[tuple[str, int, int, bytes]]:
    entries = list(src.scan(on_error=on_error))
    rec = FastaRecords(src.path)
    return [(e.name, e.line, e.length, rec.read(e.offset, e.nbytes)) for e in entries]


def test_records_and_errors() -> None:
    messages: list[str] = []
    got = read_all(FastaSource(INPUT / "records.fa"), messages.append)
    assert got == [
        ("seq1", 1, 14, b"ACGTACGTACGTAC"),
        ("seq2", 4, 8, b"acgtnNRY"),
        ("seq4", 8, 6, b"AC-GT*"),
    ]
    assert len(messages) == 2
    assert messages[0].endswith("line 6: record 'seq3' has no sequence (remove it)")
    assert "line 9: record 'seq4' has non-DNA character '-' at base 3" in messages[1]


def test_raises_without_collector() -> None:
    with pytest.raises(InputDataError, match="'seq3' has no sequence"):
        list(FastaSource(INPUT / "records.fa").scan())


def test_gzip_is_spooled_and_removed(tmp_path: Path) -> None:
    gz = tmp_path / "r.fa.gz"
    gz.write_bytes(gzip.compress(b">a x\nAC\nGT\n>b\nTTTT\n"))
    (tmp_path / "spool").mkdir()
    src = FastaSource(gz, spool_dir=tmp_path / "spool")
    got = read_all(src)
    assert [(n, s) for n, _, _, s in got] == [("a", b"ACGT"), ("b", b"TTTT")]
    spooled = src.path
    assert Path(spooled).parent == tmp_path / "spool" and os.path.exists(spooled)
    del src
    assert not os.path.exists(spooled)


def test_stdin(monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b">r1\nGATTACA\r\n")))
    src = FastaSource("-")
    assert [(n, s) for n, _, _, s in read_all(src)] == [("r1", b"GATTACA")]
    assert src.name == "<stdin>"


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "no FASTA records"),
        (b"ACGT\n", "sequence before the first '>'"),
        (b">\nACGT\n", "header '>' has no name"),
        (b">p\nMKVLA\n", "non-DNA character 'L' at base 4"),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "x.fa"
    path.write_bytes(content)
    messages: list[str] = []
    list(FastaSource(path).scan(on_error=messages.append))
    assert messages and any(m in messages[0] for m in match.split("|")), messages


def test_header_that_is_not_utf8_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "in.fa"
    path.write_bytes(b">ok\nACGT\n>s\xe91 desc\nACGT\n")
    messages: list[str] = []
    names = [e.name for e in FastaSource(path).scan(on_error=messages.append)]
    assert len(names) == 2  # still yielded, so record indices stay aligned
    assert messages == [
        f"{path} line 3: header is not UTF-8 text (byte 0xe9 at column 3) (record names must "
        "be UTF-8 text; fix the header)"
    ]
    with pytest.raises(InputDataError, match="line 3: header is not UTF-8"):
        list(FastaSource(path).scan())
