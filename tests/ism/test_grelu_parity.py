"""``delta`` equals gReLU 1.1.0 ``ISM_predict(compare_func="subtract")`` on the same checkpoint
and sequences within 1e-5 relative: against goldens made by gReLU itself
(tests/data/reference/ism/make_ism_reference.py) and against a literal transcription of what
ISM_predict computes, for plain ISM and fast ISM (original and rewritten modules).

What ISM_predict computes (grelu/interpret/score.py, grelu/data/dataset.py ISMDataset with
``drop_ref=False``): for each position in ``[start_pos, end_pos)`` and each base A, C, G, T
(the reference base included: that row is the unmutated sequence) the model's prediction after
the transform, laid out ``(n_seqs, positions, 4, T, L_out)``; the reference prediction is the
row of the *first* position at its reference base, ``preds[:, [0], [ref_bases]]``, and
``subtract`` gives ``preds - ref``: exactly 0 at the reference bases. Ours has NaN there.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from grelu_cli.genome.bins import bin_layout
from grelu_cli.ism.fast import FastISM
from grelu_cli.ism.mutants import ism_positions, mutant_list
from grelu_cli.ism.plain import PlainISM, ism_targets
from grelu_cli.ism.scores import delta_layout, score, targets
from grelu_cli.model.inference import optimize_for_inference
from grelu_cli.predict.transform import activate, activation_name
from grelu_cli.zoo import load_model

REF = Path(__file__).resolve().parents[1] / "data" / "reference"
GOLD = REF / "ism"


@pytest.fixture(scope="module")
def golden() -> tuple[dict, dict[str, np.ndarray]]:
    meta = json.loads((GOLD / "ism.json").read_text())
    with np.load(GOLD / "ism.npz") as z:
        return meta, {k: z[k] for k in z.files}


def _loaded():
    return load_model(REF / "checkpoints" / "conv_poisson.ckpt", progress=False)


def _one_hot(seq: str) -> np.ndarray:
    return np.stack([np.array([c == b for c in seq], dtype=np.float32) for b in "ACGT"])


def _transcription(model, act: str, seq: str, start: int, end: int) -> np.ndarray:
    """ISM_predict(seq, compare_func="subtract", Aggregate(mean)) written out: (1, P, 4, T, 1)."""
    windows = []
    for pos in range(start, end):  # ISMDataset order: position-major, then allele 0..3
        for base in "ACGT":
            windows.append(_one_hot(seq[:pos] + base + seq[pos + 1 :]))
    with torch.no_grad():
        y = activate(model(torch.from_numpy(np.stack(windows))), act)  # LightningModel.forward
    preds = y.mean(dim=-1, keepdim=True).numpy()  # Aggregate(length_aggfunc="mean")
    preds = preds.reshape(1, end - start, 4, *preds.shape[1:])
    ref_bases = ["ACGT".index(seq[start])]
    ref_pred = preds[:, [0], ref_bases]  # (1, 1, T, 1), broadcast over positions and bases
    return preds - ref_pred[:, :, None]


def _close(ours: np.ndarray, theirs: np.ndarray, scale: float) -> None:
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * scale)


def test_the_transcription_is_what_grelu_computes(golden) -> None:
    meta, g = golden
    loaded = _loaded()
    act = activation_name(loaded.activation)
    for i, seq in enumerate(meta["sequences"]):
        mine = _transcription(loaded.model, act, seq, meta["start_pos"], meta["end_pos"])
        gold = g[f"seq{i}/subtract"]
        assert mine.shape == gold.shape == (1, 10, 4, 3, 1)
        _close(mine, gold, float(np.abs(g[f"seq{i}/none"]).max()))


@pytest.mark.parametrize("how", ["plain", "fast", "fast_rewritten"])
def test_delta_matches_grelu_ism_predict(golden, how: str) -> None:
    meta, g = golden
    loaded = _loaded()
    model = loaded.model.eval()
    if how == "fast_rewritten":
        optimize_for_inference(model)
    act = activation_name(loaded.activation)
    layout = bin_layout(loaded.geometry, 64, aggregate="mean")
    predictor = PlainISM(model) if how == "plain" else FastISM(model)
    start, end = meta["start_pos"], meta["end_pos"]
    for i, seq in enumerate(meta["sequences"]):
        x = _one_hot(seq)
        muts = mutant_list(x, ism_positions(64, 0, 64, ism_start=start, ism_end=end))
        ref, mut = ism_targets(
            predictor, x, muts, lambda y: targets(activate(y, act), layout), batch_size=7
        )
        delta = delta_layout(score(mut, ref, "diff"), muts)  # (P, 4, T)
        gold = g[f"seq{i}/subtract"][0, ..., 0]  # (P, 4, T)
        raw = g[f"seq{i}/none"][0, ..., 0]
        scale = float(np.abs(raw).max())
        is_ref = np.isnan(delta)
        assert is_ref.sum() == 10 * 3  # one reference base per position, three tasks
        assert np.array_equal(is_ref[:, :, 0], _one_hot(seq)[:, start:end].T.astype(bool))
        np.testing.assert_allclose(gold[is_ref], 0.0, atol=1e-6 * scale)
        _close(delta[~is_ref], gold[~is_ref], scale)
        # The reference target is gReLU's reference row.
        _close(ref, raw[0, "ACGT".index(seq[start])], scale)
        assert np.abs(gold).max() > 1e-3 * scale  # the mutations move the targets
