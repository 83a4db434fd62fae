"""Warm up every transcendental op a prediction uses, once per process, before predicting.

A torch 2.13 fact on these CPUs (README, "Architecture": warm-up): in a fresh process the
first call of some vectorized transcendental ops (seen with ``torch.exp``) occasionally
returns slightly wrong values; the second call is right. :func:`warm_up` runs the ops of the
models and of the output path (activations, ``--untransform``'s power, aggregation) on small
tensors of each dtype a run uses, so every later call is correct. It is the one warm-up: the
predictor calls it before its first batch, and the model tests call it once per session.
"""

from __future__ import annotations

import torch

_DONE: set[tuple[str, str]] = set()


def _ops(x: torch.Tensor) -> None:
    """Every op of the models' and the output path's transcendental and reduction kernels."""
    fn = torch.nn.functional
    y = x.reshape(1, 1, -1)
    torch.exp(y)
    torch.sigmoid(y)
    torch.tanh(y)
    torch.log(y.abs() + 1)
    torch.softmax(y, dim=1)
    torch.softmax(y, dim=-1)
    fn.gelu(y)
    fn.gelu(y, approximate="tanh")
    fn.softplus(y)
    fn.elu(y)
    torch.cos(y)
    torch.sin(y)
    torch.lgamma(y.abs() + 1)
    torch.xlogy(y.abs(), y.abs() + 1)
    y.abs() ** (4.0 / 3.0)
    torch.sqrt(y.abs())
    y.mean(dim=-1)
    y.sum(dim=-1)
    y.amax(dim=-1)
    y.amin(dim=-1)


def warm_up(device: torch.device | str = "cpu", dtypes: tuple[torch.dtype, ...] = ()) -> None:
    """Run :func:`_ops` once on fp32 and each of ``dtypes`` on ``device``.

    Idempotent per process: a (device, dtype) pair is warmed once. Lengths cover a scalar
    tail, one vector, and vector + tail of the kernels.
    """
    device = torch.device(device)
    all_dtypes = (torch.float32, *[d for d in dtypes if d != torch.float32])
    with torch.inference_mode():
        for dtype in all_dtypes:
            key = (str(device), str(dtype))
            if key in _DONE:
                continue
            for n in (1, 7, 64, 1031):
                _ops(torch.linspace(-3, 3, n, device=device, dtype=dtype))
            _DONE.add(key)
