"""Fuzzed VCF records (random bytes, non-UTF-8 text, huge and negative numbers, missing or
extra columns) through the reader and through ``grelu variants --dry-run``: every input is
either read or refused with a one-line :class:`InputDataError` (exit 3), never an internal
error (exit 1). Before the fix an ID ``v\\xff1`` escaped as ``UnicodeDecodeError``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from grelu_cli.cli import app
from grelu_cli.errors import GreluCliError
from grelu_cli.io.readers.vcf import open_variants

REF = Path(__file__).resolve().parents[1] / "data" / "reference"
HEADER = b"##fileformat=VCFv4.2\n##contig=<ID=chr1,length=6000>\n"
COLUMNS = b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"

_NO_BREAKS = st.binary(max_size=12).map(
    lambda b: b.replace(b"\t", b"").replace(b"\n", b"").replace(b"\r", b"")
)
_TOKENS = st.sampled_from(
    [
        b"chr1",
        b"chr2",
        b"1",
        b"10",
        b"2000",
        b"A",
        b"C",
        b"G",
        b"T",
        b"AC",
        b".",
        b"*",
        b"<DEL>",
        b"v\xff1",
        b"\xc3(",
        b"\xe2\x82",
        b"-5",
        b"0",
        b"99999999999999999999",
        b"3000000000",
        b"1e3",
        b"G,T",
        b"rs1",
        b"PASS",
        b"X=\xff",
        b"\x00",
    ]
)
_FIELD = st.one_of(_TOKENS, _NO_BREAKS, st.text(max_size=8).map(lambda t: t.encode("utf-8")))


@st.composite
def records(draw) -> bytes:
    """1-3 record lines of 6-10 fields each, mostly plausible, some hostile."""
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        base = [b"chr1", b"10", b"v1", b"A", b"G", b".", b".", b"."]
        n = draw(st.integers(6, 10))
        fields = (base + [b"."] * 2)[:n]
        for i in draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4)):
            fields[i] = draw(_FIELD).replace(b"\t", b"").replace(b"\n", b"").replace(b"\r", b"")
        lines.append(b"\t".join(fields) + b"\n")
    return b"".join(lines)


@st.composite
def vcfs(draw) -> bytes:
    extra = b""
    if draw(st.booleans()):
        extra = b"##contig=<ID=" + draw(_FIELD).replace(b"\n", b"") + b">\n"
    return HEADER + extra + COLUMNS + draw(records())


def _read_or_refuse(path: Path) -> None:
    try:
        for rec in open_variants(path):
            assert isinstance(rec.chrom, str) and isinstance(rec.pos, int) and rec.pos >= 1
            assert all(isinstance(a, str) for a in rec.alts)
    except GreluCliError as err:
        assert err.exit_code == 3, err
        assert "\n" not in str(err) and str(path) in str(err)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=vcfs())
def test_reader_reads_or_refuses_every_record(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.vcf"
    path.write_bytes(data)
    _read_or_refuse(path)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (b"chr1\t10\tv\xff1\tA\tG\t.\t.\t.\n", "line 4: ID is not UTF-8 text (byte 0xff"),
        (b"chr1\t10\tv1\tA\tG\xe9\t.\t.\t.\n", "line 4: ALT is not UTF-8 text (byte 0xe9"),
        (b"chr1\t10\tv1\t\xff\tG\t.\t.\t.\n", "line 4: REF is not UTF-8 text (byte 0xff"),
        (b"chr1\t-5\tv1\tA\tG\t.\t.\t.\n", "line 4: POS -5 is negative (VCF POS is 1-based)"),
        (b"chr1\t99999999999999999999\tv1\tA\tG\t.\t.\t.\n", "is larger than any chromosome"),
    ],
)
def test_bad_record_is_one_line_naming_file_and_line(tmp_path, record, message):
    path = tmp_path / "calls.vcf"
    path.write_bytes(HEADER + COLUMNS + record)
    with pytest.raises(GreluCliError) as err:
        list(open_variants(path))
    assert err.value.exit_code == 3
    assert str(err.value).startswith(f"{path} ") and message in str(err.value)


@pytest.fixture(scope="module")
def genome(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("g")
    shutil.copy(REF / "inputs" / "genome.fa", d / "genome.fa")
    shutil.copy(REF / "inputs" / "genome.fa.fai", d / "genome.fa.fai")
    return d / "genome.fa"


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=vcfs())
def test_variants_dry_run_never_exits_1(tmp_path: Path, genome: Path, data: bytes) -> None:
    vcf = tmp_path / "fuzz.vcf"
    vcf.write_bytes(data)
    args = ["variants", "-m", str(REF / "checkpoints" / "conv_poisson.ckpt"), "--vcf", str(vcf)]
    args += ["-g", str(genome), "-o", str(tmp_path / "out.parquet"), "--dry-run"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code in (0, 3), (data, result.output, result.exception)
    assert "Traceback" not in result.output
