"""optimize_for_inference: same outputs (1e-5 relative) for every architecture, in place."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from grelu_cli.model.blocks import ConvBlock
from grelu_cli.model.inference import (
    ChannelsLastConv1d,
    InferenceConvBlock,
    fold_batch_norms,
    optimize_for_inference,
)
from grelu_cli.model.models import ConvModel
from tests.model.small import SMALL

TOL = 1e-5


def _randomise_norms(model: nn.Module, seed: int = 0) -> None:
    """Batch norms with non-trivial statistics, so folding is really exercised."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) * 2 - 1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            with torch.no_grad():
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.rand(n, generator=g) - 0.5)


def _one_hot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (n, length), generator=g)
    return nn.functional.one_hot(idx, 4).transpose(1, 2).float()


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / a.abs().max().clamp_min(1e-12))


@pytest.mark.parametrize("name", sorted(SMALL))
def test_outputs_match_every_architecture(name: str) -> None:
    factory, lengths = SMALL[name]
    torch.manual_seed(0)
    model = factory().eval()
    _randomise_norms(model)
    fast = copy.deepcopy(model)
    optimize_for_inference(fast)
    for length in lengths:
        x = _one_hot(3, length)
        keep = x.clone()
        with torch.inference_mode():
            ref, got = model(x), fast(x)
        assert got.shape == ref.shape
        assert _rel(ref, got) < TOL, (name, length)
        assert torch.equal(x, keep)  # the input is never written in place


def test_batch_norm_is_folded_into_the_conv() -> None:
    torch.manual_seed(0)
    factory, lengths = SMALL["conv_pool_crop"]  # conv -> batch norm blocks
    model = factory().eval()
    _randomise_norms(model)
    fast = copy.deepcopy(model)
    assert fold_batch_norms(fast) == 2
    assert not any(isinstance(m, nn.BatchNorm1d) for m in fast.modules())
    x = _one_hot(2, lengths[0])
    with torch.inference_mode():
        assert _rel(model(x), fast(x)) < TOL


def test_norm_before_conv_is_not_folded() -> None:
    # "NACDR": the norm feeds an activation, then the conv's zero padding: not foldable.
    block = ConvBlock(4, 6, 3, order="NACDR", act_func="relu").eval()
    _randomise_norms(block)
    assert fold_batch_norms(block) == 0
    assert isinstance(block.norm.layer, nn.BatchNorm1d)


def test_training_mode_batch_norm_is_left_alone() -> None:
    block = ConvBlock(4, 6, 3, order="CDNRA").train()
    assert fold_batch_norms(block) == 0


def test_in_place_block_never_writes_its_input() -> None:
    # Activation first, no norm: the activation sees the block's input and must not
    # overwrite it; with a residual the input is added after the conv.
    for order in ("ACDNR", "RACDN", "CDNRA", "NACDR"):
        block = ConvBlock(5, 5, 3, order=order, norm=False, residual=True).eval()
        ref = copy.deepcopy(block)
        block.__class__ = InferenceConvBlock
        x = torch.randn(2, 5, 17)
        keep = x.clone()
        with torch.inference_mode():
            assert torch.allclose(ref(x), block(x), atol=1e-6), order
        assert torch.equal(x, keep), order


def test_channels_last_outputs_and_state_dict() -> None:
    torch.manual_seed(0)
    model = ConvModel(3, stem_channels=8, channel_init=8, final_pool_func=None).eval()
    keys = set(model.state_dict())
    info = optimize_for_inference(model)
    assert info["channels_last_convs"] == 3
    assert set(model.state_dict()) == keys  # no batch norms here: keys unchanged
    conv = model.embedding.conv_tower.blocks[0].conv
    assert isinstance(conv, ChannelsLastConv1d)
    with torch.inference_mode():
        y = conv(_one_hot(2, 40))
    assert y.shape == (2, 8, 40) and y.stride(1) == 1  # (N, C, L) shape, channels-last strides


def test_select_tasks_after_optimizing() -> None:
    torch.manual_seed(0)
    model = ConvModel(4, stem_channels=8, channel_init=8, final_pool_func=None).eval()
    fast = copy.deepcopy(model)
    optimize_for_inference(fast)
    x = _one_hot(2, 30)
    with torch.inference_mode():
        fast(x)  # caches the channels-last head weight
    fast.select_tasks([3, 1])  # replaces the head's weight: the cache must follow
    with torch.inference_mode():
        assert _rel(model(x)[:, [3, 1]], fast(x)) < TOL


def test_bf16_autocast_and_idempotence() -> None:
    torch.manual_seed(0)
    model = ConvModel(3, stem_channels=8, channel_init=8, final_pool_func=None).eval()
    fast = copy.deepcopy(model)
    optimize_for_inference(fast)
    optimize_for_inference(fast)  # a second pass finds nothing new to change
    x = _one_hot(2, 64)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        ref, got = model(x), fast(x)
    assert got.dtype == torch.bfloat16
    assert _rel(ref.float(), got.float()) < 2e-2  # both bf16: same rounding scale


@pytest.mark.parametrize("name", ["transformer", "borzoi", "enformer"])
def test_relative_attention_runs_through_sdpa(name: str) -> None:
    from grelu_cli.model.inference import SDPAAttention, SDPAEnformerAttention

    factory, lengths = SMALL[name]
    torch.manual_seed(1)
    model = factory().eval()
    fast = copy.deepcopy(model)
    assert optimize_for_inference(fast)["sdpa_attention"] >= 1
    assert any(isinstance(m, (SDPAAttention, SDPAEnformerAttention)) for m in fast.modules())
    x = _one_hot(2, lengths[-1], seed=3)
    with torch.inference_mode():
        assert _rel(model(x), fast(x)) < TOL
