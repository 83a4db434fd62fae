"""Warm up the transcendental ops the models use, once per process, before predicting.

On torch 2.13 CPUs the first call of some vectorized transcendental ops (seen with ``exp``) in a
fresh process occasionally returns slightly wrong values; the second call is right (see
../shared/CLI.md). Calling :func:`warm_up_ops` first makes every later call correct.
"""

from __future__ import annotations

import torch

_DONE: set[tuple[str, torch.dtype]] = set()


def warm_up_ops(
    device: torch.device | str | None = None, dtypes: tuple[torch.dtype, ...] = (torch.float32,)
) -> None:
    """Run each op of the models' output paths on small tensors (vector and tail lengths)."""
    device = torch.device(device or "cpu")
    for dtype in dtypes:
        key = (str(device), dtype)
        if key in _DONE:
            continue
        with torch.no_grad():
            for n in (1, 7, 64, 1031):
                x = torch.linspace(-3, 3, n, device=device, dtype=dtype)
                torch.exp(x)
                torch.sigmoid(x)
                torch.tanh(x)
                torch.log(x.abs() + 1)
                torch.softmax(x, dim=-1)
                torch.nn.functional.gelu(x)
                torch.nn.functional.gelu(x, approximate="tanh")
                torch.nn.functional.softplus(x)
                torch.nn.functional.elu(x)
                torch.cos(x)
                torch.sin(x)
                torch.lgamma(x.abs() + 1)
                torch.xlogy(x.abs(), x.abs() + 1)
        _DONE.add(key)
