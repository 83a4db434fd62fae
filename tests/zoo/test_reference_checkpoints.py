"""The oracle's gReLU 1.1.0 checkpoints (tests/data/reference/checkpoints, see its README):
every one loads safely and predicts gReLU's logits and activated outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from grelu_cli.zoo import load_model

REF = Path(__file__).resolve().parents[1] / "data" / "reference" / "checkpoints"
CASES = json.loads((REF / "manifest.json").read_text()) if (REF / "manifest.json").exists() else []
ACTIVATION = {"exp": "exp", "none": "none", "sigmoid": "sigmoid", "softmax(dim=1)": "softmax"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["case"])
def test_reference_checkpoint_matches_grelu(case):
    lm = load_model(REF / case["checkpoint"])
    ref = torch.load(REF / case["tensors"], weights_only=True)
    x = ref["input"]
    with torch.no_grad():
        logits = lm.model(x)
        out = lm.activation(logits)
    tol = 1e-5 * max(1.0, ref["output"].abs().max().item())
    assert tuple(out.shape) == tuple(case["output_shape"])
    assert (logits - ref["logits"]).abs().max().item() <= 1e-5 * max(
        1.0, ref["logits"].abs().max().item()
    )
    assert (out - ref["output"]).abs().max().item() <= tol
    assert lm.activation.name == ACTIVATION[case["activation"]]
    assert lm.model_type == case["model_type"]
    if case["tasks"] is None:  # older checkpoint: defaults
        assert lm.task_names == [f"task_{i}" for i in range(case["output_shape"][1])]
        assert lm.seq_len is None
    else:
        assert lm.tasks.to_dict("list") == case["tasks"]
        assert lm.seq_len == case["seq_len"]
    if case["bin_size"] is not None:
        assert lm.geometry.bin_size == case["bin_size"]


def test_reference_cases_present():
    assert len(CASES) >= 6
