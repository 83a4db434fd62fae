"""Reproduce gReLU 1.1.0 ``predict_on_dataset`` references (tests/data/reference/predictions).

Same checkpoint (``conv_poisson.ckpt``, exp activation), same 9 regions and windows, same
augmentation (rc, shifts) and ``Aggregate(length_aggfunc=...)``. gReLU leaves '-' rows in the
orientation the model saw; we write genome orientation, so those rows are compared flipped.
Inputs are read here from the reference genome with pyfaidx (uppercased, '-' rows
reverse-complemented, flanked by ``shifts`` bases on both sides: what the loader provides).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from grelu_cli.core.window import Window
from grelu_cli.predict.loop import PredictOptions, Predictor
from grelu_cli.zoo.loader import load_model
from tests.predict.predict_testkit import one_hot, revcomp

REF = Path(__file__).parents[1] / "data" / "reference"
META = json.loads((REF / "predictions" / "predictions.json").read_text())
CASES = {c["case"]: c for c in META["cases"]}
OPTIONS = {
    "default": {},
    "rc_mean": {"rc": True},
    "shift2_mean": {"shifts": 2},
    "rc_shift1_mean": {"rc": True, "shifts": 1},
    "length_mean": {"aggregate": "mean"},
    "rc_length_mean": {"rc": True, "aggregate": "mean"},
    "rc_shift1_length_sum": {"rc": True, "shifts": 1, "aggregate": "sum"},
}


@pytest.fixture(scope="module")
def expected() -> dict[str, torch.Tensor]:
    return torch.load(REF / "predictions" / "predictions.pt", weights_only=True)


def batch(flank: int) -> tuple[torch.Tensor, list[Window]]:
    import pyfaidx

    fasta = pyfaidx.Fasta(str(REF / "inputs" / "genome.fa"))
    xs, wins = [], []
    for i, (r, w) in enumerate(zip(META["regions"], META["windows"], strict=True)):
        strand = "-" if r["strand"] == "-" else "+"
        seq = str(fasta[r["chrom"]][w["start"] - flank : w["end"] + flank]).upper()
        xs.append(one_hot(revcomp(seq) if strand == "-" else seq))
        wins.append(
            Window(i, i, r["name"], r["chrom"], r["start"], r["end"], strand, w["start"], w["end"])
        )
    return torch.stack(xs), wins


def test_cases_cover_every_reference() -> None:
    assert set(OPTIONS) == set(CASES) - {"rc_shift1_none"}


@pytest.mark.parametrize("case", sorted(OPTIONS))
@pytest.mark.parametrize("batch_size", [1, 7])
def test_matches_grelu_predict_on_dataset(case: str, batch_size: int, expected) -> None:
    opts = OPTIONS[case]
    loaded = load_model(REF / "checkpoints" / "conv_poisson.ckpt")
    assert loaded.activation.name == "exp"
    x, wins = batch(opts.get("shifts", 0))
    p = Predictor(
        loaded.model,
        seq_len=META["seq_len"],
        activation=loaded.activation,
        tasks=loaded.tasks,
        options=PredictOptions(device="cpu", batch_size=batch_size, **opts),
    )
    ours = np.concatenate([v for v, _ in p.predict([(x[:4], wins[:4]), (x[4:], wins[4:])])])
    ref = expected[case].numpy().copy()
    assert ours.shape == ref.shape == tuple(CASES[case]["shape"])
    minus = np.array([w.strand == "-" for w in wins])
    ref[minus] = ref[minus][..., ::-1]  # gReLU keeps '-' rows in model orientation
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6 * scale)


def test_inputs_match_grelu_augmented_inputs(expected) -> None:
    """Our flanked inputs, cut the way the predictor cuts them, are gReLU's exact inputs."""
    from grelu_cli.predict.augment import augment, augmentations

    x, _ = batch(1)
    copies = augmentations(rc=True, shifts=1)
    ours = torch.stack([augment(x, a, 64) for a in copies], dim=1).reshape(-1, 4, 64)
    torch.testing.assert_close(ours, expected["rc_shift1_inputs"], rtol=0, atol=0)


def test_stranded_grelu_checkpoint_with_rc_and_a_selection() -> None:
    """A gReLU-written Borzoi checkpoint with strand pairs: each rc copy swaps the CAGE
    pair (gReLU 1.1.0 does not); selecting only the minus track still computes its partner."""
    ck = REF / "checkpoints" / "borzoi_poisson_multinomial_stranded.ckpt"
    ref = torch.load(ck.with_suffix(".pt"), weights_only=True)
    x = ref["input"]  # (2, 4, 128): gReLU's own inputs, treated as '+' windows
    wins = [Window(i, i, f"r{i}", "chr1", 0, 128, "+", 1000 * i, 1000 * i + 128) for i in (0, 1)]
    loaded = load_model(ck)
    names = loaded.task_names
    pair = loaded.tasks["strand_pair"].tolist()
    assert pair == [0, 2, 1, 3]
    sel = [names.index("cage_hepg2_minus"), names.index("dnase_k562")]
    p = Predictor(
        loaded.model,
        seq_len=128,
        activation=loaded.activation,
        tasks=loaded.tasks,
        selected=sel,
        options=PredictOptions(device="cpu", rc=True),
    )
    assert p.plan is not None and p.plan.computed == (2, 0, 1)
    got = next(p.predict([(x, wins)]))[0]
    full = load_model(ck).model
    with torch.no_grad():
        fwd = torch.exp(full(x))
        torch.testing.assert_close(fwd, ref["output"], rtol=1e-5, atol=1e-6)
        rev = torch.exp(full(x.flip((1, 2)))).flip(-1)[:, pair]
    expect = ((fwd + rev) / 2)[:, sel]
    torch.testing.assert_close(torch.from_numpy(got), expect, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ["rc_shift1_mean", "shift2_mean", "rc_shift1_length_sum"])
def test_loader_to_predictor_reproduces_grelu(case: str, expected, tmp_path: Path) -> None:
    """The real input side (BED + genome -> windows -> flanked batches) feeding the loop."""
    from grelu_cli.genome.inputs import prepare_input
    from grelu_cli.predict.loader import make_loader

    bed = tmp_path / "regions.bed"
    bed.write_text(
        "".join(
            f"{r['chrom']}\t{r['start']}\t{r['end']}\t{r['name']}\t0\t{r['strand']}\n"
            for r in META["regions"]
        )
    )
    opts = OPTIONS[case]
    loaded = load_model(REF / "checkpoints" / "conv_poisson.ckpt")
    p = Predictor(
        loaded.model,
        seq_len=META["seq_len"],
        activation=loaded.activation,
        tasks=loaded.tasks,
        options=PredictOptions(device="cpu", batch_size=3, **opts),
    )
    inp = prepare_input(
        bed=bed, genome=REF / "inputs" / "genome.fa", seq_len=64, geometry=loaded.geometry
    )
    inp.check()
    loader = make_loader(inp.plan, inp.sequences, batch_size=4, flank=p.flank)
    blocks = list(p.blocks(loader))
    ours = np.concatenate([b.values for b in blocks])
    wins = [w for b in blocks for w in b.windows]
    assert [(w.window_start, w.window_end) for w in wins] == [
        (w["start"], w["end"]) for w in META["windows"]
    ]
    ref = expected[case].numpy().copy()
    minus = np.array([w.strand == "-" for w in wins])
    ref[minus] = ref[minus][..., ::-1]
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(ref).max()))
