"""The attribution library beyond gReLU parity: batching, DeepLIFT's refusals and its
summation-to-delta property, the model left as it was found, option checks, missing libraries."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from grelu_cli.attribute.methods import attribute_batch
from grelu_cli.attribute.options import AttributionOptions, check_options, require
from grelu_cli.attribute.support import check_deeplift
from grelu_cli.attribute.target import TargetModel
from grelu_cli.errors import MissingResourceError, UsageError
from grelu_cli.genome.bins import bin_layout
from grelu_cli.zoo import load_model
from tests.model.small import SMALL

REF = Path(__file__).resolve().parents[1] / "data" / "reference"


@pytest.fixture(scope="module")
def loaded():
    return load_model(REF / "checkpoints" / "conv_poisson.ckpt", progress=False)


def windows(n: int, length: int = 64, seed: int = 3) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, 4, size=(n, length))
    return torch.from_numpy(np.eye(4, dtype=np.float32)[idx].transpose(0, 2, 1).copy())


def target(loaded, tasks=(0, 1, 2), per_task=False, act="exp") -> TargetModel:
    layout = bin_layout(loaded.geometry, 64, aggregate="mean")
    return TargetModel(loaded.model, act, layout, list(tasks), per_task=per_task)


@pytest.mark.parametrize("method", ["saliency", "integratedgradients", "deepliftshap"])
def test_a_batch_equals_one_window_at_a_time(loaded, method: str) -> None:
    x = windows(6)
    opts = AttributionOptions(method, shuffles=3, seed=1)
    t = target(loaded, per_task=True)
    batch = attribute_batch(t, x, opts)
    single = torch.cat([attribute_batch(t, x[i : i + 1], opts) for i in range(len(x))])
    assert batch.shape == (6, 3, 4, 64)
    scale = float(batch.abs().max())
    np.testing.assert_allclose(batch.numpy(), single.numpy(), rtol=1e-5, atol=1e-6 * scale)


def test_deepliftshap_leaves_the_model_as_it_was(loaded) -> None:
    """Regression: tangermeme restores the training mode it found, recursively; a wrapper in
    training mode switched the model's batch norms to batch statistics after one call."""
    x = windows(4)
    with torch.no_grad():
        before = loaded.model(x)
    attribute_batch(target(loaded), x, AttributionOptions("deepliftshap", shuffles=2))
    assert not loaded.model.training
    with torch.no_grad():
        np.testing.assert_array_equal(loaded.model(x).numpy(), before.numpy())


def test_deepliftshap_sums_to_the_output_difference_through_exp(loaded) -> None:
    """DeepLIFT's summation-to-delta: the multipliers x (x - reference), summed, equal
    f(x) - f(reference) for each reference; averaged over the references (tangermeme seeds
    shuffle k with seed + k), sum(attribution) = f(x) - mean_k f(ref_k). It holds through the
    exp activation only because exp gets the rescale rule (support.extra_rules)."""
    from tangermeme.ersatz import dinucleotide_shuffle

    x, shuffles, seed = windows(3), 4, 11
    t = target(loaded, tasks=(0,))
    attr = attribute_batch(t, x, AttributionOptions("deepliftshap", shuffles=shuffles, seed=seed))
    refs = torch.stack(
        [dinucleotide_shuffle(x, n=1, random_state=[seed + k] * len(x))[:, 0] for k in range(4)]
    )
    with torch.no_grad():
        expected = t(x)[:, 0] - torch.stack([t(r)[:, 0] for r in refs]).mean(0)
    got = attr[:, 0].sum(dim=(1, 2))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-3)


@pytest.mark.parametrize(
    ("name", "modules"),
    [
        ("gru", "GRU, GRUBlock"),
        ("transformer", "Attention"),
        ("conv_attnpool", "AttentionPool"),
        ("enformer", "EnformerAttention"),
        ("borzoi", "Attention"),
    ],
)
def test_deeplift_refuses_modules_without_rules(name: str, modules: str) -> None:
    model = SMALL[name][0]()
    with pytest.raises(UsageError) as err:
        check_deeplift(model, "tiny", type(model).__name__)
    assert err.value.exit_code == 2
    assert f"{type(model).__name__}): no DeepLIFT rule for its modules" in str(err.value)
    for module in modules.split(", "):
        assert module in str(err.value)


@pytest.mark.parametrize(
    "name", ["conv", "conv_pool_crop", "conv_avg", "dilated", "mlp", "explainn"]
)
def test_deeplift_serves_convolutional_models(name: str) -> None:
    model = SMALL[name][0]()
    check_deeplift(model, "tiny", type(model).__name__)


@pytest.mark.parametrize(
    ("opts", "text"),
    [
        (AttributionOptions("gradcam"), "--method 'gradcam' is not"),
        (AttributionOptions("inputxgradient", correct_grad=True), "--correct-grad applies"),
        (AttributionOptions("saliency", hypothetical=True), "--hypothetical applies"),
        (AttributionOptions("deepliftshap", shuffles=0), "--shuffles 0"),
    ],
)
def test_options_that_do_not_apply_are_refused(opts: AttributionOptions, text: str) -> None:
    with pytest.raises(UsageError, match=text.replace("(", r"\(")):
        check_options(opts)


def test_a_missing_library_is_exit_4_with_the_pip_fix(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "captum.attr", None)  # import raises ImportError
    with pytest.raises(MissingResourceError) as err:
        require("captum.attr")
    assert err.value.exit_code == 4
    assert "pip install 'grelu-cli[attribute]'" in str(err.value.fix)
    # the DeepLIFT support check needs tangermeme's rule table: the same exit 4
    monkeypatch.setitem(sys.modules, "tangermeme._deep_lift_utils", None)
    with pytest.raises(MissingResourceError, match="needs tangermeme"):
        check_deeplift(SMALL["conv"][0](), "tiny", "ConvModel")
