"""Genome access: index building, errors, N padding at the ends, aliases, pickling."""

from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import pytest

from grelu_cli.core.alias import ChromResolver, alias_candidates
from grelu_cli.errors import InputDataError, MissingResourceError
from grelu_cli.genome import genome as genome_mod
from grelu_cli.genome.genome import Genome


def chrom_seq(path: Path, name: str) -> str:
    seqs: dict[str, list[str]] = {}
    cur = ""
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            cur = line[1:].split()[0]
            seqs[cur] = []
        else:
            seqs[cur].append(line)
    return "".join(seqs[name])


def test_builds_index_and_reads_order(genome_path: Path) -> None:
    assert not Path(str(genome_path) + ".fai").exists()
    g = Genome(genome_path)
    assert Path(g.fai).exists()
    assert g.chroms == ["chr1", "chr2", "chrM"]
    assert g.sizes == {"chr1": 3000, "chr2": 1003, "chrM": 500}
    assert len(g.index_sha256()) == 64


def test_fetch_matches_file_and_pads(genome_path: Path) -> None:
    g = Genome(genome_path)
    chr2 = chrom_seq(genome_path, "chr2")
    assert g.fetch("chr2", 0, 1003).decode() == chr2
    assert g.fetch("chr2", 59, 61).decode() == chr2[59:61]  # across a line break
    assert g.fetch("chr2", -3, 2).decode() == "NNN" + chr2[:2]
    assert g.fetch("chr2", 1000, 1005).decode() == chr2[1000:] + "NN"
    assert g.fetch("chr2", 2000, 2004) == b"NNNN"
    assert g.fetch("chr2", -5, -1) == b"NNNN"


def test_unwritable_directory_without_index(genome_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(genome_mod, "_writable", lambda directory: False)
    with pytest.raises(MissingResourceError, match="not writable") as err:
        Genome(genome_path)
    assert "samtools faidx" in str(err.value) and err.value.exit_code == 4


def test_existing_index_in_unwritable_directory(genome_path: Path, monkeypatch) -> None:
    Genome(genome_path)
    monkeypatch.setattr(genome_mod, "_writable", lambda directory: False)
    assert Genome(genome_path).sizes["chrM"] == 500


def test_stale_index_is_rebuilt(genome_path: Path) -> None:
    Genome(genome_path)
    fai = Path(str(genome_path) + ".fai")
    fai.write_text("chr1\t5\t6\t60\t61\n")
    old = genome_path.stat().st_mtime
    os.utime(fai, (old - 100, old - 100))
    assert Genome(genome_path).sizes["chr1"] == 3000


def test_missing_and_gzip_genome(tmp_path: Path, genome_path: Path) -> None:
    with pytest.raises(MissingResourceError, match="does not exist"):
        Genome(tmp_path / "nope.fa")
    gz = tmp_path / "g.fa.gz"
    gz.write_bytes(gzip.compress(genome_path.read_bytes()))
    with pytest.raises(InputDataError, match="gunzip"):
        Genome(gz)


def test_ragged_fasta_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.fa"
    bad.write_text(">a\nACGT\nAC\nACGT\n")
    with pytest.raises(InputDataError, match="cannot be indexed"):
        Genome(bad)


def test_pickles_without_handle(genome_path: Path) -> None:
    g = Genome(genome_path)
    g.fetch("chr1", 0, 10)
    g2 = pickle.loads(pickle.dumps(g))
    assert g2.fetch("chr1", 0, 10) == g.fetch("chr1", 0, 10)


def test_aliases() -> None:
    assert alias_candidates("chr1") == ["1"]
    assert alias_candidates("X") == ["chrX"]
    assert "chrM" in alias_candidates("MT")
    r = ChromResolver({"chr1": 1, "chrM": 1}, "auto")
    assert (r.resolve("1"), r.resolve("MT"), r.resolve("chr1"), r.resolve("2")) == (
        "chr1",
        "chrM",
        "chr1",
        None,
    )
    assert ChromResolver({"chr1": 1}, "none").resolve("1") is None
    with pytest.raises(ValueError):
        ChromResolver({}, "fuzzy")
