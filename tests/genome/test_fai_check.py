"""A .fai that no longer describes its FASTA is refused (exit 3), never used silently."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from grelu_cli.errors import InputDataError
from grelu_cli.genome.genome import Genome


def _fasta(path: Path, seqs: dict[str, str], width: int = 60, eol: str = "\n", **kw) -> Path:
    final_eol = kw.get("final_eol", True)
    headers = kw.get("headers", {})
    out = []
    for name, seq in seqs.items():
        out.append(f">{name}{headers.get(name, '')}{eol}")
        out += [seq[i : i + width] + eol for i in range(0, len(seq), width)]
    text = "".join(out)
    if not final_eol:
        text = text[: -len(eol)]
    path.write_bytes(text.encode() + kw.get("trailer", b""))
    return path


def _seqs(rng: random.Random, sizes: dict[str, int]) -> dict[str, str]:
    return {c: "".join(rng.choice("ACGT") for _ in range(n)) for c, n in sizes.items()}


def _stale_copy(tmp_path: Path, old: dict[str, str], new: dict[str, str], **kw) -> Path:
    """Index ``old``, then replace the FASTA by ``new`` and put the old .fai back, newer."""
    fa = _fasta(tmp_path / "g.fa", old, **kw)
    Genome(fa)  # builds g.fa.fai with pyfaidx
    saved = tmp_path / "old.fai"
    shutil.copy(str(fa) + ".fai", saved)
    _fasta(fa, new, **kw)
    shutil.copy(saved, str(fa) + ".fai")
    later = os.path.getmtime(fa) + 10
    os.utime(str(fa) + ".fai", (later, later))
    return fa


def test_shortened_record_with_the_old_index_is_refused(tmp_path: Path) -> None:
    rng = random.Random(0)
    old = _seqs(rng, {"chr1": 100_000, "chr2": 80_000})
    new = {"chr1": old["chr1"][:50_000], "chr2": old["chr2"]}
    fa = _stale_copy(tmp_path, old, new)
    with pytest.raises(InputDataError) as err:
        Genome(fa)
    msg = str(err.value)
    assert err.value.exit_code == 3
    assert f"{fa}.fai does not match {fa}" in msg and "'chr2'" in msg
    assert "rebuild with `samtools faidx" in msg and "delete the .fai" in msg


def test_shortened_last_record_is_refused_by_the_file_size(tmp_path: Path) -> None:
    rng = random.Random(1)
    old = _seqs(rng, {"chr1": 1_000, "chr2": 5_000})
    fa = _stale_copy(tmp_path, old, {"chr1": old["chr1"], "chr2": old["chr2"][:4_000]})
    with pytest.raises(InputDataError, match=r"last record 'chr2' ends at byte"):
        Genome(fa)


def test_renamed_record_is_refused(tmp_path: Path) -> None:
    rng = random.Random(2)
    old = _seqs(rng, {"chr1": 700, "chr2": 900})
    fa = _stale_copy(tmp_path, old, {"chr1": old["chr1"], "chrX": old["chr2"]})
    with pytest.raises(InputDataError, match=r"no '>chr2' header line"):
        Genome(fa)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"width": 80},
        {"width": 7, "eol": "\r\n"},
        {"final_eol": False},
        {"headers": {"chr2": " " + "description " * 200}},  # a 2.4 kB header line
    ],
)
def test_valid_indexes_pass_and_read_the_right_bases(tmp_path: Path, kw: dict) -> None:
    rng = random.Random(3)
    seqs = _seqs(rng, {"chr1": 1_200, "chr2": 977, "chr3": 61})
    fa = _fasta(tmp_path / "g.fa", seqs, **kw)
    g = Genome(fa)
    assert g.sizes == {c: len(s) for c, s in seqs.items()}
    for c, s in seqs.items():
        assert g.fetch(c, 0, len(s)).decode() == s
    Genome(fa)  # a second open checks the existing index


def test_trailing_blank_lines_are_tolerated(tmp_path: Path) -> None:
    # samtools accepts blank lines at the end (pyfaidx does not index them): index the
    # clean file, then append them, keeping the index newer.
    seqs = _seqs(random.Random(4), {"chr1": 300, "chr2": 250})
    fa = _fasta(tmp_path / "g.fa", seqs)
    Genome(fa)
    with open(fa, "ab") as fh:
        fh.write(b"\n\n")
    later = os.path.getmtime(fa) + 10
    os.utime(str(fa) + ".fai", (later, later))
    assert Genome(fa).fetch("chr2", 0, 250).decode() == seqs["chr2"]
    with open(fa, "ab") as fh:
        fh.write(b"ACGT\n")  # a sequence line is not blank
    os.utime(str(fa) + ".fai", (later + 10, later + 10))
    with pytest.raises(InputDataError, match="last record 'chr2'"):
        Genome(fa)


def test_binary_genome_error_has_a_fix(tmp_path: Path) -> None:
    fa = tmp_path / "g.fa"
    fa.write_bytes(bytes(random.Random(5).randrange(256) for _ in range(3000)))
    with pytest.raises(InputDataError) as err:
        Genome(fa)
    assert "is not a text FASTA" in str(err.value) and err.value.fix
