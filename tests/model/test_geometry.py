"""Geometry reported without a forward pass agrees with what the forward pass does."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from grelu_cli.core.geometry import Geometry, receptive_field
from grelu_cli.model import models as M
from tests.model.small import SMALL, build, one_hot

NAMES = sorted(SMALL)


@pytest.mark.parametrize("name", NAMES)
def test_out_len_matches_forward(name: str) -> None:
    model = build(name)
    geometry = model.geometry()
    for length in SMALL[name][1]:
        geometry.check_len(length)
        with torch.no_grad():
            out = model(one_hot(1, length))
        assert out.shape[-1] == geometry.out_len(length), length
        assert geometry.pooled == (out.shape[-1] == 1 and geometry.trunk_len(length) != 1)


@pytest.mark.parametrize(
    ("name", "bad_len"),
    [("borzoi", 100), ("enformer", 70), ("mlp", 41), ("explainn", 59), ("dilated", 20)],
)
def test_check_len_rejects(name: str, bad_len: int) -> None:
    with pytest.raises(ValueError, match=str(bad_len)):
        build(name).geometry().check_len(bad_len)


def test_reported_rules_of_the_big_architectures() -> None:
    borzoi = build("borzoi").geometry()
    assert (borzoi.bin_size, borzoi.crop_len, borzoi.len_multiple) == (4, 1, 16)
    enformer = build("enformer").geometry()
    assert (enformer.bin_size, enformer.crop_len, enformer.len_multiple) == (8, 1, 8)
    assert borzoi.global_context and enformer.global_context
    dilated = build("dilated").geometry()  # stem 21, dilations 2, 4, 8 with kernel 3
    assert dilated.receptive_field == 21 + 2 * (2 + 4 + 8)
    assert dilated.crop_len == dilated.receptive_field // 2
    assert not dilated.global_context and not dilated.pooled


def test_receptive_field_formula() -> None:
    assert receptive_field([("conv", 5, 1)]) == 5
    assert receptive_field([("conv", 3, 1), ("pool", 2), ("conv", 3, 1)]) == 3 + 1 + 2 * 2
    assert receptive_field([("conv", 3, 4)]) == 9


def _influence(model: nn.Module, length: int) -> torch.Tensor:
    """Bool (length, L_out): does changing input base i change output position j?"""
    x = one_hot(1, length, seed=3).repeat(length + 1, 1, 1)
    for i in range(length):
        x[i + 1, :, i] = x[i + 1, :, i].roll(1)
    with torch.no_grad():
        y = model(x)
    diff = (y[1:] - y[:1]).abs().amax(dim=1)
    return diff > 1e-5 * max(1.0, y.abs().max().item())


# Local (convolutional) models with smooth activations, so every path carries a change.
LOCAL = {
    "dilated_conv": lambda: M.ConvModel(
        2,
        stem_channels=8,
        channel_init=8,
        n_conv=3,
        dilation_init=2,
        act_func="gelu",
        final_pool_func=None,
    ),
    "even_kernels": lambda: M.ConvModel(
        2,
        stem_channels=8,
        channel_init=8,
        n_conv=3,
        stem_kernel_size=6,
        kernel_size=4,
        act_func="gelu",
        final_pool_func=None,
    ),
    "avg_pool_crop": lambda: M.ConvModel(
        2,
        stem_channels=8,
        channel_init=8,
        n_conv=3,
        stem_kernel_size=7,
        kernel_size=3,
        pool_func="avg",
        pool_size=2,
        act_func="gelu",
        crop_len=2,
        final_pool_func=None,
    ),
    "pool3_residual": lambda: M.ConvModel(
        2,
        stem_channels=8,
        channel_init=8,
        n_conv=3,
        kernel_size=3,
        pool_func="avg",
        pool_size=3,
        residual=True,
        act_func="elu",
        final_pool_func=None,
    ),
    "chrombpnet_like": lambda: M.DilatedConvModel(
        2, channels=8, n_conv=4, act_func="elu", crop_len=0, final_pool_func=None
    ),
}


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("name", sorted(LOCAL))
def test_receptive_field_probe(name: str) -> None:
    torch.manual_seed(0)
    model = LOCAL[name]().eval()
    geometry: Geometry = model.geometry()
    length = 96
    hits = _influence(model, length)
    assert hits.shape[1] == geometry.out_len(length)
    spans = []
    for j in range(hits.shape[1]):
        inputs = torch.nonzero(hits[:, j]).flatten()
        lo, hi = int(inputs.min()), int(inputs.max())
        spans.append(hi - lo + 1)
        start, end = geometry.bin_bounds(0, length, j)
        # Interior bins: the bases the bin covers are inside what influences it.
        if lo > 0 and hi < length - 1:
            assert lo <= start and end - 1 <= hi, (j, lo, hi, start, end)
    assert max(spans) == geometry.receptive_field
    assert geometry.context_len(length) == geometry.receptive_field


@pytest.mark.parametrize("name", ["gru", "transformer", "borzoi", "borzoi_flash", "enformer"])
def test_global_models_see_the_whole_input(name: str) -> None:
    model = build(name)
    geometry = model.geometry()
    length = SMALL[name][1][0]
    x = one_hot(2, length, seed=4)
    x[1, :, 0] = x[1, :, 0].roll(1)  # change the first base only
    with torch.no_grad():
        y = model(x)
    changed = (y[1] - y[0]).abs().amax(dim=0) > 0
    assert geometry.global_context and changed.all()
    assert geometry.context_len(length) == length


def test_pooled_models_report_one_bin_over_the_window() -> None:
    geometry = build("conv_avg").geometry()
    assert geometry.pooled and geometry.out_len(33) == 1
    assert geometry.bin_bounds(1000, 33, 0) == (1000, 1033)
    explainn = build("explainn").geometry()
    assert (explainn.fixed_len, explainn.default_len, explainn.out_len(60)) == (60, 60, 1)
