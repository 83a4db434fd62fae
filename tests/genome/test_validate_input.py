"""Validation before the model loads: each bad-input case gives one actionable line."""

from __future__ import annotations

from pathlib import Path

import pytest

from grelu_cli.core.geometry import Geometry
from grelu_cli.errors import InputDataError, MissingResourceError, UsageError
from grelu_cli.genome.inputs import prepare_input

INPUT = Path(__file__).parents[1] / "data" / "input"


def test_bad_bed_lists_every_problem(genome_path: Path) -> None:
    inp = prepare_input(bed=INPUT / "bad.bed", genome=genome_path, seq_len=100)
    errors = inp.report.errors
    text = "\n".join(errors)
    # Malformed lines (from the reader), with file and line.
    for line in (1, 3, 4, 5, 6, 7, 11, 12):
        assert f"bad.bed line {line}: " in text
    # Unknown chromosomes, with the alias hint only where it helps.
    (one,) = [e for e in errors if "chromosome '1'" in e]
    assert "bad.bed line 2:" in one and "--chrom-alias auto" in one and "'chr1'" in one
    (z,) = [e for e in errors if "chromosome 'chrZ'" in e]
    assert "--chrom-alias" not in z and "tiny.fa" in z and "known: chr1, chr2, chrM" in z
    # A region entirely past the chromosome end.
    (off,) = [e for e in errors if "entirely past the end" in e]
    assert "bad.bed line 9: region chr1:5000-5100(+)" in off and "3000 bp" in off
    # A region partly past the end is a warning, not an error.
    assert any(
        "run past their chromosome's end" in w and "line 10" in w for w in inp.report.warnings
    )
    assert all("\n" not in m for m in inp.report.lines())
    assert inp.report.n_errors == 11
    with pytest.raises(InputDataError, match=r"bad.bed line 1: .*10 more problem\(s\); --dry-run"):
        inp.check()


def test_alias_auto_fixes_chr_prefix(genome_path: Path, tmp_path: Path) -> None:
    bed = tmp_path / "ens.bed"
    bed.write_text("1\t10\t20\nMT\t0\t10\n")
    bad = prepare_input(bed=bed, genome=genome_path, seq_len=8)
    assert bad.report.n_errors == 2
    good = prepare_input(bed=bed, genome=genome_path, seq_len=8, chrom_alias="auto")
    assert good.report.ok
    assert [w.chrom for w in good.plan.windows()] == ["chr1", "chrM"]


def test_edge_error_names_region_and_fix(genome_path: Path, tmp_path: Path) -> None:
    bed = tmp_path / "e.bed"
    bed.write_text("chr1\t0\t10\nchr1\t1000\t1010\nchrM\t495\t500\n")
    inp = prepare_input(bed=bed, genome=genome_path, seq_len=100, edge="error")
    assert inp.report.n_errors == 2
    assert (
        "e.bed line 1: a model window for region chr1:0-10(+) runs off chr1" in inp.report.errors[0]
    )
    assert "--edge pad" in inp.report.errors[0]
    assert "e.bed line 3:" in inp.report.errors[1]
    dropped = prepare_input(bed=bed, genome=genome_path, seq_len=100, edge="drop")
    c = dropped.counts()
    assert (c.regions, c.windows, c.dropped_windows, c.dropped_regions) == (3, 1, 2, 2)
    padded = prepare_input(bed=bed, genome=genome_path, seq_len=100).counts()
    assert (padded.windows, padded.padded_windows, padded.padded_bases) == (3, 2, 45 + 48)


def test_empty_inputs(genome_path: Path, tmp_path: Path) -> None:
    bed = tmp_path / "empty.bed"
    bed.write_text("track name=x\n# nothing\n")
    inp = prepare_input(bed=bed, genome=genome_path, seq_len=10)
    assert inp.report.errors == [f"{bed}: no regions or records found (is the input empty?)"]


def test_fasta_lengths_for_free_length_model(tmp_path: Path) -> None:
    fa = tmp_path / "q.fa"
    fa.write_text(">a\n" + "A" * 64 + "\n>b\n" + "C" * 70 + "\n>c\n" + "G" * 70 + "\n")
    g = Geometry(bin_size=32, len_multiple=32)
    inp = prepare_input(fasta=fa, seq_len=None, geometry=g)
    assert inp.report.n_errors == 1
    assert "q.fa line 3 and 1 more of that length: b:" in inp.report.errors[0]
    assert "multiple of 32" in inp.report.errors[0] and "--seq-len" in inp.report.errors[0]
    assert prepare_input(fasta=fa, seq_len=64, geometry=g).report.ok


def test_bad_seq_len_reported() -> None:
    fa = INPUT / "tiny.fa"
    inp = prepare_input(fasta=fa, seq_len=100, geometry=Geometry(bin_size=32, len_multiple=32))
    assert "multiple of 32" in inp.report.errors[0]


def test_regions_and_chroms(genome_path: Path) -> None:
    inp = prepare_input(regions=["chr1:1,001-2,000:-", "chrQ:1-5"], genome=genome_path, seq_len=10)
    assert inp.report.n_errors == 1
    assert inp.report.errors[0].startswith("--region 'chrQ:1-5': chromosome 'chrQ'")
    w = next(inp.plan.windows())
    assert (w.start, w.end, w.strand) == (1000, 2000, "-")
    g = Geometry(bin_size=10, crop_len=1)
    tiled = prepare_input(chroms=["chrM"], genome=genome_path, seq_len=100, geometry=g, tile=True)
    assert tiled.report.ok and tiled.plan.count() == 7  # 500 bp / 80 bp of output per window


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({}, UsageError, "no input"),
        ({"bed": "x.bed", "regions": ["chr1:1-2"]}, UsageError, "given together"),
        ({"bed": "x.bed"}, UsageError, "needs --genome"),
        ({"bed": "x.bed", "genome": "g.fa", "edge": "wrap"}, UsageError, "--edge"),
        ({"bed": "x.bed", "genome": "g.fa", "chrom_alias": "x"}, UsageError, "--chrom-alias"),
        ({"fasta": "x.fa", "tile": True}, UsageError, "--tile"),
        ({"bed": "x.bed", "genome": "nope.fa"}, MissingResourceError, "does not exist"),
    ],
)
def test_option_errors(kwargs: dict, error: type, match: str) -> None:
    kwargs.setdefault("seq_len", 100)
    if kwargs.get("tile"):
        kwargs["seq_len"] = None
    with pytest.raises(error, match=match):
        prepare_input(**kwargs)


def test_missing_bed(genome_path: Path, tmp_path: Path) -> None:
    with pytest.raises(MissingResourceError, match="does not exist"):
        prepare_input(bed=tmp_path / "none.bed", genome=genome_path, seq_len=10)


def test_edge_summaries_and_nothing_left(genome_path: Path, tmp_path: Path) -> None:
    bed = tmp_path / "m.bed"
    bed.write_text("chrM\t0\t10\nchrM\t490\t500\n")
    padded = prepare_input(bed=bed, genome=genome_path, seq_len=100)
    assert padded.report.ok
    assert padded.report.warnings == [
        "2 of 2 windows run off a sequence end and are N-padded (90 bases in all; --edge drop "
        "or shift avoids this)"
    ]
    shifted = prepare_input(bed=bed, genome=genome_path, seq_len=100, edge="shift")
    assert shifted.report.warnings == ["--edge shift moves 2 window(s) inside their chromosome"]
    assert [w.window_start for w in shifted.plan.windows()] == [0, 400]
    dropped = prepare_input(bed=bed, genome=genome_path, seq_len=100, edge="drop")
    assert "no window is left to predict" in dropped.report.errors[0]
    # A window longer than the chromosome cannot be shifted inside it: it is padded instead.
    long = prepare_input(bed=bed, genome=genome_path, seq_len=600, edge="shift")
    w = next(long.plan.windows())
    assert (w.window_start, w.pad_left, w.pad_right) == (0, 0, 100)


def test_summary_and_provenance(genome_path: Path) -> None:
    inp = prepare_input(regions=["chr1:1-10", "chr2:101-200:-"], genome=genome_path, seq_len=64)
    assert inp.summary() == (
        "2 regions from --region -> 2 windows of 64 bp (resize, --edge pad): 1 padded, "
        "0 dropped, 0 shifted"
    )
    prov = inp.provenance()
    assert prov["genome"] == str(genome_path) and len(prov["genome_fai_sha256"]) == 64
    assert prov["counts"]["windows"] == 2 and prov["chrom_alias"] == "none"


def test_fasta_padding_warning(tmp_path: Path) -> None:
    fa = tmp_path / "q.fa"
    fa.write_text(">a\nACGT\n>b\n" + "A" * 20 + "\n")
    inp = prepare_input(fasta=fa, seq_len=10)
    assert inp.report.warnings == [
        "1 of 2 windows extend past their record and are N-padded (6 bases in all), as gReLU "
        "pads short sequences"
    ]
