"""ChannelsLastConv1d.fused and the inference head: the same arithmetic as the plain layers,
through oneDNN's fused kernel where this torch has it and through the fallback everywhere."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import grelu_cli.model.cpu_conv as cpu_conv
from grelu_cli.model.cpu_conv import ChannelsLastConv1d, fused_conv_available
from grelu_cli.model.heads import ConvHead
from grelu_cli.model.inference import InferenceConvHead, optimize_for_inference
from grelu_cli.model.models import ConvModel, DilatedConvModel

HAS_FUSED = fused_conv_available(torch.float32)
BF16 = fused_conv_available(torch.bfloat16)


def _conv(c_in: int, c_out: int, k: int, **kw) -> tuple[nn.Conv1d, ChannelsLastConv1d]:
    torch.manual_seed(0)
    plain = nn.Conv1d(c_in, c_out, k, **kw).eval().requires_grad_(False)
    fast = copy.deepcopy(plain)
    fast.__class__ = ChannelsLastConv1d
    return plain, fast


def _reference(plain: nn.Conv1d, x, residual, relu):
    y = plain(x)
    if residual is not None:
        y = y + residual
    return y.relu() if relu else y


CASES = [
    # (c_in, c_out, kernel, conv kwargs)
    (4, 16, 15, {"padding": "same"}),
    (8, 8, 3, {"padding": "same", "dilation": 4}),
    (8, 6, 4, {"padding": "same"}),  # even kernel: asymmetric "same", the fallback path
    (8, 6, 5, {"padding": "valid"}),
    (8, 6, 5, {"padding": 1}),
    (8, 8, 3, {"padding": "same", "groups": 2}),
    (8, 6, 3, {"padding": "same", "bias": False}),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-k{c[2]}-{c[3]}")
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("with_residual", [False, True])
@pytest.mark.parametrize("fused", [True, False], ids=["onednn", "fallback"])
def test_fused_matches_conv_add_relu(case, relu, with_residual, fused, monkeypatch) -> None:
    if fused and not HAS_FUSED:
        pytest.skip("this torch build has no oneDNN fused convolution")
    if not fused:
        monkeypatch.setattr(cpu_conv, "fused_conv_available", lambda dtype=None: False)
    c_in, c_out, k, kw = case
    plain, fast = _conv(c_in, c_out, k, **kw)
    x = torch.randn(3, c_in, 50)
    with torch.inference_mode():
        out_len = plain(x).shape[-1]
        residual = torch.randn(3, c_out, out_len) if with_residual else None
        keep = (x.clone(), None if residual is None else residual.clone())
        ref = _reference(plain, x, residual, relu)
        got = fast.fused(x, residual=residual, relu=relu)
    assert got.shape == ref.shape
    assert got.stride(1) == 1  # channels-last strides
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)
    assert torch.equal(x, keep[0])  # inputs are never written
    if residual is not None:
        assert torch.equal(residual, keep[1])


@pytest.mark.skipif(not HAS_FUSED, reason="this torch build has no oneDNN fused convolution")
def test_the_fused_kernel_is_what_runs() -> None:
    _, fast = _conv(8, 8, 3, padding="same")
    x = torch.randn(2, 8, 40)
    with torch.inference_mode(), torch.profiler.profile() as prof:
        fast.fused(x, residual=x, relu=True)
    names = {e.name for e in prof.events()}
    assert "mkldnn::_convolution_pointwise" in names
    assert "aten::relu_" not in names and "aten::add_" not in names


@pytest.mark.skipif(not BF16, reason="no bf16 oneDNN convolution on this CPU")
def test_bf16_autocast_runs_in_bf16_with_cached_weights() -> None:
    plain, fast = _conv(8, 8, 3, padding="same")
    x = torch.randn(2, 8, 64)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        ref = plain(x)  # autocast's own conv: bf16
        got = fast.fused(x, relu=True)
        again = fast.fused(x, relu=True)
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), ref.float().relu(), rtol=2e-2, atol=2e-2)
    assert torch.equal(got, again)
    assert torch.bfloat16 in fast._cache and torch.float32 not in fast._cache


def test_weight_cache_follows_parameter_changes() -> None:
    plain, fast = _conv(4, 6, 3, padding="same")
    x = torch.randn(2, 4, 20)
    with torch.inference_mode():
        fast(x)
    with torch.no_grad():
        fast.weight.mul_(2)  # in place: the version counter moves
        plain.weight.mul_(2)
    with torch.inference_mode():
        torch.testing.assert_close(fast(x), plain(x), rtol=1e-5, atol=1e-5)


def test_gradients_flow_through_the_plain_path() -> None:
    torch.manual_seed(0)
    plain = nn.Conv1d(4, 6, 3, padding="same")
    fast = copy.deepcopy(plain)
    fast.__class__ = ChannelsLastConv1d
    x = torch.randn(2, 4, 20)
    r = torch.randn(2, 6, 20)
    _reference(plain, x, r, True).sum().backward()
    fast.fused(x, residual=r, relu=True).sum().backward()
    torch.testing.assert_close(fast.weight.grad, plain.weight.grad)


def _head(pool: str | None, act: str | None = None, norm: bool = False) -> ConvHead:
    torch.manual_seed(0)
    head = ConvHead(5, 12, act_func=act, pool_func=pool, norm=norm).eval()
    if norm:  # non-trivial statistics
        bn = head.channel_transform.norm.layer
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 1.5)
    return head


@pytest.mark.parametrize(
    ("pool", "act", "norm", "pools_first"),
    [
        ("avg", None, False, True),
        ("max", None, False, False),
        ("avg", "relu", False, False),  # relu(mean) != mean(relu)
        ("avg", None, True, False),
        (None, None, False, False),
    ],
)
def test_head_pools_first_only_when_exact(pool, act, norm, pools_first) -> None:
    head = _head(pool, act, norm)
    fast = copy.deepcopy(head)
    fast.__class__ = InferenceConvHead
    assert fast._pools_first() is pools_first
    x = torch.randn(3, 12, 200)
    with torch.inference_mode():
        torch.testing.assert_close(fast(x), head(x), rtol=1e-5, atol=1e-6)
        low = fast(x.bfloat16())  # a bf16 trunk output: the head still computes in fp32
    assert low.dtype == torch.float32
    torch.testing.assert_close(low, head(x.bfloat16().float()), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("factory", [ConvModel, DilatedConvModel])
def test_models_after_rewrites_match_in_fp32_and_bf16(factory) -> None:
    torch.manual_seed(0)
    model = factory(4).eval()  # the architectures' defaults (avg-pooled conv head)
    fast = copy.deepcopy(model)
    optimize_for_inference(fast)
    assert isinstance(fast.head, InferenceConvHead)
    idx = torch.randint(0, 4, (2, 2048), generator=torch.Generator().manual_seed(1))
    x = F.one_hot(idx, 4).transpose(1, 2).float()
    with torch.inference_mode():
        ref = model(x)
        torch.testing.assert_close(fast(x), ref, rtol=1e-5, atol=1e-6)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            h = fast.embedding(x)
        low = fast.head(h)
    assert low.dtype == torch.float32
    assert float((low - ref).abs().max() / ref.abs().max()) < 2e-2
