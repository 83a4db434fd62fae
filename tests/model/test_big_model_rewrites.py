"""Rewrites aimed at full-size Borzoi and Enformer: pooling on position-major activations
(grelu_cli/model/cpu_pool.py), the attention path choice, and cropping before the pointwise
tail. Same values as the plain modules, and the fast paths are really taken."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grelu_cli.model import inference_attention
from grelu_cli.model.attention import Attention, EnformerAttention
from grelu_cli.model.cpu_pool import ChannelsLastMaxPool1d, attention_pool_pairs
from grelu_cli.model.inference import InferenceAttentionPool, optimize_for_inference
from grelu_cli.model.layers import AttentionPool
from tests.model.small import SMALL


def _position_major(n: int, c: int, length: int, seed: int = 0) -> torch.Tensor:
    """(N, C, L) with (N, L, C) memory, as channels-last convolutions write it."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, length, c, generator=g).transpose(1, 2)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / a.abs().max())


@pytest.mark.parametrize(("k", "length"), [(2, 64), (2, 33), (3, 31), (4, 16)])
def test_max_pool_equals_plain_on_position_major_input(k: int, length: int) -> None:
    x = _position_major(2, 5, length)
    plain = nn.MaxPool1d(k)
    fast = copy.deepcopy(plain)
    fast.__class__ = ChannelsLastMaxPool1d
    ref = plain(x)
    with torch.inference_mode():
        got = fast(x)
    assert got.shape == ref.shape
    assert torch.equal(got, ref)  # a max is exact
    # The fast path keeps the position-major layout (max_pool1d returns channel-major).
    assert got.stride(1) == 1 and ref.stride(-1) == 1


def test_max_pool_propagates_nan_like_plain() -> None:
    x = _position_major(1, 3, 8)
    x[0, 1, 5] = float("nan")
    fast = ChannelsLastMaxPool1d(2)
    with torch.inference_mode():
        got = fast(x)
    ref = nn.MaxPool1d(2)(x)
    assert torch.equal(torch.isnan(got), torch.isnan(ref)) and bool(torch.isnan(got[0, 1, 2]))
    assert torch.equal(got.nan_to_num(), ref.nan_to_num())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 2, "stride": 1},
        {"kernel_size": 2, "padding": 1},
        {"kernel_size": 3, "ceil_mode": True},
    ],
)
def test_max_pool_other_settings_run_the_plain_op(kwargs: dict) -> None:
    x = _position_major(2, 4, 17)
    fast = ChannelsLastMaxPool1d(**kwargs)
    assert fast._window() is None
    with torch.inference_mode():
        assert torch.equal(fast(x), F.max_pool1d(x, **kwargs))


def test_max_pool_channel_major_input_runs_the_plain_op() -> None:
    x = torch.randn(2, 4, 16)  # channel-major: no copy-free view
    with torch.inference_mode():
        got = ChannelsLastMaxPool1d(2)(x)
    assert torch.equal(got, F.max_pool1d(x, 2)) and got.stride(-1) == 1


@torch.no_grad()
def test_attention_pool_pairs_equals_attention_pool() -> None:
    torch.manual_seed(0)
    pool = AttentionPool(6, pool_size=2).eval()
    with torch.no_grad():
        pool.to_attn_logits.weight.normal_()
    x = _position_major(2, 6, 40, seed=1) * 3
    ref = pool(x)
    got = attention_pool_pairs(x, pool.to_attn_logits.weight)
    assert got is not None and got.shape == ref.shape
    assert _rel(ref, got) < 1e-5
    assert got.stride(1) == 1  # position-major out


@torch.no_grad()
def test_attention_pool_fast_path_taken_and_fallbacks() -> None:
    torch.manual_seed(0)
    pool = AttentionPool(4, pool_size=2).eval()
    fast = copy.deepcopy(pool)
    fast.__class__ = InferenceAttentionPool
    even, odd = _position_major(1, 4, 20), _position_major(1, 4, 21)
    got_even, got_odd = fast(even), fast(odd)
    cm = torch.randn(1, 4, 20)
    got_cm = fast(cm)
    assert got_even.stride(1) == 1  # the pair path
    assert _rel(pool(even), got_even) < 1e-5
    assert attention_pool_pairs(odd, pool.to_attn_logits.weight) is None
    assert attention_pool_pairs(cm, pool.to_attn_logits.weight) is None
    assert _rel(pool(odd), got_odd) < 1e-6 and _rel(pool(cm), got_cm) < 1e-6


@pytest.mark.parametrize(("name", "pools"), [("borzoi", "max"), ("enformer", "attn")])
def test_optimize_swaps_pools_in_big_models(name: str, pools: str) -> None:
    factory, lengths = SMALL[name]
    torch.manual_seed(0)
    model = factory().eval()
    fast = copy.deepcopy(model)
    assert optimize_for_inference(fast)["fast_pools"] >= 2
    kind = ChannelsLastMaxPool1d if pools == "max" else InferenceAttentionPool
    assert any(type(m) is kind for m in fast.modules())
    g = torch.Generator().manual_seed(2)
    x = F.one_hot(torch.randint(0, 4, (2, lengths[-1]), generator=g), 4).transpose(1, 2).float()
    with torch.inference_mode():
        assert _rel(model(x), fast(x)) < 1e-5


@pytest.mark.parametrize(("key_len", "value_len", "sdpa"), [(8, 8, True), (8, 24, False)])
def test_attention_uses_sdpa_only_with_a_fused_kernel(
    monkeypatch: pytest.MonkeyPatch, key_len: int, value_len: int, sdpa: bool
) -> None:
    """Wider value than key heads: the plain arithmetic (SDPA would take its math path)."""
    torch.manual_seed(0)
    for module in (
        Attention(16, key_len, value_len, n_heads=2, n_pos_features=8),
        EnformerAttention(
            16, num_rel_pos_features=12, heads=2, dim_key=key_len, dim_value=value_len
        ),
    ):
        module.eval()
        with torch.no_grad():
            for p in module.parameters():
                p.normal_(0, 0.3)
        fast = copy.deepcopy(module)
        assert optimize_for_inference(fast)["sdpa_attention"] == 1
        calls = []
        real = F.scaled_dot_product_attention
        monkeypatch.setattr(
            inference_attention.F,
            "scaled_dot_product_attention",
            lambda *a, _c=calls, _f=real, **k: _c.append(1) or _f(*a, **k),
        )
        x = torch.randn(2, 12, 16)
        with torch.inference_mode():
            ref, got = module(x), fast(x)
        monkeypatch.undo()
        assert bool(calls) is sdpa
        assert _rel(ref, got) < 1e-5


@pytest.mark.parametrize("name", ["borzoi", "enformer"])
def test_trunk_crops_before_its_pointwise_tail(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    from grelu_cli.model.inference import InferenceBorzoiTrunk, InferenceEnformerTrunk

    factory, lengths = SMALL[name]
    torch.manual_seed(0)
    model = factory().eval()
    with torch.no_grad():  # non-trivial batch norm statistics in the pointwise block
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 1.5)
    fast = copy.deepcopy(model)
    assert optimize_for_inference(fast)["crop_first"] == 1
    trunk = fast.embedding
    assert type(trunk) in (InferenceBorzoiTrunk, InferenceEnformerTrunk)
    seen: list[int] = []
    hook = trunk.pointwise_conv.register_forward_pre_hook(lambda _m, a: seen.append(a[0].shape[-1]))
    g = torch.Generator().manual_seed(3)
    x = F.one_hot(torch.randint(0, 4, (2, lengths[-1]), generator=g), 4).transpose(1, 2).float()
    with torch.inference_mode():
        ref, got = model(x), fast(x)
    hook.remove()
    crop = trunk.crop.crop_len
    assert seen == [got.shape[-1]] and crop > 0  # the pointwise conv saw only kept positions
    assert got.shape == ref.shape and _rel(ref, got) < 1e-5


def test_wide_value_attention_in_head_groups_equals_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a small logits budget the heads run one at a time (Borzoi's 4,096 positions): same
    values as all heads at once."""
    torch.manual_seed(0)
    module = Attention(16, 8, 24, n_heads=3, n_pos_features=8).eval()
    fast = copy.deepcopy(module)
    optimize_for_inference(fast)
    x = torch.randn(2, 20, 16)
    calls: list[int] = []
    real = torch.matmul
    monkeypatch.setattr(inference_attention, "_ATTN_BYTES", 1)
    monkeypatch.setattr(
        inference_attention.torch,
        "matmul",
        lambda a, b, _c=calls, _f=real: _c.append(1) or _f(a, b),
    )
    with torch.inference_mode():
        got = fast(x)
    monkeypatch.undo()
    with torch.inference_mode():
        ref = module(x)
    assert len(calls) == 3 * 3  # three matmuls per head, one head per group
    assert _rel(ref, got) < 1e-5
