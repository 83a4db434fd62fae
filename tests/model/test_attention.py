"""Attention layers against independent, written-out formulas."""

from __future__ import annotations

import math

import torch

from grelu_cli.model.attention import FlashAttention, relative_shift
from grelu_cli.model.blocks import TransformerBlock


def test_relative_shift_indexes_by_key_minus_query() -> None:
    length = 5
    distances = torch.arange(2 * length - 1, dtype=torch.float32)  # column c: distance c - L + 1
    out = relative_shift(distances.repeat(2, 3, length, 1))
    assert out.shape == (2, 3, length, length)
    i, j = torch.meshgrid(torch.arange(length), torch.arange(length), indexing="ij")
    assert torch.equal(out[1, 2], (j - i + length - 1).float())


def _rotary_complex(x: torch.Tensor) -> torch.Tensor:
    """Rotary embedding written with complex numbers: pair (x_k, x_{k+D/2}) rotates by m*theta_k.

    x: (N, H, L, D).
    """
    d = x.shape[-1]
    half = d // 2
    theta = 10000.0 ** (-torch.arange(half, dtype=torch.float64) * 2 / d)
    angles = torch.arange(x.shape[-2], dtype=torch.float64)[:, None] * theta  # (L, D/2)
    z = torch.complex(x[..., :half].double(), x[..., half:].double()) * torch.polar(
        torch.ones_like(angles), angles
    )
    return torch.cat((z.real, z.imag), dim=-1).to(x.dtype)


def test_flash_attention_is_rotary_softmax_attention() -> None:
    torch.manual_seed(0)
    n, length, dim, heads = 2, 11, 24, 3
    layer = FlashAttention(dim, heads, dropout_p=0.5).eval()
    x = torch.randn(n, length, dim)
    with torch.no_grad():
        qkv = layer.qkv(x).reshape(n, length, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
        q, k, v = _rotary_complex(qkv[0]), _rotary_complex(qkv[1]), qkv[2]
        attn = (q @ k.transpose(-1, -2) / math.sqrt(dim // heads)).softmax(dim=-1)
        expected = layer.out((attn @ v).transpose(1, 2).reshape(n, length, dim))
        out = layer(x)
        again = layer(x)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    assert torch.equal(out, again)  # no dropout in eval mode, unlike gReLU's flash-attn call
    assert set(layer.state_dict()) == {"qkv.weight", "out.weight", "out.bias"}


def test_flash_attention_dropout_only_in_training() -> None:
    torch.manual_seed(0)
    layer = FlashAttention(16, 2, dropout_p=0.5).train()
    x = torch.randn(1, 20, 16)
    assert not torch.equal(layer(x), layer(x))


def test_flash_transformer_block_keys() -> None:
    block = TransformerBlock(16, 2, 0.0, 0.0, flash_attn=True)
    keys = {k for k in block.state_dict() if k.startswith("mha.")}
    assert keys == {"mha.qkv.weight", "mha.out.weight", "mha.out.bias"}
