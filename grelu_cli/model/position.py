"""Relative positional features for attention, and channel schedules shared by trunks.

Two families, each reproducing its source's arithmetic operation for operation so that
outputs match bit for bit where possible:

* gReLU's own ``get_central_mask`` (used by :class:`~grelu_cli.model.attention.Attention`);
* Enformer's exponential + central-mask + gamma features (``get_positional_embed``, used by
  :class:`~grelu_cli.model.attention.EnformerAttention`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def exponential_linspace_int(start: int, end: int, num: int, divisible_by: int = 1) -> list[int]:
    """``num`` integers growing geometrically from ``start`` to ``end``, rounded to a multiple."""

    def _round(x: float) -> int:
        return int(round(x / divisible_by) * divisible_by)

    base = math.exp(math.log(end / start) / (num - 1))
    return [_round(start * base**i) for i in range(num)]


def get_central_mask(x: Tensor, out_channels: int) -> Tensor:
    """gReLU's central-mask embedding of relative distances.

    Args:
        x: (N, L, C); only its length, dtype and device are used.
        out_channels: feature count; ``out_channels // 2`` unsigned + as many signed features.

    Returns:
        (2L - 1, 2 * (out_channels // 2)) for distances ``-(L-1) .. L-1``.
    """
    seq_len = x.shape[-2]
    features = out_channels // 2
    pow_rate = torch.exp(
        torch.log(torch.tensor([seq_len], device=x.device, dtype=x.dtype) + 1) / features
    )
    positions = torch.arange(-seq_len + 1, seq_len, device=x.device, dtype=x.dtype)
    center_widths = pow_rate ** torch.arange(1, features + 1, device=x.device, dtype=x.dtype) - 1
    embeddings = center_widths[None, ...] > positions.abs()[..., None]
    signed = torch.sign(positions)[..., None] * embeddings
    return torch.cat((embeddings, signed), dim=-1)


# Enformer features. Each takes integer distances (2L-1,) and returns (2L-1, features).


def _enformer_exponential(positions: Tensor, features: int, seq_len: int) -> Tensor:
    max_range = math.log(seq_len) / math.log(2.0)
    half_life = 2 ** torch.linspace(3.0, max_range, features, device=positions.device)
    return torch.exp(-math.log(2.0) / half_life[None, ...] * positions.abs()[..., None])


def _enformer_central_mask(positions: Tensor, features: int, dtype: torch.dtype) -> Tensor:
    center_widths = 2 ** torch.arange(1, features + 1, device=positions.device).to(dtype) - 1
    return (center_widths[None, ...] > positions.abs()[..., None]).to(dtype)


def _gamma_pdf(x: Tensor, concentration: Tensor, rate: Tensor) -> Tensor:
    log_unnormalized_prob = torch.xlogy(concentration - 1.0, x) - rate * x
    log_normalization = torch.lgamma(concentration) - concentration * torch.log(rate)
    return torch.exp(log_unnormalized_prob - log_normalization)


def _enformer_gamma(
    positions: Tensor, features: int, seq_len: int, dtype: torch.dtype, eps: float = 1e-8
) -> Tensor:
    stddev = seq_len / (2 * features)
    start_mean = seq_len / features
    mean = torch.linspace(start_mean, seq_len, features, device=positions.device)[None, ...]
    concentration = (mean / stddev) ** 2
    rate = mean / stddev**2
    probabilities = _gamma_pdf(positions.to(dtype).abs()[..., None], concentration, rate) + eps
    return probabilities / torch.amax(probabilities, dim=-1, keepdim=True)


def get_positional_embed(
    seq_len: int, feature_size: int, device: torch.device, dtype: torch.dtype = torch.float32
) -> Tensor:
    """Enformer's relative positional features (gamma computed in torch, not TF's table).

    Returns:
        (2 * seq_len - 1, feature_size): exponential, central-mask and gamma bases
        (``feature_size // 6`` each), then the same times the sign of the distance.
    """
    if feature_size % 6 != 0:
        raise ValueError(f"positional feature size {feature_size} is not divisible by 6")
    per_class = feature_size // 6
    distances = torch.arange(-seq_len + 1, seq_len, device=device)
    embeddings = torch.cat(
        [
            _enformer_exponential(distances, per_class, seq_len),
            _enformer_central_mask(distances, per_class, dtype),
            _enformer_gamma(distances, per_class, seq_len, dtype),
        ],
        dim=-1,
    )
    embeddings = torch.cat((embeddings, torch.sign(distances)[..., None] * embeddings), dim=-1)
    return embeddings.to(dtype)


def rotary_cos_sin(
    seq_len: int, dim: int, device: torch.device, dtype: torch.dtype, base: float = 10000.0
) -> tuple[Tensor, Tensor]:
    """Rotary tables as flash-attn's ``RotaryEmbedding`` builds them (positions in fp32).

    Returns:
        cos, sin: (seq_len, dim // 2) each, cast to ``dtype``.
    """
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, device=device, dtype=torch.float32) / dim))
    t = torch.arange(seq_len, device=device, dtype=torch.float32)
    freqs = torch.outer(t, inv_freq)
    return torch.cos(freqs).to(dtype), torch.sin(freqs).to(dtype)
