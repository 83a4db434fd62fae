"""A refused genome leaves no index behind, an index the user had is never replaced by a failed
rebuild, and a bad index left by an older version is exit 3 with the fix. Real processes: the
second run of a user's shell is what used to fail (exit 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grelu_cli.errors import InputDataError
from grelu_cli.genome.genome import Genome

CKPT = (
    Path(__file__).resolve().parents[1] / "data" / "reference" / "checkpoints" / "conv_poisson.ckpt"
)
DUP = ">chr1\n" + "ACGT" * 30 + "\n>chr2\n" + "ACGT" * 10 + "\n>chr1\n" + "ACGT" * 20 + "\n"


def _predict(genome: Path, out: Path) -> subprocess.CompletedProcess:
    args = ["predict", "-m", CKPT, "-g", genome, "--region", "chr2:1-40", "-o", out]
    return subprocess.run(
        [sys.executable, "-m", "grelu_cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_error(proc: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 3, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_duplicate_names_leave_no_index_and_the_next_run_says_the_same(tmp_path):
    genome = tmp_path / "g" / "dup.fa"
    genome.parent.mkdir()
    genome.write_text(DUP)
    out = tmp_path / "out.parquet"
    first = _one_error(_predict(genome, out))
    assert f"genome {genome} cannot be indexed" in first and '"chr1"' in first
    assert sorted(os.listdir(genome.parent)) == ["dup.fa"]  # no .fai, no temporary index
    second = _one_error(_predict(genome, out))
    assert second == first
    assert sorted(os.listdir(genome.parent)) == ["dup.fa"] and not out.exists()


def test_an_index_the_user_had_is_kept_when_the_rebuild_fails(tmp_path):
    genome = tmp_path / "dup.fa"
    genome.write_text(">chr1\n" + "ACGT" * 30 + "\n")
    Genome(genome)  # the user's index, then the FASTA changes (newer than the index)
    fai = Path(f"{genome}.fai")
    before = fai.read_bytes()
    old = os.path.getmtime(genome) - 100
    os.utime(fai, (old, old))
    genome.write_text(DUP)
    with pytest.raises(InputDataError, match="cannot be indexed"):
        Genome(genome)
    assert fai.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["dup.fa", "dup.fa.fai"]


def test_a_leftover_index_with_repeated_names_is_bad_input_with_the_fix(tmp_path):
    genome = tmp_path / "dup.fa"
    genome.write_text(DUP)
    fai = Path(f"{genome}.fai")
    # what pyfaidx wrote (and older grelu-cli versions left) before refusing the FASTA
    fai.write_text("chr1\t120\t6\t120\t121\nchr2\t40\t134\t40\t41\nchr1\t80\t182\t80\t81\n")
    proc = _predict(genome, tmp_path / "out.parquet")
    line = _one_error(proc)
    assert f"genome index {fai} lists record 'chr1' twice (lines 1 and 3)" in line
    assert f"then delete {fai} so it is rebuilt" in line
    assert fai.exists()  # the user's file: reported, not removed


def test_a_header_that_is_not_utf8_names_its_line(tmp_path):
    genome = tmp_path / "g.fa"
    genome.write_bytes(b">chr1\n" + b"ACGT" * 2000 + b"\n>chr\xff2\nACGT\n")
    with pytest.raises(InputDataError) as err:
        Genome(genome)
    assert str(err.value).startswith(f"genome {genome} line 3: header is not UTF-8 text (byte 0xff")
    assert sorted(os.listdir(tmp_path)) == ["g.fa"]
