"""Attributions equal gReLU 1.1.0's ``get_attributions`` on the same ConvModel checkpoint and
sequences (goldens made by gReLU itself: tests/data/reference/attribute/).

saliency, inputxgradient and integratedgradients: the same captum calls on the same target,
batched here (gReLU loops one sequence at a time), so they agree to float32 round-off
(rtol 1e-5, atol 1e-5 of the map's largest value). deepliftshap: the same tangermeme call with
the same seeded dinucleotide shuffles (tangermeme seeds shuffle k of every sequence with
``seed + k``, whatever the batch), so the references are identical and the maps agree to the
same tolerance; gReLU's runs on the logits (see the generator: it applies exp as a bare
function that DeepLIFT treats as linear, we give exp the rescale rule).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from grelu_cli.attribute.methods import attribute_batch
from grelu_cli.attribute.options import AttributionOptions
from grelu_cli.attribute.target import TargetModel
from grelu_cli.genome.bins import bin_layout
from grelu_cli.predict.transform import activation_name
from grelu_cli.zoo import load_model

REF = Path(__file__).resolve().parents[1] / "data" / "reference"
GOLD = REF / "attribute"


@pytest.fixture(scope="module")
def golden() -> tuple[dict, dict[str, np.ndarray]]:
    meta = json.loads((GOLD / "attribute.json").read_text())
    with np.load(GOLD / "attribute.npz") as z:
        return meta, {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def loaded():
    return load_model(REF / "checkpoints" / "conv_poisson.ckpt", progress=False)


def one_hot(seqs: list[str]) -> torch.Tensor:
    return torch.tensor(
        np.stack([[[c == b for c in s] for b in "ACGT"] for s in seqs]), dtype=torch.float32
    )


def target(loaded, tasks: list[int], per_task: bool = False, logits: bool = False):
    layout = bin_layout(loaded.geometry, 64, aggregate="mean")
    act = "none" if logits else activation_name(loaded.activation)
    return TargetModel(loaded.model, act, layout, tasks, per_task=per_task)


def close(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * float(np.abs(theirs).max()))


@pytest.mark.parametrize(
    ("case", "opts"),
    [
        ("saliency", AttributionOptions("saliency")),
        ("saliency_correct", AttributionOptions("saliency", correct_grad=True)),
        ("inputxgradient", AttributionOptions("inputxgradient")),
        ("integratedgradients", AttributionOptions("integratedgradients")),
        ("deepshap", AttributionOptions("deepliftshap", shuffles=6, seed=7)),
        (
            "deepshap_hypothetical",
            AttributionOptions("deepliftshap", shuffles=6, seed=7, hypothetical=True),
        ),
    ],
)
def test_equals_grelu(golden, loaded, case: str, opts: AttributionOptions) -> None:
    meta, g = golden
    spec = meta["cases"][case]
    t = target(loaded, spec["tasks"], logits=bool(spec.get("logits")))
    ours = attribute_batch(t, one_hot(meta["sequences"]), opts).numpy()
    assert ours.shape == (5, 1, 4, 64)
    close(ours[:, 0], g[case])


def test_per_task_columns_are_single_task_targets(golden, loaded) -> None:
    meta, g = golden
    t = target(loaded, [0, 1, 2], per_task=True)
    ours = attribute_batch(t, one_hot(meta["sequences"]), AttributionOptions("saliency"))
    assert ours.shape == (5, 3, 4, 64)
    close(ours[:, 1].numpy(), g["saliency_task1"])
    # the mean over tasks 0 and 2 is the mean of their maps (the target is linear in them)
    mean = target(loaded, [0, 2])
    both = attribute_batch(mean, one_hot(meta["sequences"]), AttributionOptions("saliency"))
    close(((ours[:, 0] + ours[:, 2]) / 2).numpy(), both[:, 0].numpy())
