"""The input side against the oracle's gReLU 1.1.0 references (tests/data/reference/inputs/).

Windows, bases and one-hot tensors must equal gReLU's wherever gReLU accepts the region; where
gReLU raises (windows off a chromosome, IUPAC codes) we pad with N / encode all-zero instead,
and those cases are checked against gReLU's arithmetic plus padding.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from grelu_cli.genome.encode import one_hot, one_hot_batch
from grelu_cli.genome.inputs import prepare_input

REF = Path(__file__).parents[1] / "data" / "reference" / "inputs"


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((REF / "intervals.json").read_text())


@pytest.fixture(scope="module")
def tensors() -> dict:
    return torch.load(REF / "one_hot.pt", weights_only=True)


@pytest.fixture(scope="module")
def genome(tmp_path_factory) -> Path:
    # A copy, so building or refreshing the index never writes into tests/data.
    d = tmp_path_factory.mktemp("oracle")
    shutil.copy(REF / "genome.fa", d / "genome.fa")
    return d / "genome.fa"


@pytest.mark.parametrize("L", [64, 65, 128])
def test_windows_and_bases(ref: dict, tensors: dict, genome: Path, L: int) -> None:
    inp = prepare_input(bed=REF / "regions.bed", genome=genome, seq_len=L)
    assert inp.report.ok, inp.report.lines()
    wins = list(inp.plan.windows())
    by_name = {r["name"]: r for r in ref["regions"]}
    assert [w.name for w in wins] == [r["name"] for r in ref["regions"]]
    for w in wins:
        r = by_name[w.name]
        assert [w.window_start, w.window_end] == r["resized"][str(L)]
        size = ref["chrom_sizes"][w.chrom]
        assert (w.pad_left, w.pad_right) == (max(0, -w.window_start), max(0, w.window_end - size))
        seq = inp.sequences.read(w)
        fed = r["seq_dataset"].get(str(L))
        if fed is not None and fed["ok"]:
            assert seq.decode().upper() == fed["seq"], w.name
            x = inp.sequences.encode([w])[0]
            np.testing.assert_array_equal(x, tensors[f"{w.name}/{L}"].numpy())
        elif w.padded:
            # gReLU raises here; we feed N for the bases off the chromosome, on the side
            # the model sees them (the far end for '-' windows, which are reverse-complemented).
            left, right = (
                (w.pad_right, w.pad_left) if w.strand == "-" else (w.pad_left, w.pad_right)
            )
            assert seq[:left] == b"N" * left and seq[len(seq) - right :] == b"N" * right
    assert inp.counts().padded_windows == sum(1 for w in wins if w.padded)


def test_iupac_encodes_as_zero(ref: dict, genome: Path) -> None:
    inp = prepare_input(bed=REF / "regions.bed", genome=genome, seq_len=64)
    (w,) = [w for w in inp.plan.windows() if w.name == "iupac"]
    seq = inp.sequences.read(w)
    assert b"RYKMSWBDHV" in seq.upper()
    x = inp.sequences.encode([w])[0]
    i = seq.upper().index(b"RYKMSWBDHV")
    assert not x[:, i : i + 10].any()


def test_strings_to_one_hot(ref: dict, tensors: dict) -> None:
    for case in ref["strings_to_one_hot"]:
        key = f"strings/{case['case']}"
        if not case["ok"]:
            continue  # gReLU raises (lowercase, IUPAC, gaps); covered in test_encode.py
        inp = case["input"]
        got = one_hot(inp) if isinstance(inp, str) else one_hot_batch(inp)
        np.testing.assert_array_equal(got, tensors[key].numpy())
