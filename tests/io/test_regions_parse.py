"""--region strings: samtools/IGV style, 1-based inclusive, equal to the BED interval."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grelu_cli.errors import UsageError
from grelu_cli.io.readers.regions import parse_region


def test_examples() -> None:
    r = parse_region("chr1:1,001-2,000")
    assert (r.chrom, r.start, r.end, r.strand) == ("chr1", 1000, 2000, "+")
    assert parse_region("chr2:5-5:-").strand == "-"
    assert (parse_region("chrX:10-20:.").strand, parse_region(" 1:1-1 ").start) == ("+", 0)
    hla = parse_region("HLA-A*01:01:01:01:100-200:+")
    assert (hla.chrom, hla.start, hla.end) == ("HLA-A*01:01:01:01", 99, 200)


@pytest.mark.parametrize(
    "text, match",
    [
        ("chr1", "not a region"),
        ("chr1:100", "not a region"),
        ("chr1:0-100", "before base 1"),
        ("chr1:200-100", "after end"),
        ("chr1:1-2:x", "not a region"),
        ("chr1:-5-10", "not a region"),
        ("chr1:1-99999999999999999999", "99,999,999,999,999,999,999 is larger than any chrom"),
        ("chr1:99999999999999999999-99999999999999999999", "larger than any chromosome"),
        ("chr1:1-1,000,000,000,001", "larger than any chromosome"),
    ],
)
def test_errors(text: str, match: str) -> None:
    with pytest.raises(UsageError, match=match) as err:
        parse_region(text)
    assert err.value.exit_code == 2 and "chrom:start-end" in str(err.value)


@given(st.integers(0, 10**9), st.integers(1, 10**6))
def test_same_as_bed(start0: int, n: int) -> None:
    text = f"chr7:{start0 + 1:,}-{start0 + n:,}"
    r = parse_region(text)
    assert (r.start, r.end) == (start0, start0 + n)
