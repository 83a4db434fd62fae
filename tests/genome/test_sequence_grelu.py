"""Sequences fed to the model, base for base, against gReLU 1.1.0 on the same regions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from grelu_cli.genome.inputs import prepare_input


def write_bed(path: Path, rows: list[dict]) -> Path:
    path.write_text(
        "".join(
            f"{r['chrom']}\t{r['start']}\t{r['end']}\tr{i}\t0\t{r['strand']}\n"
            for i, r in enumerate(rows)
        )
    )
    return path


def test_windows_and_bases_match_grelu(tmp_path: Path, genome_path: Path, grelu_reference):
    cases = grelu_reference["intervals"]
    assert len(cases) > 40 and {c["strand"] for c in cases} == {"+", "-"}
    for L in sorted({c["seq_len"] for c in cases}):
        rows = [c for c in cases if c["seq_len"] == L]
        bed = write_bed(tmp_path / f"r{L}.bed", rows)
        inp = prepare_input(bed=bed, genome=genome_path, seq_len=L)
        assert inp.report.ok, inp.report.lines()
        wins = list(inp.plan.windows())
        assert len(wins) == len(rows)
        for w, ref in zip(wins, rows, strict=True):
            assert (w.window_start, w.window_end) == (ref["window_start"], ref["window_end"])
            # gReLU upper-cases the genome's soft-masked bases; the encoder ignores case.
            assert inp.sequences.read(w).decode().upper() == ref["seq"]


def test_one_hot_matches_grelu_dataset(tmp_path: Path, genome_path: Path, grelu_reference):
    for ref in grelu_reference["onehot_dataset"]:
        bed = write_bed(tmp_path / "one.bed", [ref])
        inp = prepare_input(bed=bed, genome=genome_path, seq_len=ref["seq_len"])
        (w,) = inp.plan.windows()
        x = inp.sequences.encode([w])[0]
        idx = np.where(x.max(0) > 0, x.argmax(0), 4)
        assert idx.tolist() == ref["argmax"]


def test_flank_matches_grelu_max_seq_shift(tmp_path: Path, genome_path: Path, grelu_reference):
    """read(w, flank=S) equals the padded sequence gReLU's SeqDataset(max_seq_shift=S) keeps."""
    cases = grelu_reference["flank"]
    assert {c["strand"] for c in cases} == {"+", "-"}
    for ref in cases:
        bed = write_bed(tmp_path / "f.bed", [ref])
        inp = prepare_input(bed=bed, genome=genome_path, seq_len=ref["seq_len"])
        (w,) = inp.plan.windows()
        assert inp.sequences.read(w, flank=ref["flank"]).decode().upper() == ref["seq"]
        x = inp.sequences.encode([w], flank=ref["flank"])
        assert x.shape == (1, 4, ref["seq_len"] + 2 * ref["flank"])


def test_fasta_flank_is_n(tmp_path: Path) -> None:
    fa = tmp_path / "q.fa"
    fa.write_text(">long\nAACCGGTTA\n")
    inp = prepare_input(fasta=fa, seq_len=6)
    (w,) = inp.plan.windows()
    # gReLU pads the resized string with N rather than using the record's own bases.
    assert inp.sequences.read(w, flank=2) == b"NNACCGGTNN"
