"""Golden test: our models load gReLU 1.1.0 state dicts strictly and reproduce its outputs.

Fixtures come from tests/data/reference/make_reference.py (run once with gReLU 1.1.0 in a scratch
virtualenv; see tests/data/reference/README.md). For each case we build
`grelu_cli.model.models.<Class>(**kwargs)`, check state_dict keys and shapes, load the fixture
weights with strict=True and compare the eval-mode fp32 output on the fixture input:
max |diff| <= 1e-5 * max(1, max |ref|).
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
import torch

REF = Path(__file__).resolve().parents[1] / "data" / "reference"
MODELS = REF / "models"
MANIFEST = json.loads((MODELS / "manifest.json").read_text())
LAYOUT = json.loads((MODELS / "pretrained_layout.json").read_text())


@cache
def _generator() -> ModuleType:
    """make_reference.py, for synth_state_dict (it imports only torch at module level)."""
    spec = importlib.util.spec_from_file_location("make_reference", REF / "make_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _fp32_highest():
    """Exact fp32 matmuls (another test or gReLU-style code may have lowered the precision)."""
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    yield
    torch.set_float32_matmul_precision(before)


def _build(cls_name: str, kwargs: dict) -> torch.nn.Module:
    from grelu_cli.model import models

    return getattr(models, cls_name)(**kwargs)


@pytest.mark.parametrize("case", MANIFEST, ids=[c["case"] for c in MANIFEST])
def test_matches_grelu(case: dict) -> None:
    blob = torch.load(MODELS / f"{case['case']}.pt", weights_only=True)
    expected_shapes = case["state_dict_shapes"]
    if case["state_dict_stored"]:
        state_dict = blob["state_dict"]
    else:
        state_dict = _generator().synth_state_dict(expected_shapes)

    torch.manual_seed(0)
    model = _build(case["class"], case["kwargs"])
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    missing = sorted(set(expected_shapes) - set(ours))
    unexpected = sorted(set(ours) - set(expected_shapes))
    assert not missing and not unexpected, f"missing {missing[:8]}, unexpected {unexpected[:8]}"
    wrong = {k: (ours[k], s) for k, s in expected_shapes.items() if ours[k] != s}
    assert not wrong, f"shape mismatches (ours, gReLU): {wrong}"

    model.load_state_dict(state_dict, strict=True)
    model.eval()
    x, ref = blob["input"], blob["output"]
    with torch.no_grad():
        out = model(x)
    assert out.dtype == torch.float32
    assert tuple(out.shape) == tuple(ref.shape) == tuple(case["output_shape"])
    err = (out - ref).abs().max().item()
    tol = 1e-5 * max(1.0, ref.abs().max().item())
    assert err <= tol, f"max |diff| {err:.3g} > {tol:.3g}"


@pytest.mark.parametrize("name", sorted(LAYOUT), ids=sorted(LAYOUT))
def test_pretrained_key_layout(name: str) -> None:
    """Pretrained classes build gReLU's key layout (built on meta: no memory, no download)."""
    rec = LAYOUT[name]
    with torch.device("meta"):
        model = _build(rec["class"], rec["kwargs"])
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert ours == rec["state_dict_shapes"]
    assert sum(p.numel() for p in model.parameters()) == rec["n_params"]


def test_fixture_weights_are_the_documented_synthetic_ones() -> None:
    """Stored state dicts equal synth_state_dict(shapes), so unstored ones are faithful too."""
    case = next(c for c in MANIFEST if c["state_dict_stored"] and c["class"] == "BorzoiModel")
    blob = torch.load(MODELS / f"{case['case']}.pt", weights_only=True)
    synth = _generator().synth_state_dict(case["state_dict_shapes"])
    assert list(blob["state_dict"]) == list(synth)
    for key, value in blob["state_dict"].items():
        assert torch.equal(value, synth[key]), key
